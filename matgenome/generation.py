"""Generate candidate compositions from known solid-electrolyte families.

Three generators feed one candidate table:

* **doping** (:func:`dope`): aliovalent or isovalent dopants on the sites declared in the
  seed families (``seeds/*.yaml``, loaded by :func:`load_seeds`), with the mobile-ion
  content adjusted so that every candidate stays charge neutral: a dopant of charge
  ``q_d`` replacing ``x`` host ions of charge ``q_h`` changes the mobile-ion amount by
  ``-(q_d - q_h) * x / q_mobile`` (vacancies when negative, interstitials when positive),
  on top of the ``x`` removed when the dopant sits on the mobile-ion site itself;
* **substitution** (:func:`substitute`): full replacement of one non-mobile element of a
  known composition by the species that the data-mined substitution probabilities of
  Hautier et al. (Inorg. Chem. 50, 656 (2011); shipped with pymatgen) rate as likely;
* **grid** (:func:`composition_grid`): integer stoichiometries over chosen elements that
  admit a charge-neutral assignment of one oxidation state per element with every cation
  less electronegative than every anion (the SMACT screening rules).

:func:`deduplicate` merges candidates with the same reduced composition and marks those
present in a known-data table; :func:`generate_candidates` runs the whole pipeline.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml
from pymatgen.core import Composition, Element

from matgenome.composition import (
    CANDIDATE_DECIMALS,
    CompositionError,
    CompositionKey,
    parse_composition,
    parse_many,
)
from matgenome.errors import DopingError, SeedError
from matgenome.resources import shipped_path

if TYPE_CHECKING:
    from pymatgen.analysis.structure_prediction.substitution_probability import (
        SubstitutionProbability,
    )

METHODS = ("doping", "substitution", "grid")
OXIDATION_STATE_SETS = ("common", "icsd", "all")
COLUMNS = (
    "formula",
    "family",
    "parent",
    "method",
    "description",
    "oxidation_states",
    "probability",
    "known",
    "known_value",
)
KEY_DECIMALS = CANDIDATE_DECIMALS
AMOUNT_DECIMALS = 4
CHARGE_TOLERANCE = 1e-6
SCHEMA_VERSION = 1
DEFAULT_SUBSTITUTION_THRESHOLD = 0.02
# Bound on one-state-per-element assignments enumerated for a composition.
MAX_STATE_COMBINATIONS = 200_000
# Amounts this close to zero are treated as zero: they only arise from float round-off.
_EPS = 1e-9
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_SPECIES = re.compile(r"^([A-Z][a-z]?)(\d*)([+-])$")
# The C loader is several times faster; PyYAML builds without libyaml fall back.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# ----------------------------------------------------------------------------- seed data


@dataclass(frozen=True)
class Reference:
    """A literature source for a seed family."""

    authors: str
    title: str
    journal: str
    year: int
    doi: str | None = None
    volume: str | None = None
    pages: str | None = None


@dataclass(frozen=True)
class Dopant:
    """An ion allowed on a site, with its amount range per parent formula unit."""

    element: str
    oxidation_state: int
    x_min: float
    x_max: float
    note: str = ""

    @property
    def species(self) -> str:
        """The species string, e.g. ``"Ta5+"``."""
        return species_string(self.element, self.oxidation_state)


@dataclass(frozen=True)
class Site:
    """A substitution site: the host element, its oxidation state and allowed dopants."""

    element: str
    oxidation_state: int
    dopants: tuple[Dopant, ...]
    note: str = ""

    @property
    def species(self) -> str:
        """The host species string, e.g. ``"Zr4+"``."""
        return species_string(self.element, self.oxidation_state)


@dataclass(frozen=True)
class Parent:
    """A parent composition with declared oxidation states."""

    formula: str
    amounts: dict[str, float]
    oxidation_states: dict[str, int]
    name: str = ""
    mobile_ion_range: tuple[float, float] | None = None


@dataclass(frozen=True)
class Family:
    """A solid-electrolyte family: parents, substitution sites and references."""

    name: str
    mobile_ion: str
    mobile_ion_charge: int
    parents: tuple[Parent, ...]
    sites: tuple[Site, ...]
    references: tuple[Reference, ...]
    description: str = ""
    aliases: tuple[str, ...] = ()
    compensation: str = "mobile_ion"

    @property
    def short_name(self) -> str:
        """The name without a ``-type``/``-like`` suffix (``Li3N`` for ``Li3N-type``)."""
        for suffix in _SHORT_SUFFIXES:
            if self.name.lower().endswith(suffix) and len(self.name) > len(suffix):
                return self.name[: -len(suffix)]
        return self.name

    def matches(self, name: str, short: bool = True) -> bool:
        """Whether ``name`` is this family's name, an alias or (with ``short``) its short
        name (case-insensitive)."""
        wanted = name.strip().lower()
        labels = (self.name, *self.aliases, *((self.short_name,) if short else ()))
        return wanted in {n.lower() for n in labels}


# Suffixes users leave out when they name a family ("Li3N" for "Li3N-type").
_SHORT_SUFFIXES = ("-type", "-like")


def family_choices(families: Sequence[Family]) -> str:
    """The names ``--family`` accepts, for help texts: ``Li3N-type (or Li3N)``."""
    return ", ".join(f.name if f.short_name == f.name else f"{f.name} (or {f.short_name})"
                     for f in families)


def species_string(element: str, oxidation_state: int) -> str:
    """Return pymatgen-style species notation: ``Li+``, ``Zr4+``, ``O2-``."""
    sign = "+" if oxidation_state > 0 else "-"
    magnitude = abs(oxidation_state)
    return f"{element}{magnitude if magnitude != 1 else ''}{sign}"


def parse_species(text: str) -> tuple[str, int]:
    """Parse ``"Ta5+"`` into ``("Ta", 5)``; raises ValueError on anything else."""
    match = _SPECIES.match(text.strip())
    if not match or not Element.is_valid_symbol(match.group(1)):
        raise ValueError(f"invalid species {text!r}; expected e.g. 'Li+', 'Zr4+', 'O2-'")
    magnitude = int(match.group(2) or 1)
    if magnitude == 0:
        raise ValueError(f"invalid species {text!r}: oxidation state must be nonzero")
    return match.group(1), magnitude if match.group(3) == "+" else -magnitude


def parse_oxidation_states(text: str) -> dict[str, int]:
    """Parse the ``oxidation_states`` column (``"Li+ La3+ Zr4+ O2-"``) into a dict."""
    return dict(parse_species(token) for token in text.split())


def load_seeds(path: str | Path | None = None) -> list[Family]:
    """Load and validate seed families.

    Args:
        path: a YAML file, or a directory whose ``*.yaml``/``*.yml`` files are read in
            name order; default: the shipped ``seeds/`` directory.

    Raises:
        SeedError: the data are malformed; the message names the file, the family and the
            field (e.g. a parent that does not parse or is not charge neutral, an
            oxidation state that disagrees with the parent, a dopant range outside
            ``0 < x_min <= x_max <= host amount``, a malformed DOI).
    """
    families: list[Family] = []
    for file in _seed_files(path):
        families.extend(_load_seed_file(file))
    seen: dict[str, str] = {}
    for family in families:
        for label in (family.name, *family.aliases):
            owner = seen.setdefault(label.lower(), family.name)
            if owner != family.name:
                raise SeedError(f"family {family.name!r}: name or alias {label!r} is also used "
                                f"by family {owner!r}")
    return families


def _seed_files(path: str | Path | None) -> list[Path]:
    """Resolve the seed file(s) to read."""
    root = Path(path) if path is not None else shipped_path("seeds")
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise SeedError(f"{root}: no such seed file or directory")
    files = sorted(p for p in root.iterdir() if p.suffix in {".yaml", ".yml"} and p.is_file())
    if not files:
        raise SeedError(f"{root}: no *.yaml seed files")
    return files


def _load_seed_file(file: Path) -> list[Family]:
    """Parse one seed file (cached until the file changes)."""
    stat = file.stat()
    return list(_parse_seed_file(str(file), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=32)
def _parse_seed_file(file: str, mtime_ns: int, size: int) -> tuple[Family, ...]:
    """Parse and validate one seed file; ``mtime_ns`` and ``size`` only key the cache."""
    try:
        data = yaml.load(Path(file).read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise SeedError(f"{file}: not valid YAML: {exc}") from None
    where = file
    _check_keys(data, where, required={"schema_version", "families"})
    if data["schema_version"] != SCHEMA_VERSION:
        raise SeedError(f"{where}: schema_version {data['schema_version']!r} is not supported "
                        f"(expected {SCHEMA_VERSION})")
    entries = data["families"]
    if not isinstance(entries, list) or not entries:
        raise SeedError(f"{where}: 'families' must be a non-empty list")
    return tuple(_parse_family(entry, f"{where}: families[{i}]") for i, entry in enumerate(entries))


def _check_keys(data: object, where: str, required: set[str],
                optional: frozenset[str] | set[str] = frozenset()) -> None:
    """Require a mapping with all ``required`` keys and nothing outside ``optional``."""
    if not isinstance(data, dict):
        raise SeedError(f"{where}: expected a mapping, got {type(data).__name__}")
    missing = sorted(required - data.keys())
    if missing:
        raise SeedError(f"{where}: missing field(s) {', '.join(missing)}")
    unknown = sorted(set(data) - required - optional)
    if unknown:
        raise SeedError(f"{where}: unknown field(s) {', '.join(map(str, unknown))}")


def _text(data: dict, key: str, where: str) -> str:
    """A required non-empty string field, with runs of whitespace collapsed."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SeedError(f"{where}: '{key}' must be a non-empty string, got {value!r}")
    return " ".join(value.split())


