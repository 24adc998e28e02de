"""The OSP runtime (``jaclang.runtimelib.osp``) against upstream jaclang 0.16.7's behaviour.

Archetypes are written here the way the compiler emits them: subclasses of the
runtime's bases, made ``dataclass(eq=False)``, abilities marked with
``on_entry`` / ``on_exit``. Each expected trace was produced by running the
equivalent Jac program on upstream jaclang 0.16.7 (docs/osp.md).
"""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest

from jaclang.runtimelib import osp
from jaclang.runtimelib.osp import Edge, GenericEdge, Node, Root, Walker, on_entry, on_exit
from jaclang.runtimelib.osp.archetypes import edge_source, edge_target
from jaclang.runtimelib.osp.codec import decode_ids, encode_ids
from jaclang.runtimelib.osp.persistence import GraphFileError, GraphStore

trace: list[str] = []


def archetype(cls: type) -> type:
    """What the compiler does to an archetype: an identity-compared dataclass."""
    return dataclass(eq=False)(cls)


@archetype
class City(Node):
    name: str


@archetype
class Town(Node):
    name: str
    pop: int = 0


@archetype
class Road(Edge):
    km: int = 1

    @on_entry()
    def on_walk(self) -> None:
        trace.append(f"edge ability {self.km}")


@archetype
class Tour(Walker):
    @on_entry(Root)
    def start(self) -> None:
        trace.append("walker root entry")
        osp.visit(osp.edge_ref(osp.here()))

    @on_entry()
    def any_entry(self) -> None:
        trace.append(f"walker untyped entry {osp.here()!r}")

    @on_entry(City)
    def at_city(self) -> None:
        trace.append(f"walker city entry {osp.here().name}")
        osp.visit(osp.edge_ref(osp.here()))

    @on_exit(City)
    def at_city_exit(self) -> None:
        trace.append(f"walker city exit {osp.here().name}")

    @on_exit()
    def any_exit(self) -> None:
        trace.append("walker untyped exit")


@pytest.fixture(autouse=True)
def fresh_trace() -> None:
    trace.clear()


def cities(*names: str) -> list[City]:
    return [City(name) for name in names]


def names(nodes: list[City]) -> list[str]:
    return [node.name for node in nodes]


# --- connect, edge references, disconnect ---------------------------------------------------


def test_connect_returns_the_nodes_the_edges_point_to() -> None:
    a, b, c = cities("a", "b", "c")
    assert osp.connect(a, b) == [b]
    assert osp.connect(a, [b, c]) == [b, c]
    assert osp.connect(a, b, "in") == [a]  # a <++ b: the edge goes b -> a
    assert osp.connect(a, b, "both") == [b]


def test_chained_connects_build_a_path() -> None:
    p, q, s = cities("p", "q", "s")
    osp.connect(osp.connect(p, q), s)  # p ++> q ++> s
    assert osp.edge_ref(p) == [q] and osp.edge_ref(q) == [s]
    x, y, z = cities("x", "y", "z")
    assert osp.connect(osp.connect(x, y, "in"), z, "in") == [x]  # x <++ y <++ z
    assert osp.edge_ref(z) == [x] and osp.edge_ref(y) == [x] and osp.edge_ref(x, "in") == [y, z]


def test_in_and_out_references_follow_edge_direction() -> None:
    a, b = cities("a", "b")
    osp.connect(a, b, "in")
    assert (osp.edge_ref(a), osp.edge_ref(a, "in"), osp.edge_ref(b)) == ([], [b], [a])


def test_an_undirected_edge_is_one_edge_traversed_from_either_end() -> None:
    c, d = cities("c", "d")
    osp.connect(c, d, "both")
    assert osp.edge_ref(c) == [d] and osp.edge_ref(c, "in") == [d] and osp.edge_ref(c, "both") == [d]
    assert osp.edge_ref(d) == [c] and osp.edge_ref(d, "in") == [c]
    (edge,) = osp.edge_ref(c, "both", edges=True)
    assert osp.edge_ref(d, edges=True) == [edge] and type(edge) is GenericEdge


def test_typed_edges_keep_their_fields_and_filter_references() -> None:
    root = Root()
    a, b = cities("a", "b")
    assert osp.connect(root, a, edge=Road(km=3)) == [a]
    osp.connect(root, b, edge=Road(km=5))
    osp.connect(root, City("c"))
    assert names(osp.edge_ref(root)) == ["a", "b", "c"]
    assert [e.km for e in osp.edge_ref(root, edge_types=(Road,), edges=True)] == [3, 5]
    assert osp.edge_ref(root, edge_types=(Road,), edge_condition=lambda e: e.km > 4) == [b]
    assert osp.edge_ref(root, edge_types=(Road,), node_condition=lambda n: n.name == "a") == [a]


