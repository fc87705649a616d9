"""Sentiment per text and per sentence: a label (negative/neutral/positive) and a score.

Two built-in models, both registered in :mod:`smokejumper.text.registry`:

* ``vader``: the VADER lexicon. Needs no extra and no teaching; its score is VADER's
  compound score.
* ``embedding``: all-MiniLM-L6-v2 sentence embeddings (plus VADER's four scores as
  extra features when available) and a logistic regression. Untaught, it uses the head
  shipped in ``smokejumper/text/heads/sentiment_minilm.json`` (fitted on public
  SemEval-2014 review sentences, see ``bench/train_sentiment_head.py``); taught from a
  few dozen labelled examples, its own regression. Its score is P(positive) - P(negative).

Scores are always in [-1, 1].
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from smokejumper.errors import MissingDependencyError, TextError
from smokejumper.text._optional import optional_import
from smokejumper.text.evaluate import EvaluationReport, cross_validate
from smokejumper.text.sentiment_adapt import (
    AdaptationConfig,
    HeadReading,
    SentimentAdaptation,
    TaughtAdaptation,
    aligned_head,
)
from smokejumper.text.social import VERSION as SOCIAL_VERSION
from smokejumper.text.social import model_text

if TYPE_CHECKING:
    import numpy as np

    from smokejumper.text.embeddings import Embedder

NEGATIVE, NEUTRAL, POSITIVE = "negative", "neutral", "positive"
SENTIMENT_LABELS: tuple[str, ...] = (NEGATIVE, NEUTRAL, POSITIVE)


@dataclass(frozen=True)
class SentimentScore:
    """A label and a score in [-1, 1] for one piece of text."""

    label: str
    score: float


@dataclass(frozen=True)
class SentenceSentiment:
    """The sentiment of one sentence, with its place in the text."""

    start: int
    end: int
    text: str
    label: str
    score: float


@dataclass(frozen=True)
class SentimentResult:
    """The sentiment of a whole text and of each of its sentences."""

    label: str
    score: float
    sentences: tuple[SentenceSentiment, ...] = ()


class SentimentModel(Protocol):
    """What every sentiment model offers: a name, a version, and scores for texts."""

    name: str

    @property
    def version(self) -> str:
        """Changes whenever the model would score a text differently (cache key)."""
        ...

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        """A label and score for each text, in order."""
        ...


@runtime_checkable
class TeachableSentimentModel(SentimentModel, Protocol):
    """A sentiment model that learns from labelled examples."""

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TeachableSentimentModel:
        """Teach the model; returns itself."""
        ...

    def cross_validate(self, texts: Sequence[str], labels: Sequence[str],
                       folds: int = 5) -> EvaluationReport:
        """k-fold estimate of how well the model learns these examples."""
        ...


def normalise_sentiment_label(raw: str) -> str:
    """``negative``, ``neutral`` or ``positive`` from a label as people write it.

    >>> normalise_sentiment_label(" Positive "), normalise_sentiment_label("neg")
    ('positive', 'negative')
    """
    label = raw.strip().lower()
    label = {"pos": POSITIVE, "neg": NEGATIVE, "neu": NEUTRAL}.get(label, label)
    if label not in SENTIMENT_LABELS:
        raise TextError(f"unknown sentiment label {raw!r}; expected negative, neutral or "
                        "positive")
    return label


def label_for_score(score: float, threshold: float = 0.05) -> str:
    """The label of a score: positive above ``threshold``, negative below its negative.

    >>> label_for_score(0.6), label_for_score(0.0), label_for_score(-0.2)
    ('positive', 'neutral', 'negative')
    """
    if score >= threshold:
        return POSITIVE
    if score <= -threshold:
        return NEGATIVE
    return NEUTRAL


_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+|\s*\n+\s*")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Start and end offsets of each sentence (split after . ! ? and at line breaks).

    >>> text = "Great staff. The bill was wrong!\\nNever again"
    >>> [text[a:b] for a, b in split_sentences(text)]
    ['Great staff.', 'The bill was wrong!', 'Never again']
    """
    spans = []
    position = 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > position:
            spans.append((position, match.start()))
        position = match.end()
    if position < len(text) and text[position:].strip():
        spans.append((position, len(text.rstrip())))
    return spans


