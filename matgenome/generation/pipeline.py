"""The whole candidate pipeline: :func:`generate_candidates` runs the chosen generators
(doping, substitution, grid), then tabulates, deduplicates and marks known compositions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from matgenome.composition import (
    CANDIDATE_DECIMALS,
    CompositionError,
    CompositionKey,
    parse_composition,
)
from matgenome.errors import UsageError
from matgenome.generation.candidates import COLUMNS, Candidate, _deduplicate_keys
from matgenome.generation.doping import family_candidates
from matgenome.generation.grids import composition_grid
from matgenome.generation.notation import species_string
from matgenome.generation.oxidation import guess_oxidation_states
from matgenome.generation.seeds import Family, select_families
from matgenome.generation.substitution import DEFAULT_SUBSTITUTION_THRESHOLD, substitute

METHODS = ("doping", "substitution", "grid")


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
      and ``target`` (optionally ``censor``), read by :class:`~matgenome.known.KnownMeasurements`;
      marks known compositions and gives their mean exact value (an upper bound marks a
      composition known without a value).
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
        raise UsageError(f"unknown method(s) {unknown}; choose from {METHODS}")
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
            raise UsageError("the grid method needs grid_elements")
        candidates.extend(composition_grid(grid_elements, grid_max_atoms,
                                           oxidation_states=grid_oxidation_states))
    return _finish(candidates, known, drop_known, max_candidates, seed)


def _substitution_candidates(families: list[Family], known: pd.DataFrame | None, sources: str,
                             threshold: float) -> list[Candidate]:
    """Substitution candidates from the seed parents and/or the known formulas."""
    if sources not in {"seeds", "known", "both"}:
        raise UsageError(f"substitution_sources must be seeds, known or both, got {sources!r}")
    out: list[Candidate] = []
    if sources in {"seeds", "both"}:
        for family in families:
            mobile = species_string(family.mobile_ion, family.mobile_ion_charge)
            for parent in family.parents:
                out.extend(substitute(parent, mobile_ion=mobile, threshold=threshold,
                                      family=family.name))
    if sources in {"known", "both"}:
        if known is None:
            raise UsageError("substitution from known compositions needs the known table")
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
        key = CompositionKey.of(composition, CANDIDATE_DECIMALS)
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
    keys = [CompositionKey.of(c.amounts, CANDIDATE_DECIMALS) for c in candidates]
    frame = _deduplicate_keys(frame, keys, known)
    if drop_known:
        frame = frame[~frame["known"]].reset_index(drop=True)
    if max_candidates is not None and len(frame) > max_candidates:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(len(frame), size=max_candidates, replace=False))
        frame = frame.iloc[rows].reset_index(drop=True)
    return frame[list(COLUMNS)]
