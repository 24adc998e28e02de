"""byllm's pytest plugin: a thin layer over :mod:`byllm.testing`.

* ``byllm_mock`` fixture: ``byllm_mock("Paris", 42)`` answers every completion in
  the test, for any model, with the next scripted output (strings are reply
  texts, other values ready values); keyword outputs answer one function each
  (``byllm_mock(capital="Paris")``); a test model or function
  (``byllm_mock(TestModel())``) answers everything. The returned script records
  the requests. Plain, streamed and async calls, retries and tool turns alike.
* ``--byllm-block-network`` (or ``byllm_block_network = true`` in the ini file,
  or the ``no_llm_network`` marker): a completion that would reach a real
  (non-mock) provider fails the test, naming the model.
* ``byllm_cassette`` marker or fixture: the test's real completions are replayed
  from a JSON cassette (``<test dir>/cassettes/<module>/<test>.json``), streams
  as their chunks; ``--byllm-record`` records the missing ones
  (``--byllm-record=all`` records everything again). Without it a missing reply
  fails the test.
* ``jac_plugin_manager`` fixture: a fresh plugin manager for the test, with
  byllm's default plugin registered, installed as ``machine.plugin_manager``.

byllm is imported only by tests that use one of these, so the plugin costs
nothing elsewhere.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from jaclang.runtimelib.machine import JacPluginManager
    from byllm.testing import Cassette, Override

RECORD_MODES = ("none", "new", "all")

# Where a test's active cassette is kept, for the network guard to find.
_cassette_key: pytest.StashKey[Any] = pytest.StashKey()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add byllm's command-line and ini options."""
    group = parser.getgroup("byllm", "byllm language-model calls")
    group.addoption(
        "--byllm-block-network",
        action="store_true",
        default=None,
        help="fail any test whose code calls a real (non-mock) model provider",
    )
    group.addoption(
        "--byllm-record",
        nargs="?",
        const="new",
        default="none",
        choices=RECORD_MODES,
        help="cassette tests: record missing completions (new, the default when given) or all of them again (all)",
    )
    parser.addini("byllm_block_network", type="bool", default=False, help="fail tests that call a real model provider")
    parser.addini("byllm_cassette_dir", default="cassettes", help="cassette folder, relative to each test file")


def pytest_configure(config: pytest.Config) -> None:
    """Declare byllm's markers."""
    config.addinivalue_line("markers", "no_llm_network: fail the test if it calls a real (non-mock) model provider")
    config.addinivalue_line(
        "markers",
        "byllm_cassette(path=None): replay the test's real completions from a JSON cassette (record with --byllm-record)",
    )


def _fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


# -- a fresh plugin manager ------------------------------------------------------
@pytest.fixture
def jac_plugin_manager(monkeypatch: pytest.MonkeyPatch) -> JacPluginManager:
    """A fresh plugin manager for this test: every hook spec, byllm's default plugin, nothing else.

    It is ``jaclang.runtimelib.machine.plugin_manager`` for the test (read at
    call time by ``by llm()`` calls), so plugins registered on it are gone
    afterwards, without unregistering by hand or spawning a process.
    """
    from jaclang.runtimelib import machine
    from byllm.plugin import ByllmMachine

    manager = machine.new_plugin_manager()
    manager.register(ByllmMachine, name="byllm")
    monkeypatch.setattr(machine, "plugin_manager", manager)
    return manager


# -- scripted answers ------------------------------------------------------------
@pytest.fixture
def byllm_mock() -> Iterator[Any]:
    """A factory answering every completion of the test: ``script = byllm_mock("Paris", 42)``.

    Takes what :func:`byllm.testing.override` takes. The script answers any
    model (so functions bound to ``Model("gpt-4o")`` run offline), ``Model()``
    without a name becomes the mock, and ``script.requests`` holds the exact
    requests. Calling the factory again replaces the script.
    """
    from byllm.settings import forget_settings, reload_settings
    from byllm.testing import override

    active: list[Override] = []

    def script(*outputs: Any, **per_function: Any) -> Override:
        """Answer the test's completions with ``outputs``, in order."""
        while active:
            active.pop().__exit__(None, None, None)
        scripted = override(*outputs, **per_function)
        scripted.__enter__()
        active.append(scripted)
        return scripted

    # A monkeypatch of its own: the variable is restored when this fixture ends.
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("BYLLM_DEFAULT_MODEL", "mockllm")
        reload_settings()  # settings are read once; the new default model needs a reload
        try:
            yield script
        finally:
            while active:
                active.pop().__exit__(None, None, None)
    forget_settings()


# -- cassettes -------------------------------------------------------------------
def cassette_path(item: pytest.Item, explicit: str | None = None) -> Path:
    """Where ``item``'s cassette lives: the marker's path, or ``cassettes/<module>/<test>.json``."""
    base = Path(str(item.path)).parent
    if explicit:
        path = Path(explicit)
        return path if path.is_absolute() else base / path
    folder = item.config.getini("byllm_cassette_dir") or "cassettes"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")
    return base / folder / Path(str(item.path)).stem / f"{name}.json"


@pytest.fixture
def byllm_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """Replay (or, with ``--byllm-record``, record) this test's real completions."""
    from byllm.testing import Cassette, CassetteMissError

    marker = request.node.get_closest_marker("byllm_cassette")
    explicit = None
    if marker is not None:
        explicit = marker.kwargs.get("path") or (marker.args[0] if marker.args else None)
    try:
        cassette = Cassette(
            cassette_path(request.node, explicit), request.config.getoption("--byllm-record"), on_missing=_fail
        )
    except CassetteMissError as error:
        raise pytest.UsageError(str(error)) from None
    request.node.stash[_cassette_key] = cassette
    with cassette:
        yield cassette


def _network_blocked(item: pytest.Item) -> bool:
    if item.config.getoption("--byllm-block-network"):
        return True
    return bool(item.config.getini("byllm_block_network")) or item.get_closest_marker("no_llm_network") is not None


@pytest.fixture(autouse=True)
def _byllm_test_guards(request: pytest.FixtureRequest) -> Iterator[None]:
    """Apply the network guard and the cassette marker to each test that asks for them."""
    wants_cassette = request.node.get_closest_marker("byllm_cassette") is not None
    blocked = _network_blocked(request.node)
    if not (wants_cassette or blocked):
        yield
        return
    if "jac_plugin_manager" in request.fixturenames:  # guard the manager the test will use
        request.getfixturevalue("jac_plugin_manager")
    if wants_cassette:
        request.getfixturevalue("byllm_cassette")
    with contextlib.ExitStack() as stack:
        if blocked:
            from byllm.testing import block_network

            item = request.node

            def recording(model: Any, completion: Any) -> bool:
                # Looked up per completion: the cassette fixture may be set up after this guard.
                cassette = item.stash.get(_cassette_key, None)
                return cassette is not None and cassette.recording

            def fail(message: str) -> None:
                _fail(f"{item.nodeid}: {message} (--byllm-block-network, byllm_block_network or no_llm_network)")

            stack.enter_context(block_network(allow=recording, on_blocked=fail))
        yield
