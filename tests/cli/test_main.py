"""The matgenome command as a whole: the command list, one-line user errors, internal errors,
argument checks, closed pipes and progress bars."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from matgenome.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "{missing}", "-o", "{out}"], "not found"),
        (["predict", "{empty}", "-o", "{out}"], "empty"),
        (["predict", "{nocol}", "-o", "{out}"], "could not find a formula column"),
        (["predict", "{nocol}", "-o", "{out}", "--formula-column", "zz"], "'zz' not found"),
        (["predict", "{good}", "-o", "{good}"], "is the input"),
        (["predict", "{good}", "-o", "{out}", "--model", "{missing}"], "not found"),
        (["train", "{good}", "--target-column", "nope", "-o", "{out}"], "'nope' not found"),
        (["train", "{good}", "-o", "{out}"], "(option --target-column)"),
    ],
)
def test_user_errors_are_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    paths = {"missing": tmp_path / "missing.csv", "empty": tmp_path / "empty.csv",
             "nocol": tmp_path / "nocol.csv", "good": tmp_path / "good.csv",
             "out": tmp_path / "out.csv"}
    paths["empty"].write_text("")
    paths["nocol"].write_text("a,b\n1,2\n")
    paths["good"].write_text("formula,y\nLi2O,1\n")
    code, _, err = run([a.format(**paths) for a in args], capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not paths["out"].exists()


def test_console_script_runs_as_a_process(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "matgenome", "--version"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("matgenome ")


def test_every_command_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    from matgenome.cli import COMMANDS

    for command in COMMANDS:
        with pytest.raises(SystemExit) as exit_info:
            main([command.name, "--help"])
        assert exit_info.value.code == 0
        assert "example:" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["predict", "rank", "screen"])
@pytest.mark.parametrize("value", ["-5", "0", "two"])
def test_top_must_be_a_positive_whole_number(
    command: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("formula\nLi2O\n")
    args = {"predict": ["predict", str(source), "-o", str(tmp_path / "o.csv")],
            "rank": ["rank", str(source), "-o", str(tmp_path / "o.csv")],
            "screen": ["screen", "-o", str(tmp_path / "o.csv")]}[command]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--top", value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "argument --top" in err and value in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_closed_stdout_exits_quietly(tmp_path: Path) -> None:
    """`matgenome datasets | head -1`: no BrokenPipeError traceback, the pipe's exit code."""
    process = subprocess.Popen([sys.executable, "-m", "matgenome", "datasets"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader leaves before the first line
    err = process.stderr.read().decode()
    process.wait(timeout=120)
    assert err == ""
    assert process.returncode == 141


class _Terminal:
    """A stderr that says it is a terminal, so that progress bars are drawn."""

    def __init__(self) -> None:
        import io

        self.buffer = io.StringIO()

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return self.buffer.write(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("quiet", [False, True])
def test_progress_on_train_rank_and_predict(
    tmp_path: Path, small_model_dir: Path, monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"formula": ["Li2O", "Li3N", "Li6PS5Cl"] * 100}).to_csv(source, index=False)
    train = tmp_path / "train.csv"
    pd.DataFrame({"formula": ["Li2O", "Li3N", "Li6PS5Cl", "LiI", "Li3PS4", "LiCl"],
                  "sigma": ["1e-9", "1e-3", "2e-3", "1e-7", "1e-4", "1e-9"]}).to_csv(
        train, index=False)
    flag = ["-q"] if quiet else []
    shown = {}
    for name, args in {
        "train": ["train", str(train), "--target-column", "sigma", "--log10",
                  "--n-estimators", "5", "-o", str(tmp_path / "model")],
        "rank": ["rank", str(source), "--model", str(small_model_dir), "-o",
                 str(tmp_path / "ranked.csv")],
        "predict": ["predict", str(source), "--model", str(small_model_dir), "-o",
                    str(tmp_path / "scored.csv")],
    }.items():
        terminal = _Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main([*args, *flag]) == 0
        monkeypatch.undo()
        shown[name] = terminal.buffer.getvalue()
    if quiet:
        assert shown == {"train": "", "rank": "", "predict": ""}
        return
    assert "3/3 steps" in shown["train"] and "writing the model" in shown["train"]
    assert "3/3 steps" in shown["rank"] and "scoring and ranking" in shown["rank"]
    # The row bar counts rows exactly from the start: "0/300", never "0.00/300".
    assert "0/300" in shown["predict"] and "300/300" in shown["predict"]
    assert "0.00/" not in shown["predict"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "--family", "nope", "-o", "{out}"], "unknown family 'nope'"),
        (["datasets", "--show", "nope"], "unknown dataset 'nope'"),
        (["rank", "{good}", "-o", "{out}", "--require", "Li", "--exclude", "Li"],
         "elements both required and excluded"),
        (["simulate", "{good}", "--target-column", "y", "--strategies", "foo"],
         "unknown acquisition 'foo'"),
        (["rank", "{good}", "-o", "{out}", "--plot", "{good}/plot.png"],
         "cannot write"),
        (["evaluate", "{good}", "--target-column", "y", "--protocol", "kfold",
          "--n-splits", "50"], "n_splits=50 needs 2 <= n_splits <= 6"),
        (["generate", "--family", "nasicon", "--max-dopants", "0", "-o", "{out}"],
         "max_dopants must be at least 1"),
    ],
)
def test_errors_from_the_science_about_user_values_are_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], small_model_dir: Path,
    args: list[str], message: str
) -> None:
    """Values a user chose that the science refuses: one line, exit 2, not 'internal'."""
    paths = {"good": tmp_path / "good.csv", "out": tmp_path / "out.csv",
             "missing": tmp_path / "missing"}
    pd.DataFrame({"formula": ["Li2O", "Li3N", "Li6PS5Cl", "LiI", "Li3PS4", "LiCl"],
                  "y": ["1e-9", "1e-3", "2e-3", "1e-7", "1e-4", "1e-9"]}).to_csv(
        paths["good"], index=False)
    if args[0] == "rank":
        args = [*args, "--model", str(small_model_dir)]
    code, _, err = run([a.format(**paths) for a in args], capsys)
    assert code == 2, err
    assert message in err
    assert err.startswith(f"matgenome {args[0]}: error: ")
    assert "internal error" not in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def _broken(*args: object, **kwargs: object) -> str:
    raise TypeError("a bug in a helper")


