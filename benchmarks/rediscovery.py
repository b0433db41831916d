"""Leave-family-out rediscovery on OBELiX: which acquisition score should ``matgenome rank``
and ``matgenome screen`` use by default to put unseen fast Li-ion conductors on top?

The model under test is the project's default conductivity model,
``get_recipe("obelix").make_model(...)`` (a ``CalibratedTreesRegressor``) on the recipe's
features, wrapped as ``matgenome train`` wraps it in a
:class:`~matgenome.models.fallback.DistanceFallbackRegressor` (where the model is unsure
far from the training data its interval widens towards the training distribution; groups
for the fallback's near-data folds are the papers); the same model without the fallback
(``recipe, no fallback``) and with the fallback that also moves the prediction towards the
training median (``recipe, fallback mean``) are reported beside it and never selected.
Its ``predict_uncertainty`` mean and total std (``uncertainty``) feed five scores of
``matgenome.ranking.acquisition_scores`` (objective ``"max"``):

* ``mean``: the predicted log10(sigma / S cm-1);
* ``probability``: P(log10 sigma > -3) = P(sigma > 1 mS/cm), the default of ``screen``;
* ``ei``: expected improvement over ``best`` = the best measured training composition;
* ``ucb``: mean + 2 std;
* ``mli``: P(log10 sigma > best).

The baseline is a plain scikit-learn ``RandomForestRegressor(500)`` on ``magpie`` features,
ranked by its mean. Both models are fitted with the same seed on the same compositions.

Design (``run_design``; every choice is fixed before any score is seen):

* Test families: ``argyrodite``, ``LGPS``, ``thio-LISICON``. OBELiX leaves some rows without
  a family label, including four Li10(Ge,Sn)P2S12 compositions that are LGPS by any
  definition, so every row whose atomic-fraction vector lies within L1 distance 0.05 of a
  family row is held out with the family (the L1 rule; the nearest row beyond that,
  Li4P2S6 / Li7P3S11 at 0.083, is a different phase and stays).
* Pool, per random seed: (a) the held-out compositions; (b) every other composition reported
  by a paper (DOI) that reports a held-out row, since that paper cannot be trained on; (c)
  whole papers drawn at random from the rest, one at a time, until (b) + (c) hold at least
  ``DECOY_RATIO`` (1.0) times as many compositions as (a). (b) and (c) are the "other Li
  compositions": OBELiX is all Li conductors, so every one contains Li (checked). The counts
  of (a), (b), the pool, its hits, base rate and ceiling are printed per design; (b) turns
  out empty for every family used here (those papers report only family members).
* Training: every other uncensored row, except compositions that also occur in the pool.
  So no paper and no composition is on both sides.
* One candidate per reduced composition (``composition_labels``). Training targets and hit
  labels use the mean of a composition's uncensored log10(sigma). A pool composition is a
  hit when that mean is >= -3 (sigma >= 1e-3 S/cm); compositions with only censored rows
  (``<1E-10``) stay in the pool as known non-hits.
* Metrics on the top 10% (ceil(0.1 n)) of each ranking, ties broken at random: hit rate;
  enrichment = hit rate in the top / base rate (hit rate of the pool); ceiling =
  min(hits, k) / k / base rate, the best any ranking of the pool can reach; recall of all
  hits and of the held-out-family hits. Mean ± std (ddof=1) over the pools.

Selection without the test families: the same design on the data without the test
families' papers, with NASICON, perovskite and garnet each held out in turn. These oxide
families have few compositions at sigma >= 1e-3 S/cm (4 to 5 each), so a validation hit is
a composition in the pool's own top decile of measured log10(sigma) (threshold = the 90th
percentile of the pool's measured compositions); the sigma >= 1e-3 S/cm result is reported
beside it. The ``probability`` score keeps its threshold -3 there: it is the score whose
default use is being judged. The recommended default is the score with the highest mean
top-decile enrichment pooled over the validation pools; its test result is then reported
and compared pool by pool with the plain random forest (the project's target: at least the
random forest's enrichment).

Sensitivity (reported, never used for a choice): the test design with the family labels
alone deciding what is held out, i.e. without the L1 rule. It lets the unlabelled LGPS rows
into training and shows how much a leak of near-duplicates changes the result.

Usage: ``python benchmarks/rediscovery.py [--quick] [--seeds N] [--val-seeds N]
[--seed S] [--output PATH]``. Writes ``benchmarks/results/rediscovery.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _common import (
    RESULTS_DIR,
    Stopwatch,
    composition_labels,
    fmt_mean_std,
    format_table,
    mean_std,
    software_versions,
    write_json_atomic,
)
from sklearn.ensemble import RandomForestRegressor
from task_recipes import get_recipe

from matgenome.datasets import load
from matgenome.evaluation import table_hash
from matgenome.features import compute_features
from matgenome.models.fallback import DistanceFallbackRegressor
from matgenome.ranking import acquisition_scores, order_by_score

RECIPE = "obelix"
TEST_FAMILIES: tuple[str, ...] = ("argyrodite", "LGPS", "thio-LISICON")
VALIDATION_FAMILIES: tuple[str, ...] = ("NASICON", "perovskite", "garnet")
HIT_LOG10 = -3.0
TOP_FRACTION = 0.10
DECOY_RATIO = 1.0
NEAR_L1 = 0.05
KAPPA = 2.0
SCORES: tuple[str, ...] = ("mean", "probability", "ei", "ucb", "mli")
BASELINE = "RF magpie | mean"
# The shipped model's form (distance fallback) is selected from; the model without it is
# reported beside it.
RECIPE_LABEL, UNWRAPPED_LABEL = "recipe", "recipe, no fallback"
SHIFTED_LABEL = "recipe, fallback mean"
# Hit definitions: sigma >= 1e-3 S/cm, and the pool's own top decile (oxide validation).
HIT_SIGMA, HIT_DECILE = "sigma>=1e-3", "top_decile"


@dataclass(frozen=True)
class Settings:
    """Everything a run depends on besides the data and the code."""

    seeds: int = 10
    val_seeds: int = 5
    seed: int = 0
    n_estimators: int = 500


QUICK = Settings(seeds=2, val_seeds=1, n_estimators=20)


@dataclass
class Data:
    """OBELiX rows with composition keys, element fractions and the two feature matrices."""

    frame: pd.DataFrame
    fractions: np.ndarray
    recipe_X: np.ndarray
    magpie_X: np.ndarray


@dataclass
class Candidates:
    """Rows grouped by composition: a representative row, target, measured mean, held flag."""

    row: np.ndarray
    target: np.ndarray
    measured: np.ndarray
    held: np.ndarray


# ------------------------------------------------------------------------------ data


def load_data() -> Data:
    """OBELiX with composition keys, atomic fractions, recipe and magpie features."""
    frame = load("obelix")
    frame["key"] = composition_labels(frame["formula"])
    formulas = frame["formula"].tolist()
    fractions, errors = compute_features(formulas, "element_fraction")
    if any(errors):
        raise RuntimeError(f"featurization failed: {next(e for e in errors if e)}")
    magpie, _ = compute_features(formulas, "magpie")
    # NaN descriptor rows are kept: the recipe model imputes them, and the plain forest
    # gets the same median imputation below so both rank every candidate.
    return Data(frame, fractions, get_recipe(RECIPE).featurize(formulas), magpie)


def has_lithium(frame: pd.DataFrame) -> np.ndarray:
    """Rows whose composition contains Li (all of OBELiX; checked, not assumed)."""
    # Labels are "El<fraction>" tokens (``composition_labels``), e.g. "La0.125 Li0.291667 O0.5".
    return np.array([any(re.fullmatch(r"Li[0-9.e-]+", token) for token in key.split())
                     for key in frame["key"]])


def near_rows(fractions: np.ndarray, members: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Mask over ``candidates`` rows within L1 < NEAR_L1 of any ``members`` row."""
    if not members.any():
        return np.zeros(int(candidates.sum()), dtype=bool)
    distance = np.abs(fractions[candidates][:, None, :] - fractions[members][None, :, :])
    return distance.sum(axis=2).min(axis=1) < NEAR_L1


