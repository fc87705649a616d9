"""Themes: tag each text with zero or more themes of a taxonomy, with a confidence.

A taxonomy lists themes with a description, example phrases, optional keywords and an
optional parent (``[themes.NAME]`` tables in ``smokejumper.toml`` or a TOML file).

* ``hybrid`` (default, needs the ``text`` extra): zero-shot, a text's similarity to a
  theme is the best cosine between its embedding (and its sentences') and the theme's
  description and examples; a keyword hit adds a fixed bonus; the sum is mapped to a
  confidence. Taught from labelled examples, a logistic regression per theme on the
  embeddings replaces the zero-shot score for every theme that has examples.
* ``keywords``: keyword hits only; no extra needed, nothing to teach.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from smokejumper.errors import TextError
from smokejumper.text._optional import optional_import
from smokejumper.text.evaluate import EvaluationReport, cross_validate

if TYPE_CHECKING:
    import numpy as np

    from smokejumper.text.embeddings import Embedder

NO_THEME = "(none)"


@dataclass(frozen=True)
class Theme:
    """One theme of the taxonomy."""

    name: str
    description: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class Taxonomy:
    """The themes a workspace tags texts with, in a fixed order.

    >>> taxonomy = Taxonomy.from_mapping({"billing": {"description": "Bills and charges",
    ...                                               "keywords": ["invoice"]}})
    >>> taxonomy.names, taxonomy.get("billing").keywords
    (('billing',), ('invoice',))
    """

    themes: tuple[Theme, ...]

    def __post_init__(self) -> None:
        names = [theme.name for theme in self.themes]
        if not names:
            raise TextError("the taxonomy has no themes")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise TextError(f"theme {duplicates[0]!r} is defined twice")
        for theme in self.themes:  # a parent is a theme or a group name ("billing")
            if theme.parent == theme.name:
                raise TextError(f"theme {theme.name!r} is its own parent")

    @property
    def names(self) -> tuple[str, ...]:
        """Theme names in taxonomy order."""
        return tuple(theme.name for theme in self.themes)

    def get(self, name: str) -> Theme:
        """The theme called ``name``."""
        for theme in self.themes:
            if theme.name == name:
                return theme
        raise TextError(f"unknown theme {name!r}; known: {', '.join(self.names)}")

    def digest(self) -> str:
        """A short hash of the whole taxonomy (part of a model's version)."""
        return hashlib.sha256(repr(self.themes).encode()).hexdigest()[:12]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Taxonomy:
        """Build from ``{name: {description, examples, keywords, parent}}`` (the toml shape)."""
        themes = []
        for name, body in mapping.items():
            if not isinstance(body, Mapping):
                raise TextError(f"theme {name!r} must be a table with a description")
            unknown = set(body) - {"description", "examples", "keywords", "parent"}
            if unknown:
                raise TextError(f"theme {name!r} has unknown field {sorted(unknown)[0]!r}")
            themes.append(Theme(
                name=str(name),
                description=str(body.get("description", "")),
                examples=_strings(body.get("examples", ()), name, "examples"),
                keywords=_strings(body.get("keywords", ()), name, "keywords"),
                parent=body.get("parent"),
            ))
        return cls(tuple(themes))


def _strings(value: Any, theme: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TextError(f"theme {theme!r}: {key} must be a list of strings")
    return tuple(value)


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read a TOML file with one ``[themes.NAME]`` table per theme."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise TextError(f"themes file {path} does not exist") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TextError(f"themes file {path} is not valid TOML: {exc}") from exc
    themes = data.get("themes")
    if not isinstance(themes, Mapping) or not themes:
        raise TextError(f"themes file {path} has no [themes.NAME] tables")
    return Taxonomy.from_mapping(themes)


@dataclass(frozen=True)
class ThemeTag:
    """A theme found in a text, with the tagger's confidence in [0, 1]."""

    theme: str
    confidence: float
    parent: str | None = None


@dataclass(frozen=True)
class ThemeTaggerConfig:
    """How zero-shot similarity and keyword hits become a confidence.

    confidence = sigmoid((similarity + keyword_bonus * hit - centre) / spread); a text
    is tagged with every theme whose confidence reaches ``threshold``. With
    ``per_sentence`` each sentence and clause (see :mod:`smokejumper.text.clauses`) is
    scored on its own and a theme's confidence is its best over them; with ``exclusive``
    too, a sentence or clause speaks of its best theme only (the others are capped below
    the threshold there), so a sentence about the bill does not also tag prices.

    A theme's similarity to a text mixes the best cosine over its prototypes and the
    cosine to their mean: ``(1 - mean_weight) * max + mean_weight * mean``. With
    ``expand_prototypes`` the prototypes are the name and description, each example,
    each keyword, and each phrase of the description (split at commas, colons and
    "and"/"or"), so a description alone already gives several anchors.

    ``adapt_shares``, ``adapt_neighbours``, ``neighbour_weight`` and
    ``adapt_regularisation`` say how :meth:`HybridThemeTagger.adapt` learns from
    unlabelled texts.
    """

    threshold: float = 0.5
    keyword_bonus: float = 0.3
    centre: float = 0.4
    spread: float = 0.07
    per_sentence: bool = True
    exclusive: bool = True
    expand_prototypes: bool = True
    mean_weight: float = 0.5
    regularisation: float = 1.0
    balanced: bool = True
    seed: int = 0
    adapt_shares: tuple[float, ...] = (0.2, 0.6, 1.0)
    adapt_neighbours: int = 20
    neighbour_weight: float = 0.5
    adapt_regularisation: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "adapt_shares", tuple(self.adapt_shares))
        if not self.adapt_shares or not all(0 < share <= 1 for share in self.adapt_shares):
            raise TextError(f"adapt_shares must be one or more shares in (0, 1], not "
                            f"{self.adapt_shares}")
        if not 0 <= self.neighbour_weight <= 1:
            raise TextError(f"neighbour_weight must be in [0, 1], not {self.neighbour_weight}")
        if self.adapt_neighbours < 1:
            raise TextError(f"adapt_neighbours must be at least 1, not {self.adapt_neighbours}")
        if self.adapt_regularisation <= 0:
            raise TextError(f"adapt_regularisation must be above 0, not "
                            f"{self.adapt_regularisation}")

    def settings(self, adapted: bool) -> str:
        """The settings a tagger's version names. Only an adapted tagger's names the
        adapting ones; the others' read as they did before adapting had settings of its
        own (2026-11-23), so what zero-shot and taught taggers enriched stays cached.

        >>> ThemeTaggerConfig().settings(adapted=False).endswith("seed=0, adapt_share=0.2)")
        True
        """
        own = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self)
                        if f.name not in ADAPT_SETTINGS)
        adapting = ", ".join(f"{name}={getattr(self, name)!r}" for name in ADAPT_SETTINGS) \
            if adapted else "adapt_share=0.2"
        return f"ThemeTaggerConfig({own}, {adapting})"


