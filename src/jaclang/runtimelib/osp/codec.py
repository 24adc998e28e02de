"""Field values of persisted nodes and edges, to and from compact SQLite values.

Objects are stored in blocks (see :mod:`jaclang.runtimelib.osp.persistence`). A
block's ``types`` are runs of members of one type, ``[[type_id, count], ...]``.
When every member's field values are plain (str, int, float, bool, None; floats
finite) the block's ``data`` is one JSON array holding, for each run, its field
values column by column (``[[[1, 2, 3]]]`` for a run of three one-field nodes):
one C call to write and one to read, whatever the block's size. Otherwise the
data is a pickle of a list of each member's own pickle, so one member can be
compared and replaced on its own; references to archetypes inside those are row
ids, resolved on load. A block whose members have no fields has no data.

Lists of row ids (a block's ``ids``, an edge block's sources and targets) are
JSON lists, except that four or more consecutive ids, as a run's new objects
get them, are written ``[[first, count]]``: turning a hundred thousand ids into
decimal text was a fifth of a commit's work.

The data file is trusted as much as the program beside it (like the
compiled-module cache); still, only classes, never functions, are accepted from
a pickle, and none from modules that run processes or touch the system.
"""

from __future__ import annotations

import io
import itertools
import json
import pickle
from operator import attrgetter
from typing import Any, Callable, Iterable, Union

PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})

# A pickle may name classes only; these modules' classes are refused outright.
REFUSED_MODULES = frozenset(
    {"os", "posix", "nt", "sys", "subprocess", "shutil", "socket", "ctypes", "multiprocessing", "pty", "importlib", "runpy", "code", "codeop", "io", "pathlib"}
)
SAFE_BUILTINS = frozenset({"set", "frozenset", "bytearray", "complex", "slice", "range", "object", "bytes", "list", "dict", "tuple", "str", "int", "float", "bool"})

Reference = Callable[[Any], Union["tuple[str, int]", None]]
Resolve = Callable[["tuple[str, int]"], Any]
Entry = Union["tuple[Any, ...]", bytes]  # one member's field values: plain ones, or their pickle
Data = Union[str, bytes, None]


class UnsafePickleError(pickle.UnpicklingError):
    """A stored value names something other than a harmless class."""


def _refuse(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not a plain JSON value")


def _plain_json_encoder() -> Callable[[Any], str]:
    """A compact JSON encoder that refuses NaN and infinities; the C one, built once, is
    several times faster than ``json.dumps`` with custom separators."""
    make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False, allow_nan=False).encode
    chunks = make_encoder(None, _refuse, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    return lambda values: "".join(chunks(values, 0))


encode_plain = _plain_json_encoder()


def all_plain(values: Iterable[Any]) -> bool:
    """Whether every value has a plain type (finiteness is checked by the encoder)."""
    return PLAIN_TYPES.issuperset(map(type, values))


class _RowPickler(pickle.Pickler):
    """Pickles a member's values, writing archetypes as references (``persistent_id``)."""

    def __init__(self, buffer: io.BytesIO, reference: Reference) -> None:
        super().__init__(buffer, protocol=5)
        self._reference = reference

    def persistent_id(self, value: Any) -> tuple[str, int] | None:  # type: ignore[override]
        return self._reference(value)


class _RowUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, resolve: Resolve) -> None:
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


def _no_references(value: Any) -> None:
    return None


def _refuse_references(reference: tuple[str, int]) -> Any:
    raise UnsafePickleError(f"a block's list of members holds a reference {reference!r}")


def pickle_values(values: tuple[Any, ...], reference: Reference = _no_references) -> bytes:
    """One member's field values as a pickle; ``reference`` gives an archetype's (kind, id)."""
    buffer = io.BytesIO()
    _RowPickler(buffer, reference).dump(values)
    return buffer.getvalue()


def unpickle_values(data: bytes, resolve: Resolve) -> list[Any]:
    """One member's field values from its pickle; ``resolve`` turns a (kind, id) into an archetype."""
    return list(_RowUnpickler(data, resolve).load())


def unpickle_entries(data: bytes) -> list[bytes]:
    """The member pickles of a pickled block."""
    entries = _RowUnpickler(data, _refuse_references).load()
    if not isinstance(entries, list) or not all(type(entry) is bytes for entry in entries):
        raise UnsafePickleError("a block's data is not a list of member pickles")
    return entries


