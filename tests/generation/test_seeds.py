"""Seed-family data: the shipped file is valid and the loader rejects bad data clearly."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from matgenome.composition import parse_composition
from matgenome.generation import Family, SeedError, load_seeds, select_families
from matgenome.resources import shipped_path

REQUIRED_PARENTS = {
    "garnet": {"Li7La3Zr2O12"},
    "NASICON": {"LiTi2(PO4)3", "Li1.3Al0.3Ti1.7(PO4)3", "Li1.5Al0.5Ge1.5(PO4)3"},
    "perovskite": {"Li0.35La0.55TiO3"},
    "LISICON": {"Li14Zn(GeO4)4"},
    "thio-LISICON": {"Li4GeS4", "Li3.25Ge0.25P0.75S4"},
    "LGPS": {"Li10GeP2S12"},
    "argyrodite": {"Li6PS5Cl", "Li6PS5Br", "Li6PS5I"},
    "halide": {"Li3YCl6", "Li3InCl6", "Li3YBr6", "Li2ZrCl6"},
    "anti-perovskite": {"Li3OCl", "Li3OBr"},
    "Li3N-type": {"Li3N"},
    "thiophosphate": {"Li3PS4"},
    "LiPON-like": {"Li3PO4"},
}
KEY_DOIS = {
    "garnet": "10.1002/anie.200701144",
    "LGPS": "10.1038/nmat3066",
    "argyrodite": "10.1002/anie.200703900",
    "halide": "10.1002/adma.201803075",
    "NASICON": "10.1149/1.2086597",
    "perovskite": "10.1016/0038-1098(93)90841-A",
    "thio-LISICON": "10.1149/1.1379028",
    "anti-perovskite": "10.1021/ja305709z",
}


@pytest.fixture(scope="module")
def families() -> dict[str, Family]:
    return {family.name: family for family in load_seeds()}


def test_all_required_families_and_parents_present(families):
    for name, parents in REQUIRED_PARENTS.items():
        assert name in families, name
        assert parents <= {p.formula for p in families[name].parents}, name


def test_every_parent_parses_and_is_neutral(families):
    for family in families.values():
        assert family.mobile_ion == "Li" and family.mobile_ion_charge == 1
        for parent in family.parents:
            composition = parse_composition(parent.formula)
            assert {str(el) for el in composition} == set(parent.oxidation_states)
            charge = sum(float(amount) * parent.oxidation_states[str(el)]
                         for el, amount in composition.items())
            assert abs(charge) < 1e-9, (family.name, parent.formula, charge)
            low, high = parent.mobile_ion_range
            assert low <= composition["Li"] <= high


def test_sites_and_dopant_ranges_are_sane(families):
    for family in families.values():
        for site in family.sites:
            hosts = [p for p in family.parents if site.element in p.amounts]
            assert hosts, (family.name, site.element)
            assert all(p.oxidation_states[site.element] == site.oxidation_state for p in hosts)
            capacity = max(p.amounts[site.element] for p in hosts)
            for dopant in site.dopants:
                assert 0 < dopant.x_min <= dopant.x_max <= capacity, (family.name, dopant)
                assert (dopant.oxidation_state > 0) == (site.oxidation_state > 0)
                assert dopant.element not in {site.element, "Li"}


def test_references_are_complete(families):
    for family in families.values():
        assert family.references, family.name
        for ref in family.references:
            assert ref.authors and ref.title and ref.journal and 1900 < ref.year < 2100
            assert ref.doi is None or re.match(r"^10\.\d{4,9}/\S+$", ref.doi)
    for name, doi in KEY_DOIS.items():
        assert doi in {ref.doi for ref in families[name].references}, name


def test_shipped_path_and_aliases():
    assert load_seeds(shipped_path("seeds")) == load_seeds()
    assert [f.name for f in select_families(["argyrodites", "GARNET"])] == ["argyrodite", "garnet"]
    with pytest.raises(ValueError, match="unknown family 'spinel'"):
        select_families(["spinel"])


# ----------------------------------------------------------------------------- loader errors

VALID = {
    "schema_version": 1,
    "families": [{
        "name": "toy",
        "mobile_ion": {"element": "Li", "oxidation_state": 1},
        "compensation": "mobile_ion",
        "parents": [{"formula": "Li7La3Zr2O12",
                     "oxidation_states": {"Li": 1, "La": 3, "Zr": 4, "O": -2}}],
        "sites": [{"element": "Zr", "oxidation_state": 4,
                   "dopants": [{"element": "Ta", "oxidation_state": 5, "x": [0.25, 1.0]}]}],
        "references": [{"authors": "A. Author", "title": "T", "journal": "J", "year": 2007,
                        "doi": "10.1002/anie.200701144"}],
    }],
}


def _write(tmp_path: Path, data: dict, name: str = "seeds.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _mutated(edit) -> dict:
    data = copy.deepcopy(VALID)
    edit(data["families"][0])
    return data


def test_valid_toy_file_loads(tmp_path):
    (family,) = load_seeds(_write(tmp_path, VALID))
    assert family.name == "toy"
    assert family.sites[0].dopants[0].species == "Ta5+"
    assert family.parents[0].amounts == {"Li": 7.0, "La": 3.0, "Zr": 2.0, "O": 12.0}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda f: f["parents"][0].update(formula="Li8La3Zr2O12"),
     r"family 'toy', parents\[0\] \(Li8La3Zr2O12\): not charge neutral .*total charge \+1"),
    (lambda f: f["parents"][0].update(formula="Li7Xx3Zr2O12"),
     r"parents\[0\] \(Li7Xx3Zr2O12\), formula: unknown element 'Xx'"),
    (lambda f: f["parents"][0]["oxidation_states"].pop("O"),
     r"parents\[0\] \(Li7La3Zr2O12\), oxidation_states: must give exactly"),
    (lambda f: f["sites"][0]["dopants"][0].update(x=[0.5, 2.5]),
     r"sites\[0\] \(Zr4\+\), dopant Ta5\+: x up to 2.5 exceeds the Zr amount"),
    (lambda f: f["sites"][0]["dopants"][0].update(x=[0.0, 0.5]),
     r"dopants\[0\] \(Ta5\+\), x: the lower bound must be > 0"),
    (lambda f: f["sites"][0]["dopants"][0].update(x=[0.6, 0.5]),
     r"x: range \[0.6, 0.5\] must be finite with low <= high"),
    (lambda f: f["sites"][0]["dopants"][0].update(element="F", oxidation_state=-1),
     r"dopants\[0\] \(F-\): an anion cannot sit on the Zr4\+ site"),
    (lambda f: f["sites"][0]["dopants"][0].update(oxidation_state=9),
     r"\+9 is not a known oxidation state of Ta"),
    (lambda f: f["sites"][0].update(oxidation_state=3),
     r"sites\[0\] \(Zr3\+\): parent Li7La3Zr2O12 declares Zr as \+4"),
    (lambda f: f["sites"][0].update(element="Ti"), r"sites\[0\] \(Ti4\+\): no parent contains Ti"),
    (lambda f: f["references"][0].update(doi="doi:10.1/x"), r"references\[0\], doi: .* not a DOI"),
    (lambda f: f.pop("references"), r"family 'toy': missing field\(s\) references"),
    (lambda f: f.update(colour="blue"), r"unknown field\(s\) colour"),
    (lambda f: f.update(compensation="oxygen_vacancies"), r"compensation: only 'mobile_ion'"),
    (lambda f: f["parents"][0].update(mobile_ion_range=[5.0, 6.5]),
     r"mobile_ion_range: \[5.0, 6.5\] excludes the parent's own Li content 7"),
])
def test_loader_names_family_and_field(tmp_path, edit, message):
    with pytest.raises(SeedError, match=message):
        load_seeds(_write(tmp_path, _mutated(edit)))


def test_loader_file_level_errors(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("families: [", encoding="utf-8")
    with pytest.raises(SeedError, match="not valid YAML"):
        load_seeds(bad_yaml)
    with pytest.raises(SeedError, match="schema_version 2 is not supported"):
        load_seeds(_write(tmp_path, {**VALID, "schema_version": 2}))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SeedError, match=r"no \*.yaml seed files"):
        load_seeds(tmp_path / "empty")
    with pytest.raises(SeedError, match="no such seed file"):
        load_seeds(tmp_path / "missing.yaml")


def test_directory_of_files_and_duplicate_names(tmp_path):
    _write(tmp_path, VALID, "a.yaml")
    other = _mutated(lambda f: f.update(name="toy2"))
    _write(tmp_path, other, "b.yaml")
    assert [f.name for f in load_seeds(tmp_path)] == ["toy", "toy2"]
    _write(tmp_path, _mutated(lambda f: f.update(name="other", aliases=["TOY"])), "c.yaml")
    with pytest.raises(SeedError, match="alias 'TOY' is also used by family 'toy'"):
        load_seeds(tmp_path)
