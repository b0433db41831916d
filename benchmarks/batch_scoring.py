"""Batch scoring at scale: rows/s on one core, on every core and on Dask, side by side.

Writes a table of N generated candidate formulas (a fraction of them garbage) per size and
scores it with ``matgenome predict`` and the shipped default model in child processes, one
run per setup, in turn:

* ``-j 1`` (one core) and ``-j -1`` (every core: forked workers);
* ``--scheduler local`` (a local Dask cluster of two single-threaded worker processes);
* ``--scheduler tcp://127.0.0.1:8786``: a loopback cluster started by this script as the
  README shows (``dask scheduler --host 127.0.0.1`` and two ``dask worker ... --nthreads 1``),
  bound to 127.0.0.1 only, stopped afterwards.

Every output is checked (one row per input row, in order, exactly the garbage rows
flagged) and compared byte for byte with the ``-j 1`` output. Peak memory is the largest
sum of the proportional set size (PSS, shared pages split between processes) of the
command's process tree, sampled every 0.2 s; for Dask the client only (workers are
separate services), with the workers' peak given apart. CPU seconds are given for the
client process and for the workers (its child processes; for the loopback cluster the
workers and the scheduler during the run), with the load average before and after each
setup: on a shared machine the CPU seconds say where the work went when wall-clock ratios
cannot. ``--profile`` writes where one core's time goes (cProfile of one in-process run) to
``results/batch_scoring_profile.txt``.

    python benchmarks/batch_scoring.py --rows 100000 1000000
    python benchmarks/batch_scoring.py --rows 100000 --setups j1 jall --profile
    python benchmarks/batch_scoring.py --rows 10000000 --garbage 0.001 --setups jall
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"
TEMPLATES = (
    "Li{a:.3f}La3Zr{b:.3f}Ta{c:.3f}O12",
    "Li{a:.3f}PS{b:.3f}Cl{c:.3f}",
    "Li{a:.3f}Ge{c:.3f}P2S12",
    "Li{a:.3f}Y{c:.3f}Cl6",
    "Li{a:.3f}Al{c:.3f}Ti{b:.3f}(PO4)3",
)
GARBAGE = ("", "Xx2O", "Li2O)", "not a formula", "Li-2O", "=cmd()", "Li0O", "Li1e999")


def write_input(path: Path, rows: int, garbage: float, seed: int) -> np.ndarray:
    """Write ``rows`` formulas in blocks; return the indices of garbage rows."""
    rng = np.random.default_rng(seed)
    bad = np.sort(rng.choice(rows, size=round(rows * garbage), replace=False))
    is_bad = np.zeros(rows, dtype=bool)
    is_bad[bad] = True
    block = 1_000_000
    with open(path, "w") as handle:
        handle.write("row_id,formula\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            a, b, c = rng.uniform(1, 7, n), rng.uniform(1, 2, n), rng.uniform(0.05, 1, n)
            kind = rng.integers(0, len(TEMPLATES), n)
            formulas = [TEMPLATES[k].format(a=x, b=y, c=z)
                        for k, x, y, z in zip(kind, a, b, c, strict=True)]
            for i in np.flatnonzero(is_bad[start:start + n]):
                formulas[i] = GARBAGE[(start + i) % len(GARBAGE)]
            frame = pd.DataFrame({"row_id": np.arange(start, start + n), "formula": formulas})
            frame.to_csv(handle, header=False, index=False)
    return bad


def _tree_memory_mb(pids: list[int], cpu: dict[int, float] | None = None) -> float:
    """Sum of PSS (RSS where PSS is unavailable) of the processes and their children, MB;
    each one's CPU seconds (user + system) so far recorded in ``cpu``."""
    import psutil

    total, seen = 0, set()
    for pid in pids:
        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            continue
        for proc in procs:
            if proc.pid in seen:
                continue
            seen.add(proc.pid)
            try:
                info = proc.memory_full_info()
                total += getattr(info, "pss", info.rss)
                if cpu is not None:
                    times = proc.cpu_times()
                    cpu[proc.pid] = times.user + times.system
            except psutil.Error:
                pass
    return total / 2**20


