"""Field values of persisted nodes and edges, to and from a compact SQLite value.

A row holds the archetype's field values in the order its ``types`` row names
them. Plain values (str, int, float, bool, None) are stored as a JSON array, the
cheapest form to write and read; anything else (lists, dicts, sets, enums,
objects, references to other nodes or edges) as a pickle whose references to
archetypes are row ids, resolved on load. The data file is trusted as much as
the program beside it (like the compiled-module cache); still, only classes,
never functions, are accepted from a pickle, and none from modules that run
processes or touch the system.
"""

from __future__ import annotations

import io
import json
import math
import pickle
from typing import Any, Callable

PLAIN_TYPES = (str, int, float, bool, type(None))

# A pickle may name classes only; these modules' classes are refused outright.
REFUSED_MODULES = frozenset(
    {"os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "ctypes", "multiprocessing", "pty", "importlib", "runpy", "code", "codeop", "io", "pathlib"}
)
SAFE_BUILTINS = frozenset({"set", "frozenset", "bytearray", "complex", "slice", "range", "object", "bytes", "list", "dict", "tuple", "str", "int", "float", "bool"})


class UnsafePickleError(pickle.UnpicklingError):
    """A stored value names something other than a harmless class."""


def _is_plain(values: tuple[Any, ...]) -> bool:
    for value in values:
        kind = type(value)
        if kind not in PLAIN_TYPES or (kind is float and not math.isfinite(value)):
            return False
    return True


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a plain JSON value")


def _plain_json_encoder() -> Callable[[tuple[Any, ...]], str]:
    """A compact JSON encoder for plain values; the C one, built once, is several times faster
    than ``json.dumps`` with custom separators (which builds an encoder per call)."""
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False).encode
    chunks = make_encoder(None, _refuse, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    return lambda values: "".join(chunks(values, 0))


encode_plain = _plain_json_encoder()


def encode(values: tuple[Any, ...], reference: Callable[[Any], tuple[str, int] | None]) -> str | bytes | None:
    """The stored form of a row's field values; ``reference`` gives an archetype's (kind, id)."""
    if not values:
        return None
    if _is_plain(values):
        return encode_plain(values)
    buffer = io.BytesIO()
    _RowPickler(buffer, reference).dump(values)
    return buffer.getvalue()


class _RowPickler(pickle.Pickler):
    """Pickles a row's values, writing archetypes as references (``persistent_id``)."""

    def __init__(self, buffer: io.BytesIO, reference: Callable[[Any], tuple[str, int] | None]) -> None:
        super().__init__(buffer, protocol=5)
        self._reference = reference

    def persistent_id(self, value: Any) -> tuple[str, int] | None:  # type: ignore[override]
        return self._reference(value)


class _RowUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, resolve: Callable[[tuple[str, int]], Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._resolve = resolve

    def persistent_load(self, pid: Any) -> Any:
        return self._resolve(tuple(pid))

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] in REFUSED_MODULES or (module == "builtins" and name not in SAFE_BUILTINS):
            raise UnsafePickleError(f"stored value names {module}.{name}, which is not loaded from a graph file")
        found = super().find_class(module, name)
        if not isinstance(found, type):
            raise UnsafePickleError(f"stored value names {module}.{name}, which is not a class")
        return found


def decode(data: str | bytes | None, resolve: Callable[[tuple[str, int]], Any]) -> list[Any]:
    """The field values of a stored row; ``resolve`` turns a (kind, id) back into an archetype."""
    if data is None:
        return []
    if isinstance(data, str):
        return json.loads(data)
    return list(_RowUnpickler(data, resolve).load())
