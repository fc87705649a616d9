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