def _element(value: object, where: str) -> str:
    """A valid element symbol."""
    if not isinstance(value, str) or not Element.is_valid_symbol(value):
        raise SeedError(f"{where}: unknown element {value!r}")
    return value


def _charge(value: object, where: str) -> int:
    """A nonzero integer oxidation state."""
    if isinstance(value, bool) or not isinstance(value, int) or value == 0:
        raise SeedError(f"{where}: oxidation state must be a nonzero integer, got {value!r}")
    return value


def _range(value: object, where: str) -> tuple[float, float]:
    """A ``[low, high]`` pair of finite numbers with ``low <= high``."""
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise SeedError(f"{where}: expected [low, high], got {value!r}")
    low, high = float(value[0]), float(value[1])
    if not (math.isfinite(low) and math.isfinite(high) and low <= high):
        raise SeedError(f"{where}: range {value!r} must be finite with low <= high")
    return low, high


def _parse_family(data: object, where: str) -> Family:
    """Validate one family entry."""
    if isinstance(data, dict) and isinstance(data.get("name"), str):
        # Name the family in every later message rather than its list position.
        where = f"{where.rsplit(':', 1)[0]}: family {data['name']!r}"
    _check_keys(data, where,
                required={"name", "mobile_ion", "compensation", "parents", "sites", "references"},
                optional={"description", "aliases"})
    name = _text(data, "name", where)
    _check_keys(data["mobile_ion"], f"{where}, mobile_ion", {"element", "oxidation_state"})
    mobile = _element(data["mobile_ion"]["element"], f"{where}, mobile_ion")
    mobile_charge = _charge(data["mobile_ion"]["oxidation_state"], f"{where}, mobile_ion")
    if data["compensation"] != "mobile_ion":
        raise SeedError(f"{where}, compensation: only 'mobile_ion' is supported, "
                        f"got {data['compensation']!r}")
    parents = _parse_list(data, "parents", where, lambda d, w: _parse_parent(
        d, w, mobile, mobile_charge))
    sites = _parse_list(data, "sites", where, _parse_site, allow_empty=True)
    _check_sites(sites, parents, mobile, where)
    references = _parse_list(data, "references", where, _parse_reference)
    aliases = data.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a for a in aliases):
        raise SeedError(f"{where}, aliases: expected a list of names, got {aliases!r}")
    return Family(name=name, mobile_ion=mobile, mobile_ion_charge=mobile_charge,
                  parents=parents, sites=sites, references=references,
                  description=" ".join(str(data.get("description", "")).split()),
                  aliases=tuple(aliases))


