"""Packaging metadata: runtime requirements, shipped-data packages, licence and version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in requirements}


def test_pytest_is_a_test_extra_not_a_runtime_requirement() -> None:
    assert "pytest" not in _names(PROJECT["dependencies"])
    assert "pytest" in _names(PROJECT["optional-dependencies"]["test"])


def test_every_imported_third_party_library_is_declared() -> None:
    runtime = _names(PROJECT["dependencies"])
    assert {"scipy", "numpy", "pandas", "scikit-learn", "pymatgen", "skops"} <= runtime
    imports_scipy = any("scipy" in p.read_text() for p in (ROOT / "matgenome").rglob("*.py"))
    assert imports_scipy


def test_joblib_is_not_a_runtime_requirement_as_the_package_does_not_use_it() -> None:
    used = [p for p in (ROOT / "matgenome").rglob("*.py")
            if re.search(r"^\s*(import|from) joblib", p.read_text(), re.MULTILINE)]
    assert not used
    assert "joblib" not in _names(PROJECT["dependencies"])


def test_licence_is_an_spdx_string() -> None:
    assert PROJECT["license"] == "BSD-3-Clause"


def test_version_has_one_source() -> None:
    assert "version" not in PROJECT
    assert "version" in PROJECT["dynamic"]
    attr = SETUPTOOLS["dynamic"]["version"]["attr"]
    assert attr == "matgenome._version.__version__"
    written = [p.relative_to(ROOT) for p in (ROOT / "matgenome").rglob("*.py")
               if re.search(r"^__version__\s*=", p.read_text(), re.MULTILINE)]
    assert written == [Path("matgenome/_version.py")]


def test_every_shipped_data_directory_is_a_listed_package() -> None:
    packages = set(SETUPTOOLS["packages"])
    for mapped, source in SETUPTOOLS["package-dir"].items():
        for directory in [ROOT / source, *(p for p in (ROOT / source).rglob("*") if p.is_dir())]:
            if "__pycache__" in directory.parts:
                continue
            relative = directory.relative_to(ROOT / source).parts
            assert ".".join((mapped, *relative)) in packages, directory


def test_every_code_package_is_listed() -> None:
    # A package missing from the list is left out of the wheel: `pip install .` breaks.
    packages = set(SETUPTOOLS["packages"])
    for init in (ROOT / "matgenome").rglob("__init__.py"):
        if "_shipped" in init.parts:
            continue
        name = ".".join(init.parent.relative_to(ROOT).parts)
        assert name in packages, name


def test_installed_metadata_agrees() -> None:
    """The metadata of the installed package (built from pyproject.toml) says the same."""
    from importlib.metadata import requires, version

    from matgenome._version import __version__

    runtime = [r for r in requires("matgenome") or [] if "extra ==" not in r]
    assert "pytest" not in _names(runtime) and "scipy" in _names(runtime)
    assert version("matgenome") == __version__
