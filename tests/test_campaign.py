"""Closed-loop campaigns: a three-round campaign run from the command line, answered from
held-out OBELiX rows; matching and refusing recorded rows; locking; interrupted commands;
the HTML report, also rendered by a headless Chromium."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from matgenome.campaign import Campaign, CampaignBusy, CampaignSettings
from matgenome.cli import main
from matgenome.composition_keys import key_of
from matgenome.datasets import load
from matgenome.io import InputError
from matgenome.modelfile import load_model

COLUMN = "Ionic conductivity (S cm-1)"
READ = ["--target-column", COLUMN, "--log10", "--target-unit", "S/cm"]
MODEL = ["--recipe", "conductivity", "--n-estimators", "40"]
BATCH = 4
ROUNDS = 3
STATE_FILES = ("campaign.json", "measurements.csv", "candidates.csv")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _cell(target: float, censored: bool) -> str:
    """A spreadsheet cell as a lab writes it: S/cm, bounds as '<1E-10'."""
    return f"<{10 ** target:.0E}" if censored else f"{10 ** target:.6g}"


def _write_results(rows: pd.DataFrame, path: Path) -> Path:
    pd.DataFrame({"formula": rows["formula"],
                  COLUMN: [_cell(t, c) for t, c in zip(rows["target"], rows["censor"].ne(""),
                                                        strict=True)]}).to_csv(path, index=False)
    return path


def _held_out_split(tmp: Path) -> tuple[Path, Path, dict]:
    """Starting data (140 OBELiX rows) and a candidate library of 60 held-out rows whose
    measured values answer the proposals."""
    frame = load("obelix")
    order = np.random.default_rng(0).permutation(len(frame))
    held, start = frame.iloc[order[:60]], frame.iloc[order[60:200]]
    start_file = _write_results(start, tmp / "start.csv")
    candidates = tmp / "library.csv"
    held[["formula", "family"]].to_csv(candidates, index=False)
    answers = {key_of(row.formula): row for row in held.itertuples()}
    return start_file, candidates, answers


def _cli(*args: str) -> None:
    assert main([*map(str, args)]) == 0


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in STATE_FILES}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A full campaign from the CLI: init, then three rounds of propose -> answer -> record."""
    tmp = tmp_path_factory.mktemp("campaign")
    start, library, answers = _held_out_split(tmp)
    directory = tmp / "camp"
    _cli("campaign", "init", directory, "--data", start, *READ, "--candidates", library,
         "--mobile-ion", "Li", "--threshold", "-3", *MODEL, "-q")
    measured_before = []
    for number in range(1, ROUNDS + 1):
        measured_before.append(Campaign(directory).measurements)
        _cli("campaign", "propose", directory, "--batch", BATCH, "-q")
        proposal = pd.read_csv(directory / f"round-{number}" / "proposal.csv")
        rows = pd.DataFrame([answers[key_of(f)] for f in proposal["formula"]])
        rows["formula"] = proposal["formula"].to_numpy()
        _cli("campaign", "record", directory,
             _write_results(rows, tmp / f"results-{number}.csv"), "-q")
    report = tmp / "report.html"
    _cli("campaign", "report", directory, "-o", report)
    return {"dir": directory, "answers": answers, "before": measured_before,
            "report": report, "tmp": tmp}


def test_every_proposal_says_which_rule_chose_it_and_why(run: dict) -> None:
    from matgenome.ranking import DEFAULT_RULE

    state = Campaign(run["dir"]).state
    for number in range(1, ROUNDS + 1):
        proposal = pd.read_csv(run["dir"] / f"round-{number}" / "proposal.csv")
        assert list(proposal.columns[:5]) == ["round", "batch", "formula", "family", "rule"]
        assert proposal["why"].notna().all()
        strategy = state.rounds[number - 1].strategy
        assert strategy in ("cold start", DEFAULT_RULE)
        for row in proposal.itertuples():
            if strategy == "cold start":
                assert row.rule == "cold start"
                assert row.why.startswith("cold start: one random member of descriptor "
                                          f"cluster {row.batch} of {len(proposal)}")
            else:
                assert row.rule in ("exploit", "explore")
                assert row.why.startswith(f"{row.rule}: predicted {row.predicted:.3g} ± ")
            assert "the best measured value" in row.why
            # Out of the domain only on purpose: an explore or cold-start pick that says so.
            if not row.in_domain:
                assert row.rule != "exploit"
                assert "outside the model's domain" in row.why and "on purpose" in row.why
        ranked = pd.read_csv(run["dir"] / f"round-{number}" / "ranking.csv")
        assert {"rule", "why"} <= set(ranked.columns)
        # An exploit pick is one of the batch's best predictions inside the domain.
        inside = ranked[ranked["in_domain"].astype(bool) & ranked["rank"].notna()]
        top = set(inside.nsmallest(len(proposal), "rank")["formula"])
        assert set(proposal.loc[proposal["rule"].eq("exploit"), "formula"]) <= top


