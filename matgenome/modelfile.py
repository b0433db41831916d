"""Model directories: the estimator, its model card, and a manifest checked before loading.

A model directory holds

``model.skops``    the fitted estimator in skops' format, which rebuilds objects from an
                   allow-list of types instead of unpickling arbitrary code; from format 2
                   its decision trees hold only a reference into ``trees.npz``;
``trees.npz``      (format 2) every decision tree's node and value arrays as plain NumPy
                   arrays, read with ``allow_pickle=False`` and rebuilt into scikit-learn
                   trees: the bulk of a forest loads without skops' object graph;
``card.json``      the model card: target, unit, feature preset, estimator and parameters,
                   training data and its SHA-256, metrics with their protocol, intended use
                   and limits, library versions;
``MODEL_CARD.md``  the same card as a readable page;
``domain.skops``   the applicability-domain model (``matgenome.domain.DomainModel``);
``training_data.csv``  the training rows (formula, target, censor), so that ranking can mark
                   known compositions and the applicability domain can be checked;
``manifest.json``  the format version, the library versions, and the SHA-256 of every
                   other file.

``load_model`` checks the manifest, every file's hash and the format version before it
reads the estimator, and loads it only if every type in the file is on the allow-list, so a
truncated, modified or foreign file is refused with a clear message and never runs code.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from matgenome.errors import ModelFileError
from matgenome.files import apply_umask
from matgenome.known import KnownMeasurements
from matgenome.models import Prediction, predict_formulas
from matgenome.provenance import MODEL_PACKAGES, file_sha256, json_text, software_versions
from matgenome.resources import shipped_path

FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)  # format 1: trees inside model.skops
ESTIMATOR_FILE = "model.skops"
TREES_FILE = "trees.npz"
CARD_FILE = "card.json"
CARD_PAGE = "MODEL_CARD.md"
TRAINING_FILE = "training_data.csv"
DOMAIN_FILE = "domain.skops"
MANIFEST_FILE = "manifest.json"
DEFAULT_MODEL_NAME = "obelix_conductivity"

# Types a model file may contain beyond skops' own defaults (scikit-learn and numpy).
TRUSTED_PREFIXES = ("matgenome.", "sklearn.", "numpy.", "builtins.", "collections.")


@dataclass
class TrainedModel:
    """A fitted estimator with its model card."""

    estimator: Any
    card: dict[str, Any]
    path: Path | None = None
    training_data: pd.DataFrame | None = field(default=None, repr=False)
    domain: Any = field(default=None, repr=False)
    sha256: str | None = None  # SHA-256 of the directory's manifest.json, once saved

    @property
    def name(self) -> str:
        return str(self.card.get("name", self.path.name if self.path else "model"))

    def predict(self, formulas: Iterable[object], n_jobs: int | None = None) -> Prediction:
        """Mean and one-standard-deviation uncertainty for every formula (NaN + reason
        for rows that cannot be scored), with applicability-domain flags and, for
        compositions in the training data, their measured values (``Prediction.known``).
        ``n_jobs`` threads score the trees (None or -1: every core; 1: one thread); the
        numbers do not depend on it."""
        formulas = list(formulas)
        prediction = predict_formulas(self.estimator, formulas, domain=self.domain,
                                      n_jobs=n_jobs)
        prediction.labels = self.labels
        prediction.attach_known(self.known.lookup(formulas),
                                spread_is_noise=self.labels is None)
        return prediction

    @property
    def task(self) -> str:
        """``regression`` or ``classification`` (``mean`` = probability of the positive
        class, see ``card["classification"]``)."""
        return str(self.card.get("task", "regression"))

    @property
    def labels(self) -> dict[str, Any] | None:
        """A classification model's classes, positive class and threshold; else None."""
        return self.card.get("classification") if self.task == "classification" else None

    @functools.cached_property
    def known(self) -> KnownMeasurements:
        """Measured values per composition of the training data (censored ones as bounds)."""
        return KnownMeasurements.from_training_data(self.training_data)

    @property
    def target(self) -> str:
        """The target's display label (``log10(σ / S cm⁻¹)``), for headers and axes."""
        from matgenome.targets import normalise_target

        label = normalise_target(self.card.get("target"))["label"]
        if self.labels:  # a classifier predicts the probability of its positive class
            return f"probability of {self.labels['positive']!r} ({label})"
        return label


