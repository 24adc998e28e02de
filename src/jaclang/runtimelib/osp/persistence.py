"""The persisted graph: what is reachable from ``root``, kept in a SQLite file between runs.

``GraphStore(path).load()`` gives the root node with every node and edge stored
under it; ``commit(root)`` writes back what the run changed, in one transaction,
at the end of the run. Until that transaction commits the file holds the
previous run's graph intact, so a run that is killed loses only its own changes.

Objects are stored in blocks of up to ``BLOCK_SIZE`` (``node_blocks`` and
``edge_blocks``): a block row lists its members' ids, their types, their field
values (see :mod:`jaclang.runtimelib.osp.codec`) and, for edges, their ends. A
run's new objects go into new blocks, a few rows for a whole tree; a member
never moves to another block. Root is not stored: it is always node 1.

What is kept: every node connected to root, the nodes and edges the fields of
kept objects refer to, and everything connected to those, found to a fixed point
(writing one object's fields may keep another). A loaded object found to be kept
only after its block was compared is compared on its own, so its changes are
written however late it turns out to be kept.

Types are rows of their own (module, qualified name, field names). On load a
class is found again by module and qualified name; fields are matched by name:
a field the class gained takes its default, a field it lost is dropped (and not
written back). A member whose class is gone, or gained a field without a
default, is left untouched in the file (with a warning), as are its edges, so it
comes back when the class does.

Two runs may overlap: each commit is one ``BEGIN IMMEDIATE`` transaction (the
second waits for the first) that writes only the blocks holding objects its run
added, changed or cut off from ``root``. A loaded block is re-read inside the
transaction and only this run's members are replaced or removed in it, so a
member another run changed keeps that change; new object ids come from counters
read and advanced inside the transaction, so both runs' additions survive; an
object both runs changed keeps the later commit's version.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import itertools
import json
import logging
import os
import sqlite3
import sys
from collections import deque
from dataclasses import dataclass
from operator import attrgetter, is_
from typing import Any

from jaclang.runtimelib.osp.archetypes import Edge, Node, Root
from jaclang.runtimelib.osp.codec import (
    Data,
    Entry,
    decode_entries,
    decode_ids,
    encode_entries,
    encode_ids,
    encode_members,
    encode_plain,
    member_entry,
    same_entry,
    unpickle_entries,
    unpickle_values,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3
# Format 2 is format 3 without the ``[[first, count]]`` form of id lists: its files are
# read as they are, and marked 3 on first use, so the jaclang of format 2 refuses them.
UPGRADABLE_VERSIONS = frozenset({2})
ROOT_ID = 1
BUSY_TIMEOUT_SECONDS = 120.0
BLOCK_SIZE = 1024  # members per block: a run that changes one object rewrites at most this many

SCHEMA = """
CREATE TABLE IF NOT EXISTS types (
    id INTEGER PRIMARY KEY, module TEXT NOT NULL, qualname TEXT NOT NULL, fields TEXT NOT NULL,
    UNIQUE (module, qualname, fields));
