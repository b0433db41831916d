"""Leave-family-out rediscovery on OBELiX: trained without the sulfide superionic families,
does a model rank them near the top of a pool of unseen compositions?

Protocol:

* Held-out families: ``argyrodite``, ``LGPS`` and ``thio-LISICON``. OBELiX leaves some rows
  without a family label, including four Li10(Ge,Sn)P2S12 compositions that are LGPS by
  any definition. Every row whose atomic-fraction vector lies within L1 distance 0.05 of a
  held-out family composition is therefore held out with the families. (The nearest row
  beyond that, Li4P2S6 / Li7P3S11 at 0.083, is a different phase and stays.)
* Pool, per seed: every row from a paper (DOI) that reports a held-out row, plus every row
  of a random 20% of the remaining papers. Training: all other uncensored rows, except any
  composition that also occurs in the pool. So no paper and no composition is on both
  sides.
* Rows are grouped by reduced composition (one candidate per composition). A pool
  composition is a hit when the mean of its uncensored log10(sigma / S cm-1) is >= -3
  (sigma >= 1e-3 S/cm); censored rows (``<1E-10``) stay in the pool as known non-hits.
  Training targets are the mean log10(sigma) per composition.
* Metrics on the top 10% of the ranking (ceil(0.1 * pool size) compositions): hit rate;
  enrichment = hit rate in the top / hit rate of the pool (the base rate); the ceiling =
  min(hits, k) / k / base rate (the best enrichment any ranking of this pool can reach);
  recall = hits in the top / all hits; and the recall of the held-out families' hits.
  Mean ± std (ddof=1) over ``--seeds`` random pools.
* Configurations: a plain scikit-learn random forest on Magpie features (the baseline),
  and matgenome's ``UncertainForestRegressor`` (random forest or extra trees, ``magpie``
  or ``electrolyte`` preset), each ranked by its predicted mean and by the probability
  P(log10 sigma > -3) under its predictive N(mean, std) (``matgenome.ranking.probability``).
  All are reported.
* Selection without the test families: the headline matgenome configuration is the one
  with the highest mean enrichment in a validation protocol that never sees the held-out
  families: the same design run on the remaining data with NASICON, perovskite and garnet
  each held out in turn (``--val-seeds`` pools each).
* Sensitivity: the baseline and the selected configuration are also run with the family
  labels alone deciding what is held out (without the L1 rule). That design leaks the
  unlabelled LGPS rows into training and is reported only to show their effect.

Usage: ``python benchmarks/rediscovery.py [--quick] [--seeds N] [--output PATH]``. Writes
``benchmarks/results/rediscovery.json``.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    Stopwatch,
    composition_keys,
    fmt_mean_std,
    format_table,
    mean_std,
    software_versions,
    write_json_atomic,
)
from sklearn.ensemble import RandomForestRegressor

from matgenome.datasets import data_hash, load
from matgenome.features import compute_features
from matgenome.models.forest import UncertainForestRegressor
from matgenome.ranking import order_by_score, probability

HELD_OUT_FAMILIES: tuple[str, ...] = ("argyrodite", "LGPS", "thio-LISICON")
VALIDATION_FAMILIES: tuple[str, ...] = ("NASICON", "perovskite", "garnet")
HIT_LOG10 = -3.0
TOP_FRACTION = 0.10
POOL_DOI_FRACTION = 0.20
NEAR_L1 = 0.05
ENRICHMENT_GOAL = 4.0
SCORES: tuple[str, ...] = ("mean", "p_hit")


@dataclass(frozen=True)
class Config:
    """A model configuration: descriptor preset and forest kind (``plain`` = sklearn RF)."""

    name: str
    preset: str
    kind: str

    @property
    def scores(self) -> tuple[str, ...]:
        """The plain forest has no predictive std, so it is ranked by its mean only."""
        return ("mean",) if self.kind == "plain" else SCORES


BASELINE = Config("RF magpie (plain sklearn)", "magpie", "plain")
CONFIGS: tuple[Config, ...] = (
    BASELINE,
    Config("matgenome RF magpie", "magpie", "random_forest"),
    Config("matgenome ET magpie", "magpie", "extra_trees"),
    Config("matgenome RF electrolyte", "electrolyte", "random_forest"),
    Config("matgenome ET electrolyte", "electrolyte", "extra_trees"),
)


@dataclass(frozen=True)
class Settings:
    """Everything a run depends on besides the data and the code."""

    seeds: int = 10
    val_seeds: int = 5
    seed: int = 0
    n_estimators: int = 300


QUICK = Settings(seeds=2, val_seeds=1, n_estimators=8)


@dataclass
class Data:
    """OBELiX rows with composition keys, element fractions and feature matrices."""

    frame: pd.DataFrame
    fractions: np.ndarray
    features: dict[str, np.ndarray]


@dataclass
class Candidates:
    """Rows grouped by composition: a representative row, the target and flags."""

    row: np.ndarray
    target: np.ndarray
    hit: np.ndarray
    held: np.ndarray


# ------------------------------------------------------------------------------ data


def load_data() -> Data:
    """OBELiX with keys, atomic fractions and the magpie/electrolyte feature matrices."""
    frame = load("obelix")
    frame["key"] = composition_keys(frame["formula"])
    features = {}
    for preset in ("element_fraction", "magpie", "electrolyte"):
        matrix, errors = compute_features(frame["formula"], preset)
        if any(errors):
            raise RuntimeError(f"featurization failed: {next(e for e in errors if e)}")
        features[preset] = matrix
    return Data(frame, features.pop("element_fraction"), features)


def near_rows(fractions: np.ndarray, members: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Mask over ``candidates`` rows within L1 < NEAR_L1 of any ``members`` row."""
    if not members.any():
        return np.zeros(int(candidates.sum()), dtype=bool)
    distance = np.abs(fractions[candidates][:, None, :] - fractions[members][None, :, :])
    return distance.sum(axis=2).min(axis=1) < NEAR_L1