def library_versions() -> dict[str, str]:
    """Versions of the libraries whose behaviour a model depends on."""
    return software_versions(MODEL_PACKAGES, missing="unknown")


def save_model(model: TrainedModel, directory: str | os.PathLike) -> Path:
    """Write a model directory atomically (a new directory renamed into place)."""
    sio = import_skops_io()
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
        card = dict(model.card)
        card["versions"] = library_versions()
        card["format_version"] = FORMAT_VERSION
        with trees_set_aside(model.estimator) as trees:
            sio.dump(model.estimator, staging / ESTIMATOR_FILE,
                     compression=zipfile.ZIP_DEFLATED)
        _make_reproducible(staging / ESTIMATOR_FILE)
        write_trees(staging / TREES_FILE, trees)
        (staging / CARD_FILE).write_text(json_text(card, indent=2, sort_keys=True, strict=False))
        (staging / CARD_PAGE).write_text(render_card(card))
        names = [ESTIMATOR_FILE, TREES_FILE, CARD_FILE, CARD_PAGE]
        if model.domain is not None:
            sio.dump(model.domain, staging / DOMAIN_FILE, compression=zipfile.ZIP_DEFLATED)
            _make_reproducible(staging / DOMAIN_FILE)
            names.append(DOMAIN_FILE)
        if model.training_data is not None:
            model.training_data.to_csv(staging / TRAINING_FILE, index=False)
            names.append(TRAINING_FILE)
        manifest = {
            "format": "matgenome-model",
            "format_version": FORMAT_VERSION,
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


_OBJECT_ID = re.compile(r'("__id__": )(\d+)|"(\d+)\.npy"')


def _make_reproducible(path: Path) -> None:
    """Rewrite a skops zip so that the same model always gives the same bytes.

    skops names array files and memo entries after ``id()`` of the objects, which changes
    from run to run; they are renumbered in order of first appearance in the schema, and
    entry times are fixed.
    """
    with zipfile.ZipFile(path) as source:
        entries = {info.filename: source.read(info) for info in source.infolist()}
    numbers: dict[str, str] = {}

    def renumber(match: re.Match[str]) -> str:
        old = match.group(2) or match.group(3)
        new = numbers.setdefault(old, str(len(numbers) + 1))
        return f"{match.group(1)}{new}" if match.group(1) else f'"{new}.npy"'

    schema = _OBJECT_ID.sub(renumber, entries.pop("schema.json").decode())
    renamed = {"schema.json": schema.encode()}
    for name, data in entries.items():
        stem = name.removesuffix(".npy")
        renamed[f"{numbers[stem]}.npy" if stem in numbers else name] = data
    with zipfile.ZipFile(path, "w") as target:
        for name in sorted(renamed):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, renamed[name])


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
    directory = Path(directory) if directory is not None else default_model_path()
    manifest, manifest_sha256 = _read_manifest(directory)
    contents = _verify_hashes(directory, manifest)
    card = json.loads(contents[CARD_FILE])
    _check_versions(directory, manifest)
    estimator = _load_estimator(directory / ESTIMATOR_FILE, contents[ESTIMATOR_FILE])
    if manifest["format_version"] >= 2:
        if TREES_FILE not in contents:
            raise ModelFileError(f"{directory / MANIFEST_FILE} does not list {TREES_FILE}")
        put_trees_back(estimator, read_trees(directory / TREES_FILE, contents[TREES_FILE]))
    training = None
    if TRAINING_FILE in contents:
        training = pd.read_csv(io.BytesIO(contents[TRAINING_FILE]), keep_default_na=False,
                               dtype={"formula": str, "censor": str})
    domain = None
    if DOMAIN_FILE in contents:
        domain = _load_estimator(directory / DOMAIN_FILE, contents[DOMAIN_FILE])
    return TrainedModel(estimator=estimator, card=card, path=directory, training_data=training,
                        domain=domain, sha256=manifest_sha256)