def test_an_edge_class_builds_one_edge_per_pair_and_an_instance_is_copied_for_extra_pairs() -> None:
    a, b, c = cities("a", "b", "c")
    osp.connect(a, [b, c], edge=Road)
    first, second = osp.edge_ref(a, edges=True)
    assert type(first) is Road and first is not second
    road = Road(km=7)
    osp.connect(b, [a, c], edge=road)
    given, copied = osp.edge_ref(b, edges=True)
    assert given is road and copied is not road and copied.km == 7


def test_references_list_each_node_once_in_connection_order() -> None:
    a, c, d = cities("a", "c", "d")
    osp.connect(a, [c, d])
    osp.connect(a, c)
    osp.connect(a, c, edge=Road(km=2))
    assert names(osp.edge_ref(a)) == ["c", "d"]
    assert len(osp.edge_ref(a, edges=True)) == 4


def test_chained_hops_and_node_filters() -> None:
    root = Root()
    a, b = cities("a", "b")
    t = Town("t", pop=500)
    osp.connect(root, a)
    osp.connect(a, [b, t])
    assert osp.edge_ref(osp.edge_ref(root)) == [b, t]  # [root --> -->]
    assert osp.filter_nodes(osp.edge_ref(a), types=(Town,)) == [t]  # (?:Town)
    assert osp.filter_nodes(osp.edge_ref(a), types=(Town,), condition=lambda n: n.pop > 100) == [t]
    assert osp.edge_ref(a, node_types=(City,)) == [b]


def test_disconnect_removes_only_matching_edges_and_says_whether_it_did() -> None:
    a, c, d = cities("a", "c", "d")
    osp.connect(a, [c, d])
    assert osp.disconnect(a, c) is True
    assert osp.edge_ref(a) == [d]
    assert osp.disconnect(a, c) is False
    osp.connect(a, c, edge=Road(km=2))
    osp.connect(a, c)
    assert osp.disconnect(a, c, edge_types=(Road,)) is True
    assert type(osp.edge_ref(a, node_condition=lambda n: n is c, edges=True)[0]) is GenericEdge
    assert osp.disconnect(c, a) is False  # wrong direction
    assert osp.disconnect(c, a, "in") is True


def test_destroy_deletes_edges_or_nodes_with_their_edges() -> None:
    a, b, c = cities("a", "b", "c")
    osp.connect(a, [b, c])
    osp.connect(b, c)
    osp.destroy(osp.edge_ref(a, node_condition=lambda n: n is b, edges=True))
    assert osp.edge_ref(a) == [c]
    osp.destroy(c)
    assert osp.edge_ref(a) == [] and osp.edge_ref(b) == []


def test_archetypes_compare_by_identity_and_hash() -> None:
    first, second = City("a"), City("a")
    assert first != second and len({first, second, first}) == 2


# --- walkers --------------------------------------------------------------------------------


def build_tree() -> Root:
    """root -> a -> (b, c); b -> d; c -> e."""
    root = Root()
    a, b, c, d, e = cities("a", "b", "c", "d", "e")
    osp.connect(root, a)
    osp.connect(a, [b, c])
    osp.connect(b, d)
    osp.connect(c, e)
    return root


def test_walk_visits_breadth_first_and_runs_exits_last_entered_first() -> None:
    walker = Tour()
    assert osp.spawn(walker, build_tree()) is walker
    assert trace == [
        "walker untyped entry Root()",
        "walker root entry",
        "walker city entry a",
        "walker city entry b",
        "walker city entry c",
        "walker city entry d",
        "walker city entry e",
        "walker city exit e",
        "walker city exit d",
        "walker city exit c",
        "walker city exit b",
        "walker city exit a",
        "walker untyped exit",
    ]


def test_node_spawn_walker_is_the_same_walk() -> None:
    walker = Tour()
    assert osp.spawn(build_tree(), walker) is walker
    assert trace[1:3] == ["walker root entry", "walker city entry a"]


@archetype
class Stop(Node):
    name: str

    @on_entry(Tour)
    def greet(self) -> None:
        trace.append(f"node typed entry {self.name}")

    @on_entry()
    def any(self) -> None:
        trace.append(f"node untyped entry {self.name} visitor={type(osp.visitor()).__name__}")

    @on_exit(Tour)
    def bye(self) -> None:
        trace.append(f"node typed exit {self.name}")

    @on_exit()
    def anyx(self) -> None:
        trace.append(f"node untyped exit {self.name}")


