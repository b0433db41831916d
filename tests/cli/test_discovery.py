"""Discovery commands end to end: generate, rank, screen, simulate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_generate_marks_known_compositions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "cands.csv"
    code, out, _ = run(["generate", "--family", "garnet", "--known", "obelix", "-o",
                        str(output)], capsys)
    assert code == 0
    frame = pd.read_csv(output)
    assert len(frame) > 20 and set(frame["family"]) == {"garnet"}
    assert frame["known"].any()
    assert frame.loc[frame["known"], "known_value"].notna().all()
    assert f"{len(frame)} candidates" in out


def test_rank_keeps_rows_and_adds_columns(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, output, plot = tmp_path / "in.csv", tmp_path / "ranked.csv", tmp_path / "p.png"
    formulas = ["Li6PS5Cl", "Li7La3Zr2O12", "Qq", "NaCl", "Li10GeP2S12", "Li3YCl6"]
    pd.DataFrame({"formula": formulas, "tag": list("abcdef")}).to_csv(source, index=False)
    code, out, _ = run(["rank", str(source), "--model", str(small_model_dir), "-o",
                        str(output), "--acquisition", "pi", "--threshold", "-3",
                        "--exclude", "Ge", "--plot", str(plot)], capsys)
    assert code == 0
    ranked = pd.read_csv(output, keep_default_na=False)
    # Every row comes back, sorted by rank (rank 1 first), unranked rows last.
    assert sorted(zip(ranked["formula"], ranked["tag"], strict=True)) == sorted(
        zip(formulas, "abcdef", strict=True))
    assert ranked["rank"].tolist()[:4] == ["1", "2", "3", "4"]
    assert ranked["rank"].tolist()[4:] == ["", ""]
    ranked = ranked.set_index("tag").loc[list("abcdef")].reset_index()
    for column in ("rank", "score", "prediction", "uncertainty", "in_domain", "known_value",
                   "supply_risk", "pareto"):
        assert column in ranked.columns
    assert ranked.loc[2, "rank"] == "" and "Qq" in ranked.loc[2, "error"]
    assert ranked.loc[4, "rank"] == "" and "Ge" in ranked.loc[4, "reason"]
    assert str(ranked.loc[3, "in_domain"]) == "False"  # NaCl has no Li
    assert "no mobile ion" in ranked.loc[3, "domain_reason"]
    ranks = pd.to_numeric(ranked["rank"], errors="coerce").dropna().sort_values()
    assert ranks.tolist() == [1, 2, 3, 4]
    scores = pd.to_numeric(ranked["score"], errors="coerce")
    order = ranked.assign(score=scores, r=pd.to_numeric(ranked["rank"], errors="coerce"))
    by_rank = order.dropna(subset=["r"]).sort_values("r")["score"].to_numpy()
    assert np.all(np.diff(by_rank) <= 0)
    known = pd.to_numeric(ranked.loc[0, "known_value"])
    assert np.isfinite(known)  # Li6PS5Cl was measured in OBELiX's training split
    assert plot.stat().st_size > 1000
    assert "top 4 candidates" in out


def test_screen_runs_on_shipped_seeds(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "screen.csv"
    code, out, _ = run(["screen", "--model", str(small_model_dir), "--family", "argyrodite",
                        "--top", "5", "-o", str(output)], capsys)
    assert code == 0
    ranked = pd.read_csv(output)
    assert len(ranked) > 10 and ranked["rank"].min() == 1
    ranks = ranked["rank"].dropna().astype(int).tolist()
    assert ranks == list(range(1, len(ranks) + 1))  # written in rank order
    assert ranked["rank"].iloc[: len(ranks)].notna().all()
    assert "top 5 candidates" in out and "argyrodite" in out


def test_simulate_writes_json_and_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result, plot = tmp_path / "sim.json", tmp_path / "sim.png"
    code, out, _ = run(["simulate", "--dataset", "obelix", "--trials", "2", "--iterations",
                        "5", "--n-estimators", "10", "--strategies", "ei,random", "-o",
                        str(result), "--plot", str(plot)], capsys)
    assert code == 0
    data = json.loads(result.read_text())
    assert data and plot.stat().st_size > 1000
    assert "ei" in out and "random" in out


def test_rank_needs_threshold_for_pi(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("formula\nLi2O\n")
    code, _, err = run(["rank", str(source), "--model", str(small_model_dir), "-o",
                        str(tmp_path / "o.csv"), "--acquisition", "pi"], capsys)
    assert code == 2 and "needs a threshold (options --acquisition, --threshold)" in err


def test_rank_for_a_target_value_orders_by_closeness(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "ranked.csv"
    formulas = ["Li7La3Zr2O12", "Li6PS5Cl", "Li3N", "Li10GeP2S12", "Li3YCl6", "Li3PS4"]
    pd.DataFrame({"formula": formulas}).to_csv(source, index=False)
    code, out, _ = run(["rank", str(source), "--model", str(small_model_dir), "-o",
                        str(output), "--objective", "target", "--target-value", "-4",
                        "--tolerance", "0.5"], capsys)
    assert code == 0
    ranked = pd.read_csv(output)
    assert ranked["score"].nunique() == len(formulas)  # not one score (0) for every row
    # Written in rank order: the row nearest the target first, not the input order.
    assert ranked["rank"].tolist() == sorted(ranked["rank"])
    assert (ranked["prediction"] + 4).abs().idxmin() == 0
    assert ranked["formula"].tolist() != formulas
    assert "closeness to -4.0: -|prediction - -4.0|" in out
    code, _, err = run(["rank", str(source), "--model", str(small_model_dir), "-o",
                        str(output), "--objective", "target", "--target-value", "-4",
                        "--acquisition", "pi"], capsys)
    assert code == 2 and "needs a tolerance" in err and "(option --tolerance)" in err


@pytest.mark.parametrize("command", ["screen", "generate"])
def test_family_help_lists_exactly_the_accepted_names(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from matgenome.generation import load_seeds, select_families

    with pytest.raises(SystemExit):
        main([command, "--help"])
    # argparse wraps lines after hyphens ("anti-\n perovskite"): undo that.
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")
    listed = re.search(r"--family FAMILY .*?any case\): (.*?) --method", text).group(1)
    names = [n for n in re.split(r", | \(or |\)", listed) if n]
    for name in names:  # every name shown is accepted ...
        assert len(select_families([name])) == 1, name
    # ... and every family is shown under its canonical and its short name.
    families = load_seeds()
    assert {f.name for f in families} <= set(names)
    assert {"Li3N", "Li3N-type", "LiPON", "LiPON-like"} <= set(names)
    assert select_families(["Li3N"])[0].name == "Li3N-type"
    assert select_families(["lipon"])[0].name == "LiPON-like"
