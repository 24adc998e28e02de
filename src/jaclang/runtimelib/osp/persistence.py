"""The persisted graph: what is reachable from ``root``, kept in a SQLite file between runs.

``GraphStore(path).load()`` gives the root node with every node and edge stored
under it; ``commit(root)`` writes back what the run changed, in one transaction,
at the end of the run. Until that transaction commits the file holds the
previous run's graph intact, so a run that is killed loses only its own changes.

Rows carry their archetype as a ``types`` row (module, qualified name, field
names). On load a class is found again by module and qualified name; fields
are matched by name: a field the class gained takes its default, a field it
lost is dropped (and not written back). A row whose class is gone, or gained a
field without a default, is left untouched in the file (with a warning), as are
its edges, so it comes back when the class does.

Two runs may overlap: each commit is one ``BEGIN IMMEDIATE`` transaction (the
second waits for the first) that writes only the rows its run added, changed or
cut off from ``root``, and allocates new row ids inside the transaction, so
both runs' additions survive; a row both runs changed keeps the later commit's
version.
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import logging
import os
import sqlite3
import sys
from typing import Any

from jaclang.runtimelib.osp.archetypes import Edge, Node, Root
from jaclang.runtimelib.osp.codec import decode, encode

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
ROOT_ID = 1
BUSY_TIMEOUT_SECONDS = 120.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS types (
    id INTEGER PRIMARY KEY, module TEXT NOT NULL, qualname TEXT NOT NULL, fields TEXT NOT NULL,
    UNIQUE (module, qualname, fields));
CREATE TABLE IF NOT EXISTS nodes (id INTEGER PRIMARY KEY, type INTEGER NOT NULL, data);
CREATE TABLE IF NOT EXISTS edges (
    id INTEGER PRIMARY KEY, type INTEGER NOT NULL, source INTEGER NOT NULL, target INTEGER NOT NULL,
    undirected INTEGER NOT NULL, data);
"""


class GraphFileError(Exception):
    """The graph file cannot be used (written by a newer jaclang, or not a graph file)."""


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
        self.unchanged = not self.missing and all(self.kept)

    def state(self, values: list[Any]) -> dict[str, Any]:
        """The instance ``__dict__`` of the stored field values under the current class."""
        if not values and not self.missing:
            return {}
        if self.unchanged:
            return dict(zip(self.stored_fields, values))
        state = {name: value for name, keep, value in zip(self.stored_fields, self.kept, values) if keep}
        for field in self.missing:
            state[field.name] = field.default if field.default is not dataclasses.MISSING else field.default_factory()  # type: ignore[misc]
        return state


def _decode_all(rows: list[tuple[Any, Any]], resolve: Any) -> list[Any]:
    """The field values of many rows' data; JSON rows are decoded in one call, the fast way."""
    texts = [data for _, data in rows if isinstance(data, str)]
    decoded = iter(json.loads("[" + ",".join(texts) + "]")) if texts else iter(())
    values = []
    for _, data in rows:
        if data is None:
            values.append(())
        elif isinstance(data, str):
            values.append(next(decoded))
        else:
            values.append(decode(data, resolve))
    return values


