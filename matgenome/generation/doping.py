"""Charge-compensated doping: aliovalent or isovalent dopants on the sites of the seed
families, with the mobile-ion content adjusted so that every candidate stays neutral.

A dopant of charge ``q_d`` replacing ``x`` host ions of charge ``q_h`` changes the
mobile-ion amount by ``-(q_d - q_h) * x / q_mobile`` (vacancies when negative,
interstitials when positive), on top of the ``x`` removed when the dopant sits on the
mobile-ion site itself.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from pymatgen.core import Composition

from matgenome.composition import parse_composition
from matgenome.errors import DopingError, UsageError
from matgenome.generation.candidates import Candidate
from matgenome.generation.notation import (
    _EPS,
    AMOUNT_DECIMALS,
    _number,
    format_formula,
    parse_species,
    species_string,
)
from matgenome.generation.oxidation import guess_oxidation_states
from matgenome.generation.seeds import Dopant, Family, Parent, Site


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
            raise UsageError(f"step must be positive, got {step}")
        first = math.ceil(dopant.x_min / step - 1e-9)
        last = math.floor(dopant.x_max / step + 1e-9)
        values = [k * step for k in range(max(first, 1), last + 1)]
    else:
        if steps < 1:
            raise UsageError(f"steps must be at least 1, got {steps}")
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
        raise UsageError(f"max_dopants must be at least 1, got {max_dopants}")
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


def _window_ok(candidate: Candidate, mobile: str, window: tuple[float, float] | None) -> bool:
    """Positive mobile-ion content inside the optional window."""
    content = candidate.amounts.get(mobile, 0.0)
    if content <= 0:
        return False
    return window is None or window[0] - _EPS <= content <= window[1] + _EPS
