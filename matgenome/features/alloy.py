"""Alloy-thermodynamics descriptors of metallic glass formation on numpy arrays.

These reproduce two matminer featurizers exactly, without a per-composition Python loop:

* ``YangSolidSolution()``: Yang & Zhang's solid-solution parameters ``Yang omega``
  (mean melting point times ideal mixing entropy over the absolute mixing enthalpy) and
  ``Yang delta`` (atomic size mismatch of Miracle's radii);
* ``Miedema()``: Miedema-model formation enthalpies (eV/atom) of the intermetallic
  compound, amorphous phase and (lowest-energy) solid solution, summed over the binary
  sub-systems as matminer does.

Element and pair data are read from the files matminer ships (``Miedema.csv``,
``MiedemaLiquidDeltaHf.tsv`` and the Magpie tables), imputed as matminer imputes them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from ._block import MATGENOME, WARD_2018, FeatureBlock
from ._elements import N_ELEMENTS, Z_OF, magpie_data_dir, magpie_property
from .stoichiometry import atomic_fractions

ALLOY_LABELS: tuple[str, ...] = (
    "Yang omega",
    "Yang delta",
    "Miedema_deltaH_inter",
    "Miedema_deltaH_amor",
    "Miedema_deltaH_ss_min",
)

YANG_2012 = (
    "@article{yang_solid_solution_2012, title={Prediction of high-entropy stabilized "
    "solid-solution in multi-component alloys}, volume={132}, "
    "DOI={10.1016/j.matchemphys.2011.11.021}, number={2-3}, journal={Materials Chemistry "
    "and Physics}, author={Yang, X. and Zhang, Y.}, year={2012}, pages={233--238}}"
)
MIEDEMA_1988 = (
    "@book{de_boer_cohesion_1988, title={Cohesion in Metals: Transition Metal Alloys}, "
    "publisher={North-Holland}, author={de Boer, F. R. and Boom, R. and Mattens, W. C. M. "
    "and Miedema, A. R. and Niessen, A. K.}, year={1988}}"
)
TAKEUCHI_2005 = (
    "@article{takeuchi_inoue_2005, title={Classification of Bulk Metallic Glasses by Atomic "
    "Size Difference, Heat of Mixing and Period of Constituent Elements and Its Application "
    "to Characterization of the Main Alloying Element}, volume={46}, "
    "DOI={10.2320/matertrans.46.2817}, number={12}, journal={Materials Transactions}, "
    "author={Takeuchi, A. and Inoue, A.}, year={2005}, pages={2817--2829}}"
)

_MIEDEMA_COLUMNS = (
    "molar_volume", "electron_density", "electronegativity", "valence_electrons", "a_const",
    "R_const", "H_trans", "compressibility", "shear_modulus", "melting_point",
    "structural_stability",
)
# Lattice stabilities (kJ/mol) against the mean number of valence electrons, as tabulated
# in matminer's Miedema.deltaH_struct.
_VALENCE_GRID = np.array(
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 5.5, 6.0, 7.0, 8.0, 8.5, 9.0, 10.0, 11.0, 12.0, 13.0,
     14.0, 15.0]
)
_LATTICE_STABILITY = {
    "fcc": [0, 0, 0, -2, -1.5, 9.0, 14.0, 11.0, -3.0, -9.5, -11.0, -9.0, -2.0, 1.5, 0, 0, 0,
            0],
    "bcc": [0, 0, 0, 2.2, 2.0, -9.5, -14.5, -12.0, 4.0, 10.0, 11.0, 8.5, 1.5, 1.5, 0, 0, 0,
            0],
    "hcp": [0, 0, 0, -2.5, -2.5, 10.0, 15.0, 13.0, -5.0, -10.5, -11.0, -8.0, -1.0, 2.5, 0,
            0, 0, 0],
}


def _matminer_data_dir() -> Path:
    return magpie_data_dir().parent


@functools.cache
def miedema_table() -> np.ndarray:
    """Miedema parameters for Z = 0..118, one column per ``_MIEDEMA_COLUMNS`` entry.

    Mirrors ``Miedema(impute_nan=True)``: elements absent from ``Miedema.csv`` and missing
    values take the column mean over the listed elements.
    """
    import pandas as pd

    frame = pd.read_csv(_matminer_data_dir() / "Miedema.csv")
    table = np.full((N_ELEMENTS + 1, len(_MIEDEMA_COLUMNS)), np.nan)
    rows = [Z_OF[symbol] for symbol in frame["element"]]
    table[rows] = frame[list(_MIEDEMA_COLUMNS)].to_numpy(float)
    means = np.nanmean(table[rows], axis=0)
    elements = table[1:]
    elements[:] = np.where(np.isnan(elements), means, elements)
    table.setflags(write=False)
    return table


@functools.cache
def mixing_enthalpy_table() -> np.ndarray:
    """Liquid mixing enthalpies dH_AB (kJ/mol) of Takeuchi & Inoue for Z = 0..118 pairs.

    Mirrors ``matminer.utils.data.MixingEnthalpy(impute_nan=True)``: a pair absent from the
    table (or NaN) takes the mean over the tabulated pairs.
    """
    values: dict[tuple[int, int], float] = {}
    lines = (_matminer_data_dir() / "MiedemaLiquidDeltaHf.tsv").read_text().splitlines()
    for line in lines[1:]:
        parts = line.split()
        if len(parts) != 3:
            continue
        a, b = sorted((parts[0], parts[1]))
        values[(Z_OF[a], Z_OF[b])] = float(parts[2])
    mean = float(np.nanmean(list(values.values())))
    table = np.full((N_ELEMENTS + 1, N_ELEMENTS + 1), mean)
    for (a, b), value in values.items():
        # matminer keys pairs by sorted symbols; both orders of Z read the same value.
        table[a, b] = table[b, a] = mean if np.isnan(value) else value
    table.setflags(write=False)
    return table


def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(k, 1)
    return i, j


def compute_yang(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Yang omega and delta, as matminer's ``YangSolidSolution``."""
    m, k = z.shape
    out = np.zeros((m, 2))
    if k == 1:
        return out  # matminer: omega 0 and delta 0 for an element
    x = atomic_fractions(amounts)
    melting = magpie_property("MeltingT")[z]
    radius = magpie_property("MiracleRadius")[z]
    mean_tm = (x * melting).sum(axis=1)
    entropy = (x * np.log(x)).sum(axis=1) * 8.314 / 1000
    i, j = _pairs(k)
    enthalpy = 4 * (x[:, i] * x[:, j] * mixing_enthalpy_table()[z[:, i], z[:, j]]).sum(axis=1)
    enthalpy = np.maximum(1e-6, np.abs(enthalpy))
    out[:, 0] = np.abs(mean_tm * entropy / enthalpy)
    mean_r = (x * radius).sum(axis=1, keepdims=True)
    out[:, 1] = np.sqrt((x * (1.0 - radius / mean_r) ** 2).sum(axis=1))
    return out