def _parse_list(data: dict, key: str, where: str, parse, allow_empty: bool = False) -> tuple:
    """Parse a list field item by item, naming the item in errors."""
    items = data[key]
    if not isinstance(items, list) or (not items and not allow_empty):
        raise SeedError(f"{where}, {key}: expected a {'' if allow_empty else 'non-empty '}list")
    return tuple(parse(item, f"{where}, {key}[{i}]") for i, item in enumerate(items))


def _parse_parent(data: object, where: str, mobile: str, mobile_charge: int) -> Parent:
    """Validate a parent: it parses, its oxidation states cover it and it is neutral."""
    _check_keys(data, where, required={"formula", "oxidation_states"},
                optional={"name", "mobile_ion_range"})
    formula = _text(data, "formula", where)
    where = f"{where} ({formula})"
    try:
        composition = parse_composition(formula)
    except CompositionError as exc:
        raise SeedError(f"{where}, formula: {exc.reason}") from None
    amounts = {str(el): float(amount) for el, amount in composition.items()}
    states = data["oxidation_states"]
    if not isinstance(states, dict) or set(states) != set(amounts):
        raise SeedError(f"{where}, oxidation_states: must give exactly the elements "
                        f"{sorted(amounts)}, got {states!r}")
    states = {el: _charge(q, f"{where}, oxidation_states[{el}]") for el, q in states.items()}
    charge = sum(amounts[el] * states[el] for el in amounts)
    if abs(charge) > CHARGE_TOLERANCE:
        raise SeedError(f"{where}: not charge neutral with oxidation_states {states} "
                        f"(total charge {charge:+.6g})")
    if states.get(mobile) != mobile_charge:
        raise SeedError(f"{where}: must contain the mobile ion "
                        f"{species_string(mobile, mobile_charge)}")
    return Parent(formula=formula, amounts=amounts, oxidation_states=states,
                  name=str(data.get("name", "")),
                  mobile_ion_range=_mobile_window(data, where, amounts[mobile], mobile))


def _mobile_window(data: dict, where: str, content: float, mobile: str
                   ) -> tuple[float, float] | None:
    """The optional ``mobile_ion_range``, which must contain the parent's own content."""
    if "mobile_ion_range" not in data:
        return None
    window = _range(data["mobile_ion_range"], f"{where}, mobile_ion_range")
    if not window[0] - _EPS <= content <= window[1] + _EPS:
        raise SeedError(f"{where}, mobile_ion_range: {list(window)} excludes the parent's "
                        f"own {mobile} content {content:g}")
    return window


def _parse_site(data: object, where: str) -> Site:
    """Validate a site and its dopants."""
    _check_keys(data, where, required={"element", "oxidation_state", "dopants"},
                optional={"note"})
    element = _element(data["element"], f"{where}, element")
    charge = _charge(data["oxidation_state"], f"{where}, oxidation_state")
    where = f"{where} ({species_string(element, charge)})"
    dopants = _parse_list(data, "dopants", where, lambda d, w: _parse_dopant(d, w, element, charge))
    names = [d.element for d in dopants]
    if len(set(names)) != len(names):
        raise SeedError(f"{where}, dopants: an element is listed twice ({names})")
    return Site(element=element, oxidation_state=charge, dopants=dopants,
                note=str(data.get("note", "")))


def _parse_dopant(data: object, where: str, host: str, host_charge: int) -> Dopant:
    """Validate a dopant: a known oxidation state of the right sign and a sane range."""
    _check_keys(data, where, required={"element", "oxidation_state", "x"}, optional={"note"})
    element = _element(data["element"], f"{where}, element")
    charge = _charge(data["oxidation_state"], f"{where}, oxidation_state")
    where = f"{where} ({species_string(element, charge)})"
    if element == host:
        raise SeedError(f"{where}: dopant is the host element itself")
    if charge not in Element(element).oxidation_states:
        raise SeedError(f"{where}, oxidation_state: {charge:+d} is not a known oxidation "
                        f"state of {element}")
    if (charge > 0) != (host_charge > 0):
        raise SeedError(f"{where}: {'a cation' if charge > 0 else 'an anion'} cannot sit on the "
                        f"{species_string(host, host_charge)} site")
    low, high = _range(data["x"], f"{where}, x")
    if low <= 0:
        raise SeedError(f"{where}, x: the lower bound must be > 0, got {low:g}")
    return Dopant(element=element, oxidation_state=charge, x_min=low, x_max=high,
                  note=str(data.get("note", "")))


def _check_sites(sites: tuple[Site, ...], parents: tuple[Parent, ...], mobile: str,
                 where: str) -> None:
    """Sites must exist in a parent, agree with its oxidation states and fit its amount."""
    for i, site in enumerate(sites):
        here = f"{where}, sites[{i}] ({site.species})"
        hosts = [p for p in parents if site.element in p.amounts]
        if not hosts:
            raise SeedError(f"{here}: no parent contains {site.element}")
        for parent in hosts:
            if parent.oxidation_states[site.element] != site.oxidation_state:
                raise SeedError(f"{here}: parent {parent.formula} declares {site.element} as "
                                f"{parent.oxidation_states[site.element]:+d}")
        capacity = max(p.amounts[site.element] for p in hosts)
        for dopant in site.dopants:
            if dopant.element == mobile:
                raise SeedError(f"{here}, dopant {dopant.species}: the mobile ion cannot be a "
                                "dopant")
            if dopant.x_max > capacity + _EPS:
                raise SeedError(f"{here}, dopant {dopant.species}: x up to {dopant.x_max:g} "
                                f"exceeds the {site.element} amount ({capacity:g}) of every "
                                "parent")