#: the :class:`ThemeTaggerConfig` fields that only :meth:`HybridThemeTagger.adapt` reads
ADAPT_SETTINGS = ("adapt_shares", "adapt_neighbours", "neighbour_weight", "adapt_regularisation")


class ThemeModel(Protocol):
    """What every theme tagger offers: confidences per theme for a batch of texts."""

    name: str
    taxonomy: Taxonomy
    config: ThemeTaggerConfig

    @property
    def version(self) -> str:
        """Changes whenever the tagger would tag a text differently (cache key)."""
        ...

    def confidences(self, texts: Sequence[str]) -> list[list[float]]:
        """One row per text, one confidence per theme in taxonomy order."""
        ...


@runtime_checkable
class TeachableThemeModel(ThemeModel, Protocol):
    """A theme tagger that learns from labelled examples."""

    def fit(self, texts: Sequence[str],
            labels: Sequence[str | Sequence[str]]) -> TeachableThemeModel:
        """Teach the tagger; returns itself."""
        ...

    def cross_validate(self, texts: Sequence[str], labels: Sequence[str],
                       folds: int = 5) -> EvaluationReport:
        """k-fold estimate of how well the tagger learns these examples."""
        ...


def tag_themes(model: ThemeModel, texts: Sequence[str],
               threshold: float | None = None) -> list[tuple[ThemeTag, ...]]:
    """The themes of each text at or above ``threshold``, most confident first.

    >>> taxonomy = Taxonomy.from_mapping({"staff": {"keywords": ["waiter"]},
    ...                                   "price": {"keywords": ["expensive"]}})
    >>> [[t.theme for t in tags] for tags in tag_themes(KeywordThemeTagger(taxonomy),
    ...                                                 ["Expensive, and the waiter was rude"])]
    [['staff', 'price']]
    """
    cut = model.config.threshold if threshold is None else threshold
    themes = model.taxonomy.themes
    tags = []
    for row in model.confidences(texts):
        found = [ThemeTag(theme.name, round(value, 4), theme.parent)
                 for theme, value in zip(themes, row, strict=True) if value >= cut]
        tags.append(tuple(sorted(found, key=lambda tag: -tag.confidence)))
    return tags


