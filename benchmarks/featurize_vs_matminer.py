"""Time matgenome's featurizers against matminer's, side by side, and check they agree.

Usage::

    python benchmarks/featurize_vs_matminer.py [--n N] [--matminer-n M] [--quick]

Compositions: every OBELiX and Matbench formula plus random generated formulas, all
distinct (so matgenome's per-string cache gives it no advantage). For each
matminer-equivalent preset, matminer's ``featurize_many`` (``set_n_jobs(1)``, on
pymatgen ``Composition`` objects parsed beforehand) and matgenome's ``compute_features``
run on the same M compositions in the same process; the speed ratio compares them on
those compositions, and the maximum absolute difference is checked there too. matgenome
is also timed end to end from strings on N distinct formulas. A profile of the string path
(pymatgen ``Composition(str)``, ``parse_composition``, the fast parser, and the feature
arithmetic) shows where the time goes.

Results are printed as a table and written to
``benchmarks/results/featurize_vs_matminer.json`` (atomically; NaN becomes null).
"""

from __future__ import annotations

import os

# One core: keep any threaded numerical library from fanning out.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pymatgen.core.composition  # noqa: E402
from _common import software_versions, write_json_atomic  # noqa: E402
from formula_samples import random_formulas, shipped_formulas  # noqa: E402
from matminer.featurizers.composition import (  # noqa: E402
    ElementFraction,
    ElementProperty,
    IonProperty,
    Stoichiometry,
    ValenceOrbital,
)
from pymatgen.core import Composition  # noqa: E402

from matgenome.composition import parse_composition  # noqa: E402
from matgenome.composition_arrays import encode, fast_parse  # noqa: E402
from matgenome.features import compute_features  # noqa: E402
from matgenome.features._elements import Z_OF, guesser_oxidation_states  # noqa: E402
from matgenome.features.api import compute_blocks  # noqa: E402
from matgenome.features.presets import resolve_preset  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "featurize_vs_matminer.json"
FACTORIES: dict[str, Callable[[], object]] = {
    "magpie": lambda: ElementProperty.from_preset("magpie"),
    "stoichiometry": Stoichiometry,
    "valence_orbital": ValenceOrbital,
    "ion_property": IonProperty,
    "element_fraction": ElementFraction,
}
# pymatgen's oxidation-state guesser (behind IonProperty) enumerates every multiset of
# states and can take tens of seconds on one intermetallic; matminer is timed on the
# compositions below this estimated work, which favours matminer.
GUESSER_WORK_LIMIT = 2_000
TOLERANCE = 1e-9


def guesser_work(composition: Composition) -> float:
    """Rough number of steps of pymatgen's ``oxi_state_guesses`` on a composition."""
    amounts = composition.get_el_amt_dict()
    if len(amounts) < 2 or any(a != int(a) for a in amounts.values()):
        return 0.0
    states = guesser_oxidation_states()
    combos, product = 0.0, 1.0
    for symbol, amount in amounts.items():
        own = states[Z_OF[symbol]]
        n, s = int(amount), max(len(own), 1)
        combos += math.comb(n + s - 1, s - 1) * n
        product *= n * (max(own, default=0) - min(own, default=0)) + 1
    return combos + product