def _parse_reference(data: object, where: str) -> Reference:
    """Validate a literature reference."""
    _check_keys(data, where, required={"authors", "title", "journal", "year"},
                optional={"doi", "volume", "pages"})
    year = data["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1800 <= year <= 2100:
        raise SeedError(f"{where}, year: expected a year, got {year!r}")
    doi = data.get("doi")
    if doi is not None and (not isinstance(doi, str) or not _DOI.match(doi)):
        raise SeedError(f"{where}, doi: {doi!r} is not a DOI (10.xxxx/...)")
    return Reference(authors=_text(data, "authors", where), title=_text(data, "title", where),
                     journal=_text(data, "journal", where), year=year, doi=doi,
                     volume=None if data.get("volume") is None else str(data["volume"]),
                     pages=None if data.get("pages") is None else str(data["pages"]))


def select_families(families: Iterable[Family | str] | None = None,
                    path: str | Path | None = None) -> list[Family]:
    """Resolve family names or aliases (case-insensitive) to seed families.

    ``None`` selects every family of the seed data at ``path`` (default: shipped seeds).
    """
    if families is None:
        return load_seeds(path)
    families = [families] if isinstance(families, str | Family) else list(families)
    if all(isinstance(f, Family) for f in families):
        return families
    available = load_seeds(path)
    chosen = []
    for item in families:
        if isinstance(item, Family):
            chosen.append(item)
            continue
        # Names and aliases first, so a short name never shadows another family's name.
        match = next((f for f in available if f.matches(item, short=False)),
                     next((f for f in available if f.matches(item)), None))
        if match is None:
            raise ValueError(f"unknown family {item!r}; available: "
                             f"{family_choices(available)}")
        chosen.append(match)
    return chosen


# ----------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """One generated composition with its provenance."""

    amounts: dict[str, float]
    oxidation_states: dict[str, int]
    method: str
    description: str
    family: str = ""
    parent: str = ""
    probability: float = math.nan
    formula: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "formula", format_formula(self.amounts))

    def row(self) -> dict[str, object]:
        """The candidate as a table row (without the known-data columns)."""
        states = " ".join(species_string(el, self.oxidation_states[el]) for el in self.amounts)
        return {"formula": self.formula, "family": self.family, "parent": self.parent,
                "method": self.method, "description": self.description,
                "oxidation_states": states, "probability": self.probability}


def format_formula(amounts: Mapping[str, float]) -> str:
    """Write amounts as a formula string in the given element order (``Li6.4Al0.2La3...``)."""
    return "".join(f"{el}{_number(amount) if amount != 1 else ''}"
                   for el, amount in amounts.items())


def _number(value: float, signed: bool = False) -> str:
    """Format a number with at most four decimals and no trailing zeros."""
    text = f"{value:+.{AMOUNT_DECIMALS}f}" if signed else f"{value:.{AMOUNT_DECIMALS}f}"
    text = text.rstrip("0").rstrip(".")
    return "+0" if text in {"+", "-"} else text


def _clean_amounts(amounts: Mapping[str, float]) -> dict[str, float]:
    """Round to the formula precision and drop elements whose amount reached zero."""
    cleaned = {}
    for element, amount in amounts.items():
        if amount < -_EPS:
            raise DopingError(f"the amount of {element} would be negative ({amount:.4g})")
        rounded = round(amount, AMOUNT_DECIMALS)
        if rounded > 0:
            cleaned[element] = rounded
    return cleaned


def dope(
    parent: str | Composition | Parent,
    substitutions: Sequence[tuple[str, str, float]],
    *,
    mobile_ion: str = "Li+",
    oxidation_states: Mapping[str, int] | None = None,
    family: str = "",
) -> Candidate:
    """Substitute dopants into a parent and adjust the mobile ion to keep it neutral.

    Args:
        parent: the parent composition (formula, ``Composition`` or seed ``Parent``).
        substitutions: ``(dopant species, host element, x)`` triples, ``x`` in atoms per
            parent formula unit, e.g. ``[("Ta5+", "Zr", 0.5)]``. The host may be the mobile
            ion itself (``("Al3+", "Li", 0.2)``).
        mobile_ion: the mobile species whose amount compensates the charge.
        oxidation_states: the parent's oxidation states; default: a ``Parent``'s declared
            states, else the most plausible neutral assignment.

    Returns:
        The doped candidate; ``dope("Li7La3Zr2O12", [("Ta5+", "Zr", 0.5)]).formula`` is
        ``"Li6.5La3Zr1.5Ta0.5O12"``.

    Raises:
        DopingError: a host is missing or exhausted, the mobile-ion content would not stay
            positive, or a dopant element is already present with another oxidation state.
    """
    label, amounts, states = _parent_data(parent, oxidation_states)
    mobile, mobile_charge = parse_species(mobile_ion)
    if states.get(mobile) != mobile_charge:
        raise DopingError(f"{label} has no {mobile_ion} to adjust")
    states = dict(states)
    parts, compensation = [], 0.0
    for dopant_species, host, x in substitutions:
        dopant, charge = parse_species(dopant_species)
        compensation += _apply(amounts, states, (dopant, charge), host, float(x))
        parts.append(f"{dopant_species} on {species_string(host, states[host])} site, "
                     f"x={_number(float(x))}")
    amounts[mobile] += compensation / mobile_charge
    if amounts[mobile] <= _EPS:
        raise DopingError(f"{mobile} content would be {amounts[mobile]:.4g}")
    new_amounts = _clean_amounts(amounts)
    parts.append(_mobile_note(mobile, new_amounts.get(mobile, 0.0) - _original(parent, mobile),
                              compensation))
    return Candidate(amounts=new_amounts, oxidation_states={el: states[el] for el in new_amounts},
                     method="doping", description="; ".join(parts), family=family, parent=label)


def _parent_data(parent: str | Composition | Parent, states: Mapping[str, int] | None
                 ) -> tuple[str, dict[str, float], dict[str, int]]:
    """Label, ordered amounts (a fresh copy) and oxidation states of a parent."""
    if isinstance(parent, Parent):
        label, amounts = parent.formula, dict(parent.amounts)
        states = states or parent.oxidation_states
    else:
        composition = parse_composition(parent)
        amounts = {str(el): float(a) for el, a in composition.items()}
        label = parent if isinstance(parent, str) else format_formula(amounts)
        states = states or guess_oxidation_states(composition)
        if states is None:
            raise DopingError(f"{label}: no charge-neutral oxidation states; pass them")
    if set(states) != set(amounts):
        raise DopingError(f"{label}: oxidation states must cover exactly {sorted(amounts)}")
    return label, amounts, dict(states)