class GraphStore:
    """One program's graph file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.loaded_node_ids: set[int] = set()
        self.loaded_edge_ids: set[int] = set()
        self.dangling_edge_ids: set[int] = set()

    # --- connection -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        return connection

    def _prepare(self, connection: sqlite3.Connection) -> None:
        """Create the tables on first use; refuse a file of a newer format."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                connection.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) > SCHEMA_VERSION:
                raise GraphFileError(
                    f"{self.path}: graph file format {row[0]} is newer than this jaclang's ({SCHEMA_VERSION}); "
                    "upgrade jaclang or start fresh with `jac run --fresh`"
                )
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
                return self._load_rows(connection)
            finally:
                connection.execute("COMMIT")
        finally:
            connection.close()

    def _class_plans(self, connection: sqlite3.Connection) -> dict[int, _ClassPlan | None]:
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

    def _load_rows(self, connection: sqlite3.Connection) -> Root:
        plans = self._class_plans(connection)
        nodes: dict[int, Any] = {}
        edges: dict[int, Any] = {}

        def resolve(reference: tuple[str, int]) -> Any:
            kind, row_id = reference
            return (nodes if kind == "n" else edges).get(row_id)

        # Objects first, fields after: a field may refer to any node or edge.
        node_rows = connection.execute("SELECT id, type, data FROM nodes").fetchall()
        present_node_ids = set()
        loaded_nodes: list[tuple[Any, _ClassPlan, int, Any]] = []
        for row_id, type_id, data in node_rows:
            present_node_ids.add(row_id)
            plan = plans.get(type_id)
            if plan is not None:
                node = nodes[row_id] = Root() if row_id == ROOT_ID else plan.cls.__new__(plan.cls)
                loaded_nodes.append((node, plan, type_id, data))
        root = nodes.get(ROOT_ID)
        if not isinstance(root, Root):
            root = nodes[ROOT_ID] = Root()
        root.__dict__["_jac_id"] = ROOT_ID
        edge_rows = connection.execute("SELECT id, type, source, target, undirected, data FROM edges ORDER BY id").fetchall()
        loaded_edges: list[tuple[Any, _ClassPlan, int, Any, Any, Any, int]] = []
        for row_id, type_id, source_id, target_id, undirected, data in edge_rows:
            if source_id not in present_node_ids or target_id not in present_node_ids:
                self.dangling_edge_ids.add(row_id)  # an end was deleted by another run: drop it at commit
                continue
            plan = plans.get(type_id)
            source, target = nodes.get(source_id), nodes.get(target_id)
            if plan is not None and source is not None and target is not None:
                edge = edges[row_id] = plan.cls.__new__(plan.cls)
                loaded_edges.append((edge, plan, type_id, data, source, target, undirected))

        node_values = _decode_all([(node, data) for node, _, _, data in loaded_nodes], resolve)
        for (node, plan, type_id, data), values in zip(loaded_nodes, node_values):
            if node is not root:
                node.__dict__.update(plan.state(values))
            node.__dict__["_jac_saved"] = (type_id, data)
        edge_values = _decode_all([(edge, data) for edge, _, _, data, _, _, _ in loaded_edges], resolve)
        sequence = 0
        for (edge, plan, type_id, data, source, target, undirected), values in zip(loaded_edges, edge_values):
            state = plan.state(values)
            state["_jac_source"] = source
            state["_jac_target"] = target
            state["_jac_seq"] = sequence = sequence + 1
            if undirected:
                state["_jac_undirected"] = True
            state["_jac_saved"] = (type_id, data, id(source), id(target), bool(undirected))
            edge.__dict__.update(state)
            for end in (source, target) if source is not target else (source,):
                end_state = end.__dict__
                listed = end_state.get("_jac_edges")
                if listed is None:
                    listed = end_state["_jac_edges"] = []
                listed.append(edge)
        for row_id, node in nodes.items():
            node.__dict__["_jac_id"] = row_id
        for row_id, edge in edges.items():
            edge.__dict__["_jac_id"] = row_id
        self.loaded_node_ids = set(nodes)
        self.loaded_edge_ids = set(edges)
        return root

    # --- committing -------------------------------------------------------------------------

    def commit(self, root: Root) -> None:
        """Write what changed under ``root`` since it was loaded, in one transaction."""
        connection = self._connect()
        try:
            self._prepare(connection)
            connection.execute("BEGIN IMMEDIATE")
            try:
                _Commit(self, connection, root).run()
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.close()