def analyse_sentiment(model: SentimentModel, texts: Sequence[str],
                      per_sentence: bool = True) -> list[SentimentResult]:
    """Sentiment of each text and, with ``per_sentence``, of each of its sentences.

    All sentences of all texts go to the model in one call, so models that batch
    (embeddings) stay fast.

    >>> [r.label for r in analyse_sentiment(VaderSentimentModel(),
    ...                                     ["I love it.", "Awful service. Never again."])]
    ['positive', 'negative']
    """
    whole = model.score(texts)
    if not per_sentence:
        return [SentimentResult(s.label, s.score) for s in whole]
    spans = [split_sentences(text) for text in texts]
    pieces = [text[a:b] for text, text_spans in zip(texts, spans, strict=True)
              for a, b in text_spans]
    scored = iter(model.score(pieces) if pieces else [])
    results = []
    for text, text_spans, overall in zip(texts, spans, whole, strict=True):
        sentences = []
        for a, b in text_spans:
            sentence = next(scored)
            sentences.append(SentenceSentiment(a, b, text[a:b], sentence.label, sentence.score))
        results.append(SentimentResult(overall.label, overall.score, tuple(sentences)))
    return results


# --- VADER ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VaderConfig:
    """VADER's usual cut-offs: compound ≥ 0.05 is positive, ≤ -0.05 negative."""

    threshold: float = 0.05


def _vader_analyzer() -> Any:
    return optional_import("vaderSentiment.vaderSentiment").SentimentIntensityAnalyzer()


