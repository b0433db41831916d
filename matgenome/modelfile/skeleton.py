"""An estimator as JSON data: allow-listed classes, their state, arrays as bytes.

``dump_skeleton`` describes a fitted estimator as plain JSON: every object is the dotted
name of its class (``matgenome.`` or ``sklearn.`` only) and its ``__getstate__()``; arrays
are a dtype, a shape and their little-endian bytes in base64; scikit-learn decision trees
are a number into ``trees.npz`` (``matgenome.modelfile.trees``). ``load_skeleton`` rebuilds
it the way unpickling would (``cls.__new__`` then ``__setstate__``) but only for classes on
the allow-list and only from data, so a file can name no function to call and no module to
import outside the allow-list: reading it cannot run code. Anything else (a function, a
Cython object, an object array) makes ``dump_skeleton`` raise ``UnsupportedObject``.
"""

from __future__ import annotations

import base64
import importlib
import json
import math
from typing import Any

import numpy as np

from matgenome.errors import ModelFileError

# Modules whose classes a model file may name (numpy only for dtypes and scalars).
OBJECT_PREFIXES = ("matgenome.", "sklearn.")
SKELETON_VERSION = 1


class UnsupportedObject(TypeError):
    """An object the JSON skeleton cannot describe (the caller keeps the skops format)."""


def dump_skeleton(root: Any) -> tuple[bytes, list[Any]]:
    """The JSON bytes describing ``root`` and the scikit-learn trees it refers to, in
    order (tree ``n`` of the list is ``{"$tree": n}`` in the JSON)."""
    data, trees = _dump(root)
    # What __setstate__ does with a state is the class's business: keep the description
    # only if the object it rebuilds describes itself the same way.
    again, _ = _dump(load_skeleton(data, trees, "the model being saved"))
    if again != data:
        raise UnsupportedObject("an object whose state does not survive a round trip")
    return data, trees


