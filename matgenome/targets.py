"""Target descriptions: name, unit, transform, and the one display label derived from them.

A model card records ``target`` as ``name`` (the column or quantity), ``unit`` (the unit of
the stored values before the transform, after any conversion: ``S/cm`` for cells given in
``mS/cm``; empty when unknown), ``transform`` (``log10`` or ``none``) and ``label``. The label
is used everywhere a target is shown: the card, printed headers and plot axes
(``log10(σ / S cm⁻¹)`` for a log10 conductivity, ``experimental band gap (eV)``,
``log10(<column>)`` for a log10 target of unknown unit: no unit is invented). Cards written
before ``label`` existed stated log10 values' unit as ``log10(S/cm)``; they are read the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from matgenome.units import normalise_unit, unit_group

# Units as printed on axes and headers; others are printed as written.
_PRETTY_UNITS = {"S/cm": "S cm⁻¹", "mS/cm": "mS cm⁻¹", "uS/cm": "µS cm⁻¹", "µS/cm": "µS cm⁻¹",
                 "S/m": "S m⁻¹", "mS/m": "mS m⁻¹"}


def describe_target(name: str, unit: str | None = "", log10: bool = False) -> dict[str, str]:
    """The target description a model card records: ``name`` (the column or quantity),
    ``unit`` (of the stored values before the transform, after any conversion: S/cm for
    cells given in mS/cm; "" when unknown), ``transform`` (``log10`` or ``none``) and
    ``label``, the one display label used by the card, printed headers and plot axes."""
    target = {"name": name, "unit": unit or "", "transform": "log10" if log10 else "none"}
    target["label"] = target_label(target)
    return target


def normalise_target(target: Mapping[str, Any] | None) -> dict[str, str]:
    """A target description in the current form, also from older cards, which wrote the
    unit of log10 values as ``log10(S/cm)``: the unit becomes ``S/cm``, the transform
    ``log10``. A missing label is derived."""
    target = dict(target or {})
    out = _name_unit_transform(target)
    out["label"] = str(target.get("label") or target_label(out))
    return out


def _name_unit_transform(target: Mapping[str, Any]) -> dict[str, str]:
    """Name, unit and transform of a description, an old ``log10(<unit>)`` unit read as
    the unit and the log10 transform (the one place that spelling is parsed)."""
    unit = str(target.get("unit") or "")
    transform = str(target.get("transform") or "none")
    if unit.startswith("log10(") and unit.endswith(")"):
        unit, transform = unit[len("log10("):-1], "log10"
    return {"name": str(target.get("name") or "target"), "unit": unit,
            "transform": transform}


def target_label(target: Mapping[str, Any] | None) -> str:
    """Display label of a target: ``log10(σ / S cm⁻¹)`` for a log10 conductivity,
    ``experimental band gap (eV)``, or ``log10(<name>)`` when no unit is known (no unit is
    invented)."""
    parts = _name_unit_transform(dict(target or {}))
    name, unit, log10 = parts["name"], parts["unit"], parts["transform"] == "log10"
    if not unit:
        return f"log10({name})" if log10 else name
    quantity = "σ" if unit_group(normalise_unit(unit)) == "conductivity" else name
    pretty = _PRETTY_UNITS.get(normalise_unit(unit), unit)
    return f"log10({quantity} / {pretty})" if log10 else f"{quantity} ({pretty})"
