"""Acquisition functions: a model's predictive mean and standard deviation in, one
score per row out, oriented so that **higher is better** whatever the objective.

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

Rows with a NaN mean or standard deviation are "unscored": they get a NaN score.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import norm

from matgenome.errors import UsageError

Objective = Literal["max", "min", "target"]

OBJECTIVES: tuple[str, ...] = ("max", "min", "target")
ACQUISITIONS: tuple[str, ...] = ("mean", "mei", "ucb", "ei", "pi", "probability", "mli", "mu")

FloatArray = NDArray[np.float64]


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
        raise UsageError(f"unknown objective {objective!r}; expected one of {OBJECTIVES}")
    if objective == "target" and (target is None or not np.isfinite(target)):
        raise UsageError("objective='target' needs a finite target value")


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
        raise UsageError("kappa must not be negative")
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
        raise UsageError("ei needs a finite best known value")
    mu, sigma = _mean_std(mean, std)
    if objective == "max":
        score = _ei_one_sided(mu - best - xi, sigma)
    elif objective == "min":
        score = _ei_one_sided(best - mu - xi, sigma)
    else:
        radius = abs(best - float(target)) - xi  # type: ignore[arg-type]
        if radius <= 0:
            raise UsageError(_no_improvement("ei", best, target))
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
            raise UsageError("objective='target' needs a tolerance >= 0")
        t = float(target)  # type: ignore[arg-type]
        score = _prob_between(mu, sigma, t - tolerance, t + tolerance)
    else:
        if threshold is None or not np.isfinite(threshold):
            raise UsageError("the probability score needs a finite threshold")
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
        raise UsageError("mli needs a finite best known value")
    if objective == "target":
        distance = abs(best - float(target))  # type: ignore[arg-type]
        if distance <= 0:
            raise UsageError(_no_improvement("mli", best, target))
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
        raise UsageError("no finite measured value to take the best of")
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
    raise UsageError(f"unknown acquisition {acquisition!r}; expected one of {ACQUISITIONS}")
