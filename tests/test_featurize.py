"""Public API of matgenome.features: arrays, frames, presets and the sklearn transformer."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from formula_samples import random_formulas
from pymatgen.core import Composition
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline

from matgenome.composition import CompositionError
from matgenome.composition_arrays import parse_one
from matgenome.features import (
    DEFAULT_PRESET,
    CompositionFeaturizer,
    compute_features,
    feature_labels,
    featurize,
    list_presets,
    preset_info,
)
from matgenome.features._elements import SYMBOLS

FORMULAS = ["Li7La3Zr2O12", "Li6PS5Cl", "Li10GeP2S12", "Li3YCl6", "Li1.3Al0.3Ti1.7(PO4)3"]
MATMINER_PRESETS = ["magpie", "stoichiometry", "valence_orbital", "ion_property",
                    "element_fraction"]


# --- compute_features -------------------------------------------------------------------


def test_compute_features_shape_dtype_and_labels() -> None:
    values, errors = compute_features(FORMULAS)
    assert values.shape == (5, 132)
    assert values.dtype == np.float64
    assert errors == [""] * 5
    assert np.isfinite(values).all()
    labels = preset_info("magpie")["labels"]
    assert labels[:2] == ["MagpieData minimum Number", "MagpieData maximum Number"]
    assert labels[-1] == "MagpieData mode SpaceGroupNumber"


def test_compute_features_known_values() -> None:
    values, _ = compute_features(["Li2O", "NaCl"])
    frame = pd.DataFrame(values, columns=feature_labels("magpie"))
    # Li (Z=3) x2 and O (Z=8): amount-weighted mean 14/3; mode is the majority element Li.
    assert frame.loc[0, "MagpieData mean Number"] == pytest.approx(14 / 3)
    assert frame.loc[0, "MagpieData range Number"] == 5
    assert frame.loc[0, "MagpieData mode Number"] == 3
    assert frame.loc[0, "MagpieData avg_dev Number"] == pytest.approx(20 / 9)
    # Equal amounts: matminer's mode is the smaller value (Na, Z=11).
    assert frame.loc[1, "MagpieData mode Number"] == 11


def test_bad_rows_are_nan_with_messages_and_never_raise() -> None:
    formulas = ["Li2O", "Xx2O", None, "", "Li2O", float("nan"), 42, "LiCl"]
    values, errors = compute_features(formulas)
    assert values.shape == (8, 132)
    bad = [1, 2, 3, 5, 6]
    assert np.isnan(values[bad]).all()
    assert np.isfinite(values[[0, 4, 7]]).all()
    np.testing.assert_array_equal(values[0], values[4])
    assert [bool(e) for e in errors] == [False, True, True, True, False, True, True, False]
    assert "unknown element 'Xx'" in errors[1]
    assert "empty formula" in errors[3]
    assert "expected a formula string" in errors[6]


def test_accepts_compositions_series_arrays_and_generators() -> None:
    expected, _ = compute_features(FORMULAS)
    inputs = [
        [Composition(f) for f in ["Li7La3Zr2O12", "Li6PS5Cl", "Li10GeP2S12", "Li3YCl6"]]
        + ["Li1.3Al0.3Ti1.7(PO4)3"],
        pd.Series(FORMULAS, index=list("abcde")),
        np.array(FORMULAS, dtype=object),
        np.array(FORMULAS).reshape(-1, 1),
        pd.DataFrame({"formula": FORMULAS}),
        (f for f in FORMULAS),
        tuple(FORMULAS),
    ]
    for formulas in inputs:
        values, errors = compute_features(formulas)
        np.testing.assert_allclose(values, expected, rtol=0, atol=1e-12)
        assert errors == [""] * 5


def test_composition_with_oxidation_states_uses_element_amounts() -> None:
    decorated = Composition({"Li+": 2, "O2-": 1})
    values, errors = compute_features([decorated, "Li2O"])
    assert errors == ["", ""]
    np.testing.assert_array_equal(values[0], values[1])


def test_empty_input() -> None:
    values, errors = compute_features([], preset="default")
    assert values.shape == (0, len(feature_labels("default")))
    assert errors == []


@pytest.mark.parametrize("bad", ["Li2O", Composition("Li2O"), 3])
def test_single_formula_instead_of_collection_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="collection"):
        compute_features(bad)  # type: ignore[arg-type]


def test_two_column_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="single column"):
        compute_features(pd.DataFrame({"a": ["Li2O"], "b": ["NaCl"]}))


def test_results_do_not_depend_on_batch_composition() -> None:
    alone, _ = compute_features(["Li3PO4"], preset="default")
    mixed, _ = compute_features(["Fe", "Li3PO4", "NaCl", "Li3PO4"], preset="default")
    np.testing.assert_array_equal(mixed[1], alone[0])
    np.testing.assert_array_equal(mixed[3], alone[0])


# --- featurize ---------------------------------------------------------------------------


def test_featurize_frame_keeps_order_and_index() -> None:
    series = pd.Series(FORMULAS, index=[10, 11, 12, 13, 14])
    frame = featurize(series, preset="stoichiometry")
    assert list(frame.index) == [10, 11, 12, 13, 14]
    assert list(frame.columns) == ["0-norm", "2-norm", "3-norm", "5-norm", "7-norm", "10-norm"]
    assert frame["0-norm"].tolist() == [4, 4, 4, 3, 5]
    assert list(featurize(FORMULAS).index) == [0, 1, 2, 3, 4]


def test_featurize_raise_names_row_and_formula() -> None:
    with pytest.raises(CompositionError, match=r"^row 2: invalid formula 'Li2Xx'") as info:
        featurize(["Li2O", "NaCl", "Li2Xx", "Q"])
    assert info.value.row == 2
    assert info.value.text == "Li2Xx"
    assert isinstance(info.value, ValueError)


def test_featurize_coerce_gives_nan_rows() -> None:
    frame = featurize(["Li2O", "Li2Xx"], errors="coerce")
    assert frame.iloc[1].isna().all()
    assert frame.iloc[0].notna().all()


def test_featurize_rejects_unknown_errors_mode() -> None:
    with pytest.raises(ValueError, match="errors"):
        featurize(["Li2O"], errors="ignore")  # type: ignore[arg-type]


# --- presets -----------------------------------------------------------------------------


def test_list_presets() -> None:
    assert list_presets() == sorted(
        ["alloy", "conduction", "default", "electrolyte", "element_fraction",
         "ion_property", "magpie", "stoichiometry", "valence_orbital"]
    )


@pytest.mark.parametrize("preset", [*list_presets(), "magpie+stoichiometry"])
def test_preset_info_is_complete(preset: str) -> None:
    info = preset_info(preset)
    assert set(info) >= {"labels", "citations", "implementors", "description"}
    assert info["labels"] == feature_labels(preset)
    assert len(info["labels"]) == len(set(info["labels"])) == info["n_features"]
    assert info["description"]
    assert info["implementors"]
    assert all(isinstance(c, str) and c for c in info["citations"])
    values, _ = compute_features(FORMULAS, preset=preset)
    assert values.shape == (5, info["n_features"])


def test_preset_sizes() -> None:
    sizes = {p: preset_info(p)["n_features"] for p in MATMINER_PRESETS}
    assert sizes == {"magpie": 132, "stoichiometry": 6, "valence_orbital": 8,
                     "ion_property": 3, "element_fraction": 118}
    assert preset_info("default")["n_features"] == 132 + 6 + 8 + 3


def test_default_is_the_magpie_plus_concatenation() -> None:
    assert DEFAULT_PRESET == "magpie+stoichiometry+valence_orbital+ion_property"
    combined, _ = compute_features(FORMULAS, preset="default")
    parts = [compute_features(FORMULAS, preset=p)[0] for p in DEFAULT_PRESET.split("+")]
    np.testing.assert_array_equal(combined, np.hstack(parts))
    assert feature_labels("default") == [
        label for p in DEFAULT_PRESET.split("+") for label in feature_labels(p)
    ]


def test_combined_presets_concatenate_and_deduplicate() -> None:
    combo, _ = compute_features(FORMULAS, preset="stoichiometry + magpie")
    stoich, _ = compute_features(FORMULAS, preset="stoichiometry")
    magpie, _ = compute_features(FORMULAS, preset="magpie")
    np.testing.assert_array_equal(combo, np.hstack([stoich, magpie]))
    assert feature_labels("electrolyte+magpie") == feature_labels("electrolyte")
    assert feature_labels("magpie+magpie") == feature_labels("magpie")


def test_electrolyte_preset_ends_with_magpie_block() -> None:
    labels = feature_labels("electrolyte")
    assert labels[-132:] == feature_labels("magpie")
    info = preset_info("electrolyte")
    described = set(info["column_descriptions"])
    assert set(labels[:-132]) <= described
    assert all("(" in info["column_descriptions"][label] for label in labels[:-132])


@pytest.mark.parametrize("preset", ["magpy", "magpie+", "", "magpie+nope"])
def test_unknown_preset_is_rejected(preset: str) -> None:
    with pytest.raises(ValueError, match="available presets"):
        compute_features(FORMULAS, preset=preset)


def test_preset_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        compute_features(FORMULAS, preset=None)  # type: ignore[arg-type]


# --- CompositionFeaturizer ---------------------------------------------------------------


def test_transformer_matches_compute_features() -> None:
    featurizer = CompositionFeaturizer(preset="default")
    out = featurizer.fit_transform(FORMULAS)
    expected, _ = compute_features(FORMULAS, preset="default")
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == np.float64
    assert featurizer.n_features_in_ == 1
    assert list(featurizer.get_feature_names_out()) == feature_labels("default")
    assert featurizer.feature_names_out_.dtype == object


@pytest.mark.parametrize(
    "layout",
    [
        list,
        tuple,
        lambda f: np.array(f, dtype=object),
        lambda f: np.array(f).reshape(-1, 1),
        pd.Series,
        lambda f: pd.DataFrame({"formula": f}),
    ],
)
def test_transformer_input_layouts(layout) -> None:
    expected, _ = compute_features(FORMULAS)
    np.testing.assert_array_equal(CompositionFeaturizer().fit(layout(FORMULAS)).transform(
        layout(FORMULAS)), expected)


def test_transformer_records_dataframe_column() -> None:
    featurizer = CompositionFeaturizer().fit(pd.DataFrame({"formula": FORMULAS}))
    assert list(featurizer.feature_names_in_) == ["formula"]
    featurizer.fit(FORMULAS)
    assert not hasattr(featurizer, "feature_names_in_")


def test_transformer_invalid_row_names_the_row() -> None:
    featurizer = CompositionFeaturizer().fit(FORMULAS)
    with pytest.raises(CompositionError, match=r"^row 1: invalid formula 'LiQ2'"):
        featurizer.transform(["Li2O", "LiQ2", "NaCl"])


def test_transformer_rejects_multi_column_input() -> None:
    with pytest.raises(ValueError, match="single column"):
        CompositionFeaturizer().fit(np.array([["Li2O", "NaCl"]]))


def test_transformer_unfitted_raises() -> None:
    with pytest.raises(NotFittedError):
        CompositionFeaturizer().transform(FORMULAS)
    with pytest.raises(NotFittedError):
        CompositionFeaturizer().get_feature_names_out()


def test_transformer_fit_validates_preset() -> None:
    with pytest.raises(ValueError, match="unknown feature preset"):
        CompositionFeaturizer(preset="nope").fit(FORMULAS)


def test_transformer_uses_preset_from_fit_time() -> None:
    featurizer = CompositionFeaturizer(preset="stoichiometry").fit(FORMULAS)
    featurizer.set_params(preset="magpie")
    # Output width must keep matching feature_names_out_ until the next fit.
    assert featurizer.transform(FORMULAS).shape == (5, 6)
    assert featurizer.fit(FORMULAS).transform(FORMULAS).shape == (5, 132)


def test_transformer_pickle_and_clone_round_trip() -> None:
    featurizer = CompositionFeaturizer(preset="magpie+ion_property").fit(FORMULAS)
    expected = featurizer.transform(FORMULAS)
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_array_equal(restored.transform(FORMULAS), expected)
    cloned = clone(featurizer)
    assert cloned.get_params() == {"preset": "magpie+ion_property"}
    assert not hasattr(cloned, "feature_names_out_")
    np.testing.assert_array_equal(cloned.fit_transform(FORMULAS), expected)


def test_transformer_is_idempotent_and_order_invariant() -> None:
    featurizer = CompositionFeaturizer(preset="default")
    first = featurizer.fit_transform(FORMULAS)
    second = featurizer.fit(FORMULAS).transform(FORMULAS)
    np.testing.assert_array_equal(first, second)
    order = [3, 0, 4, 1, 2]
    np.testing.assert_array_equal(
        featurizer.transform([FORMULAS[i] for i in order]), first[order]
    )
    np.testing.assert_array_equal(featurizer.transform(FORMULAS[1:3]), first[1:3])


def test_transformer_set_output_pandas() -> None:
    featurizer = CompositionFeaturizer(preset="stoichiometry").set_output(transform="pandas")
    frame = featurizer.fit_transform(pd.DataFrame({"formula": FORMULAS}))
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == feature_labels("stoichiometry")


def test_transformer_in_pipeline() -> None:
    y = np.array([-4.0, -3.0, -2.0, -3.5, -3.2])
    model = make_pipeline(CompositionFeaturizer(preset="default"), Ridge(alpha=1.0))
    model.fit(pd.DataFrame({"formula": FORMULAS}), y)
    prediction = model.predict(pd.DataFrame({"formula": FORMULAS}))
    assert prediction.shape == (5,)
    assert np.isfinite(prediction).all()
    grid_clone = clone(model).set_params(compositionfeaturizer__preset="magpie")
    assert grid_clone.get_params()["compositionfeaturizer__preset"] == "magpie"


# scikit-learn's estimator checks for the featurizer: tests/test_formula_estimators.py.


@pytest.mark.parametrize("preset", ["default", "electrolyte", "element_fraction"])
def test_features_do_not_depend_on_element_order(preset: str) -> None:

    rng = np.random.default_rng(5)
    written, shuffled = [], []
    for formula in random_formulas(400, seed=6) + FORMULAS:
        zs, amounts = parse_one(formula)
        pairs = [f"{SYMBOLS[z]}{a!r}" for z, a in zip(zs, amounts, strict=True)]
        written.append("".join(pairs))
        shuffled.append("".join(pairs[i] for i in rng.permutation(len(pairs))))
    first, _ = compute_features(written, preset)
    second, _ = compute_features(shuffled, preset)
    np.testing.assert_allclose(first, second, rtol=1e-12, atol=1e-12)
