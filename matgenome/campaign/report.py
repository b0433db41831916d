"""A campaign's status lines and its one-page HTML report.

The report is a single self-contained file: figures are embedded as base64 PNG, styles are
inline, there is no script and no external resource, so it opens offline in any browser and
can be mailed or committed as is. Every piece of text from the campaign (formulas, file
names, model cards) is escaped with ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import io
import json
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matgenome.campaign.state import CampaignState, Round, Settings
from matgenome.composition_keys import key_of
from matgenome.evaluation.metrics import interval_coverage
from matgenome.io import read_table
from matgenome.targets import normalise_target

COVERAGE_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.68, 0.8, 0.9, 0.95)


def _better(objective: str) -> Any:
    return np.nanmin if objective == "min" else np.nanmax


def best_per_round(state: CampaignState, measured: pd.DataFrame) -> pd.DataFrame:
    """Best exact measured value among rows recorded up to each round (0: starting data)."""
    exact = measured[measured["censor"].fillna("") == ""]
    best = _better(state.settings.objective)
    rows = []
    for k in range(len(state.rounds) + 1):
        upto = exact[exact["recorded_in"].fillna(0) <= k]
        if upto.empty:
            continue
        value = float(best(upto["value"].to_numpy(float)))
        formula = upto.loc[upto["value"] == value, "formula"].iloc[0]
        rows.append({"round": k, "best": value, "formula": formula,
                     "exact_values": len(upto)})
    return pd.DataFrame(rows, columns=["round", "best", "formula", "exact_values"])


def recorded_vs_predicted(measured: pd.DataFrame, proposals: pd.DataFrame) -> pd.DataFrame:
    """Every recorded result of a proposed composition beside the prediction that proposed
    it (matched by canonical composition and the proposing round)."""
    recorded = measured[measured["proposed_in"].notna()].copy()
    if recorded.empty or proposals.empty:
        return pd.DataFrame(columns=["formula", "round", "predicted", "uncertainty",
                                     "measured", "censor", "z"])
    index = {(key_of(f), int(r)): (p, u) for f, r, p, u in zip(
        proposals["formula"], proposals["round"], proposals["predicted"],
        proposals["uncertainty"], strict=True)}
    found = [index.get((key_of(f), int(r)), (np.nan, np.nan))
             for f, r in zip(recorded["formula"], recorded["proposed_in"], strict=True)]
    out = pd.DataFrame({
        "formula": recorded["formula"].to_numpy(),
        "round": recorded["proposed_in"].astype(int).to_numpy(),
        "predicted": [p for p, _ in found], "uncertainty": [u for _, u in found],
        "measured": recorded["value"].to_numpy(float),
        "censor": recorded["censor"].fillna("").to_numpy(),
    })
    out["z"] = (out["measured"] - out["predicted"]) / out["uncertainty"]
    return out


def coverage(comparison: pd.DataFrame) -> pd.DataFrame:
    """Observed fraction of exact results inside the central interval of each level."""
    z = comparison.loc[comparison["censor"] == "", "z"].to_numpy(float)
    observed = interval_coverage(z, COVERAGE_LEVELS)
    return pd.DataFrame({"expected": COVERAGE_LEVELS, "observed": observed,
                         "n": int(np.isfinite(z).sum())})


# --- discoveries against random picking ----------------------------------------------------

DISCOVERY_COLUMNS = ("round", "rules", "proposed", "recorded", "discoveries",
                     "random_expected", "random_sd", "library_p", "pool")


def threshold_text(settings: Settings) -> str:
    """'≥ -3' (max) or '≤ 0.5' (min): what counts as a discovery."""
    sign = "≤" if settings.objective == "min" else "≥"
    return f"{sign} {settings.threshold:g}"


def beats_threshold(values: np.ndarray, threshold: float, objective: str) -> np.ndarray:
    """Whether each value is a discovery: at or beyond the threshold, in the objective's
    direction (the rule of ``matgenome.ranking.has_reached_target``)."""
    values = np.asarray(values, dtype=float)
    return values <= threshold if objective == "min" else values >= threshold


def discovery_probability(prediction: np.ndarray, uncertainty: np.ndarray, threshold: float,
                          objective: str) -> np.ndarray:
    """P(value at or beyond the threshold) under each candidate's predictive normal; a
    zero uncertainty gives 0 or 1, a missing prediction NaN."""
    from scipy.stats import norm

    mean = np.asarray(prediction, dtype=float)
    sd = np.asarray(uncertainty, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (threshold - mean) / sd
    p = norm.cdf(z) if objective == "min" else norm.sf(z)
    sure = beats_threshold(mean, threshold, objective).astype(float)
    p = np.where(sd > 0, p, sure)
    return np.where(np.isfinite(mean) & ~(sd < 0), p, np.nan)


def _composition_outcome(rows: pd.DataFrame, threshold: float | None,
                         objective: str) -> dict:
    """One recorded composition: its mean exact value (or its bound) and whether it is a
    discovery (None without a threshold). A bound counts only when it settles the question
    (a lower bound at or above a max threshold, an upper bound at or below a min one)."""
    censor = rows["censor"].fillna("").astype(str)
    exact = rows.loc[censor == "", "value"].to_numpy(float)
    if len(exact):
        value = float(np.mean(exact))
        shown, deciding = f"{value:.4g}", np.array([value])
    else:
        first = rows.iloc[0]
        shown = f"{first['censor']}{first['value']:.4g}"
        deciding = rows.loc[censor == (">" if objective == "max" else "<"),
                            "value"].to_numpy(float)
    found = (None if threshold is None
             else bool(beats_threshold(deciding, threshold, objective).any()))
    return {"measured": shown, "discovery": found}


def recorded_outcomes(state: CampaignState, measured: pd.DataFrame) -> pd.DataFrame:
    """Each recorded proposal once per (proposing round, composition): measured value (the
    mean of repeats, or the bound) and ``discovery`` (None without a threshold)."""
    settings = state.settings
    threshold = None if settings.threshold is None else float(settings.threshold)
    recorded = measured[measured["proposed_in"].notna()]
    keys = pd.Series([_key(f) for f in recorded["formula"]], index=recorded.index)
    rows = [{"round": int(number), "key": key,
             **_composition_outcome(group, threshold, settings.objective)}
            for (number, key), group in recorded.groupby(
                [recorded["proposed_in"].astype(int), keys], sort=False)]
    return pd.DataFrame(rows, columns=["round", "key", "measured", "discovery"])


def _round_pool(directory: Path, entry: Round) -> pd.DataFrame:
    """The candidates a round could pick from: scored, eligible (ranked) and unmeasured rows
    of its ranking.csv."""
    ranking = read_table(directory / entry.ranking)
    ranked = pd.to_numeric(ranking["rank"], errors="coerce").notna()
    unmeasured = ranking["measured"].astype(str) != "True"
    pool = ranking[ranked & unmeasured]
    return pd.DataFrame({"prediction": pd.to_numeric(pool["prediction"], errors="coerce"),
                         "uncertainty": pd.to_numeric(pool["uncertainty"], errors="coerce")})


def random_expectation(directory: Path, entry: Round,
                       settings: Settings) -> tuple[float, int]:
    """Mean probability of beating the threshold over the round's pool (the hit rate random
    picking would have, by the round's model) and the pool's size."""
    pool = _round_pool(directory, entry)
    p = discovery_probability(pool["prediction"].to_numpy(float),
                              pool["uncertainty"].to_numpy(float),
                              float(settings.threshold), settings.objective)
    p = p[np.isfinite(p)]
    return (float(np.mean(p)) if len(p) else np.nan), len(p)


def proposal_rules(state: CampaignState, proposals: pd.DataFrame) -> pd.Series:
    """The rule that chose each proposal: its ``rule`` column, or the round's strategy in
    campaign.json where the proposal file has none (campaigns proposed before the column)."""
    strategy = {int(r.round): str(r.strategy) for r in state.rounds}
    fallback = proposals["round"].astype(int).map(strategy).fillna("")
    if "rule" not in proposals:
        return fallback.rename("rule")
    given = proposals["rule"].astype("string").fillna("").str.strip()
    return given.where(given != "", fallback).astype(str).rename("rule")


def _rule_counts(rules: pd.Series) -> str:
    counts = rules.value_counts(sort=False)
    return ", ".join(f"{rule} {n}" if len(counts) > 1 else str(rule)
                     for rule, n in counts.items())


def discoveries_table(directory: Path | None, state: CampaignState, measured: pd.DataFrame,
                      proposals: pd.DataFrame) -> pd.DataFrame:
    """Per round: proposals, recorded results, discoveries and random picking's expected
    discoveries (recorded results x the pool's mean probability of beating the threshold;
    NaN without the directory). Empty without a threshold."""
    settings = state.settings
    if settings.threshold is None:
        return pd.DataFrame(columns=list(DISCOVERY_COLUMNS))
    outcomes = recorded_outcomes(state, measured)
    rules = proposal_rules(state, proposals)
    rows = []
    for entry in state.rounds:
        number = int(entry.round)
        mine = outcomes[outcomes["round"] == number]
        in_round = (proposals["round"] == number).to_numpy()
        p, pool = (random_expectation(directory, entry, settings) if directory is not None
                   else (np.nan, 0))
        n = len(mine)
        rows.append({"round": number, "rules": _rule_counts(rules[in_round]),
                     "proposed": int(in_round.sum()), "recorded": n,
                     "discoveries": int(mine["discovery"].sum()),
                     "random_expected": n * p, "random_sd": float(np.sqrt(n * p * (1 - p))),
                     "library_p": p, "pool": pool})
    return pd.DataFrame(rows, columns=list(DISCOVERY_COLUMNS))


def discoveries_summary(table: pd.DataFrame, settings: Settings) -> str:
    """The line a PI reads: discoveries against random picking's expectation."""
    if settings.threshold is None:
        return ("No threshold was given at init, so no result counts as a discovery and "
                "there is no comparison with random picking.")
    found, recorded = int(table["discoveries"].sum()), int(table["recorded"].sum())
    if recorded == 0:
        return (f"No result of a proposal has been recorded yet (a discovery is a measured "
                f"value {threshold_text(settings)}).")
    rounds = int((table["recorded"] > 0).sum())
    line = (f"{found} discover{'y' if found == 1 else 'ies'} (measured "
            f"{threshold_text(settings)}) in {recorded} recorded result"
            f"{'' if recorded == 1 else 's'} of proposals over {rounds} round"
            f"{'' if rounds == 1 else 's'}")
    expected = float(table["random_expected"].sum(min_count=1))
    if not np.isfinite(expected):
        return line + "."
    spread = float(np.sqrt(np.nansum(table["random_sd"].to_numpy(float) ** 2)))
    line += (f"; random picking from the same library would have found about {expected:.1f}"
             f" ± {spread:.1f} (model-based estimate)")
    if expected >= 0.05:
        line += f": {found / expected:.1f}× random"
    return line + "."