def best_themes(model: ThemeModel, texts: Sequence[str]) -> list[str]:
    """The single most confident theme of each text (``(none)`` when all are zero).

    >>> taxonomy = Taxonomy.from_mapping({"staff": {"keywords": ["waiter"]},
    ...                                   "price": {"keywords": ["expensive"]}})
    >>> best_themes(KeywordThemeTagger(taxonomy), ["So expensive", "Lovely view"])
    ['price', '(none)']
    """
    names = model.taxonomy.names
    best = []
    for row in model.confidences(texts):
        top = max(range(len(row)), key=lambda index: row[index])
        best.append(names[top] if row[top] > 0 else NO_THEME)
    return best


_PHRASE_CUT = re.compile(r"[:,;]|\s+(?:and|or)\s+")


def theme_prototypes(theme: Theme, expand: bool = True) -> list[str]:
    """The texts a theme is recognised by: name and description, examples and, with
    ``expand``, its keywords and the phrases of its description.

    >>> theme = Theme("price", "Prices and value for money: expensive or cheap",
    ...               examples=("Too dear",), keywords=("bill",))
    >>> theme_prototypes(theme)
    ['price: Prices and value for money: expensive or cheap', 'Too dear', 'bill', \
'Prices', 'value for money', 'expensive', 'cheap']
    """
    head = f"{theme.name}: {theme.description}" if theme.description else theme.name
    texts = [head, *theme.examples]
    if expand:
        texts.extend(theme.keywords)
        texts.extend(piece.strip(" .") for piece in _PHRASE_CUT.split(theme.description)
                     if len(piece.strip(" .")) > 2)
    return list(dict.fromkeys(texts))


class KeywordMatcher:
    """Whole-word, case-insensitive keyword hits per theme (plurals included)."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self.patterns = [_keyword_pattern(theme.keywords) for theme in taxonomy.themes]

    def hits(self, texts: Sequence[str]) -> list[list[float]]:
        """1.0 where a text mentions one of a theme's keywords, else 0.0."""
        return [[1.0 if pattern is not None and pattern.search(text) else 0.0
                 for pattern in self.patterns] for text in texts]


def _keyword_pattern(keywords: Sequence[str]) -> re.Pattern[str] | None:
    words = [k.strip() for k in keywords if k.strip()]
    if not words:
        return None
    parts = []
    for word in sorted(words, key=len, reverse=True):
        body = r"\s+".join(re.escape(piece) for piece in word.split())
        left = r"\b" if word[0].isalnum() else ""
        right = r"(?:s|es)?\b" if word[-1].isalnum() else ""
        parts.append(left + body + right)
    return re.compile("|".join(parts), re.IGNORECASE)


class KeywordThemeTagger:
    """Keyword hits only: confidence 1 for a theme whose keyword appears, else 0."""

    name = "keywords"

    def __init__(self, taxonomy: Taxonomy, config: ThemeTaggerConfig | None = None) -> None:
        self.taxonomy = taxonomy
        self.config = config or ThemeTaggerConfig()
        self._matcher = KeywordMatcher(taxonomy)

    @property
    def version(self) -> str:
        return f"keywords:{self.taxonomy.digest()}"

    def confidences(self, texts: Sequence[str]) -> list[list[float]]:
        return self._matcher.hits(texts)


def _pieces(texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]],
            ) -> tuple[list[int], list[str]]:
    """The sentences or clauses of the texts cut into more than one (``spans`` per text),
    each with the index of its text."""
    owners: list[int] = []
    pieces: list[str] = []
    for index, (text, text_spans) in enumerate(zip(texts, spans, strict=True)):
        if len(text_spans) > 1:
            owners.extend([index] * len(text_spans))
            pieces.extend(text[a:b] for a, b in text_spans)
    return owners, pieces


