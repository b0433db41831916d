"""Text blocks for Dask scoring: cut at record boundaries, parsed as the whole file is,
errors naming the file's line and byte; Dask output byte-identical to a local run."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from matgenome.batch import score_file
from matgenome.errors import InputError
from matgenome.modelfile import load_model
from matgenome.provenance import sidecar_path
from matgenome.textblocks import Block, iter_blocks, parse_block, read_header, record_ends

OPTIONS = dict(sep=",", dtype=str, keep_default_na=False, encoding="utf-8-sig", engine="c",
               skip_blank_lines=True)
TRICKY = ('\ufeffid,"formula",note\r\n'
          '1,Li3PS4,plain\r\n'
          '2,"Li2O","two\r\nlines, and a comma"\r\n'
          '\r\n'
          '3,Qq,"say ""hi""\nthere"\n'
          '4,"Li7La3Zr2O12",\n'
          '5,LiCl,last line without newline')


def _blocks(text: str, rows: int, read_bytes: int) -> tuple[bytes, list[Block]]:
    handle = io.BytesIO(text.encode("utf-8"))
    header = read_header(handle)
    return header, list(iter_blocks(handle, rows, len(header), 1 + header.count(b"\n"),
                                    read_bytes=read_bytes))


def test_record_ends_skip_newlines_inside_quotes() -> None:
    ends, inside = record_ends(b'a,"b\nc"\nd,"e\n')
    assert ends.tolist() == [7] and inside
    ends, inside = record_ends(b'f"\ng\n', inside_quotes=True)
    assert ends.tolist() == [2, 4] and not inside


@pytest.mark.parametrize(("rows", "read_bytes"), [(1, 3), (2, 7), (3, 1 << 20)])
def test_blocks_parse_to_the_whole_file(rows: int, read_bytes: int) -> None:
    whole = pd.read_csv(io.BytesIO(TRICKY.encode()), **OPTIONS)
    header, blocks = _blocks(TRICKY, rows, read_bytes)
    assert header + b"".join(b.data for b in blocks) == TRICKY.encode()
    for block in blocks:  # offsets and line numbers are the file's
        assert TRICKY.encode()[block.offset:].startswith(block.data)
        assert TRICKY.encode()[:block.offset].count(b"\n") + 1 == block.first_line
    parts = pd.concat([parse_block(header, b, OPTIONS, "in.csv") for b in blocks],
                      ignore_index=True)
    pd.testing.assert_frame_equal(parts, whole)
    assert parts["note"].tolist()[1:3] == ["two\r\nlines, and a comma", 'say "hi"\nthere']


def test_block_errors_name_the_line_and_byte_of_the_file() -> None:
    text = "id,formula\n" + "".join(f"{i},Li3PS4\n" for i in range(6)) + "6,Li2O,extra\n"
    header, blocks = _blocks(text, 3, 1 << 20)
    with pytest.raises(InputError, match=r"could not read in\.csv: .*line 8\b"):
        parse_block(header, blocks[-1], OPTIONS, "in.csv")  # a block's first row
    header, blocks = _blocks(text, 4, 1 << 20)
    with pytest.raises(InputError, match=r"could not read in\.csv: .*line 8\b"):
        parse_block(header, blocks[-1], OPTIONS, "in.csv")  # a later row
    with pytest.raises(pd.errors.ParserError, match=r"line 8\b"):  # what pandas says
        pd.read_csv(io.StringIO(text), **OPTIONS)
    raw = text.replace(",extra", "").encode()
    raw = raw[:40] + b"\xff" + raw[41:]  # inside the fourth block of one row
    handle = io.BytesIO(raw)
    header = read_header(handle)
    blocks = list(iter_blocks(handle, 1, len(header), 2))
    with pytest.raises(InputError, match=r"not valid UTF-8 \(byte 40\)"):
        for block in blocks:
            parse_block(header, block, OPTIONS, "in.csv")


def test_dask_text_path_matches_a_local_run(tmp_path: Path, small_model_dir: Path) -> None:
    """Quoted newlines, a BOM, CRLF, a blank line and TSV output through the workers'
    parse-score-format path: the same bytes as scoring here."""
    pytest.importorskip("distributed")
    rng = np.random.default_rng(1)
    lines = [f'{i},"Li{rng.uniform(0.5, 7):.3f}La3Zr2O12","n\r\n{i}"' for i in range(40)]
    lines[5], lines[30] = '5,"Qq",bad', "30,,empty"
    source = tmp_path / "in.csv"
    source.write_bytes(("\ufeffid,formula,note\r\n" + "\r\n".join(lines[:20]) + "\r\n\r\n"
                        + "\r\n".join(lines[20:])).encode())
    model = load_model(small_model_dir)
    here, there = tmp_path / "here.tsv", tmp_path / "there.tsv"
    score_file(model, source, here, chunksize=7)
    summary = score_file(model, source, there, chunksize=7, scheduler="local",
                         metadata={"run": "x"})
    assert (summary.rows_read, summary.rows_failed) == (40, 2)
    assert here.read_bytes() == there.read_bytes()
    out = pd.read_csv(there, sep="\t", keep_default_na=False)
    assert out["id"].tolist() == list(range(40))
    assert (out["error"] != "").tolist() == [i in (5, 30) for i in range(40)]
    assert sidecar_path(there).exists()
