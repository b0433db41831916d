"""Batch work: stream a table through a model or a featurizer chunk by chunk, in order, on
one machine or on a Dask cluster.

One output row per input row, always, in the input order: rows that cannot be scored keep
their cells, get empty predictions and say why in the ``error`` column.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from matgenome.errors import InputError
from matgenome.files import atomic_path
from matgenome.known import KNOWN_COLUMNS
from matgenome.modelfile import TrainedModel
from matgenome.parallel import ForkedChunks, available_cores, can_fork, resolve_jobs
from matgenome.provenance import write_sidecar
from matgenome.table_writer import TableWriter
from matgenome.tables import (
    EXCEL_SUFFIXES,
    PARQUET_SUFFIXES,
    TEXT_SUFFIXES,
    detect_formula_column,
    iter_table,
    text_read_options,
)
from matgenome.textblocks import (
    BYTE_SAFE_ENCODINGS,
    Block,
    format_block,
    iter_blocks,
    parse_block,
    read_header,
)

OUTPUT_COLUMNS = ("prediction", "uncertainty", "p_below_bound", "in_domain", "domain_distance",
                  "domain_reason", *KNOWN_COLUMNS, "error")
# Classification models write these instead of ``prediction`` (matgenome.classification).
CLASSIFICATION_COLUMNS = ("probability", "predicted_class", "known_label")
ChunkTransform = Callable[[pd.DataFrame, str], pd.DataFrame]
DEFAULT_CHUNKSIZE = 50_000
MIN_PIECE = 1024  # rows: smaller pieces cost more in process round trips than they save
# Rows per Dask task for text tables (at most the chunk size): about a second of one core's
# work, so that the last tasks leave no worker idle for long, yet Dask's few milliseconds
# per task stay negligible.
DASK_BLOCK_ROWS = 10_000


@dataclass
class BatchSummary:
    rows_read: int = 0
    rows_scored: int = 0
    rows_failed: int = 0

    def line(self, output: Path, verb: str = "scored") -> str:
        return (f"{self.rows_read} rows read, {self.rows_scored} {verb}, "
                f"{self.rows_failed} not {verb} (see the error column), written to {output}")


def score_frame(model: TrainedModel, frame: pd.DataFrame, formula_column: str,
                n_jobs: int | None = None) -> pd.DataFrame:
    """Return ``frame`` with ``prediction``, ``uncertainty`` (one standard deviation),
    ``in_domain``, ``domain_distance``, ``domain_reason`` (when the model has a domain model),
    the measured values of compositions in the training data (``known_value``,
    ``known_spread``, ``known_count``, ``known_bound``) and ``error`` columns added."""
    ours = (*OUTPUT_COLUMNS, *(CLASSIFICATION_COLUMNS if model.labels else ()))
    clash = [c for c in ours if c in frame.columns]
    if clash:
        raise InputError(
            f"the input already has column(s) {', '.join(map(repr, clash))}; rename them so "
            "that the scores do not overwrite them"
        )
    scored = add_predictions(model, frame, formula_column, n_jobs=n_jobs)
    # predict writes the probability under its own name; rank and screen keep both.
    return scored.drop(columns="prediction") if model.labels else scored


def add_predictions(model: TrainedModel, frame: pd.DataFrame,
                    formula_column: str, n_jobs: int | None = None) -> pd.DataFrame:
    """``frame`` with the columns of ``model.predict`` added row for row, on ``frame``'s
    index: ``prediction``, ``uncertainty``, the domain and known-measurement columns.

    The one place both output tables (``score_frame`` here and
    ``matgenome.screen.rank_candidates``) are built. Columns of the same names already in
    ``frame`` are replaced (``score_frame`` refuses them before calling this).
    """
    scores = model.predict(frame[formula_column].tolist(), n_jobs=n_jobs).to_frame()
    scores.index = frame.index
    if "probability" in scores:  # a classifier: rankings read the probability as prediction
        scores.insert(0, "prediction", scores["probability"])
    return pd.concat([frame.drop(columns=[c for c in scores if c in frame]), scores], axis=1)


def count_rows(path: Path) -> int | None:
    """Data rows of a text table (newlines minus the header), for progress bars only."""
    if path.suffix.lower() not in {".csv", ".tsv", ".tab", ".txt"}:
        return None
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1  # a last line without a newline
    return max(lines - 1, 0)


def featurize_frame(preset: str, frame: pd.DataFrame, formula_column: str) -> pd.DataFrame:
    """Return ``frame`` with the preset's feature columns and an ``error`` column added."""
    from matgenome.features import compute_features, feature_labels

    labels = feature_labels(preset)
    clash = [c for c in (*labels, "error") if c in frame.columns]
    if clash:
        raise InputError(f"the input already has column(s) {', '.join(map(repr, clash[:5]))}")
    values, errors = compute_features(frame[formula_column].tolist(), preset=preset)
    features = pd.DataFrame(values, columns=labels, index=frame.index)
    return pd.concat([frame, features, pd.Series(errors, index=frame.index, name="error")],
                     axis=1)


