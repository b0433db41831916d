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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matgenome.targets import normalise_target

COVERAGE_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.68, 0.8, 0.9, 0.95)


def _better(objective: str) -> Any:
    return np.nanmin if objective == "min" else np.nanmax


def best_per_round(state: dict[str, Any], measured: pd.DataFrame) -> pd.DataFrame:
    """Best exact measured value among rows recorded up to each round (0: starting data)."""
    exact = measured[measured["censor"].fillna("") == ""]
    best = _better(state["settings"]["objective"])
    rows = []
    for k in range(len(state["rounds"]) + 1):
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
    from matgenome.composition import CompositionKey

    recorded = measured[measured["proposed_in"].notna()].copy()
    if recorded.empty or proposals.empty:
        return pd.DataFrame(columns=["formula", "round", "predicted", "uncertainty",
                                     "measured", "censor", "z"])
    index = {(CompositionKey.parse(f), int(r)): (p, u) for f, r, p, u in zip(
        proposals["formula"], proposals["round"], proposals["predicted"],
        proposals["uncertainty"], strict=True)}
    found = [index.get((CompositionKey.parse(f), int(r)), (np.nan, np.nan))
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
    from scipy.stats import norm

    z = comparison.loc[comparison["censor"] == "", "z"].to_numpy(float)
    z = z[np.isfinite(z)]
    observed = [float(np.mean(np.abs(z) <= norm.ppf((1 + p) / 2))) if len(z) else np.nan
                for p in COVERAGE_LEVELS]
    return pd.DataFrame({"expected": COVERAGE_LEVELS, "observed": observed, "n": len(z)})


def status_text(state: dict[str, Any], measured: pd.DataFrame,
                proposals: pd.DataFrame) -> str:
    settings = state["settings"]
    target = normalise_target(settings["target"])
    lines = [f"campaign {state['name']}: {target['label']}, objective "
             f"{settings['objective']}"
             + (f", threshold {settings['threshold']:g}" if settings["threshold"] is not None
                else "")]
    started = int((measured["recorded_in"].fillna(0) == 0).sum())
    lines.append(f"{len(measured)} measurements: {started} starting rows, "
                 f"{len(measured) - started} recorded in the campaign")
    recorded_keys = _recorded_keys(measured)
    for entry in state["rounds"]:
        batch = proposals[proposals["round"] == entry["round"]]
        done = sum(_key(f) in recorded_keys for f in batch["formula"])
        lines.append(f"round {entry['round']}: trained on {entry['trained_on']} rows "
                     f"({entry['recipe']}), {entry['strategy']}, proposed {len(batch)}, "
                     f"{done} measured")
    best = best_per_round(state, measured)
    if not best.empty:
        last = best.iloc[-1]
        lines.append(f"best measured so far: {last['best']:.4g} ({last['formula']})")
    pending = [f for f in proposals["formula"] if _key(f) not in recorded_keys]
    pending = list(dict.fromkeys(pending))
    lines.append(f"pending proposals: {len(pending)}"
                 + (f" ({', '.join(pending[:10])}{', ...' if len(pending) > 10 else ''})"
                    if pending else ""))
    return "\n".join(lines)


def _key(formula: str):
    from matgenome.composition import CompositionKey

    return CompositionKey.parse(formula)


def _recorded_keys(measured: pd.DataFrame) -> set:
    return {_key(f) for f in measured["formula"]}


# --- figures -------------------------------------------------------------------------------


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
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


def best_figure(best: pd.DataFrame, label: str) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    axes.step(best["round"], best["best"], where="post", marker="o")
    axes.set_xlabel("Round (0 = starting data)")
    axes.set_ylabel(f"Best measured, {label}")
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
    axes.set_xlabel(f"Measured {label} (◀ = bound only)")
    axes.set_ylabel(f"Predicted when proposed, {label} (± 1 sd)")
    axes.legend(fontsize=8)
    return _png(figure)


def coverage_figure(table: pd.DataFrame) -> str:
    figure = _figure(5.0, 4.2)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="black", lw=1, ls="--", label="ideal")
    axes.plot(table["expected"], table["observed"], marker="o",
              label=f"proposals ({int(table['n'].iloc[0])} exact results)")
    axes.set_xlabel("Expected fraction inside the central interval")
    axes.set_ylabel("Observed fraction")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.legend(fontsize=8)
    return _png(figure)