def status_text(state: CampaignState, measured: pd.DataFrame,
                proposals: pd.DataFrame, directory: Path | None = None) -> str:
    """A few lines: settings, rounds (with discoveries), best so far, pending proposals.
    With the campaign ``directory``, random picking's expectation too."""
    settings = state.settings
    target = normalise_target(settings.target)
    lines = [f"campaign {state.name}: {target['label']}, objective "
             f"{settings.objective}, threshold "
             + (f"{settings.threshold:g}" if settings.threshold is not None
                else "none")]
    started = int((measured["recorded_in"].fillna(0) == 0).sum())
    lines.append(f"{len(measured)} measurements: {started} starting rows, "
                 f"{len(measured) - started} recorded in the campaign")
    recorded_keys = _recorded_keys(measured)
    table = discoveries_table(directory, state, measured, proposals)
    found = dict(zip(table["round"], table["discoveries"], strict=True))
    for entry in state.rounds:
        batch = proposals[proposals["round"] == entry.round]
        done = sum(_key(f) in recorded_keys for f in batch["formula"])
        lines.append(f"round {entry.round}: trained on {entry.trained_on} rows "
                     f"({entry.recipe}), {entry.strategy}, proposed {len(batch)}, "
                     f"{done} measured" + _discoveries_note(found.get(entry.round)))
    if settings.threshold is not None and state.rounds:
        lines.append(discoveries_summary(table, settings))
    best = best_per_round(state, measured)
    if not best.empty:
        last = best.iloc[-1]
        lines.append(f"best measured so far: {last.best:.4g} ({last.formula})")
    pending = [f for f in proposals["formula"] if _key(f) not in recorded_keys]
    pending = list(dict.fromkeys(pending))
    lines.append(f"pending proposals: {len(pending)}"
                 + (f" ({', '.join(pending[:10])}{', ...' if len(pending) > 10 else ''})"
                    if pending else ""))
    return "\n".join(lines)