class HybridThemeTagger:
    """Embeddings and keywords together; zero-shot from the taxonomy, or taught."""

    name = "hybrid"

    def __init__(self, taxonomy: Taxonomy, embedder: Embedder | None = None,
                 config: ThemeTaggerConfig | None = None) -> None:
        from smokejumper.text.embeddings import load_embedder

        self.taxonomy = taxonomy
        self.embedder = embedder or load_embedder()
        self.config = config or ThemeTaggerConfig()
        self._matcher = KeywordMatcher(taxonomy)
        self._prototypes: list[Any] | None = None
        self._classifiers: dict[int, Any] = {}
        self._taught_on = ""

    @property
    def version(self) -> str:
        settings = hashlib.sha256(
            self.config.settings(self.is_adapted).encode()).hexdigest()[:8]
        return (f"hybrid:{self.embedder.model_id}:{self.taxonomy.digest()}:{settings}:"
                f"{self._taught_on or 'zero-shot'}")

    @property
    def is_taught(self) -> bool:
        """Whether :meth:`fit` has run (taught by labelled examples, not :meth:`adapt`)."""
        return bool(self._classifiers) and not self.is_adapted

    @property
    def can_adapt(self) -> bool:
        """Whether :meth:`adapt` would learn anything: neither taught nor adapted yet."""
        return not self.is_taught and not self.is_adapted

    def _theme_vectors(self) -> list[Any]:
        """Per theme, the embeddings of its prototypes (see :class:`ThemeTaggerConfig`)."""
        if self._prototypes is None:
            import numpy as np

            prototypes = []
            for theme in self.taxonomy.themes:
                texts = theme_prototypes(theme, self.config.expand_prototypes)
                vectors = self.embedder.encode(texts)
                mean = vectors.mean(axis=0)
                norm = float(np.linalg.norm(mean)) or 1.0
                prototypes.append((vectors, (mean / norm).astype(np.float32)))
            self._prototypes = prototypes
        return self._prototypes

    def _theme_similarity(self, vectors: np.ndarray) -> np.ndarray:
        """One column per theme: max and mean-prototype cosines mixed by ``mean_weight``."""
        import numpy as np

        weight = self.config.mean_weight
        columns = [(1.0 - weight) * (vectors @ every.T).max(axis=1) + weight * (vectors @ mean)
                   for every, mean in self._theme_vectors()]
        return np.stack(columns, axis=1)

    def similarities(self, texts: Sequence[str],
                     vectors: np.ndarray | None = None) -> np.ndarray:
        """Best cosine of each text (or any of its sentences) to each theme's prototypes."""
        import numpy as np

        from smokejumper.text.sentiment import split_sentences

        vectors = self.embedder.encode(texts) if vectors is None else vectors
        similarity = self._theme_similarity(vectors)
        if self.config.per_sentence:
            owners, sentences = _pieces(texts, [split_sentences(text) for text in texts])
            if sentences:
                sentence_vectors = self.embedder.encode(sentences)
                per_sentence = self._theme_similarity(sentence_vectors)
                np.maximum.at(similarity, np.array(owners), per_sentence)
        return similarity

    def zero_shot(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Zero-shot confidences from similarity and keyword hits."""
        import numpy as np

        score = self._zero_shot_scores(texts, vectors)
        return 1.0 / (1.0 + np.exp(-(score - self.config.centre) / self.config.spread))

    def _zero_shot_scores(self, texts: Sequence[str],
                          vectors: np.ndarray | None = None) -> np.ndarray:
        import numpy as np

        if self.config.per_sentence and self.config.exclusive:
            return self.unit_scores(texts, vectors)
        return self.similarities(texts, vectors) + self.config.keyword_bonus * \
            np.asarray(self._matcher.hits(texts), dtype=np.float32)

    def unit_scores(self, texts: Sequence[str], vectors: np.ndarray | None = None,
                    units: Sequence[Sequence[tuple[int, int]]] | None = None) -> np.ndarray:
        """Per text, each theme's best score over the text's sentences and clauses, where
        a sentence or clause keeps its best theme only (the others capped below ``centre``).

        ``units`` gives each text's spans (default: :func:`split_clauses`); a text with one
        span covering it is scored from its own vector.
        """
        import numpy as np

        from smokejumper.text.clauses import split_clauses

        spans = [split_clauses(text) for text in texts] if units is None else units
        owners, pieces = _pieces(texts, spans)
        whole = [index for index, text_spans in enumerate(spans) if len(text_spans) <= 1]
        bonus = self.config.keyword_bonus
        cap = self.config.centre - self.config.spread
        score = np.full((len(texts), len(self.taxonomy.themes)), -1.0, dtype=np.float32)

        def exclusive(unit_vectors: np.ndarray, unit_texts: Sequence[str]) -> np.ndarray:
            unit = self._theme_similarity(unit_vectors)
            unit = unit + bonus * np.asarray(self._matcher.hits(unit_texts), dtype=np.float32)
            best = unit.max(axis=1, keepdims=True)
            return np.where(unit >= best, unit, np.minimum(unit, cap))

        if whole:
            whole_texts = [texts[i] for i in whole]
            whole_vectors = self.embedder.encode(whole_texts) if vectors is None \
                else vectors[whole]
            score[whole] = exclusive(whole_vectors, whole_texts)
        if pieces:
            np.maximum.at(score, np.array(owners),
                          exclusive(self.embedder.encode(pieces), pieces))
        return score

    def confidences(self, texts: Sequence[str]) -> list[list[float]]:
        if len(texts) == 0:
            return []
        # zero-shot by sentence and clause needs the whole texts' vectors only for the
        # taught classifiers
        unit_wise = self.config.per_sentence and self.config.exclusive
        vectors = self.embedder.encode(texts) if self._classifiers or not unit_wise else None
        confidence = self.zero_shot(texts, vectors)
        for column, classifier in self._classifiers.items():
            confidence[:, column] = classifier.predict_proba(vectors)[:, 1]
        if self.is_adapted and unit_wise:
            self._best_clause(texts, confidence)
        return [[float(value) for value in row] for row in confidence]

    def _best_clause(self, texts: Sequence[str], confidence: np.ndarray) -> None:
        """An adapted theme's confidence in a text of several sentences or clauses is its
        best over the whole text and each of them, where a sentence or clause keeps its best
        adapted theme only (the others capped below ``threshold``), so a comment about the
        staff and the bill keeps both."""
        import numpy as np

        from smokejumper.text.clauses import split_clauses

        owners, pieces = _pieces(texts, [split_clauses(text) for text in texts])
        if not pieces:
            return
        columns = list(self._classifiers)
        piece_vectors = self.embedder.encode(pieces)
        unit = np.stack([self._classifiers[column].predict_proba(piece_vectors)[:, 1]
                         for column in columns], axis=1).astype(confidence.dtype)
        cap = np.nextafter(np.float32(self.config.threshold), np.float32(-np.inf))
        unit = np.where(unit >= unit.max(axis=1, keepdims=True), unit, np.minimum(unit, cap))
        best = confidence[:, columns]
        np.maximum.at(best, np.array(owners), unit)
        confidence[:, columns] = best

    def _label_sets(self, labels: Sequence[str | Sequence[str]]) -> list[set[int]]:
        index = {name: i for i, name in enumerate(self.taxonomy.names)}
        sets = []
        for label in labels:
            names = [label] if isinstance(label, str) else list(label)
            for name in names:
                if name not in index:
                    raise TextError(f"unknown theme {name!r} in the labels; known: "
                                    f"{', '.join(self.taxonomy.names)}")
            sets.append({index[name] for name in names})
        return sets

    def _fit_vectors(self, vectors: np.ndarray, label_sets: Sequence[set[int]],
                     regularisation: float | None = None,
                     balanced: bool | None = None) -> dict[int, Any]:
        """One logistic regression per theme that some but not all texts carry (C and class
        balance as the config says unless given)."""
        logistic_regression = optional_import("sklearn.linear_model").LogisticRegression
        c = self.config.regularisation if regularisation is None else regularisation
        balance = self.config.balanced if balanced is None else balanced
        classifiers = {}
        for column in range(len(self.taxonomy.themes)):
            target = [column in labels for labels in label_sets]
            if any(target) and not all(target):
                classifier = logistic_regression(
                    C=c, max_iter=3000, random_state=self.config.seed,
                    class_weight="balanced" if balance else None)
                classifiers[column] = classifier.fit(vectors, target)
        return classifiers

    def fit(self, texts: Sequence[str],
            labels: Sequence[str | Sequence[str]]) -> HybridThemeTagger:
        """Teach from texts labelled with one theme (a name) or several (a list of names).

        Themes without examples keep their zero-shot confidence.
        """
        if len(texts) != len(labels):
            raise TextError(f"{len(texts)} texts but {len(labels)} labels")
        label_sets = self._label_sets(labels)
        self._classifiers = self._fit_vectors(self.embedder.encode(texts), label_sets)
        if not self._classifiers:
            raise TextError("teaching needs texts of at least two themes")
        digest = hashlib.sha256()
        for text, label in zip(texts, labels, strict=True):
            digest.update(f"{label}\t{text}\n".encode())
        self._taught_on = digest.hexdigest()[:12]
        return self

    def adapt(self, texts: Sequence[str]) -> HybridThemeTagger:
        """Learn from unlabelled texts (self-training); no label is read, and the texts are
        usually the ones about to be tagged.

        Only themes described by words alone adapt: a theme with examples or keywords keeps
        what its author wrote (pseudo-labels would overrule it; on the demo company,
        adapting those themes lowered macro-F1 from 0.90 to 0.57). The zero-shot tagger
        scores the texts; then, round by round, per theme the share ``adapt_shares[i]`` of
        its texts with the widest margin between their best and second-best theme teaches
        one logistic regression over all themes, whose probabilities, averaged with those
        of each text's ``adapt_neighbours`` most similar texts, score the next round (0.2,
        0.6, then all of them: what the surest fifth learnt labels the rest;
        :func:`~smokejumper.text.self_training.self_trained_labels`). Each text's last label
        then teaches the classifier of each theme that adapts (C ``adapt_regularisation``,
        classes as they come), as :meth:`fit` does with labelled examples; see
        :meth:`_best_clause` for texts of several clauses. A taught tagger is left as it is
        (its examples beat pseudo-labels); a theme no text ends under keeps its zero-shot
        confidence.

        Best-theme macro-F1, descriptions only: SemEval-2014 restaurant sentences 0.666 to
        0.734, BANKING77 0.591 to 0.694 (docs/text.md).
        """
        from smokejumper.text.self_training import pool_digest, self_trained_labels

        if not self.can_adapt or len(texts) == 0:
            return self
        described = {i for i, theme in enumerate(self.taxonomy.themes)
                     if not theme.examples and not theme.keywords}
        if not described:
            raise TextError("every theme has examples or keywords, which adapting would "
                            "overrule; nothing to adapt")
        vectors = self.embedder.encode(texts)
        try:
            labels = self_trained_labels(
                self._zero_shot_scores(texts, vectors), vectors, self.config.adapt_shares,
                self.config.adapt_neighbours, self.config.neighbour_weight, self.config.seed)
            classifiers = self._fit_vectors(
                vectors, [{int(label)} for label in labels],
                regularisation=self.config.adapt_regularisation, balanced=False)
        except TextError:
            classifiers = {}
        classifiers = {column: c for column, c in classifiers.items() if column in described}
        if not classifiers:
            raise TextError("adapting needs texts that the zero-shot tagger puts under at "
                            "least two different themes")
        self._classifiers = classifiers
        self._taught_on = f"adapted-{pool_digest(texts)}"
        return self

    @property
    def is_adapted(self) -> bool:
        """Whether the classifiers come from :meth:`adapt` (pseudo-labels), not examples."""
        return self._taught_on.startswith("adapted-")

    def cross_validate(self, texts: Sequence[str], labels: Sequence[str],
                       folds: int = 5) -> EvaluationReport:
        """k-fold best-theme accuracy and F1 of teaching on single-theme examples."""
        if len(texts) != len(labels):
            raise TextError(f"{len(texts)} texts but {len(labels)} labels")
        label_sets = self._label_sets(labels)
        vectors = self.embedder.encode(texts)
        zero_shot = self.zero_shot(texts, vectors)
        names = self.taxonomy.names

        def fit_predict(train: Sequence[int], test: Sequence[int]) -> list[str]:
            classifiers = self._fit_vectors(vectors[list(train)],
                                            [label_sets[i] for i in train])
            confidence = zero_shot[list(test)].copy()
            for column, classifier in classifiers.items():
                confidence[:, column] = classifier.predict_proba(vectors[list(test)])[:, 1]
            return [names[int(row.argmax())] for row in confidence]

        return cross_validate(list(labels), fit_predict, folds=folds, seed=self.config.seed)


__all__ = [
    "NO_THEME", "HybridThemeTagger", "KeywordMatcher", "KeywordThemeTagger", "Taxonomy",
    "TeachableThemeModel", "Theme", "ThemeModel", "ThemeTag", "ThemeTaggerConfig", "best_themes",
    "load_taxonomy", "tag_themes", "theme_prototypes",
]
