"""Write, check and read model directories (``save_model``, ``load_model``, ``model_info``).

``load_model`` checks the manifest, every file's hash and the format version before it
reads the estimator. From format 3 the estimator is JSON data naming only allow-listed
classes plus plain arrays (``matgenome.modelfile.skeleton``, ``matgenome.modelfile.trees``):
reading it cannot run code and needs no skops. Formats 1 and 2 (skops) still load, every
type audited first, and ``migrate_model`` rewrites them in the current format.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from matgenome.errors import ModelFileError
from matgenome.files import apply_umask
from matgenome.modelfile.card import render_card
from matgenome.modelfile.format import (
    CARD_FILE,
    CARD_PAGE,
    DEFAULT_MODEL_NAME,
    FORMAT_VERSION,
    MANIFEST_FILE,
    TRAINING_FILE,
    TREES_FILE,
    check_versions,
    estimator_files,
    library_versions,
    read_manifest,
    verify_hashes,
)
from matgenome.modelfile.model import TrainedModel
from matgenome.modelfile.skeleton import UnsupportedObject, dump_skeleton, load_skeleton
from matgenome.modelfile.trees import TREE_MARK, put_trees_back, read_trees, write_trees
from matgenome.provenance import bytes_sha256, file_sha256, json_text
from matgenome.resources import shipped_path

# Format written for an estimator the JSON skeleton cannot describe (skops skeleton).
SKOPS_FORMAT_VERSION = 2


def save_model(model: TrainedModel, directory: str | os.PathLike) -> Path:
    """Write a model directory atomically (a new directory renamed into place)."""
    return _save(model, directory)


def _save(model: TrainedModel, directory: str | os.PathLike,
          training_csv: bytes | None = None) -> Path:
    """``save_model``; ``training_csv``: the training rows' file as read, written as is
    (a migration keeps its bytes: parsing and writing the CSV again may change a float's
    last digit)."""
    directory = Path(directory)
    is_model = (directory / MANIFEST_FILE).exists()
    if directory.exists() and not is_model and any(directory.iterdir()):
        raise ModelFileError(
            f"{directory} exists and is not a matgenome model directory; refusing to "
            "overwrite it"
        )
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except OSError as exc:  # the error would name the hidden staging directory
        raise ModelFileError(f"cannot write {directory}: {exc.strerror or exc}") from None
    try:
        version = _write_estimators(model, staging)
        card = dict(model.card)
        card["versions"] = library_versions()
        card["format_version"] = version
        (staging / CARD_FILE).write_text(json_text(card, indent=2, sort_keys=True, strict=False))
        (staging / CARD_PAGE).write_text(render_card(card))
        if training_csv is not None:
            (staging / TRAINING_FILE).write_bytes(training_csv)
        elif model.training_data is not None:
            model.training_data.to_csv(staging / TRAINING_FILE, index=False)
        names = sorted(p.name for p in staging.iterdir())
        manifest = {
            "format": "matgenome-model",
            "format_version": version,
            "versions": card["versions"],
            "files": {name: file_sha256(staging / name) for name in names},
        }
        (staging / MANIFEST_FILE).write_text(
            json_text(manifest, indent=2, sort_keys=True, strict=False))
        model.sha256 = file_sha256(staging / MANIFEST_FILE)
        apply_umask(staging, directory=True)
        _replace_directory(staging, directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    model.card, model.path = card, directory
    return directory


def _write_estimators(model: TrainedModel, staging: Path) -> int:
    """Write the estimator, its trees and the domain model; returns the format version
    written (3, or 2 when an object has no JSON description, such as a Cython object)."""
    estimator_file, domain_file = estimator_files(FORMAT_VERSION)
    try:
        skeleton, trees = dump_skeleton(model.estimator)
        domain = None
        if model.domain is not None:
            domain, domain_trees = dump_skeleton(model.domain)
            if domain_trees:
                raise UnsupportedObject("trees in the domain model")
    except UnsupportedObject:
        return _write_skops_estimators(model, staging)
    (staging / estimator_file).write_bytes(skeleton)
    # Stored, not deflated: inflating is most of the time a load spends on the trees
    # (wheels and git compress the file anyway).
    write_trees(staging / TREES_FILE, {f"{TREE_MARK}{n}": t for n, t in enumerate(trees)},
                compress=False)
    if domain is not None:
        (staging / domain_file).write_bytes(domain)
    return FORMAT_VERSION


def _write_skops_estimators(model: TrainedModel, staging: Path) -> int:
    from matgenome.modelfile.legacy import dump_skops
    from matgenome.modelfile.trees import trees_set_aside

    estimator_file, domain_file = estimator_files(SKOPS_FORMAT_VERSION)
    with trees_set_aside(model.estimator) as trees:
        dump_skops(model.estimator, staging / estimator_file)
    write_trees(staging / TREES_FILE, trees)
    if model.domain is not None:
        dump_skops(model.domain, staging / domain_file)
    return SKOPS_FORMAT_VERSION


def _replace_directory(staging: Path, directory: Path) -> None:
    if directory.exists():
        old = directory.with_name(f".{directory.name}.old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(directory, old)
        os.replace(staging, directory)
        shutil.rmtree(old)
    else:
        os.replace(staging, directory)


def default_model_path() -> Path:
    return shipped_path("models") / DEFAULT_MODEL_NAME


def load_model(directory: str | os.PathLike | None = None) -> TrainedModel:
    """Load a model directory after checking its manifest, hashes, format and types.

    With no argument, loads the shipped default model (OBELiX conductivity). Every file is
    read once: its hash is checked on the same bytes that are then parsed, so a file
    changed between the check and the load is never used.
    """
    return _load(directory)[0]


def _load(directory: str | os.PathLike | None) -> tuple[TrainedModel, dict[str, bytes]]:
    """The model and the checked bytes of every file it was read from."""
    directory = Path(directory) if directory is not None else default_model_path()
    manifest, manifest_sha256 = read_manifest(directory)
    contents = verify_hashes(directory, manifest)
    card = json.loads(contents[CARD_FILE])
    check_versions(directory, manifest)
    version = manifest["format_version"]
    if version >= 2 and TREES_FILE not in contents:
        raise ModelFileError(f"{directory / MANIFEST_FILE} does not list {TREES_FILE}")
    if version >= 3:
        estimator, domain = _load_skeletons(directory, contents)
    else:
        estimator, domain = _load_skops(directory, contents, version)
    training = None
    if TRAINING_FILE in contents:
        training = pd.read_csv(io.BytesIO(contents[TRAINING_FILE]), keep_default_na=False,
                               dtype={"formula": str, "censor": str})
    return TrainedModel(estimator=estimator, card=card, path=directory, training_data=training,
                        domain=domain, sha256=manifest_sha256), contents


def _load_skeletons(directory: Path, contents: dict[str, bytes]) -> tuple[Any, Any]:
    estimator_file, domain_file = estimator_files(3)
    trees = read_trees(directory / TREES_FILE, contents[TREES_FILE])
    ordered = [trees[f"{TREE_MARK}{n}"] for n in range(len(trees))]
    estimator = load_skeleton(contents[estimator_file], ordered,
                              str(directory / estimator_file))
    domain = None
    if domain_file in contents:
        domain = load_skeleton(contents[domain_file], [], str(directory / domain_file))
    return estimator, domain


def _load_skops(directory: Path, contents: dict[str, bytes], version: int) -> tuple[Any, Any]:
    from matgenome.modelfile.legacy import load_skops

    estimator_file, domain_file = estimator_files(version)
    estimator = load_skops(directory / estimator_file, contents[estimator_file])
    if version == 2:
        put_trees_back(estimator, read_trees(directory / TREES_FILE, contents[TREES_FILE]))
    domain = None
    if domain_file in contents:
        domain = load_skops(directory / domain_file, contents[domain_file])
    return estimator, domain


def migrate_model(source: str | os.PathLike | None = None,
                  target: str | os.PathLike | None = None) -> Path:
    """Rewrite a model directory (any readable format) in the current format, at
    ``target`` (default: in place; default source: the shipped model). The estimator,
    card, domain and training data are unchanged, so are the predictions; the same
    model always gives the same bytes. Refused for a model saved with another
    scikit-learn minor version: rebuild that one instead."""
    from matgenome.modelfile.format import major_minor

    model, contents = _load(source)
    saved = (model.card.get("versions") or {}).get("scikit-learn", "")
    installed = library_versions().get("scikit-learn", "")
    if major_minor(saved) != major_minor(installed):
        raise ModelFileError(f"{model.path} was saved with scikit-learn {saved}, this is "
                             f"{installed}: rebuild the model instead of migrating it")
    return _save(model, target if target is not None else model.path,
                 training_csv=contents.get(TRAINING_FILE))


def model_info(directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """What a model directory holds, from its manifest and card, without loading the
    estimator: name, manifest hash, versions, feature set, training data and its hash,
    metrics, recipe, target and unit. The card is checked against its manifest hash."""
    directory = Path(directory) if directory is not None else default_model_path()
    manifest, manifest_sha256 = read_manifest(directory)
    files = manifest.get("files")
    if not isinstance(files, dict) or CARD_FILE not in files:
        raise ModelFileError(f"{directory / MANIFEST_FILE} does not list the model files")
    raw = (directory / CARD_FILE).read_bytes() if (directory / CARD_FILE).exists() else None
    if raw is None or bytes_sha256(raw) != files[CARD_FILE]:
        raise ModelFileError(f"{directory / CARD_FILE} is missing or does not match its "
                             "SHA-256 in the manifest")
    card = json.loads(raw)
    recipe = dict(card.get("recipe") or {})
    recipe.setdefault("name", (card.get("selection") or {}).get("chosen"))
    return {
        "name": card.get("name", directory.name),
        "path": str(directory),
        "sha256": manifest_sha256,
        "format_version": manifest.get("format_version"),
        "versions": card.get("versions") or manifest.get("versions", {}),
        "target": card.get("target", {}),
        "feature_preset": card.get("feature_preset"),
        "estimator": (card.get("estimator") or {}).get("class"),
        "recipe": recipe,
        "training_data": {k: v for k, v in (card.get("training_data") or {}).items()
                          if k in ("source", "rows_read", "rows_used", "sha256",
                                   "censored_treatment")},
        "metrics": card.get("metrics") or {},
        "files": files,
        **({"task": "classification", "classification": card["classification"]}
           if card.get("task") == "classification" else {}),
    }
