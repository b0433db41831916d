"""The model directory format: file names, versions, manifest and hash checks.

A model directory holds

``model.json``     (format 3) the fitted estimator without its trees, as JSON data naming
                   only allow-listed classes (``matgenome.modelfile.skeleton``); formats 1
                   and 2 hold ``model.skops`` instead (``matgenome.modelfile.legacy``);
``trees.npz``      (formats 2 and 3) every decision tree's node and value arrays as plain
                   NumPy arrays, read with ``allow_pickle=False`` (``matgenome.modelfile.trees``);
``card.json``      the model card: target, unit, feature preset, estimator and parameters,
                   training data and its SHA-256, metrics with their protocol, intended use
                   and limits, library versions;
``MODEL_CARD.md``  the same card as a readable page;
``domain.json``    the applicability-domain model (``matgenome.domain.DomainModel``), as
                   ``model.json`` (``domain.skops`` in formats 1 and 2);
``training_data.csv``  the training rows (formula, target, censor), so that ranking can mark
                   known compositions and the applicability domain can be checked;
``manifest.json``  the format version, the library versions, and the SHA-256 of every
                   other file.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

from matgenome.errors import ModelFileError
from matgenome.provenance import MODEL_PACKAGES, bytes_sha256, software_versions

FORMAT_VERSION = 3
READABLE_FORMATS = (1, 2, 3)  # 1: trees inside model.skops; 2: trees in trees.npz
ESTIMATOR_FILE = "model.json"
DOMAIN_FILE = "domain.json"
SKOPS_ESTIMATOR_FILE = "model.skops"  # formats 1 and 2
SKOPS_DOMAIN_FILE = "domain.skops"  # formats 1 and 2
TREES_FILE = "trees.npz"
CARD_FILE = "card.json"
CARD_PAGE = "MODEL_CARD.md"
TRAINING_FILE = "training_data.csv"
MANIFEST_FILE = "manifest.json"
DEFAULT_MODEL_NAME = "obelix_conductivity"

# Types a skops file (formats 1 and 2) may contain beyond skops' own defaults.
TRUSTED_PREFIXES = ("matgenome.", "sklearn.", "numpy.", "builtins.", "collections.")


def estimator_files(version: int) -> tuple[str, str]:
    """The estimator and domain file names of a format version."""
    if version >= 3:
        return ESTIMATOR_FILE, DOMAIN_FILE
    return SKOPS_ESTIMATOR_FILE, SKOPS_DOMAIN_FILE


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour a model depends on."""
    return software_versions(MODEL_PACKAGES, missing="unknown")


def read_manifest(directory: Path) -> tuple[dict[str, Any], str]:
    """The checked manifest and the SHA-256 of its bytes (the model's identity: the
    manifest holds the hash of every other file)."""
    if not directory.exists():
        raise ModelFileError(f"model directory not found: {directory}")
    if not directory.is_dir():
        raise ModelFileError(f"{directory} is not a model directory (expected a directory "
                             f"holding {MANIFEST_FILE})")
    path = directory / MANIFEST_FILE
    if not path.exists():
        raise ModelFileError(f"{directory} is not a matgenome model: {MANIFEST_FILE} is missing")
    raw = path.read_bytes()
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path} is damaged: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != "matgenome-model":
        raise ModelFileError(f"{path} is not a matgenome model manifest")
    version = manifest.get("format_version")
    if isinstance(version, bool) or version not in READABLE_FORMATS:
        raise ModelFileError(
            f"{directory} uses model format {version!r}; this matgenome reads formats "
            f"{', '.join(map(str, READABLE_FORMATS))}. Rebuild the model with this version "
            "(matgenome train ...)."
        )
    return manifest, bytes_sha256(raw)


def verify_hashes(directory: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """The bytes of every file the manifest lists, each checked against its SHA-256."""
    files = manifest.get("files")
    estimator = estimator_files(manifest["format_version"])[0]
    if not isinstance(files, dict) or estimator not in files or CARD_FILE not in files:
        raise ModelFileError(f"{directory / MANIFEST_FILE} does not list the model files")
    contents: dict[str, bytes] = {}
    for name, expected in files.items():
        if Path(name).name != name:
            raise ModelFileError(f"manifest of {directory} names a path outside it: {name!r}")
        path = directory / name
        if not path.exists():
            raise ModelFileError(f"{directory} is incomplete: {name} is missing")
        data = path.read_bytes()
        if bytes_sha256(data) != expected:
            raise ModelFileError(
                f"{path} does not match its SHA-256 in the manifest: the file was modified "
                "or damaged. Refusing to load it."
            )
        contents[name] = data
    return contents


def check_versions(directory: Path, manifest: dict[str, Any]) -> None:
    import sklearn

    saved = manifest.get("versions", {}).get("scikit-learn", "")
    if major_minor(saved) != major_minor(sklearn.__version__):
        warnings.warn(
            f"{directory} was saved with scikit-learn {saved}; this is {sklearn.__version__}. "
            "Predictions may differ; rebuild the model to be sure.",
            stacklevel=4,  # the caller of load_model (load_model -> _load -> here)
        )


def major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])
