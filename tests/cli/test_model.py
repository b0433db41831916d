"""The model commands end to end: train and predict (file in, file out, as the Python API)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.cli import main
from matgenome.datasets import dataset_path
from matgenome.modelfile import load_model


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def write_candidates(path: Path) -> list[str]:
    formulas = ["Li7La3Zr2O12", "Li6PS5Cl", "Xx2O", "", "Li10GeP2S12", "Li2O)", "0.75Li2S-0.25P2S5"]
    pd.DataFrame({"id": [f"r{i}" for i in range(len(formulas))], "composition": formulas,
                  "note": ["keep"] * len(formulas)}).to_csv(path, index=False)
    return formulas


def test_predict_keeps_every_row_in_order_and_flags_bad_ones(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    formulas = write_candidates(source)
    code, out, _ = run(["predict", str(source), "--output", str(output),
                        "--model", str(small_model_dir), "--top", "3"], capsys)
    assert code == 0
    scored = pd.read_csv(output, keep_default_na=False)
    assert scored["composition"].tolist() == formulas
    assert scored.columns.tolist() == ["id", "composition", "note", "prediction",
                                       "uncertainty", "p_below_bound", "in_domain",
                                       "domain_distance", "domain_reason", "known_value",
                                       "known_spread", "known_count", "known_bound", "error"]
    bad = scored["error"] != ""
    assert bad.tolist() == [False, False, True, True, False, True, False]
    assert "unknown element 'Xx'" in scored.loc[2, "error"]
    assert "empty" in scored.loc[3, "error"] and "unbalanced" in scored.loc[5, "error"]
    assert (scored.loc[bad, "prediction"] == "").all()
    assert (~scored.loc[bad, "in_domain"]).all()
    assert scored.loc[bad, "domain_reason"].eq("not scored").all()
    # Bounded 0-1 scale; these compositions are in the small model's training data: 0.
    distance = scored.loc[~bad, "domain_distance"].astype(float)
    assert distance.ge(0).all() and distance.lt(1).all()
    good = scored.loc[~bad, ["prediction", "uncertainty"]].astype(float)
    assert np.isfinite(good.to_numpy()).all() and (good["uncertainty"] > 0).all()
    assert "7 rows read, 4 scored, 3 not scored" in out
    assert "top 3" in out


def test_predict_matches_python_api_and_chunking(
    tmp_path: Path, small_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    formulas = write_candidates(source)
    for chunksize in ("2", "1000"):
        output = tmp_path / f"out{chunksize}.csv"
        assert run(["predict", str(source), "-o", str(output), "--model",
                    str(small_model_dir), "--chunksize", chunksize, "-q"], capsys)[0] == 0
    a = pd.read_csv(tmp_path / "out2.csv")
    b = pd.read_csv(tmp_path / "out1000.csv")
    pd.testing.assert_frame_equal(a, b)
    expected = load_model(small_model_dir).predict(formulas)
    np.testing.assert_allclose(a["prediction"].to_numpy(), expected.mean, equal_nan=True)


def test_train_then_predict_on_obelix_csvs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    obelix = dataset_path("obelix").parent
    model_dir = tmp_path / "model"
    code, out, err = run(["train", str(obelix / "train.csv"), "--formula-column",
                          "Reduced Composition", "--target-column",
                          "Ionic conductivity (S cm-1)", "--log10", "--n-estimators", "30",
                          "--output", str(model_dir)], capsys)
    assert code == 0, err
    assert "478 of 478 rows used" in out  # the 29 censored rows train the bound classifier
    card = load_model(model_dir).card
    assert card["training_data"]["rows_used"] == 478
    assert card["target"]["transform"] == "log10"
    output = tmp_path / "test_scored.csv"
    code, out, _ = run(["predict", str(obelix / "test.csv"), "--model", str(model_dir),
                        "-o", str(output)], capsys)
    assert code == 0
    scored = pd.read_csv(output)
    test = pd.read_csv(obelix / "test.csv")
    assert len(scored) == len(test) == 121
    assert scored["ID"].tolist() == test["ID"].tolist()
    exact = ~test["Ionic conductivity (S cm-1)"].astype(str).str.startswith("<")
    truth = np.log10(test.loc[exact, "Ionic conductivity (S cm-1)"].astype(float))
    mae = np.mean(np.abs(scored.loc[exact, "prediction"] - truth))
    assert mae < 1.55  # better than predicting the training median on this split


def test_train_reports_censored_and_bad_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [("Li7La3Zr2O12", "3e-4"), ("Li6PS5Cl", "<1E-10"), ("Qq2", "1e-3"),
            ("Li3N", "abc"), ("Li3PS4", ">1e-2")] + [(f"Li{i}O", f"1e-{i}") for i in
                                                       range(1, 9)]
    source = tmp_path / "lab.csv"
    pd.DataFrame(rows, columns=["formula", "sigma"]).to_csv(source, index=False)
    code, out, _ = run(["train", str(source), "--target-column", "sigma", "--log10",
                          "--n-estimators", "10", "-o", str(tmp_path / "m")], capsys)
    assert code == 0
    assert "9 of 13 rows used" in out
    # Spreadsheet row numbers (the header is row 1) and the reason of each kind of skip.
    assert "invalid formula (rows 4), e.g. row 4: invalid formula 'Qq2': unknown element" in out
    assert "unusable target (rows 5), e.g. row 5: target 'abc': not a number" in out
    assert "censored target (bound only) (rows 3, 6)" in out


def test_train_reads_units_in_cells_and_records_the_unit_of_the_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    rows = [("Li7La3Zr2O12", "0.122 mS/cm"), ("Li6PS5Cl", "1.9 mS cm-1"),
            ("Li3PS4", "2e-4 S/cm"), ("Li3N", "0.6 mS/cm"), ("Li2S", "1e-10 S/cm"),
            ("Li10GeP2S12", "12 mS/cm"), ("Li3OCl", "0.0025 mS/cm")]
    source = tmp_path / "lab.csv"
    pd.DataFrame(rows, columns=["formula", "sigma"]).to_csv(source, index=False)
    code, out, _ = run(["train", str(source), "--target-column", "sigma", "--log10",
                        "--target-unit", "mS/cm", "--n-estimators", "10",
                        "-o", str(tmp_path / "m")], capsys)
    assert code == 0 and "7 of 7 rows used" in out
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    # Stored values are log10 of S/cm: the card says so, and the label follows.
    assert card["target"] == {"name": "sigma", "unit": "S/cm", "transform": "log10",
                              "label": "log10(σ / S cm⁻¹)"}
    assert card["training_data"]["target_range"] == pytest.approx([-10.0, np.log10(0.012)])
    assert "log10(σ / S cm⁻¹)" in (tmp_path / "m" / "MODEL_CARD.md").read_text()
    # Without a unit, a log10 target is labelled by its column, with no unit invented.
    source2 = tmp_path / "plain.csv"
    pd.DataFrame([(f, v.split()[0]) for f, v in rows if "S/cm" in v and "mS" not in v]
                 + [("Li2O", "1e-9"), ("LiI", "1e-7"), ("Li3BO3", "1e-6")],
                 columns=["formula", "Ionic conductivity (S cm-1)"]).to_csv(source2, index=False)
    code, out, _ = run(["train", str(source2), "--target-column", "Ionic conductivity (S cm-1)",
                        "--log10", "--n-estimators", "10", "-o", str(tmp_path / "p")], capsys)
    assert code == 0
    card = json.loads((tmp_path / "p" / "card.json").read_text())
    assert card["target"]["unit"] == ""
    assert card["target"]["label"] == "log10(Ionic conductivity (S cm-1))"


def test_excel_with_units_and_censored_values_trains_without_editing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = ["1.2 × 10^-1", "<1e-7", "3.1E-2", "0.5", "2×10⁻³", ">10", "4.4e-4", "1,5",
             "9.0x10^-2", "6e-5", "1.1e-1"]
    formulas = ["Li6PS5Cl", "Li2O", "Li7La3Zr2O12", "Li10GeP2S12", "Li3YCl6", "Li7P3S11",
                "Li3N", "Li3PS4", "Li6PS5Br", "Li1.3Al0.3Ti1.7(PO4)3", "Li6PS5Cl"]
    source = tmp_path / "lab.xlsx"
    pd.DataFrame({"Composition": formulas, "σ (mS/cm)": cells, "T (°C)": 25}).to_excel(
        source, index=False)
    code, out, err = run(["train", str(source), "--target-column", "σ (mS/cm)",
                          "--target-unit", "mS/cm", "--log10", "--n-estimators", "10",
                          "-o", str(tmp_path / "m")], capsys)
    assert code == 0, err
    assert "8 of 11 rows used" in out
    assert "censored target (bound only) (rows 3, 7)" in out
    assert "unusable target (rows 9), e.g. row 9: target '1,5': not a number" in out
    assert "1 compositions measured more than once" in out
    data = load_model(tmp_path / "m").training_data
    li6 = data.loc[data["formula"] == "Li6PS5Cl", "target"].to_numpy()
    np.testing.assert_allclose(sorted(li6), sorted(np.log10([1.2e-4, 1.1e-4])))




def test_evaluate_reads_a_table_as_train_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """Units in cells, bounds and unusable rows: one reader for train and evaluate."""
    fractions = np.linspace(0.05, 0.95, 30)
    cells = [f"{10 ** (-3 + 2 * x):.4g} mS/cm" for x in fractions]  # 1e-6 .. 1e-4 S/cm
    formulas = [f"Li{x:.2f}Na{1 - x:.2f}Cl" for x in fractions]
    formulas[4] = "Li2O)"  # row 6: invalid formula
    cells[7] = "n/a"  # row 9: no value
    cells[10] = "<1E-5 mS/cm"  # row 12: an upper bound, kept as one
    table = tmp_path / "lab.csv"
    pd.DataFrame({"composition": formulas, "sigma": cells,
                  "paper": [f"p{i % 6}" for i in range(30)]}).to_csv(table, index=False)
    output = tmp_path / "result.json"
    with caplog.at_level("WARNING", logger="matgenome"):
        code, out, _ = run(["evaluate", str(table), "--target-column", "sigma", "--log10",
                            "--protocol", "group", "--group-column", "paper",
                            "--n-splits", "3", "--recipe", "extra_trees_magpie",
                            "--n-estimators", "10", "-o", str(output)], capsys)
    assert code == 0
    assert "left out 2 rows with an invalid formula or unusable target (rows 6, 9)" in (
        caplog.text)
    from matgenome.evaluation import EvaluationResult

    result = EvaluationResult.read_json(output)
    predictions = result.predictions.sort_values("row")
    assert len(predictions) == 28
    # mS/cm cells are stored as log10 of S/cm, and the bound keeps its direction.
    bound = predictions[predictions["censor"] == "<"]
    assert bound["formula"].tolist() == [formulas[10]]
    assert bound["y_true"].iloc[0] == pytest.approx(-8.0)
    exact = predictions[predictions["censor"] == ""]
    assert exact["y_true"].min() == pytest.approx(np.log10(1.259e-6), abs=0.01)
    assert "regression.mae" in out


def write_linked_table(path: Path) -> None:
    """Six papers of five rows; papers p0, p1 and p2 share compositions (p1's first row
    repeats one of p0, p2's first row one of p1), so merged they hold half of the rows."""
    fractions = np.linspace(0.05, 0.95, 30)
    formulas = [f"Li{x:.2f}Na{1 - x:.2f}Cl" for x in fractions]
    formulas[5], formulas[10] = formulas[0], formulas[6]
    pd.DataFrame({"composition": formulas, "value": 2 * fractions - 1,
                  "paper": [f"p{i // 5}" for i in range(30)]}).to_csv(path, index=False)


def test_evaluate_warns_about_a_fold_of_merged_groups_and_reports_every_fold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    import json

    table, output = tmp_path / "lab.csv", tmp_path / "result.json"
    write_linked_table(table)
    options = ["--target-column", "value", "--protocol", "group", "--group-column", "paper",
               "--n-splits", "4", "--recipe", "extra_trees_magpie", "--n-estimators", "10"]
    with caplog.at_level("WARNING", logger="matgenome"):
        code, out, _ = run(["evaluate", str(table), *options, "-o", str(output)], capsys)
    assert code == 0
    stored = json.loads(output.read_text())
    [big] = [fold for fold in stored["folds"] if fold["test_rows"] == 15]
    expected = (f"fold {big['fold']} holds 50% of the rows (15 of 30; 15 exact) and trains "
                "on 15: 3 paper groups linked by shared compositions were merged into it")
    assert expected in caplog.text
    assert len(stored["warnings"]) == 1 and stored["warnings"][0].startswith(expected)
    # Every fold: rows and groups on each side, the model's MAE and the baselines'.
    assert sum(f["test_rows"] for f in stored["folds"]) == 30
    for fold in stored["folds"]:
        assert fold["train_rows"] + fold["test_rows"] == 30
        assert fold["train_groups"] + fold["test_groups"] == 6
        assert set(fold["baselines"]) == {"training_median", "extra_trees"}
    assert stored["protocol"]["linked"] == "merge"
    assert set(stored["baselines"]) == {"training_median", "extra_trees"}
    for header in ("train rows", "test groups", "removed", "training median MAE",
                   "extra trees MAE", "pooled"):
        assert header in out
    assert "warning: fold" in out

    # Kept apart, the linking rows leave training instead and nothing is warned about.
    caplog.clear()
    with caplog.at_level("WARNING", logger="matgenome"):
        code, out, _ = run(["evaluate", str(table), *options, "--linked", "drop",
                            "--no-baselines", "-o", str(output)], capsys)
    assert code == 0 and "merged" not in caplog.text
    stored = json.loads(output.read_text())
    assert stored["warnings"] == [] and stored["baselines"] == {}
    assert sum(f["linking_rows_removed"] for f in stored["folds"]) >= 2
    assert all(f["test_groups"] >= 1 for f in stored["folds"])
    assert "training median MAE" not in out


def test_evaluate_refuses_linked_without_a_grouped_protocol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "lab.csv"
    write_linked_table(table)
    code, _, err = run(["evaluate", str(table), "--target-column", "value", "--protocol",
                        "kfold", "--linked", "drop"], capsys)
    assert code == 2 and "--linked applies to --protocol group or logo" in err
    code, _, err = run(["evaluate", str(table), "--target-column", "value", "--protocol",
                        "logo"], capsys)
    assert code == 2 and "--protocol logo needs --group-column" in err


def test_evaluate_offers_the_protocols_the_evaluation_package_defines() -> None:
    from matgenome.cli import build_parser
    from matgenome.evaluation import LINKED, PROTOCOLS

    child = build_parser("evaluate")._subparsers._group_actions[0].choices["evaluate"]
    choices = {a.dest: a.choices for a in child._actions}
    assert tuple(choices["protocol"]) == PROTOCOLS
    assert tuple(choices["linked"]) == LINKED