class VaderSentimentModel:
    """The VADER lexicon: fast, no teaching, decent on short English feedback.

    >>> VaderSentimentModel().score(["The staff were wonderful!"])[0].label
    'positive'
    """

    name = "vader"

    def __init__(self, config: VaderConfig | None = None) -> None:
        self.config = config or VaderConfig()
        self._analyzer = _vader_analyzer()

    @property
    def version(self) -> str:
        return f"vader-3.3:{self.config.threshold}:{SOCIAL_VERSION}"

    def polarity(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """VADER's raw scores (neg, neu, pos, compound) for each text, read without the
        noise of web and social channels (:func:`smokejumper.text.social.model_text`)."""
        return [self._analyzer.polarity_scores(model_text(text)) for text in texts]

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        scores = []
        for polarity in self.polarity(texts):
            compound = float(polarity["compound"])
            scores.append(SentimentScore(label_for_score(compound, self.config.threshold),
                                         compound))
        return scores


# --- embeddings + logistic regression ---------------------------------------------------------

SHIPPED_HEAD = Path(__file__).resolve().parent / "heads" / "sentiment_minilm.json"


#: VADER's compound, pos, neg and neu, as features after an embedding
LEXICON_COLUMNS = 4


def lexicon_features(vader: VaderSentimentModel | None, texts: Sequence[str]) -> np.ndarray:
    """VADER's compound, pos, neg and neu per text (zeros without vaderSentiment)."""
    import numpy as np

    if vader is None:
        return np.zeros((len(texts), LEXICON_COLUMNS), dtype=np.float32)
    rows = [[p["compound"], p["pos"], p["neg"], p["neu"]] for p in vader.polarity(texts)]
    return np.array(rows, dtype=np.float32).reshape(len(texts), LEXICON_COLUMNS)


@dataclass(frozen=True)
class SentimentHead:
    """A multinomial logistic regression stored as plain weights (no sklearn needed)."""

    classes: tuple[str, ...]
    coef: tuple[tuple[float, ...], ...]
    intercept: tuple[float, ...]
    digest: str

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Softmax class probabilities, one row per feature row, columns as ``classes``.

        >>> import numpy as np
        >>> head = SentimentHead(("negative", "positive"), ((-1.0,), (1.0,)), (0.0, 0.0), "x")
        >>> head.probabilities(np.array([[0.0], [2.0]])).round(3).tolist()
        [[0.5, 0.5], [0.018, 0.982]]
        """
        import numpy as np

        logits = features @ np.asarray(self.coef, dtype=np.float32).T + \
            np.asarray(self.intercept, dtype=np.float32)
        logits -= logits.max(axis=1, keepdims=True)
        weights = np.exp(logits)
        return weights / weights.sum(axis=1, keepdims=True)


@lru_cache(maxsize=4)
def load_sentiment_head(path: str | None = None) -> SentimentHead:
    """The head at ``path`` (default: the one shipped with the package)."""
    file = Path(path) if path else SHIPPED_HEAD
    try:
        raw = file.read_text(encoding="utf-8")
        data = json.loads(raw)
        head = SentimentHead(tuple(data["classes"]), tuple(tuple(r) for r in data["coef"]),
                             tuple(data["intercept"]),
                             hashlib.sha256(raw.encode()).hexdigest()[:12])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TextError(f"cannot read the sentiment head {file}: {exc}") from exc
    if set(head.classes) - set(SENTIMENT_LABELS):
        raise TextError(f"the sentiment head {file} has unknown classes {head.classes}")
    return head


def head_beside_taught(embedder: Embedder, weight: float, vader: VaderSentimentModel | None,
                       texts: Sequence[str], vectors: np.ndarray, features: np.ndarray,
                       classes: Sequence[Any]) -> HeadReading | None:
    """The shipped head's reading of texts for a taught model to read beside its own
    (:class:`~smokejumper.text.sentiment_adapt.TaughtAdaptation`): from their untuned
    embeddings ``vectors`` and VADER's four scores (the last columns of the taught
    model's ``features`` when it reads them with ``vader``; zeros without), in the columns
    of the taught ``classes``. None when ``weight`` is 0 or the embedding model is not
    the bundled one (the head was fitted on its embeddings)."""
    import numpy as np

    if weight == 0 or embedder.config.model_path is not None:
        return None
    lexicon = features[:, -LEXICON_COLUMNS:] if vader is not None else \
        lexicon_features(None, texts)
    head = load_sentiment_head()
    probabilities = head.probabilities(np.hstack([vectors, lexicon]))
    classes = [str(label) for label in classes]
    return HeadReading(aligned_head(probabilities, head.classes, classes), head.digest)


@dataclass(frozen=True)
class EmbeddingClassifierConfig:
    """How the taught classifier is fitted.

    ``lexicon_features`` adds VADER's four scores to the embedding (when vaderSentiment
    is installed); balanced class weights favour macro-F1 over plain accuracy.
    ``adaptation`` is how :meth:`EmbeddingSentimentModel.adapt` learns from unlabelled
    texts.
    """

    regularisation: float = 1.0
    balanced: bool = True
    lexicon_features: bool = True
    max_iterations: int = 2000
    seed: int = 0
    adaptation: AdaptationConfig = field(default_factory=AdaptationConfig)


def new_logistic_regression(config: Any) -> Any:
    """The classifier a taught model fits on its features: scikit-learn's logistic
    regression with the config's ``regularisation``, ``balanced``, ``max_iterations`` and
    ``seed``."""
    logistic_regression = optional_import("sklearn.linear_model").LogisticRegression
    return logistic_regression(C=config.regularisation,
                               class_weight="balanced" if config.balanced else None,
                               max_iter=config.max_iterations, random_state=config.seed)


def lexicon_model(wanted: bool) -> VaderSentimentModel | None:
    """VADER for the lexicon features a model adds to its embeddings, when ``wanted`` and
    installed (None otherwise: the features are left out)."""
    if not wanted:
        return None
    try:
        return VaderSentimentModel()
    except MissingDependencyError:
        return None


class EmbeddingSentimentModel:
    """Sentence embeddings and a logistic regression taught from labelled examples."""

    name = "embedding"

    def __init__(self, embedder: Embedder | None = None,
                 config: EmbeddingClassifierConfig | None = None) -> None:
        from smokejumper.text.embeddings import load_embedder

        self.embedder = embedder or load_embedder()
        self.config = config or EmbeddingClassifierConfig()
        self._classifier: Any = None
        self._adaptation: SentimentAdaptation | None = None
        self._taught_adaptation: TaughtAdaptation | None = None
        self._taught_on = ""
        self._vader = lexicon_model(self.config.lexicon_features)

    @property
    def version(self) -> str:
        if self._classifier is not None:
            taught = self._taught_on
            if self._taught_adaptation is not None:  # its tag names the settings it reads
                taught = f"{taught}:{self._taught_adaptation.tag}"
            return f"embedding-lr:{self.embedder.model_id}:{SOCIAL_VERSION}:{taught}"
        untaught = f"head-{self._head().digest}" if self._uses_head() else "untaught"
        if self._adaptation is not None:  # what it learnt from, and with which settings
            settings = hashlib.sha256(repr(self.config).encode()).hexdigest()[:6]
            untaught = f"{untaught}:{self._adaptation.tag}-{settings}"
        return f"embedding-lr:{self.embedder.model_id}:{SOCIAL_VERSION}:{untaught}"

    def _uses_head(self) -> bool:
        """Untaught on the bundled model: the shipped head was fitted on its embeddings."""
        return self._classifier is None and self.embedder.config.model_path is None

    def _head(self) -> SentimentHead:
        return load_sentiment_head()

    @property
    def is_taught(self) -> bool:
        """Whether :meth:`fit` has run."""
        return self._classifier is not None

    @property
    def is_adapted(self) -> bool:
        """Whether :meth:`adapt` has run (and no teaching since)."""
        if self._classifier is not None:
            return self._taught_adaptation is not None
        return self._adaptation is not None

    @property
    def can_adapt(self) -> bool:
        """Whether :meth:`adapt` would learn anything: taught, or untaught on the shipped
        head."""
        return self._classifier is not None or self._uses_head()

    def _lexicon_columns(self, head: bool) -> int:
        """How many lexicon scores follow the embedding in :meth:`features`: the head
        always reads four (zeros without vaderSentiment); a taught regression four when
        VADER is configured and installed, else none."""
        return LEXICON_COLUMNS if head or self._vader is not None else 0

    def features(self, texts: Sequence[str], head: bool | None = None) -> np.ndarray:
        """The classifier's input: embeddings of the texts as models read them
        (:func:`~smokejumper.text.social.model_text`), plus lexicon scores when
        configured. ``head``: in the shipped head's layout, or a taught regression's
        (default: the one the model scores with now)."""
        import numpy as np

        head = self._uses_head() if head is None else head
        # a text that model_text changes misses the clause vectors enrichment serves for
        # its raw text and is embedded as a whole, like the texts the head learnt from
        vectors = self.embedder.encode([model_text(text) for text in texts])
        if not self._lexicon_columns(head):
            return vectors
        return np.hstack([vectors, lexicon_features(self._vader, texts)])

    def adapt(self, texts: Sequence[str]) -> EmbeddingSentimentModel:
        """Learn the language of these unlabelled texts (self-training, no label read).

        The shipped head labels them, its surest labels teach a regression on the
        embeddings, and each text's scores then mix the regression's, the head's and
        those of its nearest texts of the pool (:mod:`smokejumper.text.sentiment_adapt`;
        settings: ``config.adaptation``). The texts are usually the ones about to be
        scored: a workspace's own comments, tickets or posts. An untaught model on an
        embedding model of its own (no head) is left as it is.

        On tweets to and about companies that no setting was chosen on, this lifts
        macro-F1 well above the head's; on review sentences, the head's own domain, it
        changes little (figures in docs/text.md).

        A taught model learns no pseudo-label (its examples beat them): its scores of a
        text are averaged with its scores of the text's nearest texts of the pool
        (:class:`~smokejumper.text.sentiment_adapt.TaughtAdaptation`).
        """
        if not self.can_adapt or len(texts) == 0:
            return self
        features = self.features(texts)
        if self._classifier is not None:
            vectors = self._embedding_part(features, head=False)
            self._taught_adaptation = TaughtAdaptation.learn(
                texts, vectors, self._classifier.predict_proba(features),
                self.config.adaptation, self._head_beside(texts, vectors, features))
            return self
        head = self._head()
        self._adaptation = SentimentAdaptation.learn(
            texts, self._embedding_part(features, head=True), head.probabilities(features),
            head.classes, self._new_classifier, self.config.adaptation)
        return self

    def _embedding_part(self, features: np.ndarray, head: bool) -> np.ndarray:
        """The embeddings in :meth:`features` of the head's layout or a taught
        regression's (without the lexicon scores)."""
        columns = self._lexicon_columns(head)
        return features[:, :-columns] if columns else features

    def _head_beside(self, texts: Sequence[str], vectors: np.ndarray,
                     features: np.ndarray) -> HeadReading | None:
        """The shipped head's reading of the texts for the taught model (``features`` in
        the taught layout, ``vectors`` their embedding part)."""
        return head_beside_taught(self.embedder, self.config.adaptation.head_weight,
                                  self._vader, texts, vectors, features,
                                  self._classifier.classes_)

    def _untaught_probabilities(self, features: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The head's probabilities, or the adapted ones once adapted."""
        head = self._head()
        probabilities = head.probabilities(features)
        if self._adaptation is None:
            return probabilities, list(head.classes)
        return (self._adaptation.probabilities(self._embedding_part(features, head=True),
                                               probabilities), list(head.classes))

    def _new_classifier(self) -> Any:
        return new_logistic_regression(self.config)

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> EmbeddingSentimentModel:
        """Teach the classifier on labelled texts (labels normalised to the three classes)."""
        labels = checked_sentiment_labels(texts, labels)
        classifier = self._new_classifier()
        classifier.fit(self.features(texts, head=False), labels)
        self._classifier = classifier
        self._adaptation = None  # examples beat pseudo-labels
        self._taught_adaptation = None
        digest = hashlib.sha256()
        for text, label in zip(texts, labels, strict=True):
            digest.update(f"{label}\t{text}\n".encode())
        self._taught_on = digest.hexdigest()[:12]
        return self

    def cross_validate(self, texts: Sequence[str], labels: Sequence[str],
                       folds: int = 5) -> EvaluationReport:
        """k-fold accuracy and F1 of teaching on these examples (embeds them once)."""
        labels = checked_sentiment_labels(texts, labels)
        features = self.features(texts, head=False)

        def fit_predict(train: Sequence[int], test: Sequence[int]) -> list[str]:
            classifier = self._new_classifier()
            classifier.fit(features[list(train)], [labels[i] for i in train])
            return [str(label) for label in classifier.predict(features[list(test)])]

        return cross_validate(labels, fit_predict, folds=folds, seed=self.config.seed)

    def score(self, texts: Sequence[str]) -> list[SentimentScore]:
        if self._classifier is None and not self._uses_head():
            raise TextError("the embedding sentiment model must be taught first when it uses "
                            "its own embedding model: give it labelled examples "
                            "(text eval --train FILE)")
        if len(texts) == 0:
            return []
        if self._classifier is None:
            return scores_from_probabilities(*self._untaught_probabilities(
                self.features(texts)))
        features = self.features(texts)
        probabilities = self._classifier.predict_proba(features)
        if self._taught_adaptation is not None:
            vectors = self._embedding_part(features, head=False)
            probabilities = self._taught_adaptation.probabilities(
                vectors, probabilities, self._head_beside(texts, vectors, features))
        return scores_from_probabilities(probabilities,
                                         [str(c) for c in self._classifier.classes_])


def scores_from_probabilities(probabilities: np.ndarray,
                              classes: Sequence[str]) -> list[SentimentScore]:
    """Per row: the most probable class and P(positive) - P(negative), clipped to [-1, 1].

    >>> import numpy as np
    >>> [score] = scores_from_probabilities(np.array([[0.1, 0.2, 0.7]]), SENTIMENT_LABELS)
    >>> score.label, round(score.score, 6)
    ('positive', 0.6)
    """
    classes = list(classes)
    positive = classes.index(POSITIVE) if POSITIVE in classes else None
    negative = classes.index(NEGATIVE) if NEGATIVE in classes else None
    scores = []
    for row in probabilities:
        value = (row[positive] if positive is not None else 0.0) - \
            (row[negative] if negative is not None else 0.0)
        scores.append(SentimentScore(classes[int(row.argmax())],
                                     max(-1.0, min(1.0, float(value)))))
    return scores


def checked_sentiment_labels(texts: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Labels normalised to the three classes; as many as texts, at least two classes.

    >>> checked_sentiment_labels(["a", "b"], ["Pos", "neg"])
    ['positive', 'negative']
    """
    if len(texts) != len(labels):
        raise TextError(f"{len(texts)} texts but {len(labels)} labels")
    normalised = [normalise_sentiment_label(label) for label in labels]
    if len(set(normalised)) < 2:
        raise TextError("teaching needs examples of at least two sentiment labels")
    return normalised