def _discoveries_note(count: int | None) -> str:
    if count is None:
        return ""
    return f", {count} discover{'y' if count == 1 else 'ies'}"


def _key(formula: str):
    return key_of(formula)


def _recorded_keys(measured: pd.DataFrame) -> set:
    return {_key(f) for f in measured["formula"]}


# --- figures -------------------------------------------------------------------------------


def _png(figure) -> str:
    buffer = io.BytesIO()
    # "tight" grows the image to every label, so no text is cut at the edge.
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight", pad_inches=0.08)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img class="figure" alt="figure" src="data:image/png;base64,{data}">'


def _figure(width: float = 6.4, height: float = 4.2):
    from matgenome.io import InputError
    from matgenome.plots import _new_figure

    try:
        return _new_figure(width, height)
    except ModuleNotFoundError as exc:  # matplotlib is the optional 'plots' extra
        raise InputError(f"the report's figures need matplotlib ({exc}); install it with "
                         "pip install 'matgenome[plots]'") from None


def _fit(text: str, inches: float, fontsize: float = 10.0) -> str:
    """``text`` wrapped into lines no longer than ``inches`` (an axis label longer than its
    axis would run off the figure): about 0.6 em per character."""
    return textwrap.fill(text, width=max(12, int(inches * 72 / (0.6 * fontsize))),
                         break_long_words=False)


