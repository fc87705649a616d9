"""Find the source: the smallest set of segments that explains a change in a KPI.

``explain_change`` takes one row per leaf (one value per dimension) with its actual and
expected value, and for a ratio KPI (NPS, a rate) its actual and expected denominator,
and returns each cause with its share of the change; ``localize`` returns just the
segments, as ``{dimension: value}`` dicts (dimensions left out are wildcards).

The method (the steps live in the private modules named):

1. *What a leaf says* (``_leaves``): its residual against what it would be without a
   cause, and its exposure: for an additive KPI the expected value (a cause changes its
   leaves in proportion, the ripple effect of Squeeze), for a ratio KPI the actual
   denominator (a cause shifts its leaves' rate; volumes moving alone are the mix).
2. *How noisy it is, from the data itself* (``_noise``): a variance function of leaf
   size fitted to robust per-bin scales of the residuals, floored at the data's
   resolution and, for counted data, at the Poisson or binomial variance; the weight of
   the noise's tails is fitted too.
3. *Evidence for a segment* (``_search``): the gain in Student-t log-likelihood when the
   segment's leaves share one effect, minus the description length of naming the
   segment (minimum description length, BIC for the effect).
4. *Search* over every cuboid up to ``max_layer`` dimensions (``_cuboids``): greedily take
   the segment with the most net evidence, remove its leaves, repeat while one pays for
   itself; then replace a cause by some of its children where they describe its leaves
   better (a parent of several causes can win the greedy step).
5. *Two passes* (``_locate``): the first sets the clear causes apart; the noise is then
   re-fitted on the other leaves, the drift of ordinary segments is measured, and the
   search runs again counting effects within three drift deviations as no change.

Unlike Adtributor (one dimension at a time) or HotSpot and Squeeze (thresholds on
deviation and potential scores), nothing here is a tuned threshold: noise, tails and
drift are measured on each table, and a cause is accepted when its evidence exceeds its
description length. Unlike RiskLoc's partition of leaves into normal and abnormal, a
leaf's weight follows from its own noise, so small noisy leaves count for little and
large ones for much, for counts and for rates alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from smokejumper.errors import LocalizeError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from numpy.typing import NDArray

    from smokejumper.smoke._leaves import LeafTable


@dataclass(frozen=True)
class LocalizeConfig:
    """How the search runs. The defaults need no tuning; none is fitted to a dataset.

    ``max_layer``: the most dimensions one cause may fix (None: all, up to 4).
    ``max_causes``: stop after this many causes.
    ``tail``: degrees of freedom of the Student-t leaf noise (small: heavy tails);
    None fits it to the leaves outside the causes (the first pass uses 3).
    ``drift_sigmas``: effects within this many standard deviations of the ordinary
    segment drift count as no change.
    ``drift_sigmas``: effects within this many standard deviations of the ordinary
    segment drift count as no change.
    """

    max_layer: int | None = None
    max_causes: int = 10
    tail: float | None = None
    drift_sigmas: float = 3.0

    def __post_init__(self) -> None:
        if self.max_layer is not None and self.max_layer < 1:
            raise LocalizeError("max_layer must be at least 1")
        if self.max_causes < 1:
            raise LocalizeError("max_causes must be at least 1")
        if self.tail is not None and self.tail <= 0:
            raise LocalizeError("tail (degrees of freedom) must be positive")
        if self.drift_sigmas < 0:
            raise LocalizeError("drift_sigmas must not be negative")


@dataclass(frozen=True)
class RootCause:
    """One segment that explains part of the change.

    ``segment``: ``{dimension: value}``, dimensions left out are wildcards (``{}`` is
    everything at once). ``change``: this segment's part of the KPI change, in KPI units;
    ``share``: that part as a fraction of the whole change (None if the KPI did not move;
    shares of overlapping causes overlap; changes elsewhere, noise or drift in the other
    direction, can make a share exceed 1 or be negative). ``effect``: the common change of
    its leaves: relative (-0.4 is a 40 % drop) for an additive KPI, a shift of the rate
    for a ratio KPI. ``actual``/``expected``: the segment's KPI (a sum, or a rate).
    ``leaves``: leaves in the segment with any value; ``evidence``: net log-likelihood
    gain over the description length, in nats.
    """

    segment: dict[str, str]
    change: float
    share: float | None
    effect: float
    actual: float
    expected: float
    actual_denominator: float | None
    expected_denominator: float | None
    leaves: int
    evidence: float


@dataclass(frozen=True)
class ChangeExplanation:
    """A KPI's change, the causes found (largest part of the change first), and context.

    ``explained_share``: the causes' leaves' part of the change (each leaf counted once).
    ``mix_share``: ratio KPIs, the part due to volumes moving between leaves at their
    expected rates; it is not attributed to a cause. ``noise``: the fitted variance
    function of a leaf (``constant``, ``linear``, ``quadratic`` in its size) and the
    degrees of freedom of its tails (``tail``); ``drift``: the standard deviation of the
    ordinary segment drift, in effect units (effects within three of it are no change).
    """

    kind: Literal["additive", "ratio"]
    actual: float
    expected: float
    change: float
    causes: tuple[RootCause, ...]
    explained_share: float | None
    mix_share: float | None
    noise: dict[str, float] = field(default_factory=dict)
    drift: float = 0.0

    def segments(self) -> list[dict[str, str]]:
        """The causes as ``{dimension: value}`` dicts, in rank order."""
        return [dict(cause.segment) for cause in self.causes]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return asdict(self)


def explain_change(leaves: pd.DataFrame, dimensions: list[str], *, actual: str = "actual",
                   expected: str = "expected", actual_denominator: str | None = None,
                   expected_denominator: str | None = None,
                   config: LocalizeConfig | None = None) -> ChangeExplanation:
    """The causes of a change in a KPI, each with its share of the change.

    Arguments as for :func:`localize`. Raises :class:`~smokejumper.errors.LocalizeError`
    for a table it cannot use (missing columns, repeated leaves, non-numeric values...).

    >>> import pandas as pd
    >>> leaves = pd.DataFrame({
    ...     "touchpoint": ["web"] * 4 + ["app"] * 4 + ["store"] * 4,
    ...     "region": ["north", "south", "east", "west"] * 3,
    ...     "responses": [400, 380, 300, 320] * 3,
    ...     "expected_responses": [400, 380, 300, 320] * 3,
    ...     "net_promoters": [121, 113, 89, 97, 79, 77, 61, 63, 119, 115, 91, 95],
    ...     "expected_net_promoters": [120, 114, 90, 96] * 3,
    ... })
    >>> result = explain_change(leaves, ["touchpoint", "region"], actual="net_promoters",
    ...                         expected="expected_net_promoters",
    ...                         actual_denominator="responses",
    ...                         expected_denominator="expected_responses")
    >>> result.segments()
    [{'touchpoint': 'app'}]
    >>> cause = result.causes[0]
    >>> round(cause.expected, 2), round(cause.actual, 2), round(cause.share, 2)
    (0.3, 0.2, 1.0)
    """
    import numpy as np

    from smokejumper.smoke._leaves import read_leaves
    from smokejumper.smoke._locate import locate

    config = config or LocalizeConfig()
    table = read_leaves(leaves, dimensions, actual=actual, expected=expected,
                        actual_denominator=actual_denominator,
                        expected_denominator=expected_denominator)
    kind: Literal["additive", "ratio"] = "ratio" if table.is_ratio else "additive"
    if table.size == 0:
        return ChangeExplanation(kind, 0.0, 0.0, 0.0, (), None, None)
    found, noise, drift = locate(table, config)
    contribution = table.contribution()
    change = table.actual_kpi() - table.expected_kpi()
    covered = np.zeros(table.size, dtype=bool)
    causes = []
    for cause_leaves, segment_key, effect, evidence in found:
        covered |= cause_leaves
        causes.append(_describe(table, cause_leaves, segment_key, effect, evidence,
                                contribution, change))
    causes.sort(key=lambda c: (-abs(c.change), -c.evidence))
    return ChangeExplanation(
        kind=kind, actual=table.actual_kpi(), expected=table.expected_kpi(), change=change,
        causes=tuple(causes),
        explained_share=_share(float(contribution[covered].sum()), change),
        mix_share=_share(float(table.mix_contribution().sum()), change),
        noise=noise, drift=drift)


def localize(leaves: pd.DataFrame, dimensions: list[str], *, actual: str = "actual",
             expected: str = "expected", actual_denominator: str | None = None,
             expected_denominator: str | None = None,
             config: LocalizeConfig | None = None) -> list[dict[str, str]]:
    """The root-cause set of a change: a ranked list of ``{dimension: value}`` dicts.

    ``leaves`` has one row per leaf (one value per dimension) with its observed
    (``actual``) and expected (``expected``) value. For a ratio KPI, also give the
    observed and expected denominators: the KPI is then
    ``sum(actual) / sum(actual_denominator)``. Each returned dict is one cause;
    dimensions it leaves out are wildcards. Largest part of the change first.

    >>> import pandas as pd
    >>> leaves = pd.DataFrame({
    ...     "region": ["north"] * 3 + ["south"] * 3 + ["east"] * 3,
    ...     "channel": ["web", "app", "phone"] * 3,
    ...     "expected": [100.0, 120.0, 90.0, 100.0, 120.0, 90.0, 100.0, 120.0, 90.0],
    ...     "actual": [61.0, 71.0, 55.0, 101.0, 119.0, 91.0, 99.0, 121.0, 90.0],
    ... })
    >>> localize(leaves, ["region", "channel"])
    [{'region': 'north'}]
    """
    return explain_change(leaves, dimensions, actual=actual, expected=expected,
                          actual_denominator=actual_denominator,
                          expected_denominator=expected_denominator,
                          config=config).segments()


def _describe(table: LeafTable, leaves: NDArray[np.bool_], segment: dict[str, str],
              effect: float, evidence: float, contribution: NDArray[np.float64],
              change: float) -> RootCause:
    """A found cause with its segment's values and its part of the change."""
    part = float(contribution[leaves].sum())
    actual, expected = float(table.actual[leaves].sum()), float(table.expected[leaves].sum())
    actual_den = expected_den = None
    if table.actual_denominator is not None and table.expected_denominator is not None:
        actual_den = float(table.actual_denominator[leaves].sum())
        expected_den = float(table.expected_denominator[leaves].sum())
        actual = actual / actual_den if actual_den else float("nan")  # no volume, no rate
        expected = expected / expected_den if expected_den else float("nan")
    present = (table.actual[leaves] != 0) | (table.expected[leaves] != 0)
    return RootCause(segment=segment, change=part, share=_share(part, change),
                     effect=effect, actual=actual, expected=expected,
                     actual_denominator=actual_den, expected_denominator=expected_den,
                     leaves=int(present.sum()), evidence=evidence)


def _share(part: float, whole: float) -> float | None:
    """``part / whole``; None when nothing changed (no share of nothing)."""
    return part / whole if whole != 0 else None