def score_file(
    model: TrainedModel,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    n_jobs: int | None = None,
    **options,
) -> BatchSummary:
    """Score every row of ``input_path`` with ``model`` on ``n_jobs`` cores (None or -1:
    all); see ``process_file`` for the other options. The output does not depend on
    ``n_jobs``."""
    jobs = resolve_jobs(n_jobs)
    # Forked workers score whole chunks, one thread each; without fork (or on Dask, whose
    # workers are single-threaded processes already) the trees of a chunk use threads.
    forked = jobs > 1 and can_fork() and options.get("scheduler") is None
    threads = 1 if forked or options.get("scheduler") is not None else jobs
    return process_file(functools.partial(score_frame, model, n_jobs=threads), input_path,
                        output_path, workers=jobs if forked else 1, **options)


def featurize_file(
    preset: str,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    n_jobs: int | None = None,
    **options,
) -> BatchSummary:
    """Add the preset's features to every row of ``input_path`` on ``n_jobs`` forked
    worker processes (None or -1: all cores); other options as ``process_file``."""
    jobs = resolve_jobs(n_jobs)
    forked = jobs > 1 and can_fork() and options.get("scheduler") is None
    return process_file(functools.partial(featurize_frame, preset), input_path, output_path,
                        workers=jobs if forked else 1, **options)


def process_file(
    transform: ChunkTransform,
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    formula_column: str | None = None,
    chunksize: int = DEFAULT_CHUNKSIZE,
    scheduler: str | None = None,
    progress: Callable[[int], None] | None = None,
    encoding: str = "utf-8-sig",
    metadata: dict[str, object] | None = None,
    workers: int = 1,
) -> BatchSummary:
    """Stream ``input_path`` through ``transform`` chunk by chunk and write ``output_path``
    atomically, one output row per input row, in order.

    Args:
        transform: ``transform(chunk, formula_column) -> chunk`` adding columns, including
            ``error``; it must be picklable to run on Dask workers.
        formula_column: the formula column; detected from common names when None.
        chunksize: rows per chunk (bounds memory: a few hundred bytes per row in flight).
        scheduler: None to work here; ``"local"`` for a local Dask cluster; or the address
            of a Dask scheduler (``tcp://host:8786``) to run chunks on its workers.
        progress: called with the number of rows finished after each chunk.
        metadata: provenance record written beside (and, for Parquet/Excel, inside) the
            output; see ``matgenome.provenance``.
        workers: forked worker processes that transform pieces of each chunk (1: here).
    """
    if scheduler is not None:
        options = _text_read_options(Path(input_path), Path(output_path), encoding)
        if options is not None:
            return _text_on_dask(transform, Path(input_path), Path(output_path), options,
                                 formula_column, chunksize, scheduler, progress, metadata)
    chunks = iter_table(input_path, chunksize=chunksize, encoding=encoding)
    summary = BatchSummary()
    # closing(): a failure while writing shuts a Dask cluster down here and now, not when
    # the generator is garbage-collected at exit (closed comms, orphaned workers).
    with TableWriter(output_path, metadata=metadata) as writer, contextlib.closing(
            _transformed_chunks(transform, chunks, formula_column, scheduler,
                                workers)) as results:
        for done in results:
            summary.rows_read += len(done)
            failed = int((done["error"] != "").sum())
            summary.rows_failed += failed
            summary.rows_scored += len(done) - failed
            writer.write(done)
            if progress is not None:
                progress(len(done))
    return summary


