"""``key_drivers``: what moves an outcome, as shares of its explained variance, with intervals.

The flow is one pass over the rows (:mod:`~smokejumper.drivers.covariance`), then everything on
the small correlation matrix: exact or sampled Shapley values (:mod:`.shapley`), Johnson's
relative weights (:mod:`.relative_weights`), or relaimpo's other metrics
(:mod:`.decompositions`); a yes/no outcome goes through the latent scale (:mod:`.logistic`).
The bootstrap resamples rows (or random row blocks) as weights on per-unit moments, so a
replicate costs a small weighted sum, not another pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from smokejumper.drivers import decompositions
from smokejumper.drivers.covariance import (
    FloatArray,
    IntArray,
    Missing,
    check_correlation,
    correlation,
    resampling_units,
    row_moments,
    unit_moments,
)
from smokejumper.drivers.logistic import fit_logistic, latent_correlation, one_step_coefficients
from smokejumper.drivers.relative_weights import relative_weights
from smokejumper.drivers.shapley import (
    exact_shapley,
    from_all_subsets,
    sample_orderings,
    sampled_shapley,
)
from smokejumper.errors import DriverError

METHODS = ("shapley", "relative_weights", "pmvd", "first", "last", "betasq", "pratt")
METHOD_ALIASES = {"lmg": "shapley", "dominance": "shapley", "rwa": "relative_weights"}
MODELS = ("linear", "logistic")
MISSING = ("listwise", "pairwise")
#: Methods whose importances add up to the model R².
ADDITIVE_METHODS = frozenset({"shapley", "relative_weights", "pmvd", "pratt"})
#: Exact all-subsets work doubles with each driver; past this it stops fitting in memory.
MAX_EXACT_LIMIT = 26
DEFAULT_SAMPLES = 4096
DEFAULT_MAX_UNITS = 2048
#: Bootstrap replicates get exact Shapley values up to this many drivers; beyond it (and when
#: the point estimate is sampled) they use this many common orderings, re-centred.
EXACT_BOOTSTRAP_LIMIT = 16
BOOTSTRAP_ORDERINGS = 512

Model = Literal["linear", "logistic"]
_Decomposer = Callable[[FloatArray, FloatArray], FloatArray]
_CLOSED_FORM: dict[str, _Decomposer] = {
    "relative_weights": relative_weights,
    "first": decompositions.first,
    "last": decompositions.last,
    "betasq": decompositions.betasq,
    "pratt": decompositions.pratt,
}


@dataclass(frozen=True)
class KeyDriverConfig:
    """Settings of one key driver analysis (stored beside its result as ``attrs["config"]``).

    ``method``: ``"shapley"`` (LMG / general dominance; ``"lmg"``, ``"dominance"`` also accepted),
    ``"relative_weights"`` (Johnson; ``"rwa"``), or relaimpo's ``"pmvd"``, ``"first"``,
    ``"last"``, ``"betasq"``, ``"pratt"``. ``model``: ``"linear"`` or ``"logistic"`` (a 0/1
    outcome, decomposed on the latent scale). ``missing``: ``"listwise"`` or ``"pairwise"``.
    Shapley is exact up to ``max_exact`` drivers, else sampled from ``samples`` orderings.
    ``bootstrap`` replicates give percentile intervals at ``confidence``; with more than
    ``max_units`` rows, random blocks of rows are resampled instead of single rows.
    """

    outcome: str
    drivers: tuple[str, ...]
    method: str = "shapley"
    model: Model = "linear"
    bootstrap: int = 0
    seed: int = 0
    confidence: float = 0.95
    max_exact: int = 20
    samples: int = DEFAULT_SAMPLES
    missing: Missing = "listwise"
    max_units: int = DEFAULT_MAX_UNITS

    def __post_init__(self) -> None:
        method = METHOD_ALIASES.get(self.method, self.method)
        if method not in METHODS:
            raise DriverError(f"unknown method {self.method!r}; use one of: " + ", ".join(METHODS))
        object.__setattr__(self, "method", method)
        if self.model not in MODELS:
            raise DriverError(f"unknown model {self.model!r}; use 'linear' or 'logistic'")
        if self.missing not in MISSING:
            raise DriverError(f"unknown missing-value rule {self.missing!r}; use "
                              "'listwise' or 'pairwise'")
        if self.model == "logistic" and self.missing == "pairwise":
            raise DriverError("the logistic variant fits one model on complete rows; "
                              "use missing='listwise'")
        if not self.drivers:
            raise DriverError("name at least one driver")
        duplicated = sorted({d for d in self.drivers if self.drivers.count(d) > 1})
        if duplicated:
            raise DriverError("drivers named more than once: " + ", ".join(duplicated))
        if self.outcome in self.drivers:
            raise DriverError(f"the outcome {self.outcome!r} cannot also be a driver")
        _check_integer("bootstrap", self.bootstrap, minimum=0)
        _check_integer("samples", self.samples, minimum=4)
        _check_integer("max_exact", self.max_exact, minimum=1, maximum=MAX_EXACT_LIMIT)
        _check_integer("max_units", self.max_units, minimum=2)
        if not 0.0 < self.confidence < 1.0:
            raise DriverError(f"confidence must be between 0 and 1, not {self.confidence}")


def key_drivers(
    df: pd.DataFrame,
    outcome: str,
    drivers: Sequence[str],
    method: str = "shapley",
    bootstrap: int = 0,
    *,
    seed: int = 0,
    confidence: float = 0.95,
    max_exact: int = 20,
    samples: int = DEFAULT_SAMPLES,
    missing: Missing = "listwise",
    model: Model = "linear",
    max_units: int = DEFAULT_MAX_UNITS,
) -> pd.DataFrame:
    """Relative importance of ``drivers`` for ``outcome``: one row per driver, input order.

    Columns: ``driver``, ``importance`` (its part of R²; for Shapley, relative weights, PMVD and
    Pratt they add up to R²), ``share`` (importance / total, adds up to 1), ``low``/``high`` (a
    bootstrap percentile interval for ``importance`` when ``bootstrap > 0``; the Monte Carlo
    interval when Shapley is sampled; else NaN), ``rank`` (1 = most important), ``sign`` (of
    the driver's correlation with the outcome, as R's ``rwa`` reports it) and ``mc_error``
    (Monte Carlo standard error of a sampled Shapley value; NaN when exact). ``attrs`` holds
    ``r2`` (OLS R², or McKelvey–Zavoina's for the logistic model), ``n``, ``method``,
    ``exact``, ``samples``, ``rows_dropped``, ``bootstrap_failed`` (degenerate replicates
    left out), ``outcome_variance`` and ``config``. See :class:`KeyDriverConfig` for settings.

    Cost: one pass over the rows, then work on the correlation matrix only: exact Shapley is
    ``O(2**p)`` (15 drivers: milliseconds; 20: about half a second), sampled Shapley
    ``O(samples · p³)``. A bootstrap replicate is a weighted sum of per-unit moments plus the
    decomposition; Shapley replicates past :data:`EXACT_BOOTSTRAP_LIMIT` drivers use
    :data:`BOOTSTRAP_ORDERINGS` common orderings, re-centred on the point estimate.

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(7)
    >>> df = pd.DataFrame(rng.normal(size=(400, 3)), columns=["wait", "staff", "fixed"])
    >>> df["nps"] = 2 * df["fixed"] + df["staff"] + rng.normal(size=400)
    >>> table = key_drivers(df, "nps", ["wait", "staff", "fixed"])
    >>> table[["driver", "share", "rank"]].round(2).values.tolist()
    [['wait', 0.0, 3], ['staff', 0.17, 2], ['fixed', 0.83, 1]]
    >>> bool(np.isclose(table["importance"].sum(), table.attrs["r2"]))
    True
    """
    if isinstance(drivers, str):
        drivers = [drivers]
    config = KeyDriverConfig(
        outcome=outcome, drivers=tuple(drivers), method=method, model=model,
        bootstrap=bootstrap, seed=seed, confidence=confidence, max_exact=max_exact,
        samples=samples, missing=missing, max_units=max_units,
    )
    return analyse_key_drivers(df, config)


def analyse_key_drivers(df: pd.DataFrame, config: KeyDriverConfig) -> pd.DataFrame:
    """Run the analysis that ``config`` describes on ``df`` (see :func:`key_drivers`)."""
    names = [*config.drivers, config.outcome]
    data = _numeric_matrix(df, names)
    data, dropped = _complete_rows(data, names, config.missing)
    p = len(config.drivers)
    rng = np.random.default_rng(config.seed)
    sampled = config.method == "shapley" and p > config.max_exact
    orderings = sample_orderings(p, config.samples, rng) if sampled else None

    estimate: _LinearEstimate | _LogisticEstimate
    if config.model == "linear":
        estimate = _LinearEstimate(data, names, config)
    else:
        estimate = _LogisticEstimate(data, names)
    importance, mc_error = _decompose(estimate.matrix[None], config, orderings)
    rxx = estimate.matrix[:p, :p]
    rxy = estimate.matrix[:p, p]
    r2 = float(rxy @ np.linalg.solve(rxx, rxy))

    low = np.full(p, np.nan)
    high = np.full(p, np.nan)
    failed = 0
    if config.bootstrap > 0:
        replicates = estimate.replicates(config, rng)
        usable = _usable(replicates, p)
        failed = int((~usable).sum())
        if not usable.any():
            raise DriverError("every bootstrap replicate was degenerate (a driver constant in "
                              "the resample); there are too few rows to bootstrap")
        draws = _replicate_importance(estimate.matrix, importance[0], replicates[usable],
                                      config, orderings, rng)
        tail = (1.0 - config.confidence) / 2.0
        low, high = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    elif mc_error is not None:
        z = NormalDist().inv_cdf(0.5 + config.confidence / 2.0)
        low, high = importance[0] - z * mc_error[0], importance[0] + z * mc_error[0]

    values = importance[0]
    table = pd.DataFrame({
        "driver": list(config.drivers),
        "importance": values,
        "share": values / values.sum(),
        "low": low,
        "high": high,
        "rank": pd.Series(values).rank(ascending=False, method="min").astype(int).to_numpy(),
        "sign": np.sign(rxy).astype(int),
        "mc_error": np.full(p, np.nan) if mc_error is None else mc_error[0],
    })
    table.attrs.update(
        r2=r2,
        r2_kind="McKelvey-Zavoina" if config.model == "logistic" else "OLS",
        n=estimate.n,
        method=config.method,
        model=config.model,
        exact=not sampled,
        samples=int(orderings.shape[0]) if orderings is not None else 0,
        rows_dropped=dropped,
        bootstrap=config.bootstrap,
        bootstrap_failed=failed,
        outcome_variance=estimate.outcome_variance,
        config=asdict(config),
    )
    return table


class _LinearEstimate:
    """Correlation matrix of drivers and outcome, and how to resample it."""

    def __init__(self, data: FloatArray, names: list[str], config: KeyDriverConfig) -> None:
        self.data = data
        corr = correlation(row_moments(data, config.missing))
        check_correlation(corr, names)
        self.n = int(corr.n)
        _check_enough_rows(self.n, len(names) - 1)
        self.matrix: FloatArray = corr.matrix
        self.outcome_variance = float(corr.variances[-1])

    def replicates(self, config: KeyDriverConfig, rng: np.random.Generator) -> FloatArray:
        units = resampling_units(self.data.shape[0], rng, config.max_units)
        weights = _multinomial_weights(units.n_units, config.bootstrap, rng)
        moments = unit_moments(self.data, units, config.missing)
        with np.errstate(all="ignore"):
            return correlation(moments.combine(weights)).matrix


class _LogisticEstimate:
    """Latent-scale correlation matrix of a logistic fit, and how to resample it."""

    def __init__(self, data: FloatArray, names: list[str]) -> None:
        outcome = data[:, -1]
        levels = np.unique(outcome)
        if not np.isin(levels, [0.0, 1.0]).all():
            shown = ", ".join(f"{v:g}" for v in levels[:5])
            raise DriverError(f"the logistic variant needs a 0/1 or true/false outcome; "
                              f"{names[-1]!r} has values {shown}{'...' if levels.size > 5 else ''}")
        p = data.shape[1] - 1
        corr = correlation(row_moments(data))
        check_correlation(corr, names)
        self.n = data.shape[0]
        drivers = data[:, :p]
        sd = np.sqrt(corr.variances[:p])
        self.standardized: FloatArray = (drivers - drivers.mean(axis=0)) / sd
        self.outcome: FloatArray = outcome
        self.fit = fit_logistic(self.standardized, outcome)
        self.matrix = latent_correlation(corr.matrix[:p, :p], self.fit.coefficients)
        self.outcome_variance = float(outcome.var(ddof=1))

    def replicates(self, config: KeyDriverConfig, rng: np.random.Generator) -> FloatArray:
        units = resampling_units(self.n, rng, config.max_units)
        weights = _multinomial_weights(units.n_units, config.bootstrap, rng)
        with np.errstate(all="ignore"):
            corr = correlation(unit_moments(self.standardized, units, "listwise")
                               .combine(weights))
            coefficients = one_step_coefficients(
                self.fit, self.standardized, self.outcome, units, weights
            ) * np.sqrt(corr.variances)
            return latent_correlation(corr.matrix, coefficients)


def _decompose(
    matrices: FloatArray, config: KeyDriverConfig, orderings: IntArray | None
) -> tuple[FloatArray, FloatArray | None]:
    """Importance for a batch of correlation matrices (drivers first, outcome last)."""
    p = len(config.drivers)
    rxx = np.ascontiguousarray(matrices[:, :p, :p])
    rxy = np.ascontiguousarray(matrices[:, :p, p])
    if config.method == "shapley":
        if orderings is None:
            return exact_shapley(rxx, rxy), None
        return sampled_shapley(rxx, rxy, orderings)
    if config.method == "pmvd":
        if p > config.max_exact:
            raise DriverError(f"pmvd needs all driver subsets: at most max_exact="
                              f"{config.max_exact} drivers (got {p}); raise max_exact or use "
                              "method='shapley'")
        return from_all_subsets(rxx, rxy, decompositions.pmvd_from_subsets), None
    return _CLOSED_FORM[config.method](rxx, rxy), None


def _replicate_importance(
    matrix: FloatArray,
    point: FloatArray,
    replicates: FloatArray,
    config: KeyDriverConfig,
    orderings: IntArray | None,
    rng: np.random.Generator,
) -> FloatArray:
    """Importance in each bootstrap replicate.

    Shapley replicates with many drivers would each cost what the point estimate costs, so they
    use one fixed set of :data:`BOOTSTRAP_ORDERINGS` orderings for every replicate (common random
    numbers) and are shifted by (point estimate − the same estimator on the full sample): the
    spread is the bootstrap's, centred where the point estimate is. Everything else is recomputed
    exactly as the point estimate was.
    """
    p = len(config.drivers)
    if config.method != "shapley" or (orderings is None and p <= EXACT_BOOTSTRAP_LIMIT):
        return _decompose(replicates, config, orderings)[0]
    if orderings is not None and orderings.shape[0] <= BOOTSTRAP_ORDERINGS:
        return sampled_shapley(replicates[:, :p, :p], replicates[:, :p, p], orderings)[0]
    common = (orderings[:BOOTSTRAP_ORDERINGS] if orderings is not None
              else sample_orderings(p, BOOTSTRAP_ORDERINGS, rng))
    draws, _ = sampled_shapley(np.ascontiguousarray(replicates[:, :p, :p]),
                               np.ascontiguousarray(replicates[:, :p, p]), common)
    centre, _ = sampled_shapley(matrix[None, :p, :p], matrix[None, :p, p], common)
    return draws - centre + point


def _numeric_matrix(df: pd.DataFrame, names: list[str]) -> FloatArray:
    """The named columns as one float64 matrix (column-major: one copy, no temporary frame)."""
    if not isinstance(df, pd.DataFrame):
        raise DriverError(f"key drivers need a pandas DataFrame, not {type(df).__name__}")
    unknown = [name for name in names if name not in df.columns]
    if unknown:
        raise DriverError("unknown column(s): " + ", ".join(map(repr, unknown)))
    out = np.empty((len(df), len(names)), order="F")
    for i, name in enumerate(names):
        column = df[name]
        if isinstance(column, pd.DataFrame):
            raise DriverError(f"column name {name!r} appears more than once in the data")
        dtype = column.dtype
        is_bool = pd.api.types.is_bool_dtype(dtype)
        if not is_bool and (not pd.api.types.is_numeric_dtype(dtype)
                            or pd.api.types.is_complex_dtype(dtype)):
            raise DriverError(f"column {name!r} is not numeric (dtype {dtype}); encode it as "
                              "numbers first (e.g. 0/1 for each category)")
        if isinstance(dtype, np.dtype):
            out[:, i] = column.to_numpy()
        else:  # nullable extension types: missing → NaN
            out[:, i] = column.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _complete_rows(data: FloatArray, names: list[str], missing: Missing) -> tuple[FloatArray, int]:
    """Reject infinities; drop incomplete rows (listwise); reject constant columns."""
    if not np.isfinite(data.sum(axis=0)).all():
        infinite = np.flatnonzero(np.isinf(data).any(axis=0))
        if infinite.size:
            raise DriverError("infinite values in: " + ", ".join(names[i] for i in infinite))
    dropped = 0
    if missing == "listwise":
        incomplete = np.isnan(data).any(axis=1) if np.isnan(data.sum()) else None
        if incomplete is not None:
            dropped = int(incomplete.sum())
            data = data[~incomplete]
        _check_enough_rows(data.shape[0], len(names) - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns, reported below
        spread = np.nanmax(data, axis=0) - np.nanmin(data, axis=0)
    empty = [n for n, s in zip(names, spread, strict=True) if np.isnan(s)]
    if empty:
        raise DriverError("no observed values in: " + ", ".join(empty))
    if spread[-1] == 0:
        raise DriverError(f"the outcome {names[-1]!r} never varies: there is nothing to explain")
    constant = [n for n, s in zip(names[:-1], spread[:-1], strict=True) if s == 0]
    if constant:
        raise DriverError("constant driver(s) explain nothing and cannot be correlated: "
                          + ", ".join(constant))
    return data, dropped


def _check_enough_rows(n: int, p: int) -> None:
    if n <= p + 1:
        raise DriverError(f"key driver analysis needs more complete rows than drivers + 1: "
                          f"got {n} row(s) for {p} driver(s)")


def _check_integer(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise DriverError(f"{name} must be a whole number, not {value!r}")
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise DriverError(f"{name} must be {bound}, not {value}")


def _multinomial_weights(units: int, replicates: int, rng: np.random.Generator) -> FloatArray:
    """How many times each unit is drawn in each replicate (``replicates × units``)."""
    return rng.multinomial(units, np.full(units, 1.0 / units), size=replicates).astype(np.float64)


def _usable(matrices: FloatArray, p: int) -> NDArray[np.bool_]:
    """Replicates whose correlation matrix is finite and whose drivers are not collinear."""
    finite = np.asarray(np.isfinite(matrices).all(axis=(1, 2)), dtype=bool)
    usable = finite.copy()
    if finite.any():
        smallest = np.linalg.eigvalsh(matrices[finite][:, :p, :p])[:, 0]
        usable[finite] = smallest > 1e-10
    return usable
