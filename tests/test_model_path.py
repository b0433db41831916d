"""One model path: train, evaluate, simulate, predict, rank and screen use the same model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.cli import main
from matgenome.datasets import load
from matgenome.io import TargetValues
from matgenome.modelfile import load_model
from matgenome.selection import (
    CONDUCTIVITY,
    EXTRA_TREES_MAGPIE,
    RegressorRecipe,
    candidates_for,
    default_candidate,
    select_candidate,
)
from matgenome.training import TrainedModelRegressor, train_model

FORMULAS = ["Li6PS5Cl", "Li7La3Zr2O12", "Li10GeP2S12", "Li3YCl6", "Li3PS4"]


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model trained once through the CLI with default options on a slice of OBELiX."""
    root = tmp_path_factory.mktemp("path")
    train = load("obelix", "train").head(200)
    table = pd.DataFrame({"formula": train["formula"],
                          "sigma": (10.0 ** train["target"]).astype(object),
                          "paper": train["doi"]})
    table.loc[train["censor"].ne("").to_numpy(), "sigma"] = "<1E-10"
    source = root / "train.csv"
    table.to_csv(source, index=False)
    assert main(["train", str(source), "--target-column", "sigma", "--target-unit", "S/cm",
                 "--log10", "--mobile-ion", "Li", "--group-column", "paper",
                 "--n-estimators", "40", "-q", "-o", str(root / "model")]) == 0
    return root / "model", source


def test_train_selects_the_recipe_by_cv_and_records_it(trained) -> None:
    model = load_model(trained[0])
    selection = model.card["selection"]
    assert set(selection["candidates"]) == {c.name for c in candidates_for(
        {"name": "sigma", "unit": "log10(S/cm)"})}
    scores = {name: c["cv_mae"] for name, c in selection["candidates"].items()}
    assert selection["chosen"] == min(scores, key=scores.get)
    assert model.card["recipe"]["name"] == selection["chosen"]
    assert "grouped" in selection["protocol"]