CREATE TABLE IF NOT EXISTS node_blocks (id INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL, types TEXT NOT NULL, data);
CREATE TABLE IF NOT EXISTS edge_blocks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL, types TEXT NOT NULL, ends TEXT NOT NULL, data);
"""

_get_id = attrgetter("_jac_id")
_get_source_id = attrgetter("_jac_source._jac_id")
_get_target_id = attrgetter("_jac_target._jac_id")
_get_seq = attrgetter("_jac_seq")


class GraphFileError(Exception):
    """The graph file cannot be used (written by another jaclang format, or not a graph file)."""


_field_names: dict[type, tuple[str, ...]] = {}


def field_names(cls: type) -> tuple[str, ...]:
    """The persisted fields of an archetype class (its dataclass fields; none for ``Root``)."""
    names = _field_names.get(cls)
    if names is None:
        names = tuple(field.name for field in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()
        _field_names[cls] = names
    return names


def find_class(module_name: str, qualname: str) -> type | None:
    """The class stored as ``module.qualname``, or None when it no longer exists."""
    module = sys.modules.get(module_name)
    if module is None:
        try:
            module = importlib.import_module(module_name)
        except Exception as error:  # a module that is gone or fails to import: the class is unavailable
            logger.debug("graph file: cannot import %s: %s", module_name, error)
            return None
    found: Any = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    return found if isinstance(found, type) else None


def _set_all(objects: list[Any], name: str, values: Any) -> None:
    """``setattr(objects[i], name, values[i])`` for every i, in one C loop."""
    deque(map(setattr, objects, itertools.repeat(name), values), maxlen=0)


class _ClassPlan:
    """How to rebuild instances of one stored type with the class as it is now."""

    def __init__(self, cls: type, stored_fields: list[str]) -> None:
        self.cls = cls
        current = {field.name: field for field in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else {}
        self.stored_fields = stored_fields
        self.kept = [name in current for name in stored_fields]
        self.missing: list[dataclasses.Field] = [field for name, field in current.items() if name not in stored_fields]
        self.loadable = all(
            field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING for field in self.missing
        )

    def set_columns(self, objects: list[Any], columns: list[list[Any]]) -> None:
        """Give each object its stored field values (one column per stored field) and defaults."""
        for name, keep, column in zip(self.stored_fields, self.kept, columns):
            if keep:
                _set_all(objects, name, column)
        self.set_defaults(objects)

    def set_values(self, instance: Any, values: list[Any]) -> None:
        """Give one object its stored field values and defaults."""
        for name, keep, value in zip(self.stored_fields, self.kept, values):
            if keep:
                setattr(instance, name, value)
        self.set_defaults([instance])

    def set_defaults(self, objects: list[Any]) -> None:
        for field in self.missing:
            for instance in objects:
                value = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[misc]
                setattr(instance, field.name, value)


@dataclass
class _Block:
    """A block row as this store last read or wrote it; ``members[i]`` is None when not loaded."""

    row_id: int
    ids: list[int]
    members: list[Any]
    types: str
    data: Data
    ends: str | None = None  # edge blocks: JSON [sources, targets, positions of undirected edges]
    dropped: frozenset[int] = frozenset()  # positions of edges whose end another run deleted


class _Review:
    """A loaded block's members compared with their stored form: position -> changed state."""

    def __init__(self, block: _Block, is_edge: bool) -> None:
        self.is_edge = is_edge
        self.stored_types, self.stored_entries = decode_entries(block.types, block.data)
        self.stored_ends: list[Any] = _decode_ends(block.ends, len(block.ids)) if is_edge else [None] * len(block.ids)  # type: ignore[arg-type]
        self.compared: set[int] = set()
        self.changed: dict[int, tuple[int, Entry, Any]] = {}


def _ends_of(edges: list[Any]) -> str:
    """An edge block's ``ends``: source ids, target ids, positions of the undirected edges."""
    undirected = list(itertools.compress(range(len(edges)), map(attrgetter("_jac_undirected"), edges)))
    return _encode_ends(list(map(_get_source_id, edges)), list(map(_get_target_id, edges)), undirected)


def _encode_ends(sources: list[int], targets: list[int], undirected: list[int]) -> str:
    return f"[{encode_ids(sources)},{encode_ids(targets)},{encode_plain(undirected)}]"


def _decode_ends(ends: str, count: int) -> list[tuple[int, int, bool]]:
    sources, targets, undirected = json.loads(ends)
    flags = [False] * count
    for position in undirected:
        flags[position] = True
    return list(zip(decode_ids(sources), decode_ids(targets), flags))