def test_batch_reasons_in_words() -> None:
    from matgenome.screen import RankSettings, batch_reason

    row = pd.Series({"prediction": -2.5, "uncertainty": 0.4, "rank": 3, "in_domain": True,
                     "domain_distance": 0.31, "domain_reason": ""})
    settings = RankSettings(threshold=-3.0)
    exploit = batch_reason(row, "exploit", 1, 5, settings, best=-2.0)
    assert exploit == ("exploit: predicted -2.5 ± 0.4 (1 sd), rank 3 of the unmeasured "
                       "candidates by predicted value; 0.5 short of the best measured "
                       "value -2")
    far = row.copy()
    far["in_domain"], far["domain_reason"] = False, "far from training data"
    explore = batch_reason(far, "explore", 5, 5, settings, best=-3.5)
    assert explore.startswith("explore: predicted -2.5 ± 0.4 (1 sd), rank 3")
    assert "domain distance 0.31" in explore and "1 better than the best measured" in explore
    assert explore.endswith("outside the model's domain (far from training data): proposed "
                            "on purpose to explore, so the prediction is a guess")
    cold = batch_reason(row, "cold start", 2, 5, settings, best=None)
    assert cold.startswith("cold start: one random member of descriptor cluster 2 of 5 "
                           "(no measured value reaches the threshold -3 yet")
    low = batch_reason(row, "exploit", 1, 5, RankSettings(objective="min"), best=-2.0)
    assert low.endswith("0.5 better than the best measured value -2")
    target = batch_reason(row, "exploit", 1, 5,
                          RankSettings(objective="target", target=-2.4), best=-2.0)
    assert target.endswith("predicted 0.3 closer to the target -2.4 than the best measured "
                           "value -2")


def test_measured_compositions_are_never_proposed_again(run: dict) -> None:
    directory = run["dir"]
    proposed: set = set()
    for number, before in enumerate(run["before"], start=1):
        proposal = pd.read_csv(directory / f"round-{number}" / "proposal.csv")
        keys = {key_of(f) for f in proposal["formula"]}
        assert len(keys) == BATCH
        assert not keys & {key_of(f) for f in before["formula"]}
        assert not keys & proposed  # every earlier proposal was measured before this round
        proposed |= keys
    measured = Campaign(directory).measurements
    assert (measured["proposed_in"].notna()).sum() == ROUNDS * BATCH
    results = Campaign(directory).results()  # each result beside the prediction that proposed it
    assert len(results) == ROUNDS * BATCH and np.isfinite(results["predicted"]).all()
    assert len(measured) == len(run["before"][0]) + ROUNDS * BATCH


def test_each_round_model_includes_every_recorded_result(run: dict) -> None:
    directory = run["dir"]
    measured = Campaign(directory).measurements
    for number in range(2, ROUNDS + 1):
        model = load_model(directory / f"round-{number}" / "model")
        assert len(model.training_data) == len(run["before"][number - 1])
        assert model.card["training_data"]["rows_read"] == len(run["before"][number - 1])
        fresh = measured[(measured["recorded_in"] == number - 1) & (measured["censor"] == "")]
        assert len(fresh) >= 2
        previous = load_model(directory / f"round-{number - 1}" / "model")
        before = previous.predict(fresh["formula"]).mean
        after = model.predict(fresh["formula"]).mean
        truth = fresh["value"].to_numpy(float)
        # The prediction for a recorded composition moves to its measured value.
        assert np.mean(np.abs(after - truth)) < 0.6 * np.mean(np.abs(before - truth))
        assert np.abs(after - truth).max() < 0.25
        assert model.predict(fresh["formula"]).known["known_count"].min() >= 1


def test_status_lists_rounds_best_and_pending(run: dict) -> None:
    text = Campaign(run["dir"]).status()
    for number in range(1, ROUNDS + 1):
        assert f"round {number}: " in text and f"proposed {BATCH}, {BATCH} measured" in text
    assert "pending proposals: 0" in text
    measured = Campaign(run["dir"]).measurements
    best = measured.loc[measured["censor"] == "", "value"].max()
    assert f"best measured so far: {best:.4g}" in text


class _Checker(HTMLParser):
    VOID: ClassVar[set[str]] = {"meta", "img", "br", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[str] = []
        self.doctype = False

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag: str, attrs: list) -> None:
        values = dict(attrs)
        if tag == "img":
            self.images.append(values.get("src", ""))
        for name in ("src", "href"):
            if str(values.get(name, "")).startswith(("http:", "https:", "//", "file:")):
                self.errors.append(f"external resource {values[name]}")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")


