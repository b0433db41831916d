"""Library errors speak in parameters; the command line adds its option names."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest

from matgenome.cli import main
from matgenome.cli.errors import OPTION_OF, error_text
from matgenome.errors import CompositionError, InputError, UsageError
from matgenome.labelled import read_labelled
from matgenome.table_writer import check_output_path

PACKAGE = Path(__file__).resolve().parents[1] / "matgenome"
FLAG = re.compile(r"(^|[\s(])--?[a-z]")


def _raised_texts(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, literal text) of every string inside a ``raise`` statement."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            found += [(part.lineno, part.value) for part in ast.walk(node.exc)
                      if isinstance(part, ast.Constant) and isinstance(part.value, str)]
    return found


def test_no_library_error_message_names_a_command_line_option() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
                 for path in PACKAGE.rglob("*.py") if "cli" not in path.parts
                 for line, text in _raised_texts(ast.parse(path.read_text("utf-8")))
                 if FLAG.search(text)]
    assert not offenders, offenders


def test_the_cli_adds_the_option_names_of_the_parameters() -> None:
    error = InputError("target_column is required", parameters=("target_column",))
    assert error_text(error) == "target_column is required (option --target-column)"
    both = InputError("give one", parameters=("path", "dataset"))
    assert error_text(both) == "give one (options INPUT, --dataset)"
    assert error_text(UsageError("plain")) == "plain"
    assert error_text(CompositionError("Qq", "unknown element")).startswith("invalid formula")
    assert all(flag.startswith(("-", "INPUT")) for flag in OPTION_OF.values())


def test_library_and_command_line_wording(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "t.csv"
    pd.DataFrame({"formula": ["Li2O", "Li3N"], "y": [1.0, 2.0]}).to_csv(table, index=False)
    with pytest.raises(InputError, match=r"^target_column is required") as caught:
        read_labelled(str(table))
    assert caught.value.parameters == ("target_column",)
    with pytest.raises(InputError, match=r"^output .* is the input file"):
        check_output_path(table, [table])
    assert main(["train", str(table), "-o", str(tmp_path / "m"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("matgenome train: error: target_column is required with a table "
                           "file (path) (option --target-column)")
    assert main(["simulate", "--dataset", "nope"]) == 2
    assert "unknown dataset 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(("options", "message"), [
    ({"acquisition": "probability"}, "acquisition 'probability' needs a threshold"),
    ({"objective": "target"}, "objective 'target' needs a target value"),
    ({"objective": "target", "target": -3.0, "acquisition": "probability"},
     "needs a tolerance"),
    ({"batch_size": -1}, "batch_size must be 0 or more"),
])
def test_rank_settings_are_checked_by_the_library(options: dict, message: str) -> None:
    from matgenome.screen import RankSettings

    with pytest.raises(UsageError, match=re.escape(message)):
        RankSettings(**options)
    assert RankSettings(acquisition="probability", objective="target", target=-3.0,
                        tolerance=0.5).tolerance == 0.5