def encode_ids(ids: list[int]) -> str:
    """A list of row ids as JSON text: ``[[first, count]]`` when they are consecutive, else the list."""
    count = len(ids)
    if count > 3 and ids[-1] - ids[0] == count - 1 and ids == list(range(ids[0], ids[0] + count)):
        return f"[[{ids[0]},{count}]]"
    return encode_plain(ids)


def decode_ids(value: list[Any]) -> list[int]:
    """The row ids an :func:`encode_ids` list (parsed from JSON) stands for."""
    if value and value[0].__class__ is list:
        first, count = value[0]
        return list(range(first, first + count))
    return value


def values_of(member: Any, names: tuple[str, ...]) -> tuple[Any, ...]:
    """A member's field values, in field order."""
    return tuple(map(getattr, itertools.repeat(member), names))


def type_runs(type_ids: list[int]) -> list[list[int]]:
    """``[[type_id, count], ...]`` for consecutive members of one type."""
    return [[type_id, sum(1 for _ in group)] for type_id, group in itertools.groupby(type_ids)]


def expand_types(types_text: str) -> list[int]:
    """Each member's type id, from a block's runs."""
    expanded: list[int] = []
    for type_id, count in json.loads(types_text):
        expanded += [type_id] * count
    return expanded


def encode_members(
    members: list[Any], type_id: Callable[[type], int], fields: Callable[[type], tuple[str, ...]], reference: Reference
) -> tuple[str, Data]:
    """A block's ``types`` and ``data`` for archetype instances, read column by column."""
    runs: list[list[int]] = []
    segments: list[list[list[Any]]] = []
    plain = True
    any_fields = False
    for cls, group in itertools.groupby(members, type):
        run = list(group)
        columns = [list(map(attrgetter(name), run)) for name in fields(cls)]
        if columns:
            any_fields = True
            plain = plain and all_plain(itertools.chain.from_iterable(columns))
        runs.append([type_id(cls), len(run)])
        segments.append(columns)
    types_text = encode_plain(runs)
    if not any_fields:
        return types_text, None
    if plain:
        try:
            return types_text, encode_plain(segments)
        except ValueError:  # NaN or an infinity: JSON cannot hold it
            pass
    entries = [pickle_values(values_of(member, fields(type(member))), reference) for member in members]
    return types_text, pickle.dumps(entries, protocol=5)


def member_entry(member: Any, names: tuple[str, ...], reference: Reference) -> Entry:
    """One member's stored form: its plain values as a tuple, anything else as a pickle."""
    values = values_of(member, names)
    if all_plain(values):
        try:
            encode_plain(values)
            return values
        except ValueError:
            pass
    return pickle_values(values, reference)


def encode_entries(type_ids: list[int], entries: list[Entry]) -> tuple[str, Data]:
    """A block's ``types`` and ``data`` from each member's type id and stored form."""
    types_text = encode_plain(type_runs(type_ids))
    if not any(entries):
        return types_text, None
    if all(type(entry) is tuple for entry in entries):
        segments = []
        start = 0
        for _, count in type_runs(type_ids):
            rows = entries[start : start + count]
            start += count
            segments.append([list(column) for column in zip(*rows)])
        return types_text, encode_plain(segments)
    pickled = [entry if type(entry) is bytes else pickle_values(entry) for entry in entries]
    return types_text, pickle.dumps(pickled, protocol=5)


def decode_entries(types_text: str, data: Data) -> tuple[list[int], list[Entry]]:
    """Each member's type id and stored form (plain values as tuples, else a pickle)."""
    type_ids = expand_types(types_text)
    if data is None:
        return type_ids, [()] * len(type_ids)
    if isinstance(data, bytes):
        return type_ids, list(unpickle_entries(data))
    entries: list[Entry] = []
    for (_, count), columns in zip(json.loads(types_text), json.loads(data)):
        entries += zip(*columns) if columns else [()] * count
    return type_ids, entries


def same_entry(stored: Entry, current: Entry) -> bool:
    """Whether a member's stored form still holds its current values (exactly: 1 is not True)."""
    if type(stored) is bytes:
        return stored == (current if type(current) is bytes else pickle_values(current))
    if type(current) is bytes:
        return False
    return stored == current and encode_plain(stored) == encode_plain(current)