def _miedema_chem(p: dict[str, np.ndarray], x: np.ndarray, gamma: float) -> np.ndarray:
    """Chemical term of each binary (A, B) at fractions x of shape (..., 2)."""
    v23 = p["molar_volume"] ** (2 / 3)
    elec, n13 = p["electronegativity"], p["electron_density"] ** (1 / 3)
    a, val = p["a_const"], p["valence_electrons"]
    c_sf = x * v23 / (x * v23).sum(axis=-1, keepdims=True)
    f = (c_sf * (1 + gamma * np.prod(c_sf, axis=-1, keepdims=True) ** 2))[..., ::-1]
    d_elec = elec[..., 0] - elec[..., 1]
    v_a = np.stack(
        [v23[..., 0] * (1 + a[..., 0] * f[..., 0] * d_elec),
         v23[..., 1] * (1 - a[..., 1] * f[..., 1] * d_elec)], axis=-1,
    )
    c_sf_a = x * v_a / (x * v_a).sum(axis=-1, keepdims=True)
    f_a = (c_sf_a * (1 + gamma * np.prod(c_sf_a, axis=-1, keepdims=True) ** 2))[..., ::-1]
    # matminer tests membership in range(3, 12): integral valences 3..11 only.
    transition = (val >= 3) & (val <= 11) & (val == np.round(val))
    both, neither = transition.all(axis=-1), ~transition.any(axis=-1)
    pp = np.where(both, 14.1, np.where(neither, 10.7, 12.35))
    rr = np.where(both | neither, 0.0, np.prod(p["R_const"], axis=-1) * pp)
    q = pp * 9.4
    eta = 2 * (-pp * d_elec**2 - rr + q * (n13[..., 0] - n13[..., 1]) ** 2) / (
        1 / n13[..., 0] + 1 / n13[..., 1]
    )
    return f_a[..., 0] * x[..., 0] * v_a[..., 0] * eta + (x * p["H_trans"]).sum(axis=-1)