class GraphStore:
    """One program's graph file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.node_blocks: list[_Block] = []
        self.edge_blocks: list[_Block] = []

    # --- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Create the tables on first use; refuse a file of another format."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None and connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'nodes'").fetchone():
                row = ("1",)  # written before the version was recorded with blocks
            if row is None or int(row[0]) in UPGRADABLE_VERSIONS:
                connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise GraphFileError(
                    f"{self.path}: graph file format {row[0]} is not this jaclang's ({SCHEMA_VERSION}); "
                    "use the jaclang that wrote it, or start fresh with `jac run --fresh`"
                )
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    # --- loading ----------------------------------------------------------------------------

    def load(self) -> Root:
        """The stored root with everything stored under it (a new root for a new file)."""
        connection = self._connect()
        try:
            try:
                self._prepare(connection)
            except sqlite3.DatabaseError as error:
                raise GraphFileError(f"{self.path}: not a usable graph file ({error}); start fresh with `jac run --fresh`") from error
            connection.execute("BEGIN")  # one snapshot of all tables
            try:
                enabled = gc.isenabled()
                gc.disable()  # loading makes many objects and no garbage
                try:
                    return _Loader(self, connection).load()
                finally:
                    if enabled:
                        gc.enable()
            finally:
                connection.execute("COMMIT")
        finally:
            connection.close()

    # --- committing -------------------------------------------------------------------------

    def commit(self, root: Root) -> None:
        """Write what changed under ``root`` since it was loaded, in one transaction."""
        connection = self._connect()
        enabled = gc.isenabled()
        gc.disable()  # a commit makes many short-lived objects and no garbage cycles
        try:
            self._prepare(connection)
            connection.execute("BEGIN IMMEDIATE")
            commit: _Commit | None = None
            try:
                commit = _Commit(self, connection, root)
                commit.run()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                if commit is not None:
                    commit.undo()
                raise
            commit.adopt()
        finally:
            if enabled:
                gc.enable()
            connection.close()


def class_plans(connection: sqlite3.Connection) -> dict[int, _ClassPlan | None]:
    """Each stored type's plan under the classes as they are now (None: not loadable)."""
    plans: dict[int, _ClassPlan | None] = {}
    for type_id, module_name, qualname, fields in connection.execute("SELECT id, module, qualname, fields FROM types"):
        cls = find_class(module_name, qualname)
        plan = _ClassPlan(cls, json.loads(fields)) if cls is not None else None
        if plan is None:
            logger.warning("graph file: class %s.%s no longer exists; its stored objects are kept but not loaded", module_name, qualname)
        elif not plan.loadable:
            logger.warning(
                "graph file: %s.%s gained fields without defaults (%s); its stored objects are kept but not loaded",
                module_name,
                qualname,
                ", ".join(field.name for field in plan.missing),
            )
            plan = None
        plans[type_id] = plan
    return plans


