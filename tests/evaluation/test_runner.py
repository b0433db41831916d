"""matgenome.evaluation.runner: fitting with censored rows, run_protocol and evaluate."""

from __future__ import annotations

import importlib
import json
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from matgenome.errors import InputError

# ``matgenome.evaluation`` is also a function exported by the package: import the module.
ev = importlib.import_module("matgenome.evaluation")


class _CensorAware(DummyRegressor):
    __metadata_request__fit: ClassVar[dict[str, bool]] = {"censored": True}

    def fit(self, X, y, censored=None):
        self.seen_censored_ = None if censored is None else int(np.sum(censored))
        self.n_rows_ = len(y)
        return super().fit(X, y)


def test_run_protocol_scores_uncensored_rows_and_writes_json(tmp_path) -> None:
    n = 40
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0, 0.1, n)
    censored = np.zeros(n, bool)
    censored[[3, 17, 29]] = True
    frame = pd.DataFrame(
        {"formula": [f"Li{i + 1}Cl" for i in range(n)], "target": y,
         "censor": np.where(censored, "<", "")}
    )
    keys = ev.composition_labels(frame["formula"].tolist())
    splits = ev.kfold_splits(keys, 4, random_state=0)
    result = ev.run_protocol(frame, X, LinearRegression, splits, dataset="toy",
                             protocol={"name": "kfold"})
    assert result.metrics["regression"]["mae"]["mean"] < 0.2
    assert result.metrics["n_censored"]["mean"] == pytest.approx(0.75)
    assert len(result.predictions) == n
    # Hand check of one fold's MAE from the stored predictions.
    predictions = result.predictions
    fold0 = predictions[(predictions["fold"] == 0) & predictions["censor"].eq("")]
    assert result.fold_metrics[0]["regression"]["mae"] == pytest.approx(
        np.mean(np.abs(fold0["y_pred"] - fold0["y_true"]))
    )
    aware = ev.run_protocol(frame, X, _CensorAware, splits)
    assert aware.model["class"].endswith("_CensorAware")

    path = result.write_json(tmp_path / "result.json")
    data = json.loads(path.read_text())
    assert data["data_sha256"] == ev.table_hash(frame)
    assert set(data["versions"]) >= {"python", "numpy", "sklearn", "pymatgen", "matminer",
                                      "matgenome"}
    loaded = ev.EvaluationResult.read_json(path)
    assert loaded.data_hash == result.data_hash
    assert loaded.metrics == data["metrics"]
    assert loaded.metrics["regression"]["mae"]["mean"] == pytest.approx(
        result.metrics["regression"]["mae"]["mean"]
    )
    assert np.allclose(loaded.predictions["y_pred"], result.predictions["y_pred"])
    assert not list(tmp_path.glob("*.tmp"))
    assert "regression.mae" in result.table()


def test_fit_model_drops_censored_rows_for_plain_models() -> None:
    X = np.arange(7, dtype=float).reshape(-1, 1)
    y = np.array([1.0, 1.0, 1.0, 1.0, -10.0, -10.0, 50.0])
    censor = np.array(["", "", "", "", "<", "<", ">"])
    model = ev.fit_model(DummyRegressor(), X, y, censor)
    assert model.predict(X[:1])[0] == pytest.approx(1.0)
    # Upper bounds reach a model that asks for them; a lower bound reaches no model.
    aware = ev.fit_model(_CensorAware(), X, y, censor)
    assert aware.seen_censored_ == 2
    assert aware.n_rows_ == 6


def test_run_protocol_refuses_the_old_boolean_column() -> None:
    frame = pd.DataFrame({"formula": ["LiCl", "NaCl"], "target": [1.0, 2.0],
                          "censored": [False, True]})
    with pytest.raises(InputError, match="'censor' column"):
        ev.run_protocol(frame, np.zeros((2, 1)), DummyRegressor, [(np.array([0]),
                                                                   np.array([1]))])


def test_evaluate_entry_point_on_a_table(tmp_path) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 2))
    frame = pd.DataFrame({"formula": [f"Na{i + 1}Cl" for i in range(30)],
                          "target": X @ np.array([1.0, 1.0]),
                          "family": ["a", "b", "c"] * 10})
    result = ev.evaluate(frame, LinearRegression, protocol="group", group_column="family",
                         features=X, n_splits=3, output=tmp_path / "r.json")
    assert result.protocol["name"] == "group"
    assert result.metrics["regression"]["mae"]["mean"] < 1e-6
    assert (tmp_path / "r.json").exists()
    assert "regression.mae" in result.table()


def test_evaluate_leaves_out_formulas_that_train_rejects() -> None:
    good = ["Li2O", "Li3N", "LiCl", "LiBr", "LiI", "Li2S", "Li3P", "LiF", "Li2Se", "Li3PS4"]
    frame = pd.DataFrame({"formula": [*good, "Li6PS5Cl)", "Li2S-P2S5"],
                          "target": np.arange(12, dtype=float)})
    result = ev.evaluate(frame, model=DummyRegressor, protocol="kfold", n_splits=2,
                         features=lambda formulas: np.zeros((len(formulas), 1)))
    scored = set(result.predictions["formula"])
    assert scored == set(good)
    assert "2 rows left out (invalid formula), e.g. row 10: invalid formula 'Li6PS5Cl)'" in (
        result.notes[0])


class _TextModel(DummyRegressor):
    """A model on formulas, as the training path is: it records the inputs it was fit on."""

    def fit(self, X, y, sample_weight=None):
        self.seen_ = np.asarray(X)
        return super().fit(X, y, sample_weight)


def test_run_protocol_passes_formulas_when_told_and_refuses_an_unknown_input_kind() -> None:
    formulas = ["Li2O", "Li3N", "LiCl", "LiBr"]
    frame = pd.DataFrame({"formula": formulas, "target": [1.0, 2.0, 3.0, 4.0]})
    splits = [(np.array([0, 1, 2]), np.array([3]))]
    fitted: list[_TextModel] = []

    def factory() -> _TextModel:
        fitted.append(_TextModel())
        return fitted[-1]

    result = ev.run_protocol(frame, np.asarray(formulas, dtype=object), factory, splits,
                             inputs="formulas")
    assert fitted[0].seen_.dtype == object
    assert fitted[0].seen_.ravel().tolist() == formulas[:3]
    assert result.predictions["y_pred"].tolist() == pytest.approx([2.0])
    # Descriptors are the default: text is then refused rather than sniffed.
    with pytest.raises(ValueError, match="could not convert"):
        ev.run_protocol(frame, np.asarray(formulas, dtype=object), DummyRegressor, splits)
    with pytest.raises(ValueError, match="inputs must be 'features' or 'formulas'"):
        ev.run_protocol(frame, np.zeros((4, 1)), DummyRegressor, splits, inputs="text")


def test_evaluation_does_not_shadow_the_featurizer() -> None:
    import matgenome.features

    # Descriptors come from matgenome.features only (its featurize returns a table).
    assert not hasattr(ev, "featurize")
    assert callable(matgenome.features.featurize)