@archetype
class Reporter(Walker):
    @on_entry(Root)
    def start(self) -> None:
        osp.report("r1")
        osp.visit(osp.edge_ref(osp.here()))

    @on_entry(Stop)
    def at_stop(self) -> None:
        trace.append(f"walker stop entry {osp.here().name}")
        osp.report({"name": osp.here().name})
        osp.visit(osp.edge_ref(osp.here()))

    @on_entry(Stop)
    def at_stop_2(self) -> None:
        trace.append(f"walker stop entry 2 {osp.here().name}")
        if osp.here().name == "b":
            osp.skip()
        trace.append(f"after skip {osp.here().name}")

    @on_exit(Stop)
    def at_stop_exit(self) -> None:
        trace.append(f"walker stop exit {osp.here().name}")


class ReportingTour(Reporter, Tour):
    """Reporter's abilities plus Tour's: lets node abilities typed for Tour fire."""


ReportingTour = archetype(ReportingTour)


def test_abilities_fire_in_upstream_phase_order_and_skip_ends_only_the_ability(capsys: pytest.CaptureFixture[str]) -> None:
    root = Root()
    a, b, c = Stop("a"), Stop("b"), Stop("c")
    osp.connect(osp.connect(osp.connect(root, a), b), c)
    walker = osp.spawn(ReportingTour(), root)
    stops = [line for line in trace if "walker root" not in line and "untyped entry Root" not in line]
    expected = []
    for name in "abc":
        expected += [f"walker stop entry {name}", f"walker stop entry 2 {name}"]
        expected += [] if name == "b" else [f"after skip {name}"]
        expected += [f"node untyped entry {name} visitor=ReportingTour", f"node typed entry {name}"]
    for name in "cba":
        expected += [f"node typed exit {name}", f"node untyped exit {name}", f"walker stop exit {name}"]
    expected += ["walker untyped exit"]
    assert stops == expected
    assert walker.reports == ["r1", {"name": "a"}, {"name": "b"}, {"name": "c"}]
    assert capsys.readouterr().out == "r1\n{'name': 'a'}\n{'name': 'b'}\n{'name': 'c'}\n"


def test_each_spawn_starts_a_fresh_reports_list() -> None:
    root = Root()
    osp.connect(root, Stop("a"))
    walker = Reporter()
    osp.spawn(walker, root)
    osp.spawn(walker, root)
    assert walker.reports == ["r1", {"name": "a"}]


@archetype
class Stopper(Walker):
    @on_entry(Root)
    def start(self) -> None:
        trace.append("stopper root")
        osp.visit(osp.edge_ref(osp.here()))

    @on_entry(City)
    def at_city(self) -> None:
        trace.append(f"stopper at {osp.here().name}")
        if osp.here().name == "a":
            osp.disengage()
        trace.append("after disengage")

    @on_entry(City)
    def at_city_2(self) -> None:
        trace.append("second ability")

    @on_exit()
    def untyped_exit(self) -> None:
        trace.append("untyped exit")

    @on_exit(City)
    def city_exit(self) -> None:
        trace.append("city exit")


def test_disengage_stops_the_walk_without_exit_abilities() -> None:
    osp.spawn(Stopper(), build_tree())
    assert trace == ["stopper root", "stopper at a"]


@archetype
class EdgeWalker(Walker):
    @on_entry(Root)
    def start(self) -> None:
        osp.visit(osp.edge_ref(osp.here(), edges=True))  # visit [edge -->]

    @on_entry(Road)
    def at_road(self) -> None:
        trace.append(f"walker on road {osp.here().km}")

    @on_entry(City)
    def at_city(self) -> None:
        trace.append(f"walker city entry {osp.here().name}")


def test_visiting_edges_lands_on_each_edge_then_its_node() -> None:
    root = Root()
    osp.connect(root, City("a"), edge=Road(km=3))
    osp.connect(root, City("b"), edge=Road(km=5))
    osp.spawn(EdgeWalker(), root)
    assert trace == [
        "walker on road 3",
        "edge ability 3",
        "walker city entry a",
        "walker on road 5",
        "edge ability 5",
        "walker city entry b",
    ]


@archetype
class Lonely(Walker):
    @on_entry(Root)
    def start(self) -> None:
        if not osp.visit(osp.edge_ref(osp.here())):
            trace.append("else ran")


def test_visit_is_false_when_nothing_was_queued() -> None:
    osp.spawn(Lonely(), Root())
    assert trace == ["else ran"]


def test_spawning_on_a_node_without_matching_abilities_runs_only_untyped_ones() -> None:
    osp.spawn(Tour(), City("a"))
    assert trace == ["walker untyped entry City(name='a')", "walker city entry a", "walker city exit a", "walker untyped exit"]


@archetype
class Counter(Walker):
    seen: list

    @on_entry()
    def begin(self) -> None:
        osp.visit(osp.here())

    @on_entry(City)
    def tick(self) -> None:
        self.seen.append(osp.here().name)
        osp.visit(osp.edge_ref(osp.here()))


