"""Zero-inflated targets and conditional candidates: the hurdle form is considered and scored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matgenome.io import parse_target_values
from matgenome.models.censored import CensoredHurdleRegressor
from matgenome.selection import (
    CONDUCTIVITY,
    EXTRA_TREES_MAGPIE,
    GENERAL,
    candidates_for,
    condition_met,
    floor_share,
    get_candidate,
    metal_share,
)
from matgenome.training import train_model

HURDLES = {"hurdle_sqrt_fractions", "hurdle_log_fractions", "hurdle_fractions"}
GAP = {"name": "band gap", "unit": "eV"}


def _gap_table(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Binary metal-metal alloys at exactly 0 and metal-anion compounds with a gap."""
    rng = np.random.default_rng(seed)
    metals, anions = ["Fe", "Cu", "Ni", "Al", "Zn", "Ti"], ["O", "S", "Cl", "F"]
    rows = []
    for i in range(n):
        a = str(rng.choice(metals))
        x = round(float(rng.uniform(0.2, 0.8)), 2)
        if i % 2 == 0:
            b = str(rng.choice([m for m in metals if m != a]))
            gap = 0.0
        else:
            b = str(rng.choice(anions))
            gap = 1.0 + 1.5 * anions.index(b) + 2 * x
        rows.append({"formula": f"{a}{x}{b}{round(1 - x, 2)}", "gap": gap})
    return pd.DataFrame(rows)


def test_floor_condition_needs_a_share_and_a_count() -> None:
    y = np.r_[np.zeros(45), np.linspace(0.5, 3, 55)]
    assert floor_share(y) == (pytest.approx(0.45), 45)
    assert condition_met("floor", y, None)
    assert not condition_met("floor", np.r_[np.zeros(5), np.ones(5)], None)  # 5 rows
    assert not condition_met("floor", np.r_[np.zeros(30), np.ones(70)], None)  # 30%
    assert not condition_met("floor", None, None)
    assert condition_met(None, None, None)
    with pytest.raises(ValueError, match="unknown candidate condition"):
        condition_met("nope", y, None)


def test_alloy_condition_reads_the_metal_share_of_compositions() -> None:
    steels = ["Fe0.8Cr0.18C0.02", "Fe0.9Ni0.1", "Fe0.7Co0.2Mo0.1", "Fe0.95C0.05", "Li2O"]
    assert metal_share(steels) == pytest.approx(0.8)
    assert condition_met("alloy", None, steels)
    assert not condition_met("alloy", None, ["Li2O", "NaCl", "Fe0.9Ni0.1"])
    assert not condition_met("alloy", None, [])


def test_candidates_for_adds_the_conditional_ones_only_where_met() -> None:
    y = np.r_[np.zeros(50), np.linspace(0.5, 3, 50)]
    names = {c.name for c in candidates_for(GAP, y, ["NaCl"] * 100)}
    assert names == {c.name for c in GENERAL} | HURDLES
    assert candidates_for(GAP) == list(GENERAL)
    alloys = {c.name for c in candidates_for(GAP, np.linspace(1, 2, 10), ["Fe0.9Ni0.1"] * 10)}
    assert alloys == {c.name for c in GENERAL} | {"extra_trees_fractions_leaf2"}
    # The conductivity set is unchanged whatever the rows look like.
    sigma = {"name": "conductivity", "unit": "log10(S/cm)"}
    assert candidates_for(sigma, y, ["Fe0.9Ni0.1"] * 100) == [CONDUCTIVITY, EXTRA_TREES_MAGPIE]


def test_hurdle_candidate_builds_a_floor_hurdle() -> None:
    model = get_candidate("hurdle_sqrt_fractions").estimator(0, 20)
    assert isinstance(model, CensoredHurdleRegressor)
    assert model.floor == "min" and model.target_transform == "sqrt"
    leaf2 = get_candidate("extra_trees_fractions_leaf2").estimator(0, 20)
    assert leaf2.get_params()["min_samples_leaf"] == 2


def test_train_considers_and_scores_the_hurdle_on_a_zero_inflated_table(monkeypatch) -> None:
    import matgenome.selection as selection

    monkeypatch.setattr(selection, "SELECTION_TREES", 30)  # the comparison, not its precision
    table = _gap_table()
    targets = parse_target_values(table["gap"])
    model, _ = train_model(table["formula"], targets, n_estimators=30, fallback="none",
                           card={"target": GAP})
    scores = model.card["selection"]["candidates"]
    assert set(scores) >= HURDLES
    assert all(np.isfinite(scores[name]["cv_mae"]) for name in scores)
    chosen = model.card["selection"]["chosen"]
    assert scores[chosen]["cv_mae"] == min(s["cv_mae"] for s in scores.values())


def test_trained_hurdle_predicts_the_floor_for_floor_rows_in_original_units() -> None:
    table = _gap_table()
    targets = parse_target_values(table["gap"])
    model, _ = train_model(table["formula"], targets, recipe="hurdle_sqrt_fractions",
                           n_estimators=60, fallback="none", card={"target": GAP})
    new = ["Fe0.5Ni0.5", "Cu0.6Zn0.4", "Fe0.5O0.5", "Al0.4F0.6"]
    predicted = model.predict(new)
    np.testing.assert_allclose(predicted.mean[:2], 0.0)  # alloys: at the floor
    # Compounds: gaps of a few eV (the trees learned sqrt(gap)).
    assert np.all((predicted.mean[2:] > 1.0) & (predicted.mean[2:] < 8.0))
    assert np.all(np.isfinite(predicted.std))


def test_fallback_over_a_floor_hurdle_keeps_the_units() -> None:
    """The fallback's fold models of a √ hurdle predict in the original units."""
    from matgenome.models.fallback import DistanceFallbackRegressor

    rng = np.random.default_rng(1)
    X = rng.uniform(size=(150, 3))
    y = np.where(X[:, 0] < 0.4, 0.0, (4 * X[:, 0]) ** 2)
    hurdle = get_candidate("hurdle_sqrt_fractions").estimator(0, 30)
    model = DistanceFallbackRegressor(hurdle, inner_trees=20, random_state=0).fit(X, y)
    held = model._floor_fold_prediction(X[:100], y[:100], X[100:])
    mean, sd, epistemic = held
    # Fold means are gaps (0 to 16), not square roots of gaps (0 to 4).
    assert mean.max() > 6.0 and np.mean(np.abs(mean - y[100:])) < 2.0
    assert np.all(np.isfinite(sd)) and np.all(sd >= epistemic - 1e-12)
    parts = model.predict_uncertainty(X[:5])
    assert np.all(np.isfinite(parts["uncertainty"]))
    # Far from the data P(at the floor) moves towards the training share at the floor.
    assert model.p_prior_ == pytest.approx(np.mean(y == 0))