def _axis_labels(axes, xlabel: str, ylabel: str) -> None:
    width, height = axes.figure.get_size_inches()
    axes.set_xlabel(_fit(xlabel, 0.8 * width))
    axes.set_ylabel(_fit(ylabel, 0.8 * height))


def best_figure(best: pd.DataFrame, label: str) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    axes.step(best["round"], best["best"], where="post", marker="o")
    _axis_labels(axes, "Round (0 = starting data)", f"Best measured, {label}")
    axes.set_xticks(best["round"].tolist())
    axes.grid(alpha=0.3)
    return _png(figure)


def parity_figure(comparison: pd.DataFrame, label: str) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    for round_number, rows in comparison.groupby("round"):
        exact = rows[rows["censor"] == ""]
        axes.errorbar(exact["measured"], exact["predicted"], yerr=exact["uncertainty"],
                      fmt="o", capsize=3, label=f"proposed in round {round_number}")
        bound = rows[rows["censor"] != ""]
        if not bound.empty:
            axes.scatter(bound["measured"], bound["predicted"], marker="<", color="grey")
    values = comparison[["measured", "predicted"]].to_numpy(float)
    finite = values[np.isfinite(values)]
    if finite.size:
        low, high = finite.min() - 0.5, finite.max() + 0.5
        axes.plot([low, high], [low, high], color="black", lw=1, ls="--")
    _axis_labels(axes, f"Measured {label} (◀ = bound only)",
                 f"Predicted when proposed (± 1 sd), {label}")
    axes.legend(fontsize=8)
    return _png(figure)


def coverage_figure(table: pd.DataFrame) -> str:
    figure = _figure(5.0, 4.2)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="black", lw=1, ls="--", label="ideal")
    axes.plot(table["expected"], table["observed"], marker="o",
              label=f"proposals ({int(table['n'].iloc[0])} exact results)")
    _axis_labels(axes, "Expected fraction inside the central interval",
                 "Observed fraction")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(fontsize=8)
    return _png(figure)


PARETO_LABELS = 8  # front members named on the figure (the table lists all of them)
# Label offsets tried around a point, in points: level with the point first, then above,
# below, the diagonals and further out. A thin leader line ties each label to its point, so
# a label that lands near another point is not misread.
LABEL_OFFSETS = ((8, 0), (-8, 0), (0, 8), (0, -8), (8, 8), (-8, 8), (8, -8), (-8, -8),
                 (24, 0), (-24, 0), (16, 16), (-16, 16), (16, -16), (-16, -16), (0, 22),
                 (0, -22), (40, 10), (-40, 10), (40, -10), (-40, -10))