def test_an_untyped_walker_entry_runs_at_the_spawn_location_before_it_is_entered() -> None:
    a = City("a")
    osp.connect(a, City("b"))
    walker = osp.spawn(Counter([]), a)
    assert walker.seen == ["a", "a", "b", "b"]  # upstream: the walk does not de-duplicate visits


def test_here_and_visitor_are_none_outside_a_walk() -> None:
    assert osp.here() is None and osp.visitor() is None
    assert osp.visit(City("x")) is False


def test_skip_and_disengage_outside_a_walk_are_errors() -> None:
    with pytest.raises(RuntimeError, match="skip"):
        osp.skip()
    with pytest.raises(RuntimeError, match="disengage"):
        osp.disengage()


@archetype
class Base(Walker):
    @on_entry(City)
    def first(self) -> None:
        trace.append("base first")

    @on_entry(City)
    def second(self) -> None:
        trace.append("base second")


@archetype
class Derived(Base):
    @on_entry(City)
    def third(self) -> None:
        trace.append("derived third")

    @on_entry(City)
    def first(self) -> None:
        trace.append("derived first")


def test_inherited_abilities_come_first_and_an_override_keeps_its_place() -> None:
    osp.spawn(Derived(), City("a"))
    assert trace == ["derived first", "base second", "derived third"]


def test_nested_spawn_has_its_own_here_and_reports() -> None:
    inner_seen: list[object] = []

    @archetype
    class Inner(Walker):
        @on_entry(City)
        def look(self) -> None:
            inner_seen.append(osp.here())
            osp.report("inner")

    @archetype
    class Outer(Walker):
        @on_entry(Town)
        def launch(self) -> None:
            osp.spawn(Inner(), osp.edge_ref(osp.here())[0])
            inner_seen.append(osp.here())
            osp.report("outer")

    town, city = Town("t"), City("c")
    osp.connect(town, city)
    outer = osp.spawn(Outer(), town)
    assert inner_seen == [city, town] and outer.reports == ["outer"]


# --- persistence: real `jac run` processes on a real SQLite file ------------------------------

HELPER = Path(__file__).with_name("osp_graph_program.py")
JAC = str(Path(sys.executable).with_name("jac"))


@pytest.fixture
def program(tmp_path: Path) -> Path:
    """A Jac program (beside its Python helper) whose graph lives in tmp_path/.jac/data."""
    shutil.copy(HELPER, tmp_path / "osp_graph_program.py")
    path = tmp_path / "graph_app.jac"
    path.write_text("import from osp_graph_program { main }\n\nwith entry { main(); }\n", encoding="utf-8")
    return path


