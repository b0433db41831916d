"""Rank candidate compositions by acquisition functions, constraints and Pareto fronts.

Everything here is a pure function of arrays and DataFrames: a model's predictive mean and
standard deviation go in, scores and ranks come out. Predictive distributions are taken to
be Gaussian, ``N(mean, std**2)``, with ``std`` one standard deviation in target units.

Every acquisition score is oriented so that **higher is better**, whatever the objective:

``"max"``
    find high values (e.g. log10 of the Li-ion conductivity in S/cm);
``"min"``
    find low values;
``"target"``
    hit ``target``; the mean score is the negative distance ``-|mean - target|`` and the
    probabilistic scores use the probability of lying within ``target ± tolerance``.

Acquisition functions (``ACQUISITIONS``):

``mean`` / ``mei``
    the predicted value. Citrine's MEI (maximum expected improvement) picks the candidate
    with the best predicted mean, so it is the same score under a second name.
``ucb``
    the optimistic bound ``mean + kappa * std`` (``-mean + kappa * std`` for ``"min"``).
``ei``
    expected improvement over the best known value ``best``, with margin ``xi``.
``pi`` / ``probability``
    the probability of beating a fixed ``threshold`` (e.g. P(log10 sigma > -4)).
``mli``
    Citrine's MLI (maximum likelihood of improvement): the probability of beating ``best``.
``mu``
    Citrine's MU (maximum uncertainty): the predictive standard deviation.

MEI, MLI and MU follow Ling et al., "High-dimensional materials and process optimization
using data-driven experimental design with well-calibrated uncertainty estimates",
Integrating Materials and Manufacturing Innovation 6, 207 (2017).

Batches for sequential learning (``propose_batch``): a stratified cold start (one random
member of each k-means cluster of the pool, :func:`cold_start_batch`) until a target has
been measured, then Thompson sampling from the individual trees of a tree ensemble
(:func:`thompson_batch`). Both give diverse batches of distinct rows and are seeded from a
``numpy.random.Generator``.

Rows with a NaN mean or standard deviation are "unscored": they get a NaN score and rank
after every scored row.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from pymatgen.core import Composition, Element
from scipy.stats import norm

from matgenome.composition import parse_many

Objective = Literal["max", "min", "target"]
OBJECTIVES: tuple[str, ...] = ("max", "min", "target")
ACQUISITIONS: tuple[str, ...] = ("mean", "mei", "ucb", "ei", "pi", "probability", "mli", "mu")
DEFAULT_PARETO_OBJECTIVES: dict[str, str] = {
    "score": "max",
    "supply_risk": "min",
    "cost_per_kg": "min",
}

FloatArray = NDArray[np.float64]
log = logging.getLogger("matgenome")


# --------------------------------------------------------------------------- helpers


def _as_float(values: ArrayLike, name: str) -> FloatArray:
    """Return ``values`` as a 1-D float array (NaN allowed)."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _mean_std(mean: ArrayLike, std: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Validate a (mean, std) pair: same length, std not negative."""
    mu = _as_float(mean, "mean")
    sigma = _as_float(std, "std")
    if mu.shape != sigma.shape:
        raise ValueError(f"mean and std differ in length ({mu.size} and {sigma.size})")
    if np.any(sigma < 0):
        raise ValueError("std must not be negative")
    return mu, sigma


def _check_objective(objective: str, target: float | None) -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    if objective == "target" and (target is None or not np.isfinite(target)):
        raise ValueError("objective='target' needs a finite target value")


def _unscored(mu: FloatArray, sigma: FloatArray) -> NDArray[np.bool_]:
    return ~(np.isfinite(mu) & np.isfinite(sigma))