def _original(parent: str | Composition | Parent, element: str) -> float:
    """The amount of ``element`` in the parent before doping."""
    if isinstance(parent, Parent):
        return parent.amounts.get(element, 0.0)
    return float(parse_composition(parent)[element])


def _apply(amounts: dict[str, float], states: dict[str, int], dopant: tuple[str, int],
           host: str, x: float) -> float:
    """Move ``x`` of ``host`` to ``dopant`` in place; return the charge to compensate."""
    element, charge = dopant
    if host not in amounts or host not in states:
        raise DopingError(f"no {host} site in the parent")
    if x <= 0 or amounts[host] < x - _EPS:
        raise DopingError(f"x={x:g} of {element} exceeds the {host} amount {amounts[host]:g}")
    if states.setdefault(element, charge) != charge:
        raise DopingError(f"{element} is already present as "
                          f"{species_string(element, states[element])}")
    amounts[host] -= x
    if element not in amounts:
        # Write a new dopant right after its host: Li6.5La3Zr1.5Ta0.5O12, not ...O12Ta0.5.
        items = list(amounts.items())
        at = [el for el, _ in items].index(host) + 1
        amounts.clear()
        amounts.update([*items[:at], (element, 0.0), *items[at:]])
    amounts[element] += x
    # The mobile ion must carry the opposite of the charge the dopant adds.
    return -(charge - states[host]) * x


def _mobile_note(mobile: str, change: float, compensation: float) -> str:
    """Describe how the mobile-ion content changed and why."""
    if abs(change) < _EPS:
        return f"{mobile} unchanged"
    if abs(compensation) < _EPS:
        kind = "isovalent"
    else:
        kind = f"{mobile} {'vacancies' if compensation < 0 else 'interstitials'}"
    return f"{mobile} adjusted {_number(change, signed=True)} ({kind})"


def dopant_grid(dopant: Dopant, steps: int = 5, step: float | None = None) -> list[float]:
    """Dopant amounts to try: ``steps`` evenly spaced values from ``x_min`` to ``x_max``, or,
    when ``step`` is given, the multiples of ``step`` inside the range."""
    if step is not None:
        if step <= 0:
            raise ValueError(f"step must be positive, got {step}")
        first = math.ceil(dopant.x_min / step - 1e-9)
        last = math.floor(dopant.x_max / step + 1e-9)
        values = [k * step for k in range(max(first, 1), last + 1)]
    else:
        if steps < 1:
            raise ValueError(f"steps must be at least 1, got {steps}")
        values = list(np.linspace(dopant.x_min, dopant.x_max, steps)) if steps > 1 \
            else [dopant.x_min]
    return sorted({round(float(v), AMOUNT_DECIMALS) for v in values})


def family_candidates(family: Family, *, max_dopants: int = 1, steps: int = 5,
                      step: float | None = None) -> Iterator[Candidate]:
    """Yield every doped candidate of a seed family, in seed order.

    Combinations of up to ``max_dopants`` different dopant elements (on the same or
    different sites) are tried over the product of their amount grids; candidates whose
    mobile-ion content leaves the parent's ``mobile_ion_range`` (or is not positive), or
    that would exhaust a host, are skipped.
    """
    if max_dopants < 1:
        raise ValueError(f"max_dopants must be at least 1, got {max_dopants}")
    options = [(site, dopant) for site in family.sites for dopant in site.dopants]
    for parent in family.parents:
        usable = [(s, d) for s, d in options if s.element in parent.amounts]
        for combo in _dopant_combinations(usable, max_dopants):
            yield from _doped_grid(family, parent, combo, steps, step)


def _dopant_combinations(options: list[tuple[Site, Dopant]], max_dopants: int
                         ) -> Iterator[tuple[tuple[Site, Dopant], ...]]:
    """Combinations of 1..``max_dopants`` (site, dopant) pairs with distinct dopant elements
    (the same element on two sites would merge into one amount in the formula)."""
    for size in range(1, max_dopants + 1):
        for combo in itertools.combinations(options, size):
            if len({dopant.element for _, dopant in combo}) == size:
                yield combo


def _doped_grid(family: Family, parent: Parent, combo: tuple[tuple[Site, Dopant], ...],
                steps: int, step: float | None) -> Iterator[Candidate]:
    """Candidates over the product of the dopant amount grids of one combination."""
    mobile = species_string(family.mobile_ion, family.mobile_ion_charge)
    grids = [dopant_grid(dopant, steps, step) for _, dopant in combo]
    for xs in itertools.product(*grids):
        subs = [(d.species, s.element, x) for (s, d), x in zip(combo, xs, strict=True)]
        try:
            candidate = dope(parent, subs, mobile_ion=mobile, family=family.name)
        except DopingError:
            continue  # a host exhausted or no mobile ion left
        if _window_ok(candidate, family.mobile_ion, parent.mobile_ion_range):
            yield candidate


# ----------------------------------------------------------------------------- oxidation states


@functools.cache
def _icsd_occurrence() -> dict[tuple[str, int], int]:
    """How often each species occurs in the ICSD (pymatgen's bond-valence statistics).

    Used only to rank alternative oxidation-state assignments; an empty table (data file
    missing in some pymatgen build) leaves the ranking to the deterministic tie-break.
    """
    from matgenome.features._elements import icsd_occurrence

    occurrence = icsd_occurrence()
    table = {}
    for text, count in occurrence.items():
        try:
            table[parse_species(text)] = int(count)
        except ValueError:
            continue  # zero-valent entries such as 'Ag0+'
    return table


def allowed_oxidation_states(element: str, states: str = "common") -> tuple[int, ...]:
    """Nonzero oxidation states of ``element`` from pymatgen's ``common``, ``icsd`` or ``all``
    lists, sorted."""
    if states not in OXIDATION_STATE_SETS:
        raise ValueError(f"unknown oxidation-state set {states!r}; use {OXIDATION_STATE_SETS}")
    el = Element(element)
    source = {"common": el.common_oxidation_states, "icsd": el.icsd_oxidation_states,
              "all": el.oxidation_states}[states]
    return tuple(sorted(q for q in source if q != 0))