class PeakMemory:
    """Samples the summed PSS of process trees every 0.2 s in a thread; ``peak`` in MB.
    Also the CPU seconds of every process seen (as last sampled: ``cpu_seconds(pids)``),
    which, unlike wall time, a busy machine does not inflate much."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak = pids, 0.0
        self.cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _tree_memory_mb(self.pids, self.cpu))
            self._stop.wait(0.2)

    def cpu_seconds(self, only: tuple[int, ...] | None = None,
                    exclude: tuple[int, ...] = ()) -> float:
        """CPU seconds of the processes seen (``only`` those, if given), less ``exclude``."""
        return sum(v for pid, v in self.cpu.items()
                   if (only is None or pid in only) and pid not in exclude)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_predict(source: Path, output: Path, chunksize: int, options: list[str],
                watch: list[int], scheduler: int | None = None) -> dict[str, float]:
    """Run ``matgenome predict`` in a child process: its seconds, the peak MB of its
    process tree and of the ``watch`` process trees (Dask workers), and CPU seconds of the
    client, of its children (forked or local Dask workers), of ``watch`` and of the
    ``scheduler`` process."""
    command = [sys.executable, "-m", "matgenome", "predict", str(source), "-o",
               str(output), "--chunksize", str(chunksize), "-q", *options]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    others = [scheduler] if scheduler else []
    with PeakMemory([child.pid]) as mine, PeakMemory(watch) as workers, \
            PeakMemory(others) as service:
        before = {pid: PeakMemory([pid]) for pid in [*watch, *others]}
        for pid, probe in before.items():
            _tree_memory_mb([pid], probe.cpu)
        # wait4: the child's CPU seconds with those of every descendant it waited for
        # (forked or local Dask workers), which 0.2 s samples can miss in a short run.
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if code:
        raise RuntimeError(f"{' '.join(command)} failed with exit code {code}")
    # Long-running services: only the CPU time spent during this run.
    idle = sum(probe.cpu_seconds() for probe in before.values())
    used_by_services = workers.cpu_seconds() + service.cpu_seconds()
    client = mine.cpu_seconds(only=(child.pid,))
    # The client's last sample may be up to 0.2 s old: what the tree used beyond it goes
    # to the children, when there were any.
    had_children = len(mine.cpu) > 1
    children = usage.ru_utime + usage.ru_stime - client if had_children else 0.0
    return {"seconds": seconds, "peak_mb": mine.peak, "workers_mb": workers.peak,
            "cpu_client": client,
            "cpu_children": max(children, mine.cpu_seconds(exclude=(child.pid,))),
            "cpu_services": used_by_services - idle}


@contextlib.contextmanager
def loopback_cluster(workers: int = 2) -> Iterator[tuple[str, list[int]]]:
    """A Dask scheduler and single-threaded workers on 127.0.0.1 only, as the README
    shows; yields (address, pids of the workers, pid of the scheduler) and stops them all
    on exit."""
    bin_dir = Path(sys.executable).parent
    dask = str(bin_dir / "dask") if (bin_dir / "dask").exists() else "dask"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0"], **quiet)]
    try:
        procs += [subprocess.Popen([dask, "worker", address, "--nthreads", "1",
                                    "--host", "127.0.0.1", "--no-dashboard"], **quiet)
                  for _ in range(workers)]
        _wait_for_workers(address, workers)
        yield address, [p.pid for p in procs[1:]], procs[0].pid
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_workers(address: str, n: int) -> None:
    from distributed import Client

    with Client(address, timeout="60s") as client:
        client.wait_for_workers(n, timeout=120)


SETUPS = {"j1": ["-j", "1"], "jall": ["-j", "-1"], "dask-local": ["--scheduler", "local"],
          "dask-loopback": []}


def check_output(output: Path, rows: int, bad: np.ndarray) -> dict[str, object]:
    """Stream the output and check count, order and error flags."""
    seen, flagged, order_ok, flags_ok = 0, [], True, True
    for chunk in pd.read_csv(output, chunksize=500_000, keep_default_na=False,
                             dtype={"error": str}):
        ids = chunk["row_id"].to_numpy()
        order_ok &= bool(np.array_equal(ids, np.arange(seen, seen + len(chunk))))
        has_error = (chunk["error"] != "").to_numpy()
        flagged.extend(ids[has_error].tolist())
        flags_ok &= bool((chunk.loc[~has_error, "prediction"] != "").all())
        seen += len(chunk)
    return {"rows_out": seen, "count_ok": seen == rows, "order_ok": order_ok,
            "flags_ok": flags_ok and np.array_equal(np.array(flagged), bad),
            "rows_flagged": len(flagged)}


def run_size(rows: int, args: argparse.Namespace, tmp: Path,
             done: list[dict[str, object]]) -> list[dict[str, object]]:
    """Run every setup on ``rows`` rows; the JSON is rewritten after each setup (with
    ``done``, the results of earlier sizes), so that a long run keeps what it measured."""
    source = tmp / f"in_{rows}.csv"
    bad = write_input(source, rows, args.garbage, args.seed)
    results, reference = [], None
    for setup in args.setups:
        output = tmp / f"out_{rows}_{setup}.csv"
        load_before = os.getloadavg()
        with contextlib.ExitStack() as stack:
            options, watch, scheduler = list(SETUPS[setup]), [], None
            if setup == "dask-loopback":
                address, watch, scheduler = stack.enter_context(
                    loopback_cluster(args.dask_workers))
                options = ["--scheduler", address]
            run = run_predict(source, output, args.chunksize, options, watch, scheduler)
        checks = check_output(output, rows, bad)
        digest = hashlib.sha256(output.read_bytes()).hexdigest()
        reference = reference or digest
        seconds = run["seconds"]
        workers_cpu = run["cpu_children"] + run["cpu_services"]
        results.append({"rows": rows, "setup": setup, "options": " ".join(options),
                        "seconds": round(seconds, 1), "rows_per_second": round(rows / seconds),
                        "peak_memory_mb": round(run["peak_mb"], 1),
                        "dask_workers_peak_memory_mb": round(run["workers_mb"], 1)
                        if watch else None,
                        # CPU seconds: the client process; its children (forked or local
                        # Dask workers); the loopback workers and scheduler during the run.
                        "cpu_seconds_client": round(run["cpu_client"], 1),
                        "cpu_seconds_workers": round(workers_cpu, 1),
                        "load_average_before": list(load_before),
                        "load_average_after": list(os.getloadavg()),
                        "same_bytes_as_first_setup": digest == reference, **checks})
        output.unlink()
        write_results(args, done + results)
        row = results[-1]
        print(f"{rows:>10} {setup:>14} {seconds:>8.1f} {row['rows_per_second']:>8} "
              f"{run['peak_mb']:>8.0f} {run['workers_mb']:>8.0f} {run['cpu_client']:>7.1f} "
              f"{workers_cpu:>7.1f} {load_before[0]:>5.1f}  {row['count_ok']!s:>5} "
              f"{row['order_ok']!s:>5} {row['flags_ok']!s:>5} {digest == reference!s:>5}",
              flush=True)
    source.unlink()
    return results


def profile_one_core(rows: int, tmp: Path, seed: int) -> str:
    """cProfile of scoring ``rows`` rows in this process on one core: where time goes."""
    import cProfile
    import io
    import pstats

    source = tmp / "profile.csv"
    write_input(source, rows, 0.01, seed)
    profiler = cProfile.Profile()
    profiler.enable()
    from matgenome.batch import score_file
    from matgenome.modelfile import load_model

    score_file(load_model(), source, tmp / "profile_out.csv", n_jobs=1)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
    return text.getvalue()


def write_results(args: argparse.Namespace, results: list[dict[str, object]]) -> dict:
    """Write the JSON (atomically); the speed-ups against ``-j 1`` at each size."""
    base = {r["rows"]: r["rows_per_second"] for r in results if r["setup"] == "j1"}
    speedups = {f"{r['rows']} {r['setup']}": round(r["rows_per_second"] / base[r["rows"]], 2)
                for r in results if r["rows"] in base}
    result = {
        "benchmark": "batch_scoring",
        "command": "python benchmarks/batch_scoring.py " + " ".join(sys.argv[1:]),
        "garbage_fraction": args.garbage, "chunksize": args.chunksize,
        "results": results, "speedup_vs_j1": speedups,
        "load_average_at_end": list(os.getloadavg()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
    }
    args.output.parent.mkdir(exist_ok=True)
    tmp_name = args.output.with_suffix(".json.tmp")
    tmp_name.write_text(json.dumps(result, indent=2) + "\n")
    os.replace(tmp_name, args.output)
    return speedups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--garbage", type=float, default=0.01)
    parser.add_argument("--chunksize", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dask-workers", type=int, default=2,
                        help="workers of the loopback cluster (default 2)")
    parser.add_argument("--profile", action="store_true",
                        help="also profile one core on the first size (at most 100,000 rows)")
    parser.add_argument("--output", type=Path, default=RESULTS / "batch_scoring.json")
    args = parser.parse_args()
    print(f"{'rows':>10} {'setup':>14} {'seconds':>8} {'rows/s':>8} {'peak MB':>8} "
          f"{'workers':>8} {'cpu cl':>7} {'cpu wk':>7} {'load':>5}  count order flags same",
          flush=True)
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            results += run_size(rows, args, Path(tmp), results)
        if args.profile:
            text = profile_one_core(min(args.rows[0], 100_000), Path(tmp), args.seed)
            (args.output.parent / "batch_scoring_profile.txt").write_text(text)
    for name, value in write_results(args, results).items():
        print(f"speed-up vs -j 1: {name}: {value}x")
    if not all(r["count_ok"] and r["order_ok"] and r["flags_ok"]
               and r["same_bytes_as_first_setup"] for r in results):
        sys.exit("batch scoring lost, reordered or mis-flagged rows, or outputs differ")


if __name__ == "__main__":
    main()
