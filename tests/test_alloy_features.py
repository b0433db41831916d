"""The ``alloy`` preset (Yang solid-solution parameters, Miedema enthalpies) against matminer."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from formula_samples import random_formulas, shipped_path
from matminer.featurizers.composition import Miedema, YangSolidSolution
from pymatgen.core import Composition

from matgenome.features import compute_features, feature_labels

TOLERANCE = 1e-9


def glass_formulas() -> list[str]:
    path = shipped_path("datasets") / "matbench" / "matbench_glass.csv"
    return list(pd.read_csv(path)["composition"])


def matminer_alloy(formulas: list[str]) -> np.ndarray:
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas FutureWarning inside matminer's Miedema
        yang, miedema = YangSolidSolution(), Miedema()
        for formula in formulas:
            composition = Composition(formula)
            rows.append(yang.featurize(composition) + miedema.featurize(composition))
    return np.array(rows, dtype=float)


def test_labels() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = YangSolidSolution().feature_labels() + Miedema().feature_labels()
    assert feature_labels("alloy") == expected


@pytest.mark.parametrize(
    "formulas",
    [
        pytest.param(lambda: glass_formulas()[::19], id="matbench_glass"),
        pytest.param(lambda: random_formulas(150, seed=5), id="random"),
        pytest.param(lambda: ["Fe", "Cu", "Zr", "H2N", "Cu50Zr50", "Pd40Ni40P20",
                              "Zr41.2Ti13.8Cu12.5Ni10Be22.5", "Mg65Cu25Y10"], id="classic"),
    ],
)
def test_alloy_matches_matminer(formulas) -> None:
    formulas = formulas()
    ours, errors = compute_features(formulas, "alloy")
    assert not any(errors)
    reference = matminer_alloy(formulas)
    assert ours.shape == reference.shape
    np.testing.assert_allclose(ours, reference, rtol=TOLERANCE, atol=TOLERANCE)