def _transformed_chunks(
    transform: ChunkTransform,
    chunks: Iterator[pd.DataFrame],
    formula_column: str | None,
    scheduler: str | None,
    workers: int = 1,
) -> Iterator[pd.DataFrame]:
    first = next(chunks)
    column = detect_formula_column(list(first.columns), formula_column)
    transform(first.iloc[:0], column)  # fail fast on clashing column names

    # A table of one small chunk is a single piece: scored here, without starting workers.
    second = next(chunks, None) if workers > 1 and len(first) <= MIN_PIECE else first

    def all_chunks() -> Iterator[pd.DataFrame]:
        yield first
        if second is not None and second is not first:
            yield second
        yield from chunks

    if scheduler is None and workers > 1 and second is not None:
        yield from _forked(transform, all_chunks(), column, workers)
        return
    if scheduler is None:
        for chunk in all_chunks():
            yield transform(chunk, column)
        return
    yield from _on_dask(transform, all_chunks(), column, scheduler)


def _forked(transform: ChunkTransform, chunks: Iterator[pd.DataFrame], column: str,
            workers: int) -> Iterator[pd.DataFrame]:
    """Chunks cut into one piece per worker, transformed on forked processes, in order."""
    def pieces() -> Iterator[tuple[pd.DataFrame, str]]:
        for chunk in chunks:
            size = max(-(-len(chunk) // workers), MIN_PIECE)
            for start in range(0, len(chunk), size):
                yield chunk.iloc[start:start + size], column

    with ForkedChunks(transform, workers) as pool:
        yield from pool.map(pieces())


def _on_dask(
    transform: ChunkTransform,
    chunks: Iterator[pd.DataFrame],
    column: str,
    scheduler: str,
) -> Iterator[pd.DataFrame]:
    """Run chunks on Dask workers, a bounded number in flight, yielding results in order."""
    with _dask_client(scheduler) as client:
        yield from _stream(client, transform, ((chunk, column) for chunk in chunks))


@contextlib.contextmanager
def _dask_client(scheduler: str) -> Iterator:
    """A client of the scheduler at ``scheduler`` or, for ``"local"``, of a local cluster
    started here (and stopped on exit)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("scheduler needs Dask: pip install 'matgenome[dask]'",
                         parameters=("scheduler",)) from None
    _quiet_dask_logging()
    with contextlib.ExitStack() as stack:
        cluster = stack.enter_context(_local_cluster(LocalCluster)) if scheduler == "local" \
            else None
        try:
            client = Client(cluster if cluster is not None else scheduler, timeout="30s")
        except OSError as exc:
            raise InputError(f"could not connect to the Dask scheduler {scheduler}: "
                             f"{exc}") from None
        # Exits run in reverse: the client disconnects before the cluster stops.
        stack.enter_context(client)
        yield client


def _text_read_options(source: Path, output: Path, encoding: str) -> dict | None:
    """``pd.read_csv`` options reading ``source`` as ``iter_table`` does, when its blocks
    of lines can be parsed apart and the output is a text table; else None."""
    if source.suffix.lower() not in TEXT_SUFFIXES or output.suffix.lower() in (
            EXCEL_SUFFIXES | PARQUET_SUFFIXES):
        return None
    try:
        options = text_read_options(source, encoding)
    except OSError:
        return None  # the usual reader reports the problem
    with open(source, "rb") as handle:
        if not handle.readline().removeprefix(b"\xef\xbb\xbf").strip():
            return None  # blank lines before the header: the reader skips them
    if options["sep"] is None or options["encoding"].lower() not in BYTE_SAFE_ENCODINGS:
        return None  # sniffed separators and UTF-16/32 or legacy encodings: frames
    return options


def _text_on_dask(
    transform: ChunkTransform,
    source: Path,
    output: Path,
    options: dict,
    formula_column: str | None,
    chunksize: int,
    scheduler: str,
    progress: Callable[[int], None] | None,
    metadata: dict[str, object] | None,
) -> BatchSummary:
    """``process_file`` on Dask for a text table: the workers parse blocks of lines, score
    them and format the output text; here bytes are only cut and appended, in order."""
    # The first rows read as usual: a bad file gets the same clear errors as a local run.
    with contextlib.closing(iter_table(source, chunksize=min(chunksize, 1000),
                                       encoding=options["encoding"])) as chunks:
        first = next(chunks)
    column = detect_formula_column(list(first.columns), formula_column)
    transform(first.iloc[:0], column)  # fail fast on clashing column names
    out_sep = "\t" if output.suffix.lower() in {".tsv", ".tab"} else ","
    summary = BatchSummary()
    with open(source, "rb") as handle, atomic_path(output) as tmp, open(tmp, "wb") as out, \
            _dask_client(scheduler) as client:
        header = read_header(handle)
        block_rows = max(min(chunksize, DASK_BLOCK_ROWS), 1)
        blocks = iter_blocks(handle, block_rows, len(header), 1 + header.count(b"\n"))
        tasks = ((header, block, column, options, out_sep, str(source), index == 0)
                 for index, block in enumerate(blocks))
        # Small tasks: more of them in flight keeps every worker fed while the client
        # waits for the oldest one (the results it holds are a few MB).
        for text, rows, failed in _stream(client, transform, tasks, _text_task,
                                          per_worker=4):
            out.write(text)
            summary.rows_read += rows
            summary.rows_failed += failed
            summary.rows_scored += rows - failed
            if progress is not None:
                progress(rows)
    if metadata is not None:
        write_sidecar(output, metadata)
    return summary


def _text_task(transform: ChunkTransform, header: bytes, block: Block, column: str,
               options: dict, out_sep: str, path_name: str,
               with_header: bool) -> tuple[bytes, int, int]:
    """On a worker: one block parsed, transformed and formatted; (text, rows, failed)."""
    _tune_worker_allocator()
    done = transform(parse_block(header, block, options, path_name), column)
    return format_block(done, out_sep, with_header), len(done), int((done["error"] != "").sum())


def _quiet_dask_logging() -> None:
    """Dask's INFO lines (workers starting, comms closing) only with --verbose.

    distributed sets its loggers to INFO itself, so the root level set by --quiet does
    not reach them.
    """
    ours = logging.getLogger("matgenome").getEffectiveLevel()
    level = logging.INFO if ours <= logging.DEBUG else max(logging.WARNING, ours)
    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(level)


@contextlib.contextmanager
def _worker_log_level() -> Iterator[None]:
    """The log level of the local cluster's worker processes, which configure their own
    logging when they start (from DASK_* variables): with --quiet only critical messages,
    so that a worker's heartbeat racing the scheduler's shutdown prints nothing."""
    ours = logging.getLogger("matgenome").getEffectiveLevel()
    if ours <= logging.DEBUG:
        level = "info"
    elif ours >= logging.ERROR:
        level = "critical"
    else:
        level = "warning"
    key = "DASK_LOGGING__DISTRIBUTED"
    before = os.environ.get(key)
    os.environ[key] = level
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


@contextlib.contextmanager
def _local_cluster(cluster_class) -> Iterator:
    """One single-threaded worker process per available core; no dashboard, no fixed HTTP
    port (8787 may be taken by another user's cluster), workers waited for on exit."""
    import dask

    with dask.config.set({"distributed.scheduler.http.routes": [],
                          "distributed.worker.http.routes": []}), _worker_log_level():
        cluster = cluster_class(n_workers=available_cores(), threads_per_worker=1,
                                processes=True,
                                dashboard_address=None, host="127.0.0.1",
                                scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
    try:
        yield cluster
    finally:
        cluster.close(timeout=30)


def _stream(client, transform: ChunkTransform, tasks: Iterator[tuple],
            function: Callable | None = None, per_worker: int = 2) -> Iterator:
    """``function(transform, *task)`` for every task on the workers (``_apply`` by
    default), ``per_worker`` tasks per worker in flight, results yielded in order."""
    workers = max(len(client.scheduler_info().get("workers", {})), 1)
    # Send the transform (and the model inside it) to every worker once, not per chunk.
    shared = client.scatter(transform, broadcast=True)
    in_flight: deque = deque()
    for task in tasks:
        in_flight.append(client.submit(function or _apply, shared, *task, pure=False))
        # A few tasks per worker queued: enough to stay busy, bounded memory.
        if len(in_flight) >= per_worker * workers:
            yield in_flight.popleft().result()
    while in_flight:
        yield in_flight.popleft().result()


def _apply(transform: ChunkTransform, chunk: pd.DataFrame, column: str) -> pd.DataFrame:
    _tune_worker_allocator()
    return transform(chunk, column)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameters
_allocator_tuned = False


def _tune_worker_allocator() -> None:
    """Once per Dask worker process: glibc's thresholds for returning memory raised again.

    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also pins
    glibc's mmap threshold at 128 KiB: every large NumPy array of a chunk's trees is then a
    fresh mmap, zero-filled page by page, about 10% more CPU per row here. A freed 128 MiB
    at most stays with the worker instead.
    """
    global _allocator_tuned
    if _allocator_tuned or "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return
    _allocator_tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
    libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20)