def test_an_internal_error_is_one_line_with_exit_1(
    small_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import matgenome.cli.commands.model

    monkeypatch.setattr(matgenome.cli.commands.model, "_format_model_info", _broken)
    code, out, err = run(["model", "info", str(small_model_dir)], capsys)
    assert code == 1
    assert out == ""
    assert err.strip() == ("matgenome model: internal error (TypeError: a bug in a helper); "
                           "please report it with the output of -v")
    assert "Traceback" not in err


def test_an_internal_error_shows_the_traceback_with_v(
    small_model_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import matgenome.cli.commands.model

    monkeypatch.setattr(matgenome.cli.commands.model, "_format_model_info", _broken)
    code, _, err = run(["model", "info", str(small_model_dir), "-v"], capsys)
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert "_broken" in err and "TypeError: a bug in a helper" in err
    assert "internal error" not in err


def test_a_plain_value_error_from_a_helper_is_internal_not_a_user_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, every ValueError and OSError was shown as a user error (exit 2)."""
    import matgenome.cli.commands.datasets

    def broken() -> None:
        raise ValueError("not the user's fault")

    monkeypatch.setattr(matgenome.cli.commands.datasets, "list_datasets", broken)
    code, _, err = run(["datasets"], capsys)
    assert code == 1
    assert "internal error (ValueError: not the user's fault)" in err


def test_a_plain_value_error_inside_generation_is_internal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The science raises UsageError for a user's values; any other ValueError is a bug."""
    import matgenome.cli.generation

    def broken(*args: object, **options: object) -> None:
        raise ValueError("a bug in generation")

    monkeypatch.setattr(matgenome.cli.generation, "generate_candidates", broken)
    code, _, err = run(["generate", "-o", str(tmp_path / "out.csv")], capsys)
    assert code == 1
    assert "internal error (ValueError: a bug in generation)" in err


def test_every_user_error_class_derives_from_matgenome_error() -> None:
    from matgenome.campaign import CampaignBusy
    from matgenome.composition import CompositionError
    from matgenome.errors import InputError, MatgenomeError, UsageError
    from matgenome.generation import DopingError, SeedError
    from matgenome.modelfile import ModelFileError

    for error in (InputError, ModelFileError, CompositionError, SeedError, DopingError,
                  CampaignBusy, UsageError):
        assert issubclass(error, MatgenomeError), error
    # Still ValueErrors, as they always were, for code that catches ValueError.
    for error in (CompositionError, SeedError, DopingError, UsageError):
        assert issubclass(error, ValueError), error


def test_the_command_list_is_explicit_and_matches_the_parser() -> None:
    from matgenome.cli import COMMANDS, build_parser

    names = [command.name for command in COMMANDS]
    assert len(set(names)) == len(names)
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == names
    for entry in COMMANDS:  # each entry names the module and attribute of its command
        command = entry.load()
        assert command.name == entry.name
        child = build_parser(entry.name)._subparsers._group_actions[0].choices[entry.name]
        assert entry.summary in child.format_help()
        assert command.example.split()[0] == "matgenome"


def test_the_command_word_is_found_before_its_options() -> None:
    from matgenome.cli.main import command_name

    assert command_name(["train", "x.csv", "-o", "m"]) == "train"
    assert command_name(["-v", "predict", "--help"]) == "predict"
    assert command_name(["--help"]) is None
    assert command_name(["nonsense"]) is None


def test_command_modules_import_shared_modules_not_each_other() -> None:
    """One module per command, listed in COMMANDS; a command module imports the shared cli
    modules, never another command (nor main, which lists them all)."""
    import ast

    import matgenome.cli
    from matgenome.cli import COMMANDS

    package = Path(matgenome.cli.__file__).parent
    modules = {path.stem for path in (package / "commands").glob("*.py")} - {"__init__"}
    assert {entry.module for entry in COMMANDS} == {f"commands.{m}" for m in modules}
    for name in modules:
        tree = ast.parse((package / "commands" / f"{name}.py").read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree)
                    if isinstance(node, ast.ImportFrom) and node.module}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for alias in node.names}
        cli_imports = {m for m in imported if m.startswith("matgenome.cli")}
        assert cli_imports, name
        assert not {m for m in cli_imports
                    if m.startswith("matgenome.cli.commands") or m == "matgenome.cli.main"
                    or m == "matgenome.cli"}, name


def test_science_modules_do_not_import_the_command_line() -> None:
    import matgenome

    root = Path(matgenome.__file__).parent
    for path in root.rglob("*.py"):
        if path.relative_to(root).parts[0] == "cli" or path.name == "__main__.py":
            continue
        assert "matgenome.cli" not in path.read_text(encoding="utf-8"), path


def test_an_uncreatable_campaign_directory_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run(["campaign", "init", str(blocker / "camp"), "--dataset", "obelix"],
                       capsys)
    assert code == 2
    assert err.startswith(f"matgenome campaign: error: cannot create the campaign directory "
                          f"{blocker / 'camp'}: ")
    assert len(err.strip().splitlines()) == 1