def model_info(directory: str | os.PathLike | None = None) -> dict[str, Any]:
    """What a model directory holds, from its manifest and card, without loading the
    estimator: name, manifest hash, versions, feature set, training data and its hash,
    metrics, recipe, target and unit. The card is checked against its manifest hash."""
    directory = Path(directory) if directory is not None else default_model_path()
    manifest, manifest_sha256 = _read_manifest(directory)
    files = manifest.get("files")
    if not isinstance(files, dict) or CARD_FILE not in files:
        raise ModelFileError(f"{directory / MANIFEST_FILE} does not list the model files")
    raw = (directory / CARD_FILE).read_bytes() if (directory / CARD_FILE).exists() else None
    if raw is None or hashlib.sha256(raw).hexdigest() != files[CARD_FILE]:
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


def _read_manifest(directory: Path) -> tuple[dict[str, Any], str]:
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
    return manifest, hashlib.sha256(raw).hexdigest()


def _verify_hashes(directory: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """The bytes of every file the manifest lists, each checked against its SHA-256."""
    files = manifest.get("files")
    if not isinstance(files, dict) or ESTIMATOR_FILE not in files or CARD_FILE not in files:
        raise ModelFileError(f"{directory / MANIFEST_FILE} does not list the model files")
    contents: dict[str, bytes] = {}
    for name, expected in files.items():
        if Path(name).name != name:
            raise ModelFileError(f"manifest of {directory} names a path outside it: {name!r}")
        path = directory / name
        if not path.exists():
            raise ModelFileError(f"{directory} is incomplete: {name} is missing")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != expected:
            raise ModelFileError(
                f"{path} does not match its SHA-256 in the manifest: the file was modified "
                "or damaged. Refusing to load it."
            )
        contents[name] = data
    return contents


def _check_versions(directory: Path, manifest: dict[str, Any]) -> None:
    import sklearn

    saved = manifest.get("versions", {}).get("scikit-learn", "")
    if _major_minor(saved) != _major_minor(sklearn.__version__):
        warnings.warn(
            f"{directory} was saved with scikit-learn {saved}; this is {sklearn.__version__}. "
            "Predictions may differ; rebuild the model to be sure.",
            stacklevel=3,
        )


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _load_estimator(path: Path, data: bytes) -> Any:
    """Rebuild the object in a skops file's bytes if every type in it is on the allow-list.

    The file's tree of nodes is built once: its types are audited against
    ``TRUSTED_PREFIXES`` and the same tree is then constructed (``skops.io.load`` after
    ``get_untrusted_types`` would parse the file twice, the costliest step of a load).
    """
    skops_io = import_skops_io()
    try:
        from skops.io._audit import get_tree
        from skops.io._utils import read_schema
    except ImportError:  # a skops without these internals: the public, two-pass route
        return _load_estimator_public(skops_io, path, data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema, context = read_schema(archive)
            tree = get_tree(schema, context, trusted=None)
            untrusted = sorted(tree.get_unsafe_set())
            _refuse_foreign(path, untrusted)
            # Every type outside skops' defaults is now on the allow-list: this is the
            # check skops.io.load makes (audit_tree) with trusted=untrusted.
            try:
                return tree.construct()
            except Exception as exc:  # an incompatible library version raises many types
                raise ModelFileError(f"{path} could not be loaded with the installed "
                                     f"libraries ({exc}). Rebuild it.") from None
    except ModelFileError:
        raise
    except Exception as exc:  # a damaged zip or schema raises many types
        raise ModelFileError(f"{path} is not a readable skops file: {exc}") from None


def _refuse_foreign(path: Path, untrusted: list[str]) -> None:
    foreign = [t for t in untrusted if not t.startswith(TRUSTED_PREFIXES)]
    if foreign:
        raise ModelFileError(
            f"{path} contains types matgenome does not load: {', '.join(foreign)}. "
            "Refusing to load it."
        )


def _load_estimator_public(skops_io: Any, path: Path, data: bytes) -> Any:
    try:
        untrusted = skops_io.get_untrusted_types(data=data)
    except Exception as exc:  # a damaged zip raises many types
        raise ModelFileError(f"{path} is not a readable skops file: {exc}") from None
    _refuse_foreign(path, untrusted)
    try:
        return skops_io.loads(data, trusted=untrusted)
    except Exception as exc:  # an incompatible library version raises many types
        raise ModelFileError(
            f"{path} could not be loaded with the installed libraries ({exc}). Rebuild it."
        ) from None


TREE_MARK = "trees.npz#"  # what a tree's ``tree_`` holds in model.skops: its key in the npz
# One row per tree in the "table" array: these columns, then n_classes per output.
_TABLE_COLUMNS = ("n_features", "n_outputs", "max_depth", "node_count", "value_size")


def _objects(root: Any) -> Iterable[Any]:
    """Every object reachable from ``root`` through instance attributes, lists, tuples and
    dicts, each once, in a fixed order (depth first, attributes in definition order)."""
    import numpy as np

    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, np.ndarray)):
            continue
        seen.add(id(obj))
        if isinstance(obj, dict):
            stack.extend(reversed(list(obj.values())))
        elif isinstance(obj, (list, tuple)):
            stack.extend(reversed(obj))
        elif hasattr(obj, "__dict__") and type(obj).__module__.startswith(TRUSTED_PREFIXES):
            yield obj
            stack.extend(reversed(list(vars(obj).values())))