class _Loader:
    """One load: make every loadable object, then give each its fields, ends and edges."""

    def __init__(self, store: GraphStore, connection: sqlite3.Connection) -> None:
        self.store = store
        self.connection = connection
        self.plans = class_plans(connection)
        self.nodes: dict[int, Any] = {}
        self.edges: dict[int, Any] = {}
        self.pickled: list[tuple[Any, _ClassPlan, bytes]] = []  # fields resolved once every object exists

    def resolve(self, reference: tuple[str, int]) -> Any:
        kind, row_id = reference
        return (self.nodes if kind == "n" else self.edges).get(row_id)

    def make(self, block: _Block, registry: dict[int, Any]) -> tuple[list[Any], list[Any]]:
        """Create a block's loadable members (fields set now when plain, later when pickled)."""
        runs = json.loads(block.types)
        data = block.data
        segments = json.loads(data) if isinstance(data, str) else None
        entries = unpickle_entries(data) if isinstance(data, bytes) else None
        members: list[Any] = []
        start = 0
        for index, (type_id, count) in enumerate(runs):
            plan = self.plans.get(type_id)
            if plan is None:
                members += [None] * count
            else:
                cls = plan.cls
                made = list(map(cls.__new__, itertools.repeat(cls, count)))
                if segments is not None:
                    plan.set_columns(made, segments[index])
                elif entries is not None:
                    self.pickled += zip(made, itertools.repeat(plan), entries[start : start + count])
                else:
                    plan.set_defaults(made)
                members += made
            start += count
        block.members = members
        loaded = [(row_id, member) for row_id, member in zip(block.ids, members) if member is not None]
        registry.update(loaded)
        return [row_id for row_id, _ in loaded], [member for _, member in loaded]

    def load(self) -> Root:
        store, connection = self.store, self.connection
        root = Root()
        root._jac_id = ROOT_ID
        self.nodes[ROOT_ID] = root
        present = {ROOT_ID}  # every stored node id, loadable or not
        store.node_blocks = []
        for row_id, ids, types, data in connection.execute("SELECT id, ids, types, data FROM node_blocks ORDER BY id"):
            block = _Block(row_id, decode_ids(json.loads(ids)), [], types, data)
            present.update(block.ids)
            made_ids, made = self.make(block, self.nodes)
            _set_all(made, "_jac_id", made_ids)
            store.node_blocks.append(block)
        store.edge_blocks = []
        loaded_edges: list[tuple[int, Any, Any, Any, bool]] = []
        for row_id, ids, types, ends, data in connection.execute("SELECT id, ids, types, ends, data FROM edge_blocks ORDER BY id"):
            block = _Block(row_id, decode_ids(json.loads(ids)), [], types, data, ends)
            self.make(block, {})
            dropped = set()
            for position, (edge_id, edge, (source_id, target_id, undirected)) in enumerate(
                zip(block.ids, block.members, _decode_ends(ends, len(block.ids)))
            ):
                if source_id not in present or target_id not in present:
                    dropped.add(position)  # an end was deleted by another run: drop the edge at commit
                    block.members[position] = None
                    continue
                source, target = self.nodes.get(source_id), self.nodes.get(target_id)
                if edge is None or source is None or target is None:
                    block.members[position] = None  # kept in the file, untouched
                    continue
                self.edges[edge_id] = edge
                loaded_edges.append((edge_id, edge, source, target, undirected))
            block.dropped = frozenset(dropped)
            store.edge_blocks.append(block)
        for instance, plan, entry in self.pickled:
            plan.set_values(instance, unpickle_values(entry, self.resolve))
        loaded_edges.sort(key=lambda item: item[0])  # connection order, which is each node's edge order
        for edge_id, edge, source, target, undirected in loaded_edges:
            edge._jac_id = edge_id
            edge._jac_source = source
            edge._jac_target = target
            if undirected:
                edge._jac_undirected = True
            for end in (source, target) if source is not target else (source,):
                listed = end._jac_edges
                if listed.__class__ is tuple:
                    listed = end._jac_edges = []
                listed.append(edge)
        return root


