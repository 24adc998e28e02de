"""byllm's pytest plugin: scripted models, a switch that keeps tests off the network, cassettes.

* ``byllm_mock`` fixture: ``byllm_mock("Paris", 42)`` answers every completion in
  the test, for any model, with the next scripted output (strings are reply
  texts, other values ready values); the returned script records the requests.
* ``--byllm-block-network`` (or ``byllm_block_network = true`` in the ini file,
  or the ``no_llm_network`` marker): a completion that would reach a real
  (non-mock) provider fails the test, naming the model.
* ``byllm_cassette`` marker or fixture: the test's real completions are replayed
  from a JSON cassette (``<test dir>/cassettes/<module>/<test>.json``);
  ``--byllm-record`` records the missing ones (``--byllm-record=all``
  records everything again). Without it a missing reply fails the test.

byllm is imported only by tests that use one of these, so the plugin costs
nothing elsewhere.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.providers.base import CompletionReply, CompletionRequest

RECORD_MODES = ("none", "new", "all")
CASSETTE_FORMAT = 1
REPLAY_MARK = "byllm-cassette"

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


# -- blocking the network --------------------------------------------------------
class NetworkGuard:
    """A hook that fails the test when a completion would reach a real provider."""

    def __init__(self, item: pytest.Item) -> None:
        self.item = item

    def _check(self, model: Model) -> None:
        from byllm.plugins.records import is_mock_model

        # Looked up now: the cassette fixture may have been set up after this guard.
        cassette = self.item.stash.get(_cassette_key, None)
        if is_mock_model(model) or (cassette is not None and cassette.recording):
            return
        pytest.fail(
            f"{self.item.nodeid} called the real model {model.model_name!r} while byllm's network guard is on "
            "(--byllm-block-network, byllm_block_network ini option or the no_llm_network marker); "
            "script it with the byllm_mock fixture or replay it from a cassette (byllm_cassette marker)",
            pytrace=False,
        )

    def llm_complete(self, model: Model, request: CompletionRequest) -> None:
        """Refuse real completions; let the mock through."""
        self._check(model)

    def llm_acomplete(self, model: Model, request: CompletionRequest) -> None:
        """Async form of the check."""
        self._check(model)


# -- scripted answers ------------------------------------------------------------
class ScriptedModel:
    """What ``byllm_mock(...)`` returns: the script, the requests it answered, a model to use."""

    def __init__(self, outputs: tuple[Any, ...]) -> None:
        from byllm.llm import Model
        from byllm.providers.mock import MockProvider

        self.provider = MockProvider(list(outputs))
        self.model: Model = Model("mockllm")

    @property
    def requests(self) -> list[CompletionRequest]:
        """Every request answered so far, in order."""
        return self.provider.requests

    @property
    def remaining(self) -> int:
        """Scripted outputs not used yet."""
        return self.provider.remaining

    def add(self, *outputs: Any) -> None:
        """Append more outputs to the script."""
        self.provider.outputs.extend(outputs)

    def llm_complete(self, model: Model, request: CompletionRequest) -> CompletionReply:
        """Answer with the next scripted output, whatever the model."""
        return self.provider.complete(request)

    async def _acomplete(self, request: CompletionRequest) -> CompletionReply:
        return self.provider.complete(request)

    def llm_acomplete(self, model: Model, request: CompletionRequest) -> Any:
        """Async form."""
        return self._acomplete(request)


# -- cassettes -------------------------------------------------------------------
class Cassette:
    """Recorded completions of one test, keyed by the exact request."""

    def __init__(self, path: Path, mode: str) -> None:
        self.path = path
        self.mode = mode
        self.interactions: dict[str, dict[str, Any]] = {}
        self.played: dict[str, int] = {}
        self.recorded_now: set[str] = set()
        self.dirty = False
        self._lock = threading.Lock()
        if path.exists() and mode != "all":
            self._load()

    @property
    def recording(self) -> bool:
        """Whether missing completions go to the real provider and are kept."""
        return self.mode in ("new", "all")

    def _load(self) -> None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise pytest.UsageError(f"cannot read the byllm cassette {self.path}: {error}") from None
        if document.get("format") != CASSETTE_FORMAT:
            raise pytest.UsageError(f"{self.path}: unknown cassette format {document.get('format')!r}")
        for interaction in document.get("interactions", []):
            self.interactions[interaction["key"]] = interaction

    def save(self) -> None:
        """Write the cassette (sorted, indented, so diffs review well)."""
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "format": CASSETTE_FORMAT,
            "interactions": [self.interactions[key] for key in sorted(self.interactions)],
        }
        temporary = self.path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        temporary.replace(self.path)

    def replay(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """The recorded reply for this request, or ``None`` to let it through (recording)."""
        from byllm.plugins.records import is_mock_model, reply_from_data, request_key

        if is_mock_model(model):
            return None
        key = request_key(model.model_name, request)
        with self._lock:
            interaction = self.interactions.get(key)
            # A request recorded earlier in this very run goes to the provider again,
            # so a test asking the same thing twice records both replies in order.
            if interaction is not None and key not in self.recorded_now:
                replies = interaction["replies"]
                index = self.played.get(key, 0)
                self.played[key] = index + 1
                # Requests repeated more often than recorded get the last reply again.
                return reply_from_data(replies[min(index, len(replies) - 1)], raw={REPLAY_MARK: str(self.path)})
        if not self.recording:
            pytest.fail(
                f"the byllm cassette {self.path} has no reply for a request to {model.model_name!r} "
                f"(last message: {_last_text(request)[:200]!r}); run pytest with --byllm-record to record it",
                pytrace=False,
            )
        return None

    def record(self, model: Model, request: CompletionRequest, reply: CompletionReply) -> None:
        """Keep a real provider's reply."""
        from byllm.plugins.records import is_mock_model, reply_to_data, request_data, request_key, to_json_value

        raw = getattr(reply, "raw", None)
        if is_mock_model(model) or (isinstance(raw, dict) and REPLAY_MARK in raw):
            return
        key = request_key(model.model_name, request)
        with self._lock:
            interaction = self.interactions.get(key)
            if interaction is None or key not in self.recorded_now:
                interaction = {"key": key, "request": to_json_value(request_data(model.model_name, request)), "replies": []}
                self.interactions[key] = interaction
                self.recorded_now.add(key)
            interaction["replies"].append(reply_to_data(reply))
            self.dirty = True

    def llm_complete(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Replay a recorded reply."""
        return self.replay(model, request)

    def llm_acomplete(self, model: Model, request: CompletionRequest) -> Any:
        """Async replay."""
        reply = self.replay(model, request)
        return None if reply is None else _ready(reply)

    def record_sync(self, model: Model, request: CompletionRequest) -> Iterator[None]:
        """Wrapper: record what the provider answered."""
        reply = yield
        self.record(model, request, reply)
        return reply

    def record_async(self, model: Model, request: CompletionRequest) -> Iterator[None]:
        """Wrapper: record the async reply when it arrives."""
        pending = yield
        return self._record_after(model, request, pending)

    async def _record_after(self, model: Model, request: CompletionRequest, pending: Any) -> CompletionReply:
        reply = await pending
        self.record(model, request, reply)
        return reply


async def _ready(reply: CompletionReply) -> CompletionReply:
    return reply


def _last_text(request: CompletionRequest) -> str:
    if not request.messages:
        return ""
    content = request.messages[-1].get("content", "")
    return content if isinstance(content, str) else json.dumps(content)[:200]


def _as_plugin(instance: Any, hooks: dict[str, tuple[str, dict[str, Any]]]) -> Any:
    """A plugin object whose hook methods are ``instance``'s methods with Pluggy markers."""
    from jaclang.runtimelib.machine import hookimpl

    namespace: dict[str, Any] = {}
    for attribute, (method_name, options) in hooks.items():
        method = getattr(instance, method_name)
        namespace[attribute] = hookimpl(**options)(_forward(method))
    return type(f"{type(instance).__name__}Hooks", (), namespace)


def _forward(method: Any) -> Any:
    import inspect

    if inspect.isgeneratorfunction(method):

        def generator(model: Any, request: Any) -> Any:
            return (yield from method(model, request))

        return staticmethod(generator)

    def forward(model: Any, request: Any) -> Any:
        return method(model, request)

    return staticmethod(forward)


class _Registration:
    """Plugins registered on the jac plugin manager for one test."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def add(self, plugin: Any, name: str) -> None:
        """Register ``plugin`` for this test."""
        from jaclang.runtimelib.machine import plugin_manager

        import byllm.hooks  # noqa: F401  (hook specs)

        plugin_manager.register(plugin, name=name)
        self.names.append(name)

    def remove_all(self) -> None:
        """Unregister every plugin this test added."""
        from jaclang.runtimelib.machine import plugin_manager

        for name in reversed(self.names):
            plugin = plugin_manager.get_plugin(name)
            if plugin is not None:
                plugin_manager.unregister(plugin, name=name)
        self.names.clear()


def cassette_path(item: pytest.Item, explicit: str | None = None) -> Path:
    """Where ``item``'s cassette lives: the marker's path, or ``cassettes/<module>/<test>.json``."""
    base = Path(str(item.path)).parent
    if explicit:
        path = Path(explicit)
        return path if path.is_absolute() else base / path
    folder = item.config.getini("byllm_cassette_dir") or "cassettes"
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_")
    return base / folder / Path(str(item.path)).stem / f"{name}.json"


def _network_blocked(item: pytest.Item) -> bool:
    option = item.config.getoption("--byllm-block-network")
    if option:
        return True
    return bool(item.config.getini("byllm_block_network")) or item.get_closest_marker("no_llm_network") is not None


@pytest.fixture
def byllm_cassette(request: pytest.FixtureRequest) -> Iterator[Cassette]:
    """Replay (or, with ``--byllm-record``, record) this test's real completions."""
    marker = request.node.get_closest_marker("byllm_cassette")
    explicit = None
    if marker is not None:
        explicit = marker.kwargs.get("path") or (marker.args[0] if marker.args else None)
    cassette = Cassette(cassette_path(request.node, explicit), request.config.getoption("--byllm-record"))
    registration = _Registration()
    replay = _as_plugin(cassette, {"llm_complete": ("llm_complete", {"tryfirst": True}), "llm_acomplete": ("llm_acomplete", {"tryfirst": True})})
    recorder = _as_plugin(
        cassette,
        {
            "llm_complete": ("record_sync", {"wrapper": True, "trylast": True}),
            "llm_acomplete": ("record_async", {"wrapper": True, "trylast": True}),
        },
    )
    registration.add(replay, f"byllm-cassette-replay-{id(cassette)}")
    registration.add(recorder, f"byllm-cassette-record-{id(cassette)}")
    request.node.stash[_cassette_key] = cassette
    try:
        yield cassette
    finally:
        registration.remove_all()
        cassette.save()



@pytest.fixture(autouse=True)
def _byllm_test_guards(request: pytest.FixtureRequest) -> Iterator[None]:
    """Apply the network guard and the cassette marker to each test that asks for them."""
    wants_cassette = request.node.get_closest_marker("byllm_cassette") is not None
    blocked = _network_blocked(request.node)
    if not (wants_cassette or blocked):
        yield
        return
    if wants_cassette:
        request.getfixturevalue("byllm_cassette")
    registration = _Registration()
    if blocked:
        guard = NetworkGuard(request.node)
        registration.add(
            _as_plugin(guard, {"llm_complete": ("llm_complete", {}), "llm_acomplete": ("llm_acomplete", {})}),
            f"byllm-network-guard-{id(guard)}",
        )
    try:
        yield
    finally:
        registration.remove_all()


@pytest.fixture
def byllm_mock() -> Iterator[Any]:
    """A factory scripting every completion of the test: ``script = byllm_mock("Paris", 42)``.

    The script answers any model (so functions bound to ``Model("gpt-4o")`` run
    offline), ``Model()`` without a name becomes the mock, and ``script.requests``
    holds the exact requests. Calling the factory again replaces the script.
    """
    from byllm.settings import forget_settings, reload_settings

    registration = _Registration()

    def script(*outputs: Any) -> ScriptedModel:
        """Answer the test's completions with ``outputs``, in order."""
        registration.remove_all()
        scripted = ScriptedModel(outputs)
        registration.add(
            _as_plugin(scripted, {"llm_complete": ("llm_complete", {"tryfirst": True}), "llm_acomplete": ("llm_acomplete", {"tryfirst": True})}),
            f"byllm-mock-{id(scripted)}",
        )
        return scripted

    # A monkeypatch of its own: the variable is restored when this fixture ends.
    with pytest.MonkeyPatch.context() as environment:
        environment.setenv("BYLLM_DEFAULT_MODEL", "mockllm")
        reload_settings()  # settings are read once; the new default model needs a reload
        try:
            yield script
        finally:
            registration.remove_all()
    forget_settings()
