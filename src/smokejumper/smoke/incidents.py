"""One incident, one segment: which of the overlapping segments explains a shift best.

An incident shows through many segments at once: a drop in the app also shows in
``touchpoint=app × channel=self_service``, in ``segment=consumer``, in every region. The
scan's strongest finding is rarely the segment a person should act on, so
:func:`refine` moves it, using only the panel's sums (a segment minus one of its
sub-segments is a subtraction of their statistics):

* *generalise*: from a pair to one of its parents when the rest of the parent (the parent
  without the pair) shows the same drop: the pair is only part of the incident;
* *specialise*: from a single segment to one of its pairs when the drop is concentrated
  there: the pair's change is credibly larger than the rest's, and the rest shows no
  drop that matters.

Each comparison is a two-sample z on the window against the periods before it, with the
score variance of the series (see :mod:`.detect`), so small segments need clear evidence
to move an alert.

>>> import numpy as np
>>> n = np.full((3, 12), 400.0)
>>> drop = np.where(np.arange(12) >= 8, -20.0, 0.0)           # 20 points from period 8
>>> means = np.array([drop / 2, drop, np.zeros(12)])           # parent, pair, rest of it
>>> n[0] = 800.0
>>> total, squares = means * n, (80.0 ** 2 + means ** 2) * n
>>> view = MetricView([{"channel": "phone"}, {"channel": "phone", "region": "North"},
...                    {"channel": "phone", "region": "South"}], n, total, squares)
>>> view.segments[refine(view, 0, 8, 12, sign=1.0, min_effect=3.0)]
{'channel': 'phone', 'region': 'North'}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

#: a rest (parent without the segment) whose drop reaches this z spreads the incident
SPREAD_Z = 2.0
#: effects credibly different at this z make a segment special (concentration)
DIFFERENT_Z = 2.5
#: a rest below this z (or below the smallest material effect) shows no drop of its own
QUIET_Z = 3.0


def _key(segment: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(segment.items())


@dataclass(frozen=True)
class Change:
    """A window's mean score against the periods before it."""

    effect: float  # mean in the window minus mean before (metric units)
    variance: float  # of ``effect``
    n: float  # responses in the window

    def z(self, sign: float) -> float:
        """Standardised drop (positive: worse) for a metric where higher is ``sign``."""
        return -sign * self.effect / self.variance ** 0.5 if self.variance > 0 else 0.0

    def drop(self, sign: float) -> float:
        return -sign * self.effect


def change(n: np.ndarray, total: np.ndarray, squares: np.ndarray, start: int,
           end: int) -> Change:
    """The change of one series in ``[start, end)`` against the periods before ``start``.

    >>> n = np.array([100.0, 100.0, 100.0]); total = np.array([1000.0, 1000.0, 0.0])
    >>> c = change(n, total, total * 10.0 + 100.0, 2, 3)
    >>> c.effect, c.n
    (-10.0, 100.0)
    """
    n_in, n_before = float(n[start:end].sum()), float(n[:start].sum())
    count = float(n.sum())
    if n_in < 1 or n_before < 1:
        return Change(0.0, 0.0, n_in)
    mean = float(total.sum()) / count
    variance = max(float(squares.sum()) / count - mean * mean, 0.0)
    effect = float(total[start:end].sum()) / n_in - float(total[:start].sum()) / n_before
    return Change(effect, variance * (1 / n_in + 1 / n_before), n_in)


@dataclass
class MetricView:
    """One metric's panel: segments × periods counts, sums and sums of squares."""

    segments: Sequence[Mapping[str, str]]
    n: np.ndarray
    total: np.ndarray
    squares: np.ndarray
    _index: dict[frozenset[tuple[str, str]], int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {_key(s): i for i, s in enumerate(self.segments)}

    def row(self, segment: Mapping[str, str]) -> int | None:
        return self._index.get(_key(segment))

    @cached_property
    def children(self) -> dict[frozenset[tuple[str, str]], list[int]]:
        """For every single segment, the rows of the pairs inside it."""
        out: dict[frozenset[tuple[str, str]], list[int]] = {}
        for i, segment in enumerate(self.segments):
            if len(segment) == 2:
                for item in segment.items():
                    out.setdefault(frozenset([item]), []).append(i)
        return out

    def change(self, row: int, start: int, end: int, minus: int | None = None) -> Change:
        """The change of a row (or of a row without one of its sub-segments)."""
        n, total, squares = self.n[row], self.total[row], self.squares[row]
        if minus is not None:
            n, total = n - self.n[minus], total - self.total[minus]
            squares = squares - self.squares[minus]
        return change(n, total, squares, start, end)


def _different(a: Change, b: Change, sign: float) -> float:
    """z of ``a`` being worse than ``b``."""
    variance = a.variance + b.variance
    return (b.effect - a.effect) * sign / variance ** 0.5 if variance > 0 else 0.0


def generalise(view: MetricView, row: int, start: int, end: int, sign: float,
               min_effect: float) -> int:
    """The parent of a pair whose rest drops like the pair does, else the pair."""
    segment = view.segments[row]
    if len(segment) != 2:
        return row
    best: tuple[float, int] | None = None
    for dimension in segment:
        parent = view.row({k: v for k, v in segment.items() if k != dimension})
        if parent is None:
            continue
        z = spreads(view, parent, row, start, end, sign, min_effect)
        if z is not None and (best is None or z > best[0]):
            best = (z, parent)
    return row if best is None else best[1]


def spreads(view: MetricView, parent: int, row: int, start: int, end: int, sign: float,
            min_effect: float) -> float | None:
    """The z of the drop in the rest of ``parent`` (without ``row``, a segment inside it)
    when that rest drops as the segment does, else None: the incident is wider."""
    inner = view.change(row, start, end)
    rest = view.change(parent, start, end, minus=row)
    if (rest.z(sign) >= SPREAD_Z
            and rest.drop(sign) >= max(min_effect, 0.5 * inner.drop(sign))
            and _different(inner, rest, sign) < DIFFERENT_Z):
        return rest.z(sign)
    return None


def specialise(view: MetricView, row: int, start: int, end: int, sign: float,
               min_effect: float) -> int:
    """The pair inside a single segment where its drop is concentrated, else the single."""
    segment = view.segments[row]
    if len(segment) != 1:
        return row
    best: tuple[float, int] | None = None
    for child in view.children.get(_key(segment), []):
        inner = view.change(child, start, end)
        if inner.drop(sign) < min_effect:
            continue
        rest = view.change(row, start, end, minus=child)
        concentrated = (_different(inner, rest, sign) >= DIFFERENT_Z
                        and (rest.z(sign) < QUIET_Z or rest.drop(sign) < min_effect
                             or rest.drop(sign) < 0.25 * inner.drop(sign)))
        score = _different(inner, rest, sign)
        if concentrated and (best is None or score > best[0]):
            best = (score, child)
    return row if best is None else best[1]


def refine(view: MetricView, row: int, start: int, end: int, *, sign: float,
           min_effect: float) -> int:
    """The row of the segment that explains the shift of ``row`` in ``[start, end)``."""
    seen = {row}
    for _ in range(4):
        moved = specialise(view, generalise(view, row, start, end, sign, min_effect),
                           start, end, sign, min_effect)
        if moved in seen:
            return moved
        seen.add(moved)
        row = moved
    return row
