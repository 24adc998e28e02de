"""Test models and ``override()``: run ``by llm()`` code offline, anywhere.

* :class:`TestModel` answers from the declared return type: a valid value is
  generated from its JSON schema, deterministically (the same request gives the
  same value); tool-using calls first call every tool with generated arguments.
* :class:`FunctionModel` hands each request (messages, schema, tools) to your
  function, which returns the reply text, a ready value or tool calls.
* :class:`Script` answers with outputs given in advance, in order, optionally
  per function name (``Script("Paris", describe=City("Paris", 2))``).
* :func:`override` answers every completion in its scope with one of these,
  whatever the model: in pytest, in a script, in a ``jac test`` block. It is a
  plugin on the ``llm_complete`` / ``llm_acomplete`` hooks, so plain, streamed,
  async calls, retries and tool turns are all answered, and it records the
  requests it answered.
* :func:`block_network` fails any completion that would reach a real provider;
  :class:`Cassette` records real completions (streams as chunks) and replays them.

The pytest plugin (:mod:`byllm.pytest_plugin`: ``byllm_mock``, the network
guard, cassettes) is a thin layer over this module.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import inspect
import json
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence

from jaclang.runtimelib import machine
from jaclang.runtimelib.machine import hookimpl
from byllm.errors import ByLLMError, MockExhaustedError
from byllm.providers.base import CompletionReply, CompletionRequest, StreamingReply, ToolCall, Usage
from byllm.providers.mock import is_mock_model

if TYPE_CHECKING:
    from byllm.llm import Model

__all__ = [
    "Cassette",
    "CassetteMissError",
    "FunctionModel",
    "NetworkBlockedError",
    "Override",
    "Responder",
    "Script",
    "TestModel",
    "block_network",
    "generate_value",
    "is_mock_model",
    "is_test_reply",
    "llm_override",
    "override",
    "reply_for",
]

TEST_REPLY_MARK = "byllm.testing"  # key in ``reply.raw`` of every reply this module makes up
TEST_MODEL_NAME = "mockllm"  # the ``model`` of those replies: the mock family, never stored by caches
FINISH_TOOL = "finish_tool"
FINISH_ARGUMENT = "final_output"


class NetworkBlockedError(ByLLMError):
    """A completion would have reached a real provider while :func:`block_network` was on."""


class CassetteMissError(ByLLMError):
    """A cassette has no recorded reply for a request and is not recording."""


# -- replies ----------------------------------------------------------------------
def reply_for(output: Any, request: CompletionRequest, source: str = "script") -> CompletionReply:
    """The reply an output stands for, shaped for ``request`` (a stream when it asks for one).

    A string is a reply text, parsed like a real model's; a ``MockToolCall`` (or a
    list of them) or :class:`~byllm.providers.base.ToolCall` asks for tool calls; a
    :class:`CompletionReply` is used as it is; anything else is a ready value,
    checked against the return type. For a streamed request, an iterable of
    strings (not a string) gives the chunks.
    """
    marker = {TEST_REPLY_MARK: source}
    if isinstance(output, CompletionReply):
        reply = output
    elif request.stream:
        return _stream_reply(output, marker)
    elif isinstance(output, str):
        reply = CompletionReply(text=output, usage=Usage(), model=TEST_MODEL_NAME, raw=marker)
    else:
        calls = _tool_calls(output)
        if calls is not None:
            reply = CompletionReply(tool_calls=calls, usage=Usage(), model=TEST_MODEL_NAME, raw=marker)
        else:
            reply = CompletionReply(
                text=repr(output), usage=Usage(), model=TEST_MODEL_NAME, raw=marker, value=output, has_value=True
            )
    if request.stream and not isinstance(reply, StreamingReply):
        return _stream_reply(reply.text, marker)
    return reply


def _stream_reply(output: Any, marker: dict[str, str]) -> StreamingReply:
    if isinstance(output, str):
        chunks = _words(output)
    elif isinstance(output, Iterable) and not isinstance(output, (bytes, Mapping)):
        chunks = [str(chunk) for chunk in output]
    else:
        chunks = _words(str(output))
    reply = StreamingReply.replay(chunks, Usage(), TEST_MODEL_NAME)
    reply.raw = marker
    return reply


def _words(text: str) -> list[str]:
    """``text`` in word-sized chunks that join back to it."""
    return re.findall(r"\s*\S+|\s+", text) or [""]


_call_counter = iter(range(1, 1 << 62))
_call_counter_lock = threading.Lock()


def _call_id() -> str:
    with _call_counter_lock:
        return f"test_call_{next(_call_counter)}"


def _tool_calls(output: Any) -> list[ToolCall] | None:
    """The tool calls ``output`` asks for, or ``None`` if it is not a tool-call output."""
    items = output if isinstance(output, (list, tuple)) and output else [output]
    calls: list[ToolCall] = []
    for item in items:
        if isinstance(item, ToolCall):
            calls.append(item)
            continue
        from byllm.tools import MockToolCall

        if not isinstance(item, MockToolCall):
            return None
        calls.append(ToolCall(id=_call_id(), name=item.name, arguments=dict(item.args)))
    return calls


def is_test_reply(reply: CompletionReply) -> bool:
    """Whether ``reply`` was made up by this module (a test model), not sent by a provider."""
    raw = getattr(reply, "raw", None)
    return isinstance(raw, dict) and TEST_REPLY_MARK in raw


# -- responders -------------------------------------------------------------------
class Responder(Protocol):
    """What :func:`override` needs: a reply for a request, or ``None`` to let an outer override answer."""

    def respond(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Answer one completion."""
        ...


