"""Theme impact on NPS: what each theme customers mention is worth in NPS points.

:func:`theme_impact` takes one row per response: the NPS score (0-10) and one 0/1 column per
theme (1: the response mentions it). Per theme it gives two measures:

* **impact** (the one CX teams know): NPS of all responses minus NPS of the responses that do
  not mention the theme, in points. It equals ``share × (nps_with − nps_without)``: what
  overall NPS would gain (+) or lose (−) if the theme's responses were like the rest. Its
  interval is the delta method on the means of the promoter − detractor score ``s`` (+100,
  0, −100), ``s·(1−t)`` and ``1−t`` (or a bootstrap of responses when ``bootstrap`` > 0).
* **adjusted**: from linear probability models of the promoter and the detractor indicator
  on all theme indicators together, ``100 × (β_promoter − β_detractor)``: the NPS points by
  which a response mentioning the theme differs from one that does not, the other themes
  held fixed, so themes that occur together are not counted twice. Because both models share
  their regressors, this equals the coefficient of a regression of ``s`` on the themes, and
  its HC1 (heteroskedasticity-robust) interval comes from that regression's sandwich.
  ``share × adjusted`` is its counterpart of ``impact`` on overall NPS.

>>> import pandas as pd
>>> df = pd.DataFrame({"nps": [10, 9, 0, 3, 10, 10], "price": [0, 0, 1, 1, 0, 1]})
>>> row = theme_impact(df, themes=["price"]).iloc[0]
>>> float(row.nps_without), round(float(row.impact), 2)
(100.0, -66.67)
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from smokejumper.errors import DriverError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from smokejumper.workspace import Workspace

COLUMNS = ["theme", "mentions", "share", "nps_with", "nps_without", "impact", "impact_low",
           "impact_high", "adjusted", "adjusted_low", "adjusted_high"]


def nps_points(score: np.ndarray) -> np.ndarray:
    """+100 for a promoter (9-10), −100 for a detractor (0-6), 0 for a passive (7-8)."""
    return np.where(score >= 9, 100.0, np.where(score <= 6, -100.0, 0.0))


def _delta_interval(s: np.ndarray, t: np.ndarray, z: float) -> tuple[float, float, float]:
    """impact = mean(s) − mean(s·u)/mean(u) with u = 1 − t, and its delta-method interval."""
    u = 1.0 - t
    n = len(s)
    means = np.array([s.mean(), (s * u).mean(), u.mean()])
    if means[2] == 0:
        return float("nan"), float("nan"), float("nan")
    impact = means[0] - means[1] / means[2]
    gradient = np.array([1.0, -1.0 / means[2], means[1] / means[2] ** 2])
    covariance = np.cov(np.vstack([s, s * u, u]), ddof=1) / n
    se = float(np.sqrt(max(gradient @ covariance @ gradient, 0.0)))
    return float(impact), float(impact - z * se), float(impact + z * se)


def _hc1(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients and their HC1 standard errors."""
    n, k = x.shape
    gram = np.linalg.pinv(x.T @ x)
    beta = gram @ (x.T @ y)
    residual = y - x @ beta
    meat = (x * (residual ** 2)[:, None]).T @ x
    covariance = gram @ meat @ gram * (n / max(n - k, 1))
    return beta, np.sqrt(np.clip(np.diag(covariance), 0.0, None))