def _prob_between(
    mu: FloatArray, sigma: FloatArray, low: FloatArray | float, high: FloatArray | float
) -> FloatArray:
    """P(low < Y < high) for Y ~ N(mu, sigma); a point mass when sigma == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z_low, z_high = (low - mu) / sigma, (high - mu) / sigma
        # Take the difference on the tail side the window lies in, where it keeps precision.
        spread = np.where(
            z_low > 0, norm.sf(z_low) - norm.sf(z_high), norm.cdf(z_high) - norm.cdf(z_low)
        )
    # sigma == 0 makes the z-scores +-inf (or NaN at the edges): use the indicator instead.
    point = ((mu > low) & (mu < high)).astype(float)
    return np.where(sigma > 0, spread, point)


def _prob_above(mu: FloatArray, sigma: FloatArray, threshold: float) -> FloatArray:
    """P(Y > threshold) for Y ~ N(mu, sigma)."""
    return _prob_between(mu, sigma, threshold, np.inf)


def _prob_below(mu: FloatArray, sigma: FloatArray, threshold: float) -> FloatArray:
    """P(Y < threshold) for Y ~ N(mu, sigma)."""
    return _prob_between(mu, sigma, -np.inf, threshold)


def _nan_unscored(score: FloatArray, mu: FloatArray, sigma: FloatArray) -> FloatArray:
    # Adding 0.0 turns the -0.0 of negated zeros into 0.0, which prints less confusingly.
    return np.where(_unscored(mu, sigma), np.nan, score + 0.0)


# --------------------------------------------------------------------------- acquisitions


def predicted_value(
    mean: ArrayLike,
    std: ArrayLike | None = None,
    objective: Objective = "max",
    *,
    target: float | None = None,
) -> FloatArray:
    """Score by the predicted mean: ``mean``, ``-mean`` or ``-|mean - target|``.

    ``std`` is only used to mark unscored rows (NaN std gives a NaN score).
    """
    _check_objective(objective, target)
    mu = _as_float(mean, "mean")
    sigma = np.zeros_like(mu) if std is None else _mean_std(mu, std)[1]
    if objective == "max":
        score = mu.copy()
    elif objective == "min":
        score = -mu
    else:
        score = -np.abs(mu - float(target))  # type: ignore[arg-type]
    return _nan_unscored(score, mu, sigma)


def mei(
    mean: ArrayLike,
    std: ArrayLike | None = None,
    objective: Objective = "max",
    *,
    target: float | None = None,
) -> FloatArray:
    """Citrine's maximum expected improvement: the best predicted mean wins.

    Identical to :func:`predicted_value`; kept under this name for comparison with
    Ling et al. (2017).
    """
    return predicted_value(mean, std, objective, target=target)


def ucb(
    mean: ArrayLike,
    std: ArrayLike,
    objective: Objective = "max",
    *,
    kappa: float = 2.0,
    target: float | None = None,
) -> FloatArray:
    """Upper confidence bound: the value reached ``kappa`` standard deviations optimistically.

    For ``"max"`` this is ``mean + kappa*std``; for ``"min"`` ``-(mean - kappa*std)``; for
    ``"target"`` ``kappa*std - |mean - target|``, the optimistic closeness to the target.
    (Clipping it at zero, the smallest distance within the ``kappa``-sigma interval, would
    give every row whose interval holds the target the same score of 0.)
    """
    _check_objective(objective, target)
    if kappa < 0:
        raise ValueError("kappa must not be negative")
    mu, sigma = _mean_std(mean, std)
    if objective == "max":
        score = mu + kappa * sigma
    elif objective == "min":
        score = -mu + kappa * sigma
    else:
        score = kappa * sigma - np.abs(mu - float(target))  # type: ignore[arg-type]
    return _nan_unscored(score, mu, sigma)


def _ei_one_sided(improvement: FloatArray, sigma: FloatArray) -> FloatArray:
    """E[max(I + sigma*Z, 0)] for Z ~ N(0, 1), with I the improvement of the mean."""
    with np.errstate(divide="ignore", invalid="ignore"):
        z = improvement / sigma
        spread = improvement * norm.cdf(z) + sigma * norm.pdf(z)
    return np.where(sigma > 0, spread, np.maximum(improvement, 0.0))


def _ei_window(mu: FloatArray, sigma: FloatArray, target: float, radius: float) -> FloatArray:
    """E[max(radius - |Y - target|, 0)] for Y ~ N(mu, sigma).

    The improvement is a tent of height ``radius`` centred on ``target``; integrating it
    against the Gaussian density uses partial expectations on each side of the target.
    """
    if radius <= 0:
        return np.zeros_like(mu)
    low, high = target - radius, target + radius
    with np.errstate(divide="ignore", invalid="ignore"):
        z_low, z_mid, z_high = ((v - mu) / sigma for v in (low, target, high))
        p_left = norm.cdf(z_mid) - norm.cdf(z_low)
        p_right = norm.cdf(z_high) - norm.cdf(z_mid)
        # Partial first moments  integral of y * pdf(y) dy  over each half window.
        m_left = mu * p_left - sigma * (norm.pdf(z_mid) - norm.pdf(z_low))
        m_right = mu * p_right - sigma * (norm.pdf(z_high) - norm.pdf(z_mid))
        spread = (radius - target) * p_left + m_left + (radius + target) * p_right - m_right
    point = np.maximum(radius - np.abs(mu - target), 0.0)
    # Clip tiny negative values left by cancellation in the difference of cdfs.
    return np.where(sigma > 0, np.maximum(spread, 0.0), point)


def ei(
    mean: ArrayLike,
    std: ArrayLike,
    best: float,
    objective: Objective = "max",
    *,
    xi: float = 0.0,
    target: float | None = None,
) -> FloatArray:
    """Expected improvement over the best known value ``best``.

    For ``"max"``, with ``I = mean - best - xi`` and ``z = I / std``:
    ``EI = I * Phi(z) + std * phi(z)`` (``max(I, 0)`` where ``std == 0``). ``"min"`` uses
    ``I = best - mean - xi``. For ``"target"`` the improvement is a reduction of the distance
    to the target: ``EI = E[max(d_best - xi - |Y - target|, 0)]`` with
    ``d_best = |best - target|``, computed in closed form.
    """
    _check_objective(objective, target)
    if best is None or not np.isfinite(best):
        raise ValueError("ei needs a finite best known value")
    mu, sigma = _mean_std(mean, std)
    if objective == "max":
        score = _ei_one_sided(mu - best - xi, sigma)
    elif objective == "min":
        score = _ei_one_sided(best - mu - xi, sigma)
    else:
        radius = abs(best - float(target)) - xi  # type: ignore[arg-type]
        if radius <= 0:
            raise ValueError(_no_improvement("ei", best, target))
        score = _ei_window(mu, sigma, float(target), radius)  # type: ignore[arg-type]
    return _nan_unscored(score, mu, sigma)


def probability(
    mean: ArrayLike,
    std: ArrayLike,
    objective: Objective = "max",
    *,
    threshold: float | None = None,
    target: float | None = None,
    tolerance: float | None = None,
) -> FloatArray:
    """Probability of success under the Gaussian predictive distribution.

    ``"max"``: P(Y > threshold); ``"min"``: P(Y < threshold); ``"target"``:
    P(target - tolerance < Y < target + tolerance).
    """
    _check_objective(objective, target)
    mu, sigma = _mean_std(mean, std)
    if objective == "target":
        if tolerance is None or not tolerance >= 0:
            raise ValueError("objective='target' needs a tolerance >= 0")
        t = float(target)  # type: ignore[arg-type]
        score = _prob_between(mu, sigma, t - tolerance, t + tolerance)
    else:
        if threshold is None or not np.isfinite(threshold):
            raise ValueError("the probability score needs a finite threshold")
        side = _prob_above if objective == "max" else _prob_below
        score = side(mu, sigma, float(threshold))
    return _nan_unscored(score, mu, sigma)


pi = probability


def mli(
    mean: ArrayLike,
    std: ArrayLike,
    best: float,
    objective: Objective = "max",
    *,
    target: float | None = None,
) -> FloatArray:
    """Citrine's maximum likelihood of improvement: the probability of beating ``best``.

    For ``"target"``: the probability of landing closer to the target than ``best`` is.
    """
    _check_objective(objective, target)
    if best is None or not np.isfinite(best):
        raise ValueError("mli needs a finite best known value")
    if objective == "target":
        distance = abs(best - float(target))  # type: ignore[arg-type]
        if distance <= 0:
            raise ValueError(_no_improvement("mli", best, target))
        return probability(mean, std, "target", target=target, tolerance=distance)
    return probability(mean, std, objective, threshold=best)


def _no_improvement(acquisition: str, best: float, target: float | None) -> str:
    """Why ``acquisition`` cannot rank toward a target the best known value already hits."""
    return (f"acquisition {acquisition!r} scores improvement over the best known value "
            f"{best:g}, which is already at the target {target:g}: every row would score 0 "
            "and the ranking would be the input order; use 'mean' (closeness to the target) "
            "or 'pi' with a tolerance")


def max_uncertainty(mean: ArrayLike, std: ArrayLike) -> FloatArray:
    """Citrine's MU (maximum uncertainty): the predictive standard deviation itself."""
    m, sigma = _mean_std(mean, std)
    return _nan_unscored(sigma.copy(), m, sigma)