class _Commit:
    """One commit: find what is reachable from root, give new objects ids, write the changed blocks."""

    def __init__(self, store: GraphStore, connection: sqlite3.Connection, root: Root) -> None:
        self.store = store
        self.connection = connection
        self.root = root
        self.type_ids: dict[type, int] = {}
        self.token = object()  # marks the objects this commit keeps (``_jac_mark``)
        # Ids are never reused (a run may still hold an id another run deleted), so the next
        # free ids are counters in ``meta``, read and advanced inside this transaction.
        self.node_ids = itertools.count(self.counter("next_node_id", ROOT_ID + 1))
        self.edge_ids = itertools.count(self.counter("next_edge_id", 1))
        self.given_ids: list[Any] = []  # objects that got an id in this commit (taken back if it fails)
        self.pending_nodes: list[Any] = []  # new objects still to be written
        self.pending_edges: list[Any] = []
        # Objects first kept by a field after the pass over the loaded blocks may have begun:
        # held nodes still need their edges followed, loaded ones their stored form compared.
        self.held_nodes: list[Any] = []
        self.late_nodes: list[Any] = []
        self.late_edges: list[Any] = []
        self.node_reviews: list[_Review | None] = []  # per loaded block: None when stored as it is
        self.edge_reviews: list[_Review | None] = []
        self.positions: dict[bool, dict[int, tuple[int, int]]] = {}  # per kind: id -> (block, position)
        self.removed: list[Any] = []  # loaded members this commit deletes from the file
        self.node_blocks: list[_Block] = []  # the store's blocks once this commit is in the file
        self.edge_blocks: list[_Block] = []

    def counter(self, key: str, lowest: int) -> int:
        """The next unused id of nodes or edges."""
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return max(int(row[0]) if row else 0, lowest)

    def save_counters(self) -> None:
        """Advance the id counters past every id this commit handed out."""
        for key, ids in (("next_node_id", self.node_ids), ("next_edge_id", self.edge_ids)):
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(next(ids))))

    def type_id(self, cls: type) -> int:
        """The ``types`` row of a class with its current fields (added on first use)."""
        found = self.type_ids.get(cls)
        if found is None:
            row = (cls.__module__, cls.__qualname__, json.dumps(field_names(cls)))
            self.connection.execute("INSERT OR IGNORE INTO types (module, qualname, fields) VALUES (?, ?, ?)", row)
            found = self.connection.execute("SELECT id FROM types WHERE module = ? AND qualname = ? AND fields = ?", row).fetchone()[0]
            self.type_ids[cls] = found
        return found

    # --- which objects ----------------------------------------------------------------------

    def connected(self, starts: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
        """The marked ``starts`` and every unmarked node connected to them (through edges either
        way), with the unmarked edges among them; everything returned is marked.

        New nodes found get their ids here, in the order they are found (one pass over the
        nodes instead of three), and are queued for writing; they are returned third.
        """
        token = self.token
        next_node_id = self.node_ids.__next__
        nodes = list(starts)
        edges: list[Any] = []
        new_nodes: list[Any] = []
        add_node, add_edge, add_new_node = nodes.append, edges.append, new_nodes.append
        for node in nodes:  # grows while it is read: breadth first
            for edge in node._jac_edges:
                far = edge._jac_source
                if far is node:  # each edge is taken once, from its source
                    if edge._jac_mark is not token:  # a field may have kept it already
                        edge._jac_mark = token
                        add_edge(edge)
                    far = edge._jac_target
                if far._jac_mark is not token:
                    far._jac_mark = token
                    add_node(far)
                    if far._jac_id is None:
                        far._jac_id = next_node_id()
                        add_new_node(far)
        self.given_ids += new_nodes
        self.pending_nodes += new_nodes
        return nodes, edges, new_nodes

    def reference(self, value: Any) -> tuple[str, int] | None:
        """Pickle hook: a node or edge inside a field is kept, and stored as its id."""
        if isinstance(value, Node):
            return ("n", self.keep(value, is_edge=False))
        if isinstance(value, Edge) and value._jac_source is not None:
            for end in (value._jac_source, value._jac_target):
                self.keep(end, is_edge=False)
            self.follow_held()  # new edges get ids in connection order, this one with the rest
            return ("e", self.keep(value, is_edge=True))
        return None

    def keep(self, instance: Any, is_edge: bool) -> int:
        """Keep an object reached through a field: its id (a new one gets one, to be written).

        The first time, a node's edges are queued to be followed (what it is connected to is
        kept with it), and a loaded object to be compared with its stored form: its block may
        already have been looked at while it was not yet known to be kept.
        """
        if instance._jac_mark is not self.token:
            instance._jac_mark = self.token
            if not is_edge:
                self.held_nodes.append(instance)
            if instance._jac_id is not None:
                (self.late_edges if is_edge else self.late_nodes).append(instance)
        row_id = instance._jac_id
        if row_id is None:
            row_id = next(self.edge_ids if is_edge else self.node_ids)
            instance._jac_id = row_id
            self.given_ids.append(instance)
            (self.pending_edges if is_edge else self.pending_nodes).append(instance)
        return row_id

    def follow_held(self) -> None:
        """Keep what the nodes kept by fields are connected to."""
        if self.held_nodes:
            held, self.held_nodes = self.held_nodes, []
            nodes, edges, new_nodes = self.connected(held)
            new = set(map(id, new_nodes))
            # the held ones are queued already
            self.late_nodes += [node for node in nodes[len(held) :] if id(node) not in new]
            self.late_edges += [edge for edge in edges if edge._jac_id is not None]
            self.add_new_edges(edges)

    def add_new_edges(self, edges: list[Any]) -> None:
        """Give the new edges among those kept an id, and queue them for writing."""
        # New edges get ids in the order they were connected, which keeps each node's edge order.
        new_edges = sorted(itertools.compress(edges, map(is_, map(_get_id, edges), itertools.repeat(None))), key=_get_seq)
        for edge, edge_id in zip(new_edges, self.edge_ids):  # a plain loop: setattr() costs three times as much
            edge._jac_id = edge_id
        self.given_ids += new_edges
        self.pending_edges += new_edges

    # --- writing ----------------------------------------------------------------------------

    def run(self) -> None:
        """Write new objects in new blocks, rewrite the loaded blocks that changed, in this transaction."""
        root = self.root
        root._jac_mark = self.token
        root._jac_id = ROOT_ID
        self.add_new_edges(self.connected([root])[1])
        # Comparing and writing fields may keep more objects (``keep``): follow them until none is left.
        self.node_reviews = [self.review(block, is_edge=False) for block in self.store.node_blocks]
        self.edge_reviews = [self.review(block, is_edge=True) for block in self.store.edge_blocks]
        while self.pending_nodes or self.pending_edges or self.held_nodes or self.late_nodes or self.late_edges:
            self.follow_held()
            batch, self.pending_nodes = self.pending_nodes, []
            self.write_new(batch, is_edge=False)
            batch, self.pending_edges = self.pending_edges, []
            self.write_new(batch, is_edge=True)
            batch, self.late_nodes = self.late_nodes, []
            self.review_late(batch, is_edge=False)
            batch, self.late_edges = self.late_edges, []
            self.review_late(batch, is_edge=True)
        for block, review in zip(self.store.node_blocks, self.node_reviews):
            self.node_blocks.append(self.rewrite(block, review.changed if review else None, is_edge=False))
        for block, review in zip(self.store.edge_blocks, self.edge_reviews):
            self.edge_blocks.append(self.rewrite(block, review.changed if review else None, is_edge=True))
        self.node_blocks = [block for block in self.node_blocks if block.ids]
        self.edge_blocks = [block for block in self.edge_blocks if block.ids]
        self.save_counters()

    def write_new(self, objects: list[Any], is_edge: bool) -> None:
        """New objects, in blocks of ``BLOCK_SIZE``."""
        table = "edge_blocks" if is_edge else "node_blocks"
        blocks = self.edge_blocks if is_edge else self.node_blocks
        for start in range(0, len(objects), BLOCK_SIZE):
            members = objects[start : start + BLOCK_SIZE]
            ids = list(map(_get_id, members))
            types, data = encode_members(members, self.type_id, field_names, self.reference)
            ends = _ends_of(members) if is_edge else None
            block = _Block(0, ids, members, types, data, ends)
            blocks.append(block)
            self.insert(table, block)

    def insert(self, table: str, block: _Block) -> None:
        columns = "ids, types, ends, data" if block.ends is not None else "ids, types, data"
        ids = encode_ids(block.ids)
        values = (ids, block.types, block.ends, block.data) if block.ends is not None else (ids, block.types, block.data)
        cursor = self.connection.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(values))})", values)
        block.row_id = cursor.lastrowid

    def review(self, block: _Block, is_edge: bool) -> _Review | None:
        """Compare a loaded block's kept members with their stored form.

        None when the block is stored exactly as it is now (the common case, checked in bulk).
        """
        members = block.members
        token = self.token
        everything_loaded = None not in members
        if everything_loaded and all(member._jac_mark is token for member in members):
            types, data = encode_members(members, self.type_id, field_names, self.reference)
            if types == block.types and data == block.data and (not is_edge or _ends_of(members) == block.ends):
                return None
        review = _Review(block, is_edge)
        for position, member in enumerate(members):
            if member is not None and member._jac_mark is token:
                self.compare(review, position, member)
        return review

    def compare(self, review: _Review, position: int, member: Any) -> None:
        """Note a kept member as changed in its block's review if its type, fields or ends differ."""
        if position in review.compared:
            return
        review.compared.add(position)
        cls = type(member)
        type_id = self.type_id(cls)
        entry = member_entry(member, field_names(cls), self.reference)
        ends = (member._jac_source._jac_id, member._jac_target._jac_id, bool(member._jac_undirected)) if review.is_edge else None
        if type_id != review.stored_types[position] or not same_entry(review.stored_entries[position], entry) or ends != review.stored_ends[position]:
            review.changed[position] = (type_id, entry, ends)

    def review_late(self, members: list[Any], is_edge: bool) -> None:
        """Compare loaded members that were found to be kept after their block was reviewed."""
        if not members:
            return
        blocks = self.store.edge_blocks if is_edge else self.store.node_blocks
        reviews = self.edge_reviews if is_edge else self.node_reviews
        positions = self.positions.get(is_edge)
        if positions is None:  # built only when a field keeps a loaded object
            positions = self.positions[is_edge] = {
                row_id: (index, position) for index, block in enumerate(blocks) for position, row_id in enumerate(block.ids)
            }
        for member in members:
            found = positions.get(member._jac_id)
            if found is None:  # not in this store's file (kept by another store): nothing to compare
                continue
            index, position = found
            if blocks[index].members[position] is not member:
                continue
            review = reviews[index]
            if review is None:  # a block stored as it is has every member kept already
                review = reviews[index] = _Review(blocks[index], is_edge)
            self.compare(review, position, member)

    def rewrite(self, block: _Block, changed: dict[int, tuple[int, Entry, Any]] | None, is_edge: bool) -> _Block:
        """Apply this run's changes and removals to a block as it is in the file now; the block after."""
        token = self.token
        removed = [position for position, member in enumerate(block.members) if member is not None and member._jac_mark is not token]
        self.removed += [block.members[position] for position in removed]
        removed += block.dropped
        if not changed and not removed:
            return block
        table = "edge_blocks" if is_edge else "node_blocks"
        columns = "ids, types, ends, data" if is_edge else "ids, types, data"
        row = self.connection.execute(f"SELECT {columns} FROM {table} WHERE id = ?", (block.row_id,)).fetchone()
        if row is None:  # every member was deleted by another run: this run's changed ones come back
            ids, type_ids, entries, ends = [], [], [], []
        else:
            ids = decode_ids(json.loads(row[0]))
            type_ids, entries = decode_entries(row[1], row[-1])
            ends = _decode_ends(row[2], len(ids)) if is_edge else [None] * len(ids)
        position_of = {row_id: position for position, row_id in enumerate(ids)}
        for position, (type_id, entry, member_ends) in (changed or {}).items():
            row_id = block.ids[position]
            at = position_of.get(row_id)
            if at is None:
                position_of[row_id] = len(ids)
                ids.append(row_id)
                type_ids.append(type_id)
                entries.append(entry)
                ends.append(member_ends)
            else:
                type_ids[at], entries[at], ends[at] = type_id, entry, member_ends
        gone = {position_of[block.ids[position]] for position in removed if block.ids[position] in position_of}
        keep = [at for at in range(len(ids)) if at not in gone]
        ids = [ids[at] for at in keep]
        type_ids = [type_ids[at] for at in keep]
        entries = [entries[at] for at in keep]
        ends = [ends[at] for at in keep]
        mine = {row_id: member for row_id, member in zip(block.ids, block.members) if member is not None and member._jac_mark is token}
        members = [mine.get(row_id) for row_id in ids]
        if not ids:
            if row is not None:
                self.connection.execute(f"DELETE FROM {table} WHERE id = ?", (block.row_id,))
            return _Block(block.row_id, [], [], "[]", None)
        types_text, data = encode_entries(type_ids, entries)
        ends_text = None
        if is_edge:
            ends_text = _encode_ends([end[0] for end in ends], [end[1] for end in ends], [at for at, end in enumerate(ends) if end[2]])
        after = _Block(block.row_id, ids, members, types_text, data, ends_text)
        if row is None:
            self.insert(table, after)
        else:
            values = (encode_ids(ids), types_text, ends_text, data) if is_edge else (encode_ids(ids), types_text, data)
            assignments = "ids = ?, types = ?, ends = ?, data = ?" if is_edge else "ids = ?, types = ?, data = ?"
            self.connection.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values, block.row_id))
        return after

    def undo(self) -> None:
        """The transaction was rolled back: objects that got an id in it are new again."""
        _set_all(self.given_ids, "_jac_id", itertools.repeat(None))

    def adopt(self) -> None:
        """The transaction committed: the store now knows the blocks as they are in the file.

        Objects it deleted from the file are new again, so one that is kept by a later commit
        of this store (connected to root again) is written afresh.
        """
        self.store.node_blocks = self.node_blocks
        self.store.edge_blocks = self.edge_blocks
        _set_all(self.removed, "_jac_id", itertools.repeat(None))
