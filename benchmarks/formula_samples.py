"""Formula samples for the tests and the benchmarks (not part of the package).

``shipped_formulas()`` lists the compositions of the shipped OBELiX and Matbench datasets;
``random_formulas(n, seed)`` makes reproducible random formulas resembling generated
screening candidates, to exercise the parser and featurizers beyond those datasets: 2-6
elements (often including Li), integer or decimal amounts (up to
three decimals, occasionally in scientific notation), and sometimes a parenthesised
polyanion group with a multiplier, e.g. ``Li1.25Ga0.3Zr1.7(PO4)3``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from matgenome.composition import SYMBOLS
from matgenome.resources import shipped_path

_NOBLE_GASES = {2, 10, 18, 36, 54, 86}
_CANDIDATES = tuple(z for z in range(1, 95) if z not in _NOBLE_GASES)
_GROUPS = ("PO4", "SO4", "BH4", "SiO4", "PS4", "BO3", "OH", "NO3", "CO3", "GeO4", "P2O7")


def _amount(rng: np.random.Generator) -> str:
    """An amount as written in formulas: '', an integer, a decimal or scientific."""
    draw = rng.random()
    if draw < 0.25:
        return ""
    if draw < 0.55:
        return str(int(rng.integers(2, 9)))
    if draw < 0.97:
        decimals = int(rng.integers(1, 4))
        value = round(float(rng.uniform(0.05, 8.0)), decimals)
        return f"{value:.{decimals}f}"
    return f"{float(rng.uniform(1.0, 9.0)):.2f}e-{int(rng.integers(1, 3))}"


def random_formulas(n: int, seed: int = 0) -> list[str]:
    """Return ``n`` distinct random formula strings, reproducible for a given seed."""
    rng = np.random.default_rng(seed)
    formulas: dict[str, None] = {}
    while len(formulas) < n:
        n_elements = int(rng.integers(2, 7))
        chosen = [int(z) for z in rng.choice(_CANDIDATES, size=n_elements, replace=False)]
        if rng.random() < 0.5 and 3 not in chosen:
            chosen[0] = 3
        parts = [SYMBOLS[z] + _amount(rng) for z in chosen]
        if rng.random() < 0.2:
            group = _GROUPS[int(rng.integers(len(_GROUPS)))]
            factor = str(int(rng.integers(2, 4))) if rng.random() < 0.6 else ""
            parts.append(f"({group}){factor}")
        formulas["".join(parts)] = None
    return list(formulas)


def shipped_formulas() -> list[str]:
    """Every OBELiX (``Reduced Composition``) and Matbench (``composition``) formula.

    Duplicates are removed, first occurrence kept: OBELiX first, then the Matbench
    files in name order.
    """
    datasets = shipped_path("datasets")
    formulas = list(pd.read_csv(datasets / "obelix" / "all.csv")["Reduced Composition"])
    for path in sorted((datasets / "matbench").glob("matbench_*.csv")):
        formulas += list(pd.read_csv(path)["composition"])
    return list(dict.fromkeys(formulas))