def pareto_figure(ranking: pd.DataFrame, label: str) -> str:
    figure = _figure()
    axes = figure.add_subplot()
    open_rows = ranking[~ranking["measured"].astype(bool)]
    front = open_rows[open_rows["pareto"].astype(bool)]
    axes.scatter(open_rows["supply_risk"], open_rows["prediction"], s=10, alpha=0.4,
                 label="candidates not yet measured")
    axes.scatter(front["supply_risk"], front["prediction"], s=30, color="crimson",
                 label="Pareto front")
    for _, row in front.head(10).iterrows():
        axes.annotate(str(row["formula"]), (row["supply_risk"], row["prediction"]),
                      fontsize=6, xytext=(3, 3), textcoords="offset points")
    axes.set_xlabel("Supply risk (max HHI / 10 000)")
    axes.set_ylabel(f"Predicted {label}")
    axes.legend(fontsize=8)
    return _png(figure)


# --- the page ------------------------------------------------------------------------------

STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}th{background:#f0f0f0}
img.figure{max-width:100%;border:1px solid #eee}pre{background:#f7f7f7;padding:.6em;
font-size:.8em;overflow-x:auto}.note{color:#555;font-size:.9em}"""


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


def build_report(directory: Path, state: dict[str, Any], measured: pd.DataFrame,
                 proposals: pd.DataFrame) -> str:
    """The report page as a string."""
    label = normalise_target(state["settings"]["target"])["label"]
    parts = [_overview(state, measured, proposals), _best_section(state, measured, label),
             *_prediction_sections(measured, proposals, label),
             _pareto_section(directory, state, label), _cards_section(directory, state)]
    title = html.escape(f"Campaign {state['name']}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}'
            f"</title><style>{STYLE}</style></head><body><h1>{title}</h1>{''.join(parts)}"
            "</body></html>\n")


def _overview(state: dict[str, Any], measured: pd.DataFrame, proposals: pd.DataFrame) -> str:
    settings = state["settings"]
    facts = pd.DataFrame([
        ("target", normalise_target(settings["target"])["label"]),
        ("objective", settings["objective"]),
        ("threshold", "" if settings["threshold"] is None else f"{settings['threshold']:g}"),
        ("constraints", json.dumps(settings["constraints"], sort_keys=True)),
        ("model options", json.dumps(settings["model"], sort_keys=True)),
        ("sources", "; ".join(f"{s['kind']} {s['name']} ({s['rows']} rows)"
                              for s in state["sources"])),
        ("candidates", f"{state['candidates']['rows']} from {state['candidates']['source']}"),
        ("state version", str(state["state_version"])),
    ], columns=["setting", "value"])
    status = status_text(state, measured, proposals)
    return _section("Overview", _table(facts), f"<pre>{html.escape(status)}</pre>")


def _best_section(state: dict[str, Any], measured: pd.DataFrame, label: str) -> str:
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


def _pareto_section(directory: Path, state: dict[str, Any], label: str) -> str:
    if not state["rounds"]:
        return _section("Pareto front of the candidates", _note("No round has been run yet."))
    last = state["rounds"][-1]
    ranking = pd.read_csv(directory / last["ranking"], keep_default_na=False,
                          dtype={"formula": str, "family": str})
    for column in ("prediction", "uncertainty", "supply_risk"):
        ranking[column] = pd.to_numeric(ranking[column], errors="coerce")
    ranking["measured"] = ranking["measured"].astype(str) == "True"
    ranking["pareto"] = ranking["pareto"].astype(str) == "True"
    front = ranking[ranking["pareto"] & ~ranking["measured"]]
    return _section(f"Pareto front of the candidates (model of round {last['round']})",
                    pareto_figure(ranking, label),
                    _note("Predicted value against supply risk for every candidate not yet "
                          "measured; red: not beaten on both by any other."),
                    _table(front[["formula", "prediction", "uncertainty", "supply_risk"]]))


def _cards_section(directory: Path, state: dict[str, Any]) -> str:
    from matgenome.modelfile import render_card

    blocks = []
    for entry in state["rounds"]:
        card = json.loads((directory / entry["model"] / "card.json").read_text())
        facts = (f"round {entry['round']}: recipe {entry['recipe']}, trained on "
                 f"{entry['trained_on']} rows, model hash {entry['model_sha256'][:12]}")
        blocks.append(f"<details><summary>{html.escape(facts)}</summary>"
                      f"<pre>{html.escape(render_card(card))}</pre></details>")
    return _section("Model card of each round", *(blocks or [_note("No round yet.")]))


def write_report(directory: Path, state: dict[str, Any], measured: pd.DataFrame,
                 proposals: pd.DataFrame, output: Path) -> Path:
    from matgenome.io import atomic_path

    page = build_report(directory, state, measured, proposals)
    with atomic_path(output) as tmp:
        tmp.write_text(page, encoding="utf-8")
        tmp.chmod(0o644)  # a page to share: the temporary file is created private
    return output