def best_known(
    y: ArrayLike, objective: Objective = "max", *, target: float | None = None
) -> float:
    """The best measured value: the max, the min, or the value closest to ``target``."""
    _check_objective(objective, target)
    values = _as_float(y, "y")
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError("no finite measured value to take the best of")
    if objective == "max":
        return float(values.max())
    if objective == "min":
        return float(values.min())
    return float(values[np.argmin(np.abs(values - float(target)))])  # type: ignore[arg-type]


def acquisition_scores(
    acquisition: str,
    mean: ArrayLike,
    std: ArrayLike,
    objective: Objective = "max",
    *,
    best: float | None = None,
    kappa: float = 2.0,
    xi: float = 0.0,
    threshold: float | None = None,
    target: float | None = None,
    tolerance: float | None = None,
) -> FloatArray:
    """Dispatch to the acquisition function named ``acquisition`` (see ``ACQUISITIONS``)."""
    if acquisition in ("mean", "mei"):
        return predicted_value(mean, std, objective, target=target)
    if acquisition == "ucb":
        return ucb(mean, std, objective, kappa=kappa, target=target)
    if acquisition == "ei":
        return ei(mean, std, best, objective, xi=xi, target=target)  # type: ignore[arg-type]
    if acquisition in ("pi", "probability"):
        return probability(
            mean, std, objective, threshold=threshold, target=target, tolerance=tolerance
        )
    if acquisition == "mli":
        return mli(mean, std, best, objective, target=target)  # type: ignore[arg-type]
    if acquisition == "mu":
        return max_uncertainty(mean, std)
    raise ValueError(f"unknown acquisition {acquisition!r}; expected one of {ACQUISITIONS}")


