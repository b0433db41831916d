"""The data commands: datasets lists what is shipped."""

from __future__ import annotations

import pytest

from matgenome.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_datasets_lists_every_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["datasets"], capsys)
    assert code == 0
    for name, rows in [("obelix", 599), ("matbench_expt_gap", 4604), ("matbench_steels", 312),
                       ("matbench_glass", 5680), ("matbench_expt_is_metal", 4921)]:
        assert f"{name}  ({rows} rows" in out
    assert "CC BY 4.0" in out and "Therrien" in out
