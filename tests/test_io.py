"""Reading tables as text, target parsing with censoring and units, atomic writes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.errors import InputError
from matgenome.files import atomic_path
from matgenome.table_writer import TableWriter, check_output_path, neutralise_formulas, write_table
from matgenome.tables import detect_formula_column, iter_table, read_table
from matgenome.target_values import parse_target_values
from matgenome.units import unit_factor


@pytest.mark.parametrize(
    ("cell", "value", "censor"),
    [
        ("1.2e-3", 1.2e-3, ""),
        ("<1E-10", 1e-10, "<"),
        ("< 1e-8", 1e-8, "<"),
        ("≤2e-5", 2e-5, "<"),
        (">1e-2", 1e-2, ">"),
        (">=0.5", 0.5, ">"),
        ("3.4 × 10^-4", 3.4e-4, ""),
        ("3.4x10-4", 3.4e-4, ""),
        ("2.0×10⁻³", 2.0e-3, ""),
        ("−2.5", -2.5, ""),
        (0.25, 0.25, ""),
    ],
)
def test_target_cells(cell: object, value: float, censor: str) -> None:
    parsed = parse_target_values([cell])
    assert parsed.errors == [""]
    assert math.isclose(parsed.values[0], value, rel_tol=1e-12)
    assert parsed.censor[0] == censor


@pytest.mark.parametrize("cell", ["", "NA", "abc", "1,5", "inf", float("nan"), "~1e-3"])
def test_unusable_target_cells_are_reported(cell: object) -> None:
    parsed = parse_target_values([cell])
    assert np.isnan(parsed.values[0])
    assert repr(cell) in parsed.errors[0]
    assert not parsed.usable[0]


def test_log10_and_units() -> None:
    parsed = parse_target_values(["1", "<0.01", "0"], log10=True, unit="mS/cm")
    assert parsed.values[0] == pytest.approx(-3.0)
    assert parsed.values[1] == pytest.approx(-5.0) and parsed.censor[1] == "<"
    assert "log10" in parsed.errors[2]
    assert unit_factor("S/m") == pytest.approx(0.01)
    assert unit_factor("GPa", "MPa") == pytest.approx(1000)
    with pytest.raises(InputError, match="unknown unit"):
        unit_factor("furlong")


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["id", "Formula"], "Formula"),
        (["Reduced Composition", "x"], "Reduced Composition"),
        (["composition", "formula"], "formula"),
        (["pretty_formula"], "pretty_formula"),
    ],
)
def test_formula_column_detection(columns: list[str], expected: str) -> None:
    assert detect_formula_column(columns) == expected


def test_formula_column_errors_list_columns() -> None:
    with pytest.raises(InputError, match="'a', 'b'"):
        detect_formula_column(["a", "b"])
    with pytest.raises(InputError, match="'zz' not found"):
        detect_formula_column(["a", "b"], "zz")


def test_read_keeps_cells_as_text(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("formula,value,code\nLi2O,0.10,007\nNA,,1e3\n", encoding="utf-8-sig")
    frame = read_table(path)
    assert frame.to_dict("list") == {"formula": ["Li2O", "NA"], "value": ["0.10", ""],
                                     "code": ["007", "1e3"]}


def test_chunks_cover_all_rows_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.tsv"
    pd.DataFrame({"formula": [f"Li{i}O" for i in range(1, 26)]}).to_csv(path, sep="\t",
                                                                       index=False)
    chunks = list(iter_table(path, chunksize=7))
    assert [len(c) for c in chunks] == [7, 7, 7, 4]
    assert pd.concat(chunks)["formula"].tolist() == [f"Li{i}O" for i in range(1, 26)]


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "empty"), (b"formula\n", "no rows"), (b"a,a\n1,2\n", "duplicated"),
     (b"formula\n\xff\xfeLi\n", "UTF-8")],
)
def test_bad_files_give_input_errors(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_table(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "nope.csv")


def test_excel_and_parquet_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"formula": ["Li2O", "=HYPERLINK()"], "value": ["-1", "2"]})
    write_table(frame, tmp_path / "out.parquet")
    assert read_table(tmp_path / "out.parquet").equals(frame)
    write_table(frame, tmp_path / "out.xlsx")
    back = read_table(tmp_path / "out.xlsx")
    assert back["formula"].tolist() == ["Li2O", "'=HYPERLINK()"]
    assert back["value"].tolist() == ["-1", "2"]


def test_neutralise_only_text_that_spreadsheets_would_run() -> None:
    frame = pd.DataFrame({"a": ["=1+1", "+cmd", "-2.5", "@x", "ok", "-x"]})
    assert neutralise_formulas(frame)["a"].tolist() == [
        "'=1+1", "'+cmd", "-2.5", "'@x", "ok", "'-x"]


def test_atomic_path_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]


def test_streamed_writer_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with TableWriter(target) as writer:
        writer.write(pd.DataFrame({"a": [1, 2]}))
        assert not target.exists()
        writer.write(pd.DataFrame({"a": [3]}))
    assert target.read_text() == "a\n1\n2\n3\n"


def test_output_may_not_be_input(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("formula\nLi2O\n")
    with pytest.raises(InputError, match="is the input"):
        check_output_path(source, [source])
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.csv", [source])
    assert check_output_path(tmp_path / "out.csv", [source]) == tmp_path / "out.csv"


def test_units_written_in_cells_are_converted() -> None:
    cells = ["0.122 mS/cm", "1.9 mS cm-1", "2e-4 S/cm", "<1E-10 S/cm", "5 µS/cm", "0.03 S/m",
             "3.4 × 10^-4"]
    parsed = parse_target_values(cells, log10=True)
    expected = np.log10([1.22e-4, 1.9e-3, 2e-4, 1e-10, 5e-6, 3e-4, 3.4e-4])
    np.testing.assert_allclose(parsed.values, expected, rtol=1e-12)
    assert parsed.errors == [""] * len(cells)
    assert parsed.censor[3] == "<"
    assert parsed.unit == "S/cm"  # the unit of the stored values, after conversion


def test_cell_units_override_the_given_unit_and_bad_units_name_the_cell() -> None:
    parsed = parse_target_values(["0.5", "2e-4 S/cm", "3 eV", "1 furlong", "1,5"],
                                 unit="mS/cm")
    np.testing.assert_allclose(parsed.values[:2], [5e-4, 2e-4], rtol=1e-12)
    assert parsed.unit == "S/cm"
    assert parsed.errors[2] == "target '3 eV': unit eV cannot be converted to S/cm"
    assert parsed.errors[3].startswith("target '1 furlong': unknown unit 'furlong'")
    assert parsed.errors[4] == "target '1,5': not a number"
    assert parse_target_values(["1.2", "3"]).unit == ""


def test_target_labels_follow_unit_and_transform() -> None:
    from matgenome.targets import describe_target, normalise_target, target_label

    assert describe_target("sigma", "S/cm", log10=True)["label"] == "log10(σ / S cm⁻¹)"
    assert describe_target("expt_gap", "eV")["label"] == "expt_gap (eV)"
    # No unit given: none is invented.
    assert describe_target("Ionic conductivity (S cm-1)", "", True)["label"] == (
        "log10(Ionic conductivity (S cm-1))")
    # Cards written before the label existed stated log10 values' unit as log10(S/cm).
    old = {"name": "log10 ionic conductivity", "unit": "log10(S/cm)", "transform": "log10"}
    assert normalise_target(old) == {"name": "log10 ionic conductivity", "unit": "S/cm",
                                     "transform": "log10", "label": "log10(σ / S cm⁻¹)"}
    assert target_label({"name": "yield strength", "unit": "MPa"}) == "yield strength (MPa)"


def test_shipped_model_card_renders_the_label() -> None:
    from matgenome.modelfile import load_model, render_card

    model = load_model()
    assert model.target == "log10(σ / S cm⁻¹)"
    page = render_card(model.card)
    assert "shown as log10(σ / S cm⁻¹)" in page
    assert "unit of the values: S/cm; transform: log10" in page


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    import os

    previous = os.umask(0o022)
    os.umask(previous)
    yield os.umask
    os.umask(previous)


@pytest.mark.parametrize(("mask", "file_mode", "dir_mode"),
                         [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)])
def test_outputs_follow_the_umask(tmp_path: Path, umask, mask: int, file_mode: int,
                                  dir_mode: int) -> None:
    import stat

    from matgenome.files import current_umask
    from matgenome.modelfile import TrainedModel, save_model
    from matgenome.plots import _new_figure, save_png_atomic

    umask(mask)
    assert current_umask() == mask
    for suffix in (".csv", ".xlsx", ".parquet"):
        path = tmp_path / f"out{suffix}"
        write_table(pd.DataFrame({"formula": ["Li2O"]}), path)
        assert stat.S_IMODE(path.stat().st_mode) == file_mode, suffix
    figure = save_png_atomic(_new_figure(), tmp_path / "plot.png")
    assert stat.S_IMODE(figure.stat().st_mode) == file_mode
    from sklearn.dummy import DummyRegressor

    model = TrainedModel(estimator=DummyRegressor(), card={"name": "m"})
    directory = save_model(model, tmp_path / "model")
    assert stat.S_IMODE(directory.stat().st_mode) == dir_mode
    assert all(stat.S_IMODE(p.stat().st_mode) == file_mode for p in directory.iterdir())


def test_semicolon_csv_is_read_with_its_separator(tmp_path: Path) -> None:
    path = tmp_path / "european.csv"
    path.write_text("formula;sigma\nLi2O;1,5e-3\nLi3N;2e-4\n", encoding="utf-8")
    frame = read_table(path)
    assert list(frame.columns) == ["formula", "sigma"]
    assert frame["sigma"].tolist() == ["1,5e-3", "2e-4"]
    # A comma file whose cells hold a semicolon keeps the comma.
    path.write_text("formula,note\nLi2O,a;b\n", encoding="utf-8")
    assert read_table(path)["note"].tolist() == ["a;b"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_unicode_text_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "unicode.csv"
    text = "formula,sigma\nLi₂O,1e-3\nLi6PS5Cl,−2\n"
    bom = {"utf-16-be": b"\xfe\xff"}.get(encoding, b"")
    path.write_bytes(bom + text.encode(encoding))
    frame = read_table(path)
    assert list(frame.columns) == ["formula", "sigma"]
    assert frame["formula"].tolist() == ["Li₂O", "Li6PS5Cl"]
    assert [c for chunk in iter_table(path, chunksize=1) for c in chunk["sigma"]] == [
        "1e-3", "−2"]


def test_unwritable_output_names_the_users_path(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".out.csv.x1y2.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(InputError) as error:
        write_table(pd.DataFrame({"a": ["1"]}), tmp_path / "out.csv")
    message = str(error.value)
    assert str(tmp_path / "out.csv") in message and "Permission denied" in message
    assert ".tmp" not in message


def test_excel_output_keeps_numeric_cells_numeric(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    path = tmp_path / "out.xlsx"
    cells = ["1.5", "-2", "3", "1e-3", "007", "=cmd()", "-x", "Li2O", "", "1234567890123456789"]
    frame = pd.DataFrame({"user": cells, "prediction": np.arange(len(cells), dtype=float)})
    write_table(frame, path)
    sheet = openpyxl.load_workbook(path).active
    values = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert values[:4] == [1.5, -2, 3, 1e-3]
    assert all(isinstance(v, int | float) for v in values[:4])
    assert values[4] == "007"  # leading zeros: an identifier, kept as text
    assert values[5] == "'=cmd()" and values[6] == "'-x"  # formulas neutralised
    assert values[7] == "Li2O" and values[8] in ("", None)
    assert values[9] == "1234567890123456789"  # too long to be exact as a number
    # Reading the workbook back as text gives the user's cells.
    back = read_table(path)
    assert back["user"].tolist()[:5] == ["1.5", "-2", "3", "0.001", "007"]


def test_output_in_a_read_only_directory_is_refused_up_front(tmp_path: Path,
                                                             monkeypatch) -> None:
    import os

    real_access = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path) == tmp_path and mode & os.W_OK:
            return False  # what a directory without write permission says (not as root)
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(InputError, match="no permission to create files") as error:
        check_output_path(tmp_path / "out.csv", [])
    assert str(tmp_path / "out.csv") in str(error.value)


def test_target_values_from_a_dataset_frame_keep_bounds_and_values() -> None:
    from matgenome.datasets import load
    from matgenome.target_values import TargetValues

    frame = load("obelix", "train")
    targets = TargetValues.from_frame(frame)
    np.testing.assert_allclose(targets.values, frame["target"].to_numpy(float))
    assert targets.censor.tolist() == frame["censor"].tolist()
    assert (targets.censor == "<").sum() == frame["censor"].ne("").sum() > 0
    assert targets.usable.all() and len(targets.errors) == len(frame)


def test_old_io_names_still_import_with_a_deprecation_warning() -> None:
    """``matgenome.io`` was split by job; its names keep working for one release."""
    import importlib

    import matgenome.io as old
    from matgenome import errors, table_writer, tables, target_values, units

    homes = {"read_table": tables, "iter_table": tables, "detect_formula_column": tables,
             "TableWriter": table_writer, "write_table": table_writer,
             "check_output_path": table_writer, "excel_cells": table_writer,
             "UNIT_FACTORS": units, "unit_factor": units, "TargetValues": target_values,
             "parse_target_values": target_values, "InputError": errors}
    for name, home in homes.items():
        with pytest.warns(DeprecationWarning, match=f"matgenome.io.{name} moved to "
                                                    f"{home.__name__}.{name}"):
            assert getattr(old, name) is getattr(home, name)
    assert "read_table" in dir(old) and "_parse_target_cell" not in dir(old)
    for name, module in old.MOVED.items():
        assert hasattr(importlib.import_module(module), name), name
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        old.nothing  # noqa: B018
    with pytest.warns(DeprecationWarning):
        from matgenome.io import read_table as legacy
    assert legacy is read_table


def test_the_table_modules_sit_on_the_floor() -> None:
    """Reading, writing, units and target cells import nothing above the core floor
    (errors, atomic files, provenance), not even inside a function."""
    import ast

    import matgenome

    package = Path(matgenome.__file__).parent
    floor = {"matgenome.errors", "matgenome.files", "matgenome.provenance", "matgenome.units",
             "matgenome.tables", "matgenome.target_values"}
    for name in ("units", "target_values", "tables", "table_writer"):
        tree = ast.parse((package / f"{name}.py").read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module
                    and node.module.startswith("matgenome")}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names if alias.name.startswith("matgenome")}
        assert imported <= floor, (name, imported - floor)