class _Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (the header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr" and self.tables:
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None:
            self.tables[-1][-1].append("".join(self.cell))
            self.cell = None


def _tables(page: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def _table_with(tables: list[list[list[str]]], column: str) -> tuple[list[str], list]:
    """The header and rows of the first table with ``column``."""
    table = next(t for t in tables if column in t[0])
    return table[0], table[1:]


def _setting(tables: list[list[list[str]]], name: str) -> str:
    """A value of the report's settings table."""
    _, rows = _table_with(tables, "setting")
    return dict(rows)[name]


def test_report_is_valid_self_contained_html_with_figures(run: dict) -> None:
    page = run["report"].read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(page)
    checker.close()
    assert checker.doctype and not checker.errors and not checker.stack
    assert "<script" not in page
    assert len(checker.images) == 4  # best so far, parity, calibration, Pareto front
    from PIL import Image

    for src in checker.images:
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        image = Image.open(io.BytesIO(base64.b64decode(src[len(prefix):])))
        assert image.size[0] > 300 and image.size[1] > 200
    for title in ("Best measured so far", "Predicted vs measured", "Calibration",
                  "Pareto front", "Model card of each round"):
        assert title in page
    assert page.count("<details>") == ROUNDS
    for formula in pd.read_csv(run["dir"] / "round-1" / "proposal.csv")["formula"]:
        assert formula in page  # every recorded proposal is in the predicted-vs-measured table


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed "
                    "(apt-get install chromium); the report is not rendered")
def test_report_renders_in_headless_chromium(run: dict) -> None:
    from PIL import Image

    tmp = run["tmp"]
    shot = tmp / "report.png"
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={tmp / 'chromium-profile'}"]
    url = run["report"].resolve().as_uri()
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1280,2400", url],
                   check=True, capture_output=True, timeout=180)
    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (2400, 1280)
    colours = np.unique(image.reshape(-1, 3), axis=0)
    assert len(colours) > 200  # text, tables and plotted figures, not a blank page
    dom = subprocess.run([*flags, "--dump-dom", url], check=True, capture_output=True,
                         text=True, timeout=180).stdout
    assert dom.count('<img class="figure"') == 4 and "Pareto front" in dom
    tables = _tables(dom)
    assert _setting(tables, "threshold") == "-3 (a discovery is a measured value ≥ -3)"
    assert "random picking from the same library would have found about" in dom
    assert "(model-based estimate)" in dom
    header, rows = _table_with(tables, "rule")
    assert {"rule", "why"} <= set(header) and len(rows) == ROUNDS * BATCH
    assert all(row[header.index("rule")] for row in rows)


# --- the report: discoveries against random picking, rules, threshold, figures -------------


def _is_target(row) -> bool:
    return row.censor == "" and row.target >= -3


def test_report_counts_discoveries_against_random_picking(run: dict) -> None:
    """Discoveries are counted from the measured values; random picking's expectation is
    the recorded results times the pool's mean P(value >= threshold), recomputed here from
    each round's ranking.csv."""
    from scipy.stats import norm

    directory, answers = run["dir"], run["answers"]
    table = Campaign(directory).discoveries()
    assert table["round"].tolist() == list(range(1, ROUNDS + 1))
    assert table["recorded"].tolist() == [BATCH] * ROUNDS
    for number, row in zip(table["round"], table.itertuples(), strict=True):
        proposal = pd.read_csv(directory / f"round-{number}" / "proposal.csv")
        hits = sum(_is_target(answers[key_of(f)]) for f in proposal["formula"])
        assert row.discoveries == hits
        ranking = pd.read_csv(directory / f"round-{number}" / "ranking.csv")
        pool = ranking[ranking["rank"].notna() & ~ranking["measured"].astype(bool)]
        p = norm.sf((-3 - pool["prediction"]) / pool["uncertainty"]).mean()
        assert row.pool == len(pool)
        assert row.library_p == pytest.approx(p, rel=1e-9)
        assert row.random_expected == pytest.approx(BATCH * p, rel=1e-9)
        assert row.random_sd == pytest.approx(np.sqrt(BATCH * p * (1 - p)), rel=1e-9)
    # Here the library's answers are known: the model's estimate of the first round's hit
    # rate is of the right size (it is an estimate, so only within a factor of two).
    ranking = pd.read_csv(directory / "round-1" / "ranking.csv")
    pool = ranking[ranking["rank"].notna() & ~ranking["measured"].astype(bool)]
    truth = np.mean([_is_target(answers[key_of(f)]) for f in pool["formula"]])
    assert 0.5 * truth <= table["library_p"].iloc[0] <= 2 * truth
    found, expected = int(table["discoveries"].sum()), table["random_expected"].sum()
    line = (f"{found} discoveries (measured ≥ -3) in {ROUNDS * BATCH} recorded results of "
            f"proposals over {ROUNDS} rounds; random picking from the same library would "
            f"have found about {expected:.1f} ± ")
    assert line in run["report"].read_text(encoding="utf-8")
    assert line in Campaign(directory).status()


def _rules_of(page: str) -> list[tuple[int, str, str, str]]:
    header, rows = _table_with(_tables(page), "rule")
    return sorted((int(r[header.index("round")]), r[header.index("formula")],
                   r[header.index("rule")], r[header.index("why")]) for r in rows)


