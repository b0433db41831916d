"""Seed families: the ``seeds/*.yaml`` files, their loading, validation and selection.

A family declares parent compositions with their oxidation states, the substitution
sites with the dopants allowed on them (amount ranges per parent formula unit), the mobile
ion and literature references. :func:`load_seeds` reads and validates the files (the
messages name the file, family and field: :class:`SeedError`); :func:`select_families`
resolves names and aliases.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from pymatgen.core import Element

from matgenome.composition import CompositionError, parse_composition
from matgenome.errors import SeedError, UsageError
from matgenome.generation.notation import _EPS, CHARGE_TOLERANCE, species_string
from matgenome.resources import shipped_path

SCHEMA_VERSION = 1
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
# The C loader is several times faster; PyYAML builds without libyaml fall back.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
            raise UsageError(f"unknown family {item!r}; available: "
                             f"{family_choices(available)}")
        chosen.append(match)
    return chosen
