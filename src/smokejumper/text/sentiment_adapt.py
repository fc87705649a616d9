"""Sentiment that learns a workspace's own language without labels (self-training).

The head shipped with the ``embedding`` model learnt from review sentences. On texts that
read differently (tweets, chats, tickets) :class:`SentimentAdaptation` lets it learn from
the texts themselves, reading no label:

1. the head labels every text of the pool;
2. per label, the share ``adapt_share`` of its texts with the widest margin between the
   two most probable labels (at least 5) teaches a logistic regression on the embeddings
   alone;
3. a text's adapted probabilities are ``adapt_blend`` times the regression's plus the rest
   times the head's;
4. and they are averaged (weight ``neighbour_weight``) with the adapted probabilities of
   its ``adapt_neighbours`` most similar texts of the pool (cosine of the embeddings; at
   most a tenth of the pool, none in a pool under 10 texts): a comment reads like the
   comments nearest to it.

The pool's unit vectors and adapted probabilities are kept (about 1.6 kB per text).

A taught model learns no pseudo-label (:class:`TaughtAdaptation`): it does step 4 alone,
reading the shipped head beside itself when its embedding model is the bundled one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from smokejumper.errors import TextError
from smokejumper.text.self_training import pool_digest, surest_per_label

if TYPE_CHECKING:
    import numpy as np

#: rows of the texts-by-pool similarity matrix computed at once (bounds its memory)
SIMILARITY_ROWS = 256


@dataclass(frozen=True)
class AdaptationConfig:
    """How :class:`SentimentAdaptation` learns; the defaults were chosen on two SemEval
    cross-domain pairs and CrowdFlower tweets not about airlines (docs/text.md).

    A taught model (:class:`TaughtAdaptation`) reads ``adapt_neighbours`` and
    ``neighbour_weight`` too, and ``head_weight``: how much of the shipped head it reads
    beside itself (0, the default here: none; ``setfit`` reads 0.5, chosen on a
    development sample of those tweets)."""

    adapt_share: float = 0.1
    adapt_blend: float = 0.5
    adapt_neighbours: int = 20
    neighbour_weight: float = 0.5
    # left out of repr: an untaught model's version hashes its config's repr, and the
    # untaught adaptation does not read it (a taught model's tag names it itself)
    head_weight: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.adapt_share <= 1:
            raise TextError(f"adapt_share must be in (0, 1], not {self.adapt_share}")
        for name in ("adapt_blend", "neighbour_weight", "head_weight"):
            if not 0 <= getattr(self, name) <= 1:
                raise TextError(f"{name} must be in [0, 1], not {getattr(self, name)}")
        if self.adapt_neighbours < 1:
            raise TextError(f"adapt_neighbours must be at least 1, not "
                            f"{self.adapt_neighbours}")

    @property
    def tag(self) -> str:
        """The settings, as they appear in the model version."""
        return (f"{self.adapt_share:g}-{self.adapt_blend:g}-{self.adapt_neighbours}-"
                f"{self.neighbour_weight:g}")


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a zero row stays zero)."""
    import numpy as np

    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


def blend_with_head(classifier: Any, classes: Sequence[str], vectors: np.ndarray,
                    head_probabilities: np.ndarray, blend: float) -> np.ndarray:
    """Step 3: ``blend`` times the regression's probabilities plus the rest times the
    head's, columns as ``classes``; a label the regression never saw keeps the head's
    probability in the regression's part (renormalised)."""
    import numpy as np

    learnt = classifier.predict_proba(vectors)
    known = [str(c) for c in classifier.classes_]
    aligned = head_probabilities.astype(np.float64, copy=True)
    for column, label in enumerate(classes):
        if label in known:
            aligned[:, column] = learnt[:, known.index(label)]
    aligned /= aligned.sum(axis=1, keepdims=True)
    return blend * aligned + (1.0 - blend) * head_probabilities