def test_predict_rank_and_screen_score_the_trained_model(
    trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model_dir = trained[0]
    expected = load_model(model_dir).predict(FORMULAS)
    source = tmp_path / "cands.csv"
    pd.DataFrame({"formula": FORMULAS}).to_csv(source, index=False)
    assert run(["predict", str(source), "--model", str(model_dir), "-o",
                str(tmp_path / "p.csv")], capsys)[0] == 0
    assert run(["rank", str(source), "--model", str(model_dir), "-o",
                str(tmp_path / "r.csv")], capsys)[0] == 0
    for name in ("p.csv", "r.csv"):
        scored = pd.read_csv(tmp_path / name)
        if name == "r.csv":  # written in rank order
            assert scored["rank"].tolist() == sorted(scored["rank"])
            assert sorted(scored["formula"]) == sorted(FORMULAS)
            scored = scored.set_index("formula").loc[FORMULAS].reset_index()
        assert scored["formula"].tolist() == FORMULAS
        np.testing.assert_allclose(scored["prediction"], expected.mean, rtol=1e-9)
        np.testing.assert_allclose(scored["uncertainty"], expected.std, rtol=1e-9)
    screened = tmp_path / "s.csv"
    assert run(["screen", "--model", str(model_dir), "--family", "argyrodite",
                "-o", str(screened)], capsys)[0] == 0
    frame = pd.read_csv(screened)
    again = load_model(model_dir).predict(frame["formula"].tolist())
    np.testing.assert_allclose(frame["prediction"], again.mean, rtol=1e-9)


def test_evaluate_trains_what_train_trains(trained) -> None:
    """The estimator `evaluate` fits per fold is `train`'s path: same rows, same model."""
    model_dir, source = trained
    table = pd.read_csv(source)
    from matgenome.io import parse_target_values

    targets = parse_target_values(table["sigma"], log10=True, unit="S/cm")
    regressor = TrainedModelRegressor(
        n_estimators=40, target={"name": "sigma", "unit": "log10(S/cm)"},
    ).fit(table["formula"].to_numpy(object), targets.values,
          censored=targets.censor != "", groups=table["paper"].tolist())
    mean, std = regressor.predict(np.array(FORMULAS, dtype=object), return_std=True)
    expected = load_model(model_dir).predict(FORMULAS)
    np.testing.assert_allclose(mean, expected.mean, rtol=1e-9)
    np.testing.assert_allclose(std, expected.std, rtol=1e-9)


def test_simulate_uses_the_default_recipe_estimator() -> None:
    target = {"name": "Ionic conductivity (S cm-1)", "unit": "log10(S/cm)"}
    candidate = default_candidate(target)
    assert candidate == CONDUCTIVITY
    params = candidate.estimator(None, 50).get_params()
    assert params["max_features"] == 0.1 and params["kind"] == "extra_trees"
    assert default_candidate({"name": "band gap", "unit": "eV"}) == EXTRA_TREES_MAGPIE


def test_selection_picks_the_lower_cv_error() -> None:
    """Element fractions carry a target that Magpie statistics blur; selection sees it."""
    rng = np.random.default_rng(0)
    elements = ["Fe", "Co", "Ni", "Cu", "Zn", "Mn"]
    formulas, y = [], []
    for _ in range(120):
        a, b = rng.choice(elements, 2, replace=False)
        x = round(float(rng.uniform(0.1, 0.9)), 2)
        formulas.append(f"{a}{x}{b}{round(1 - x, 2)}")
        y.append(x * (a == "Ni") * 10 + rng.normal(0, 0.1))
    fractions = RegressorRecipe("fractions", "element_fraction", "extra_trees", 1.0)
    constant = RegressorRecipe("weak", "stoichiometry", "extra_trees", 1.0)
    selection = select_candidate(formulas, np.array(y), [constant, fractions], seed=0)
    assert selection.chosen == fractions
    assert selection.scores["fractions"]["cv_mae"] < selection.scores["weak"]["cv_mae"]


def test_known_composition_carries_its_repeat_spread() -> None:
    formulas = pd.Series(["Li3PO4", "Li3PO4", "Li2O", "Li6PS5Cl", "Li3N", "LiCl", "Li2S",
                          "LiI"])
    values = np.array([-12.0, -16.0, -9.0, -3.0, -3.5, -8.0, -8.5, -7.0])
    targets = TargetValues(values, np.array([""] * 8), [""] * 8)
    model, _ = train_model(formulas, targets, recipe="extra_trees_magpie", n_estimators=20)
    prediction = model.predict(["Li3PO4", "O4PLi3", "Li6PS5Cl", "LiBr"])
    known = prediction.known
    np.testing.assert_allclose(known["known_value"][:2], -14.0)
    np.testing.assert_allclose(known["known_spread"][:2], np.std([-12.0, -16.0], ddof=1))
    assert known["known_count"].tolist() == [2, 2, 1, 0]
    # Repeats 4 decades apart: the uncertainty reflects their spread, not the flat noise.
    assert prediction.std[0] >= known["known_spread"][0]
    np.testing.assert_allclose(prediction.std[2], np.sqrt(prediction.epistemic[2] ** 2
                                                          + prediction.noise[2] ** 2))


def test_screen_ranks_new_candidates_and_lists_measured_apart(
    small_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "screen.csv"
    code, out, _ = run(["screen", "--model", str(small_model_dir), "--family", "LGPS",
                        "-o", str(output)], capsys)
    assert code == 0
    frame = pd.read_csv(output)
    measured = frame["measured"].astype(bool)
    assert measured.any() and (~measured).any()
    assert frame.loc[measured, "rank"].isna().all()
    assert frame.loc[measured, "known_value"].notna().any()
    ranks = frame["rank"].dropna().to_numpy()
    np.testing.assert_array_equal(ranks, np.arange(1, len(ranks) + 1))  # sorted by rank
    assert "already measured" in out


def test_known_insulators_rank_below_conductors(small_model_dir: Path) -> None:
    """Censored training rows (<1E-10 S/cm) are used as bounds, not dropped."""
    model = load_model(small_model_dir)
    train = load("obelix", "train")
    insulators = train.loc[train["censor"].ne(""), "formula"].tolist()
    conductors = train.loc[train["censor"].eq("") & (train["target"] >= -3), "formula"].tolist()
    prediction = model.predict(insulators + conductors)
    below = prediction.p_below_bound[: len(insulators)]
    assert np.mean(below >= 0.5) >= 0.9
    insulator_mean = prediction.mean[: len(insulators)]
    assert np.median(insulator_mean) < np.min(prediction.mean[len(insulators):])
    assert model.card["training_data"]["censored_treatment"] == "hurdle"


def test_rank_batch_proposes_distinct_unmeasured_rows(
    small_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    formulas = ["Li6PS5Cl", "Li2ZrCl6", "Li3InBr6", "Li4SiO4", "Li5.5PS4.5Cl1.5",
                "Li3ScCl6", "Li2.5Y0.5Zr0.5Cl6", "Li7P2S8I", "Li3N", "LiBH4"]
    source, output = tmp_path / "c.csv", tmp_path / "r.csv"
    pd.DataFrame({"formula": formulas}).to_csv(source, index=False)
    args = ["rank", str(source), "--model", str(small_model_dir), "--batch", "3", "-o",
            str(output)]
    code, out, _ = run(args, capsys)
    assert code == 0 and "proposed batch of 3" in out
    ranked = pd.read_csv(output)
    batch = ranked.dropna(subset=["batch"]).sort_values("batch")
    assert batch["batch"].tolist() == [1, 2, 3]
    assert not batch["measured"].astype(bool).any()
    assert run(args, capsys)[0] == 0  # the same seed gives the same batch
    np.testing.assert_array_equal(pd.read_csv(output)["batch"], ranked["batch"])


def test_selection_on_small_or_single_group_tables() -> None:
    rng = np.random.default_rng(0)
    formulas = ["Li3PS4", "Li2S", "LiCl", "Li3N", "Li2O", "LiF", "LiBr", "LiI", "Li3P",
                "Li2Se"] * 3
    y = rng.normal(size=len(formulas))
    few = select_candidate(formulas[:10], y[:10], candidates_for(None))
    assert few.chosen == candidates_for(None)[0] and "too few" in few.protocol
    one_group = select_candidate(formulas, y, candidates_for(None), groups=["a"] * 30)
    assert set(one_group.scores) == {c.name for c in candidates_for(None)}


def test_trained_model_falls_back_far_from_its_data_and_says_so(trained) -> None:
    model = load_model(trained[0])
    fallback = model.card["fallback"]
    assert fallback["held_out"]["rows"] > 0
    assert "the prediction is kept and the interval widens" in (
        trained[0] / "MODEL_CARD.md").read_text()
    assert fallback["moves"] == "interval only"
    regressor = model.estimator[-1]
    assert fallback["center"] == pytest.approx(regressor.center_)
    # A training composition keeps (nearly all of) the model's own prediction.
    known = model.predict(["Li6PS5Cl"])
    assert np.isfinite(known.mean).all() and np.isfinite(known.std).all()


def test_fallback_none_trains_the_plain_model(trained) -> None:
    frame = load("obelix", "train").head(120)
    targets = TargetValues.from_frame(frame)
    plain, _ = train_model(frame["formula"], targets, recipe="conductivity", fallback="none",
                           n_estimators=20)
    wrapped, _ = train_model(frame["formula"], targets, recipe="conductivity",
                             n_estimators=20)
    shifted, _ = train_model(frame["formula"], targets, recipe="conductivity",
                             n_estimators=20, fallback="mean")
    assert "fallback" not in plain.card and "fallback" in wrapped.card
    assert type(wrapped.estimator[-1]).__name__ == "DistanceFallbackRegressor"
    assert shifted.card["fallback"]["moves"] == "prediction and interval"
    # The default keeps the model's prediction: only the interval differs from no fallback.
    formulas = ["Li6PS5Cl", "LiFePO4", "Li2B4O7", "LiTa2PO8"]
    np.testing.assert_allclose(wrapped.predict(formulas).mean, plain.predict(formulas).mean,
                               rtol=1e-12)

    # Bound-only rows still reach the wrapped hurdle: P(below the bound) is reported.
    assert len(wrapped.predict(["Li3PO4"]).p_below_bound) == 1
    with pytest.raises(ValueError, match="fallback must be one of"):
        train_model(frame["formula"], targets, fallback="median")