@contextlib.contextmanager
def trees_set_aside(estimator: Any) -> Iterator[dict[str, Any]]:
    """Within the block, every fitted scikit-learn tree of ``estimator`` holds a reference
    (``"trees.npz#<n>"``) instead of its ``tree_``; yields {reference: tree_}. The trees
    are put back on exit, also after an error."""
    from sklearn.tree._tree import Tree

    trees: dict[str, Any] = {}
    owners = [obj for obj in _objects(estimator) if isinstance(vars(obj).get("tree_"), Tree)]
    try:
        for number, owner in enumerate(owners):
            key = f"{TREE_MARK}{number}"
            trees[key], owner.tree_ = owner.tree_, key
        yield trees
    finally:
        for owner in owners:
            if isinstance(owner.tree_, str):
                owner.tree_ = trees[owner.tree_]


def write_trees(path: Path, trees: dict[str, Any]) -> None:
    """All trees in three plain arrays of an npz archive: ``nodes`` (every tree's node
    table, one after the other), ``values`` (their values, flattened) and ``table`` (one
    row per tree: ``_TABLE_COLUMNS`` then n_classes per output). Entry times are fixed so
    that the same trees give the same bytes; few large arrays read faster than thousands."""
    import numpy as np

    states = [tree.__reduce__() for tree in trees.values()]
    widest = max((len(args[1]) for _, args, _ in states), default=1)
    table = np.zeros((len(states), len(_TABLE_COLUMNS) + widest), dtype=np.int64)
    for row, (_, (n_features, n_classes, n_outputs), state) in enumerate(states):
        table[row, :len(_TABLE_COLUMNS)] = (n_features, n_outputs, state["max_depth"],
                                            len(state["nodes"]), state["values"].size)
        table[row, len(_TABLE_COLUMNS):len(_TABLE_COLUMNS) + len(n_classes)] = n_classes
    arrays = {"table": table}
    if states:
        arrays["nodes"] = np.concatenate([state["nodes"] for _, _, state in states])
        arrays["values"] = np.concatenate([state["values"].ravel() for _, _, state in states])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as handle:
                np.lib.format.write_array(handle, np.ascontiguousarray(array),
                                          allow_pickle=False)