def test_report_shows_the_rule_of_each_proposal(run: dict, tmp_path: Path) -> None:
    """The rule column of proposal.csv where it exists, else the round's strategy."""
    copy = tmp_path / "camp"
    shutil.copytree(run["dir"], copy, ignore=shutil.ignore_patterns(".lock"))
    first, last = copy / "round-1" / "proposal.csv", copy / f"round-{ROUNDS}" / "proposal.csv"
    older = pd.read_csv(first, keep_default_na=False)  # a round proposed before the column
    older.drop(columns=[c for c in ("rule",) if c in older]).to_csv(first, index=False)
    newer = pd.read_csv(last, keep_default_na=False)
    newer["rule"] = ["exploit", "explore", "exploit", "cold start"][:len(newer)]
    newer["why"] = [f"reason {k}, with <markup> & more" for k in range(len(newer))]
    newer.to_csv(last, index=False)
    state = Campaign(copy).state
    Campaign(copy).report(tmp_path / "r.html")
    shown = _rules_of((tmp_path / "r.html").read_text(encoding="utf-8"))
    by_round = {n: [r for r in shown if r[0] == n] for n in range(1, ROUNDS + 1)}
    assert {rule for _, _, rule, _ in by_round[1]} == {state.rounds[0].strategy}
    assert sorted(rule for _, _, rule, _ in by_round[ROUNDS]) == sorted(newer["rule"])
    assert sorted(why for *_, why in by_round[ROUNDS]) == sorted(newer["why"])
    per_round = Campaign(copy).discoveries()
    assert per_round["rules"].iloc[-1] == "exploit 2, explore 1, cold start 1"


def test_proposal_rules_fall_back_to_the_round_strategy() -> None:
    from matgenome.campaign.report import proposal_rules

    state = SimpleNamespace(rounds=[SimpleNamespace(round=1, strategy="cold start"),
                                    SimpleNamespace(round=2, strategy="thompson")])
    proposals = pd.DataFrame({"round": [1, 1, 2, 2], "rule": [np.nan, "", "exploit", " "]})
    assert proposal_rules(state, proposals).tolist() == ["cold start", "cold start",
                                                         "exploit", "thompson"]
    assert proposal_rules(state, proposals.drop(columns="rule")).tolist() == [
        "cold start", "cold start", "thompson", "thompson"]


def test_discovery_probability_and_outcomes_follow_the_objective() -> None:
    from scipy.stats import norm

    from matgenome.campaign.report import discovery_probability, recorded_outcomes

    mean, sd = np.array([-2.0, -4.0, -3.0, np.nan]), np.array([1.0, 2.0, 0.0, 1.0])
    p = discovery_probability(mean, sd, -3.0, "max")
    np.testing.assert_allclose(p[:3], [norm.sf(-1.0), norm.sf(0.5), 1.0], rtol=1e-12)
    assert np.isnan(p[3])
    q = discovery_probability(mean, sd, -3.0, "min")
    np.testing.assert_allclose(q[:3], [norm.cdf(-1.0), norm.cdf(0.5), 1.0], rtol=1e-12)
    measured = pd.DataFrame({
        "formula": ["Li3PS4", "Li6P2S8", "LiI", "Li3N", "Li2S"],  # Li6P2S8 repeats Li3PS4
        "value": [-2.9, -3.3, -2.0, -10.0, -2.5], "censor": ["", "", ">", "<", "<"],
        "proposed_in": pd.array([1, 1, 1, 2, 2], dtype="Int64")})
    state = SimpleNamespace(settings=SimpleNamespace(threshold=-3.0, objective="max"))
    out = recorded_outcomes(state, measured)
    # The repeat is one composition, by its mean (-3.1); a lower bound above the
    # threshold is a discovery, an upper bound is not (it does not settle the question).
    assert out["discovery"].tolist() == [False, True, False, False]
    assert out["measured"].tolist() == ["-3.1", ">-2", "<-10", "<-2.5"]
    state.settings.objective = "min"  # an upper bound at or below it settles it
    assert recorded_outcomes(state, measured)["discovery"].tolist() == [True, False, True,
                                                                        False]
    state.settings.threshold = None
    assert recorded_outcomes(state, measured)["discovery"].isna().all()


def test_report_without_a_threshold_says_so(tmp_path: Path) -> None:
    start = tmp_path / "start.csv"
    pd.DataFrame({"formula": ["Li7La3Zr2O12", "Li3PS4", "Li6PS5Cl", "LiI", "Li2S", "Li3N",
                              "LiCl", "Li2O"],
                  COLUMN: ["3e-4", "2e-4", "1.1e-3", "1e-7", "1e-9", "1e-3", "1e-8", "1e-9"]}
                 ).to_csv(start, index=False)
    library = tmp_path / "library.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12", "Li6PS5Br", "LiBr"]}).to_csv(library,
                                                                         index=False)
    campaign = Campaign.init(tmp_path / "c", CampaignSettings(
        data=[start], candidates=library, record=_settings(),
        model={"recipe": "conductivity", "n_estimators": 20}))
    proposal = campaign.propose(batch=2)
    results = tmp_path / "results.csv"
    pd.DataFrame({"formula": proposal["formula"], COLUMN: ["1e-2", "1e-6"]}
                 ).to_csv(results, index=False)
    campaign.record(results)
    page = campaign.report(tmp_path / "r.html").read_text(encoding="utf-8")
    tables = _tables(page)
    assert _setting(tables, "threshold") == "none (no discovery threshold given at init)"
    assert ("No threshold was given at init, so no result counts as a discovery and there "
            "is no comparison with random picking.") in page
    header, rows = _table_with(tables, "rule")
    assert "discovery" not in header and len(rows) == 2
    written = pd.read_csv(campaign.directory / "round-1" / "proposal.csv",
                          keep_default_na=False)
    expected = (written["rule"] if "rule" in written
                else [campaign.state.rounds[0].strategy] * 2)
    assert sorted(row[header.index("rule")] for row in rows) == sorted(expected)
    assert all(row[header.index("rule")] for row in rows)
    assert campaign.discoveries().empty
    status = campaign.status()
    assert status.splitlines()[0].endswith("threshold none") and "discover" not in status


