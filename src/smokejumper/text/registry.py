"""Where text models are found by name: built-ins and third parties alike.

The built-in models register here through the same :meth:`ModelRegistry.register`
call a plugin would use; installed packages can also add models through the entry
point groups ``smokejumper.sentiment_models`` and ``smokejumper.theme_models`` (the
entry point's name is the model name, its object a factory taking
:class:`TextModelOptions`). Factories import their heavy libraries only when called.

>>> sentiment_models.names()[:3]
['embedding', 'setfit', 'vader']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar

from smokejumper.errors import TextError
from smokejumper.text.embeddings import EmbeddingConfig

if TYPE_CHECKING:
    from smokejumper.text.sentiment import SentimentModel
    from smokejumper.text.themes import Taxonomy, ThemeModel, ThemeTaggerConfig

Model = TypeVar("Model")


@dataclass(frozen=True)
class TextModelOptions:
    """What a factory may need: the embedding model and, for theme models, the taxonomy."""

    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    taxonomy: Taxonomy | None = None
    theme_config: ThemeTaggerConfig | None = None


@dataclass(frozen=True)
class ModelEntry(Generic[Model]):
    """A registered model: its factory, a one-line description, whether it learns."""

    name: str
    factory: Callable[[TextModelOptions], Model]
    description: str
    teachable: bool


class ModelRegistry(Generic[Model]):
    """Named factories for one kind of text model."""

    def __init__(self, kind: str, entry_point_group: str) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, ModelEntry[Model]] = {}
        self._entry_points_loaded = False

    def register(self, name: str, factory: Callable[[TextModelOptions], Model], *,
                 description: str = "", teachable: bool = False, replace: bool = False) -> None:
        """Make ``factory`` available under ``name``."""
        if name in self._entries and not replace:
            raise TextError(f"a {self.kind} called {name!r} is already registered")
        self._entries[name] = ModelEntry(name, factory, description, teachable)

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group=self.entry_point_group):
            if point.name not in self._entries:
                self.register(point.name, point.load(),
                              description=f"from {point.value}")

    def entry(self, name: str) -> ModelEntry[Model]:
        """The registration for ``name``; unknown names are a clear error."""
        self._load_entry_points()
        if name not in self._entries:
            raise TextError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._entries[name]

    def create(self, name: str, options: TextModelOptions | None = None) -> Model:
        """A new model instance called ``name``."""
        return self.entry(name).factory(options or TextModelOptions())

    def names(self) -> list[str]:
        """Registered names, sorted."""
        self._load_entry_points()
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        """Name → one-line description, for help texts and docs."""
        return {name: self._entries[name].description for name in self.names()}


sentiment_models: ModelRegistry[SentimentModel] = ModelRegistry(
    "sentiment model", "smokejumper.sentiment_models")
theme_models: ModelRegistry[ThemeModel] = ModelRegistry(
    "theme model", "smokejumper.theme_models")


def _vader(options: TextModelOptions) -> SentimentModel:
    from smokejumper.text.sentiment import VaderSentimentModel

    return VaderSentimentModel()


def _embedding_sentiment(options: TextModelOptions) -> SentimentModel:
    from smokejumper.text.embeddings import load_embedder
    from smokejumper.text.sentiment import EmbeddingSentimentModel

    return EmbeddingSentimentModel(load_embedder(options.embedding))


def _setfit_sentiment(options: TextModelOptions) -> SentimentModel:
    from smokejumper.text.setfit import SetFitSentimentModel

    return SetFitSentimentModel.from_embedding_config(options.embedding)


def _needs_taxonomy(options: TextModelOptions) -> Taxonomy:
    if options.taxonomy is None:
        raise TextError("a theme model needs a taxonomy (a [themes.NAME] table per theme)")
    return options.taxonomy


def _hybrid_themes(options: TextModelOptions) -> ThemeModel:
    from smokejumper.text.embeddings import load_embedder
    from smokejumper.text.themes import HybridThemeTagger

    return HybridThemeTagger(_needs_taxonomy(options), load_embedder(options.embedding),
                             options.theme_config)


def _keyword_themes(options: TextModelOptions) -> ThemeModel:
    from smokejumper.text.themes import KeywordThemeTagger

    return KeywordThemeTagger(_needs_taxonomy(options), options.theme_config)


sentiment_models.register(
    "vader", _vader, description="VADER lexicon: no extra, nothing to teach")
sentiment_models.register(
    "embedding", _embedding_sentiment, teachable=True,
    description="all-MiniLM-L6-v2 embeddings + logistic regression taught from examples")
sentiment_models.register(
    "setfit", _setfit_sentiment, teachable=True,
    description="all-MiniLM-L6-v2 tuned on the examples (SetFit-style), then logistic "
                "regression; must be taught")
theme_models.register(
    "hybrid", _hybrid_themes, teachable=True,
    description="embeddings of descriptions and examples plus keyword hits; teachable")
theme_models.register(
    "keywords", _keyword_themes, description="keyword hits only: no extra, nothing to teach")
