"""Alert findings: what a scan hands on (plain frozen dataclasses; nothing is written here).

An :class:`Alert` is one incident: the segment that explains it best, when it started,
the metric before and after with intervals, how many responses and customers stand
behind it, the revenue at risk, a severity that combines credibility (the false-discovery
adjusted p-value) and materiality (shift × responses affected), and its root causes.

>>> alert = Alert(metric="nps", segment={"touchpoint": "app"}, start=date(2025, 3, 3),
...               end=None, before=Estimate(30.0, 28.0, 32.0, 2000),
...               after=Estimate(8.0, 2.0, 14.0, 400), n=400, customers_affected=380,
...               revenue_at_risk=None, severity="high", z=6.1, p_value=1e-9, q_value=1e-7)
>>> alert.fingerprint
'nps|touchpoint=app|2025-03-03'
>>> list(alert.summary())[:5]
['metric', 'segment', 'start', 'before', 'after']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Literal

Severity = Literal["low", "medium", "high", "critical"]
#: how the smoke shows: a level shift that persists, a spike in the share of a contact
#: reason or theme, or a slow decline (a trend over the last periods)
Pattern = Literal["shift", "spike", "decline"]
#: severities, least first
SEVERITIES: tuple[Severity, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True)
class Estimate:
    """A metric's value over some periods, with its 95% interval and n."""

    value: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Alert:
    """One incident found by a scan (see the module docstring).

    ``start``/``end``: first period of the shift and the period after its last one
    (None: still going at the last period scanned). ``effect``: ``after - before``.
    ``root_cause``: ``{"segment": {...}, "share": float}`` dicts, largest share first.
    ``related``: other segments (and metrics) that showed the same incident.
    ``pattern``: ``shift``, ``spike`` or ``decline`` (see :data:`Pattern`).
    """

    metric: str
    segment: dict[str, str]
    start: date
    end: date | None
    before: Estimate
    after: Estimate
    n: int
    customers_affected: int
    revenue_at_risk: float | None
    severity: Severity
    z: float
    p_value: float
    q_value: float
    root_cause: tuple[dict[str, Any], ...] = ()
    related: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    pattern: Pattern = "shift"

    @property
    def effect(self) -> float:
        return self.after.value - self.before.value

    @property
    def fingerprint(self) -> str:
        """Stable identity: metric, segment and start (a rescan finds the same alert)."""
        return fingerprint(self.metric, self.segment, self.start)

    def summary(self) -> dict[str, Any]:
        """The public JSON shape: ``metric, segment, start, before, after, low, high, n,
        customers_affected, severity, root_cause`` (``low``/``high``: after's interval)."""
        return {"metric": self.metric, "segment": dict(self.segment),
                "start": self.start.isoformat(), "before": _finite(self.before.value),
                "after": _finite(self.after.value), "low": _finite(self.after.low),
                "high": _finite(self.after.high), "n": int(self.n),
                "customers_affected": int(self.customers_affected),
                "severity": self.severity,
                "root_cause": [{"segment": dict(c["segment"]), "share": _finite(c["share"])}
                               for c in self.root_cause],
                "pattern": self.pattern, "end": self.end.isoformat() if self.end else None,
                "revenue_at_risk": _finite(self.revenue_at_risk)}

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (dates as ISO text)."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat() if self.end else None
        data["effect"] = self.effect
        data["fingerprint"] = self.fingerprint
        return _clean(data)


def fingerprint(metric: str, segment: Mapping[str, str], start: date | str) -> str:
    """``metric|dim=value,dim=value|YYYY-MM-DD`` with dimensions sorted."""
    where = ",".join(f"{k}={segment[k]}" for k in sorted(segment))
    when = start if isinstance(start, str) else start.isoformat()
    return f"{metric}|{where}|{when}"


def severity_of(q_value: float, impact: float, fdr: float) -> Severity | None:
    """Severity from credibility (q-value) and materiality (``|shift| × n / 100``: the
    responses whose answer the shift turned, e.g. promoters lost); None: not an alert.

    >>> severity_of(1e-12, 600.0, 0.01), severity_of(1e-5, 40.0, 0.01)
    ('critical', 'medium')
    >>> severity_of(0.2, 600.0, 0.01) is None
    True
    """
    if not q_value < fdr:
        return None
    credibility = 1 + (q_value < 1e-4) + (q_value < 1e-8)
    materiality = (impact >= 5) + (impact >= 25) + (impact >= 100)
    level = min(credibility, materiality)
    if level == 0:
        return None
    if level == 3 and impact >= 400:
        return "critical"
    return SEVERITIES[level - 1]


def compatible(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    """Whether two segments can share customers (no dimension with different values).

    >>> compatible({"region": "North"}, {"touchpoint": "app"}), compatible(
    ...     {"region": "North"}, {"region": "South", "touchpoint": "app"})
    (True, False)
    """
    return all(b[k] == v for k, v in a.items() if k in b)


def contains(outer: Mapping[str, str], inner: Mapping[str, str]) -> bool:
    """Whether every customer of ``inner`` is in ``outer``."""
    return all(inner.get(k) == v for k, v in outer.items())


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return _finite(value)