def _captured(monkeypatch) -> list:
    """Figures the report draws, kept instead of encoded."""
    import matgenome.campaign.report as report

    figures: list = []
    monkeypatch.setattr(report, "_png", lambda figure: figures.append(figure) or "")
    return figures


def test_parity_axis_labels_fit_inside_the_figure(monkeypatch) -> None:
    from matgenome.campaign.report import parity_figure

    figures = _captured(monkeypatch)
    comparison = pd.DataFrame({"round": [1, 1, 2], "predicted": [-3.0, -4.0, -2.5],
                               "uncertainty": [1.0, 0.5, 0.8], "measured": [-2.8, -5.0, -2.0],
                               "censor": ["", "", ""]})
    for label in ("log10(σ / S cm⁻¹)", "yield strength at room temperature / MPa"):
        parity_figure(comparison, label)
        figure = figures[-1]
        figure.canvas.draw()
        renderer = figure.canvas.get_renderer()
        inside = figure.bbox.expanded(1.0, 1.0)
        axes = figure.axes[0]
        for text in (axes.xaxis.label, axes.yaxis.label):
            box = text.get_window_extent(renderer)
            assert inside.x0 <= box.x0 and box.x1 <= inside.x1, text.get_text()
            assert inside.y0 <= box.y0 and box.y1 <= inside.y1, text.get_text()
        assert "Predicted when proposed" in axes.yaxis.label.get_text()


def test_pareto_labels_do_not_overlap(monkeypatch) -> None:
    from matplotlib.text import Text

    from matgenome.campaign.report import PARETO_LABELS, pareto_figure

    figures = _captured(monkeypatch)
    rng = np.random.default_rng(3)
    n_front = 12  # a tight cluster: names drawn at one offset would pile up
    front = pd.DataFrame({"formula": [f"Li{k + 1}La3Zr2O12" for k in range(n_front)],
                          "supply_risk": 0.2 + 0.002 * np.arange(n_front),
                          "prediction": -3.0 - 0.05 * np.arange(n_front),
                          "rank": np.arange(1, n_front + 1), "pareto": True,
                          "measured": False})
    rest = pd.DataFrame({"formula": [f"Na{k + 1}PS4" for k in range(40)],
                         "supply_risk": rng.uniform(0.1, 0.8, 40),
                         "prediction": rng.uniform(-10, -4, 40), "rank": np.arange(13, 53),
                         "pareto": False, "measured": False})
    pareto_figure(pd.concat([front, rest], ignore_index=True), "log10(σ / S cm⁻¹)")
    figure = figures[-1]
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    axes = figure.axes[0]
    labels = [t for t in axes.texts if t.get_text()]
    assert 1 <= len(labels) <= PARETO_LABELS
    names = dict(zip(front["formula"], zip(front["supply_risk"], front["prediction"],
                                            strict=True), strict=True))
    boxes = []
    for label in labels:
        assert tuple(label.xy) == pytest.approx(names[label.get_text()])  # its own point
        boxes.append(Text.get_window_extent(label, renderer))
    frame = axes.get_window_extent(renderer)
    for i, box in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1
        assert frame.y0 <= box.y0 and box.y1 <= frame.y1
        assert not any(box.overlaps(other) for other in boxes[i + 1:])
    legend = axes.get_legend().get_window_extent(renderer)
    assert not any(box.overlaps(legend) for box in boxes)


# --- recording: matching, refusing, repeats ------------------------------------------------


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    """A campaign created from a small table (no round run: recording needs none)."""
    start = tmp_path / "start.csv"
    pd.DataFrame({"formula": ["Li7La3Zr2O12", "Li3PS4", "Li6PS5Cl", "Li3N", "LiI", "Li2S"],
                  COLUMN: ["3e-4", "2e-4", "1.1e-3", "<1E-10", "1e-7", "1e-9"]}
                 ).to_csv(start, index=False)
    library = tmp_path / "library.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12", "Li6PS5Br"]}).to_csv(library, index=False)
    Campaign.init(tmp_path / "c", CampaignSettings(data=[start], candidates=library,
                                                   record=_settings(), threshold=-3))
    return tmp_path / "c"


def _settings():
    from matgenome.campaign import RecordSettings

    return RecordSettings(target_column=COLUMN, log10=True, target_unit="S/cm")


def test_init_keeps_the_source_of_every_row(small: Path) -> None:
    measured = Campaign(small).measurements
    assert measured["source"].tolist()[:2] == ["start.csv row 2", "start.csv row 3"]
    assert measured.loc[3, "censor"] == "<" and measured.loc[3, "raw_value"] == "<1E-10"
    assert measured.loc[0, "value"] == pytest.approx(np.log10(3e-4))


