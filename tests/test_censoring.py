"""matgenome.censoring: the one ``censor`` column, and lower bounds through every step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from matgenome.censoring import (
    censor_of,
    exact_values,
    is_exact,
    lower_bounds,
    upper_bounds,
)
from matgenome.datasets import NORMALISED_COLUMNS, load
from matgenome.errors import InputError
from matgenome.known import KnownMeasurements
from matgenome.target_values import parse_target_values
from matgenome.training import train_model


def test_every_shipped_dataset_has_the_censor_column_only() -> None:
    assert "censor" in NORMALISED_COLUMNS and "censored" not in NORMALISED_COLUMNS
    frame = load("obelix")
    assert "censored" not in frame.columns
    assert set(censor_of(frame)) == {"", "<"}
    assert upper_bounds(frame["censor"]).sum() == 37


def test_censor_of_reads_missing_cells_as_exact_and_names_a_bad_row() -> None:
    frame = pd.DataFrame({"censor": ["<", None, " >", ""]}, index=[10, 11, 12, 13])
    np.testing.assert_array_equal(censor_of(frame), ["<", "", ">", ""])
    assert censor_of(pd.DataFrame({"target": [1.0, 2.0]})).tolist() == ["", ""]
    with pytest.raises(InputError, match=r"row 11: censor 'x'"):
        censor_of(pd.DataFrame({"censor": ["<", "x"]}, index=[10, 11]))


def test_the_old_boolean_column_is_refused_with_the_new_name() -> None:
    with pytest.raises(InputError, match="'censor' column: '<' upper bound"):
        censor_of(pd.DataFrame({"target": [1.0], "censored": [True]}))


def test_masks_and_exact_values() -> None:
    censor = np.array(["", "<", ">", ""])
    assert is_exact(censor).tolist() == [True, False, False, True]
    assert upper_bounds(censor).tolist() == [False, True, False, False]
    assert lower_bounds(censor).tolist() == [False, False, True, False]
    frame = pd.DataFrame({"target": [1.0, 2.0, 3.0, 4.0], "censor": censor})
    np.testing.assert_allclose(exact_values(frame), [1.0, 4.0])
    # A boolean mask is not a censor column: it fails instead of meaning "no exact rows".
    with pytest.raises(ValueError, match="is not '<', '>' or ''"):
        is_exact(np.array([True, False]))


def _lines(n: int = 40) -> tuple[list[str], list[str]]:
    """Formulas Li_x Na_(1-x) Cl with a smooth target, as text cells."""
    fractions = np.linspace(0.05, 0.95, n)
    formulas = [f"Li{x:.3f}Na{1 - x:.3f}Cl" for x in fractions]
    return formulas, [f"{10 ** (-6 + 3 * x):.4g}" for x in fractions]


def test_training_leaves_lower_bounds_out_of_the_hurdle_and_reports_them() -> None:
    formulas, cells = _lines()
    for i in (0, 3, 6, 9, 12, 15):
        cells[i] = "<1E-7"
    cells[30], cells[33] = ">1E-2", ">1E-2"
    targets = parse_target_values(cells, log10=True)
    model, report = train_model(pd.Series(formulas), targets, recipe="extra_trees_magpie",
                                n_estimators=20, first_row=2)
    assert report.skipped["lower bound (the model learns from upper bounds only)"] == [32, 35]
    assert report.rows_used == 38
    assert model.card["training_data"]["censored_treatment"] == "hurdle"
    # Every valid row stays in the model's known data, with its direction.
    assert model.training_data["censor"].tolist().count(">") == 2
    known = KnownMeasurements.from_training_data(model.training_data)
    lookup = known.lookup([formulas[0], formulas[30], formulas[1]])
    assert lookup["known_bound"].iloc[0] == pytest.approx(-7.0)
    # A lower bound is neither a value nor a floor: the composition is not marked known.
    assert lookup["known_count"].tolist() == [0, 0, 1]
    assert np.isnan(lookup["known_bound"].iloc[1])
