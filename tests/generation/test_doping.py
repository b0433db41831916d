"""Charge-compensated doping: single and co-doping, rejected doping, dopant grids, the
mobile-ion window."""

from __future__ import annotations

import pytest

from matgenome.composition import CANDIDATE_DECIMALS, CompositionKey
from matgenome.generation import (
    Dopant,
    DopingError,
    dopant_grid,
    dope,
    family_candidates,
    load_seeds,
    select_families,
)


def test_llzo_tantalum_on_zirconium():
    candidate = dope("Li7La3Zr2O12", [("Ta5+", "Zr", 0.5)])
    assert candidate.formula == "Li6.5La3Zr1.5Ta0.5O12"
    assert candidate.description == "Ta5+ on Zr4+ site, x=0.5; Li adjusted -0.5 (Li vacancies)"
    assert candidate.oxidation_states == {"Li": 1, "La": 3, "Zr": 4, "Ta": 5, "O": -2}


def test_llzo_aluminium_on_the_lithium_site_removes_three_li():
    candidate = dope("Li7La3Zr2O12", [("Al3+", "Li", 0.2)])
    assert candidate.formula == "Li6.4Al0.2La3Zr2O12"
    assert candidate.description == "Al3+ on Li+ site, x=0.2; Li adjusted -0.6 (Li vacancies)"


def test_codoping_and_interstitials_and_anion_sites():
    both = dope("Li7La3Zr2O12", [("Al3+", "Li", 0.2), ("Ta5+", "Zr", 0.5)])
    assert both.formula == "Li5.9Al0.2La3Zr1.5Ta0.5O12"
    latp = dope("LiTi2(PO4)3", [("Al3+", "Ti", 0.3)])
    assert latp.formula == "Li1.3Ti1.7Al0.3P3O12"
    key = CompositionKey.of(latp.formula, CANDIDATE_DECIMALS)
    assert key == CompositionKey.of("Li1.3Al0.3Ti1.7(PO4)3", CANDIDATE_DECIMALS)
    assert latp.description.endswith("Li adjusted +0.3 (Li interstitials)")
    argyrodite = dope("Li6PS5Cl", [("Cl-", "S", 0.5)])
    assert argyrodite.formula == "Li5.5PS4.5Cl1.5"
    isovalent = dope("Li3N", [("Cu+", "Li", 0.2)])
    assert isovalent.formula == "Li2.8Cu0.2N"
    assert isovalent.description.endswith("Li adjusted -0.2 (isovalent)")
    full = dope("Li7La3Zr2O12", [("Ta5+", "Zr", 2)])
    assert full.formula == "Li5La3Ta2O12"


def test_unphysical_doping_is_rejected():
    with pytest.raises(DopingError, match="Li content would be"):
        dope("LiTi2(PO4)3", [("Nb5+", "Ti", 1.5)])  # Li 1 - 1.5 < 0
    with pytest.raises(DopingError, match="Li content would be"):
        dope("Li3N", [("Mg2+", "Li", 1.5)])  # Li 3 - 1.5 - 1.5 = 0
    with pytest.raises(DopingError, match="exceeds the Zr amount"):
        dope("Li7La3Zr2O12", [("Ta5+", "Zr", 2.5)])
    with pytest.raises(DopingError, match="no Hf site"):
        dope("Li7La3Zr2O12", [("Ta5+", "Hf", 0.5)])
    with pytest.raises(DopingError, match="Fe is already present as Fe2"):
        dope("Li2FeSiO4", [("Fe3+", "Si", 0.1)], oxidation_states={"Li": 1, "Fe": 2, "Si": 4,
                                                                   "O": -2})


def test_dopant_grids():
    dopant = Dopant("Ta", 5, 0.25, 1.25)
    assert dopant_grid(dopant, steps=5) == [0.25, 0.5, 0.75, 1.0, 1.25]
    assert dopant_grid(dopant, steps=1) == [0.25]
    assert dopant_grid(dopant, step=0.4) == [0.4, 0.8, 1.2]
    with pytest.raises(ValueError, match="steps"):
        dopant_grid(dopant, steps=0)


def test_mobile_ion_stays_in_the_parent_window():
    for family in load_seeds():
        windows = {p.formula: p.mobile_ion_range for p in family.parents}
        for candidate in family_candidates(family):
            low, high = windows[candidate.parent]
            assert 0 < low - 1e-9 <= candidate.amounts["Li"] <= high + 1e-9


def test_two_dopants(default_candidates, charge):
    (family,) = select_families(["anti-perovskite"])
    single = list(family_candidates(family, max_dopants=1))
    double = list(family_candidates(family, max_dopants=2))
    assert len(double) > len(single)
    pairs = [c for c in double if c.description.count(" site, x=") == 2]
    assert pairs
    for candidate in pairs:
        assert abs(charge(candidate.formula, candidate.oxidation_states)) < 1e-6
        assert 2.5 - 1e-9 <= candidate.amounts["Li"] <= 3.0 + 1e-9
