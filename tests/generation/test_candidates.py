"""Deduplication of candidates and marking of known compositions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from matgenome.generation import (
    deduplicate,
    generate_candidates,
)


def test_deduplicate_against_known_table():
    known = pd.DataFrame({
        "formula": ["Li6.5La3Zr1.5Ta0.5O12", "Li13La6Zr3TaO24", "Li7La3Zr2O12", "not a formula",
                    "Li6.4Al0.2La3Zr2O12"],
        "target": [-3.5, -3.3, -4.0, 0.0, math.nan],
    })
    frame = generate_candidates(families=["garnet"], known=known)
    by_formula = frame.set_index("formula")
    assert by_formula.loc["Li6.5La3Zr1.5Ta0.5O12", "known"]
    assert by_formula.loc["Li6.5La3Zr1.5Ta0.5O12", "known_value"] == pytest.approx(-3.4)
    # Known without a measured value: marked, value NaN.
    assert by_formula.loc["Li6.4Al0.2La3Zr2O12", "known"]
    assert math.isnan(by_formula.loc["Li6.4Al0.2La3Zr2O12", "known_value"])
    assert frame["known"].sum() == 2
    assert frame.loc[~frame["known"], "known_value"].isna().all()
    dropped = generate_candidates(families=["garnet"], known=known, drop_known=True)
    assert len(dropped) == len(frame) - 2 and not dropped["known"].any()


def test_deduplicate_merges_equivalent_formulas():
    candidates = pd.DataFrame({
        "formula": ["Li3PS4", "Li6P2S8", "0.75Li2S-0.25P2S5", "Li3.00001PS4", "Li7P3S11"],
        "method": ["grid"] * 5,
    })
    out = deduplicate(candidates, known=pd.DataFrame({"formula": ["Li1.5P0.5S2"],
                                                      "target": [-6.3]}))
    assert out["formula"].tolist() == ["Li3PS4", "Li7P3S11"]
    assert out["known"].tolist() == [True, False]
    assert out.loc[0, "known_value"] == pytest.approx(-6.3)
    with pytest.raises(ValueError, match="target"):
        deduplicate(candidates, known=pd.DataFrame({"formula": ["Li3PS4"]}))
