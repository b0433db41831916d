"""Composition descriptors of ion conduction in solid electrolytes.

The ``electrolyte`` preset is these 36 columns followed by the 132 Magpie columns. Each
column's physical motivation and reference are in ``COLUMN_DESCRIPTIONS`` (returned by
``preset_info("electrolyte")["column_descriptions"]``); in short:

* mobile ions - ``Li fraction``, ``Na fraction`` (atomic fractions) and ``Li per anion``,
  ``Na per anion``: carrier concentration (Bachman et al., Chem. Rev. 116, 140 (2016));
* anion chemistry - ``O/S/Se/Te/F/Cl/Br/I/N/H fraction`` and ``P fraction`` (atomic
  fractions whatever the oxidation state), ``anion fraction``, ``n anion elements``: the
  framework's softness and size (Wang et al., Nat. Mater. 14, 1026 (2015));
* mixed anions and polyanions - flags ``mixed anion``, ``mixed halide``,
  ``chalcogen-halide`` (argyrodite, antiperovskite; Kageyama et al., Nat. Commun. 9, 772
  (2018)), ``P-O polyanion`` and ``P-S polyanion`` (NASICON, LiPON, thiophosphates;
  Goodenough et al., Mater. Res. Bull. 11, 203 (1976));
* sublattice size and softness - ``anion radius mean/min/max``, ``framework cation radius
  mean/min/max`` (Shannon crystal radii), ``anion polarizability mean/max``, ``framework
  cation polarizability mean`` (Kraft et al., JACS 139, 10909 (2017)), ``anion
  electronegativity mean``, ``framework cation electronegativity mean`` and their
  difference (framework ionicity);
* charge balance - ``charge imbalance`` (smallest |total charge| per atom with one common
  oxidation state per element, valid for fractional stoichiometries) and ``charge
  balanced`` (Davies et al., Chem 1, 617 (2016)).

Roles of elements (anion, framework cation, mobile ion) come from the best oxidation-state
assignment of ``_oxidation.assign_oxidation_states``: elements given a negative state are
anions (so S in ``Li6PS5Cl`` is an anion, S(VI) in ``Li2SO4`` is not), Li and Na are the
mobile ions, and the other elements with a positive state form the framework. Statistics
over an empty set (e.g. anion radius of an alloy) are NaN.

Data: Shannon (1976) crystal radii from pymatgen's element data, six-fold coordination
or the nearest listed (for ions Shannon does not list, e.g. hydride or phosphide, pymatgen's
van der Waals radius for anions and atomic radius for cations); static dipole
polarizabilities and Pauling electronegativities of the Magpie element tables shipped with
matminer.
"""

from __future__ import annotations

import numpy as np

from ._block import MATGENOME, ONG_2013, WARD_2016, FeatureBlock
from ._elements import Z_OF, magpie_property
from ._oxidation import assign_oxidation_states, state_tables

