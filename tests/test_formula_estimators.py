"""scikit-learn's estimator checks for the estimators whose ``X`` is formula text.

:class:`~matgenome.features.CompositionFeaturizer` and
:class:`~matgenome.training.TrainedModelRegressor` take one column of formulas, and declare
it in their tags (``string`` input, ``one_d_array``), so scikit-learn's own checks skip
them. To hold them to the contract anyway, every check scikit-learn runs on a numeric
estimator is run here on a twin whose tags claim numeric input: each check passes, or is
listed in :data:`NOT_APPLICABLE` with the reason it cannot apply, as a strict expected
failure (a listed check that starts passing fails the test). What those checks test on
numbers is tested below on formulas.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._tags import InputTags
from sklearn.utils.estimator_checks import parametrize_with_checks

from matgenome.errors import UsageError
from matgenome.features import CompositionFeaturizer
from matgenome.training import TrainedModelRegressor

_NUMBERS = ("feeds a numeric matrix of several columns; X is one column of formulas, so the "
            "input is refused (tested on formulas below)")
_MESSAGE = ("expects scikit-learn's numeric-validation message; numbers are refused here as "
            "not formulas, with a message that says so")
_SPARSE = "sparse input: a formula column cannot be sparse, and the message says formulas"

NOT_APPLICABLE: dict[str, str] = {
    **dict.fromkeys([
        "check_fit_score_takes_y", "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
        "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_estimators_dtypes",
        "check_dtype_object", "check_pipeline_consistency", "check_estimators_pickle",
        "check_f_contiguous_array_estimator", "check_methods_sample_order_invariance",
        "check_methods_subset_invariance", "check_dict_unchanged", "check_fit_idempotent",
        "check_fit_check_is_fitted", "check_n_features_in", "check_fit2d_predict1d",
        # transformer checks
        "check_transformer_general", "check_transformer_preserve_dtypes",
        # regressor checks
        "check_regressors_train", "check_regressors_no_decision_function",
        "check_supervised_y_2d", "check_regressors_int", "check_requires_y_none",
    ], _NUMBERS),
    **dict.fromkeys([
        "check_complex_data", "check_estimators_nan_inf",
        "check_estimators_empty_data_messages", "check_fit2d_1sample",
        "check_fit2d_1feature",
    ], _MESSAGE),
    **dict.fromkeys([
        "check_estimator_sparse_array", "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
    ], _SPARSE),
    "check_transformer_data_not_an_array": "wraps numbers in an object that is not a "
    "collection; formulas come as a list, tuple, Series or array",
    "check_regressor_data_not_an_array": "wraps numbers in an object that is not a "
    "collection; formulas come as a list, tuple, Series or array",
    "check_fit1d": "expects a 1-D X to be refused; a 1-D array is the formula column the "
    "featurizer takes",
}


def _as_if_numeric(cls: type) -> type:
    """A subclass of ``cls`` whose tags claim a numeric 2-D X, so that every check runs."""

    class AsIfNumeric(cls):  # type: ignore[misc, valid-type]
        def __sklearn_tags__(self):
            tags = super().__sklearn_tags__()
            tags.input_tags = InputTags()
            return tags

    AsIfNumeric.__name__ = AsIfNumeric.__qualname__ = cls.__name__
    return AsIfNumeric


TWINS = [
    _as_if_numeric(CompositionFeaturizer)(),
    _as_if_numeric(TrainedModelRegressor)(recipe="extra_trees_magpie", n_estimators=5,
                                          n_jobs=1),
]


# Checks in NOT_APPLICABLE that one of the two passes anyway, and why.
PASSES_ANYWAY: dict[str, set[str]] = {
    # One numeric column fails as "not a formula", the error the check wants.
    "CompositionFeaturizer": {"check_fit2d_1feature"},
    # Numbers are refused as formulas before anything looks at sparsity or dimensions,
    # with a ValueError, which is all these two checks ask of a regressor.
    "TrainedModelRegressor": {"check_estimator_sparse_tag", "check_fit1d"},
}


def _not_applicable(estimator: object) -> dict[str, str]:
    passes = PASSES_ANYWAY[type(estimator).__name__]
    return {name: reason for name, reason in NOT_APPLICABLE.items() if name not in passes}


@parametrize_with_checks(TWINS, expected_failed_checks=_not_applicable, xfail_strict=True)
def test_sklearn_estimator_checks(estimator, check) -> None:
    check(estimator)


def test_the_real_estimators_declare_formula_input() -> None:
    for estimator in (CompositionFeaturizer(), TrainedModelRegressor()):
        tags = estimator.__sklearn_tags__()
        assert tags.input_tags.string and tags.input_tags.one_d_array
        assert not tags.input_tags.two_d_array


# ------------------------------------------- what the numeric checks test, on formulas

FORMULAS = [f"Li{x:.2f}Na{1 - x:.2f}Cl" for x in np.linspace(0.05, 0.95, 24)]
Y = np.linspace(-6.0, -2.0, 24)


def _regressor() -> TrainedModelRegressor:
    return TrainedModelRegressor(recipe="extra_trees_magpie", n_estimators=10, n_jobs=1)


def test_regressor_contract_on_formulas() -> None:
    model = _regressor()
    with pytest.raises(NotFittedError):
        model.predict(FORMULAS[:2])
    params = model.get_params()
    assert model.fit(FORMULAS, Y) is model  # fit returns self
    assert model.get_params() == params  # parameters are not overwritten
    first = model.predict(FORMULAS)
    # Idempotent fit, the same from a clone, and after a pickle round trip.
    np.testing.assert_allclose(model.fit(FORMULAS, Y).predict(FORMULAS), first)
    np.testing.assert_allclose(clone(model).fit(FORMULAS, Y).predict(FORMULAS), first)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(FORMULAS), first)
    # Predictions do not depend on the order or the subset of the rows predicted.
    order = np.random.default_rng(0).permutation(len(FORMULAS))
    np.testing.assert_allclose(model.predict([FORMULAS[i] for i in order]), first[order])
    np.testing.assert_allclose(model.predict(FORMULAS[5:9]), first[5:9])
    # One column of a 2-D array is the same formula column.
    column = np.asarray(FORMULAS, dtype=object).reshape(-1, 1)
    np.testing.assert_allclose(model.predict(column), first)


def test_regressor_refuses_unusable_training_data_by_name() -> None:
    with pytest.raises(UsageError, match="no rows"):
        _regressor().fit([], [])
    with pytest.raises(UsageError, match="24 formulas but 23 target values"):
        _regressor().fit(FORMULAS, Y[:-1])
    y = Y.copy()
    y[3] = np.nan
    with pytest.raises(UsageError, match=r"row 3 \('Li0."):
        _regressor().fit(FORMULAS, y)
    with pytest.raises(ValueError, match="single column of formulas"):
        _regressor().fit(np.zeros((24, 3)), Y)


def test_featurizer_contract_on_formulas() -> None:
    featurizer = CompositionFeaturizer(preset="magpie")
    with pytest.raises(NotFittedError):
        featurizer.transform(FORMULAS)
    assert featurizer.fit(FORMULAS) is featurizer
    first = featurizer.transform(FORMULAS)
    order = np.random.default_rng(1).permutation(len(FORMULAS))
    np.testing.assert_allclose(featurizer.transform([FORMULAS[i] for i in order]),
                               first[order])
    np.testing.assert_allclose(featurizer.transform(FORMULAS[3:7]), first[3:7])
    restored = pickle.loads(pickle.dumps(featurizer))
    np.testing.assert_allclose(restored.transform(FORMULAS), first)
    assert first.shape[1] == len(featurizer.get_feature_names_out())