def clear_pymatgen_cache() -> None:
    """Forget pymatgen's memoised formula parses, so repeated strings cost what new do."""
    cached = getattr(pymatgen.core.composition, "_parse_formula_cached", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()


def timed(function: Callable[[], object], repeats: int = 1) -> tuple[float, float, object]:
    """Median wall and CPU seconds of ``repeats`` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


def formula_pool(n_random: int, seed: int) -> list[str]:
    """Distinct formulas: the shipped datasets followed by random generated ones."""
    shipped = shipped_formulas()
    extra = [f for f in random_formulas(n_random + 1000, seed=seed) if f not in set(shipped)]
    return shipped + extra[:n_random]


def matminer_values(preset: str, compositions: list[Composition]) -> np.ndarray:
    featurizer = FACTORIES[preset]()
    featurizer.set_n_jobs(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rows = featurizer.featurize_many(compositions, ignore_errors=True, pbar=False)
    return np.array(rows, dtype=float).reshape(len(compositions), -1)


def compare(preset: str, ours: np.ndarray, reference: np.ndarray) -> dict[str, object]:
    """Maximum absolute difference and NaN agreement where matminer gives a value."""
    if preset == "ion_property":
        # matminer raises (NaN row) for non-integer amounts; matgenome still computes
        # those rows (documented in matgenome/features/ion.py), so compare the others.
        defined = ~np.isnan(reference).all(axis=1)
        ours, reference = ours[defined], reference[defined]
    same_nan = bool(np.array_equal(np.isnan(ours), np.isnan(reference)))
    both = ~np.isnan(ours) & ~np.isnan(reference)
    difference = float(np.abs(ours - reference)[both].max(initial=0.0))
    return {
        "rows_compared": int(ours.shape[0]),
        "max_abs_diff": difference,
        "nan_pattern_equal": same_nan,
        "equivalent": same_nan and difference <= TOLERANCE,
    }


def bench_preset(
    preset: str, formulas: list[str], compositions: list[Composition], repeats: int
) -> dict[str, object]:
    """matminer and matgenome on the same compositions."""
    mm_wall, mm_cpu, reference = timed(lambda: matminer_values(preset, compositions))
    compute_features(formulas[:50], preset)  # warm caches and tables
    comp_wall, comp_cpu, (ours_c, _) = timed(
        lambda: compute_features(compositions, preset), repeats
    )
    str_wall, str_cpu, (ours_s, _) = timed(lambda: compute_features(formulas, preset), repeats)
    assert np.array_equal(ours_c, ours_s, equal_nan=True)
    n = len(formulas)
    clear_pymatgen_cache()
    parse_wall, _, _ = timed(lambda: [parse_composition(f) for f in formulas])
    return {
        "n": n,
        "matminer_rate": n / mm_wall,
        "matminer_rate_cpu": n / mm_cpu,
        "matminer_rate_from_strings": n / (mm_wall + parse_wall),
        "matgenome_rate_compositions": n / comp_wall,
        "matgenome_rate_compositions_cpu": n / comp_cpu,
        "matgenome_rate_strings": n / str_wall,
        "matgenome_rate_strings_cpu": n / str_cpu,
        "ratio_compositions": mm_wall / comp_wall,
        "ratio_compositions_cpu": mm_cpu / comp_cpu,
        "ratio_strings_end_to_end": (mm_wall + parse_wall) / str_wall,
        **compare(preset, ours_c, reference),
    }


def profile_string_path(formulas: list[str], repeats: int) -> dict[str, float]:
    """Microseconds per formula of each stage of string -> magpie features.

    Uses the formulas of the fast path (plain formulas, which raw pymatgen also reads), so
    each stage is timed on the same strings.
    """
    coverage = sum(fast_parse(f) is not None for f in formulas) / len(formulas)
    formulas = [f for f in formulas if fast_parse(f) is not None]
    n = len(formulas)
    clear_pymatgen_cache()
    pmg, _, _ = timed(lambda: [Composition(f) for f in formulas])
    clear_pymatgen_cache()
    reference, _, _ = timed(lambda: [parse_composition(f) for f in formulas])
    fast, _, _ = timed(lambda: [fast_parse(f) for f in formulas], repeats)
    encode_wall, _, encoded = timed(lambda: encode(formulas), repeats)
    blocks = resolve_preset("magpie")
    compute_wall, _, _ = timed(lambda: compute_blocks(encoded, blocks), repeats)
    return {
        "n": n,
        "pymatgen_Composition_us": 1e6 * pmg / n,
        "parse_composition_us": 1e6 * reference / n,
        "fast_parse_us": 1e6 * fast / n,
        "fast_parse_coverage": coverage,
        "encode_us": 1e6 * encode_wall / n,
        "magpie_arithmetic_us": 1e6 * compute_wall / n,
    }


def machine_info() -> dict[str, object]:
    info: dict[str, object] = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = list(os.getloadavg())
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000,
                        help="distinct formulas for matgenome's end-to-end string timing")
    parser.add_argument("--matminer-n", type=int, default=2000,
                        help="compositions timed with matminer (and matgenome) side by side")
    parser.add_argument("--random", type=int, default=5000,
                        help="random generated formulas added to OBELiX and Matbench")
    parser.add_argument("--repeats", type=int, default=3,
                        help="matgenome timings are the median of this many runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="small run: 300 matminer compositions, 20,000 formulas")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.quick:
        args.n = min(args.n, 20_000)
        args.matminer_n = min(args.matminer_n, 300)
        args.random = min(args.random, 1000)

    machine = machine_info()
    pool = formula_pool(args.random, args.seed)
    rng = np.random.default_rng(args.seed)
    subset = [pool[i] for i in sorted(rng.choice(len(pool), args.matminer_n, replace=False))]
    compositions = [parse_composition(f) for f in subset]

    presets: dict[str, dict[str, object]] = {}
    for preset in FACTORIES:
        chosen, chosen_comps = subset, compositions
        if preset == "ion_property":
            keep = [i for i, c in enumerate(compositions) if guesser_work(c) <= GUESSER_WORK_LIMIT]
            chosen = [subset[i] for i in keep]
            chosen_comps = [compositions[i] for i in keep]
        presets[preset] = bench_preset(preset, chosen, chosen_comps, args.repeats)
        print(f"  {preset}: done", file=sys.stderr, flush=True)

    # End-to-end strings on a larger set of distinct formulas.
    large = pool + random_formulas(max(0, args.n - len(pool)) + len(pool), seed=args.seed + 1)
    large = list(dict.fromkeys(large))[: args.n]
    compute_features(large[:100])
    large_wall, large_cpu, (values, errors) = timed(lambda: compute_features(large), 1)
    large_result = {
        "n": len(large),
        "preset": "magpie",
        "rate_strings": len(large) / large_wall,
        "rate_strings_cpu": len(large) / large_cpu,
        "failed_rows": sum(1 for e in errors if e),
        "shape": list(values.shape),
    }
    profile = profile_string_path(subset, args.repeats)

    if hasattr(os, "getloadavg"):
        machine["load_average_at_end"] = list(os.getloadavg())
    payload = {
        "benchmark": "featurize_vs_matminer",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "versions": software_versions(),
        "machine": machine,
        "settings": {
            "quick": args.quick,
            "matminer_n": args.matminer_n,
            "pool_size": len(pool),
            "random_formulas": args.random,
            "repeats": args.repeats,
            "seed": args.seed,
            "ion_property_guesser_work_limit": GUESSER_WORK_LIMIT,
            "tolerance": TOLERANCE,
            "timing": "wall clock (perf_counter); matgenome median of repeats, matminer one "
            "run; *_cpu fields use process CPU time",
        },
        "presets": presets,
        "large": large_result,
        "profile_string_path_us_per_formula": profile,
    }
    write_json_atomic(payload, args.output)
    print_table(payload)
    print(f"\nwrote {args.output}")
    failed = [name for name, result in presets.items() if not result["equivalent"]]
    if failed:
        print(f"NOT EQUIVALENT: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def print_table(payload: dict) -> None:
    header = (f"{'preset':<17}{'n':>6}{'matminer/s':>12}{'ours comp/s':>13}{'ours str/s':>12}"
              f"{'ratio':>8}{'ratio e2e':>10}{'max|diff|':>11}  nan-equal")
    print(header)
    print("-" * len(header))
    for name, r in payload["presets"].items():
        print(f"{name:<17}{r['n']:>6}{r['matminer_rate']:>12,.0f}"
              f"{r['matgenome_rate_compositions']:>13,.0f}{r['matgenome_rate_strings']:>12,.0f}"
              f"{r['ratio_compositions']:>7.0f}x{r['ratio_strings_end_to_end']:>9.0f}x"
              f"{r['max_abs_diff']:>11.1e}  {r['nan_pattern_equal']}")
    large = payload["large"]
    print(f"\nmagpie end to end from strings, {large['n']:,} distinct formulas: "
          f"{large['rate_strings']:,.0f} formulas/s")
    profile = payload["profile_string_path_us_per_formula"]
    print("string path, us per formula: " + ", ".join(
        f"{k.removesuffix('_us')} {v:.2f}" for k, v in profile.items() if k.endswith("_us")))
    print(f"load average start/end: {payload['machine'].get('load_average_at_start')} / "
          f"{payload['machine'].get('load_average_at_end')}")


if __name__ == "__main__":
    sys.exit(main())
