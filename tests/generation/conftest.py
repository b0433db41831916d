"""Fixtures shared by the candidate-generation tests."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from matgenome.composition import parse_composition
from matgenome.generation import generate_candidates


@pytest.fixture(scope="package")
def default_candidates() -> pd.DataFrame:
    return generate_candidates()


def _charge(formula: str, states: dict[str, int]) -> float:
    composition = parse_composition(formula)
    return sum(float(amount) * states[str(el)] for el, amount in composition.items())


@pytest.fixture
def charge() -> Callable[[str, dict[str, int]], float]:
    """The total charge of a formula under the given oxidation states."""
    return _charge
