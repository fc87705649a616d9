"""What the models that adapt to unlabelled texts share: which of its own labels a model
trusts, the name of the pool of texts it learnt from, and adapting with a warning instead
of an error."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from smokejumper.errors import TextError

if TYPE_CHECKING:
    import numpy as np

    from smokejumper.reporter import Reporter


def surest_per_label(scores: np.ndarray, share: float) -> list[int]:
    """Per best-scoring column, the rows with the widest margin between their best and
    second-best score: ``share`` of that column's rows, at least 5 (or all it has), widest
    first.

    >>> import numpy as np
    >>> p = np.array([[.6, .4], [.9, .1], [.7, .3], [.55, .45], [.8, .2], [.65, .35],
    ...               [.51, .49], [.2, .8]])
    >>> surest_per_label(p, 0.5)
    [1, 4, 2, 5, 0, 7]
    """
    import numpy as np

    best = scores.argmax(axis=1)
    ordered = np.sort(scores, axis=1)
    margin = ordered[:, -1] - (ordered[:, -2] if scores.shape[1] > 1 else 0.0)
    chosen: list[int] = []
    for column in range(scores.shape[1]):
        members = np.flatnonzero(best == column)
        keep = max(min(5, len(members)), int(len(members) * share))
        chosen.extend(int(i) for i in members[np.argsort(-margin[members], kind="stable")][:keep])
    return chosen


def self_trained_labels(scores: np.ndarray, vectors: np.ndarray, shares: Sequence[float],
                        neighbours: int, weight: float, seed: int = 0) -> np.ndarray:
    """Each text's label after rounds of self-training on unlabelled texts.

    Round by round, per best-scoring column, the share ``shares[i]`` of the texts with the
    widest margin (:func:`surest_per_label`) teaches a multinomial logistic regression on
    ``vectors`` (balanced classes). Its probabilities for every text, averaged
    (``weight``) with the mean of those of the text's ``neighbours`` most similar texts
    (itself included; at most a tenth of the texts, none under 10 texts), are the next
    round's scores. Growing shares let what the surest texts taught label the harder
    ones. Returns the best column of the last round's scores; a round whose chosen texts
    all have one label ends the rounds there (the first one raises :class:`TextError`).

    >>> import numpy as np
    >>> vectors = np.array([[1, .1], [1, .2], [.9, 0], [.1, 1], [0, 1], [.2, .9]])
    >>> scores = np.array([[.9, .1], [.6, .4], [.4, .6], [.2, .8], [.3, .7], [.45, .55]])
    >>> self_trained_labels(scores, vectors, (0.5, 1.0), neighbours=2, weight=0.5).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    import numpy as np

    from smokejumper.text._optional import optional_import
    from smokejumper.text.sentiment_adapt import PoolNeighbourhood, unit_rows

    logistic_regression = optional_import("sklearn.linear_model").LogisticRegression
    units = unit_rows(vectors)
    current = np.asarray(scores, dtype=np.float64)
    for round_number, share in enumerate(shares):
        chosen = surest_per_label(current, share)
        best = current.argmax(axis=1)[chosen]
        if len(set(best.tolist())) < 2:
            if round_number == 0:
                raise TextError("self-training needs texts under at least two different "
                                "labels")
            break
        model = logistic_regression(max_iter=3000, class_weight="balanced",
                                    random_state=seed).fit(units[chosen], best)
        own = np.zeros_like(current)
        own[:, model.classes_] = model.predict_proba(units)
        current = PoolNeighbourhood.of(units, own, neighbours).smooth(units, own, weight)
    return current.argmax(axis=1)


def pool_digest(texts: Sequence[str]) -> str:
    """A short name for a pool of texts, whatever their order.

    >>> pool_digest(["b", "a"]) == pool_digest(["a", "b"])
    True
    """
    return hashlib.sha256("\n".join(sorted(texts)).encode()).hexdigest()[:12]


def adapt_or_warn(model: Any, texts: Sequence[str], reporter: Reporter) -> bool:
    """``model.adapt(texts)``; a model that cannot adapt to these texts (its own labels for
    them all agree, too few of them) is left as it is, with a warning. Returns whether it
    adapted."""
    try:
        model.adapt(texts)
    except TextError as error:
        reporter.warn(f"{model.name} not adapted: {error}")
        return False
    return bool(getattr(model, "is_adapted", True))