def held_mask(data: Data, rows: np.ndarray, families: Sequence[str],
              near: bool = True) -> np.ndarray:
    """Rows (within ``rows``) of the held-out families, plus their near-duplicates."""
    family = data.frame["family"].isin(list(families)).to_numpy(bool) & rows
    if not near:
        return family
    held = family.copy()
    held[rows] |= near_rows(data.fractions, family, rows)
    return held


def split(data: Data, rows: np.ndarray, held: np.ndarray,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and pool row masks within ``rows`` (see the module docstring)."""
    frame = data.frame
    doi = frame["doi"].astype(str).to_numpy()
    held_dois = set(doi[held])
    others = np.array(sorted(set(doi[rows]) - held_dois))
    drawn = rng.choice(others, size=round(POOL_DOI_FRACTION * others.size), replace=False)
    pool = rows & (held | np.isin(doi, list(held_dois | set(drawn))))
    pool_keys = set(frame["key"].to_numpy()[pool])
    train = (rows & ~pool & ~frame["key"].isin(pool_keys).to_numpy()
             & ~frame["censored"].to_numpy(bool))
    return train, pool


def group(data: Data, mask: np.ndarray, held: np.ndarray) -> Candidates:
    """One candidate per composition: mean uncensored log10(sigma), hit and held flags.

    A composition with only censored rows keeps its bound as target and is no hit.
    """
    frame = data.frame
    rows = np.flatnonzero(mask)
    censored = frame["censored"].to_numpy(bool)[rows]
    table = pd.DataFrame({"row": rows, "key": frame["key"].to_numpy()[rows],
                          "exact": np.where(censored, np.nan,
                                            frame["target"].to_numpy(float)[rows]),
                          "bound": frame["target"].to_numpy(float)[rows],
                          "held": held[rows]})
    grouped = table.groupby("key", sort=True)
    exact = grouped["exact"].mean()
    target = exact.fillna(grouped["bound"].min())
    return Candidates(row=grouped["row"].first().to_numpy(), target=target.to_numpy(),
                      hit=(exact >= HIT_LOG10).to_numpy(bool),
                      held=grouped["held"].any().to_numpy(bool))


# ---------------------------------------------------------------------------- models


def make_model(config: Config, n_estimators: int, seed: int) -> Any:
    """An unfitted model of ``config`` with a fixed seed."""
    if config.kind == "plain":
        return RandomForestRegressor(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    return UncertainForestRegressor(n_estimators=n_estimators, kind=config.kind,
                                    random_state=seed, n_jobs=1)


def pool_scores(config: Config, data: Data, train: Candidates, pool: Candidates,
                n_estimators: int, seed: int) -> dict[str, np.ndarray]:
    """Fit on the training compositions and score the pool by each of ``config.scores``."""
    X = data.features[config.preset]
    model = make_model(config, n_estimators, seed).fit(X[train.row], train.target)
    if config.kind == "plain":
        return {"mean": model.predict(X[pool.row])}
    mean, std = model.predict(X[pool.row], return_std=True)
    return {"mean": mean, "p_hit": probability(mean, std, "max", threshold=HIT_LOG10)}


def top_metrics(scores: np.ndarray, pool: Candidates, formulas: np.ndarray,
                rng: np.random.Generator) -> dict:
    """Hit rate, enrichment and recalls of the top 10% of the ranking, and its formulas."""
    n = scores.size
    k = math.ceil(TOP_FRACTION * n)
    top = order_by_score(scores, tie_breaker=rng.random(n))[:k]
    hits, held_hits = int(pool.hit.sum()), int((pool.hit & pool.held).sum())
    base = hits / n
    in_top = int(pool.hit[top].sum())
    return {
        "k": k, "hits_in_top": in_top, "hit_rate_top": in_top / k,
        "enrichment": (in_top / k) / base if hits else math.nan,
        "recall": in_top / hits if hits else math.nan,
        "held_family_recall": (int((pool.hit & pool.held)[top].sum()) / held_hits
                               if held_hits else math.nan),
        "top_ranked": formulas[top].tolist(),
    }


def pool_stats(train: Candidates, pool: Candidates) -> dict[str, Any]:
    """Sizes, base rate and ceiling of one split."""
    n, hits = pool.target.size, int(pool.hit.sum())
    k = math.ceil(TOP_FRACTION * n)
    base = hits / n
    return {"train_compositions": int(train.target.size), "pool_compositions": n,
            "pool_hits": hits, "pool_held_compositions": int(pool.held.sum()),
            "pool_held_hits": int((pool.hit & pool.held).sum()), "base_rate": base,
            "ceiling": (min(hits, k) / k) / base if hits else math.nan}


# --------------------------------------------------------------------------- protocol


def run_design(data: Data, rows: np.ndarray, held: np.ndarray, configs: Sequence[Config],
               settings: Settings, seeds: Sequence[Sequence[int]]) -> dict[str, Any]:
    """All ``configs`` on one pool per seed; per-seed records and mean ± std summaries."""
    per_seed = []
    for seed_words in seeds:
        rng = np.random.default_rng(list(seed_words))
        train_mask, pool_mask = split(data, rows, held, rng)
        train, pool = group(data, train_mask, held), group(data, pool_mask, held)
        record: dict[str, Any] = {"seed": list(seed_words), **pool_stats(train, pool),
                                  "results": {}}
        model_seed = int(rng.integers(2**31 - 1))
        formulas = data.frame["formula"].to_numpy()[pool.row]
        for config in configs:
            scores = pool_scores(config, data, train, pool, settings.n_estimators, model_seed)
            for name, values in scores.items():
                record["results"][f"{config.name} | {name}"] = top_metrics(
                    values, pool, formulas, rng)
        per_seed.append(record)
    return {"per_seed": per_seed, "summary": summarise(per_seed)}


def summarise(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over seeds of the pool statistics and of every metric."""
    pool_keys = ("train_compositions", "pool_compositions", "pool_hits",
                 "pool_held_hits", "base_rate", "ceiling")
    out: dict[str, Any] = {key: mean_std([r[key] for r in per_seed]) for key in pool_keys}
    metrics = ("enrichment", "hit_rate_top", "recall", "held_family_recall")
    out["results"] = {
        name: {m: mean_std([r["results"][name][m] for r in per_seed]) for m in metrics}
        for name in per_seed[0]["results"]
    }
    return out


def validation(data: Data, test_held: np.ndarray, settings: Settings) -> dict[str, Any]:
    """The same design on data without the test families, each validation family held out."""
    doi = data.frame["doi"].astype(str).to_numpy()
    development = ~np.isin(doi, list(set(doi[test_held])))
    configs = [c for c in CONFIGS if c.kind != "plain"]
    designs = {}
    for index, family in enumerate(VALIDATION_FAMILIES):
        held = held_mask(data, development, (family,))
        seeds = [(settings.seed, 1, index, s) for s in range(settings.val_seeds)]
        designs[family] = run_design(data, development, held, configs, settings, seeds)
    pooled = [r for d in designs.values() for r in d["per_seed"]]
    return {"families": list(VALIDATION_FAMILIES), "development_rows": int(development.sum()),
            "by_family": {f: d["summary"] for f, d in designs.items()},
            "pooled": summarise(pooled)}


def select(validated: dict[str, Any]) -> tuple[str, list[str]]:
    """The matgenome configuration | score with the highest mean validation enrichment.

    Returns it and every name tied with it (ties go to the first in ``CONFIGS`` order).
    """
    results = validated["pooled"]["results"]
    enrichment = {name: results[name]["enrichment"]["mean"] for name in results}
    best = max(enrichment, key=enrichment.__getitem__)
    ties = [n for n, v in enrichment.items() if math.isclose(v, enrichment[best])]
    return best, ties


# ----------------------------------------------------------------------------- output


def result_rows(summary: dict[str, Any], mark: str = "") -> list[list[str]]:
    """One table row per configuration | score."""
    rows = []
    for name, metrics in summary["results"].items():
        config, score = name.split(" | ")
        rows.append([config + (" *" if name == mark else ""), score,
                     fmt_mean_std(metrics["enrichment"]),
                     fmt_mean_std(metrics["hit_rate_top"]),
                     fmt_mean_std(metrics["recall"]),
                     fmt_mean_std(metrics["held_family_recall"])])
    return rows


HEADERS = ("configuration", "score", "enrichment", "hit rate top 10%", "recall",
           "held-family recall")


def pool_line(summary: dict[str, Any]) -> str:
    """One line describing the pools of a design."""
    return (f"train {fmt_mean_std(summary['train_compositions'], 0)} compositions; pool "
            f"{fmt_mean_std(summary['pool_compositions'], 0)} with "
            f"{fmt_mean_std(summary['pool_hits'], 1)} hits; base rate "
            f"{fmt_mean_std(summary['base_rate'], 3)}; ceiling "
            f"{fmt_mean_std(summary['ceiling'])}x")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings for a smoke test (numbers are meaningless)")
    parser.add_argument("--seeds", "--trials", dest="seeds", type=int, default=None,
                        help="number of random pools (default 10)")
    parser.add_argument("--val-seeds", type=int, default=None,
                        help="pools per validation family (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "rediscovery.json",
                        help="JSON path")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clock = Stopwatch()
    settings = QUICK if args.quick else Settings()
    overrides = {"seeds": args.seeds, "val_seeds": args.val_seeds, "seed": args.seed}
    settings = Settings(**{**vars(settings),
                           **{k: v for k, v in overrides.items() if v is not None}})
    data = load_data()
    everything = np.ones(len(data.frame), dtype=bool)
    held = held_mask(data, everything, HELD_OUT_FAMILIES)
    labelled = held_mask(data, everything, HELD_OUT_FAMILIES, near=False)

    validated = validation(data, held, settings)
    chosen, ties = select(validated)
    print("Validation (held-out families never used): " + ", ".join(VALIDATION_FAMILIES))
    print(pool_line(validated["pooled"]))
    print(format_table(result_rows(validated["pooled"], chosen), HEADERS))

    seeds = [(settings.seed, 0, s) for s in range(settings.seeds)]
    test = run_design(data, everything, held, CONFIGS, settings, seeds)
    print(f"\nRediscovery of {', '.join(HELD_OUT_FAMILIES)} "
          f"({settings.seeds} pools; * = selected on validation)")
    print(pool_line(test["summary"]))
    print(format_table(result_rows(test["summary"], chosen), HEADERS))

    chosen_config = next(c for c in CONFIGS if c.name == chosen.split(" | ")[0])
    leaky = run_design(data, everything, labelled, (BASELINE, chosen_config), settings, seeds)
    print("\nSensitivity: family labels only (unlabelled LGPS rows may be trained on)")
    print(pool_line(leaky["summary"]))
    print(format_table(result_rows(leaky["summary"], chosen), HEADERS))

    frame = data.frame
    report = {
        "benchmark": "rediscovery",
        "quick": args.quick,
        "versions": software_versions(),
        "data": {"dataset": "obelix", "data_hash": data_hash(frame),
                 "rows": len(frame), "held_out_rows": int(held.sum()),
                 "held_out_by_label": int(labelled.sum()),
                 "held_out_by_l1_rule": frame.loc[held & ~labelled, "formula"].tolist()},
        "settings": {**vars(settings), "held_out_families": list(HELD_OUT_FAMILIES),
                     "hit_log10_S_cm": HIT_LOG10, "top_fraction": TOP_FRACTION,
                     "pool_doi_fraction": POOL_DOI_FRACTION, "near_l1": NEAR_L1,
                     "enrichment_goal": ENRICHMENT_GOAL,
                     "configurations": [vars(c) for c in CONFIGS],
                     "scores": {"mean": "predicted mean log10(sigma)",
                                "p_hit": "P(log10 sigma > -3) under N(mean, std)"}},
        "selection": {"chosen": chosen, "tied_on_validation": ties,
                      "rule": "highest pooled mean enrichment on the validation protocol "
                      "(ties: first in configuration order); the test families were not used"},
        "validation": validated,
        "test": test,
        "sensitivity_labels_only": leaky,
        "runtime": clock.elapsed(),
    }
    output = Path(args.output)
    write_json_atomic(report, output)
    print(f"\nwrote {output} ({report['runtime']['wall_s']:.0f} s wall, "
          f"{report['runtime']['cpu_s']:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
