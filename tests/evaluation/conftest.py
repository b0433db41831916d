"""Shared tables of the evaluation tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture()
def duplicated_table() -> pd.DataFrame:
    """20 compositions, four of them repeated in other spellings at rows 20-23."""
    formulas = [f"Li{i}O" for i in range(1, 21)]
    formulas += ["Li1O", "OLi2", "Li6O2", "Li8O2"]  # duplicates in other spellings
    return pd.DataFrame({"formula": formulas, "target": np.arange(len(formulas), dtype=float)})