class _Commit:
    """One commit: find what is reachable from root, give new objects ids, write the changes."""

    def __init__(self, store: GraphStore, connection: sqlite3.Connection, root: Root) -> None:
        self.store = store
        self.connection = connection
        self.root = root
        self.type_ids: dict[type, int] = {}
        # Row ids are never reused (a run may still hold an id another run deleted), so the
        # next free ids are counters in ``meta``, read and advanced inside this transaction.
        self.first_node_id = self.counter("next_node_id", "nodes", ROOT_ID + 1)
        self.first_edge_id = self.counter("next_edge_id", "edges", 1)
        self.node_ids = itertools.count(self.first_node_id)
        self.edge_ids = itertools.count(self.first_edge_id)
        self.pending_nodes: list[Any] = []
        self.pending_edges: list[Any] = []

    def counter(self, key: str, table: str, lowest: int) -> int:
        """The next unused row id of ``table``."""
        row = self.connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        highest = self.connection.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        return max(int(row[0]) if row else 0, highest + 1, lowest)

    def save_counters(self) -> None:
        """Advance the id counters past every id this commit handed out."""
        for key, ids in (("next_node_id", self.node_ids), ("next_edge_id", self.edge_ids)):
            self.connection.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(next(ids))))

    def type_id(self, cls: type) -> int:
        """The ``types`` row of a class with its current fields (added on first use)."""
        found = self.type_ids.get(cls)
        if found is None:
            fields = field_names(cls)
            row = (cls.__module__, cls.__qualname__, json.dumps(fields))
            self.connection.execute("INSERT OR IGNORE INTO types (module, qualname, fields) VALUES (?, ?, ?)", row)
            found = self.connection.execute("SELECT id FROM types WHERE module = ? AND qualname = ? AND fields = ?", row).fetchone()[0]
            self.type_ids[cls] = found
        return found

    def node_id(self, node: Any) -> int:
        """A node's row id, given now (and the node queued for writing) if it has none."""
        state = node.__dict__
        row_id = state.get("_jac_id")
        if row_id is None:
            row_id = state["_jac_id"] = ROOT_ID if node is self.root else next(self.node_ids)
            self.pending_nodes.append(node)
        return row_id

    def reference(self, value: Any) -> tuple[str, int] | None:
        """Pickle hook: a node or edge inside a field is stored as its row id."""
        if isinstance(value, Node):
            return ("n", self.node_id(value))
        if isinstance(value, Edge) and value._jac_source is not None:
            self.pending_edges.append(value)
            return ("e", self.edge_row_id(value))
        return None

    def edge_row_id(self, edge: Any) -> int:
        """An edge's row id, given now if it has none."""
        row_id = edge.__dict__.get("_jac_id")
        if row_id is None:
            row_id = edge.__dict__["_jac_id"] = next(self.edge_ids)
        return row_id

    def reachable(self) -> tuple[list[Any], list[Any]]:
        """Every node connected to root (through edges either way) and every edge among them."""
        self.root.__dict__["_jac_id"] = ROOT_ID
        seen_nodes = {id(self.root)}
        nodes = [self.root]
        seen_edges: set[int] = set()
        edges: list[Any] = []
        index = 0
        while index < len(nodes):
            node = nodes[index]
            index += 1
            for edge in node._jac_edges:
                if id(edge) in seen_edges:
                    continue
                seen_edges.add(id(edge))
                edges.append(edge)
                for end in (edge._jac_source, edge._jac_target):
                    if id(end) not in seen_nodes:
                        seen_nodes.add(id(end))
                        nodes.append(end)
        node_ids = self.node_ids
        for node in nodes:  # ids for new nodes (pending_nodes is only for ones found in fields)
            if node._jac_id is None:
                node.__dict__["_jac_id"] = next(node_ids)
        return nodes, edges

    def run(self) -> None:
        """Write every added or changed row, delete what was cut off from root, in this transaction."""
        nodes, edges = self.reachable()
        # New edges get ids in the order they were connected, which keeps each node's edge order.
        for edge in sorted((e for e in edges if e._jac_id is None), key=lambda e: e.__dict__.get("_jac_seq", 0)):
            self.edge_row_id(edge)
        node_rows: list[tuple] = []
        edge_rows: list[tuple] = []
        kept_nodes: set[int] = set()
        kept_edges: set[int] = set()
        self.pending_nodes = nodes
        self.pending_edges = edges
        # Serializing a field may reach more nodes and edges (references inside values): repeat until none.
        while self.pending_nodes or self.pending_edges:
            batch, self.pending_nodes = self.pending_nodes, []
            for node in batch:
                row_id = self.node_id(node)
                if row_id not in kept_nodes:
                    kept_nodes.add(row_id)
                    row = self.node_row(node, row_id)
                    if row is not None:
                        node_rows.append(row)
            batch, self.pending_edges = self.pending_edges, []
            for edge in batch:
                row_id = self.edge_row_id(edge)
                if row_id not in kept_edges:
                    kept_edges.add(row_id)
                    row = self.edge_row(edge, row_id)
                    if row is not None:
                        edge_rows.append(row)
        execute = self.connection.executemany
        execute("INSERT OR REPLACE INTO nodes (id, type, data) VALUES (?, ?, ?)", node_rows)
        execute("INSERT OR REPLACE INTO edges (id, type, source, target, undirected, data) VALUES (?, ?, ?, ?, ?, ?)", edge_rows)
        store = self.store
        gone_nodes = store.loaded_node_ids - kept_nodes
        gone_edges = (store.loaded_edge_ids - kept_edges) | store.dangling_edge_ids
        execute("DELETE FROM nodes WHERE id = ?", [(row_id,) for row_id in gone_nodes])
        execute("DELETE FROM edges WHERE id = ?", [(row_id,) for row_id in gone_edges])
        self.save_counters()
        store.loaded_node_ids = kept_nodes
        store.loaded_edge_ids = kept_edges
        store.dangling_edge_ids = set()

    def values(self, instance: Any, cls: type) -> tuple[Any, ...]:
        """The instance's field values, in the class's field order."""
        return tuple(map(instance.__dict__.get, field_names(cls)))

    def node_row(self, node: Any, row_id: int) -> tuple | None:
        """The row to write for a node, or None when it is stored unchanged."""
        cls = type(node)
        state = (self.type_id(cls), encode(self.values(node, cls), self.reference))
        if node.__dict__.get("_jac_saved") == state:
            return None
        node.__dict__["_jac_saved"] = state
        return (row_id, *state)

    def edge_row(self, edge: Any, row_id: int) -> tuple | None:
        """The row to write for an edge, or None when it is stored unchanged."""
        cls = type(edge)
        source, target = edge._jac_source, edge._jac_target
        undirected = bool(edge._jac_undirected)
        names = field_names(cls)
        data = encode(tuple(map(edge.__dict__.get, names)), self.reference) if names else None
        state = (self.type_id(cls), data, id(source), id(target), undirected)
        if edge.__dict__.get("_jac_saved") == state:
            return None
        edge.__dict__["_jac_saved"] = state
        source_id = source._jac_id if source._jac_id is not None else self.node_id(source)
        target_id = target._jac_id if target._jac_id is not None else self.node_id(target)
        return (row_id, state[0], source_id, target_id, int(undirected), data)
