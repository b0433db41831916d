"""Closed-loop campaigns: a three-round campaign run from the command line, answered from
held-out OBELiX rows; matching and refusing recorded rows; locking; interrupted commands;
the HTML report, also rendered by a headless Chromium."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest

from matgenome.campaign import Campaign, CampaignBusy
from matgenome.cli import main
from matgenome.composition import CompositionKey
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
    answers = {CompositionKey.parse(row.formula): row for row in held.itertuples()}
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
        rows = pd.DataFrame([answers[CompositionKey.parse(f)] for f in proposal["formula"]])
        rows["formula"] = proposal["formula"].to_numpy()
        _cli("campaign", "record", directory,
             _write_results(rows, tmp / f"results-{number}.csv"), "-q")
    report = tmp / "report.html"
    _cli("campaign", "report", directory, "-o", report)
    return {"dir": directory, "answers": answers, "before": measured_before,
            "report": report, "tmp": tmp}


def test_measured_compositions_are_never_proposed_again(run: dict) -> None:
    directory = run["dir"]
    proposed: set = set()
    for number, before in enumerate(run["before"], start=1):
        proposal = pd.read_csv(directory / f"round-{number}" / "proposal.csv")
        keys = {CompositionKey.parse(f) for f in proposal["formula"]}
        assert len(keys) == BATCH
        assert not keys & {CompositionKey.parse(f) for f in before["formula"]}
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
    Campaign.init(tmp_path / "c", data=[start], candidates=library,
                  record=_settings(), threshold=-3)
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
    assert summary["new"] == 1 and summary["rows"] == 2
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
    assert summary["repeats"] == 1
    measured = Campaign(small).measurements
    lizo = CompositionKey.parse("Li7La3Zr2O12")
    same = measured[[CompositionKey.parse(f) == lizo for f in measured["formula"]]]
    assert same["value"].to_numpy() == pytest.approx(np.log10([3e-4, 5e-4]))
    assert same["source"].tolist() == ["start.csv row 2", "repeat.csv row 2"]
    again = Campaign(small).record(results)  # the same file twice: kept, and flagged
    assert again["repeats"] == 1 and len(again["same_content_recorded_at"]) == 1
    assert len(Campaign(small).measurements) == 8
    assert (small / ".gitignore").read_text().split() == [".lock", ".staging/"]


def test_init_refuses_mismatched_units(tmp_path: Path) -> None:
    start = tmp_path / "start.csv"
    pd.DataFrame({"formula": ["Li3PS4"], "sigma": ["1e-4"]}).to_csv(start, index=False)
    with pytest.raises(InputError, match="log10"):
        from matgenome.campaign import RecordSettings

        Campaign.init(tmp_path / "c", datasets=["obelix"], data=[start],
                      record=RecordSettings(target_column="sigma"), families=["garnet"])


def test_init_reads_units_written_in_cells_as_train_does(tmp_path: Path) -> None:
    """Cells in mS/cm convert to S/cm as for `train`, so they join the S/cm dataset."""
    from matgenome.campaign import RecordSettings

    start = tmp_path / "start.csv"
    pd.DataFrame({"formula": ["Li3PS4", "Li6PS5Cl"], "sigma": ["0.1 mS/cm", "2 mS/cm"]}
                 ).to_csv(start, index=False)
    campaign = Campaign.init(tmp_path / "c", datasets=["obelix"], data=[start],
                             record=RecordSettings(target_column="sigma", log10=True),
                             families=["garnet"])
    target = campaign.state["settings"]["target"]
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
    campaign = Campaign.init(tmp_path / "c", data=[start], candidates=library,
                             record=RecordSettings(target_column="sigma", log10=True))
    assert campaign.state["settings"]["target"]["label"] == "log10(sigma)"
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
    import matgenome.campaign as module

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
    import matgenome.campaign as module

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
    assert Campaign(small).state["state_version"] == 2
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