def test_record_refuses_unknown_compositions_and_names_the_row(small: Path,
                                                               tmp_path: Path,
                                                               capsys) -> None:
    results = tmp_path / "results.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12", "Na3Zr2Si2PO12"], "sigma": ["10 mS/cm", "1"],
                  COLUMN: ["1.2e-2", "1e-3"]}).to_csv(results, index=False)
    before = _snapshot(small)
    assert main(["campaign", "record", str(small), str(results)]) == 2
    error = capsys.readouterr().err
    assert "row 3 (Na3Zr2Si2PO12)" in error and "--new" in error
    assert _snapshot(small) == before
    summary = Campaign(small).record(results, new=True)
    assert summary.new == 1 and summary.rows == 2
    assert Campaign(small).measurements["formula"].tolist()[-2:] == ["Li10GeP2S12",
                                                                     "Na3Zr2Si2PO12"]


def test_record_bad_value_names_row_and_value(small: Path, tmp_path: Path) -> None:
    results = tmp_path / "bad.csv"
    pd.DataFrame({"formula": ["Li6PS5Br", "Li10GeP2S12"], COLUMN: ["1e-3", "fast"]}
                 ).to_csv(results, index=False)
    with pytest.raises(InputError, match=r"row 3 \(Li10GeP2S12\): target 'fast'"):
        Campaign(small).record(results)


def test_repeat_is_added_never_overwritten(small: Path, tmp_path: Path) -> None:
    results = tmp_path / "repeat.csv"
    # The same composition as the starting Li7La3Zr2O12, written as a multiple.
    pd.DataFrame({"formula": ["Li14La6Zr4O24"], COLUMN: ["5e-4"]}).to_csv(results, index=False)
    summary = Campaign(small).record(results)
    assert summary.repeats == 1
    measured = Campaign(small).measurements
    lizo = key_of("Li7La3Zr2O12")
    same = measured[[key_of(f) == lizo for f in measured["formula"]]]
    assert same["value"].to_numpy() == pytest.approx(np.log10([3e-4, 5e-4]))
    assert same["source"].tolist() == ["start.csv row 2", "repeat.csv row 2"]
    again = Campaign(small).record(results)  # the same file twice: kept, and flagged
    assert again.repeats == 1 and len(again.same_content_recorded_at) == 1
    assert len(Campaign(small).measurements) == 8
    assert (small / ".gitignore").read_text().split() == [".lock", ".staging/"]


@pytest.fixture()
def named(tmp_path: Path) -> Path:
    """A campaign whose init named every reading option: formulas in 'Reduced Composition',
    values in COLUMN, S/cm, log10."""
    from matgenome.campaign import RecordSettings

    start = tmp_path / "start.csv"
    pd.DataFrame({"Reduced Composition": ["Li7La3Zr2O12", "Li3PS4", "Li6PS5Cl", "LiI"],
                  COLUMN: ["3e-4", "2e-4", "1.1e-3", "1e-7"]}).to_csv(start, index=False)
    library = tmp_path / "library.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12", "Li6PS5Br"]}).to_csv(library, index=False)
    Campaign.init(tmp_path / "c", CampaignSettings(
        data=[start], candidates=library, threshold=-3,
        record=RecordSettings(formula_column="Reduced Composition", target_column=COLUMN,
                              log10=True, target_unit="S/cm")))
    return tmp_path / "c"


INIT_READING = {"formula_column": "Reduced Composition", "target_column": COLUMN,
                "log10": True, "target_unit": "S/cm"}
FLAGS = {"formula_column": "--formula-column", "target_column": "--target-column",
         "target_unit": "--target-unit"}


def _record_with(directory: Path, results: Path, via: str, **options) -> None:
    """``campaign record`` from the command line or the Python API with only ``options``."""
    if via == "api":
        Campaign(directory).record(results, settings=options)
        return
    flags = [flag for name, value in options.items()
             for flag in (["--log10"] if name == "log10" else [FLAGS[name], value])]
    assert main(["campaign", "record", str(directory), str(results), "-q", *flags]) == 0


# Each case: the one option given, the file's columns and cell, and the value it records.
ONE_OPTION = {
    "formula_column": ({"formula_column": "Sample"}, ("Sample", COLUMN), "2e-3",
                       np.log10(2e-3)),
    "target_column": ({"target_column": "sigma"}, ("Reduced Composition", "sigma"), "2e-3",
                      np.log10(2e-3)),
    "target_unit": ({"target_unit": "mS/cm"}, ("Reduced Composition", COLUMN), "2",
                    np.log10(2e-3)),
}


@pytest.mark.parametrize("via", ["cli", "api"])
@pytest.mark.parametrize("case", sorted(ONE_OPTION))
def test_record_option_overrides_only_itself(named: Path, tmp_path: Path, via: str,
                                             case: str) -> None:
    options, (formula, value), cell, expected = ONE_OPTION[case]
    results = tmp_path / "results.csv"
    pd.DataFrame({formula: ["Li6PS5Br"], value: [cell]}).to_csv(results, index=False)
    _record_with(named, results, via, **options)
    campaign = Campaign(named)
    last = campaign.measurements.iloc[-1]
    assert last["formula"] == "Li6PS5Br" and last["source"] == "results.csv row 2"
    assert last["value"] == pytest.approx(expected, abs=1e-9)
    state = campaign.state
    assert state.recorded[-1].read.to_json() == {**INIT_READING, **options}
    assert state.settings.record.to_json() == INIT_READING  # init's options stay the default