def _miedema_elastic(p: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Elastic (size-mismatch) term of each binary, for the solid solution."""
    v, n, elec = p["molar_volume"], p["electron_density"], p["electronegativity"]
    k_mod, g_mod = p["compressibility"], p["shear_modulus"]
    inv = 1 / n[..., 0] ** (1 / 3) + 1 / n[..., 1] ** (1 / 3)
    d_elec = elec[..., 0] - elec[..., 1]
    alp = 1.5 * v ** (2 / 3) / inv[..., None]
    v_a0 = v[..., 0] + alp[..., 0] * d_elec / n[..., 0]
    v_a1 = v[..., 1] - alp[..., 1] * d_elec / n[..., 1]
    alp_a0 = 1.5 * np.abs(v_a0) ** (2 / 3) / inv
    alp_a1 = 1.5 * np.abs(v_a1) ** (2 / 3) / inv
    vab_a0 = v[..., 0] + alp_a0 * d_elec / n[..., 0]
    vab_a1 = v[..., 0] - alp_a1 * d_elec / n[..., 0]
    vba_a0 = v[..., 1] + alp_a0 * d_elec / n[..., 1]
    vba_a1 = v[..., 1] - alp_a1 * d_elec / n[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hab = (2 * k_mod[..., 0] * g_mod[..., 1] * (vab_a0 - vba_a0) ** 2) / (
            4 * g_mod[..., 1] * vab_a0 + 3 * k_mod[..., 0] * vba_a0
        )
        hba = (2 * k_mod[..., 1] * g_mod[..., 0] * (vba_a1 - vab_a1) ** 2) / (
            4 * g_mod[..., 0] * vba_a1 + 3 * k_mod[..., 1] * vab_a1
        )
    rigid_free = (k_mod == 0).all(axis=-1) & (g_mod == 0).all(axis=-1)  # e.g. H-N
    hab = np.where(rigid_free, 0.0, hab)
    hba = np.where(rigid_free, 0.0, hba)
    return np.prod(x, axis=-1) * (x[..., 1] * hab + x[..., 0] * hba)


def compute_miedema(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Miedema enthalpies of the intermetallic, amorphous and solid-solution phases."""
    m, k = z.shape
    x = atomic_fractions(amounts)
    table = miedema_table()
    element = {name: table[z, c] for c, name in enumerate(_MIEDEMA_COLUMNS)}
    i, j = _pairs(k)
    # Binary sub-systems at the fractions of the whole composition (not renormalised).
    pair = {name: np.stack([value[:, i], value[:, j]], axis=-1)
            for name, value in element.items()}
    xp = np.stack([x[:, i], x[:, j]], axis=-1)
    out = np.empty((m, 3))
    out[:, 0] = _miedema_chem(pair, xp, 8.0).sum(axis=1)
    topological = 3.5 * (x * element["melting_point"]).sum(axis=1) / 1000
    out[:, 1] = _miedema_chem(pair, xp, 5.0).sum(axis=1) + topological
    chem_ss = _miedema_chem(pair, xp, 0.0).sum(axis=1)
    elastic_ss = _miedema_elastic(pair, xp).sum(axis=1)
    mean_valence = (x * element["valence_electrons"]).sum(axis=1)
    stability = (x * element["structural_stability"]).sum(axis=1)
    structural = [np.zeros(m)]  # "no_latt"
    for lattice in ("fcc", "bcc", "hcp"):
        grid = np.asarray(_LATTICE_STABILITY[lattice], dtype=float)
        structural.append(np.interp(mean_valence, _VALENCE_GRID, grid) - stability)
    out[:, 2] = chem_ss + elastic_ss + np.min(structural, axis=0)
    return out / 96.4853  # kJ/mol to eV/atom, as matminer


def compute_alloy(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """Yang omega and delta followed by the three Miedema enthalpies."""
    return np.hstack([compute_yang(z, amounts), compute_miedema(z, amounts)])


ALLOY = FeatureBlock(
    name="alloy",
    labels=ALLOY_LABELS,
    compute=compute_alloy,
    description=(
        "Alloy thermodynamics of glass and solid-solution formation: Yang & Zhang's omega "
        "(mean melting point x ideal mixing entropy / |mixing enthalpy|, from Takeuchi & "
        "Inoue's liquid mixing enthalpies) and delta (atomic size mismatch of Miracle's "
        "radii), identical to matminer's YangSolidSolution(); Miedema-model formation "
        "enthalpies (eV/atom) of the intermetallic compound, amorphous phase and lowest "
        "solid solution, identical to matminer's Miedema()."
    ),
    citations=(YANG_2012, TAKEUCHI_2005, MIEDEMA_1988, WARD_2018),
    implementors=("Logan Ward", "Qi Wang", MATGENOME),
    column_descriptions={
        "Yang omega": "T_m dS_mix / |dH_mix| (Yang & Zhang 2012); 0 for an element",
        "Yang delta": "sqrt(sum c_i (1 - r_i / mean r)^2), Miracle radii; 0 for an element",
        "Miedema_deltaH_inter": "Miedema formation enthalpy of the intermetallic (eV/atom)",
        "Miedema_deltaH_amor": "Miedema formation enthalpy of the amorphous phase (eV/atom)",
        "Miedema_deltaH_ss_min": "lowest Miedema solid-solution enthalpy, fcc/bcc/hcp/none",
    },
)

__all__ = ["ALLOY", "ALLOY_LABELS", "compute_alloy", "compute_miedema", "compute_yang"]
