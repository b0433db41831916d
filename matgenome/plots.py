"""PNG figures: model evaluation (parity, residuals, uncertainty calibration), discovery
yield curves of a simulation and the Pareto front of a ranking.

Figures are drawn with matplotlib's Agg renderer on ``Figure`` objects (not ``pyplot``), so
nothing here changes the global backend or needs a display, and every file is written
atomically: first to a temporary file beside the target, then renamed over it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from matgenome.errors import InputError
from matgenome.files import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from matgenome.simulation import SimulationResult

# Axis labels, with units, for the columns matgenome writes.
AXIS_LABELS: dict[str, str] = {
    "score": "Acquisition score (higher is better)",
    "prediction": "Predicted value (model units)",
    "uncertainty": "Predictive std (model units)",
    "pred_mean": "Predicted value (model units)",
    "pred_std": "Predictive std (model units)",
    "supply_risk": "Supply risk (max HHI / 10 000, 0–1)",
    "hhi_production": "HHI of production (0–10 000)",
    "hhi_reserve": "HHI of reserves (0–10 000)",
    "cost_per_kg": "Raw-material cost (USD/kg)",
    "cost_per_mol": "Raw-material cost (USD/mol formula units)",
    "cost_per_mol_atoms": "Raw-material cost (USD/mol atoms)",
}


def _new_figure(width: float = 6.4, height: float = 4.4) -> Figure:
    """A figure on the Agg canvas, independent of pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png_atomic(figure: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``figure`` as a PNG to ``path`` via a temporary file and a rename."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror or exc}") from None
    with atomic_path(target) as temporary:
        figure.savefig(temporary, format="png")
    return target


def plot_discovery_curves(
    result: SimulationResult,
    path: str | os.PathLike[str],
    *,
    top: bool = False,
    title: str | None = None,
) -> Path:
    """Targets found vs. experiments: mean per strategy, 10th–90th percentile band.

    The dashed black line is the exact expectation for random picking. ``top=True`` plots
    the top set (e.g. top 1%) instead of the targets (e.g. top decile).
    """
    figure = _new_figure()
    axes = figure.add_subplot()
    x = result.experiments
    curves = result.found_top if top else result.found
    for name in result.strategies:
        counts = curves[name].astype(float)
        (line,) = axes.plot(x, counts.mean(axis=0), label=name, linewidth=1.6)
        low, high = np.percentile(counts, [10, 90], axis=0)
        axes.fill_between(x, low, high, color=line.get_color(), alpha=0.15, linewidth=0)
    expected = result.random_expected_curve(top=top)
    axes.plot(x, expected, "k--", linewidth=1.0, label="random (expected)")
    quantile = result.settings.get("top_quantile" if top else "target_quantile")
    threshold = result.top_threshold if top else result.target_threshold
    share = f"top {100 * (1 - quantile):.3g}%" if quantile is not None else "targets"
    relation = "≤" if result.settings.get("objective") == "min" else "≥"
    axes.set_xlabel("Experiments after the initial set (count)")
    axes.set_ylabel(f"Targets found ({share}, y {relation} {threshold:.3g}) (count)")
    axes.set_xlim(0, max(int(x[-1]), 1))
    axes.set_ylim(bottom=0)
    axes.set_title(title or f"Discovery yield, mean of {result.n_trials} trials (band: 10–90%)")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    return save_png_atomic(figure, path)


def _label(column: str, given: str | None) -> str:
    return given or AXIS_LABELS.get(column, column)