def electronegativity_ordered(assignment: Mapping[str, int]) -> bool:
    """SMACT's Pauling test: every cation is less electronegative than every anion."""
    cations = [_electronegativity(el) for el, q in assignment.items() if q > 0]
    anions = [_electronegativity(el) for el, q in assignment.items() if q < 0]
    if not cations or not anions:
        return False
    return max(cations) < min(anions)


@functools.cache
def _electronegativity(element: str) -> float:
    """Pauling electronegativity; NaN (never ordered) for elements without one."""
    with warnings.catch_warnings():
        # pymatgen warns for every noble gas; NaN is the documented answer.
        warnings.simplefilter("ignore", UserWarning)
        value = Element(element).X
    return float(value) if value and math.isfinite(value) else math.nan


def _state_combinations(elements: Sequence[str], states: str | Mapping[str, Sequence[int]],
                        ) -> list[dict[str, int]]:
    """All electronegativity-ordered assignments, most plausible first."""
    if isinstance(states, str):
        choices = [allowed_oxidation_states(el, states) for el in elements]
    else:
        choices = [tuple(states[el]) for el in elements]
    if math.prod(len(c) for c in choices) > MAX_STATE_COMBINATIONS:
        raise ValueError(f"too many oxidation-state combinations for {list(elements)}; "
                         "pass explicit oxidation states")
    combos = [dict(zip(elements, c, strict=True)) for c in itertools.product(*choices)]
    combos = [c for c in combos if electronegativity_ordered(c)]
    occurrence = _icsd_occurrence()

    def plausibility(combo: dict[str, int]) -> tuple[float, tuple[int, ...]]:
        score = sum(math.log1p(occurrence.get(item, 0)) for item in combo.items())
        return -score, tuple(abs(q) for q in combo.values())

    return sorted(combos, key=plausibility)


def neutral_oxidation_states(composition: str | Composition, states: str = "common",
                             ) -> list[dict[str, int]]:
    """Charge-neutral, electronegativity-ordered assignments of one oxidation state per
    element (fractional amounts allowed), most plausible first by ICSD occurrence."""
    comp = parse_composition(composition)
    elements = [str(el) for el in comp]
    amounts = np.array([float(comp[el]) for el in elements])
    combos = _state_combinations(elements, states)
    neutral = [c for c in combos
               if abs(float(np.dot(amounts, [c[el] for el in elements]))) <= CHARGE_TOLERANCE]
    return neutral


def guess_oxidation_states(composition: str | Composition) -> dict[str, int] | None:
    """The most plausible neutral assignment, trying the common, then ICSD, then all states."""
    for states in OXIDATION_STATE_SETS:
        try:
            found = neutral_oxidation_states(composition, states)
        except ValueError:
            return None  # too many elements with many states to enumerate
        if found:
            return found[0]
    return None


# ----------------------------------------------------------------------------- substitution


@functools.cache
def substitution_probabilities() -> SubstitutionProbability:
    """The pymatgen ``SubstitutionProbability`` table (Hautier et al. 2011), loaded once
    from the data shipped with pymatgen (no network access)."""
    from pymatgen.analysis.structure_prediction.substitution_probability import (
        SubstitutionProbability,
    )

    return SubstitutionProbability()


@functools.cache
def likely_substitutes(species: str, threshold: float = DEFAULT_SUBSTITUTION_THRESHOLD,
                       ) -> tuple[tuple[str, float], ...]:
    """Species of the same charge sign that replace ``species`` with conditional probability
    ``P(new | old) >= threshold``, most likely first (ties by name)."""
    from pymatgen.core import Species

    table = substitution_probabilities()
    element, charge = parse_species(species)
    old = Species(element, charge)
    if old not in table.species:
        return ()
    found = []
    for new in table.species:
        if new.symbol == element or not new.oxi_state or (new.oxi_state > 0) != (charge > 0):
            continue
        probability = table.cond_prob(new, old)
        if probability >= threshold:
            found.append((species_string(new.symbol, int(new.oxi_state)), probability))
    return tuple(sorted(found, key=lambda item: (-item[1], item[0])))


@functools.cache
def _default_excluded() -> frozenset[str]:
    """Radioactive elements and those without an electronegativity (noble gases)."""
    return frozenset(el.symbol for el in Element
                     if el.is_radioactive or math.isnan(_electronegativity(el.symbol)))


def substitute(
    composition: str | Composition | Parent,
    *,
    mobile_ion: str = "Li+",
    oxidation_states: Mapping[str, int] | None = None,
    threshold: float = DEFAULT_SUBSTITUTION_THRESHOLD,
    exclude: Iterable[str] | None = None,
    family: str = "",
    mobile_ion_range: tuple[float, float] | None = None,
) -> list[Candidate]:
    """Replace, one at a time, each non-mobile element fully by its likely substitutes.

    A substitute of different charge is compensated through the mobile-ion content, as in
    :func:`dope`; candidates whose mobile-ion content is not positive (or leaves
    ``mobile_ion_range``) are dropped, as are substitutes already in the composition and
    ``exclude``d elements (default: radioactive elements and noble gases).
    """
    label, amounts, states = _parent_data(composition, oxidation_states)
    if isinstance(composition, Parent) and mobile_ion_range is None:
        mobile_ion_range = composition.mobile_ion_range
    source = Parent(label, amounts, states)
    mobile, _ = parse_species(mobile_ion)
    skip = set(amounts) | (_default_excluded() if exclude is None else set(exclude))
    out = []
    for element in amounts:
        if element == mobile:
            continue
        old = species_string(element, states[element])
        for new, probability in likely_substitutes(old, threshold):
            if parse_species(new)[0] in skip:
                continue
            candidate = _substitute_one(source, element, (new, probability), mobile_ion, family)
            if candidate is not None and _window_ok(candidate, mobile, mobile_ion_range):
                out.append(candidate)
    return out