def theme_impact(df: pd.DataFrame, outcome: str = "nps", themes: Sequence[str] | None = None,
                 *, confidence: float = 0.95, bootstrap: int = 0, seed: int = 0
                 ) -> pd.DataFrame:
    """Per theme: mentions, share, NPS with / without, impact and adjusted impact with
    intervals (see the module docstring). Rows with no ``outcome`` score are left out;
    ``themes=None`` takes every column but the outcome. Most negative impact first."""
    if outcome not in df.columns:
        raise DriverError(f"no {outcome!r} column in the theme table")
    names = [c for c in df.columns if c != outcome] if themes is None else list(themes)
    missing = [t for t in names if t not in df.columns]
    if missing:
        raise DriverError("unknown theme column(s): " + ", ".join(map(repr, missing)))
    if not names:
        raise DriverError("no theme columns to measure")
    if not 0 < confidence < 1:
        raise DriverError("confidence must be between 0 and 1")
    scored = df[df[outcome].notna()]
    if scored.empty:
        raise DriverError(f"no responses with a {outcome} score")
    score = scored[outcome].to_numpy(dtype=float)
    if score.min() < 0 or score.max() > 10:
        raise DriverError(f"{outcome} must be an NPS score from 0 to 10")
    s = nps_points(score)
    t = scored[names].fillna(0).to_numpy(dtype=float)
    if not np.isin(t, (0.0, 1.0)).all():
        raise DriverError("theme columns must hold 0/1 (or true/false) only")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    n = len(s)

    # regression-adjusted: s on [1, themes that vary]
    varies = [j for j in range(len(names)) if 0 < t[:, j].sum() < n]
    adjusted = np.full((len(names), 3), np.nan)
    if varies:
        x = np.column_stack([np.ones(n), t[:, varies]])
        beta, se = _hc1(x, s)
        for position, j in enumerate(varies, start=1):
            adjusted[j] = (beta[position], beta[position] - z * se[position],
                           beta[position] + z * se[position])

    draws = None
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        draws = np.empty((bootstrap, len(names)))
        for b in range(bootstrap):
            w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
            without = (1.0 - t) * w[:, None]
            kept = without.sum(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                draws[b] = (w @ s) / w.sum() - (s @ without) / kept

    rows = []
    for j, name in enumerate(names):
        mentions = int(t[:, j].sum())
        with_theme = s[t[:, j] == 1]
        without_theme = s[t[:, j] == 0]
        impact, low, high = _delta_interval(s, t[:, j], z)
        if draws is not None:
            column = draws[:, j][np.isfinite(draws[:, j])]
            if len(column):
                low, high = (float(v) for v in np.quantile(
                    column, [(1 - confidence) / 2, (1 + confidence) / 2]))
        rows.append({
            "theme": name, "mentions": mentions, "share": mentions / n,
            "nps_with": float(with_theme.mean()) if mentions else float("nan"),
            "nps_without": float(without_theme.mean()) if len(without_theme) else float("nan"),
            "impact": impact, "impact_low": low, "impact_high": high,
            "adjusted": adjusted[j, 0], "adjusted_low": adjusted[j, 1],
            "adjusted_high": adjusted[j, 2],
        })
    out = pd.DataFrame(rows, columns=COLUMNS).sort_values(
        ["impact", "theme"], kind="stable", na_position="last").reset_index(drop=True)
    out.attrs.update(responses=n, nps=float(s.mean()), confidence=confidence,
                     interval="bootstrap" if bootstrap > 0 else "delta",
                     bootstrap=bootstrap, adjusted_interval="HC1")
    return out


THEMES_TABLE = "enrichment_themes"
#: a mention's sentiment below −SENTIMENT_SPLIT is negative, above it positive
SENTIMENT_SPLIT = 0.25


def workspace_theme_table(ws: Workspace, *, by_sentiment: bool = False,
                          commented_only: bool = False) -> pd.DataFrame:
    """One row per scored response: ``nps`` and a 0/1 column per theme mentioned in it
    (from ``enrichment_themes``), pivoted by the engine. ``by_sentiment`` splits each theme
    into ``theme (negative|neutral|positive)`` by the mention's sentiment; ``commented_only``
    keeps the responses with a comment."""
    import ibis

    backend = ws.analytics.backend
    if THEMES_TABLE not in backend.list_tables():
        raise DriverError("no themes yet: run `smokejumper enrich` first to find the themes "
                          "customers mention")
    mentions = backend.table(THEMES_TABLE)
    mentions = mentions.filter(mentions.source_table == "responses",
                               mentions.theme.notnull())
    mentions = _latest_only(backend, mentions)
    if by_sentiment:
        label = ibis.cases(
            (mentions.sentiment < -SENTIMENT_SPLIT, " (negative)"),
            (mentions.sentiment > SENTIMENT_SPLIT, " (positive)"),
            else_=" (neutral)")
        mentions = mentions.mutate(theme=mentions.theme + label)
    names = sorted(mentions.select("theme").distinct().to_pandas()["theme"].astype(str))
    if not names:
        raise DriverError("the enrichment_themes table has no themes for responses: run "
                          "`smokejumper enrich` first")
    per_response = mentions.group_by("text_id").aggregate(**{
        f"_t{k}": (mentions.theme == name).cast("int64").max()
        for k, name in enumerate(names)})
    responses = ws.table("responses")
    scored = responses.filter(responses.nps.notnull())
    if commented_only:
        scored = scored.filter(scored.comment.notnull() & (scored.comment.strip() != ""))
    joined = scored.left_join(per_response, scored.response_id == per_response.text_id)
    expr = joined.select(nps=joined.nps.cast("float64"), **{
        name: joined[f"_t{k}"].coalesce(0) for k, name in enumerate(names)})
    with ws.reporter.progress("fetching responses with their themes"):
        frame = expr.to_pandas()
    if frame.empty:
        raise DriverError("no responses with an NPS score")
    return frame


def _latest_only(backend: object, mentions: ir.Table) -> ir.Table:
    """Keep the themes of each text's latest enrichment (``enrichments``: newest
    ``enriched_at``) when that table is there and filled; otherwise every theme row."""
    from smokejumper.metrics.text import latest_enrichments

    keys = ["text_id", "text_hash", "model_version"]
    if ("enrichments" not in backend.list_tables()  # type: ignore[attr-defined]
            or not set(keys) <= set(mentions.columns)):
        return mentions
    enrichments = backend.table("enrichments")  # type: ignore[attr-defined]
    mine = enrichments.filter(enrichments.source_table == "responses")
    if int(mine.count().execute()) == 0:
        return mentions
    return mentions.semi_join(latest_enrichments(enrichments, "responses", ()), keys)