def read_trees(path: Path, data: bytes) -> dict[str, Any]:
    """Rebuild the scikit-learn trees of an npz written by ``write_trees``: plain arrays
    only (``allow_pickle=False``), layouts checked by scikit-learn's ``Tree.__setstate__``,
    child links and feature indices checked here."""
    import numpy as np

    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except Exception as exc:  # a damaged zip or an object array raises many types
        raise ModelFileError(f"{path} is not a readable tree archive ({exc}). Refusing to "
                             "load it.") from None
    table = arrays.get("table")
    if (table is None or table.dtype != np.int64 or table.ndim != 2
            or table.shape[1] <= len(_TABLE_COLUMNS)):
        raise ModelFileError(f"{path} has no valid tree table. Refusing to load it.")
    nodes, values = arrays.get("nodes"), arrays.get("values")
    counts, sizes = table[:, 3], table[:, 4]
    if len(table) and (nodes is None or values is None or (table < 0).any()
                       or counts.sum() != len(nodes) or sizes.sum() != values.size):
        raise ModelFileError(f"{path}: the tree table does not match its node and value "
                             "arrays. Refusing to load it.")
    node_starts = np.concatenate([[0], np.cumsum(counts)])
    value_starts = np.concatenate([[0], np.cumsum(sizes)])
    return {f"{TREE_MARK}{number}": _rebuild_tree(
                path, number, row, nodes[node_starts[number]:node_starts[number + 1]],
                values[value_starts[number]:value_starts[number + 1]])
            for number, row in enumerate(table)}


def _rebuild_tree(path: Path, number: int, row: Any, nodes: Any, values: Any) -> Any:
    import numpy as np
    from sklearn.tree._tree import Tree

    n_features, n_outputs, max_depth, node_count, _ = (int(v) for v in row[:5])
    try:
        if not 1 <= n_outputs <= len(row) - len(_TABLE_COLUMNS):
            raise ValueError(f"{n_outputs} outputs")
        n_classes = np.asarray(row[5:5 + n_outputs], dtype=np.intp)
        tree = Tree(n_features, n_classes, n_outputs)
        width = int(n_classes.max())
        tree.__setstate__({"max_depth": max_depth, "node_count": node_count, "nodes": nodes,
                           "values": values.reshape(node_count, n_outputs, width)})
        _check_links(nodes, n_features)
    except Exception as exc:  # wrong layouts, sizes or links raise many types
        raise ModelFileError(f"{path}: tree {number} cannot be rebuilt ({exc}). "
                             "Refusing to load it.") from None
    return tree


def _check_links(nodes: Any, n_features: int) -> None:
    """Refuse node tables whose child links or feature indices point outside the tree or
    the features (scikit-learn's traversal does not check them when predicting)."""
    import numpy as np

    index = np.arange(len(nodes))
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    leaf = left == -1
    children_ok = np.where(leaf, right == -1, (left > index) & (left < len(nodes))
                           & (right > index) & (right < len(nodes)))
    feature_ok = np.where(leaf, True, (feature >= 0) & (feature < n_features))
    if not (children_ok.all() and feature_ok.all()):
        raise ValueError("node links or feature indices out of range")


def put_trees_back(estimator: Any, trees: dict[str, Any]) -> None:
    """Replace every ``"trees.npz#<n>"`` reference in ``estimator`` by its rebuilt tree;
    every reference must resolve and every tree be used."""
    used = set()
    for obj in _objects(estimator):
        key = vars(obj).get("tree_")
        if isinstance(key, str) and key.startswith(TREE_MARK):
            if key not in trees:
                raise ModelFileError(f"{TREES_FILE} has no tree {key!r} named by the model")
            obj.tree_ = trees[key]
            used.add(key)
    if used != set(trees):
        raise ModelFileError(f"{TREES_FILE} holds trees the model does not name")


