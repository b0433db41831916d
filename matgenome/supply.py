"""Element supply risk and raw-material cost of compositions, from data bundled offline.

Data sources (all read from files installed with pymatgen or matminer; nothing is
downloaded):

* **Herfindahl–Hirschman index (HHI)** of each element's world production and of its known
  reserves, on the 0–10 000 scale (10 000 = a single producing country), from
  M. W. Gaultois et al., "Data-driven review of thermoelectric materials: performance and
  resource considerations", Chem. Mater. 25, 2911 (2013). Two bundled copies exist:
  pymatgen's ``pymatgen/analysis/hhi_data.csv`` (used by ``pymatgen.analysis.hhi.HHIModel``;
  the default here) and matminer's Magpie tables ``magpie_elementdata/HHIp.table`` and
  ``HHIr.table``. They agree except for the reserve HHI of Cl (1500 in pymatgen, 1000 in
  matminer) and Se (1900 and 6000); choose with ``hhi_source``.
* **Element prices** in USD per kg from pymatgen's cost database
  ``pymatgen/analysis/costdb_elements.csv`` (used by ``pymatgen.analysis.cost``), whose rows
  cite Wolfram Alpha (2013, 2020) and Wikipedia's "Prices of elements and their compounds"
  (2013, 2019, 2020), plus a few other web sources for noble gases and Tc; see
  :func:`cost_references`. The prices are a rough guide: some are for the pure element,
  some for a common commercial form (Li, for example, is listed at about 3.9 USD/kg, far
  below the price of lithium metal).

Weighting: every per-composition value is weighted by **mass fraction**, as in Gaultois et
al. and pymatgen's ``HHIModel``: supply risk concerns tonnes of raw material to source, and
price lists are per kg, so a heavy minor element counts for what it weighs. Mass-weighted
cost per kg is exact for a mixture of the elements (the cost of 1 kg of compound bought as
its elements).

Supply risk (``supply_risk``) is defined as ``max(HHI_production, HHI_reserve) / 10 000``, in
[0, 1]: a composition is flagged when either its current production or its known reserves
are geographically concentrated; dividing by the largest possible HHI puts it on a 0–1 scale
that does not depend on the data set.

An element missing from a data source (e.g. H and the noble gases have no HHI; Pm, Po and
most actinides have no price) makes the affected values NaN, never 0, and the row's
``supply_note`` names the element.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pymatgen.core import Element

from matgenome.composition import parse_many
from matgenome.errors import UsageError

HHI_MAX = 10_000.0
HhiSource = Literal["pymatgen", "magpie"]
SUPPLY_COLUMNS: tuple[str, ...] = (
    "molar_mass",
    "hhi_production",
    "hhi_reserve",
    "supply_risk",
    "cost_per_kg",
    "cost_per_mol",
    "cost_per_mol_atoms",
    "supply_note",
)

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ElementTable:
    """Per-element data as aligned arrays (NaN where a source has no value).

    Attributes:
        symbols: element symbols, in order of atomic number.
        atomic_mass: g/mol.
        hhi_production, hhi_reserve: HHI on the 0–10 000 scale.
        cost_per_kg: USD per kg of the element.
        hhi_source: ``"pymatgen"`` or ``"magpie"``.
    """

    symbols: tuple[str, ...]
    atomic_mass: FloatArray
    hhi_production: FloatArray
    hhi_reserve: FloatArray
    cost_per_kg: FloatArray
    hhi_source: str

    @functools.cached_property
    def index(self) -> dict[str, int]:
        """Column index of each element symbol."""
        return {symbol: i for i, symbol in enumerate(self.symbols)}


def _all_symbols() -> tuple[str, ...]:
    return tuple(el.symbol for el in sorted(Element, key=lambda el: el.Z))


def _pymatgen_hhi() -> dict[str, tuple[float, float]]:
    """pymatgen's bundled HHI table, symbol -> (production, reserve)."""
    from pymatgen.analysis.hhi import HHIModel

    return dict(HHIModel().symbol_hhip_hhir)


