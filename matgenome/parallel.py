"""Work spread over the machine's cores, with results that do not depend on how many.

Two kinds of parallelism, each where it pays:

* threads over blocks of rows (``map_row_blocks``) for the tree ensembles: scikit-learn's
  tree traversal releases the GIL, so the trees of one chunk keep every core busy;
* forked worker processes over chunks (``ForkedChunks``) for whole-table work (parsing,
  featurization, the domain check and the known-value lookup are pure Python and hold the
  GIL). Forking shares the loaded model with the workers copy-on-write instead of
  pickling it once per worker.

Every row is computed by the same code whatever block or chunk it falls in, and blocks are
put back in input order, so the output is identical for any number of jobs.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from matgenome.errors import MatgenomeError

ROW_BLOCK = 4096  # rows per thread task: large enough to amortise per-tree Python overhead


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


def resolve_jobs(n_jobs: int | None) -> int:
    """The number of workers for ``n_jobs``: None or -1 for every core, else ``n_jobs``.

    Raises:
        ValueError: ``n_jobs`` is 0, below -1 or not an integer.
    """
    if n_jobs is None or (isinstance(n_jobs, int) and not isinstance(n_jobs, bool)
                          and n_jobs == -1):
        return available_cores()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise ValueError(f"jobs must be a positive number of workers, or -1 for every core; "
                         f"got {n_jobs!r}")
    return int(n_jobs)


def map_row_blocks(function: Callable[[np.ndarray], Any], X: np.ndarray, n_jobs: int,
                   block: int | None = None) -> list[Any]:
    """``function`` applied to consecutive row blocks of ``X`` (``ROW_BLOCK`` rows by
    default) on ``n_jobs`` threads, the results in row order. One job or one block: a
    single call on all of ``X``."""
    block = block or ROW_BLOCK
    if n_jobs <= 1 or len(X) <= block:
        return [function(X)]
    starts = range(0, len(X), block)
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        return list(pool.map(lambda start: function(X[start:start + block]), starts))


def concat_parts(blocks: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Dicts of per-row arrays (one per block) joined key by key."""
    if len(blocks) == 1:
        return blocks[0]
    return {name: np.concatenate([b[name] for b in blocks]) for name in blocks[0]}


def can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


# The function forked workers run, set in the parent just before the fork (inherited, never
# pickled: a model of a thousand trees is shared copy-on-write, not sent to each worker).
_WORKER_FUNCTION: Callable[..., Any] | None = None


def _run_in_worker(*args: Any) -> Any:
    assert _WORKER_FUNCTION is not None
    return _WORKER_FUNCTION(*args)


def _ready() -> None:
    """A first task: makes the executor fork its workers while the function is set."""


def _end_with_parent(parent: int) -> None:
    """Worker initializer: the worker is killed when the process that forked it dies, even
    by SIGKILL. Otherwise orphaned workers wait forever on a queue whose write end they
    hold themselves, keeping the caller's pipes open."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: a worker then ends with its queue
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


PR_SET_PDEATHSIG = 1  # from <sys/prctl.h>


class WorkerDied(MatgenomeError):
    """A forked worker process ended without returning its result."""


class ForkedChunks:
    """Apply one function to a stream of argument tuples on forked worker processes,
    yielding results in input order with at most ``2 * n_jobs`` tasks in flight (bounded
    memory). Use as a context manager; the workers stop on exit. A worker that dies (killed
    for memory, say) raises ``WorkerDied`` here instead of leaving the run waiting."""

    def __init__(self, function: Callable[..., Any], n_jobs: int) -> None:
        self.function = function
        self.n_jobs = n_jobs
        self._pool: Any = None

    def __enter__(self) -> ForkedChunks:
        from concurrent.futures import ProcessPoolExecutor

        from threadpoolctl import threadpool_limits

        global _WORKER_FUNCTION
        # One BLAS thread, set before the fork: a worker forked while OpenBLAS's thread
        # pool is in use can wait forever on it, and n_jobs processes each running a
        # multi-threaded BLAS would oversubscribe the cores anyway.
        self._limits = threadpool_limits(limits=1)
        _WORKER_FUNCTION = self.function
        # A SIGINT arriving while the workers fork is raised inside the fork's at-fork
        # hooks, where Python ignores exceptions, and the run would go on: hold it until
        # the workers exist. The workers keep it blocked: the parent decides to stop.
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            self._pool = ProcessPoolExecutor(self.n_jobs,
                                             mp_context=multiprocessing.get_context("fork"),
                                             initializer=_end_with_parent,
                                             initargs=(os.getpid(),))
            # With fork, every worker starts at the first submit: now, not later when the
            # function is no longer set.
            self._pool.submit(_ready).result()
        except BaseException:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
            self._limits.restore_original_limits()
            raise
        finally:
            _WORKER_FUNCTION = None
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held SIGINT is raised here
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._limits.restore_original_limits()

    def map(self, tasks: Iterator[tuple[Any, ...]]) -> Iterator[Any]:
        from concurrent.futures.process import BrokenProcessPool

        in_flight: deque = deque()
        try:
            for args in tasks:
                in_flight.append(self._pool.submit(_run_in_worker, *args))
                if len(in_flight) >= 2 * self.n_jobs:
                    yield in_flight.popleft().result()
            while in_flight:
                yield in_flight.popleft().result()
        except BrokenProcessPool:
            raise WorkerDied(
                "a worker process died (out of memory?); nothing was written. Run again "
                "with fewer jobs (n_jobs) or a smaller chunksize",
                parameters=("n_jobs", "chunksize")) from None