BACHMAN_2016 = (
    "@article{bachman2016, title={Inorganic Solid-State Electrolytes for Lithium Batteries: "
    "Mechanisms and Properties Governing Ion Conduction}, author={Bachman, John Christopher "
    "and Muy, Sokseiha and Grimaud, Alexis and Chang, Hao-Hsun and Pour, Nir and Lux, Simon "
    "F. and Paschos, Odysseas and Maglia, Filippo and Lupart, Saskia and Lamp, Peter and "
    "Giordano, Livia and Shao-Horn, Yang}, journal={Chemical Reviews}, volume={116}, "
    "number={1}, pages={140--162}, year={2016}, doi={10.1021/acs.chemrev.5b00563}}"
)
WANG_2015 = (
    "@article{wang2015, title={Design principles for solid-state lithium superionic "
    "conductors}, author={Wang, Yan and Richards, William Davidson and Ong, Shyue Ping and "
    "Miara, Lincoln J. and Kim, Jae Chul and Mo, Yifei and Ceder, Gerbrand}, "
    "journal={Nature Materials}, volume={14}, pages={1026--1031}, year={2015}, "
    "doi={10.1038/nmat4369}}"
)
KRAFT_2017 = (
    "@article{kraft2017, title={Influence of Lattice Polarizability on the Ionic "
    "Conductivity in the Lithium Superionic Argyrodites Li6PS5X (X = Cl, Br, I)}, "
    "author={Kraft, Marvin A. and Culver, Sean P. and Calderon, Mario and B{\\\"o}cher, Felix "
    "and Krauskopf, Thorben and Senyshyn, Anatoliy and Dietrich, Christian and Zevalkink, "
    "Alexandra and Janek, J{\\\"u}rgen and Zeier, Wolfgang G.}, journal={Journal of the "
    "American Chemical Society}, volume={139}, number={31}, pages={10909--10918}, "
    "year={2017}, doi={10.1021/jacs.7b06327}}"
)
SHANNON_1976 = (
    "@article{shannon1976, title={Revised effective ionic radii and systematic studies of "
    "interatomic distances in halides and chalcogenides}, author={Shannon, R. D.}, "
    "journal={Acta Crystallographica Section A}, volume={32}, number={5}, pages={751--767}, "
    "year={1976}, doi={10.1107/S0567739476001551}}"
)
KAGEYAMA_2018 = (
    "@article{kageyama2018, title={Expanding frontiers in materials chemistry and physics "
    "with multiple anions}, author={Kageyama, Hiroshi and Hayashi, Katsuro and Maeda, "
    "Kazuhiko and Attfield, J. Paul and Hiroi, Zenji and Rondinelli, James M. and "
    "Poeppelmeier, Kenneth R.}, journal={Nature Communications}, volume={9}, pages={772}, "
    "year={2018}, doi={10.1038/s41467-018-03134-0}}"
)
GOODENOUGH_1976 = (
    "@article{goodenough1976, title={Fast Na+-ion transport in skeleton structures}, "
    "author={Goodenough, J. B. and Hong, H. Y.-P. and Kafalas, J. A.}, journal={Materials "
    "Research Bulletin}, volume={11}, number={2}, pages={203--220}, year={1976}, "
    "doi={10.1016/0025-5408(76)90077-5}}"
)
ASANO_2018 = (
    "@article{asano2018, title={Solid Halide Electrolytes with High Lithium-Ion "
    "Conductivity for Application in 4 V Class Bulk-Type All-Solid-State Batteries}, "
    "author={Asano, Tetsuya and Sakai, Akihiro and Ouchi, Satoru and Sakaida, Masashi and "
    "Miyazaki, Akinobu and Hasegawa, Shinya}, journal={Advanced Materials}, volume={30}, "
    "number={44}, pages={1803075}, year={2018}, doi={10.1002/adma.201803075}}"
)
DAVIES_2016 = (
    "@article{davies2016, title={Computational Screening of All Stoichiometric Inorganic "
    "Materials}, author={Davies, Daniel W. and Butler, Keith T. and Jackson, Adam J. and "
    "Morris, Andrew and Frost, Jarvist M. and Skelton, Jonathan M. and Walsh, Aron}, "
    "journal={Chem}, volume={1}, number={4}, pages={617--627}, year={2016}, "
    "doi={10.1016/j.chempr.2016.09.010}}"
)

MOBILE_IONS: tuple[str, ...] = ("Li", "Na")
ANION_ELEMENTS: tuple[str, ...] = ("O", "S", "Se", "Te", "F", "Cl", "Br", "I", "N", "H")
HALOGENS: tuple[str, ...] = ("F", "Cl", "Br", "I")
CHALCOGENS: tuple[str, ...] = ("O", "S", "Se", "Te")