def _read_magpie_table(name: str) -> list[float]:
    """One of matminer's Magpie element tables: one value per line, by atomic number."""
    from matgenome.features._elements import magpie_data_dir

    lines = (magpie_data_dir() / name).read_text(encoding="utf-8").splitlines()
    return [float("nan") if v.strip() in ("", "Missing") else float(v) for v in lines]


def _magpie_hhi() -> dict[str, tuple[float, float]]:
    """matminer's copy of the Gaultois HHI data, symbol -> (production, reserve)."""
    production = _read_magpie_table("HHIp.table")
    reserve = _read_magpie_table("HHIr.table")
    table = {}
    for z, (p, r) in enumerate(zip(production, reserve, strict=True), start=1):
        if z <= 118 and np.isfinite(p) and np.isfinite(r):
            table[Element.from_Z(z).symbol] = (p, r)
    return table


def _cost_db_path() -> Path:
    from pymatgen.analysis import cost

    return Path(cost.MODULE_DIR) / "costdb_elements.csv"


def _cost_rows() -> list[list[str]]:
    with _cost_db_path().open(encoding="utf-8") as handle:
        # pymatgen's own reader uses '|' as the quote character around the BibTeX field.
        return [row for row in csv.reader(handle, quotechar="|") if row]


@functools.cache
def cost_references() -> dict[str, str]:
    """The BibTeX reference pymatgen's cost database gives for each element price."""
    return {row[0]: row[3] for row in _cost_rows() if Element.is_valid_symbol(row[0])}


def _pymatgen_costs() -> dict[str, float]:
    """USD per kg of each element in pymatgen's cost database (elements only)."""
    return {row[0]: float(row[1]) for row in _cost_rows() if Element.is_valid_symbol(row[0])}


@functools.cache
def element_table(hhi_source: HhiSource = "pymatgen") -> ElementTable:
    """Per-element HHI, price and atomic mass for every element, cached per source."""
    if hhi_source not in ("pymatgen", "magpie"):
        raise UsageError(f"unknown hhi_source {hhi_source!r}; expected 'pymatgen' or 'magpie'")
    hhi = _pymatgen_hhi() if hhi_source == "pymatgen" else _magpie_hhi()
    costs = _pymatgen_costs()
    symbols = _all_symbols()
    nan = (float("nan"), float("nan"))
    arrays = {
        "atomic_mass": [float(Element(s).atomic_mass) for s in symbols],
        "hhi_production": [hhi.get(s, nan)[0] for s in symbols],
        "hhi_reserve": [hhi.get(s, nan)[1] for s in symbols],
        "cost_per_kg": [costs.get(s, float("nan")) for s in symbols],
    }
    frozen = {}
    for name, values in arrays.items():
        array = np.asarray(values, dtype=float)
        array.setflags(write=False)  # shared by the cache: keep it read-only
        frozen[name] = array
    return ElementTable(symbols=symbols, hhi_source=hhi_source, **frozen)


def amount_matrix(
    formulas: Iterable[object], table: ElementTable | None = None
) -> tuple[FloatArray, list[str]]:
    """Atoms of each element per formula unit, as an (n_formulas, n_elements) array.

    Rows whose formula does not parse are all zero; the second return value holds the parse
    error of each row ("" where it parsed).
    """
    table = table or element_table()
    compositions, errors = parse_many(formulas)
    rows: list[int] = []
    cols: list[int] = []
    amounts: list[float] = []
    for i, comp in enumerate(compositions):
        if comp is None:
            continue
        for element, amount in comp.items():
            rows.append(i)
            cols.append(table.index[element.symbol])
            amounts.append(float(amount))
    matrix = np.zeros((len(compositions), len(table.symbols)))
    np.add.at(matrix, (np.asarray(rows, dtype=int), np.asarray(cols, dtype=int)), amounts)
    return matrix, errors