class _Recording:
    """The requests a responder answered, kept thread-safely."""

    def __init__(self) -> None:
        self.requests: list[CompletionRequest] = []
        self._lock = threading.Lock()

    def _keep(self, request: CompletionRequest) -> None:
        with self._lock:
            self.requests.append(request)

    @property
    def last_request(self) -> CompletionRequest | None:
        """The most recent request answered (``None`` before the first)."""
        return self.requests[-1] if self.requests else None


class Script(_Recording):
    """Outputs given in advance, answered in order; keyword outputs answer one function each.

    ``Script("Paris", 42)`` answers the first completion with ``"Paris"`` and the
    second with ``42``, whatever the function. ``Script(capital="Paris")``
    answers every completion of the function named ``capital`` with ``"Paris"``;
    a list or tuple (``capital=["Paris", "Rome"]``) is answered in order, and a
    responder (``describe=TestModel()``) or a function answers that function's
    completions. Functions without an entry take the positional outputs.
    Strings are reply texts, other values ready values (see :func:`reply_for`).
    """

    def __init__(self, *outputs: Any, **per_function: Any) -> None:
        super().__init__()
        self.outputs: list[Any] = list(outputs)
        self._next = 0
        self.functions: dict[str, Responder] = {
            name: _function_responder(name, value) for name, value in per_function.items()
        }

    @property
    def remaining(self) -> int:
        """Positional outputs not used yet."""
        return len(self.outputs) - self._next

    def add(self, *outputs: Any) -> None:
        """Append outputs to the positional script."""
        with self._lock:
            self.outputs.extend(outputs)

    @property
    def model(self) -> Model:
        """A mock model to bind functions to (any model is answered while the script is active)."""
        from byllm.llm import Model

        return Model(TEST_MODEL_NAME)

    def respond(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """The function's own entry if it has one, else the next positional output."""
        own = self.functions.get(request.output_name)
        if own is not None:
            reply = own.respond(model, request)
            if reply is not None:
                self._keep(request)
            return reply
        return self._positional(request)

    async def arespond(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Async form (a function's own async responder is awaited)."""
        own = self.functions.get(request.output_name)
        if own is None:
            return self._positional(request)
        arespond = getattr(own, "arespond", None)
        reply = await arespond(model, request) if arespond is not None else own.respond(model, request)
        if reply is not None:
            self._keep(request)
        return reply

    def _positional(self, request: CompletionRequest) -> CompletionReply | None:
        """The next positional output; ``None`` (an outer override may answer) when none were given."""
        with self._lock:
            if not self.outputs:
                return None
            if self._next >= len(self.outputs):
                self.requests.append(request)
                raise MockExhaustedError(_exhausted(request.output_name, len(self.outputs), sorted(self.functions)))
            output = self.outputs[self._next]
            self._next += 1
            self.requests.append(request)
        return reply_for(output, request)


def _exhausted(function: str, given: int, scripted: list[str]) -> str:
    per_function = f"; functions with their own outputs: {', '.join(scripted)}" if scripted else ""
    return (
        f"the test script has no output left for {function}: it was given {given} output(s){per_function}; "
        f"add more (script.add(...)) or give {function} its own ({function}=...)"
    )


class _Outputs(_Recording):
    """One function's outputs: a list answered in order, or one value answered every time."""

    def __init__(self, name: str, outputs: Sequence[Any] | None, every_time: Any = None) -> None:
        super().__init__()
        self.name = name
        self.outputs = list(outputs) if outputs is not None else None
        self.every_time = every_time
        self._next = 0

    def respond(self, model: Model, request: CompletionRequest) -> CompletionReply:
        """The next output (or the one value) for this function."""
        with self._lock:
            self.requests.append(request)
            if self.outputs is None:
                output = self.every_time
            elif self._next < len(self.outputs):
                output = self.outputs[self._next]
                self._next += 1
            else:
                raise MockExhaustedError(
                    f"the test script has no output left for {self.name}: it was given {len(self.outputs)} "
                    f"output(s) for it; add more to {self.name}=[...]"
                )
        return reply_for(output, request)


def _function_responder(name: str, value: Any) -> Responder:
    if hasattr(value, "respond"):
        return value
    if inspect.isfunction(value) or inspect.ismethod(value):
        return FunctionModel(value)
    if isinstance(value, (list, tuple)):
        return _Outputs(name, value)
    return _Outputs(name, None, every_time=value)


class FunctionModel(_Recording):
    """Answers each completion with ``function(request)``.

    ``request`` is the :class:`~byllm.providers.base.CompletionRequest`: its
    ``messages``, ``output_schema`` (``None`` for text), ``output_name`` (the
    function's name), ``tools`` and ``params``; ``request.stream`` is true for a
    streamed call. The function returns what a :class:`Script` output may be (a
    reply text, a ready value, ``MockToolCall``\\ s, a ``CompletionReply``, or for a
    stream a list of chunks), or ``None`` to let an outer override answer. An
    ``async def`` function is awaited (in async calls; a sync call runs it to completion).
    """

    def __init__(self, function: Callable[[CompletionRequest], Any]) -> None:
        super().__init__()
        self.function = function

    def respond(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Ask the function."""
        self._keep(request)
        output = self.function(request)
        if inspect.isawaitable(output):
            output = _run_to_completion(output)
        return None if output is None else reply_for(output, request, "function")

    async def arespond(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Ask the function, awaiting it if it is async."""
        self._keep(request)
        output = self.function(request)
        if inspect.isawaitable(output):
            output = await output
        return None if output is None else reply_for(output, request, "function")


def _run_to_completion(awaitable: Any) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(awaitable))
    raise TypeError(
        "an async FunctionModel function answered a synchronous by llm() call inside a running event loop; "
        "use a plain function, or make the by llm() function async"
    )


async def _await(awaitable: Any) -> Any:
    return await awaitable


class TestModel(_Recording):
    """Answers from the return type: a valid value generated from its JSON schema, deterministically.

    ``text`` replaces the reply to ``-> str`` functions; ``value`` replaces the
    generated value (it is still checked against the return type). In a tool
    call, the tools named in ``call_tools`` (``"all"`` by default, or a list of
    names, or ``[]``) are called first, once, with generated arguments; the next
    turn finishes with the output. ``seed`` shifts the generated values.
    """

    __test__ = False  # not a pytest test class, despite its name

    def __init__(
        self,
        *,
        text: str | None = None,
        value: Any = None,
        call_tools: str | Sequence[str] = "all",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.text = text
        self.value = value
        self.call_tools = call_tools
        self.seed = seed

    def respond(self, model: Model, request: CompletionRequest) -> CompletionReply:
        """A reply that fits the request's return type (or tool calls first, in a tool loop)."""
        self._keep(request)
        finish = next((tool for tool in request.tools if tool.name == FINISH_TOOL), None)
        if request.tools:
            to_call = self._tools_to_call(request)
            if to_call:
                calls = [
                    ToolCall(id=_call_id(), name=tool.name, arguments=generate_value(tool.parameters, self.seed))
                    for tool in to_call
                ]
                return CompletionReply(tool_calls=calls, usage=Usage(), model=TEST_MODEL_NAME, raw={TEST_REPLY_MARK: "test"})
        if finish is not None:
            schema = finish.parameters["properties"][FINISH_ARGUMENT]
            if "$defs" in finish.parameters:
                schema = {**schema, "$defs": finish.parameters["$defs"]}
            final = self._output(schema, request)
            call = ToolCall(id=_call_id(), name=FINISH_TOOL, arguments={FINISH_ARGUMENT: final})
            return CompletionReply(tool_calls=[call], usage=Usage(), model=TEST_MODEL_NAME, raw={TEST_REPLY_MARK: "test"})
        output = self._output(request.output_schema, request)
        if request.output_schema is None:
            return reply_for(output, request, "test")
        if self.value is not None:
            return reply_for(self.value, request, "test")
        return reply_for(json.dumps(output), request, "test")

    def _output(self, schema: dict[str, Any] | None, request: CompletionRequest) -> Any:
        if schema is None or schema.get("type") == "string" and set(schema) <= {"type", "title"}:
            return self.text if self.text is not None else f"test reply to {request.output_name}"
        if self.value is not None:
            from pydantic_core import to_jsonable_python

            return to_jsonable_python(self.value)
        return generate_value(schema, self.seed)

    def _tools_to_call(self, request: CompletionRequest) -> list[Any]:
        """The tools to call now: the chosen ones, on the first turn only."""
        if any(message.get("role") == "tool" for message in request.messages):
            return []
        wanted = self.call_tools
        tools = [tool for tool in request.tools if tool.name != FINISH_TOOL]
        if wanted == "all":
            return tools
        return [tool for tool in tools if tool.name in set(wanted)]


# -- values from JSON schemas -----------------------------------------------------
def generate_value(schema: Mapping[str, Any], seed: int = 0) -> Any:
    """A value valid for ``schema`` (a JSON schema as Pydantic writes them), the same every time.

    Strings are ``"a"``, ``"b"``, ... in the order they are generated, numbers
    count up from their lower bound, optional values are present, unions take
    their first branch, arrays hold their minimum number of items (at least one).
    """
    return _SchemaValues(schema, seed).value(schema)


class _SchemaValues:
    """Walks one schema, numbering the values it makes so that they differ but never vary."""

    def __init__(self, root: Mapping[str, Any], seed: int) -> None:
        self.definitions = root.get("$defs", {})
        self.counter = seed

    def _next(self) -> int:
        number = self.counter
        self.counter += 1
        return number

    def value(self, schema: Mapping[str, Any]) -> Any:
        if "$ref" in schema:
            return self.value(self.definitions[schema["$ref"].rsplit("/", 1)[-1]])
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return schema["enum"][self._next() % len(schema["enum"])] if len(schema["enum"]) else None
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [branch for branch in schema[key] if branch.get("type") != "null"] or schema[key]
                return self.value(branches[0])
        if "allOf" in schema:
            return self.value(schema["allOf"][0])
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((name for name in kind if name != "null"), "null")
        maker = getattr(self, f"_{kind}", None)
        if maker is None:  # no type: anything JSON goes
            return self._string(schema)
        return maker(schema)

    def _string(self, schema: Mapping[str, Any]) -> str:
        number = self._next()
        special = _FORMATS.get(schema.get("format", ""))
        if special is not None:
            return special(number)
        text = _letters(number)
        minimum = schema.get("minLength", 0)
        if len(text) < minimum:
            text = text + "a" * (minimum - len(text))
        if "maxLength" in schema:
            text = text[: max(schema["maxLength"], 0)]
        return text

    def _integer(self, schema: Mapping[str, Any]) -> int:
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1 if "exclusiveMinimum" in schema else 0)
        high = schema.get("maximum", schema["exclusiveMaximum"] - 1 if "exclusiveMaximum" in schema else None)
        low, high = int(_ceil(low)), None if high is None else int(high)
        if high is not None and low > high:
            low = high
        step = int(schema.get("multipleOf", 1)) or 1
        start = -(-low // step) * step
        span = None if high is None else max((high - start) // step + 1, 1)
        offset = self._next()
        return start + step * (offset if span is None else offset % span)

    def _number(self, schema: Mapping[str, Any]) -> float:
        low = schema.get("minimum", schema.get("exclusiveMinimum", -0.5) + 0.5 if "exclusiveMinimum" in schema else 0)
        high = schema.get("maximum", schema["exclusiveMaximum"] - 0.5 if "exclusiveMaximum" in schema else None)
        value = float(low) + self._next() + 0.5
        if high is not None and value > high:
            value = (float(low) + float(high)) / 2
        return value

    def _boolean(self, schema: Mapping[str, Any]) -> bool:
        return self._next() % 2 == 0

    def _null(self, schema: Mapping[str, Any]) -> None:
        return None

    def _array(self, schema: Mapping[str, Any]) -> list[Any]:
        if "prefixItems" in schema:
            return [self.value(item) for item in schema["prefixItems"]]
        count = max(schema.get("minItems", 1), 1)
        if "maxItems" in schema:
            count = min(count, schema["maxItems"])
        items = schema.get("items", {})
        return [self.value(items) for _ in range(count)]

    def _object(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        properties = schema.get("properties")
        if properties:
            return {name: self.value(part) for name, part in properties.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            key_schema = schema.get("propertyNames", {"type": "string"})
            return {str(self.value(key_schema)): self.value(extra)}
        return {}


def _ceil(number: float) -> float:
    whole = int(number)
    return whole + 1 if number > whole else whole


def _letters(number: int) -> str:
    """``a``, ``b``, ... ``z``, ``ba``, ``bb``, ...: short distinct strings in order."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = chr(ord("a") + digit) + text
        if number == 0:
            return text


_FORMATS: dict[str, Callable[[int], str]] = {
    "date": lambda number: f"2024-01-{number % 28 + 1:02d}",
    "date-time": lambda number: f"2024-01-{number % 28 + 1:02d}T00:00:00Z",
    "time": lambda number: f"00:00:{number % 60:02d}",
    "duration": lambda number: f"PT{number}S",
    "uuid": lambda number: f"00000000-0000-4000-8000-{number:012d}",
    "email": lambda number: f"{_letters(number)}@example.com",
    "uri": lambda number: f"https://example.com/{_letters(number)}",
    "ipv4": lambda number: f"127.0.0.{number % 255}",
}


# -- override() -------------------------------------------------------------------
_context_overrides: contextvars.ContextVar[tuple[Override, ...]] = contextvars.ContextVar(
    "byllm_testing_overrides", default=()
)
_active_overrides: list[Override] = []  # every override entered and not yet left, in the process
_state_lock = threading.Lock()
_registrations: dict[int, tuple[Any, int]] = {}  # id(manager) -> (manager, overrides using it)
DISPATCHER_NAME = "byllm-testing-override"


class Override:
    """The answers of one ``with override(...)`` block; see :func:`override`."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[CompletionRequest] = []
        self._lock = threading.Lock()
        self._token: contextvars.Token[tuple[Override, ...]] | None = None
        self._manager: Any = None

    def __getattr__(self, name: str) -> Any:
        """The responder's own attributes (``remaining``, ``add``, ...) are the override's too."""
        if name.startswith("_") or name == "responder":
            raise AttributeError(name)
        return getattr(self.responder, name)

    def answer(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """The responder's reply, recorded."""
        reply = self.responder.respond(model, request)
        if reply is not None:
            with self._lock:
                self.requests.append(request)
        return reply

    async def aanswer(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """The responder's reply to an async call (async responders are awaited)."""
        arespond = getattr(self.responder, "arespond", None)
        reply = await arespond(model, request) if arespond is not None else self.responder.respond(model, request)
        if reply is not None:
            with self._lock:
                self.requests.append(request)
        return reply

    def __enter__(self) -> Override:
        self._manager = machine.plugin_manager
        with _state_lock:
            _active_overrides.append(self)
            manager_id = id(self._manager)
            manager, count = _registrations.get(manager_id, (self._manager, 0))
            if count == 0:
                self._manager.register(_Dispatcher, name=DISPATCHER_NAME)
            _registrations[manager_id] = (manager, count + 1)
        self._token = _context_overrides.set((*_context_overrides.get(), self))
        return self

    def __exit__(self, *exc_info: object) -> None:
        token, self._token = self._token, None
        try:
            if token is not None:
                _context_overrides.reset(token)
        except ValueError:  # left in another context (an async generator, a callback): drop it by hand
            _context_overrides.set(tuple(item for item in _context_overrides.get() if item is not self))
        with _state_lock:
            if self in _active_overrides:
                _active_overrides.remove(self)
            manager_id = id(self._manager)
            manager, count = _registrations.get(manager_id, (self._manager, 1))
            if count <= 1:
                _registrations.pop(manager_id, None)
                if manager.has_plugin(DISPATCHER_NAME):
                    manager.unregister(name=DISPATCHER_NAME)
            else:
                _registrations[manager_id] = (manager, count - 1)


def override(*outputs: Any, **per_function: Any) -> Override:
    """Answer every completion in the ``with`` block with test replies, whatever the model.

    ``override(TestModel())``, ``override(FunctionModel(f))`` or ``override(f)``,
    ``override("Paris", 42)`` (a :class:`Script`), ``override(capital="Paris")``
    (per function). The returned object records the ``requests`` it answered
    and exposes the responder's attributes (``remaining``, ``add``...).

    Overrides nest: the innermost one of the current thread or task answers
    first, and when its responder declines (returns ``None``) the next one out
    does. Code running where no override was entered (a worker thread) is
    answered by the most recently entered override still active. When none
    answers, :class:`~byllm.errors.MockExhaustedError` says so: a completion in
    scope never reaches a real provider.
    """
    if len(outputs) == 1 and not per_function:
        only = outputs[0]
        if hasattr(only, "respond"):
            return Override(only)
        if inspect.isfunction(only) or inspect.ismethod(only):
            return Override(FunctionModel(only))
    return Override(Script(*outputs, **per_function))


llm_override = override  # the same, under a name that is not a Jac keyword (``override`` is one in Jac)


def _in_scope() -> tuple[Override, ...]:
    """The overrides answering here, innermost first."""
    own = _context_overrides.get()
    if own:
        return tuple(reversed(own))
    with _state_lock:
        return tuple(reversed(_active_overrides))


def _no_answer(request: CompletionRequest) -> MockExhaustedError:
    return MockExhaustedError(
        f"no test reply for {request.output_name}: the active override(...) declined it; "
        "give it an output (override(..., name=...)) or a responder that answers every request"
    )


class _Dispatcher:
    """The plugin behind :func:`override`: registered while any override is active."""

    @staticmethod
    @hookimpl(tryfirst=True)
    def llm_complete(model: Model, request: CompletionRequest) -> CompletionReply | None:
        """Answer with the innermost active override that takes the request."""
        scope = _in_scope()
        if not scope:
            return None
        for active in scope:
            reply = active.answer(model, request)
            if reply is not None:
                return reply
        raise _no_answer(request)

    @staticmethod
    @hookimpl(tryfirst=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Any:
        """Async form: an awaitable of the reply."""
        scope = _in_scope()
        if not scope:
            return None
        return _answer_async(scope, model, request)


async def _answer_async(scope: tuple[Override, ...], model: Model, request: CompletionRequest) -> CompletionReply:
    for active in scope:
        reply = await active.aanswer(model, request)
        if reply is not None:
            return reply
    raise _no_answer(request)


# -- plugins registered for a while -----------------------------------------------
class _Registered:
    """Plugins registered on the current plugin manager until :meth:`remove` (or the ``with`` ends)."""

    def __init__(self) -> None:
        self._added: list[tuple[Any, str]] = []

    def add(self, plugin: Any, name: str) -> None:
        manager = machine.plugin_manager
        manager.register(plugin, name=name)
        self._added.append((manager, name))

    def remove(self) -> None:
        for manager, name in reversed(self._added):
            if manager.has_plugin(name):
                manager.unregister(name=name)
        self._added.clear()


class _NetworkGuard(_Registered):
    """The context manager :func:`block_network` returns."""

    def __init__(self, allow: Callable[[Model, CompletionRequest], bool] | None, on_blocked: Callable[[str], Any] | None) -> None:
        super().__init__()
        self.allow = allow
        self.on_blocked = on_blocked
        self.blocked: list[str] = []

    def check(self, model: Model, request: CompletionRequest) -> None:
        """Refuse a completion headed for a real provider."""
        if is_mock_model(model) or (self.allow is not None and self.allow(model, request)):
            return
        kind = "streamed completion" if request.stream else "completion"
        message = (
            f"{request.output_name} sent a {kind} to the real model {model.model_name!r} while byllm's network "
            "guard is on; answer it with byllm.testing.override(...) (the byllm_mock fixture in pytest) "
            "or replay it from a cassette"
        )
        self.blocked.append(message)
        if self.on_blocked is not None:
            self.on_blocked(message)
        raise NetworkBlockedError(message)

    def __enter__(self) -> _NetworkGuard:
        guard = self

        class Guard:
            # trylast, and byllm's own plugin is registered again after it: the guard
            # runs after every answering plugin (overrides, cassettes, caches, yours)
            # and just before byllm asks the provider.
            @staticmethod
            @hookimpl(trylast=True)
            def llm_complete(model: Model, request: CompletionRequest) -> None:
                guard.check(model, request)

            @staticmethod
            @hookimpl(trylast=True)
            def llm_acomplete(model: Model, request: CompletionRequest) -> None:
                guard.check(model, request)

        self.add(Guard, f"byllm-network-guard-{id(self)}")
        _move_to_the_end(machine.plugin_manager, "byllm")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def _move_to_the_end(manager: Any, name: str) -> None:
    """Register plugin ``name`` again, so that among ``trylast`` hooks it is called last (Pluggy's order)."""
    plugin = manager.get_plugin(name)
    if plugin is None:
        return
    manager.unregister(plugin, name=name)
    manager.register(plugin, name=name)


def block_network(
    allow: Callable[[Model, CompletionRequest], bool] | None = None,
    on_blocked: Callable[[str], Any] | None = None,
) -> _NetworkGuard:
    """While active, a completion that would reach a real (non-mock) provider raises :class:`NetworkBlockedError`.

    Streamed and async completions, retries and tool turns included. Completions
    answered earlier on the hook (an override, a cassette replay, a cache hit) and
    the mock model pass. ``allow(model, request)`` may let more through;
    ``on_blocked(message)`` runs before the error is raised (pytest's ``fail``).
    """
    return _NetworkGuard(allow, on_blocked)


# -- cassettes --------------------------------------------------------------------
CASSETTE_FORMAT = 2
RECORD_MODES = ("none", "new", "all")
CASSETTE_MARK = "byllm-cassette"
_SECRET_NAME = re.compile(r"(api[_-]?key|authorization|secret|password|access[_-]?token|bearer|cookie)", re.I)


def _scrub(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: "[redacted]" if isinstance(key, str) and _SECRET_NAME.search(key) else _scrub(value)
            for key, value in data.items()
        }
    if isinstance(data, (list, tuple)):
        return [_scrub(item) for item in data]
    return data


def request_data(model: Model, request: CompletionRequest) -> dict[str, Any]:
    """What decides a reply: model, parameters, messages, schema, tools, streamed or not (no secrets)."""
    from pydantic_core import to_jsonable_python

    return to_jsonable_python(
        {
            "model": model.model_name,
            "params": _scrub(request.params),
            "messages": request.messages,
            "output_schema": request.output_schema,
            "output_name": request.output_name,
            "tools": [{"name": tool.name, "description": tool.description, "parameters": tool.parameters} for tool in request.tools],
            "stream": request.stream,
        },
        bytes_mode="base64",
        fallback=repr,
    )


def request_key(data: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of :func:`request_data`."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _replayed(data: Mapping[str, Any], request: CompletionRequest, source: str) -> CompletionReply:
    from byllm.plugins.cache.keys import decode_entry  # a recorded reply is stored as the cache stores one

    reply = decode_entry(data, request.stream)
    reply.raw = {CASSETTE_MARK: source}
    return reply


class Cassette(_Registered):
    """Real completions of a test, recorded once to a JSON file and replayed offline after.

    ``record``: ``"none"`` (replay only; a request with no recording is an error),
    ``"new"`` (record what is missing), ``"all"`` (record everything again).
    Streamed completions are recorded as their chunks and replayed as a stream.
    Use it as a context manager: it is active (and saved at the end) in the block.
    """

    def __init__(self, path: str | Path, record: str = "none", on_missing: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        if record not in RECORD_MODES:
            raise ValueError(f"record must be one of {', '.join(RECORD_MODES)}, got {record!r}")
        self.path = Path(path)
        self.mode = record
        self.on_missing = on_missing
        self.interactions: dict[str, dict[str, Any]] = {}
        self.played: dict[str, int] = {}
        self.recorded_now: set[str] = set()
        self.dirty = False
        self._lock = threading.Lock()
        if self.path.exists() and record != "all":
            self._load()

    @property
    def recording(self) -> bool:
        """Whether missing completions go to the real provider and are kept."""
        return self.mode in ("new", "all")

    def _load(self) -> None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise CassetteMissError(f"cannot read the byllm cassette {self.path}: {error}") from None
        if document.get("format") != CASSETTE_FORMAT:
            raise CassetteMissError(
                f"{self.path}: cassette format {document.get('format')!r}, this byllm reads format {CASSETTE_FORMAT}; "
                "record it again (pytest --byllm-record=all)"
            )
        for interaction in document.get("interactions", []):
            self.interactions[interaction["key"]] = interaction

    def save(self) -> None:
        """Write the cassette if it changed (sorted and indented, so diffs review well)."""
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
        self.dirty = False

    def replay(self, model: Model, request: CompletionRequest) -> CompletionReply | None:
        """The recorded reply for this request, or ``None`` to let it through (when recording)."""
        if is_mock_model(model):
            return None
        data = request_data(model, request)
        key = request_key(data)
        with self._lock:
            interaction = self.interactions.get(key)
            # A request recorded earlier in this very run goes to the provider again,
            # so a test asking the same thing twice records both replies in order.
            if interaction is not None and key not in self.recorded_now:
                replies = interaction["replies"]
                index = self.played.get(key, 0)
                self.played[key] = index + 1
                # Asked more often than recorded: the last reply again.
                return _replayed(replies[min(index, len(replies) - 1)], request, str(self.path))
        if self.recording:
            return None
        message = (
            f"the byllm cassette {self.path} has no reply for a {'streamed ' if request.stream else ''}request "
            f"to {model.model_name!r} from {request.output_name} (last message: {_last_text(request)[:200]!r}); "
            "run pytest with --byllm-record to record it"
        )
        if self.on_missing is not None:
            self.on_missing(message)
        raise CassetteMissError(message)

    def record(self, model: Model, request: CompletionRequest, reply: CompletionReply) -> None:
        """Keep a real provider's reply (a stream once it has been read to the end)."""
        raw = getattr(reply, "raw", None)
        if is_mock_model(model) or is_test_reply(reply) or (isinstance(raw, dict) and CASSETTE_MARK in raw):
            return
        if isinstance(reply, StreamingReply) and not reply.done:
            reply.add_done_callback(lambda done: self.record(model, request, done))
            return
        from byllm.plugins.cache.keys import reply_data

        data = request_data(model, request)
        key = request_key(data)
        with self._lock:
            interaction = self.interactions.get(key)
            if interaction is None or key not in self.recorded_now:
                interaction = {"key": key, "request": data, "replies": []}
                self.interactions[key] = interaction
                self.recorded_now.add(key)
            interaction["replies"].append(reply_data(reply))
            self.dirty = True

    def __enter__(self) -> Cassette:
        cassette = self

        class Replay:
            @staticmethod
            @hookimpl(tryfirst=True)
            def llm_complete(model: Model, request: CompletionRequest) -> CompletionReply | None:
                return cassette.replay(model, request)

            @staticmethod
            @hookimpl(tryfirst=True)
            def llm_acomplete(model: Model, request: CompletionRequest) -> Any:
                reply = cassette.replay(model, request)
                return None if reply is None else _ready(reply)

        class Recorder:
            @staticmethod
            @hookimpl(wrapper=True, trylast=True)
            def llm_complete(model: Model, request: CompletionRequest) -> Iterator[None]:
                reply = yield
                cassette.record(model, request, reply)
                return reply

            @staticmethod
            @hookimpl(wrapper=True, trylast=True)
            def llm_acomplete(model: Model, request: CompletionRequest) -> Iterator[None]:
                pending = yield
                return _record_when_done(cassette, model, request, pending)

        self.add(Replay, f"byllm-cassette-replay-{id(self)}")
        self.add(Recorder, f"byllm-cassette-record-{id(self)}")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()
        self.save()


async def _ready(reply: CompletionReply) -> CompletionReply:
    return reply


async def _record_when_done(cassette: Cassette, model: Model, request: CompletionRequest, pending: Any) -> CompletionReply:
    reply = await pending
    cassette.record(model, request, reply)
    return reply


def _last_text(request: CompletionRequest) -> str:
    if not request.messages:
        return ""
    content = request.messages[-1].get("content", "")
    return content if isinstance(content, str) else json.dumps(content, default=repr)[:200]
