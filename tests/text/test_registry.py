"""Text models are found by name, built-in or third party, through one registry."""

from __future__ import annotations

import importlib.metadata

import pytest

from smokejumper.errors import TextError
from smokejumper.text.registry import (
    ModelRegistry,
    TextModelOptions,
    sentiment_models,
    theme_models,
)


def test_builtins_are_registered() -> None:
    assert sentiment_models.names() == ["embedding", "setfit", "vader"]
    assert theme_models.names() == ["hybrid", "keywords"]
    assert sentiment_models.entry("embedding").teachable
    assert not sentiment_models.entry("vader").teachable
    assert all(sentiment_models.describe().values())


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(TextError,
                       match="unknown sentiment model 'bert'; known: embedding, setfit, vader"):
        sentiment_models.create("bert")


def test_theme_models_need_a_taxonomy() -> None:
    with pytest.raises(TextError, match="needs a taxonomy"):
        theme_models.create("keywords")


class AlwaysPositive:
    name = "always-positive"
    version = "1"

    def score(self, texts):
        from smokejumper.text.sentiment import SentimentScore

        return [SentimentScore("positive", 1.0) for _ in texts]


def test_a_third_party_registers_like_the_builtins(monkeypatch) -> None:
    registry: ModelRegistry = ModelRegistry("sentiment model", "test.group")
    registry.register("always-positive", lambda options: AlwaysPositive())
    with pytest.raises(TextError, match="already registered"):
        registry.register("always-positive", lambda options: AlwaysPositive())
    model = registry.create("always-positive", TextModelOptions())
    assert model.score(["awful"])[0].label == "positive"


def test_models_load_from_entry_points(monkeypatch) -> None:
    point = importlib.metadata.EntryPoint(
        name="lexicon", value="smokejumper.text.registry:_vader", group="test.group")
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [point] if group == "test.group" else [])
    registry: ModelRegistry = ModelRegistry("sentiment model", "test.group")
    assert registry.names() == ["lexicon"]
    assert registry.describe() == {"lexicon": "from smokejumper.text.registry:_vader"}
    pytest.importorskip("vaderSentiment")
    assert registry.create("lexicon").name == "vader"


def test_a_missing_optional_library_names_the_extra() -> None:
    from smokejumper.errors import MissingDependencyError
    from smokejumper.text._optional import optional_import

    with pytest.raises(MissingDependencyError, match='pip install "smokejumper\\[text\\]"'):
        optional_import("a_library_nobody_installed")