def _weighted(fractions: FloatArray, values: FloatArray) -> tuple[FloatArray, NDArray]:
    """Fraction-weighted sums, NaN where a present element has no value.

    Returns the sums and a boolean (n_rows, n_elements) matrix of present-but-missing data.
    """
    known = np.isfinite(values)
    total = fractions @ np.where(known, values, 0.0)
    missing = (fractions > 0) & ~known[None, :]
    return np.where(missing.any(axis=1), np.nan, total), missing


def _notes(
    errors: list[str], table: ElementTable, hhi_missing: NDArray, cost_missing: NDArray
) -> list[str]:
    """Per-row notes: parse errors and elements with no data; "" when complete."""
    notes = list(errors)
    symbols = np.asarray(table.symbols)
    for i in np.flatnonzero(hhi_missing.any(axis=1) | cost_missing.any(axis=1)):
        parts = []
        if hhi_missing[i].any():
            parts.append(f"no HHI data for {', '.join(symbols[hhi_missing[i]])}")
        if cost_missing[i].any():
            parts.append(f"no price data for {', '.join(symbols[cost_missing[i]])}")
        notes[i] = "; ".join(parts)
    return notes


def supply_metrics(
    formulas: Iterable[object], *, hhi_source: HhiSource = "pymatgen"
) -> pd.DataFrame:
    """Supply risk and raw-material cost of each formula, one row per input, in order.

    Columns (see the module docstring for definitions and sources):

    * ``molar_mass``: g/mol of the formula unit as written;
    * ``hhi_production``, ``hhi_reserve``: mass-fraction-weighted HHI (0–10 000);
    * ``supply_risk``: ``max(hhi_production, hhi_reserve) / 10 000`` (0–1);
    * ``cost_per_kg``: USD per kg of compound;
    * ``cost_per_mol``: USD per mole of formula units as written (as pymatgen's
      ``CostAnalyzer.get_cost_per_mol``), which depends on how the formula is written;
    * ``cost_per_mol_atoms``: USD per mole of atoms, comparable across formula conventions;
    * ``supply_note``: why values are NaN ("" when every value is present).
    """
    table = element_table(hhi_source)
    amounts, errors = amount_matrix(formulas, table)
    masses = amounts * table.atomic_mass  # g of each element per mole of formula units
    molar_mass = masses.sum(axis=1)
    atoms = amounts.sum(axis=1)
    parsed = molar_mass > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        weights = masses / molar_mass[:, None]
    weights = np.where(parsed[:, None], weights, 0.0)
    hhi_p, missing_p = _weighted(weights, table.hhi_production)
    hhi_r, missing_r = _weighted(weights, table.hhi_reserve)
    cost_kg, missing_cost = _weighted(weights, table.cost_per_kg)
    unparsed = np.where(parsed, 1.0, np.nan)  # rows that failed to parse get NaN everywhere
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_atom_mass = molar_mass / atoms
    frame = pd.DataFrame(
        {
            "molar_mass": molar_mass * unparsed,
            "hhi_production": hhi_p * unparsed,
            "hhi_reserve": hhi_r * unparsed,
            # np.maximum (not fmax) so a missing value of either HHI gives NaN, not the other.
            "supply_risk": np.maximum(hhi_p, hhi_r) / HHI_MAX * unparsed,
            "cost_per_kg": cost_kg * unparsed,
            "cost_per_mol": cost_kg * molar_mass / 1000.0 * unparsed,
            "cost_per_mol_atoms": cost_kg * mean_atom_mass / 1000.0 * unparsed,
            "supply_note": _notes(errors, table, missing_p | missing_r, missing_cost),
        }
    )
    return frame


def add_supply_columns(
    df: pd.DataFrame, formula_column: str = "formula", *, hhi_source: HhiSource = "pymatgen"
) -> pd.DataFrame:
    """Return a copy of ``df`` with the :func:`supply_metrics` columns added (or replaced)."""
    if formula_column not in df.columns:
        raise KeyError(f"no formula column {formula_column!r}")
    metrics = supply_metrics(df[formula_column], hhi_source=hhi_source)
    out = df.copy()
    for column in SUPPLY_COLUMNS:
        out[column] = metrics[column].to_numpy()
    return out