def held_mask(data: Data, rows: np.ndarray, families: Sequence[str]) -> np.ndarray:
    """Rows (within ``rows``) of the held-out families plus their L1 near-duplicates."""
    held = data.frame["family"].isin(list(families)).to_numpy(bool) & rows
    held[rows] |= near_rows(data.fractions, held, rows)
    return held


def split(data: Data, rows: np.ndarray, held: np.ndarray,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and pool row masks within ``rows`` (see the module docstring)."""
    frame = data.frame
    doi, key = frame["doi"].astype(str).to_numpy(), frame["key"].to_numpy()
    held_keys = set(key[held])
    pool_dois = set(doi[held])
    decoys = set(key[rows & np.isin(doi, list(pool_dois))]) - held_keys
    others = np.array(sorted(set(doi[rows]) - pool_dois))
    # Whole papers, in random order, until the decoys reach the ratio: paper groups stay
    # intact and the pool's size and base rate vary little between seeds.
    for paper in rng.permutation(others):
        if len(decoys) >= DECOY_RATIO * len(held_keys):
            break
        pool_dois.add(paper)
        decoys |= set(key[rows & (doi == paper)]) - held_keys
    pool = rows & np.isin(doi, list(pool_dois))
    train = (rows & ~pool & ~np.isin(key, list(set(key[pool])))
             & frame["censor"].eq("").to_numpy())
    return train, pool


def group(data: Data, mask: np.ndarray, held: np.ndarray) -> Candidates:
    """One candidate per composition: mean uncensored log10(sigma) and the held flag.

    ``measured`` is NaN for a composition with only censored rows (a known non-hit); its
    ``target`` is then its lowest bound.
    """
    frame = data.frame
    rows = np.flatnonzero(mask)
    censored = frame["censor"].ne("").to_numpy()[rows]
    values = frame["target"].to_numpy(float)[rows]
    table = pd.DataFrame({"row": rows, "key": frame["key"].to_numpy()[rows],
                          "exact": np.where(censored, np.nan, values), "bound": values,
                          "held": held[rows]})
    grouped = table.groupby("key", sort=True)
    exact = grouped["exact"].mean()
    return Candidates(row=grouped["row"].first().to_numpy(),
                      target=exact.fillna(grouped["bound"].min()).to_numpy(),
                      measured=exact.to_numpy(), held=grouped["held"].any().to_numpy(bool))


def hit_masks(pool: Candidates) -> dict[str, np.ndarray]:
    """Hits by sigma >= 1e-3 S/cm and by the pool's top decile of measured log10(sigma)."""
    measured = np.nan_to_num(pool.measured, nan=-np.inf)
    decile = float(np.nanquantile(pool.measured, 0.9))
    return {HIT_SIGMA: measured >= HIT_LOG10, HIT_DECILE: measured >= decile}


# ---------------------------------------------------------------------------- models


def recipe_scores(data: Data, train: Candidates, pool: Candidates, n_estimators: int,
                  seed: int) -> dict[str, np.ndarray]:
    """Fit the default conductivity model with its fallback (``recipe``: the interval
    widens far from the data, as ``matgenome train`` builds it), without it and with the
    fallback that also moves the mean; score the pool by every score of ``SCORES``."""
    factory: Callable[..., Any] = get_recipe(RECIPE).make_model
    doi = data.frame["doi"].astype(str).to_numpy()
    models = {
        RECIPE_LABEL: DistanceFallbackRegressor(
            factory(random_state=seed, n_jobs=1, n_estimators=n_estimators),
            shift_mean=False, random_state=seed, n_jobs=1),
        UNWRAPPED_LABEL: factory(random_state=seed, n_jobs=1, n_estimators=n_estimators),
        SHIFTED_LABEL: DistanceFallbackRegressor(
            factory(random_state=seed, n_jobs=1, n_estimators=n_estimators),
            shift_mean=True, random_state=seed, n_jobs=1),
    }
    best = float(train.target.max())  # the best measured training composition
    scores = {}
    for label, model in models.items():
        if isinstance(model, DistanceFallbackRegressor):
            model.fit(data.recipe_X[train.row], train.target, groups=doi[train.row])
        else:
            model.fit(data.recipe_X[train.row], train.target)
        parts = model.predict_uncertainty(data.recipe_X[pool.row])
        scores.update({f"{label} | {name}": acquisition_scores(
            name, parts["mean"], parts["uncertainty"], "max", best=best, kappa=KAPPA,
            threshold=HIT_LOG10) for name in SCORES})
    return scores


def baseline_scores(data: Data, train: Candidates, pool: Candidates, n_estimators: int,
                    seed: int) -> dict[str, np.ndarray]:
    """Plain scikit-learn random forest on magpie (train-median imputed), by its mean."""
    X_train, X_pool = data.magpie_X[train.row], data.magpie_X[pool.row]
    median = np.nan_to_num(np.nanmedian(X_train, axis=0))
    X_train = np.where(np.isnan(X_train), median, X_train)
    X_pool = np.where(np.isnan(X_pool), median, X_pool)
    model = RandomForestRegressor(n_estimators=n_estimators, random_state=seed, n_jobs=1)
    return {BASELINE: model.fit(X_train, train.target).predict(X_pool)}


def top_metrics(scores: np.ndarray, pool: Candidates, hits: np.ndarray,
                rng: np.random.Generator) -> dict[str, float]:
    """Hit rate, enrichment and recalls of the top 10% of a ranking."""
    n = scores.size
    k = math.ceil(TOP_FRACTION * n)
    top = order_by_score(scores, tie_breaker=rng.random(n))[:k]
    n_hits, held_hits = int(hits.sum()), int((hits & pool.held).sum())
    in_top = int(hits[top].sum())
    return {
        "hits_in_top": in_top, "hit_rate_top": in_top / k,
        "enrichment": (in_top / k) / (n_hits / n) if n_hits else math.nan,
        "recall": in_top / n_hits if n_hits else math.nan,
        "held_family_recall": (int((hits & pool.held)[top].sum()) / held_hits
                               if held_hits else math.nan),
    }


def pool_stats(train: Candidates, pool: Candidates, hits: dict[str, np.ndarray],
               same_paper: int) -> dict[str, Any]:
    """Sizes, hits, base rate and ceiling of one split, per hit definition."""
    n = pool.target.size
    k = math.ceil(TOP_FRACTION * n)
    out: dict[str, Any] = {"train_compositions": int(train.target.size),
                           "pool_compositions": n, "top_k": k,
                           "pool_held_compositions": int(pool.held.sum()),
                           "pool_same_paper_compositions": same_paper,
                           "best_training_log10": float(train.target.max())}
    for name, mask in hits.items():
        count = int(mask.sum())
        out[name] = {"hits": count, "held_hits": int((mask & pool.held).sum()),
                     "base_rate": count / n,
                     "ceiling": (min(count, k) / k) / (count / n) if count else math.nan}
    return out


# --------------------------------------------------------------------------- protocol


def run_pool(data: Data, rows: np.ndarray, held: np.ndarray, settings: Settings,
             seed_words: Sequence[int]) -> dict[str, Any]:
    """One random pool: split, fit both models with one seed, every score's metrics."""
    rng = np.random.default_rng(list(seed_words))
    train_mask, pool_mask = split(data, rows, held, rng)
    train, pool = group(data, train_mask, held), group(data, pool_mask, held)
    hits = hit_masks(pool)
    model_seed = int(rng.integers(2**31 - 1))
    scores = {**recipe_scores(data, train, pool, settings.n_estimators, model_seed),
              **baseline_scores(data, train, pool, settings.n_estimators, model_seed)}
    formulas = data.frame["formula"].to_numpy()[pool.row]
    results = {name: {hit: top_metrics(values, pool, mask, rng)
                      for hit, mask in hits.items()} for name, values in scores.items()}
    top = {name: formulas[order_by_score(values)[:10]].tolist()
           for name, values in scores.items()}
    return {"seed": list(seed_words), **pool_stats(train, pool, hits, same_paper(data, pool)),
            "results": results,
            "top10_formulas": top}


def same_paper(data: Data, pool: Candidates) -> int:
    """Pool compositions outside the held-out set reported by a paper of a held-out row."""
    doi = data.frame["doi"].astype(str).to_numpy()
    held_dois = {d for d, held in zip(doi[pool.row], pool.held, strict=True) if held}
    frame = data.frame
    rows = np.isin(doi, list(held_dois)) & frame["key"].isin(
        frame["key"].to_numpy()[pool.row[~pool.held]]).to_numpy()
    return int(frame.loc[rows, "key"].nunique())


def run_design(data: Data, rows: np.ndarray, held: np.ndarray, settings: Settings,
               seeds: Sequence[Sequence[int]]) -> dict[str, Any]:
    """Every score on one pool per seed; per-seed records and mean ± std summaries."""
    per_seed = [run_pool(data, rows, held, settings, words) for words in seeds]
    return {"per_seed": per_seed, "summary": summarise(per_seed)}


def summarise(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over pools of the pool statistics and of every metric."""
    out: dict[str, Any] = {key: mean_std([r[key] for r in per_seed]) for key in
                           ("train_compositions", "pool_compositions", "top_k",
                            "pool_held_compositions", "pool_same_paper_compositions",
                            "best_training_log10")}
    for hit in (HIT_SIGMA, HIT_DECILE):
        out[hit] = {key: mean_std([r[hit][key] for r in per_seed])
                    for key in ("hits", "held_hits", "base_rate", "ceiling")}
    metrics = ("enrichment", "hit_rate_top", "recall", "held_family_recall")
    out["results"] = {
        name: {hit: {m: mean_std([r["results"][name][hit][m] for r in per_seed])
                     for m in metrics} for hit in (HIT_SIGMA, HIT_DECILE)}
        for name in per_seed[0]["results"]
    }
    out["vs_baseline"] = paired_vs(per_seed)
    return out


def paired_vs(per_seed: list[dict[str, Any]], reference: str = BASELINE) -> dict[str, Any]:
    """Per score: enrichment minus ``reference``'s on the same pool (both hit definitions)."""
    out: dict[str, Any] = {}
    for name in per_seed[0]["results"]:
        out[name] = {}
        for hit in (HIT_SIGMA, HIT_DECILE):
            diffs = [r["results"][name][hit]["enrichment"]
                     - r["results"][reference][hit]["enrichment"] for r in per_seed]
            out[name][hit] = {**mean_std(diffs),
                              "pools_at_least_baseline": int(sum(d >= -1e-12 for d in diffs)),
                              "pools": len(diffs)}
    return out


def validation(data: Data, test_held: np.ndarray, settings: Settings) -> dict[str, Any]:
    """The design on data without the test families' papers, each validation family held."""
    doi = data.frame["doi"].astype(str).to_numpy()
    development = ~np.isin(doi, list(set(doi[test_held]))) & has_lithium(data.frame)
    designs = {}
    for index, family in enumerate(VALIDATION_FAMILIES):
        held = held_mask(data, development, (family,))
        seeds = [(settings.seed, 1, index, s) for s in range(settings.val_seeds)]
        designs[family] = run_design(data, development, held, settings, seeds)
    pooled = [r for d in designs.values() for r in d["per_seed"]]
    return {"families": list(VALIDATION_FAMILIES), "development_rows": int(development.sum()),
            "by_family": {f: d["summary"] for f, d in designs.items()},
            "per_seed": {f: d["per_seed"] for f, d in designs.items()},
            "pooled": summarise(pooled)}


def select(validated: dict[str, Any]) -> tuple[str, list[str]]:
    """The recipe score with the highest pooled mean validation enrichment (top decile).

    Returns it and every score within 1e-9 of it (ties go to the first in ``SCORES``).
    """
    results = validated["pooled"]["results"]
    enrichment = {name: results[name][HIT_DECILE]["enrichment"]["mean"]
                  for name in results if name.startswith(f"{RECIPE_LABEL} |")}
    best = max(enrichment, key=enrichment.__getitem__)
    ties = [n for n, v in enrichment.items() if math.isclose(v, enrichment[best], abs_tol=1e-9)]
    return best, ties


# ----------------------------------------------------------------------------- output

HEADERS = ("model | score", "enrichment", "hit rate top 10%", "recall",
           "held-family recall", "minus RF (paired)", "pools >= RF")


def result_rows(summary: dict[str, Any], hit: str, mark: str = "") -> list[list[str]]:
    """One table row per model | score, for one hit definition."""
    rows = []
    for name, by_hit in summary["results"].items():
        metrics, paired = by_hit[hit], summary["vs_baseline"][name][hit]
        rows.append([name + (" *" if name == mark else ""),
                     fmt_mean_std(metrics["enrichment"]),
                     fmt_mean_std(metrics["hit_rate_top"]),
                     fmt_mean_std(metrics["recall"]),
                     fmt_mean_std(metrics["held_family_recall"]),
                     fmt_mean_std(paired),
                     f"{paired['pools_at_least_baseline']}/{paired['pools']}"])
    return rows


def pool_line(summary: dict[str, Any], hit: str) -> str:
    """One line describing the pools of a design under one hit definition."""
    stats = summary[hit]
    return (f"train {fmt_mean_std(summary['train_compositions'], 0)} compositions; pool "
            f"{fmt_mean_std(summary['pool_compositions'], 0)} "
            f"({fmt_mean_std(summary['pool_held_compositions'], 0)} held-out, "
            f"{fmt_mean_std(summary['pool_same_paper_compositions'], 0)} others from their "
            f"papers), top "
            f"{fmt_mean_std(summary['top_k'], 0)}; hits [{hit}] "
            f"{fmt_mean_std(stats['hits'], 1)} ({fmt_mean_std(stats['held_hits'], 1)} "
            f"held-out); base rate {fmt_mean_std(stats['base_rate'], 3)}; ceiling "
            f"{fmt_mean_std(stats['ceiling'])}x")


def feature_hash(*matrices: np.ndarray) -> str:
    """SHA-256 of feature matrices, so a run records which featurizer output it used."""
    digest = hashlib.sha256()
    for matrix in matrices:
        digest.update(np.ascontiguousarray(matrix, dtype=np.float64).tobytes())
    return digest.hexdigest()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny settings for a smoke test (numbers are meaningless)")
    parser.add_argument("--seeds", type=int, default=None,
                        help="random test pools (default 10)")
    parser.add_argument("--val-seeds", type=int, default=None,
                        help="random pools per validation family (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "rediscovery.json",
                        help="JSON path")
    return parser.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    """``Settings`` (or ``QUICK``) with the command-line overrides applied."""
    base = QUICK if args.quick else Settings()
    overrides = {"seeds": args.seeds, "val_seeds": args.val_seeds, "seed": args.seed}
    return Settings(**{**vars(base), **{k: v for k, v in overrides.items() if v is not None}})


def print_design(title: str, summary: dict[str, Any], hits: Sequence[str], mark: str) -> None:
    """Pool lines and the table of every score for each hit definition."""
    for hit in hits:
        print(f"\n{title} — hits: {hit}")
        print(pool_line(summary, hit))
        print(format_table(result_rows(summary, hit, mark), HEADERS))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clock = Stopwatch()
    settings = settings_from(args)
    data = load_data()
    lithium = has_lithium(data.frame)
    if not lithium.all():
        print(f"note: {int((~lithium).sum())} rows without Li are left out of every pool")
    held = held_mask(data, lithium, TEST_FAMILIES)
    by_label = data.frame["family"].isin(list(TEST_FAMILIES)).to_numpy(bool)

    validated = validation(data, held, settings)
    chosen, ties = select(validated)
    val_pools = [r for runs in validated["per_seed"].values() for r in runs]
    chosen_vs_others = paired_vs(val_pools, chosen)
    print(f"Validation: {', '.join(VALIDATION_FAMILIES)} each held out "
          f"({settings.val_seeds} pools each; test families' papers removed; * = selected)")
    print_design("Validation, pooled", validated["pooled"], (HIT_DECILE, HIT_SIGMA), chosen)

    seeds = [(settings.seed, 0, s) for s in range(settings.seeds)]
    test = run_design(data, lithium, held, settings, seeds)
    print_design(f"Test: rediscovery of {', '.join(TEST_FAMILIES)} ({settings.seeds} pools)",
                 test["summary"], (HIT_SIGMA,), chosen)

    leaky = run_design(data, lithium, by_label & lithium, settings, seeds)
    print_design("Sensitivity, family labels only (leaky: the unlabelled LGPS rows can be "
                 "trained on; not used for any choice)", leaky["summary"], (HIT_SIGMA,), chosen)

    paired = test["summary"]["vs_baseline"][chosen][HIT_SIGMA]
    test_results = test["summary"]["results"]
    test_best = max((n for n in test_results if n.startswith(f"{RECIPE_LABEL} |")),
                    key=lambda n: test_results[n][HIT_SIGMA]["enrichment"]["mean"])
    meets = paired["mean"] >= 0
    print(f"\nselected on validation: {chosen} (ties: {', '.join(ties)}); best on test: "
          f"{test_best}; selected minus RF on test pools: {fmt_mean_std(paired)} "
          f"({paired['pools_at_least_baseline']}/{paired['pools']} pools >= RF) -> target "
          f"{'met' if meets else 'NOT met'}")

    frame = data.frame
    report = {
        "benchmark": "rediscovery",
        "quick": args.quick,
        "versions": software_versions(),
        "data": {"dataset": "obelix", "table_hash": table_hash(frame),
                 "feature_hash": feature_hash(data.recipe_X, data.magpie_X),
                 "rows": len(frame), "li_rows": int(lithium.sum()),
                 "held_out_rows": int(held.sum()), "held_out_by_label": int(by_label.sum()),
                 "held_out_by_l1_rule": frame.loc[held & ~by_label, "formula"].tolist()},
        "settings": {**vars(settings), "recipe": RECIPE,
                     "test_families": list(TEST_FAMILIES),
                     "validation_families": list(VALIDATION_FAMILIES),
                     "hit_log10_S_cm": HIT_LOG10, "top_fraction": TOP_FRACTION,
                     "decoy_ratio": DECOY_RATIO, "near_l1": NEAR_L1, "kappa": KAPPA,
                     "scores": list(SCORES), "baseline": BASELINE,
                     "ei_mli_best": "best measured training composition (log10 S/cm)",
                     "probability_threshold_log10": HIT_LOG10},
        "selection": {"chosen": chosen, "tied_on_validation": ties,
                      "rule": "highest pooled mean top-decile enrichment on the validation "
                      "families (ties: first in SCORES order); the test families were not "
                      "used",
                      "validation_others_minus_chosen": chosen_vs_others,
                      "best_on_test": test_best, "chosen_minus_baseline_on_test": paired,
                      "target_met": bool(meets)},
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
