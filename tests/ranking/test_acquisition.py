"""Acquisition functions: EI, PI, MLI, UCB, MU and the predicted value for every
objective; dispatch; the best known value."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate
from scipy.stats import norm

import matgenome.ranking as rank

# Hand-computed standard normal values: Phi(0.2), phi(0.2), Phi(1), Phi(1) - Phi(-1).
PHI_02 = 0.579259709439103
PDF_02 = 0.391042693975456
PHI_1 = 0.841344746068543
WITHIN_1_SIGMA = 0.682689492137086


def test_ei_matches_the_closed_form_by_hand() -> None:
    # mean 1, std 2, best 0.5, xi 0.1: I = 0.4, z = 0.2, EI = I*Phi(z) + std*phi(z).
    expected = 0.4 * PHI_02 + 2 * PDF_02
    assert rank.ei([1.0], [2.0], 0.5, xi=0.1)[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1.0137892717265529, rel=1e-12)


def test_ei_with_zero_std_is_the_plain_improvement() -> None:
    scores = rank.ei([2.0, 0.0, 1.0], [0.0, 0.0, 0.0], 1.0)
    np.testing.assert_allclose(scores, [1.0, 0.0, 0.0])


def test_ei_minimise_mirrors_maximise() -> None:
    mean, std = np.array([-3.0, -1.0, 0.5]), np.array([0.2, 1.0, 0.0])
    np.testing.assert_allclose(
        rank.ei(mean, std, -1.5, "min", xi=0.05), rank.ei(-mean, std, 1.5, "max", xi=0.05)
    )


@pytest.mark.parametrize(("mean", "std"), [(0.7, 0.4), (1.2, 0.1), (-2.0, 1.5), (1.5, 0.0)])
def test_ei_for_a_target_equals_numerical_integration(mean: float, std: float) -> None:
    target, best, xi = 1.2, 0.3, 0.1
    radius = abs(best - target) - xi

    def improvement(y: float) -> float:
        return max(radius - abs(y - target), 0.0)

    if std == 0:
        expected = improvement(mean)
    else:
        expected = integrate.quad(
            lambda y: improvement(y) * norm.pdf(y, mean, std),
            target - radius, target + radius, points=[target],
        )[0]
    got = rank.ei([mean], [std], best, "target", target=target, xi=xi)[0]
    assert got == pytest.approx(expected, abs=1e-9)


def test_ei_and_mli_for_a_target_already_hit_are_refused() -> None:
    # Every row would score 0: the ranking would silently be the input order.
    with pytest.raises(ValueError, match="already at the target"):
        rank.ei([0.0, 1.0], [1.0, 1.0], 2.0, "target", target=2.0)
    with pytest.raises(ValueError, match="already at the target"):
        rank.mli([0.0, 1.0], [1.0, 1.0], 2.0, "target", target=2.0)


def test_probability_of_exceeding_a_threshold() -> None:
    # P(log10 sigma > -4) for mean -3.5, std 0.5 is Phi(1).
    assert rank.pi([-3.5], [0.5], threshold=-4.0)[0] == pytest.approx(PHI_1, rel=1e-12)
    assert rank.probability([-3.5], [0.5], "min", threshold=-4.0)[0] == pytest.approx(
        1 - PHI_1, rel=1e-12
    )
    np.testing.assert_array_equal(rank.pi([-3.0, -5.0, -4.0], [0, 0, 0], threshold=-4), [1, 0, 0])


def test_probability_of_hitting_a_target_window() -> None:
    got = rank.probability([2.0, 10.0, -6.0], [1.0] * 3, "target", target=2.0, tolerance=1.0)
    assert got[0] == pytest.approx(WITHIN_1_SIGMA, rel=1e-12)
    # Far tails on either side keep their relative precision: Phi(-7) - Phi(-9), where
    # Phi(-7) = 1.2798125e-12 and Phi(-9) = 1.1e-19.
    tail = 1.2798125e-12
    assert got[1] == pytest.approx(tail, rel=1e-6)
    assert got[2] == pytest.approx(norm.sf(7.0) - norm.sf(9.0), rel=1e-6)


def test_mli_is_the_probability_of_beating_the_best() -> None:
    mean, std = np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.5, 2.0])
    np.testing.assert_allclose(rank.mli(mean, std, 0.8), norm.sf(0.8, mean, std))
    np.testing.assert_allclose(rank.mli(mean, std, 0.8, "min"), norm.cdf(0.8, mean, std))
    # For a target: closer than the best known value, |y - 1| < |0.5 - 1|.
    window = norm.cdf(1.5, mean, std) - norm.cdf(0.5, mean, std)
    np.testing.assert_allclose(rank.mli(mean, std, 0.5, "target", target=1.0), window)


def test_mean_ucb_and_mu_for_every_objective() -> None:
    mean, std = np.array([1.0, -2.0, 4.0]), np.array([0.5, 1.0, 0.0])
    np.testing.assert_allclose(rank.predicted_value(mean, std), mean)
    np.testing.assert_allclose(rank.mei(mean, std, "min"), -mean)
    np.testing.assert_allclose(rank.predicted_value(mean, std, "target", target=0.0), [-1, -2, -4])
    np.testing.assert_allclose(rank.ucb(mean, std, kappa=2), [2.0, 0.0, 4.0])
    np.testing.assert_allclose(rank.ucb(mean, std, "min", kappa=2), [0.0, 4.0, -4.0])
    # Target 0: optimistic closeness 2 std - |mean|, not clipped at 0 (which would tie
    # every row whose interval holds the target).
    np.testing.assert_allclose(rank.ucb(mean, std, "target", target=0.0, kappa=2), [0, 0, -4])
    np.testing.assert_allclose(rank.ucb([0.5, 0.1, 1.0], [1.0, 1.0, 1.0], "target", target=0.0),
                               [1.5, 1.9, 1.0])
    np.testing.assert_allclose(rank.max_uncertainty(mean, std), std)


@pytest.mark.parametrize("acquisition", ["mean", "mei", "ucb", "pi"])
def test_target_objective_ranks_the_row_nearest_the_target_first(acquisition: str) -> None:
    # Predictions around -4 with equal uncertainty; the nearest to -4 is the fourth row.
    df = pd.DataFrame({"pred": [-2.0, -3.0, -6.3, -4.1, -5.4], "std": [0.8] * 5})
    ranked = rank.rank_table(df, "pred", "std", acquisition, "target", target=-4.0,
                             tolerance=0.5)
    order = ranked.sort_values("rank").index.tolist()
    assert order[0] == 3
    assert order != list(range(5))
    assert ranked["score"].nunique() == 5


def test_dispatch_covers_every_acquisition_name() -> None:
    mean, std = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    for name in rank.ACQUISITIONS:
        scores = rank.acquisition_scores(name, mean, std, best=0.5, threshold=0.5)
        assert scores.shape == (2,)
        assert np.isfinite(scores).all()
    with pytest.raises(ValueError, match="unknown acquisition"):
        rank.acquisition_scores("thompson", mean, std)


def test_nan_predictions_give_nan_scores() -> None:
    mean, std = np.array([1.0, np.nan, 0.0]), np.array([1.0, 1.0, np.nan])
    for name in rank.ACQUISITIONS:
        scores = rank.acquisition_scores(name, mean, std, best=0.0, threshold=0.0)
        assert np.isfinite(scores[0])
        assert np.isnan(scores[1:]).all(), name


def test_bad_inputs_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        rank.ucb([0.0], [-1.0])
    with pytest.raises(ValueError, match="target"):
        rank.predicted_value([0.0], objective="target")
    with pytest.raises(ValueError, match="objective"):
        rank.ucb([0.0], [1.0], "maximise")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="best"):
        rank.ei([0.0], [1.0], math.nan)
    with pytest.raises(ValueError, match="threshold"):
        rank.pi([0.0], [1.0])
    with pytest.raises(ValueError, match="length"):
        rank.ucb([0.0, 1.0], [1.0])


def test_best_known_per_objective() -> None:
    y = [-5.0, -2.5, np.nan, -3.0]
    assert rank.best_known(y) == -2.5
    assert rank.best_known(y, "min") == -5.0
    assert rank.best_known(y, "target", target=-3.2) == -3.0