def _dump(root: Any) -> tuple[bytes, list[Any]]:
    encoder = _Encoder()
    body = {"skeleton_version": SKELETON_VERSION, "root": encoder.encode(root)}
    text = json.dumps(body, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    return text.encode(), encoder.trees


def load_skeleton(data: bytes, trees: list[Any] | None, where: str) -> Any:
    """Rebuild the object described by ``data`` (bytes from ``dump_skeleton``), with
    ``trees`` for its ``{"$tree": n}`` references; every tree must be used once."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{where} is not a readable model description: {exc}") from None
    if not isinstance(body, dict) or body.get("skeleton_version") != SKELETON_VERSION \
            or "root" not in body:
        raise ModelFileError(f"{where} is not a model description this matgenome reads "
                             f"(skeleton version {SKELETON_VERSION})")
    decoder = _Decoder(trees or [], where)
    root = decoder.decode(body["root"])
    if len(decoder.used) != len(decoder.trees):
        raise ModelFileError(f"{where}: the tree archive holds trees the model does not name")
    return root


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Encoder:
    def __init__(self) -> None:
        from sklearn.tree._tree import Tree

        self.tree_type = Tree
        self.trees: list[Any] = []
        self.ids: dict[int, int] = {}  # id(object) -> its number, for shared objects
        self.alive: list[Any] = []  # keeps encoded objects alive so ids stay unique

    def encode(self, value: Any) -> Any:
        if value is None or type(value) in (bool, str, int):  # subclasses keep their type below
            return value
        if type(value) is float:
            return value if math.isfinite(value) else {"$float": repr(value)}
        if isinstance(value, np.ndarray) and value.dtype == object:
            return {"$objects": {"shape": list(value.shape),
                                 "items": [self._plain(v) for v in value.ravel().tolist()]}}
        if isinstance(value, np.ndarray):
            return {"$array": _encode_array(value)}
        if isinstance(value, np.generic):
            return {"$scalar": _encode_array(np.asarray(value))}
        if isinstance(value, np.dtype):
            return {"$dtype": _encode_dtype(value)}
        if type(value) is list:
            return [self.encode(v) for v in value]
        if type(value) is tuple:
            return {"$tuple": [self.encode(v) for v in value]}
        if type(value) is dict and all(type(k) is str for k in value):
            return {"$dict": {k: self.encode(v) for k, v in value.items()}}
        if type(value) is dict:
            return {"$items": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        if isinstance(value, self.tree_type):
            self.trees.append(value)
            return {"$tree": len(self.trees) - 1}
        if isinstance(value, type) and value.__module__.startswith(("numpy", "builtins")):
            if value not in _SIMPLE_TYPES.values():
                raise UnsupportedObject(f"type {_class_name(value)}")
            return {"$type": value.__name__}
        return self._object(value)

    def _plain(self, value: Any) -> Any:
        """An element of an object array (feature names, class labels): plain values only."""
        if value is not None and type(value) not in (str, int, float, bool):
            raise UnsupportedObject(f"object array holding {_class_name(type(value))}")
        return self.encode(value)

    def _object(self, value: Any) -> Any:
        cls = type(value)
        name = _class_name(cls)
        if not name.startswith(OBJECT_PREFIXES) or not hasattr(value, "__dict__") \
                or isinstance(value, _BUILTIN_BASES) \
                or any("__slots__" in vars(base) for base in cls.__mro__[:-1]):
            # A subclass of a builtin container or with slots keeps data outside __dict__.
            raise UnsupportedObject(name)
        if id(value) in self.ids:
            return {"$ref": self.ids[id(value)]}
        number = self.ids[id(value)] = len(self.ids)
        self.alive.append(value)
        state = value.__getstate__() if hasattr(value, "__getstate__") else vars(value)
        if type(state) is not dict or cls.__reduce__ is not object.__reduce__ \
                or cls.__reduce_ex__ is not object.__reduce_ex__:
            raise UnsupportedObject(f"{name} (custom pickling)")
        return {"$object": name, "$id": number, "state": self.encode(state)}


_BUILTIN_BASES = (dict, list, tuple, set, frozenset, str, bytes, int, float)

# Types (not instances) a skeleton may hold, such as an estimator's ``dtype=np.float64``.
_SIMPLE_TYPES: dict[str, type] = {t.__name__: t for t in (
    float, int, bool, str, np.float64, np.float32, np.int64, np.int32, np.bool_)}


def _encode_dtype(dtype: np.dtype) -> Any:
    if dtype.hasobject:
        raise UnsupportedObject(f"array of dtype {dtype}")
    descr = np.lib.format.dtype_to_descr(dtype)
    if _decode_dtype(descr) != dtype:
        raise UnsupportedObject(f"dtype {dtype}")
    return descr


def _decode_dtype(descr: Any) -> np.dtype:
    def tuples(value: Any) -> Any:
        if isinstance(value, list):
            return [tuple(tuples(v) for v in item) if isinstance(item, list) else item
                    for item in value]
        return value

    return np.lib.format.descr_to_dtype(tuples(descr))


def _encode_array(array: np.ndarray) -> dict[str, Any]:
    dtype = _encode_dtype(array.dtype)
    data = np.ascontiguousarray(array).tobytes()
    return {"dtype": dtype, "shape": list(array.shape),
            "data": base64.b64encode(data).decode("ascii")}


def _decode_array(spec: Any, where: str) -> np.ndarray:
    try:
        dtype = _decode_dtype(spec["dtype"])
        if dtype.hasobject:
            raise ValueError("object arrays are not allowed")
        shape = tuple(int(n) for n in spec["shape"])
        raw = base64.b64decode(spec["data"], validate=True)
        # A copy: arrays read from bytes are read-only, fitted attributes are not.
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    except Exception as exc:  # a malformed spec raises many types
        raise ModelFileError(f"{where}: an array cannot be read ({exc})") from None


class _Decoder:
    def __init__(self, trees: list[Any], where: str) -> None:
        self.trees, self.where = trees, where
        self.used: set[int] = set()
        self.objects: dict[int, Any] = {}

    def fail(self, message: str) -> ModelFileError:
        return ModelFileError(f"{self.where} {message}. Refusing to load it.")

    def decode(self, value: Any) -> Any:
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict) or len(value) not in (1, 3):
            raise self.fail("holds a value of unknown form")
        if len(value) == 3:
            if set(value) != {"$object", "$id", "state"}:
                raise self.fail("holds an object of unknown form")
            return self._object(value)
        (tag, content), = value.items()
        if tag == "$array":
            return _decode_array(content, self.where)
        if tag == "$objects":
            return self._object_array(content)
        if tag == "$scalar":
            return _decode_array(content, self.where)[()]
        if tag == "$dtype":
            return _decode_array({"dtype": content, "shape": [0], "data": ""},
                                 self.where).dtype
        if tag == "$tuple" and isinstance(content, list):
            return tuple(self.decode(v) for v in content)
        if tag == "$dict" and isinstance(content, dict):
            return {key: self.decode(item) for key, item in content.items()}
        if tag == "$items" and isinstance(content, list):
            return {self._key(pair[0]): self.decode(pair[1]) for pair in content}
        if tag == "$float" and content in ("nan", "inf", "-inf"):
            return float(content)
        if tag == "$type" and content in _SIMPLE_TYPES:
            return _SIMPLE_TYPES[content]
        if tag == "$tree":
            return self._tree(content)
        if tag == "$ref" and content in self.objects:
            return self.objects[content]
        raise self.fail(f"holds an unknown entry {tag!r}")

    def _object_array(self, spec: Any) -> np.ndarray:
        items = spec.get("items") if isinstance(spec, dict) else None
        if not isinstance(items, list) or any(  # plain values only, nothing to build
                isinstance(item, list)
                or (isinstance(item, dict) and list(item) != ["$float"])
                for item in items):
            raise self.fail("holds a malformed object array")
        values = [self.decode(item) for item in items]
        if any(v is not None and type(v) not in (str, int, float, bool) for v in values):
            raise self.fail("holds an object array of non-plain values")
        try:
            array = np.empty(len(values), dtype=object)
            array[:] = values
            return array.reshape(tuple(int(n) for n in spec["shape"]))
        except (TypeError, ValueError, KeyError) as exc:
            raise self.fail(f"holds a malformed object array ({exc})") from None

    def _key(self, key: Any) -> Any:
        decoded = self.decode(key)
        if isinstance(decoded, (list, dict, np.ndarray)):
            raise self.fail("holds a dictionary with an unhashable key")
        return decoded

    def _tree(self, number: Any) -> Any:
        if type(number) is not int or not 0 <= number < len(self.trees) \
                or number in self.used:
            raise self.fail(f"names tree {number!r}, which the tree archive does not hold "
                            "(or names it twice)")
        self.used.add(number)
        return self.trees[number]

    def _object(self, value: dict[str, Any]) -> Any:
        name, number, state = value["$object"], value["$id"], value["state"]
        cls = _allowed_class(name, self.where)
        if type(number) is not int or number in self.objects:
            raise self.fail(f"numbers its objects wrongly ({number!r})")
        instance = cls.__new__(cls)
        self.objects[number] = instance  # before its state: the state may refer back
        state = self.decode(state)
        if not isinstance(state, dict):
            raise self.fail(f"gives {name} a state that is not a dictionary")
        try:
            if hasattr(instance, "__setstate__"):
                instance.__setstate__(state)
            else:
                instance.__dict__.update(state)
        except Exception as exc:  # an incompatible library version raises many types
            raise ModelFileError(f"{self.where} could not be loaded with the installed "
                                 f"libraries ({name}: {exc}). Rebuild it.") from None
        return instance


def _allowed_class(name: Any, where: str) -> type:
    """The class called ``name`` if it lives in an allowed module; refuses anything else
    before importing it."""
    if not isinstance(name, str) or not name.startswith(OBJECT_PREFIXES):
        raise ModelFileError(f"{where} names {name!r}, a type matgenome does not load. "
                             "Refusing to load it.")
    module_name, _, qualname = name.rpartition(".")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise ModelFileError(f"{where} names {name}, which the installed libraries do not "
                             f"have ({exc}). Rebuild the model.") from None
    if not isinstance(found, type) or _class_name(found) != name:
        raise ModelFileError(f"{where} names {name!r}, which is not a class matgenome "
                             "loads. Refusing to load it.")
    return found
