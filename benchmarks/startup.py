"""Start-up cost of the command line, side by side with a plain scikit-learn script.

Times, in one run and interleaved (each repeat runs every command once, in turn), the
median wall-clock and CPU seconds (of the child process) of

* ``matgenome --version`` and ``matgenome --help``;
* ``matgenome predict`` on a 1-row CSV with the shipped default model;
* a plain script that joblib-loads the same fitted pipeline (dumped once to a temporary
  file), featurizes the row with the same matgenome featurizer and predicts;
* ``python -c pass``, the interpreter's own start-up, for reference.

and prints seconds and ratios (predict / plain script; --help and --version against the
0.2 s target). A second table compares, in this process, the CPU seconds of loading the
shipped model directory (``load_model``: hashes, JSON skeleton, trees) with unpickling the
same estimator with ``joblib.load``. Targets: --help/--version under 0.2 s; predict
within 1.2x of the plain script. Run: ``python benchmarks/startup.py`` (``--quick``: one
repeat, a smoke test).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import RESULTS_DIR, format_table, software_versions, write_json_atomic

FORMULA = "Li7La3Zr2O12"
PREDICT_RATIO_TARGET = 1.2
HELP_SECONDS_TARGET = 0.2

PLAIN_SCRIPT = '''\
import sys

import joblib

from matgenome.features import compute_features

pipeline = joblib.load(sys.argv[1])
X, errors = compute_features([sys.argv[2]], preset=pipeline[0].preset)
print(pipeline[-1].predict(X))
'''


def matgenome_command() -> list[str]:
    """The installed ``matgenome`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("matgenome")
    if script.exists():
        return [str(script)]
    found = shutil.which("matgenome")
    return [found] if found else [sys.executable, "-m", "matgenome"]


def prepare(workdir: Path) -> dict[str, list[str]]:
    """The 1-row input, the joblib dump of the default model's pipeline, and the commands."""
    import joblib

    from matgenome.modelfile import load_model

    row = workdir / "one_row.csv"
    row.write_text(f"formula\n{FORMULA}\n")
    dumped = workdir / "estimator.joblib"
    joblib.dump(load_model().estimator, dumped)
    script = workdir / "plain_predict.py"
    script.write_text(PLAIN_SCRIPT)
    cli = matgenome_command()
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "matgenome --version": [*cli, "--version"],
        "matgenome --help": [*cli, "--help"],
        "matgenome predict (1 row)": [*cli, "predict", str(row), "-o",
                                      str(workdir / "scored.csv"), "-q"],
        "joblib + featurize + predict": [sys.executable, str(script), str(dumped), FORMULA],
    }


def time_once(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={**os.environ, "PYTHONWARNINGS": "ignore"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(commands: dict[str, list[str]], repeats: int,
            warm_up: bool = True) -> dict[str, dict]:
    """Interleaved repeats (after one untimed warm-up run of each, to fill the disk cache)."""
    for command in commands.values() if warm_up else ():
        time_once(command)
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, command in commands.items():
            samples[name].append(time_once(command))
    return {name: {"wall_s": [round(w, 4) for w, _ in runs],
                   "cpu_s": [round(c, 4) for _, c in runs],
                   "median_wall_s": round(statistics.median(w for w, _ in runs), 4),
                   "median_cpu_s": round(statistics.median(c for _, c in runs), 4)}
            for name, runs in samples.items()}


def measure_loads(dumped: Path, repeats: int) -> dict[str, float]:
    """Median CPU seconds, in this process, of ``load_model()`` and of ``joblib.load`` of
    the same estimator (interleaved, after one untimed run of each)."""
    import joblib

    from matgenome.modelfile import load_model

    loaders = {"load_model (shipped directory)": load_model,
               "joblib.load (same estimator)": lambda: joblib.load(dumped)}
    samples: dict[str, list[float]] = {name: [] for name in loaders}
    for repeat in range(repeats + 1):
        for name, load in loaders.items():
            start = time.process_time()
            load()
            if repeat:
                samples[name].append(time.process_time() - start)
    return {name: round(statistics.median(runs), 4) for name, runs in samples.items()}


def summarise(timings: dict[str, dict]) -> dict[str, float | bool]:
    plain = timings["joblib + featurize + predict"]
    predict = timings["matgenome predict (1 row)"]
    ratios = {
        "predict_over_plain_wall": predict["median_wall_s"] / plain["median_wall_s"],
        "predict_over_plain_cpu": predict["median_cpu_s"] / plain["median_cpu_s"],
        "help_wall_s": timings["matgenome --help"]["median_wall_s"],
        "version_wall_s": timings["matgenome --version"]["median_wall_s"],
    }
    ratios = {k: round(v, 3) for k, v in ratios.items()}
    return {**ratios,
            "predict_target_met": ratios["predict_over_plain_wall"] <= PREDICT_RATIO_TARGET,
            "help_version_target_met": max(ratios["help_wall_s"],
                                           ratios["version_wall_s"]) < HELP_SECONDS_TARGET}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per command (7)")
    parser.add_argument("--quick", action="store_true",
                        help="1 repeat, no warm-up (smoke test; not a measurement)")
    parser.add_argument("--output", default=str(RESULTS_DIR / "startup.json"))
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as tmp:
        commands = prepare(Path(tmp))
        timings = measure(commands, repeats, warm_up=not args.quick)
        loads = measure_loads(Path(tmp) / "estimator.joblib", repeats)
    summary = summarise(timings)
    plain = timings["joblib + featurize + predict"]
    rows = [[name, f"{t['median_wall_s']:.3f}", f"{t['median_cpu_s']:.3f}",
             f"{t['median_wall_s'] / plain['median_wall_s']:.2f}"]
            for name, t in timings.items()]
    print(format_table(rows, ["command", "wall s (median)", "CPU s (median)",
                              "wall / plain script"]))
    print(format_table([[name, f"{cpu:.3f}"] for name, cpu in loads.items()],
                       ["model load, in process", "CPU s (median)"]))
    print(f"predict / plain script: {summary['predict_over_plain_wall']:.2f}x wall, "
          f"{summary['predict_over_plain_cpu']:.2f}x CPU (target {PREDICT_RATIO_TARGET}x); "
          f"--help {summary['help_wall_s']:.3f} s, --version {summary['version_wall_s']:.3f} s "
          f"(target < {HELP_SECONDS_TARGET} s)")
    report = {"benchmark": "startup", "quick": args.quick, "repeats": repeats,
              "formula": FORMULA, "versions": software_versions(),
              "cpu_count": os.cpu_count(), "load_average": list(os.getloadavg()),
              "commands": {name: " ".join(Path(c[0]).name if i == 0 else c
                                          for i, c in enumerate(cmd))
                           for name, cmd in commands.items()},
              "timings": timings, "load_cpu_s": loads, "summary": summary}
    path = write_json_atomic(report, args.output)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