def plot_pareto(
    df: pd.DataFrame,
    x: str,
    y: str,
    path: str | os.PathLike[str],
    *,
    front_column: str = "pareto",
    label_column: str | None = None,
    max_labels: int = 15,
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    log_x: bool = False,
    log_y: bool = False,
) -> Path:
    """Scatter ``y`` against ``x`` for the feasible rows, highlighting the Pareto front.

    ``front_column`` is a boolean column (from :func:`matgenome.ranking.pareto_table`, which
    keeps infeasible and out-of-domain rows off the front). Rows failing the constraints
    (``feasible`` False) are not drawn; rows outside the model's domain (``in_domain``
    False) are drawn hollow and never marked as front, whatever ``front_column`` says. Rows
    with a NaN in ``x`` or ``y`` (e.g. no supply-risk data) cannot be drawn: a note on the
    figure names them and a warning gives their count. The front points are not joined by
    a line: the front may have been computed over more objectives than the two plotted. Up
    to ``max_labels`` front points are annotated with ``label_column``. Axis labels default
    to :data:`AXIS_LABELS`.
    """
    groups = pareto_plot_groups(df, x, y, front_column=front_column,
                                label_column=label_column)
    data, front, rest, outside = (groups["drawn"], groups["front"], groups["rest"],
                                  groups["outside"])
    infeasible, lacking = groups["infeasible"], groups["not_drawn"]
    figure = _new_figure()
    axes = figure.add_subplot()
    axes.scatter(rest[x], rest[y], s=14, color="0.6", alpha=0.7, label="candidates", zorder=1)
    if len(outside):
        axes.scatter(outside[x], outside[y], s=16, facecolor="none", edgecolor="0.45",
                     linewidth=0.8, label="outside the model's domain (not on front)",
                     zorder=2)
    axes.scatter(front[x], front[y], s=30, color="tab:red", edgecolor="black", linewidth=0.5,
                 label="Pareto front (in domain, feasible)", zorder=3)
    if label_column:
        for _, row in front.head(max_labels).iterrows():
            axes.annotate(str(row[label_column]), (row[x], row[y]), fontsize=7,
                          xytext=(3, 3), textcoords="offset points")
    notes = []
    if infeasible:
        notes.append(f"{infeasible} rows failing the constraints not drawn")
    if lacking:
        shown = ", ".join(lacking[:6]) + (", ..." if len(lacking) > 6 else "")
        notes.append(f"{len(lacking)} not drawn, no {x}/{y} data: {shown}")
    for note in notes:  # in the legend, which is placed clear of the points
        axes.plot([], [], " ", label=note)
    if log_x:
        axes.set_xscale("log")
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel(_label(x, xlabel))
    axes.set_ylabel(_label(y, ylabel))
    axes.set_title(title or f"{len(data)} candidates, {len(front)} on the Pareto front")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    return save_png_atomic(figure, path)


def pareto_plot_groups(df: pd.DataFrame, x: str, y: str, *, front_column: str = "pareto",
                       label_column: str | None = None) -> dict:
    """What :func:`plot_pareto` draws: ``drawn`` (feasible rows with both values),
    ``front`` (of those, in domain and on the front), ``rest`` (in domain, not on the
    front), ``outside`` (out of domain, hollow), ``infeasible`` (count not drawn) and
    ``not_drawn`` (names of feasible rows lacking ``x`` or ``y``; also logged)."""
    import logging

    missing = [c for c in (x, y, front_column) if c not in df.columns]
    if missing:
        raise KeyError(f"missing column(s) {missing}")
    data = df.copy()
    data[x] = pd.to_numeric(data[x], errors="coerce")
    data[y] = pd.to_numeric(data[y], errors="coerce")
    feasible = _flag(data, "feasible")
    data = data[feasible]
    unplottable = data[x].isna() | data[y].isna()
    names = (data[label_column] if label_column else data.index.to_series()).astype(str)
    lacking = names[unplottable].tolist()
    if lacking:
        logging.getLogger("matgenome").warning(
            "%d feasible rows not plotted (no %s value): %s", len(lacking),
            " or ".join(c for c in (x, y) if data.loc[unplottable, c].isna().any()),
            ", ".join(lacking[:10]) + (", ..." if len(lacking) > 10 else ""))
    data = data[~unplottable]
    in_domain = _flag(data, "in_domain")
    on_front = _flag(data, front_column) & in_domain
    return {"drawn": data, "front": data[on_front], "rest": data[~on_front & in_domain],
            "outside": data[~in_domain], "infeasible": int((~feasible).sum()),
            "not_drawn": lacking}


def _flag(data: pd.DataFrame, column: str) -> pd.Series:
    """A boolean column as booleans (text 'True'/'False' from a file too); all True if absent."""
    if column not in data.columns:
        return pd.Series(True, index=data.index)
    values = data[column]
    if values.dtype == object:
        values = values.map(lambda v: str(v).strip().lower() in ("true", "1", "yes"))
    return values.fillna(False).astype(bool)


