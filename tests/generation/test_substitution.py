"""Hautier substitution: offline probabilities, substituted compositions."""

from __future__ import annotations

import socket

from matgenome.generation import (
    likely_substitutes,
    substitute,
    substitution_probabilities,
)


def test_substitution_probabilities_load_offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    substitution_probabilities.cache_clear()
    likely_substitutes.cache_clear()
    table = substitution_probabilities()
    assert len(table.species) > 100
    substitutes = likely_substitutes("Zr4+", 0.02)
    names = [name for name, _ in substitutes]
    assert "Hf4+" in names and "Zr4+" not in names
    probabilities = [p for _, p in substitutes]
    assert probabilities == sorted(probabilities, reverse=True) and min(probabilities) >= 0.02
    assert all(name.endswith("+") for name in names)


def test_substitute_known_composition(charge):
    candidates = substitute("Li7La3Zr2O12", threshold=0.02)
    formulas = {c.formula for c in candidates}
    assert "Li7La3Hf2O12" in formulas
    hafnium = next(c for c in candidates if c.formula == "Li7La3Hf2O12")
    assert hafnium.description.startswith("Hf4+ replaces Zr4+ (p=")
    assert hafnium.method == "substitution" and hafnium.probability >= 0.02
    for candidate in candidates:
        assert abs(charge(candidate.formula, candidate.oxidation_states)) < 1e-6
        assert candidate.amounts["Li"] > 0
        assert not {"U", "Pu", "Ra", "Xe"} & set(candidate.amounts)
        assert len(candidate.amounts) == 4  # one element swapped for one new element
    aliovalent = [c for c in candidates if "Li adjusted" in c.description]
    assert aliovalent  # e.g. Sr2+ for La3+ adds Li
    assert all(c.amounts["Li"] != 7 for c in aliovalent)
