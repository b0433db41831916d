"""Start-up of the command line: building the parser must not import the heavy libraries."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "sklearn", "scipy", "pymatgen", "skops", "matminer")

# Imports the CLI, builds the parser that lists every command (--help does the same) and
# prints which top-level packages were imported.
PROBE = """
import json, sys
from matgenome.cli import build_parser
build_parser().format_help()
for action in build_parser()._subparsers._group_actions:
    for child in action.choices.values():
        child.format_help()
print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))
"""


def _imported_modules(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def _imported_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_building_the_parser_imports_no_heavy_library() -> None:
    imported = _imported_after(PROBE)
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_library(flag: str) -> None:
    code = ("import json, sys\nfrom matgenome.cli import main\n"
            f"try:\n    main([{flag!r}])\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules})))")
    imported = _imported_after(code)
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))


def test_version_is_written_once() -> None:
    import matgenome
    from matgenome._version import __version__

    out = subprocess.run([sys.executable, "-m", "matgenome", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"matgenome {__version__}"
    assert matgenome.__version__ == __version__


def test_error_classes_share_a_light_base_and_keep_their_import_paths() -> None:
    from matgenome import composition, io, modelfile
    from matgenome.errors import CompositionError, InputError, MatgenomeError, ModelFileError

    with pytest.warns(DeprecationWarning, match="matgenome.errors"):
        assert io.InputError is InputError  # the old path, deprecated
    assert modelfile.ModelFileError is ModelFileError
    assert composition.CompositionError is CompositionError
    for cls in (InputError, ModelFileError, CompositionError):
        assert issubclass(cls, MatgenomeError)
    assert issubclass(CompositionError, ValueError)
    with pytest.raises(ValueError, match="invalid formula 'Xx2'"):
        composition.parse_composition("Xx2")


def test_only_the_command_that_runs_is_imported() -> None:
    code = ("import json, sys\nfrom matgenome.cli import build_parser\n"
            "build_parser('datasets').format_help()\n"
            "print(json.dumps(sorted(n for n in sys.modules if n.startswith('matgenome.cli'))))")
    imported = _imported_modules(code)
    assert "matgenome.cli.commands.datasets" in imported
    commands = {n for n in imported if n.startswith("matgenome.cli.commands.")}
    assert commands == {"matgenome.cli.commands.datasets"}


# What a command module must not import: each imports, at its top, only what its command
# needs. The training code (model selection, training, classification, evaluation) is for
# the commands that train or evaluate; optional heavy libraries (Dask, matplotlib) are
# imported only when an option asks for them.
TRAINING_CODE = ("matgenome.training", "matgenome.selection", "matgenome.classification",
                 "matgenome.evaluation")
OPTIONAL = ("dask", "distributed", "matplotlib")
NOT_NEEDED = {
    "datasets": (*TRAINING_CODE, "matgenome.modelfile", "matgenome.features", "sklearn"),
    "featurize": TRAINING_CODE,
    "predict": TRAINING_CODE,
    "model": TRAINING_CODE,
    "generate": (*TRAINING_CODE, "matgenome.modelfile"),
    "rank": TRAINING_CODE,
    "screen": TRAINING_CODE,
    "simulate": ("matgenome.training", "matgenome.selection", "matgenome.evaluation"),
    "train": ("matgenome.evaluation",),
    "evaluate": (),
    "build_default_model": (),
    "campaign": (),
}


def test_every_command_module_is_checked() -> None:
    from matgenome.cli import COMMANDS

    assert {f"commands.{name}" for name in NOT_NEEDED} == {e.module for e in COMMANDS}


@pytest.mark.parametrize("module", sorted(NOT_NEEDED))
def test_a_command_module_imports_only_what_its_command_needs(module: str) -> None:
    code = (f"import json, sys\nimport matgenome.cli.commands.{module}\n"
            "print(json.dumps(sorted(sys.modules)))")
    imported = _imported_modules(code)
    assert f"matgenome.cli.commands.{module}" in imported
    unwanted = {name for name in imported
                if any(name == m or name.startswith(m + ".")
                       for m in (*NOT_NEEDED[module], *OPTIONAL))}
    assert not unwanted, sorted(unwanted)
    others = {n for n in imported if n.startswith("matgenome.cli.commands.")}
    assert others == {f"matgenome.cli.commands.{module}"}  # never another command


@pytest.mark.parametrize(("command", "dest", "expected"), [
    ("train", "recipe", "recipes"),
    ("train", "censored", "censored"),
    ("train", "fallback", "fallbacks"),
    ("train", "kind", "kinds"),
    ("rank", "acquisition", "acquisitions"),
])
def test_option_choices_come_from_the_modules_that_define_them(command: str, dest: str,
                                                               expected: str) -> None:
    from matgenome.cli import build_parser
    from matgenome.models.calibrated import KINDS
    from matgenome.ranking.acquisition import ACQUISITIONS
    from matgenome.selection import ALIASES, CANDIDATES, CLASSIFIER_CANDIDATES
    from matgenome.training import CENSORED_TREATMENTS, FALLBACKS

    sources = {"recipes": ("auto", *CANDIDATES, *ALIASES, *CLASSIFIER_CANDIDATES),
               "censored": CENSORED_TREATMENTS, "fallbacks": FALLBACKS, "kinds": KINDS,
               "acquisitions": ACQUISITIONS}
    child = build_parser(command)._subparsers._group_actions[0].choices[command]
    choices = {a.dest: a.choices for a in child._actions}
    assert tuple(choices[dest]) == tuple(sources[expected])


def test_family_help_lists_the_seed_families() -> None:
    from matgenome.cli import build_parser
    from matgenome.generation import load_seeds

    child = build_parser("generate")._subparsers._group_actions[0].choices["generate"]
    text = "".join(child.format_help().split())  # help lines wrap at spaces and hyphens
    for family in load_seeds():
        assert family.name.replace(" ", "") in text