# --------------------------------------------------------------------------- evaluation


def _finite(*arrays: object) -> tuple[np.ndarray, ...]:
    values = [np.asarray(a, dtype=float) for a in arrays]
    keep = np.logical_and.reduce([np.isfinite(v) for v in values])
    return tuple(v[keep] for v in values)


def parity_figure(y_true: object, y_pred: object, std: object | None = None, *,
                  quantity: str = "target value", title: str | None = None) -> Figure:
    """Predicted against measured values, with ±1 std error bars when ``std`` is given."""
    if std is None:
        true, pred = _finite(y_true, y_pred)
        err = None
    else:
        true, pred, err = _finite(y_true, y_pred, std)
    figure = _new_figure(5.2, 5.0)
    axes = figure.add_subplot()
    axes.errorbar(true, pred, yerr=err, fmt="o", ms=3.5, alpha=0.7, elinewidth=0.6,
                  color="tab:blue", ecolor="0.6")
    low = float(min(true.min(), pred.min())) if len(true) else 0.0
    high = float(max(true.max(), pred.max())) if len(true) else 1.0
    axes.plot([low, high], [low, high], "k--", lw=1, label="y = x")
    mae = float(np.mean(np.abs(pred - true))) if len(true) else float("nan")
    axes.set_xlabel(f"Measured {quantity}")
    axes.set_ylabel(f"Predicted {quantity}")
    axes.set_title(title or f"Parity ({len(true)} rows, MAE {mae:.3g})")
    axes.legend(loc="upper left")
    return figure


def residual_figure(y_true: object, y_pred: object, *,
                    quantity: str = "target value") -> Figure:
    """Residuals (predicted - measured) against the measured value, and their histogram."""
    true, pred = _finite(y_true, y_pred)
    residual = pred - true
    figure = _new_figure(8.0, 3.8)
    left, right = figure.subplots(1, 2, width_ratios=[2, 1])
    left.scatter(true, residual, s=10, alpha=0.7)
    left.axhline(0, color="k", lw=1)
    left.set_xlabel(f"Measured {quantity}")
    left.set_ylabel(f"Residual, predicted - measured ({quantity})")
    right.hist(residual, bins=30, color="tab:blue", alpha=0.8)
    right.set_xlabel(f"Residual ({quantity})")
    right.set_ylabel("Rows")
    return figure


def calibration_figure(y_true: object, y_pred: object, std: object) -> Figure:
    """Observed coverage of central Gaussian intervals against their nominal coverage.

    A calibrated model follows the diagonal; the shaded band is the gap whose mean is the
    miscalibration area, the same number as the ``miscalibration_area`` metric.
    """
    from matgenome.evaluation.metrics import (
        CALIBRATION_LEVELS,
        interval_coverage,
        miscalibration_area,
        standardised_errors,
    )

    true, pred, sigma = _finite(y_true, y_pred, std)
    z = standardised_errors(true, pred, sigma)
    nominal = CALIBRATION_LEVELS
    observed = interval_coverage(z, nominal)
    area = miscalibration_area(z)
    figure = _new_figure(5.0, 4.8)
    axes = figure.add_subplot()
    axes.plot(nominal, observed, color="tab:blue", label="model")
    axes.fill_between(nominal, nominal, observed, color="tab:blue", alpha=0.2)
    axes.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
    axes.set_xlabel("Nominal coverage of the central interval")
    axes.set_ylabel("Observed fraction of rows inside it")
    axes.set_title(f"Uncertainty calibration (miscalibration area {area:.3f})")
    axes.legend(loc="upper left")
    return figure


def plot_evaluation(y_true: object, y_pred: object, std: object | None,
                    directory: str | os.PathLike[str], *,
                    quantity: str = "target value") -> list[Path]:
    """Write parity.png, residuals.png and (with ``std``) calibration.png to ``directory``."""
    directory = Path(directory)
    paths = [save_png_atomic(parity_figure(y_true, y_pred, std, quantity=quantity),
                             directory / "parity.png"),
             save_png_atomic(residual_figure(y_true, y_pred, quantity=quantity),
                             directory / "residuals.png")]
    if std is not None:
        paths.append(save_png_atomic(calibration_figure(y_true, y_pred, std),
                                     directory / "calibration.png"))
    return paths
