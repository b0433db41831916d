"""A yes/no table through the command line: train, evaluate, predict, rank, screen, a
campaign and a simulation, with no recipe named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    out, _ = capsys.readouterr()
    assert code == 0
    return out


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from matgenome.datasets import load

    root = tmp_path_factory.mktemp("yes_no")
    glass = load("matbench_glass").sample(90, random_state=5).reset_index(drop=True)
    train = pd.DataFrame({"composition": glass["formula"][:70],
                          "glass former": np.where(glass["target"][:70] == 1, "yes", "no")})
    candidates = pd.DataFrame({"formula": glass["formula"][70:]})
    paths = {"train": root / "glass.csv", "candidates": root / "candidates.csv",
             "root": root}
    train.to_csv(paths["train"], index=False)
    candidates.to_csv(paths["candidates"], index=False)
    return paths


def test_a_yes_no_table_end_to_end(tables: dict[str, Path],
                                   capsys: pytest.CaptureFixture[str]) -> None:
    root, table = tables["root"], str(tables["train"])
    reading = ["--target-column", "glass former", "--n-estimators", "10"]
    out = run(["train", table, *reading, "--positive", "yes", "-o", str(root / "m")], capsys)
    assert "predicting the probability of 'yes' (given" in out
    card = json.loads((root / "m" / "card.json").read_text())
    assert card["task"] == "classification"
    assert card["classification"]["classes"] == ["no", "yes"]
    assert len(card["selection"]["candidates"]) == 18
    assert "the prediction is the probability of 'yes'" in (
        root / "m" / "MODEL_CARD.md").read_text()
    assert "classes:        'no', 'yes'" in run(["model", "info", str(root / "m")], capsys)

    # Default positive: the rarer class, said in the output.
    share_yes = (pd.read_csv(table)["glass former"] == "yes").mean()
    rarer = "yes" if share_yes < 0.5 else "no"
    fixed = ["--recipe", "classifier_magpie"]  # no selection: faster, same classes
    out = run(["train", table, *reading, *fixed, "-o", str(root / "m2")], capsys)
    assert f"probability of {rarer!r} (the rarer class" in out

    out = run(["evaluate", table, *reading, *fixed, "--n-splits", "3", "-o",
               str(root / "ev.json")], capsys)
    assert "classification.balanced_accuracy_at_0.5" in out and "reliability" in out
    result = json.loads((root / "ev.json").read_text())
    scores = result["metrics"]["classification"]
    for name in ("balanced_accuracy", "roc_auc", "log_loss", "brier"):
        assert np.isfinite(scores[name]["mean"])
    assert 0.0 <= scores["balanced_accuracy"]["mean"] <= 1.0

    scored = root / "scored.csv"
    run(["predict", str(tables["candidates"]), "--model", str(root / "m"), "-o",
         str(scored)], capsys)
    frame = pd.read_csv(scored, keep_default_na=False)
    assert {"probability", "predicted_class", "uncertainty", "in_domain",
            "known_label"} <= set(frame.columns)
    assert "prediction" not in frame.columns
    p = frame["probability"].astype(float)
    assert ((p > 0) & (p < 1)).all()
    threshold = card["classification"]["threshold"]
    assert frame["predicted_class"].tolist() == np.where(p >= threshold, "yes", "no").tolist()

    ranked = root / "ranked.csv"
    run(["rank", str(tables["candidates"]), "--model", str(root / "m"), "-o", str(ranked)],
        capsys)
    ranking = pd.read_csv(ranked).sort_values("rank")
    probability = ranking["probability"].to_numpy(float)
    assert (np.diff(probability) <= 1e-12).all()  # ranked by the positive class's probability

    run(["screen", "--model", str(root / "m"), "--max-candidates", "30", "-o",
         str(root / "screened.csv")], capsys)
    assert "probability" in pd.read_csv(root / "screened.csv").columns


def test_a_yes_no_campaign_and_simulation(tables: dict[str, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    root, table = tables["root"], str(tables["train"])
    campaign = str(root / "campaign")
    run(["campaign", "init", campaign, "--data", table, "--target-column", "glass former",
         "--candidates", str(tables["candidates"]), "--n-estimators", "10",
         "--positive", "yes", "--recipe", "classifier_fractions"], capsys)
    state = json.loads((root / "campaign" / "campaign.json").read_text())
    assert state["settings"]["task"] == "classification"
    assert state["settings"]["classes"]["positive"] == "yes"
    assert state["settings"]["threshold"] == 0.5
    run(["campaign", "propose", campaign, "--batch", "3"], capsys)
    proposal = pd.read_csv(root / "campaign" / "round-1" / "proposal.csv")
    assert len(proposal) == 3 and proposal["predicted"].between(0, 1).all()
    results = root / "results.csv"
    pd.DataFrame({"formula": proposal["formula"],
                  "glass former": ["yes", "no", "yes"]}).to_csv(results, index=False)
    out = run(["campaign", "record", campaign, str(results)], capsys)
    assert "recorded 3 rows" in out
    measured = pd.read_csv(root / "campaign" / "measurements.csv")
    assert measured["value"].tail(3).tolist() == [1.0, 0.0, 1.0]
    bad = root / "bad.csv"
    pd.DataFrame({"formula": proposal["formula"][:1], "glass former": ["maybe"]}).to_csv(
        bad, index=False)
    assert main(["campaign", "record", campaign, str(bad)]) != 0
    assert "row 2" in capsys.readouterr().err

    out = run(["simulate", table, "--target-column", "glass former", "--positive", "yes",
               "--trials", "2", "--iterations", "2", "--n-estimators", "10",
               "-o", str(root / "sim.json")], capsys)
    assert "cold-thompson-half" in out
    simulation = json.loads((root / "sim.json").read_text())
    assert simulation