def import_skops_io() -> Any:
    """``skops.io``, imported without building skops' default allow-list of estimators.

    On import, skops lists every scikit-learn estimator as trusted by default, which
    imports every scikit-learn module (and pytest, through ``sklearn.utils._testing``):
    over a second. matgenome never relies on that default list, since it audits every
    type against its own ``TRUSTED_PREFIXES`` and passes exactly the audited types as
    ``trusted``, so the list is built empty. That only makes skops' default stricter
    (estimators are then reported as untrusted), never looser.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils
    import sklearn.utils.discovery as discovery

    original = (sklearn.utils.all_estimators, discovery.all_estimators)

    def no_estimators(*args: object, **kwargs: object) -> list:
        return []

    sklearn.utils.all_estimators = discovery.all_estimators = no_estimators
    try:
        import skops.io
    finally:
        sklearn.utils.all_estimators, discovery.all_estimators = original
    return skops.io


def _fallback_lines(fallback: dict[str, Any] | None) -> list[str]:
    """The far-from-data relation of a model card, in words."""
    if not fallback:
        return ["- far from the training data: no fallback (predictions as the model gives)"]
    held = fallback.get("held_out", {})
    if fallback.get("b0") is None:
        relation = "never falls back (falling back did not help on the held-out rows)"
    else:
        relation = (f"model weight {fallback['weight']} with b0 = {fallback['b0']:.3g}, "
                    f"b1 = {fallback['b1']:.3g}, b2 = {fallback['b2']:.3g}")
    what = ("the prediction moves and the interval widens"
            if fallback.get("moves") == "prediction and interval"
            else "the prediction is kept and the interval widens")
    return [
        f"- where the model is unsure far from its training data, {what} towards the "
        f"training distribution (median {fallback['center']:.3g}, sd "
        f"{fallback['spread']:.3g}): {relation}",
        f"- interval scales: model {fallback['model_scale']:.3g}, prior "
        f"{fallback['prior_scale']:.3g}; held-out rows inside the training data "
        f"({held.get('rows', 0):.0f}): MAE {held.get('mae_model', float('nan')):.3g} "
        f"without, {held.get('mae_fallback', float('nan')):.3g} with the fallback, "
        f"{held.get('mae_median', float('nan')):.3g} for the median",
    ]


def _classification_lines(labels: dict[str, Any] | None) -> list[str]:
    """A classifier's classes, class of interest and label threshold, in words."""
    if not labels:
        return []
    counts = labels.get("counts", {})
    return [f"- classification: classes {labels['negative']!r} "
            f"({counts.get(labels['negative'], '?')} rows) and {labels['positive']!r} "
            f"({counts.get(labels['positive'], '?')} rows); the prediction is the probability "
            f"of {labels['positive']!r} ({labels.get('positive_chosen_by', '')}), labelled "
            f"{labels['positive']!r} from {labels['threshold']:.3g} (its training share)"]


def render_card(card: dict[str, Any]) -> str:
    """The model card as a readable Markdown page."""
    from matgenome.targets import normalise_target

    target = normalise_target(card.get("target"))
    training = card.get("training_data", {})
    lines = [
        f"# Model card: {card.get('name', 'model')}",
        "",
        card.get("description", ""),
        "",
        "## Target",
        f"- {target['name']}, shown as {target['label']}",
        f"- unit of the values: {target['unit'] or 'not given'}; transform: "
        f"{target['transform']}",
        "",
        "## Training data",
        f"- source: {training.get('source', '?')}",
        f"- rows used: {training.get('rows_used', '?')} of {training.get('rows_read', '?')}",
        f"- censored rows: {training.get('censored_treatment', '?')}",
        f"- SHA-256 of (formula, target): `{training.get('sha256', '?')}`",
        "",
        "## Features and estimator",
        f"- feature preset: `{card.get('feature_preset', '?')}`",
        f"- estimator: `{card.get('estimator', {}).get('class', '?')}`",
        "- parameters: `" + json.dumps(card.get("estimator", {}).get("params", {}),
                                       sort_keys=True) + "`",
        *_fallback_lines(card.get("fallback")),
        *_classification_lines(card.get("classification")),
        "",
        "## Metrics",
    ]
    metrics = card.get("metrics") or {}
    if not metrics:
        lines.append("- none recorded")
    for name, value in metrics.items():
        lines.append(f"- {name}: {value}")
    lines += ["", "## Intended use", card.get("intended_use", ""), "", "## Limits"]
    lines += [f"- {limit}" for limit in card.get("limits", [])]
    lines += ["", "## Versions"]
    lines += [f"- {k}: {v}" for k, v in sorted(card.get("versions", {}).items())]
    return "\n".join(lines) + "\n"