@pytest.mark.parametrize("via", ["cli", "api"])
def test_record_log10_overrides_only_itself(tmp_path: Path, via: str, capsys) -> None:
    """log10 given alone is applied and the columns and unit stay init's; the values then
    are another quantity than the campaign's, which is refused, naming both."""
    from matgenome.campaign import RecordSettings

    start, library = tmp_path / "start.csv", tmp_path / "library.csv"
    pd.DataFrame({"Sample": ["Li3PS4", "Li6PS5Cl", "LiI"], "sigma": ["2e-4", "1e-3", "1e-7"]}
                 ).to_csv(start, index=False)
    pd.DataFrame({"formula": ["Li6PS5Br"]}).to_csv(library, index=False)
    log10 = via == "api"  # the command line can only switch log10 on
    directory = Campaign.init(
        tmp_path / "c", CampaignSettings(
            data=[start], candidates=library,
            record=RecordSettings(formula_column="Sample", target_column="sigma",
                                  target_unit="S/cm", log10=log10))).directory
    results = tmp_path / "results.csv"
    pd.DataFrame({"Sample": ["Li6PS5Br"], "sigma": ["2e-3"]}).to_csv(results, index=False)
    before = _snapshot(directory)
    read, kept = ("σ (S cm⁻¹)", "log10(σ / S cm⁻¹)") if log10 else ("log10(σ / S cm⁻¹)",
                                                                   "σ (S cm⁻¹)")
    message = f"results.csv is read as {read} but the campaign's target is {kept}"
    if via == "api":
        with pytest.raises(InputError, match=re.escape(message)):
            Campaign(directory).record(results, settings={"log10": False})
    else:
        assert main(["campaign", "record", str(directory), str(results), "--log10"]) == 2
        assert message in capsys.readouterr().err
    assert _snapshot(directory) == before
    Campaign(directory).record(results)  # without the option: init's reading, recorded
    assert Campaign(directory).measurements["value"].iloc[-1] == pytest.approx(
        np.log10(2e-3) if log10 else 2e-3, rel=1e-9)


def test_record_formula_column_alone_is_not_ignored(named: Path, tmp_path: Path,
                                                    capsys) -> None:
    """A results file whose formula column has another name than init's, recorded with
    only --formula-column: the values are read with init's column, unit and log10."""
    results = tmp_path / "lab-results.csv"
    pd.DataFrame({"Sample": ["Li10GeP2S12", "Li6PS5Br"], COLUMN: ["1.2e-2", "<1E-10"]}
                 ).to_csv(results, index=False)
    assert main(["campaign", "record", str(named), str(results)]) == 2  # init's column
    assert "column 'Reduced Composition' not found" in capsys.readouterr().err
    assert main(["campaign", "record", str(named), str(results),
                 "--formula-column", "Sample"]) == 0
    measured = Campaign(named).measurements.tail(2)
    assert measured["formula"].tolist() == ["Li10GeP2S12", "Li6PS5Br"]
    np.testing.assert_allclose(measured["value"], np.log10([1.2e-2, 1e-10]), rtol=1e-9)
    assert measured["censor"].tolist() == ["", "<"]


