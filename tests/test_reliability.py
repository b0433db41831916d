"""Reliability: arbitrary files never crash the readers or the CLI, interrupted runs leave
no truncated output, and the shipped model is reproducible."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matgenome.cli import main
from matgenome.io import InputError, read_table

cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["Li2O", "Li6PS5Cl", "<1E-10", "1e999", "=cmd()", "\ufeffLi", "", "NaN"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
table = st.lists(st.lists(cell, min_size=0, max_size=4), min_size=0, max_size=6)


def _render(rows: list[list[str]], header: list[str], sep: str) -> str:
    lines = [sep.join(header)] + [sep.join(r) for r in rows]  # ragged rows on purpose
    return "\n".join(lines)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=table, header=st.lists(st.sampled_from(["formula", "a", "a", "", "sigma", "é"]),
                                   min_size=0, max_size=4),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16"]),
       sep=st.sampled_from([",", "\t", ";"]))
def test_readers_return_text_or_raise_input_error(
    tmp_path: Path, rows: list[list[str]], header: list[str], encoding: str, sep: str
) -> None:
    path = tmp_path / "in.csv"
    text = _render(rows, header, sep)
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        return
    try:
        frame = read_table(path)
    except InputError as exc:
        assert str(exc)
        return
    assert all(isinstance(v, str) for v in frame.to_numpy().ravel())


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(formulas=st.lists(st.one_of(st.text(max_size=30), st.sampled_from(
    ["Li2O", "Li6PS5Cl", "0.75Li2S-0.25P2S5", "Li" * 300, "(((", "Li1e999"])),
    min_size=1, max_size=8))
def test_predict_never_crashes_and_keeps_every_row(
    tmp_path: Path, small_model_dir: Path, formulas: list[str],
    capsys: pytest.CaptureFixture[str]
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    pd.DataFrame({"formula": formulas}).to_csv(source, index=False)
    code = main(["predict", str(source), "-o", str(output), "--model", str(small_model_dir),
                 "-q"])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code == 0:
        read_back = pd.read_csv(source, keep_default_na=False, dtype=str)
        scored = pd.read_csv(output, keep_default_na=False, dtype=str)
        assert scored["formula"].tolist() == read_back["formula"].tolist()
        assert ((scored["error"] == "") == (scored["prediction"] != "")).all()
    else:
        assert code == 2 and err.startswith("matgenome predict: error:")


def _big_input(path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    formulas = [f"Li{x:.4f}La3Zr2O12" for x in rng.uniform(1, 7, rows)]
    pd.DataFrame({"formula": formulas}).to_csv(path, index=False)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_run_leaves_old_output_untouched(
    tmp_path: Path, small_model_dir: Path, sig: signal.Signals
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    _big_input(source, 60_000)
    output.write_text("previous results\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "matgenome", "predict", str(source), "-o", str(output),
         "--model", str(small_model_dir), "--chunksize", "500", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait until the run is writing its temporary file, then interrupt it.
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".out.csv.*.tmp")) and time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("the run finished before it could be interrupted")
        time.sleep(0.05)
    process.send_signal(sig)
    _, err = process.communicate(timeout=60)
    assert process.returncode != 0
    assert output.read_text() == "previous results\n"
    if sig == signal.SIGINT:
        assert "interrupted" in err and "Traceback" not in err
        assert not list(tmp_path.glob(".out.csv.*.tmp"))


def test_shipped_default_model_is_reproducible(tmp_path: Path) -> None:
    from matgenome.default_models import build_default_model
    from matgenome.modelfile import MANIFEST_FILE, default_model_path, library_versions, load_model

    shipped = load_model(default_model_path())
    if shipped.card["versions"] != library_versions():
        pytest.skip(f"the shipped model was built with {shipped.card['versions']}; a "
                    "bit-for-bit rebuild needs the same library versions")
    rebuilt = build_default_model(tmp_path / "rebuilt")
    again = load_model(rebuilt)
    sample = [*shipped.training_data["formula"].iloc[::7], "Li6.2PS5.2Cl0.8"]
    a, b = shipped.predict(sample), again.predict(sample)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.std, b.std)
    # The manifest lists the SHA-256 of every file: identical manifests, identical bytes.
    assert (rebuilt / MANIFEST_FILE).read_text() == (
        default_model_path() / MANIFEST_FILE).read_text()