@dataclass(frozen=True)
class PoolNeighbourhood:
    """A pool of texts (unit embeddings) with class probabilities, to read a text by the
    texts most like it (step 4).

    ``size`` is how many pool texts a neighbourhood holds: ``adapt_neighbours``, at most a
    tenth of the pool (0: none, under 10 texts).
    """

    vectors: np.ndarray
    probabilities: np.ndarray
    size: int

    @classmethod
    def of(cls, vectors: np.ndarray, probabilities: np.ndarray,
           neighbours: int) -> PoolNeighbourhood:
        """The pool of ``vectors`` (made unit length) and their ``probabilities``, read by
        ``neighbours`` texts at most (a tenth of the pool at most)."""
        return cls(unit_rows(vectors), probabilities, min(neighbours, len(vectors) // 10))

    def mean(self, vectors: np.ndarray) -> np.ndarray:
        """Per row of ``vectors``, the mean probabilities of its ``size`` most similar
        pool texts (cosine)."""
        import numpy as np

        units = unit_rows(vectors)
        k = self.size
        out = np.empty((len(units), self.probabilities.shape[1]), dtype=np.float64)
        for start in range(0, len(units), SIMILARITY_ROWS):
            similarity = units[start:start + SIMILARITY_ROWS] @ self.vectors.T
            nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            out[start:start + SIMILARITY_ROWS] = self.probabilities[nearest].mean(axis=1)
        return out

    def smooth(self, vectors: np.ndarray, own: np.ndarray, weight: float) -> np.ndarray:
        """``weight`` times :meth:`mean` plus the rest times ``own`` (the texts' own
        probabilities, columns as the pool's); ``own`` when there is no neighbourhood."""
        if weight == 0 or self.size == 0:
            return own
        return weight * self.mean(vectors) + (1.0 - weight) * own


@dataclass(frozen=True)
class SentimentAdaptation:
    """What was learnt from one pool of unlabelled texts (see the module docstring)."""

    classifier: Any
    classes: tuple[str, ...]
    neighbourhood: PoolNeighbourhood
    config: AdaptationConfig
    digest: str

    @classmethod
    def learn(cls, texts: Sequence[str], vectors: np.ndarray, head_probabilities: np.ndarray,
              classes: Sequence[str], new_classifier: Callable[[], Any],
              config: AdaptationConfig | None = None) -> SentimentAdaptation:
        """Learn from ``texts`` (their embeddings and the head's probabilities, columns
        as ``classes``); ``new_classifier`` makes the regression."""
        config = config or AdaptationConfig()
        chosen = surest_per_label(head_probabilities, config.adapt_share)
        best = head_probabilities.argmax(axis=1)
        if len({int(best[i]) for i in chosen}) < 2:
            raise TextError("adapting needs texts that the head puts under at least two "
                            "sentiment labels")
        classifier = new_classifier()
        classifier.fit(vectors[chosen], [classes[int(best[i])] for i in chosen])
        pool = blend_with_head(classifier, classes, vectors, head_probabilities,
                               config.adapt_blend)
        neighbourhood = PoolNeighbourhood.of(vectors, pool, config.adapt_neighbours)
        return cls(classifier, tuple(classes), neighbourhood, config, pool_digest(texts))

    @property
    def tag(self) -> str:
        """``adapted-<digest of the texts>-<settings>`` for the model version."""
        return f"adapted-{self.digest}-{self.config.tag}"

    def probabilities(self, vectors: np.ndarray, head_probabilities: np.ndarray) -> np.ndarray:
        """Adapted probabilities of texts (embeddings, head probabilities), columns as
        ``classes``."""
        own = blend_with_head(self.classifier, self.classes, vectors, head_probabilities,
                              self.config.adapt_blend)
        return self.neighbourhood.smooth(vectors, own, self.config.neighbour_weight)


class HeadReading(NamedTuple):
    """The shipped head's probabilities of some texts, in a taught model's columns
    (:func:`aligned_head`), and the head's digest."""

    probabilities: np.ndarray
    digest: str


def aligned_head(head_probabilities: np.ndarray, head_classes: Sequence[str],
                 classes: Sequence[str]) -> np.ndarray:
    """The head's probabilities in the columns of ``classes`` (a taught model's labels),
    each row renormalised over them: a label the model was not taught drops out.

    >>> import numpy as np
    >>> aligned_head(np.array([[0.2, 0.3, 0.5]]), ("negative", "neutral", "positive"),
    ...              ("positive", "negative")).round(3).tolist()
    [[0.714, 0.286]]
    """
    import numpy as np

    columns = [list(head_classes).index(label) for label in classes]
    picked = head_probabilities[:, columns].astype(np.float64)
    return picked / np.clip(picked.sum(axis=1, keepdims=True), 1e-12, None)


@dataclass(frozen=True)
class TaughtAdaptation:
    """Step 4 for a taught model: a text's probabilities are averaged (weight
    ``neighbour_weight``) with the taught model's probabilities of its
    ``adapt_neighbours`` most similar texts of the pool. Nothing is learnt from
    pseudo-labels: the examples beat them.

    On the bundled embedding model the shipped head is read beside the taught model: each
    text's probabilities, its own and its pool neighbours', are ``1 - head_weight`` times
    the taught model's plus ``head_weight`` times the head's (``head``: the head's digest,
    empty when it is not read)."""

    neighbourhood: PoolNeighbourhood
    config: AdaptationConfig
    digest: str
    head: str = ""

    @classmethod
    def learn(cls, texts: Sequence[str], vectors: np.ndarray, probabilities: np.ndarray,
              config: AdaptationConfig | None = None,
              head: HeadReading | None = None) -> TaughtAdaptation:
        """The pool of ``texts``: their embeddings and the taught model's probabilities
        (with the head's, when ``head`` is given and ``head_weight`` is above 0). A pool
        under 10 texts, or a ``neighbour_weight`` of 0, would change nothing: an error."""
        config = config or AdaptationConfig()
        if config.head_weight == 0:
            head = None  # nothing of it would be read
        pool = _with_head(probabilities, head, config.head_weight)
        neighbourhood = PoolNeighbourhood.of(vectors, pool, config.adapt_neighbours)
        if neighbourhood.size == 0 or config.neighbour_weight == 0:
            raise TextError(f"reading a taught model's texts with their neighbours needs a "
                            f"pool of at least 10 texts and a neighbour_weight above 0 "
                            f"(here {len(texts)} texts, weight {config.neighbour_weight:g})")
        return cls(neighbourhood, config, pool_digest(texts),
                   head.digest if head is not None else "")

    @property
    def tag(self) -> str:
        """``near-<digest of the texts>-<neighbours>-<weight>`` for the model version,
        then ``-head<weight>-<head digest>`` when the head is read."""
        near = f"near-{self.digest}-{self.config.adapt_neighbours}-" \
               f"{self.config.neighbour_weight:g}"
        return f"{near}-head{self.config.head_weight:g}-{self.head}" if self.head else near

    def probabilities(self, vectors: np.ndarray, own: np.ndarray,
                      head: HeadReading | None = None) -> np.ndarray:
        """The taught probabilities ``own`` of texts (embeddings ``vectors``), with the
        head's ``head`` when the pool was read with it, read with their neighbours'."""
        if self.head:
            if head is None:
                raise TextError("this taught model reads the shipped head beside itself; "
                                "give the head's probabilities of the texts")
            own = _with_head(own, head, self.config.head_weight)
        return self.neighbourhood.smooth(vectors, own, self.config.neighbour_weight)


def _with_head(own: np.ndarray, head: HeadReading | None, weight: float) -> np.ndarray:
    """``1 - weight`` times ``own`` plus ``weight`` times the head's (``own`` without it)."""
    if head is None or weight == 0:
        return own
    return (1.0 - weight) * own + weight * head.probabilities
