"""Element property tables indexed by atomic number, built once from shipped data.

Every table is a numpy array with one row per atomic number ``Z`` (row 0 is unused and
NaN), so a block of compositions given as an integer array of atomic numbers gathers its
element properties with a single fancy-indexing operation.

Sources (nothing is downloaded):

* the Magpie element tables that matminer ships in ``matminer/utils/data_files/
  magpie_elementdata`` (Ward et al., npj Comput. Mater. 2, 16028, 2016), read and imputed
  exactly as ``matminer.utils.data.MagpieData(impute_nan=True)`` does;
* pymatgen's periodic table (Pauling electronegativity, common and ICSD oxidation states,
  Shannon radii) and its ICSD oxidation-state occurrence counts (``icsd_bv.yaml``).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Element

from matgenome.composition import N_ELEMENTS, SYMBOLS, Z_OF  # noqa: F401  (re-exported)


def magpie_data_dir() -> Path:
    """Return the directory of the Magpie element tables shipped inside matminer."""
    spec = importlib.util.find_spec("matminer")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("matminer is required for its bundled Magpie element tables")
    root = Path(next(iter(spec.submodule_search_locations)))
    path = root / "utils" / "data_files" / "magpie_elementdata"
    if not path.is_dir():
        raise FileNotFoundError(f"matminer's Magpie element tables were not found at {path}")
    return path


@functools.cache
def magpie_property(name: str) -> np.ndarray:
    """Return one Magpie property for Z = 0..118, with missing values imputed.

    Mirrors ``MagpieData(impute_nan=True)``: line ``Z`` of ``<name>.table`` holds the value
    of element ``Z``; unparsable or absent lines are NaN, and every NaN is replaced by the
    mean of the available values of elements 1-118.
    """
    lines = (magpie_data_dir() / f"{name}.table").read_text().splitlines()
    values = np.full(N_ELEMENTS + 1, np.nan)
    for z in range(1, N_ELEMENTS + 1):
        with contextlib.suppress(ValueError, IndexError):
            values[z] = float(lines[z - 1])
    elements = values[1:]
    elements[np.isnan(elements)] = np.nanmean(elements)
    values.setflags(write=False)
    return values


def magpie_table(names: tuple[str, ...]) -> np.ndarray:
    """Return a read-only (119, len(names)) table of Magpie properties."""
    table = np.column_stack([magpie_property(name) for name in names])
    table.setflags(write=False)
    return table


@functools.cache
def pymatgen_electronegativity() -> np.ndarray:
    """Pauling electronegativity for Z = 0..118, imputed as matminer's ``PymatgenData``.

    ``PymatgenData(impute_nan=True).get_elemental_property(el, "X")`` replaces a missing
    (NaN or zero) value by the mean over all elements that have one.
    """
    values = np.full(N_ELEMENTS + 1, np.nan)
    with warnings.catch_warnings():
        # pymatgen warns for each element without a Pauling electronegativity (noble gases).
        warnings.simplefilter("ignore")
        for z in range(1, N_ELEMENTS + 1):
            x = Element.from_Z(z).X
            values[z] = x if x and not np.isnan(x) else np.nan
    elements = values[1:]
    elements[np.isnan(elements)] = np.nanmean(elements)
    values.setflags(write=False)
    return values


@functools.cache
def common_oxidation_states() -> tuple[tuple[int, ...], ...]:
    """pymatgen's ``common_oxidation_states`` for Z = 0..118 (empty tuple for Z = 0)."""
    return ((), *(tuple(Element.from_Z(z).common_oxidation_states)
                  for z in range(1, N_ELEMENTS + 1)))


@functools.cache
def guesser_oxidation_states() -> tuple[tuple[int, ...], ...]:
    """Oxidation states that matminer's ``IonProperty`` lets pymatgen's guesser use.

    matminer passes each element's common states as ``oxi_states_override``; pymatgen
    ignores an empty override and then uses the ICSD states, or the common states if the
    element has no ICSD states.
    """
    states: list[tuple[int, ...]] = [()]
    for z in range(1, N_ELEMENTS + 1):
        element = Element.from_Z(z)
        override = tuple(element.common_oxidation_states)
        if override:
            states.append(override)
        else:
            states.append(
                tuple(element.icsd_oxidation_states or element.common_oxidation_states)
            )
    return tuple(states)


