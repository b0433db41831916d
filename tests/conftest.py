"""Shared fixtures: a small trained model directory built once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from matgenome.datasets import load
from matgenome.modelfile import save_model
from matgenome.target_values import TargetValues
from matgenome.training import train_model


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-tree conductivity model trained on OBELiX's training split."""
    train = load("obelix", "train")
    card = {"name": "small", "target": {"name": "log10 sigma", "unit": "log10(S/cm)"}}
    model, _ = train_model(train["formula"], TargetValues.from_frame(train), n_estimators=40,
                           seed=0, mobile_ion="Li", card=card)
    return save_model(model, tmp_path_factory.mktemp("models") / "small")