def _alignment(dx: float, dy: float) -> tuple[str, str]:
    """Text alignment that puts a label on the side of its offset, away from the point."""
    ha = "center" if dx == 0 else ("left" if dx > 0 else "right")
    va = "center" if dy == 0 else ("bottom" if dy > 0 else "top")
    return ha, va


def pareto_figure(ranking: pd.DataFrame, label: str) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    open_rows = ranking[~ranking["measured"].astype(bool)]
    front = open_rows[open_rows["pareto"].astype(bool)]
    axes.scatter(open_rows["supply_risk"], open_rows["prediction"], s=10, alpha=0.4,
                 label="candidates not yet measured")
    axes.scatter(front["supply_risk"], front["prediction"], s=30, color="crimson",
                 label="Pareto front")
    _axis_labels(axes, "Supply risk (max HHI / 10 000)", f"Predicted {label}")
    axes.legend(fontsize=8)
    order = pd.to_numeric(front["rank"], errors="coerce").sort_values(na_position="last")
    _label_without_overlap(axes, front.loc[order.index[:PARETO_LABELS]])
    return _png(figure)


def _label_without_overlap(axes, rows: pd.DataFrame) -> None:
    """Name each point beside it where the name overlaps no other name, front point or the
    legend and stays inside the axes; a point with no free place is left unnamed."""
    from matplotlib.text import Text

    figure = axes.figure
    figure.canvas.draw()  # run the layout once, then keep it: the boxes below stay valid
    figure.set_layout_engine("none")
    renderer = figure.canvas.get_renderer()
    inside = axes.get_window_extent(renderer)
    legend = axes.get_legend()
    taken = [legend.get_window_extent(renderer)] if legend is not None else []
    points = axes.transData.transform(rows[["supply_risk", "prediction"]].to_numpy(float))
    marker = 3.0 * figure.dpi / 72  # the front markers' radius in pixels
    taken += [_box_around(x, y, marker) for x, y in points]
    for (_, row), (x, y) in zip(rows.iterrows(), points, strict=True):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        for dx, dy in LABEL_OFFSETS:
            ha, va = _alignment(dx, dy)
            text = axes.annotate(str(row["formula"]), (row["supply_risk"], row["prediction"]),
                                 xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                                 fontsize=7, arrowprops={"arrowstyle": "-", "lw": 0.5,
                                                         "color": "0.4", "shrinkA": 1,
                                                         "shrinkB": 3})
            text.update_positions(renderer)
            box = Text.get_window_extent(text, renderer)  # the words, not the leader line
            fits = (box.x0 >= inside.x0 and box.x1 <= inside.x1 and box.y0 >= inside.y0
                    and box.y1 <= inside.y1)
            if fits and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                break
            text.remove()


def _box_around(x: float, y: float, half: float):
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(x - half, y - half, x + half, y + half)


