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
   its ``adapt_neighbours`` most similar texts of the pool (cosine of the embeddings): a
   comment reads like the comments nearest to it.

The pool's unit vectors and adapted probabilities are kept (about 1.6 kB per text).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from smokejumper.errors import TextError

if TYPE_CHECKING:
    import numpy as np

#: rows of the texts-by-pool similarity matrix computed at once (bounds its memory)
SIMILARITY_ROWS = 256


@dataclass(frozen=True)
class AdaptationConfig:
    """How :class:`SentimentAdaptation` learns; the defaults were chosen on two SemEval
    cross-domain pairs and CrowdFlower tweets not about airlines (docs/text.md)."""

    adapt_share: float = 0.1
    adapt_blend: float = 0.5
    adapt_neighbours: int = 20
    neighbour_weight: float = 0.5

    def __post_init__(self) -> None:
        for name in ("adapt_share", "adapt_blend", "neighbour_weight"):
            value = getattr(self, name)
            if not 0 <= value <= 1 or (name == "adapt_share" and value == 0):
                raise TextError(f"{name} must be in {'(0' if name == 'adapt_share' else '[0'}"
                                f", 1], not {value}")
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


def surest_per_label(probabilities: np.ndarray, share: float) -> list[int]:
    """Per most-probable label, the rows with the widest margin between the two most
    probable labels: ``share`` of that label's rows, at least 5 (or all it has).

    >>> import numpy as np
    >>> p = np.array([[.9, .1], [.6, .4], [.2, .8], [.45, .55]])
    >>> surest_per_label(p, 0.5)
    [0, 1, 2, 3]
    """
    import numpy as np

    best = probabilities.argmax(axis=1)
    ordered = np.sort(probabilities, axis=1)
    margin = ordered[:, -1] - ordered[:, -2]
    chosen: list[int] = []
    for column in range(probabilities.shape[1]):
        members = np.flatnonzero(best == column)
        keep = max(min(5, len(members)), int(len(members) * share))
        chosen.extend(int(i) for i in members[np.argsort(-margin[members], kind="stable")][:keep])
    return chosen


@dataclass(frozen=True)
class SentimentAdaptation:
    """What was learnt from one pool of unlabelled texts (see the module docstring)."""

    classifier: Any
    classes: tuple[str, ...]
    pool_vectors: np.ndarray
    pool_probabilities: np.ndarray
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
        digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
        partial = cls(classifier, tuple(classes), unit_rows(vectors), head_probabilities,
                      config, digest)
        pool = partial.blended(vectors, head_probabilities)
        return cls(classifier, tuple(classes), partial.pool_vectors, pool, config, digest)

    @property
    def tag(self) -> str:
        """``adapted-<digest of the texts>-<settings>`` for the model version."""
        return f"adapted-{self.digest}-{self.config.tag}"

    def blended(self, vectors: np.ndarray, head_probabilities: np.ndarray) -> np.ndarray:
        """Steps 2 and 3: the regression's probabilities blended with the head's."""
        import numpy as np

        learnt = self.classifier.predict_proba(vectors)
        known = [str(c) for c in self.classifier.classes_]
        aligned = np.zeros_like(head_probabilities)
        for column, label in enumerate(self.classes):
            if label in known:
                aligned[:, column] = learnt[:, known.index(label)]
        blend = self.config.adapt_blend
        return blend * aligned + (1.0 - blend) * head_probabilities

    def neighbourhood(self, vectors: np.ndarray) -> np.ndarray:
        """Step 4's other half: per row, the mean adapted probabilities of its most
        similar pool texts."""
        import numpy as np

        units = unit_rows(vectors)
        k = min(self.config.adapt_neighbours, len(self.pool_vectors))
        out = np.empty((len(units), self.pool_probabilities.shape[1]), dtype=np.float64)
        for start in range(0, len(units), SIMILARITY_ROWS):
            similarity = units[start:start + SIMILARITY_ROWS] @ self.pool_vectors.T
            nearest = (np.argpartition(-similarity, k - 1, axis=1)[:, :k]
                       if k < similarity.shape[1] else
                       np.broadcast_to(np.arange(similarity.shape[1]), similarity.shape))
            out[start:start + SIMILARITY_ROWS] = self.pool_probabilities[nearest].mean(axis=1)
        return out

    def probabilities(self, vectors: np.ndarray, head_probabilities: np.ndarray) -> np.ndarray:
        """Adapted probabilities of texts (embeddings, head probabilities), columns as
        ``classes``."""
        weight = self.config.neighbour_weight
        own = self.blended(vectors, head_probabilities)
        if weight == 0:
            return own
        return weight * self.neighbourhood(vectors) + (1.0 - weight) * own