@functools.cache
def icsd_occurrence() -> dict[str, int]:
    """Return pymatgen's ICSD species occurrence counts, e.g. ``{"Li+": 12345, ...}``.

    The ``occurrence`` table of pymatgen's ``icsd_bv.yaml`` (the data behind
    ``Composition.oxi_state_guesses`` rankings); empty if a pymatgen build lacks the file.
    """
    import pymatgen.core as pmg_core
    try:
        data = _read_yaml(Path(pmg_core.__file__).parent / "icsd_bv.yaml")["occurrence"]
    except (OSError, KeyError, TypeError):
        return {}
    return {str(name): int(count) for name, count in data.items()}


@functools.cache
def icsd_state_frequency() -> dict[tuple[int, int], float]:
    """Return {(Z, oxidation state): share of that element's ICSD occurrences}."""
    from pymatgen.core import Species

    counts: dict[tuple[int, int], float] = {}
    totals: dict[int, float] = {}
    for name, count in icsd_occurrence().items():
        species = Species.from_str(name)
        z = species.element.Z
        key = (z, int(species.oxi_state))
        counts[key] = counts.get(key, 0.0) + float(count)
        totals[z] = totals.get(z, 0.0) + float(count)
    return {key: count / totals[key[0]] for key, count in counts.items() if totals[key[0]] > 0}


def _read_yaml(path: Path) -> dict:
    """A plain-data YAML file, read with libyaml when available: ten times faster than
    ``monty.serialization.loadfn`` (pure-Python ruamel), which dominated a one-row
    prediction."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)


# Coordination numbers by closeness to octahedral (VI), the reference of most tables.
_CN_PREFERENCE = ("VI", "V", "VII", "IV", "VIII", "IVSQ", "IX", "III", "X", "II", "XI", "XII")
_SPIN_PREFERENCE = ("", "High Spin", "Low Spin")


@functools.cache
def ionic_radius_table() -> dict[tuple[int, int], float]:
    """Return {(Z, oxidation state): Shannon crystal radius in angstrom}.

    From the Shannon (1976) table in pymatgen's element data: the crystal radius in
    six-fold coordination, or in the coordination closest to it that Shannon lists, high
    spin where spin states differ. (pymatgen's ``Element.ionic_radii`` holds the same
    six-fold values but omits spin-dependent ions such as Cr3+ and Ni2+.)
    """
    radii: dict[tuple[int, int], float] = {}
    for z in range(1, N_ELEMENTS + 1):
        shannon = Element.from_Z(z).data.get("Shannon radii", {})
        for state, by_cn in shannon.items():
            if not state.lstrip("-").isdigit():
                continue  # pymatgen's table has one entry without a charge (Eu)
            cn = next((c for c in _CN_PREFERENCE if c in by_cn), None)
            if cn is None:
                continue
            spin = next((s for s in _SPIN_PREFERENCE if s in by_cn[cn]), None)
            if spin is None:
                continue
            radii[(z, int(state))] = float(by_cn[cn][spin]["crystal_radius"])
    return radii


@functools.cache
def van_der_waals_radius() -> np.ndarray:
    """pymatgen's van der Waals radius (angstrom) for Z = 0..118, NaN where unknown."""
    return _element_property("van_der_waals_radius")


@functools.cache
def atomic_radius() -> np.ndarray:
    """pymatgen's empirical atomic radius (angstrom) for Z = 0..118, NaN where unknown."""
    return _element_property("atomic_radius")


def _element_property(name: str) -> np.ndarray:
    """A pymatgen ``Element`` attribute for Z = 0..118 as a read-only array, NaN if None."""
    values = np.full(N_ELEMENTS + 1, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns for every element lacking data
        for z in range(1, N_ELEMENTS + 1):
            value = getattr(Element.from_Z(z), name)
            if value is not None:
                values[z] = float(value)
    values.setflags(write=False)
    return values