def _substitute_one(source: Parent, element: str, substitute: tuple[str, float],
                    mobile_ion: str, family: str) -> Candidate | None:
    """Full replacement of ``element`` by a species; ``None`` if no mobile ion is left."""
    new, probability = substitute
    old = species_string(element, source.oxidation_states[element])
    try:
        doped = dope(source, [(new, element, source.amounts[element])], mobile_ion=mobile_ion)
    except DopingError:
        return None
    mobile_note = doped.description.rsplit("; ", 1)[-1]
    return Candidate(amounts=doped.amounts, oxidation_states=doped.oxidation_states,
                     method="substitution", family=family, parent=source.formula,
                     probability=probability,
                     description=f"{new} replaces {old} (p={probability:.3f}); {mobile_note}")


def _window_ok(candidate: Candidate, mobile: str, window: tuple[float, float] | None) -> bool:
    """Positive mobile-ion content inside the optional window."""
    content = candidate.amounts.get(mobile, 0.0)
    if content <= 0:
        return False
    return window is None or window[0] - _EPS <= content <= window[1] + _EPS


# ----------------------------------------------------------------------------- grid


def composition_grid(
    elements: Sequence[str],
    max_atoms: int = 12,
    *,
    oxidation_states: str | Mapping[str, Sequence[int]] = "common",
    max_per_element: int | None = None,
) -> list[Candidate]:
    """Integer compositions over ``elements`` that pass the SMACT-style screen.

    Every element is present (at least one atom), at most ``max_atoms`` atoms per formula,
    formulas are reduced (the counts share no common factor), and some assignment of one
    oxidation state per element (pymatgen's ``common``/``icsd``/``all`` lists, or an
    explicit ``{element: [states]}`` mapping) is charge neutral with every cation less
    electronegative than every anion. Ordered by atom count, then counts.
    """
    symbols = _grid_elements(elements)
    combos = _state_combinations(symbols, oxidation_states)
    if not combos:
        return []
    charges = np.array([[c[el] for el in symbols] for c in combos])
    out = []
    for counts in _stoichiometries(len(symbols), max_atoms, max_per_element):
        neutral = np.flatnonzero(charges @ np.array(counts) == 0)
        if neutral.size:
            best = combos[int(neutral[0])]
            amounts = {el: float(n) for el, n in zip(symbols, counts, strict=True)}
            out.append(Candidate(amounts=amounts, oxidation_states=best, method="grid",
                                 description=" ".join(species_string(el, best[el])
                                                      for el in symbols)))
    return out


def _grid_elements(elements: Sequence[str]) -> list[str]:
    """Validate grid elements: known, distinct, with an electronegativity."""
    symbols = [_element_or_error(el) for el in elements]
    if len(symbols) < 2 or len(set(symbols)) != len(symbols):
        raise ValueError(f"need at least two distinct elements, got {list(elements)}")
    missing = [el for el in symbols if math.isnan(_electronegativity(el))]
    if missing:
        raise ValueError(f"no Pauling electronegativity for {missing}")
    return symbols


def _element_or_error(symbol: str) -> str:
    """A valid element symbol or ValueError."""
    if not isinstance(symbol, str) or not Element.is_valid_symbol(symbol.strip()):
        raise ValueError(f"unknown element {symbol!r}")
    return symbol.strip()


def _stoichiometries(n: int, max_atoms: int, max_per_element: int | None
                     ) -> Iterator[tuple[int, ...]]:
    """Reduced count vectors with every count >= 1, by total then lexicographically."""
    cap = max_per_element or max_atoms
    for total in range(n, max_atoms + 1):
        for counts in _partitions(n, total, cap):
            if math.gcd(*counts) == 1:
                yield counts


def _partitions(n: int, total: int, cap: int) -> Iterator[tuple[int, ...]]:
    """Ordered ways of writing ``total`` as ``n`` counts in ``[1, cap]``."""
    if n == 1:
        if 1 <= total <= cap:
            yield (total,)
        return
    for first in range(1, min(cap, total - (n - 1)) + 1):
        for rest in _partitions(n - 1, total - first, cap):
            yield (first, *rest)


# ----------------------------------------------------------------------------- dedup


def known_values(known: pd.DataFrame, decimals: int = KEY_DECIMALS) -> dict[CompositionKey, float]:
    """Mean ``target`` of each composition in a known-data table (columns ``formula``,
    ``target``); rows whose formula does not parse are ignored, NaN targets are skipped."""
    missing = {"formula", "target"} - set(known.columns)
    if missing:
        raise ValueError(f"known data lack column(s) {sorted(missing)}")
    compositions, _ = parse_many(known["formula"])
    targets = pd.to_numeric(known["target"], errors="coerce").to_numpy(dtype=float)
    sums: dict[CompositionKey, list[float]] = {}
    for composition, target in zip(compositions, targets, strict=True):
        if composition is None:
            continue
        values = sums.setdefault(CompositionKey.of(composition, decimals), [])
        if math.isfinite(target):
            values.append(float(target))
    return {key: float(np.mean(v)) if v else math.nan for key, v in sums.items()}


def deduplicate(candidates: pd.DataFrame, known: pd.DataFrame | None = None,
                decimals: int = KEY_DECIMALS) -> pd.DataFrame:
    """Keep the first row of each reduced composition and mark known compositions.

    Compositions are compared by :class:`~matgenome.composition.CompositionKey` (atomic
    fractions rounded to ``decimals`` places). Adds ``known`` (bool: the composition is in
    ``known``) and ``known_value`` (mean measured ``target`` of its rows; NaN when unknown).
    """
    keys = [CompositionKey.of(f, decimals) for f in candidates["formula"]]
    return _deduplicate_keys(candidates, keys, known, decimals)


def _deduplicate_keys(candidates: pd.DataFrame, keys: list[CompositionKey],
                      known: pd.DataFrame | None,
                      decimals: int) -> pd.DataFrame:
    """:func:`deduplicate` with precomputed keys."""
    first = ~pd.Series([*map(str, keys)], index=candidates.index).duplicated()
    out = candidates.loc[first.to_numpy()].copy()
    kept = [k for k, keep in zip(keys, first, strict=True) if keep]
    values = known_values(known, decimals) if known is not None else {}
    out["known"] = [k in values for k in kept]
    out["known_value"] = [values.get(k, math.nan) for k in kept]
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------- pipeline


