"""Decision trees as plain arrays: ``trees.npz`` (formats 2 and 3).

Every scikit-learn tree's node and value arrays are stored in three plain NumPy arrays,
read with ``allow_pickle=False`` and rebuilt into scikit-learn trees with their child links
and feature indices checked. Format 2 marks each tree's place in the skops skeleton with a
``"trees.npz#<n>"`` string (``trees_set_aside``/``put_trees_back``); format 3 with
``{"$tree": n}`` in its JSON skeleton.
"""

from __future__ import annotations

import contextlib
import io
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from matgenome.errors import ModelFileError
from matgenome.modelfile.format import TREES_FILE, TRUSTED_PREFIXES

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


def write_trees(path: Path, trees: dict[str, Any], compress: bool = True) -> None:
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
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
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
    try:
        _check_all_links(path, table, nodes, node_starts)
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # not a node table
        raise ModelFileError(f"{path}: the node array is not a tree node table ({exc}). "
                             "Refusing to load it.") from None
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
    except Exception as exc:  # wrong layouts, sizes or links raise many types
        raise ModelFileError(f"{path}: tree {number} cannot be rebuilt ({exc}). "
                             "Refusing to load it.") from None
    return tree


def _check_all_links(path: Path, table: Any, nodes: Any, starts: Any) -> None:
    """Refuse node tables whose child links or feature indices point outside their tree or
    the features (scikit-learn's traversal does not check them when predicting); all
    trees at once, each node against its own tree's size and feature count."""
    import numpy as np

    if not len(table):
        return
    counts = table[:, 3]
    tree = np.repeat(np.arange(len(table)), counts)
    index = np.arange(len(nodes)) - starts[tree]  # each node's index inside its tree
    size, n_features = counts[tree], table[tree, 0]
    left, right, feature = nodes["left_child"], nodes["right_child"], nodes["feature"]
    leaf = left == -1
    children_ok = np.where(leaf, right == -1, (left > index) & (left < size)
                           & (right > index) & (right < size))
    feature_ok = np.where(leaf, True, (feature >= 0) & (feature < n_features))
    bad = np.flatnonzero(~(children_ok & feature_ok))
    if len(bad):
        raise ModelFileError(f"{path}: tree {tree[bad[0]]} cannot be rebuilt (node links or "
                             "feature indices out of range). Refusing to load it.")


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