_MOBILE = (
    "Mobile-ion content sets the carrier concentration; conductivity generally rises with it "
    "until site blocking (Bachman et al., Chem. Rev. 116, 140 (2016))."
)
_ANION_ID = (
    "Atomic fraction of the element (any oxidation state). The anion chemistry sets the "
    "framework: softer, larger anions (S, Se, I) give flatter Li+ energy landscapes than O "
    "or F (Wang et al., Nat. Mater. 14, 1026 (2015); Bachman et al. 2016); halide "
    "electrolytes such as Li3YCl6 (Asano et al., Adv. Mater. 30, 1803075 (2018)); H covers "
    "hydrides, borohydrides and hydroxides."
)
_MIXED = (
    "Mixed-anion frameworks (e.g. argyrodite Li6PS5Cl, antiperovskite Li3OCl) add site "
    "disorder and anion-sublattice frustration that favour fast conduction (Kageyama et al., "
    "Nat. Commun. 9, 772 (2018); Kraft et al., JACS 139, 10909 (2017))."
)
_POLYANION = (
    "Polyanion frameworks of corner-sharing PO4 (NASICON, LiPON; Goodenough et al., Mater. "
    "Res. Bull. 11, 203 (1976)) or PS4 (thiophosphates such as Li10GeP2S12 and Li7P3S11; "
    "Bachman et al. 2016): 1.0 when P takes a positive state together with O (P-O) or S "
    "(P-S) as anion."
)
_RADIUS = (
    "Amount-weighted Shannon crystal radius (angstrom) at the assigned oxidation state, "
    "six-fold coordination or the nearest listed (Shannon, Acta Cryst. A32, 751 (1976), "
    "via pymatgen; van der Waals radius for anions Shannon does not list, such as H-, and "
    "atomic radius for such cations). Anion size sets the "
    "bottleneck size and lattice volume available to the mobile ion; framework-cation size "
    "sets the framework geometry (Bachman et al. 2016)."
)
_POLARIZABILITY = (
    "Amount-weighted static dipole polarizability (angstrom^3, Magpie/CRC table) of the "
    "anions or framework cations. More polarizable (softer) lattices lower migration "
    "barriers (Kraft et al., JACS 139, 10909 (2017))."
)
_ELECTRONEGATIVITY = (
    "Amount-weighted Pauling electronegativity (Magpie table). The anion-framework "
    "difference measures the ionicity of framework bonds, which controls how strongly the "
    "anions bind the mobile ion (Bachman et al. 2016)."
)
_CHARGE = (
    "Smallest |sum of amount x oxidation state| per atom over assignments of one common "
    "oxidation state (pymatgen) per element, the most electronegative element restricted to "
    "negative states; valid for fractional (doped) stoichiometries, where pymatgen's own "
    "guesser refuses. 0 means charge-balanced, the screening criterion of Davies et al., "
    "Chem 1, 617 (2016); doping that leaves a residual charge implies vacancies, "
    "interstitials or mixed valence."
)

COLUMN_DESCRIPTIONS: dict[str, str] = {
    "Li fraction": "Atomic fraction of Li. " + _MOBILE,
    "Na fraction": "Atomic fraction of Na (sodium conductors). " + _MOBILE,
    "Li per anion": "Li atoms per anion atom (NaN without anions). " + _MOBILE,
    "Na per anion": "Na atoms per anion atom (NaN without anions). " + _MOBILE,
    **{f"{symbol} fraction": _ANION_ID for symbol in ANION_ELEMENTS},
    "P fraction": "Atomic fraction of P. " + _POLYANION,
    "anion fraction": "Atomic fraction of atoms assigned a negative oxidation state. "
    + _MIXED,
    "n anion elements": "Number of elements assigned a negative oxidation state. " + _MIXED,
    "mixed anion": "1.0 with two or more anion elements. " + _MIXED,
    "mixed halide": "1.0 with two or more halide anions (F, Cl, Br, I). " + _MIXED,
    "chalcogen-halide": "1.0 with a chalcogen anion (O, S, Se, Te) and a halide anion. "
    + _MIXED,
    "P-O polyanion": _POLYANION,
    "P-S polyanion": _POLYANION,
    "anion radius mean": _RADIUS,
    "anion radius min": _RADIUS,
    "anion radius max": _RADIUS,
    "framework cation radius mean": _RADIUS + " Framework cations exclude Li and Na.",
    "framework cation radius min": _RADIUS + " Framework cations exclude Li and Na.",
    "framework cation radius max": _RADIUS + " Framework cations exclude Li and Na.",
    "anion polarizability mean": _POLARIZABILITY,
    "anion polarizability max": _POLARIZABILITY,
    "framework cation polarizability mean": _POLARIZABILITY,
    "anion electronegativity mean": _ELECTRONEGATIVITY,
    "framework cation electronegativity mean": _ELECTRONEGATIVITY,
    "anion-framework electronegativity difference": _ELECTRONEGATIVITY,
    "charge imbalance": _CHARGE,
    "charge balanced": "1.0 when 'charge imbalance' is 0. " + _CHARGE,
}
ELECTROLYTE_LABELS: tuple[str, ...] = tuple(COLUMN_DESCRIPTIONS)