def test_record_refuses_an_unknown_reading_option(named: Path, tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    pd.DataFrame({"Reduced Composition": ["Li6PS5Br"], COLUMN: ["2e-3"]}
                 ).to_csv(results, index=False)
    with pytest.raises(InputError, match=r"unknown reading option\(s\) 'unit'"):
        Campaign(named).record(results, settings={"unit": "mS/cm"})


def test_init_refuses_mismatched_units(tmp_path: Path) -> None:
    start = tmp_path / "start.csv"
    pd.DataFrame({"formula": ["Li3PS4"], "sigma": ["1e-4"]}).to_csv(start, index=False)
    with pytest.raises(InputError, match="log10"):
        from matgenome.campaign import RecordSettings

        Campaign.init(tmp_path / "c", CampaignSettings(
            datasets=["obelix"], data=[start], record=RecordSettings(target_column="sigma"),
            families=["garnet"]))


def test_init_reads_units_written_in_cells_as_train_does(tmp_path: Path) -> None:
    """Cells in mS/cm convert to S/cm as for `train`, so they join the S/cm dataset."""
    from matgenome.campaign import RecordSettings

    start = tmp_path / "start.csv"
    pd.DataFrame({"formula": ["Li3PS4", "Li6PS5Cl"], "sigma": ["0.1 mS/cm", "2 mS/cm"]}
                 ).to_csv(start, index=False)
    campaign = Campaign.init(tmp_path / "c", CampaignSettings(
        datasets=["obelix"], data=[start],
        record=RecordSettings(target_column="sigma", log10=True), families=["garnet"]))
    target = campaign.state.settings.target
    assert (target["unit"], target["transform"]) == ("S/cm", "log10")
    assert target["label"] == "log10(σ / S cm⁻¹)"
    lab = campaign.measurements[campaign.measurements["source"].str.startswith("start")]
    np.testing.assert_allclose(lab["value"], np.log10([1e-4, 2e-3]))
    assert campaign.status().startswith(f"campaign c: {target['label']}, objective max")


def test_record_refuses_values_of_another_quantity(small: Path, tmp_path: Path) -> None:
    results = tmp_path / "gaps.csv"
    pd.DataFrame({"formula": ["Li6PS5Br"], COLUMN: ["3.1 eV"]}).to_csv(results, index=False)
    before = _snapshot(small)
    with pytest.raises(InputError, match="unit eV cannot be converted to S/cm"):
        Campaign(small).record(results)
    assert _snapshot(small) == before


def test_record_refuses_a_unit_the_campaign_values_do_not_have(tmp_path: Path) -> None:
    """A campaign of unitless values cannot take cells in mS/cm (converted to S/cm)."""
    from matgenome.campaign import RecordSettings

    start, library = tmp_path / "start.csv", tmp_path / "library.csv"
    pd.DataFrame({"formula": ["Li3PS4", "Li6PS5Cl", "Li2O", "LiCl", "Li3N"],
                  "sigma": ["1e-4", "2e-3", "1e-9", "1e-8", "1e-3"]}).to_csv(start, index=False)
    pd.DataFrame({"formula": ["Li10GeP2S12"]}).to_csv(library, index=False)
    campaign = Campaign.init(tmp_path / "c", CampaignSettings(
        data=[start], candidates=library,
        record=RecordSettings(target_column="sigma", log10=True)))
    assert campaign.state.settings.target["label"] == "log10(sigma)"
    results = tmp_path / "results.csv"
    pd.DataFrame({"formula": ["Li10GeP2S12"], "sigma": ["12 mS/cm"]}).to_csv(results,
                                                                           index=False)
    with pytest.raises(InputError, match=r"read as log10\(σ / S cm⁻¹\) but the campaign's "
                                         r"target is log10\(sigma\)"):
        campaign.record(results)


# --- locking and interrupted commands ------------------------------------------------------


def test_second_command_is_refused_while_the_lock_is_held(small: Path, capsys) -> None:
    with open(small / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(CampaignBusy):
            Campaign(small).status()
        assert main(["campaign", "status", str(small)]) == 2
        assert "is busy (another matgenome command holds its lock)" in capsys.readouterr().err
    assert "6 measurements" in Campaign(small).status()


def test_crash_before_the_commit_point_leaves_the_state(small: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    import matgenome.campaign.store as module

    results = tmp_path / "r.csv"
    pd.DataFrame({"formula": ["Li6PS5Br"], COLUMN: ["2e-3"]}).to_csv(results, index=False)
    before = _snapshot(small)
    monkeypatch.setattr(module.os, "fsync", _raise)  # dies before the commit point
    with pytest.raises(KeyboardInterrupt):
        Campaign(small).record(results)
    monkeypatch.undo()
    assert _snapshot(small) == before
    assert "6 measurements" in Campaign(small).status()
    assert not (small / ".staging").exists()


def test_crash_after_the_commit_point_is_rolled_forward(small: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    import matgenome.campaign.store as module

    results = tmp_path / "r.csv"
    pd.DataFrame({"formula": ["Li6PS5Br"], COLUMN: ["2e-3"]}).to_csv(results, index=False)
    real = os.replace
    calls = []

    def replace_then_die(source, target):
        calls.append(target)
        if Path(target).name == "campaign.json":  # measurements moved, campaign.json not
            raise KeyboardInterrupt
        real(source, target)

    monkeypatch.setattr(module.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        Campaign(small).record(results)
    monkeypatch.undo()
    assert "7 measurements" in Campaign(small).status()  # the next command finishes it
    assert Campaign(small).state.state_version == 2
    assert not (small / ".staging").exists()


def _raise(*_: object) -> None:
    raise KeyboardInterrupt


def test_killed_record_leaves_the_state_unchanged(small: Path, tmp_path: Path) -> None:
    results = tmp_path / "r.csv"
    pd.DataFrame({"formula": ["Li6PS5Br", "Li10GeP2S12"], COLUMN: ["2e-3", "1e-2"]}
                 ).to_csv(results, index=False)
    before = _snapshot(small)
    process = subprocess.Popen([sys.executable, "-m", "matgenome", "campaign", "record",
                                str(small), str(results)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    # Kill as soon as the command holds the lock: it has started changing the campaign.
    with open(small / ".lock", "a") as handle:
        while process.poll() is None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(handle, fcntl.LOCK_UN)
            except BlockingIOError:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.001)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the command finished before the kill"
    after = _snapshot(small)
    status = Campaign(small).status()  # works: the lock died with the process
    if after == before:
        assert "6 measurements" in status
    else:  # killed after the commit point: the next command completes the change
        assert "8 measurements" in status
    assert not (small / ".staging").exists()
    assert not any(p.name.endswith(".tmp") for p in small.iterdir())
    Campaign(small).record(results)
    measured = Campaign(small).measurements
    assert len(measured) in (8, 10)
    assert hashlib.sha256((small / "candidates.csv").read_bytes()).digest() == \
        hashlib.sha256(before["candidates.csv"]).digest()


def test_campaign_is_exported_lazily() -> None:
    import matgenome

    assert "Campaign" in dir(matgenome) and matgenome.Campaign is Campaign