def order_by_score(
    scores: ArrayLike, *, tie_breaker: ArrayLike | None = None
) -> NDArray[np.intp]:
    """Row indices from best to worst score; NaN scores go last.

    Ties are broken by ``tie_breaker`` (ascending) and then by row position, so the order is
    deterministic. Pass random numbers as ``tie_breaker`` to break ties at random.
    """
    values = _as_float(scores, "scores")
    position = np.arange(values.size)
    keys: list[NDArray] = [position]
    if tie_breaker is not None:
        keys.append(_as_float(tie_breaker, "tie_breaker"))
    nan_last = np.isnan(values)
    # np.lexsort sorts by the last key first: NaN flag, then -score, then tie_breaker, then
    # row position.
    return np.lexsort((*keys, np.where(nan_last, 0.0, -values), nan_last))


def rank_scores(scores: ArrayLike, eligible: ArrayLike | None = None) -> FloatArray:
    """Ranks 1, 2, ... by descending score; NaN for NaN scores and ineligible rows."""
    values = _as_float(scores, "scores")
    keep = np.isfinite(values)
    if eligible is not None:
        keep &= np.asarray(eligible, dtype=bool)
    masked = np.where(keep, values, np.nan)
    ranks = np.full(values.size, np.nan)
    order = order_by_score(masked)[: int(keep.sum())]
    ranks[order] = np.arange(1, order.size + 1)
    return ranks


# --------------------------------------------------------------------------- constraints


