"""The demo workspace's own taxonomy tags the demo comments like the planted themes.

Multi-label: a comment's predicted theme set is compared with its planted theme set, F1
per theme, then the unweighted mean (macro-F1). The taxonomy (descriptions, keywords,
examples in smokejumper/simulate/taxonomy.py) was tuned on a seed-11 demo; the fixture is
seed 7.
"""

from __future__ import annotations

import pandas as pd
import pytest

from smokejumper.text.themes import KeywordThemeTagger, Taxonomy, load_taxonomy, tag_themes


def macro_f1(taxonomy: Taxonomy, truth: list[set[str]],
             predicted: list[set[str]]) -> tuple[float, dict[str, float]]:
    per_theme = {}
    for name in taxonomy.names:
        tp = sum(name in t and name in p for t, p in zip(truth, predicted, strict=True))
        fp = sum(name not in t and name in p for t, p in zip(truth, predicted, strict=True))
        fn = sum(name in t and name not in p for t, p in zip(truth, predicted, strict=True))
        per_theme[name] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return sum(per_theme.values()) / len(per_theme), per_theme


def test_macro_f1_helper() -> None:
    taxonomy = Taxonomy.from_mapping({"a": {}, "b": {}})
    # a: tp 1, fp 1, fn 1 -> 2/4; b: tp 1, fn 1 -> 2/3
    value, per_theme = macro_f1(taxonomy, [{"a"}, {"b"}, {"a", "b"}], [{"a"}, {"a"}, {"b"}])
    assert per_theme == {"a": pytest.approx(1 / 2), "b": pytest.approx(2 / 3)}
    assert value == pytest.approx(7 / 12)


@pytest.fixture(scope="module")
def demo_comments(small_demo_path) -> tuple[Taxonomy, pd.DataFrame]:
    data = small_demo_path / "data"
    truth = pd.read_parquet(data / "comment_truth.parquet", columns=["response_id", "themes"])
    comments = pd.read_parquet(data / "responses.parquet", columns=["response_id", "comment"])
    joined = truth.merge(comments, on="response_id")
    return load_taxonomy(small_demo_path / "smokejumper.toml"), joined


def score(tagger, frame: pd.DataFrame) -> tuple[float, dict[str, float]]:
    tags = tag_themes(tagger, frame["comment"].tolist())
    predicted = [{tag.theme for tag in found} for found in tags]
    return macro_f1(tagger.taxonomy, [set(t) for t in frame["themes"]], predicted)


def test_the_demo_taxonomy_loads(demo_comments) -> None:
    taxonomy, joined = demo_comments
    assert set(taxonomy.names) == {t for themes in joined["themes"] for t in themes}
    assert all(theme.keywords and theme.examples and theme.description
               for theme in taxonomy.themes)


def test_keyword_tagger_on_demo_comments(demo_comments) -> None:
    taxonomy, joined = demo_comments
    value, per_theme = score(KeywordThemeTagger(taxonomy),
                             joined.sample(4000, random_state=0))
    assert value >= 0.85, per_theme
    assert min(per_theme.values()) >= 0.6, per_theme


@pytest.mark.slow
def test_hybrid_tagger_on_demo_comments(demo_comments, embedder) -> None:
    from smokejumper.text.themes import HybridThemeTagger

    taxonomy, joined = demo_comments
    value, per_theme = score(HybridThemeTagger(taxonomy, embedder),
                             joined.sample(800, random_state=0))
    assert value >= 0.85, per_theme
    assert min(per_theme.values()) >= 0.6, per_theme