# --- the page ------------------------------------------------------------------------------

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f0f0f0}
img.figure{max-width:100%;border:1px solid #eee}pre{background:#f7f7f7;padding:.6em;
font-size:.8em;overflow-x:auto;white-space:pre-wrap}.note{color:#555;font-size:.9em}
.headline{font-size:1.1em;font-weight:bold}"""


def _table(frame: pd.DataFrame, max_rows: int = 60) -> str:
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row) + "</tr>"
                   for row in shown.itertuples(index=False))
    more = (f'<p class="note">{len(frame) - max_rows} more rows not shown.</p>'
            if len(frame) > max_rows else "")
    return f"<table><tr>{head}</tr>{body}</table>{more}"


def _cell(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.4g}"
    return "" if value is pd.NA or value is None else str(value)


def _section(title: str, *parts: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{''.join(parts)}</section>"


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def build_report(directory: Path, state: CampaignState, measured: pd.DataFrame,
                 proposals: pd.DataFrame) -> str:
    """The report page as a string."""
    label = normalise_target(state.settings.target)["label"]
    parts = [_overview(directory, state, measured, proposals),
             _discoveries_section(directory, state, measured, proposals),
             _proposals_section(state, measured, proposals),
             _best_section(state, measured, label),
             *_prediction_sections(measured, proposals, label),
             _pareto_section(directory, state, label), _cards_section(directory, state)]
    title = html.escape(f"Campaign {state.name}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}'
            f"</title><style>{STYLE}</style></head><body><h1>{title}</h1>{''.join(parts)}"
            "</body></html>\n")


def _overview(directory: Path, state: CampaignState, measured: pd.DataFrame,
              proposals: pd.DataFrame) -> str:
    settings = state.settings
    facts = pd.DataFrame([
        ("target", normalise_target(settings.target)["label"]),
        ("objective", settings.objective),
        ("threshold", "none (no discovery threshold given at init)"
         if settings.threshold is None
         else f"{settings.threshold:g} (a discovery is a measured value "
              f"{threshold_text(settings)})"),
        ("constraints", json.dumps(settings.constraints, sort_keys=True)),
        ("model options", json.dumps(settings.model, sort_keys=True)),
        ("sources", "; ".join(f"{s.kind} {s.name} ({s.rows} rows)"
                              for s in state.sources)),
        ("candidates", f"{state.candidates.rows} from {state.candidates.source}"),
        ("state version", str(state.state_version)),
    ], columns=["setting", "value"])
    status = status_text(state, measured, proposals, directory)
    return _section("Overview", _table(facts), f"<pre>{html.escape(status)}</pre>")


RANDOM_NOTE = (
    "The library's true hit rate is unknown, so random picking's expectation is a "
    "model-based estimate: for each round, the recorded results of its proposals times the "
    "mean, over the candidates the round could pick from (the unmeasured, eligible rows of "
    "round-K/ranking.csv; column pool), of each candidate's probability of being a "
    "discovery under the round's prediction and uncertainty, P = {formula} (column "
    "library_p). ± is the spread of random picking's count by chance (binomial). The "
    "estimate is only as good as the uncertainties: see the calibration section. A "
    "composition measured more than once counts once, by the mean of its exact values; a "
    "bound counts only when it settles the question.")


def _discoveries_section(directory: Path, state: CampaignState, measured: pd.DataFrame,
                         proposals: pd.DataFrame) -> str:
    settings = state.settings
    title = "Discoveries against random picking"
    if settings.threshold is None or not state.rounds:
        empty = pd.DataFrame(columns=list(DISCOVERY_COLUMNS))
        text = (discoveries_summary(empty, settings) if settings.threshold is None
                else "No round has been run yet.")
        return _section(title, f'<p class="headline">{html.escape(text)}</p>')
    table = discoveries_table(directory, state, measured, proposals)
    line = f'<p class="headline">{html.escape(discoveries_summary(table, settings))}</p>'
    formula = ("Φ((threshold − prediction) / uncertainty) (a min objective)"
               if settings.objective == "min"
               else "1 − Φ((threshold − prediction) / uncertainty)")
    shown = table.assign(
        random_expected=[f"{e:.2f} ± {sd:.2f}" for e, sd in
                         zip(table["random_expected"], table["random_sd"], strict=True)],
        library_p=[f"{p:.3f}" for p in table["library_p"]],
    ).drop(columns="random_sd").rename(columns={"random_expected": "random (expected)"})
    return _section(title, line, _table(shown), _note(RANDOM_NOTE.format(formula=formula)))


def _proposals_section(state: CampaignState, measured: pd.DataFrame,
                       proposals: pd.DataFrame) -> str:
    title = "Proposals and the rule that chose each"
    if proposals.empty:
        return _section(title, _note("No round has been run yet."))
    outcomes = recorded_outcomes(state, measured)
    result = {(int(r), k): (m, d) for r, k, m, d in outcomes.itertuples(index=False)}
    found = [result.get((int(r), _key(f)), ("", None))
             for r, f in zip(proposals["round"], proposals["formula"], strict=True)]
    shown = pd.DataFrame({
        "round": proposals["round"].astype(int), "batch": proposals["batch"],
        "formula": proposals["formula"], "rule": proposal_rules(state, proposals),
        "why": proposals.get("why", ""),
        "predicted": pd.to_numeric(proposals["predicted"], errors="coerce"),
        "uncertainty": pd.to_numeric(proposals["uncertainty"], errors="coerce"),
        "in_domain": proposals["in_domain"], "measured": [m for m, _ in found]})
    if state.settings.threshold is not None:
        shown["discovery"] = ["" if d is None else ("yes" if d else "no") for _, d in found]
    shown = shown.sort_values(["round", "batch"], ascending=[False, True], kind="stable")
    fallback = "rule" not in proposals or (proposals["rule"].astype("string").fillna("")
                                            .str.strip() == "").any()
    note = ("Latest round first. rule: the rule that chose the proposal"
            + ("; where the proposal file has no rule, the round's strategy in campaign.json"
               if fallback else "") + ". why: the reason written when it was proposed.")
    return _section(title, _table(shown, max_rows=100), _note(note))


def _best_section(state: CampaignState, measured: pd.DataFrame, label: str) -> str:
    best = best_per_round(state, measured)
    if best.empty:
        return _section("Best measured so far", _note("No exact measured value yet."))
    return _section("Best measured so far, per round", best_figure(best, label), _table(best))


def _prediction_sections(measured: pd.DataFrame, proposals: pd.DataFrame,
                         label: str) -> list[str]:
    comparison = recorded_vs_predicted(measured, proposals)
    if comparison.empty:
        empty = _note("No result of a proposal has been recorded yet.")
        return [_section("Predicted vs measured", empty),
                _section("Calibration of the proposals", empty)]
    table = coverage(comparison)
    within = comparison.loc[comparison["censor"] == "", "z"].abs()
    summary = _note(f"{len(comparison)} recorded results of proposals; "
                    f"{(within <= 1).mean():.0%} within 1 sd and {(within <= 2).mean():.0%} "
                    "within 2 sd of the prediction made when they were proposed "
                    "(68% and 95% if the uncertainty is calibrated).")
    return [_section("Predicted vs measured (was the model right?)",
                     parity_figure(comparison, label), summary, _table(comparison)),
            _section("Calibration of the proposals", coverage_figure(table),
                     _note("Fraction of measured values inside the central normal interval "
                           "of each level around the prediction; on the diagonal the "
                           "uncertainties are right, below it they are too small."),
                     _table(table))]


def _pareto_section(directory: Path, state: CampaignState, label: str) -> str:
    if not state.rounds:
        return _section("Pareto front of the candidates", _note("No round has been run yet."))
    last = state.rounds[-1]
    ranking = pd.read_csv(directory / last.ranking, keep_default_na=False,
                          dtype={"formula": str, "family": str})
    for column in ("prediction", "uncertainty", "supply_risk"):
        ranking[column] = pd.to_numeric(ranking[column], errors="coerce")
    ranking["measured"] = ranking["measured"].astype(str) == "True"
    ranking["pareto"] = ranking["pareto"].astype(str) == "True"
    front = ranking[ranking["pareto"] & ~ranking["measured"]]
    return _section(f"Pareto front of the candidates (model of round {last.round})",
                    pareto_figure(ranking, label),
                    _note("Predicted value against supply risk for every candidate not yet "
                          "measured; red: not beaten on both by any other."),
                    _table(front[["formula", "prediction", "uncertainty", "supply_risk"]]))


def _cards_section(directory: Path, state: CampaignState) -> str:
    from matgenome.modelfile import render_card

    blocks = []
    for entry in state.rounds:
        card = json.loads((directory / entry.model / "card.json").read_text())
        facts = (f"round {entry.round}: recipe {entry.recipe}, trained on "
                 f"{entry.trained_on} rows, model hash {entry.model_sha256[:12]}")
        blocks.append(f"<details><summary>{html.escape(facts)}</summary>"
                      f"<pre>{html.escape(render_card(card))}</pre></details>")
    return _section("Model card of each round", *(blocks or [_note("No round yet.")]))


def write_report(directory: Path, state: CampaignState, measured: pd.DataFrame,
                 proposals: pd.DataFrame, output: Path) -> Path:
    from matgenome.files import atomic_path

    page = build_report(directory, state, measured, proposals)
    with atomic_path(output) as tmp:
        tmp.write_text(page, encoding="utf-8")
        tmp.chmod(0o644)  # a page to share: the temporary file is created private
    return output