@dataclass(frozen=True)
class Constraints:
    """Hard limits on candidate compositions.

    Attributes:
        required_elements: every one of these must be present.
        excluded_elements: none of these may be present (e.g. toxic or radioactive ones).
        min_elements, max_elements: bounds on the number of distinct elements.
        mobile_ion: the conducting ion whose atomic fraction is bounded (default Li).
        min_mobile_fraction, max_mobile_fraction: bounds on the mobile ion's atomic
            fraction, ``n(mobile_ion) / n(all atoms)``; inclusive.
    """

    required_elements: tuple[str, ...] = ()
    excluded_elements: tuple[str, ...] = ()
    min_elements: int | None = None
    max_elements: int | None = None
    mobile_ion: str = "Li"
    min_mobile_fraction: float | None = None
    max_mobile_fraction: float | None = None

    def __post_init__(self) -> None:
        for name in ("required_elements", "excluded_elements"):
            value = getattr(self, name)
            symbols = (value,) if isinstance(value, str) else tuple(value)
            object.__setattr__(self, name, tuple(_valid_symbol(s) for s in symbols))
        object.__setattr__(self, "mobile_ion", _valid_symbol(self.mobile_ion))
        overlap = set(self.required_elements) & set(self.excluded_elements)
        if overlap:
            raise ValueError(f"elements both required and excluded: {sorted(overlap)}")
        for low, high in (
            (self.min_elements, self.max_elements),
            (self.min_mobile_fraction, self.max_mobile_fraction),
        ):
            if low is not None and high is not None and low > high:
                raise ValueError(f"lower bound {low} is above upper bound {high}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> Constraints:
        """Build from a dict (e.g. read from YAML), rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = set(mapping) - known
        if unknown:
            raise ValueError(f"unknown constraint(s) {sorted(unknown)}; expected {sorted(known)}")
        return cls(**mapping)  # type: ignore[arg-type]


def _valid_symbol(symbol: object) -> str:
    if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol):
        raise ValueError(f"unknown element symbol {symbol!r}")
    return symbol


def _as_constraints(constraints: Constraints | Mapping[str, object] | None) -> Constraints:
    if constraints is None:
        return Constraints()
    if isinstance(constraints, Constraints):
        return constraints
    return Constraints.from_mapping(constraints)


def _violations(comp: Composition, rules: Constraints) -> list[str]:
    """The reasons one composition breaks the rules (empty when it passes)."""
    present = {el.symbol for el in comp.elements}
    reasons = []
    missing = [s for s in rules.required_elements if s not in present]
    if missing:
        reasons.append(f"missing required element(s) {', '.join(missing)}")
    banned = [s for s in rules.excluded_elements if s in present]
    if banned:
        reasons.append(f"contains excluded element(s) {', '.join(banned)}")
    n = len(present)
    if rules.min_elements is not None and n < rules.min_elements:
        reasons.append(f"{n} elements < min_elements={rules.min_elements}")
    if rules.max_elements is not None and n > rules.max_elements:
        reasons.append(f"{n} elements > max_elements={rules.max_elements}")
    fraction = comp.get_atomic_fraction(rules.mobile_ion)
    ion = rules.mobile_ion
    if rules.min_mobile_fraction is not None and fraction < rules.min_mobile_fraction:
        reasons.append(f"{ion} fraction {fraction:.4g} < {rules.min_mobile_fraction:g}")
    if rules.max_mobile_fraction is not None and fraction > rules.max_mobile_fraction:
        reasons.append(f"{ion} fraction {fraction:.4g} > {rules.max_mobile_fraction:g}")
    return reasons


def check_constraints(
    formulas: Iterable[object],
    constraints: Constraints | Mapping[str, object] | None = None,
) -> tuple[NDArray[np.bool_], list[str]]:
    """Check formulas (or ``Composition`` objects) against ``constraints``.

    Returns a boolean mask (True = passes) and, aligned with it, a reason string per row:
    empty where the row passes, the parse error where the formula is invalid, otherwise the
    violated constraints joined by ``"; "``.
    """
    rules = _as_constraints(constraints)
    compositions, errors = parse_many(formulas)
    reasons = []
    for comp, error in zip(compositions, errors, strict=True):
        reasons.append(error if comp is None else "; ".join(_violations(comp, rules)))
    mask = np.array([not r for r in reasons], dtype=bool)
    return mask, reasons


# --------------------------------------------------------------------------- tables


def _column_or_array(df: pd.DataFrame, values: ArrayLike | str, name: str) -> FloatArray:
    """Take ``values`` from a column of ``df`` when it is a column name."""
    array = _as_float(df[values] if isinstance(values, str) else values, name)
    if array.size != len(df):
        raise ValueError(f"{name} has {array.size} values for {len(df)} rows")
    return array


def rank_table(
    df: pd.DataFrame,
    mean: ArrayLike | str,
    std: ArrayLike | str,
    acquisition: str = "mean",
    objective: Objective = "max",
    *,
    kappa: float = 2.0,
    xi: float = 0.0,
    threshold: float | None = None,
    target: float | None = None,
    tolerance: float | None = None,
    constraints: Constraints | Mapping[str, object] | None = None,
    formula_column: str = "formula",
    best: float | None = None,
) -> pd.DataFrame:
    """Score and rank every row of ``df``; return a copy with the rows in input order.

    ``mean`` and ``std`` are arrays aligned with ``df`` or names of its columns. The copy gains
    the columns ``pred_mean`` and ``pred_std`` (when arrays are passed), ``score`` (higher is
    better), ``rank`` (1 = best; <NA> for rows that fail a constraint or are unscored),
    ``feasible`` (passes the constraints) and ``reason`` (why a row has no rank; empty when
    ranked). Existing columns of those names are replaced. Ties in score are broken by row
    position. Constraints need ``formula_column``; without constraints it is not read.

    ``best`` is the best measured value, used by ``ei`` and ``mli``. When it is None those
    acquisitions fall back to the best predicted mean among the feasible, scored rows; the
    value used is stored in ``result.attrs["best"]``.
    """
    mu_values = _column_or_array(df, mean, "mean")
    sigma_values = _column_or_array(df, std, "std")
    mu_values, sigma_values = _mean_std(mu_values, sigma_values)
    out = df.copy()
    if not isinstance(mean, str):
        out["pred_mean"] = mu_values
    if not isinstance(std, str):
        out["pred_std"] = sigma_values
    reasons = [""] * len(df)
    feasible = np.ones(len(df), dtype=bool)
    if constraints is not None:
        if formula_column not in df.columns:
            raise KeyError(f"constraints need the formula column {formula_column!r}")
        feasible, reasons = check_constraints(df[formula_column], constraints)
    scored = ~_unscored(mu_values, sigma_values)
    if best is None and acquisition in ("ei", "mli") and scored.any():
        # Prefer feasible rows as the incumbent; fall back to every scored row.
        pool = feasible & scored if (feasible & scored).any() else scored
        best = best_known(mu_values[pool], objective, target=target)
    if scored.any():
        score = acquisition_scores(
            acquisition, mu_values, sigma_values, objective, best=best, kappa=kappa, xi=xi,
            threshold=threshold, target=target, tolerance=tolerance,
        )
    else:
        score = np.full(len(df), np.nan)
    ranks = rank_scores(score, feasible)
    out["score"] = score
    out["rank"] = pd.array(ranks, dtype="Int64")
    out["feasible"] = feasible
    out["reason"] = [
        r if r else ("unscored: no prediction" if not s else "")
        for r, s in zip(reasons, scored, strict=True)
    ]
    out.attrs.update(acquisition=acquisition, objective=objective, best=best)
    return out


# --------------------------------------------------------------------------- Pareto


def _domination_matrix(values: FloatArray, chunk: int = 512) -> NDArray[np.bool_]:
    """D[i, j] is True when row i dominates row j (all columns maximised)."""
    n = values.shape[0]
    dominates = np.zeros((n, n), dtype=bool)
    for start in range(0, n, chunk):
        block = values[start : start + chunk, None, :]
        geq = (block >= values[None, :, :]).all(axis=2)
        gt = (block > values[None, :, :]).any(axis=2)
        dominates[start : start + chunk] = geq & gt
    return dominates


def pareto_ranks(objectives: ArrayLike, maximize: Sequence[bool]) -> FloatArray:
    """Non-dominated sorting: the front index of every row (1 = the Pareto front).

    ``objectives`` is an (n_rows, n_objectives) array; ``maximize[k]`` says whether column k
    is maximised (else minimised). A row dominates another when it is at least as good in
    every objective and strictly better in one; equal rows share a front. Rows with a NaN
    objective get NaN. Memory grows as n_rows**2 bytes (about 100 MB for 10 000 rows).
    """
    values = np.asarray(objectives, dtype=float)
    if values.ndim != 2 or values.shape[1] != len(maximize):
        raise ValueError("objectives must be (n_rows, len(maximize))")
    signs = np.where(np.asarray(maximize, dtype=bool), 1.0, -1.0)
    valid = np.isfinite(values).all(axis=1)
    ranks = np.full(values.shape[0], np.nan)
    rows = np.flatnonzero(valid)
    dominates = _domination_matrix(values[rows] * signs)
    dominated_by = dominates.sum(axis=0)
    remaining = np.ones(rows.size, dtype=bool)
    front = 0
    # Peel fronts: rows that no remaining row dominates form the next front.
    while remaining.any():
        front += 1
        current = remaining & (dominated_by == 0)
        ranks[rows[current]] = front
        remaining &= ~current
        dominated_by = dominated_by - dominates[current].sum(axis=0)
    return ranks


def pareto_table(
    df: pd.DataFrame,
    objectives: Mapping[str, str] | None = None,
    *,
    only_ranked: bool = True,
    only_in_domain: bool = True,
    label_column: str | None = None,
) -> pd.DataFrame:
    """Add ``pareto`` (on the first front) and ``pareto_rank`` (front index) columns.

    ``objectives`` maps column names to ``"max"`` or ``"min"``; the default maximises the
    acquisition ``score`` and minimises ``supply_risk`` and ``cost_per_kg``. With
    ``only_ranked`` and a ``rank`` column present, rows without a rank (failing constraints
    or unscored) are left off the fronts; with ``only_in_domain`` and an ``in_domain``
    column, so are rows outside the model's applicability domain, whose score is not to be
    trusted. Rows with a NaN objective (e.g. no supply-risk data for an element) are left
    off too: a warning gives their count and ``attrs["pareto_missing"]`` lists them (by
    ``label_column`` when given, else by index).
    """
    spec = dict(DEFAULT_PARETO_OBJECTIVES if objectives is None else objectives)
    bad = {k: v for k, v in spec.items() if v not in ("max", "min")}
    if bad:
        raise ValueError(f"Pareto objectives must be 'max' or 'min', got {bad}")
    missing = [c for c in spec if c not in df.columns]
    if missing:
        raise KeyError(f"missing Pareto objective column(s) {missing}")
    values = df[list(spec)].to_numpy(dtype=float, na_value=np.nan)
    eligible = np.ones(len(df), dtype=bool)
    if only_ranked and "rank" in df.columns:
        eligible &= df["rank"].notna().to_numpy()
    if only_in_domain and "in_domain" in df.columns:
        eligible &= df["in_domain"].fillna(False).astype(bool).to_numpy()
    values = np.where(eligible[:, None], values, np.nan)
    lacking = eligible & ~np.isfinite(values).all(axis=1)
    ranks = pareto_ranks(values, [v == "max" for v in spec.values()])
    out = df.copy()
    out["pareto_rank"] = pd.array(ranks, dtype="Int64")
    out["pareto"] = ranks == 1
    names = (df[label_column] if label_column in df.columns else df.index.to_series())
    out.attrs["pareto_missing"] = [str(v) for v in names[lacking]]
    if lacking.any():
        empty = [c for c in spec if np.isnan(values[lacking][:, list(spec).index(c)]).any()]
        log.warning("%d rows left off the Pareto front for lack of %s data: %s",
                    int(lacking.sum()), " / ".join(empty),
                    ", ".join(out.attrs["pareto_missing"][:10])
                    + (", ..." if lacking.sum() > 10 else ""))
    return out


# --------------------------------------------------------------------------- batches


def thompson_batch(
    tree_predictions: ArrayLike,
    size: int,
    rng: np.random.Generator,
    objective: Literal["max", "min"] = "max",
) -> NDArray[np.intp]:
    """Thompson sampling from a tree ensemble: ``size`` distinct rows, in pick order.

    ``tree_predictions`` is an ``(n_trees, n_rows)`` matrix, one row per tree (e.g.
    ``CalibratedTreesRegressor.predict_trees(X)``). Each batch slot takes one tree at
    random, treats its predictions as one draw from the posterior, and picks the row that
    tree predicts best among the rows not picked yet. Trees are drawn without replacement
    while there are enough of them, so a batch spreads over as many posterior draws as it
    can. A single tree gives the same value to every row in one leaf, so ties are common:
    they are broken at random. NaN predictions rank last.
    """
    draws = np.asarray(tree_predictions, dtype=float)
    if draws.ndim != 2 or draws.shape[0] < 1:
        raise ValueError("tree_predictions must be (n_trees, n_rows) with at least one tree")
    if objective not in ("max", "min"):
        raise ValueError("objective must be 'max' or 'min'")
    n_trees, n_rows = draws.shape
    size = _batch_size(size, n_rows)
    scores = draws if objective == "max" else -draws
    trees = rng.choice(n_trees, size=size, replace=size > n_trees)
    tie_breaker = rng.random((size, n_rows))
    free = np.ones(n_rows, dtype=bool)
    picks = np.empty(size, dtype=np.intp)
    for slot, tree in enumerate(trees):
        candidates = np.flatnonzero(free)
        order = order_by_score(scores[tree, candidates], tie_breaker=tie_breaker[slot, candidates])
        picks[slot] = candidates[order[0]]
        free[picks[slot]] = False
    return picks


def _batch_size(size: int, n_rows: int) -> int:
    """The batch size capped at the pool size; at least one row is required."""
    if size < 1:
        raise ValueError("the batch size must be at least 1")
    if n_rows < 1:
        raise ValueError("the pool is empty")
    return min(int(size), n_rows)


def standardise(X: ArrayLike) -> FloatArray:
    """Descriptors scaled to zero mean and unit variance per column, NaN set to the median.

    Constant (or all-NaN) columns become 0, so they do not weigh in distances.
    """
    values = np.asarray(X, dtype=float)
    if values.ndim != 2:
        raise ValueError("X must be (n_rows, n_features)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        median = np.nan_to_num(np.nanmedian(values, axis=0))
    filled = np.where(np.isnan(values), median[None, :], values)
    scale = filled.std(axis=0)
    return (filled - filled.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def cold_start_batch(
    X_pool: ArrayLike, size: int, rng: np.random.Generator, *, n_init: int = 3
) -> NDArray[np.intp]:
    """A stratified exploratory batch: one random member of each of ``size`` clusters.

    The pool's descriptors are standardised (:func:`standardise`) and split into ``size``
    k-means clusters (seeded from ``rng``); each batch slot takes one random member of
    its own cluster. This spreads a batch over the whole descriptor space instead of the
    family the model already knows, which is what a model trained only on non-targets
    cannot do. When k-means finds fewer distinct clusters than slots (e.g. duplicate
    rows), the missing slots are filled at random from the rest of the pool.
    """
    from sklearn.cluster import KMeans

    Z = standardise(X_pool)
    size = _batch_size(size, Z.shape[0])
    if size == 1:
        return rng.choice(Z.shape[0], size=1)
    seed = int(rng.integers(2**31 - 1))
    n_distinct = np.unique(Z, axis=0).shape[0]
    n_clusters = min(size, n_distinct)
    labels = KMeans(n_clusters, n_init=n_init, random_state=seed).fit_predict(Z)
    picks = [int(rng.choice(np.flatnonzero(labels == c))) for c in np.unique(labels)]
    rest = np.setdiff1d(np.arange(Z.shape[0]), picks)
    picks.extend(int(i) for i in rng.choice(rest, size=size - len(picks), replace=False))
    return rng.permutation(np.asarray(picks, dtype=np.intp))


def has_reached_target(
    y_measured: ArrayLike, threshold: float, objective: Literal["max", "min"] = "max"
) -> bool:
    """Whether any measured value is a target: ``>= threshold`` (``<=`` for ``"min"``)."""
    values = _as_float(y_measured, "y_measured")
    values = values[np.isfinite(values)]
    if objective == "max":
        return bool((values >= threshold).any())
    if objective == "min":
        return bool((values <= threshold).any())
    raise ValueError("objective must be 'max' or 'min'")


def propose_batch(
    model: object | None,
    X_pool: ArrayLike,
    size: int,
    *,
    target_reached: bool | None,
    rng: np.random.Generator,
    objective: Literal["max", "min"] = "max",
    cold_start: bool = True,
) -> NDArray[np.intp]:
    """Propose a diverse batch of ``size`` pool rows to measure next (indices into the pool).

    This is the default sequential-learning rule of matgenome: a stratified cold start
    while no target has been measured, then Thompson sampling from the individual trees.
    On OBELiX (``benchmarks/simulate_obelix.py``) it found the top decile several times
    faster than random picking, where acquisition functions on the forest mean and
    spread were slower than random to the first target.

    Args:
        model: a fitted tree ensemble with ``predict_trees(X) -> (n_trees, n_rows)``, such
            as :class:`matgenome.models.calibrated.CalibratedTreesRegressor`. It is not
            used (and may be None) for a cold-start batch.
        X_pool: ``(n_rows, n_features)`` descriptors of the unmeasured candidates, in the
            columns the model was trained on (NaN allowed; the model imputes them, the
            clustering uses column medians).
        size: rows wanted; capped at the pool size.
        target_reached: whether a target (a value good enough to count as a discovery)
            is among the measured rows, e.g. from :func:`has_reached_target`. While it is
            False the batch is a cold start (:func:`cold_start_batch`): a model trained
            only on non-targets keeps exploiting the family it knows, and is ignored.
            **None means "unknown" and is treated as True**: the model's Thompson samples
            are used, because ignoring a model needs the positive knowledge that its data
            hold no target.
        rng: the random generator: tree draws, tie-breaking and clustering are seeded
            from it, so the same generator state gives the same batch.
        objective: ``"max"`` or ``"min"`` the property.
        cold_start: False skips the cold start (plain Thompson sampling from the start).

    Returns:
        Distinct row positions into ``X_pool``, in the order they were picked (measure
        them in that order if the batch is measured one by one).
    """
    if not target_reached and target_reached is not None and cold_start:
        return cold_start_batch(X_pool, size, rng)
    predict_trees = getattr(model, "predict_trees", None)
    if not callable(predict_trees):
        raise TypeError(
            "Thompson sampling needs a fitted tree ensemble with predict_trees(X) -> "
            f"(n_trees, n_rows), e.g. CalibratedTreesRegressor; got {type(model).__name__}"
        )
    draws = np.asarray(predict_trees(np.asarray(X_pool, dtype=float)), dtype=float)
    if draws.ndim != 2 or draws.shape[1] != np.asarray(X_pool).shape[0]:
        raise ValueError("predict_trees(X) must return an (n_trees, n_rows) matrix")
    return thompson_batch(draws, size, rng, objective)