def generate_candidates(
    families: Iterable[Family | str] | None = None,
    methods: Sequence[str] = ("doping",),
    max_dopants: int = 1,
    steps: int = 5,
    known: pd.DataFrame | None = None,
    seed: int = 0,
    *,
    step: float | None = None,
    seeds_path: str | Path | None = None,
    substitution_threshold: float = DEFAULT_SUBSTITUTION_THRESHOLD,
    substitution_sources: str = "seeds",
    grid_elements: Sequence[str] | None = None,
    grid_max_atoms: int = 12,
    grid_oxidation_states: str = "common",
    drop_known: bool = False,
    max_candidates: int | None = None,
) -> pd.DataFrame:
    """Generate, deduplicate and annotate candidate compositions.

    Arguments a command line should expose (``matgenome generate``):

    * ``families`` (``--family``, repeatable): seed family names or aliases; default all.
    * ``methods`` (``--method``, repeatable): any of ``doping``, ``substitution``, ``grid``.
    * ``max_dopants`` (``--max-dopants``): dopant elements combined per candidate.
    * ``steps`` (``--steps``): grid points per dopant range (evenly spaced, ends included).
    * ``step`` (``--step``): alternatively, a fixed spacing; amounts are its multiples.
    * ``known`` (``--known``, a data file or shipped dataset name): table with ``formula``
      and ``target``; marks known compositions and gives their mean measured value.
    * ``seed`` (``--seed``): random seed, used only when ``max_candidates`` subsamples.
    * ``seeds_path`` (``--seeds``): a seed YAML file or directory instead of the shipped one.
    * ``substitution_threshold`` (``--threshold``): minimum P(new | old) of a substitute.
    * ``substitution_sources`` (``--substitute-from``): ``seeds`` (the family parents),
      ``known`` (the formulas in ``known``) or ``both``.
    * ``grid_elements`` (``--elements``), ``grid_max_atoms`` (``--max-atoms``),
      ``grid_oxidation_states`` (``--oxidation-states``: common, icsd or all).
    * ``drop_known`` (``--drop-known``): leave out compositions present in ``known``.
    * ``max_candidates`` (``--max-candidates``): random subsample of this size (order kept).

    Returns:
        One row per distinct composition, in generation order (doping by family, parent,
        site and dopant order and ascending amounts; then substitution; then grid). Columns:
        ``formula`` (parseable, round-trips), ``family``, ``parent``, ``method``,
        ``description``, ``oxidation_states`` (e.g. ``"Li+ La3+ Zr4+ Ta5+ O2-"``),
        ``probability`` (substitution only), ``known``, ``known_value``.
    """
    unknown = sorted(set(methods) - set(METHODS))
    if unknown or not methods:
        raise ValueError(f"unknown method(s) {unknown}; choose from {METHODS}")
    chosen = select_families(families, seeds_path) if {"doping", "substitution"} & set(methods) \
        else []
    candidates: list[Candidate] = []
    if "doping" in methods:
        for family in chosen:
            candidates.extend(family_candidates(family, max_dopants=max_dopants, steps=steps,
                                                step=step))
    if "substitution" in methods:
        candidates.extend(_substitution_candidates(chosen, known, substitution_sources,
                                                   substitution_threshold))
    if "grid" in methods:
        if not grid_elements:
            raise ValueError("the grid method needs grid_elements")
        candidates.extend(composition_grid(grid_elements, grid_max_atoms,
                                           oxidation_states=grid_oxidation_states))
    return _finish(candidates, known, drop_known, max_candidates, seed)


def _substitution_candidates(families: list[Family], known: pd.DataFrame | None, sources: str,
                             threshold: float) -> list[Candidate]:
    """Substitution candidates from the seed parents and/or the known formulas."""
    if sources not in {"seeds", "known", "both"}:
        raise ValueError(f"substitution_sources must be seeds, known or both, got {sources!r}")
    out: list[Candidate] = []
    if sources in {"seeds", "both"}:
        for family in families:
            mobile = species_string(family.mobile_ion, family.mobile_ion_charge)
            for parent in family.parents:
                out.extend(substitute(parent, mobile_ion=mobile, threshold=threshold,
                                      family=family.name))
    if sources in {"known", "both"}:
        if known is None:
            raise ValueError("substitution from known compositions needs the known table")
        out.extend(_substitute_known(known, threshold))
    return out


def _substitute_known(known: pd.DataFrame, threshold: float) -> list[Candidate]:
    """Substitute each distinct, parseable, Li-containing known formula."""
    families = known["family"] if "family" in known.columns else pd.Series("", index=known.index)
    out: list[Candidate] = []
    seen: set[CompositionKey] = set()
    for formula, family in zip(known["formula"], families, strict=True):
        try:
            composition = parse_composition(formula)
        except CompositionError:
            continue
        key = CompositionKey.of(composition, KEY_DECIMALS)
        if key in seen or "Li" not in {str(el) for el in composition}:
            continue
        seen.add(key)
        states = guess_oxidation_states(composition)
        if states is None or states.get("Li") != 1:
            continue
        label = family if isinstance(family, str) else ""
        out.extend(substitute(formula, oxidation_states=states, threshold=threshold,
                              family=label))
    return out


def _finish(candidates: list[Candidate], known: pd.DataFrame | None, drop_known: bool,
            max_candidates: int | None, seed: int) -> pd.DataFrame:
    """Tabulate, deduplicate, mark known rows, and optionally drop or subsample."""
    frame = pd.DataFrame([c.row() for c in candidates], columns=list(COLUMNS[:-2]))
    keys = [CompositionKey.of(c.amounts, KEY_DECIMALS) for c in candidates]
    frame = _deduplicate_keys(frame, keys, known, KEY_DECIMALS)
    if drop_known:
        frame = frame[~frame["known"]].reset_index(drop=True)
    if max_candidates is not None and len(frame) > max_candidates:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(frame), size=max_candidates, replace=False))
        frame = frame.iloc[rows].reset_index(drop=True)
    return frame[list(COLUMNS)]