def jac_run(program: Path, *args: str, options: tuple[str, ...] = (), env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``jac run [options] program args`` in a real process, in the program's folder."""
    environment = {key: value for key, value in os.environ.items() if key not in ("JAC_FRESH", "JAC_DATA_DIR")}
    environment.update(env or {})
    return subprocess.run(
        [JAC, "run", *options, str(program), *args],
        capture_output=True, text=True, cwd=program.parent, env=environment, timeout=120,
    )


def graph_file(program: Path) -> Path:
    return program.parent / ".jac" / "data" / "graph_app.db"


def test_a_second_run_finds_the_graph_the_first_run_connected_to_root(program: Path) -> None:
    first = jac_run(program, "grow", "one")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "found []\nruns []\n"
    assert graph_file(program).is_file()
    second = jac_run(program, "grow", "two")
    assert second.stdout == "found ['one']\nruns [1]\n"
    third = jac_run(program, "show")
    assert third.stdout == "found ['one', 'two']\nweights [3, 3]\n"


def test_fresh_flag_and_environment_variable_start_from_an_empty_graph(program: Path) -> None:
    jac_run(program, "grow", "one")
    assert jac_run(program, "grow", "two", options=("--fresh",)).stdout == "found []\nruns []\n"
    assert jac_run(program, "show").stdout.startswith("found ['two']\n")
    assert jac_run(program, "show", env={"JAC_FRESH": "1"}).stdout.startswith("found []\n")


def test_a_run_killed_mid_way_leaves_the_previous_graph_intact(program: Path) -> None:
    jac_run(program, "grow", "one")
    killed = jac_run(program, "kill", "two")
    assert killed.returncode == -9
    assert killed.stdout.startswith("found ['one']\n")
    assert jac_run(program, "show").stdout.startswith("found ['one']\n")


def test_a_run_that_raises_still_commits_its_graph_as_upstream_does(program: Path) -> None:
    failed = jac_run(program, "raise", "one")
    assert failed.returncode == 1 and "ValueError: boom" in failed.stderr
    assert jac_run(program, "show").stdout.startswith("found ['one']\n")


def test_overlapping_runs_keep_every_runs_additions(program: Path, tmp_path: Path) -> None:
    jac_run(program, "grow", "base")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    runs = [
        subprocess.Popen(
            [JAC, "run", str(program), "overlap", str(barrier), "4", f"r{index}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=program.parent,
        )
        for index in range(4)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0, 0], outputs
    assert all(out == "found ['base']\n" for out, _ in outputs)  # each loaded before any committed
    shown = jac_run(program, "show").stdout.splitlines()[0]
    assert shown.startswith("found ['base', ") and sorted(eval(shown[len("found "):])) == ["base", "r0", "r1", "r2", "r3"]


def test_a_node_cut_off_from_root_is_deleted_from_the_file(program: Path) -> None:
    jac_run(program, "grow", "one")
    jac_run(program, "grow", "two")
    assert jac_run(program, "drop", "one").stdout == "found ['two']\n"
    assert jac_run(program, "show").stdout.startswith("found ['two']\n")
    assert len(stored_ids(graph_file(program), "node_blocks")) == 1  # 'two' (root is not stored)
    assert len(stored_ids(graph_file(program), "edge_blocks")) == 1


def stored_ids(path: Path, table: str) -> list[int]:
    """The ids of the objects stored in ``node_blocks`` or ``edge_blocks``."""
    with sqlite3.connect(path) as connection:
        return [row_id for (ids,) in connection.execute(f"SELECT ids FROM {table}") for row_id in decode_ids(json.loads(ids))]


def test_a_program_that_never_uses_root_creates_no_graph_file(tmp_path: Path) -> None:
    path = tmp_path / "plain.jac"
    path.write_text('with entry { print("hello"); }\n', encoding="utf-8")
    result = jac_run(path)
    assert result.stdout == "hello\n" and not (tmp_path / ".jac").exists()


# --- persistence: nodes kept by fields, and deletions, across real `jac run` processes ---------

HELD_PROGRAM = """\
import sys;

node Box {
    has label: str;
    has count: int = 0;
    has held: Box | None = None;
}

def describe(box: Box) -> tuple {
    return (box.label, box.count, [(b.label, b.count) for b in [box -->]]);
}

with entry {
    action = sys.argv[1];
    boxes = {b.label: b for b in [root -->]};
    if action == "hold" {
        kept = Box(label="kept");
        root ++> kept;
        root ++> Box(label="first", held=kept);
    } elif action == "cut" {
        del root --> boxes["kept"];
    } elif action == "bump" {
        boxes["first"].held.count += 1;
        boxes["first"].held.label = "bumped";
    } elif action == "hand-over" {
        root ++> Box(label="second", held=boxes["first"].held);
        boxes["first"].held = None;
        [root -->](?label == "second")[0].held.count += 10;
    } elif action == "release" {
        for box in [root -->] { box.held = None; }
    } elif action == "hold-tree" {
        sub = Box(label="sub");
        sub ++> Box(label="leaf");
        root ++> Box(label="first", held=sub);
    } elif action == "bump-leaf" {
        sub = boxes["first"].held;
        [sub -->][0].count += 1;
    } elif action == "chain" {
        a = Box(label="a");
        root ++> a;
        a ++> [Box(label="b"), Box(label="c")];
        [a -->](?label == "c")[0] ++> Box(label="d");
    } elif action == "unlink" {
        del boxes["a"] --> [boxes["a"] -->](?label == "b");
    } elif action == "destroy" {
        c = [boxes["a"] -->](?label == "c")[0];
        del [c -->];
    }
    if action == "show" {
        print([(describe(b), describe(b.held) if b.held else None) for b in [root -->]]);
    }
}
"""


@pytest.fixture
def held_program(tmp_path: Path) -> Path:
    """A Jac program whose ``Box`` nodes may hold another box in a field; ``jac run it ACTION``."""
    path = tmp_path / "held_app.jac"
    path.write_text(HELD_PROGRAM, encoding="utf-8")
    return path


def run_actions(program: Path, *actions: str) -> str:
    """Run the program once per action (each its own process and commit); the last run's output."""
    for action in actions:
        result = jac_run(program, action)
        assert result.returncode == 0, (action, result.stderr)
    return result.stdout


def held_file(program: Path) -> Path:
    return program.parent / ".jac" / "data" / "held_app.db"


def test_a_node_kept_only_by_a_field_keeps_the_changes_of_every_run(held_program: Path) -> None:
    # "kept" is stored before "first" in their block; once cut off from root only first's field keeps it.
    assert run_actions(held_program, "hold", "cut", "show") == "[(('first', 0, []), ('kept', 0, []))]\n"
    assert run_actions(held_program, "bump", "bump", "show") == "[(('first', 0, []), ('bumped', 2, []))]\n"


def test_a_node_handed_from_one_field_to_a_new_node_keeps_its_changes(held_program: Path) -> None:
    shown = run_actions(held_program, "hold", "cut", "hand-over", "show")
    assert shown == "[(('first', 0, []), None), (('second', 0, []), ('kept', 10, []))]\n"


def test_a_node_kept_by_a_field_keeps_its_edges_and_the_nodes_beyond_them(held_program: Path) -> None:
    assert run_actions(held_program, "hold-tree", "show") == "[(('first', 0, []), ('sub', 0, [('leaf', 0)]))]\n"
    assert run_actions(held_program, "bump-leaf", "show") == "[(('first', 0, []), ('sub', 0, [('leaf', 1)]))]\n"


def test_a_node_no_field_holds_any_more_is_deleted_from_the_file(held_program: Path) -> None:
    run_actions(held_program, "hold", "cut", "hand-over")
    assert len(stored_ids(held_file(held_program), "node_blocks")) == 3  # first, second, kept
    assert run_actions(held_program, "release", "show") == "[(('first', 0, []), None), (('second', 0, []), None)]\n"
    assert len(stored_ids(held_file(held_program), "node_blocks")) == 2
    run_actions(held_program, "hold-tree")  # a new first holding sub, with its leaf
    assert len(stored_ids(held_file(held_program), "node_blocks")) == 5
    run_actions(held_program, "release")
    assert len(stored_ids(held_file(held_program), "node_blocks")) == 3  # sub and leaf went together
    assert len(stored_ids(held_file(held_program), "edge_blocks")) == 3  # root's three edges


def test_deleted_edges_and_the_nodes_they_cut_off_are_deleted_from_the_file(held_program: Path) -> None:
    assert run_actions(held_program, "chain", "show") == "[(('a', 0, [('b', 0), ('c', 0)]), None)]\n"
    assert run_actions(held_program, "unlink", "show") == "[(('a', 0, [('c', 0)]), None)]\n"
    assert len(stored_ids(held_file(held_program), "node_blocks")) == 3  # a, c, d
    assert len(stored_ids(held_file(held_program), "edge_blocks")) == 3  # root->a, a->c, c->d
    assert run_actions(held_program, "destroy", "show") == "[(('a', 0, [('c', 0)]), None)]\n"
    assert len(stored_ids(held_file(held_program), "node_blocks")) == 2  # d lost its only edge
    assert len(stored_ids(held_file(held_program), "edge_blocks")) == 2


# --- persistence: the store itself -----------------------------------------------------------


@archetype
class Place(Node):
    name: str
    neighbours: list = None  # references to other nodes inside a field


@archetype
class Trail(Edge):
    km: float = 0.0


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "graph.db"


def reload(path: Path) -> Root:
    return GraphStore(str(path)).load()


def test_edge_order_types_fields_and_references_survive_a_round_trip(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    a, b, c = Place("a"), Place("b"), Place("c")
    osp.connect(root, [a, b])
    osp.connect(c, a, edge=Trail(km=2.5))
    osp.connect(a, b, "both")
    osp.connect(root, c, "in")
    a.neighbours = [b, {"far": c}]
    store.commit(root)
    loaded = reload(store_path)
    la, lb = osp.edge_ref(loaded)
    assert (la.name, lb.name) == ("a", "b")
    (lc,) = osp.edge_ref(loaded, "in")
    assert osp.edge_ref(la, "both") == [loaded, lc, lb]  # a's edges in connection order
    assert [type(e).__name__ for e in osp.edge_ref(la, "both", edges=True)] == ["GenericEdge", "Trail", "GenericEdge"]
    assert osp.edge_ref(la, "in", edge_types=(Trail,), edges=True)[0].km == 2.5
    assert osp.edge_ref(lb) == [la]  # the undirected edge stayed undirected
    assert la.neighbours[0] is lb and la.neighbours[1]["far"] is lc


def test_an_unchanged_graph_is_not_rewritten(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, [Place("a"), Place("b")])
    store.commit(root)
    second = GraphStore(str(store_path))
    loaded = second.load()
    with sqlite3.connect(store_path) as connection:
        connection.execute("CREATE TABLE writes (tbl, ids)")
        for table in ("node_blocks", "edge_blocks"):
            for event in ("INSERT", "UPDATE"):
                connection.execute(
                    f"CREATE TRIGGER {table}_{event} AFTER {event} ON {table} BEGIN INSERT INTO writes VALUES ('{table}', new.ids); END"
                )
    second.commit(loaded)
    with sqlite3.connect(store_path) as connection:
        assert connection.execute("SELECT * FROM writes").fetchall() == []
    osp.edge_ref(loaded)[1].name = "b2"
    second.commit(loaded)
    with sqlite3.connect(store_path) as connection:
        assert connection.execute("SELECT * FROM writes").fetchall() == [("node_blocks", "[2,3]")]
    assert [n.name for n in osp.edge_ref(reload(store_path))] == ["a", "b2"]


def test_a_commit_that_fails_leaves_the_previous_graph(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, Place("a"))
    store.commit(root)
    osp.connect(root, Place("b", neighbours=[lambda: 1]))  # a function cannot be stored
    with pytest.raises(Exception):
        store.commit(root)
    assert [n.name for n in osp.edge_ref(reload(store_path))] == ["a"]


def test_two_stores_committing_the_same_file_merge_their_additions(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, Place("base"))
    store.commit(root)
    first, second = GraphStore(str(store_path)), GraphStore(str(store_path))
    root_one, root_two = first.load(), second.load()
    osp.connect(root_one, Place("one"))
    osp.connect(root_two, Place("two"))
    osp.edge_ref(root_two)[0].name = "base2"
    first.commit(root_one)
    second.commit(root_two)
    assert sorted(n.name for n in osp.edge_ref(reload(store_path))) == ["base2", "one", "two"]


def test_a_vanished_class_is_kept_in_the_file_and_comes_back(store_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    global Transient

    @archetype
    class Transient(Node):
        label: str

    Transient.__qualname__ = "Transient"
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, [Transient("t"), Place("p")])
    store.commit(root)
    saved, Transient = Transient, None  # the class disappears from its module
    second = GraphStore(str(store_path))
    loaded = second.load()
    assert [n.name for n in osp.edge_ref(loaded)] == ["p"]
    assert "no longer exists" in caplog.text
    second.commit(loaded)
    Transient = saved
    assert [type(n).__name__ for n in osp.edge_ref(reload(store_path))] == ["Transient", "Place"]


def test_a_changed_class_gets_defaults_for_new_fields_and_drops_removed_ones(store_path: Path) -> None:
    global Evolving

    @archetype
    class Evolving(Node):
        old: str
        kept: int = 1

    Evolving.__qualname__ = "Evolving"
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, Evolving("x", kept=5))
    store.commit(root)

    @archetype
    class Evolving(Node):  # noqa: F811  (the next version of the program)
        kept: int = 1
        added: str = "new"

    Evolving.__qualname__ = "Evolving"
    (node,) = osp.edge_ref(reload(store_path))
    assert (node.kept, node.added, hasattr(node, "old")) == (5, "new", False)


def test_the_file_stays_under_200_bytes_per_node_and_edge(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    level = [root]
    count = 0
    while count < 10_000:
        next_level = []
        for parent in level:
            children = [Place(f"n{count + i}") for i in range(10)]
            count += 10
            osp.connect(parent, children)
            next_level += children
        level = next_level
    store.commit(root)
    size = sum(p.stat().st_size for p in store_path.parent.glob("graph.db*"))
    assert size / (2 * count) < 200


def test_two_stores_changing_different_members_of_one_block_keep_both_changes(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, [Place("a"), Place("b"), Place("c")])
    store.commit(root)
    assert len(stored_ids(store_path, "node_blocks")) == 3  # one block holds all three
    first, second = GraphStore(str(store_path)), GraphStore(str(store_path))
    root_one, root_two = first.load(), second.load()
    osp.edge_ref(root_one)[0].name = "a1"
    osp.edge_ref(root_two)[2].name = "c2"
    osp.destroy(osp.edge_ref(root_two)[1])  # b is cut off from root by the second run
    first.commit(root_one)
    second.commit(root_two)
    assert [n.name for n in osp.edge_ref(reload(store_path))] == ["a1", "c2"]


def test_values_json_cannot_hold_round_trip_and_a_member_may_change_form(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    plain, other = Place("plain"), Place("nan")
    osp.connect(root, [plain, other], edge=Trail(km=float("nan")))
    store.commit(root)
    loaded_store = GraphStore(str(store_path))
    loaded = loaded_store.load()
    first, second = osp.edge_ref(loaded)
    assert math.isnan(osp.edge_ref(loaded, edges=True)[0].km)
    first.neighbours = [second, {"n": float("inf")}]  # a plain member becomes a pickled one
    loaded_store.commit(loaded)
    again_first, again_second = osp.edge_ref(reload(store_path))
    assert again_first.neighbours[0] is again_second and again_first.neighbours[1] == {"n": float("inf")}


def test_a_node_deleted_by_one_commit_and_connected_again_is_written_by_the_next(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    a, b = Place("a"), Place("b")
    osp.connect(root, [a, b])
    store.commit(root)
    osp.disconnect(root, b)
    store.commit(root)
    assert [n.name for n in osp.edge_ref(reload(store_path))] == ["a"]
    osp.connect(root, b)
    b.name = "b again"
    store.commit(root)
    assert [n.name for n in osp.edge_ref(reload(store_path))] == ["a", "b again"]


def test_an_edge_held_by_a_field_keeps_its_ends_and_their_edge_order(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    holder, x, y, z = Place("holder"), Place("x"), Place("y"), Place("z")
    osp.connect(x, z, edge=Trail(km=1.0))
    osp.connect(x, y, edge=Trail(km=2.0))
    holder.neighbours = [osp.edge_ref(x, edges=True)[1]]  # x -> y, connected after x -> z
    osp.connect(root, holder)
    store.commit(root)
    (loaded_holder,) = osp.edge_ref(reload(store_path))
    (held,) = loaded_holder.neighbours
    loaded_x = edge_source(held)
    assert (held.km, loaded_x.name, edge_target(held).name) == (2.0, "x", "y")
    assert [edge.km for edge in osp.edge_ref(loaded_x, edges=True)] == [1.0, 2.0]


def test_a_graph_file_of_the_earlier_format_is_refused_with_what_to_do(store_path: Path) -> None:
    with sqlite3.connect(store_path) as connection:
        connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        connection.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    with pytest.raises(GraphFileError, match="format 1 .* --fresh"):
        GraphStore(str(store_path)).load()


def test_consecutive_ids_are_stored_as_one_run_and_read_back(store_path: Path) -> None:
    assert encode_ids(list(range(2, 1026))) == "[[2,1024]]"
    assert encode_ids([2, 3, 4]) == "[2,3,4]"  # three ids are as short written out
    assert encode_ids([2, 3, 5, 6]) == "[2,3,5,6]"
    for ids in ([], [7], list(range(2, 1026)), [2, 3, 5, 6]):
        assert decode_ids(json.loads(encode_ids(ids))) == ids
    store = GraphStore(str(store_path))
    root = store.load()
    hub = Place("hub")
    osp.connect(root, hub)
    osp.connect(hub, [Place(f"p{i}") for i in range(20)])
    store.commit(root)
    with sqlite3.connect(store_path) as connection:
        assert connection.execute("SELECT ids FROM node_blocks").fetchall() == [("[[2,21]]",)]
        ((ids, ends),) = connection.execute("SELECT ids, ends FROM edge_blocks").fetchall()
    assert (ids, ends) == ("[[1,21]]", "[[1," + ",".join(["2"] * 20) + "],[[2,21]],[]]")
    assert [n.name for n in osp.edge_ref(osp.edge_ref(reload(store_path))[0])] == [f"p{i}" for i in range(20)]


def test_a_graph_file_of_format_2_is_read_and_marked_as_this_format(store_path: Path) -> None:
    store = GraphStore(str(store_path))
    root = store.load()
    osp.connect(root, [Place(f"p{i}") for i in range(5)], edge=Trail(km=1.5))
    store.commit(root)
    with sqlite3.connect(store_path) as connection:  # what format 2 wrote: every id list in full
        connection.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        connection.execute("UPDATE node_blocks SET ids = '[2,3,4,5,6]'")
        connection.execute("UPDATE edge_blocks SET ids = '[1,2,3,4,5]', ends = '[[1,1,1,1,1],[2,3,4,5,6],[]]'")
    loaded_store = GraphStore(str(store_path))
    loaded = loaded_store.load()
    assert [n.name for n in osp.edge_ref(loaded)] == [f"p{i}" for i in range(5)]
    assert [edge.km for edge in osp.edge_ref(loaded, edges=True)] == [1.5] * 5
    osp.connect(loaded, Place("p5"))
    loaded_store.commit(loaded)
    with sqlite3.connect(store_path) as connection:
        assert connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
    assert [n.name for n in osp.edge_ref(reload(store_path))] == [f"p{i}" for i in range(6)]


def test_graph_attributes_set_after_many_nodes_exist_allocate_no_dict_per_node() -> None:
    @archetype
    class Counted(Node):
        number: int = 0
        label: str = ""

    nodes = [Counted(number=i) for i in range(2_000)]  # CPython shrinks the room for new names as instances are made
    token = object()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for node in nodes:
            node._jac_mark = token
            node._jac_id = token
            node.label = "x"
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20 * len(nodes)  # an instance dict of its own would be about 270 bytes per node


def test_a_node_class_with_a_finalizer_is_made_without_running_it() -> None:
    finalized: list[object] = []

    @archetype
    class Finalized(Node):
        name: str = ""

        def __del__(self) -> None:
            finalized.append(self)

    gc.collect()
    assert finalized == []
    Finalized("a")
    gc.collect()
    assert len(finalized) == 1 and finalized[0].name == "a"