def _weighted(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean over the last axis; NaN where all weights are zero."""
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (values * weights).sum(axis=1) / total, np.nan)


def _masked_extreme(values: np.ndarray, mask: np.ndarray, largest: bool) -> np.ndarray:
    """Row-wise max (or min) of values where mask holds; NaN for empty rows."""
    fill = -np.inf if largest else np.inf
    picked = np.where(mask, values, fill)
    extreme = picked.max(axis=1) if largest else picked.min(axis=1)
    return np.where(mask.any(axis=1), extreme, np.nan)


def compute_electrolyte(z: np.ndarray, amounts: np.ndarray) -> np.ndarray:
    """The ion-conduction columns (``ELECTROLYTE_LABELS``) for (m, k) arrays."""
    states, _, _, radius_table, _ = state_tables()
    slots, imbalance = assign_oxidation_states(z, amounts)
    charge = states[z, slots]
    radius = radius_table[z, slots]
    polarizability = magpie_property("Polarizability")[z]
    electronegativity = magpie_property("Electronegativity")[z]
    total = amounts.sum(axis=1)

    def amount_of(symbols: tuple[str, ...], mask: np.ndarray | None = None) -> np.ndarray:
        selected = np.isin(z, [Z_OF[s] for s in symbols])
        if mask is not None:
            selected &= mask
        return np.where(selected, amounts, 0.0).sum(axis=1)

    anion = charge < 0
    framework = (charge > 0) & ~np.isin(z, [Z_OF[s] for s in MOBILE_IONS])
    anion_amount = np.where(anion, amounts, 0.0).sum(axis=1)
    n_anions = anion.sum(axis=1)
    present_anion = {s: amount_of((s,), anion) > 0 for s in ANION_ELEMENTS}
    n_halides = sum(present_anion[s].astype(int) for s in HALOGENS)
    has_chalcogen = np.any([present_anion[s] for s in CHALCOGENS], axis=0)
    p_cation = amount_of(("P",), charge > 0) > 0
    anion_weights = np.where(anion, amounts, 0.0)
    framework_weights = np.where(framework, amounts, 0.0)
    anion_en = _weighted(electronegativity, anion_weights)
    framework_en = _weighted(electronegativity, framework_weights)
    imbalance_per_atom = imbalance / total

    with np.errstate(invalid="ignore", divide="ignore"):
        per_anion = {
            s: np.where(anion_amount > 0, amount_of((s,)) / anion_amount, np.nan)
            for s in MOBILE_IONS
        }
    columns = [
        amount_of(("Li",)) / total,
        amount_of(("Na",)) / total,
        per_anion["Li"],
        per_anion["Na"],
        *(amount_of((s,)) / total for s in ANION_ELEMENTS),
        amount_of(("P",)) / total,
        anion_amount / total,
        n_anions.astype(float),
        (n_anions >= 2).astype(float),
        (n_halides >= 2).astype(float),
        (has_chalcogen & (n_halides >= 1)).astype(float),
        (p_cation & present_anion["O"]).astype(float),
        (p_cation & present_anion["S"]).astype(float),
        _weighted(radius, anion_weights),
        _masked_extreme(radius, anion, largest=False),
        _masked_extreme(radius, anion, largest=True),
        _weighted(radius, framework_weights),
        _masked_extreme(radius, framework, largest=False),
        _masked_extreme(radius, framework, largest=True),
        _weighted(polarizability, anion_weights),
        _masked_extreme(polarizability, anion, largest=True),
        _weighted(polarizability, framework_weights),
        anion_en,
        framework_en,
        anion_en - framework_en,
        imbalance_per_atom,
        (imbalance == 0).astype(float),
    ]
    return np.column_stack(columns)


ELECTROLYTE = FeatureBlock(
    name="electrolyte",
    labels=ELECTROLYTE_LABELS,
    compute=compute_electrolyte,
    description=(
        "Roles (anion, framework cation, mobile Li/Na) follow the best assignment of common "
        "oxidation states, which also gives the charge imbalance of fractional (doped) "
        "formulas. Empty-set statistics (e.g. anion radius of an alloy) are NaN. See "
        "column_descriptions for the motivation and reference of each column."
    ),
    citations=(
        BACHMAN_2016,
        WANG_2015,
        KRAFT_2017,
        SHANNON_1976,
        KAGEYAMA_2018,
        GOODENOUGH_1976,
        ASANO_2018,
        DAVIES_2016,
        ONG_2013,
        WARD_2016,
    ),
    implementors=(MATGENOME,),
    column_descriptions=COLUMN_DESCRIPTIONS,
)
