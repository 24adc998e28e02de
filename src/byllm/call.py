"""One ``by llm()`` call: its record, and the typed call loop every kind of call runs.

A :class:`CallRecord` is the single source of truth about a call: the function
and its meaning, the model and resolved parameters, every completion attempt
(messages, raw reply or stream chunks, usage, latency, cached or not, error),
tool turns, and the final value or error, with token and cost totals computed
once when the call finishes. ``model.last_call`` is this record, and the
``llm_call_finished`` hook hands it to plugins (usage, call log, tracing).

:class:`TypedCall` drives one call: every completion, whether plain or streamed,
sync or async, a retry or a tool turn, goes through :meth:`TypedCall.complete` /
:meth:`TypedCall.acomplete`, i.e. through the ``llm_complete`` /
``llm_acomplete`` hooks, so mocks, guards, caches and logs see all of them.
"""

from __future__ import annotations

import dataclasses
import re
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Coroutine, Generator, Iterator, Mapping, Sequence

from jaclang.runtimelib import machine
from byllm.errors import ConfigurationError, OutputConversionError, ResponseFormatRejected
from byllm.logs import logger
from byllm.meaning import FunctionMeaning, describe_function
from byllm.output import OutputType, ReplyMismatch, output_type
from byllm.pricing import cost_of
from byllm.prompt import build_messages, retry_message
from byllm.providers.base import CompletionReply, CompletionRequest, Message, StreamingReply, ToolCall, Usage

if TYPE_CHECKING:
    from byllm.llm import Model


SCHEMA_ECHO_FEEDBACK = (
    "Your reply repeats the description of the type (its schema) instead of giving a value of that type"
)
# What a copied JSON schema or type description looks like (small models do this).
_SCHEMA_MARKERS = re.compile(
    r'"(?:properties|\$defs|\$ref|additionalProperties)"\s*:|"type"\s*:\s*"(?:object|array|string|integer)"'
    r"|:\s*(?:string|integer|number|boolean)\b\s*[,}\n]"
)


def echoes_schema(text: str) -> bool:
    """Whether a reply looks like the schema or type description sent back instead of a value."""
    return bool(_SCHEMA_MARKERS.search(text[:20_000]))


@dataclass(slots=True)
class Attempt:
    """One completion of a call: what was sent and what came back."""

    messages: list[Message]
    reply: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    chunks: list[str] | None = None  # the streamed pieces, for a streamed completion
    usage: Usage | None = None
    latency: float = 0.0  # seconds, from sending to the whole reply
    cached: bool = False
    error: BaseException | None = None
    started_at: float = field(default_factory=time.time)  # wall-clock time it was sent (spans need it)


@dataclass(slots=True)
class ToolTurn:
    """One tool call the model asked for, and what the tool answered."""

    name: str
    arguments: dict[str, Any]
    result: str


@dataclass(slots=True)
class CallRecord:
    """Everything one ``by llm()`` call did; see :attr:`byllm.llm.Model.last_call`."""

    function: str
    meaning: FunctionMeaning
    model_name: str
    params: dict[str, Any]
    streamed: bool = False
    is_async: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    tool_turns: list[ToolTurn] = field(default_factory=list)
    value: Any = None
    error: BaseException | None = None
    started_at: float = field(default_factory=time.time)
    duration: float = 0.0
    finished: bool = False
    usage: Usage = field(default_factory=Usage)  # totals over every attempt, set when the call finishes
    cost: float | None = None  # USD over every attempt not served from a cache; None when unpriced
    cached_completions: int = 0  # attempts answered from a cache, set when the call finishes
    model: Model | None = field(default=None, repr=False, compare=False)  # the model (with call options) that ran it

    @property
    def messages(self) -> list[Message]:
        """The messages of the last completion (the whole conversation, retries included)."""
        return self.attempts[-1].messages if self.attempts else []

    @property
    def replies(self) -> list[str]:
        """The raw reply text of every completion, in order."""
        return [attempt.reply for attempt in self.attempts if attempt.reply is not None]

    @property
    def retries(self) -> int:
        """How many completions beyond the first the call needed (re-asks and tool turns)."""
        return max(len(self.attempts) - 1, 0)

    @property
    def cached(self) -> bool:
        """Whether every completion of the call came from a cache."""
        return bool(self.attempts) and all(attempt.cached for attempt in self.attempts)

    def totals(self) -> None:
        """Compute the usage, cost and cache totals (once, when the call finishes)."""
        input_tokens = output_tokens = billed_input = billed_output = cached = 0
        for attempt in self.attempts:
            if attempt.cached:
                cached += 1
            usage = attempt.usage
            if usage is None:
                continue
            input_tokens += usage.input_tokens
            output_tokens += usage.output_tokens
            if not attempt.cached:
                billed_input += usage.input_tokens
                billed_output += usage.output_tokens
        self.usage.input_tokens = input_tokens
        self.usage.output_tokens = output_tokens
        self.cached_completions = cached
        self.cost = cost_of(self.model_name, billed_input, billed_output)


class TypedCall:
    """One call in progress: the request to send next, and the record so far."""

    __slots__ = ("model", "meaning", "options", "output", "retries_left", "request", "record",
                 "_prompt_inputs", "_schema_in_prompt", "_prompt_length", "_started")

    def __init__(
        self,
        model: Model,
        caller: Callable,
        args: Mapping[str | int, object],
        *,
        streamed: bool = False,
        with_tools: bool = False,
        meaning: FunctionMeaning | None = None,
    ) -> None:
        """Prepare the request; ``with_tools``: the schema travels in the finish tool, not the prompt."""
        meaning = describe_function(caller) if meaning is None else meaning
        options = model.call_settings()
        output = output_type(meaning.return_type)
        params = dict(options.sampling)
        self.model = model
        self.meaning = meaning
        self.options = options
        self.output: OutputType = output
        self.retries_left = options.retries
        # Requests are never changed once built: a later turn sends a new one (see set_messages),
        # so whoever keeps a request (a mock, a cache, a log) keeps what was sent.
        self.request = CompletionRequest(
            model=model.provider_model_id,
            messages=[],
            output_schema=None if with_tools else output.schema,
            output_name=meaning.name,
            params=params,
            stream=streamed,
        )
        self._prompt_inputs = (args, getattr(caller, "__self__", None))
        self._schema_in_prompt = not with_tools and not _provider_takes_schema(model, self.request)
        self.request.messages = self._prompt()
        self._prompt_length = len(self.request.messages)
        self.record = CallRecord(
            function=meaning.qualified_name,
            meaning=meaning,
            model_name=model.model_name,
            params=params,
            streamed=streamed,
            is_async=meaning.is_async,
            model=model,
        )
        self._started = time.perf_counter()
        if options.verbose:
            print_messages(meaning.qualified_name, self.request.messages)

    def _prompt(self) -> list[Message]:
        args, instance = self._prompt_inputs
        return build_messages(self.meaning, self.output, args, instance=instance, context=self.options.context,
                              excluded=self.options.excluded, schema_in_prompt=self._schema_in_prompt)

    def describe_schema_in_prompt(self) -> bool:
        """Rebuild the prompt with the schema described in it, after the server refused ``response_format``.

        ``False`` when that changes nothing (the schema is already there, or the
        provider would still send it): the refusal is then raised.
        """
        if self._schema_in_prompt or self.request.output_schema is None or _provider_takes_schema(self.model,
                                                                                                   self.request):
            return False
        self._schema_in_prompt = True
        later = self.request.messages[self._prompt_length:]
        prompt = self._prompt()
        self._prompt_length = len(prompt)
        self.set_messages([*prompt, *later])
        return True

    # -- completions -----------------------------------------------------
    def complete(self) -> CompletionReply:
        """Send the current request through the ``llm_complete`` hook and record the attempt."""
        attempt, request, started = self._begin()
        try:
            reply = self.model.complete(request)
        except ResponseFormatRejected as error:
            self._fail(attempt, started, error)
            if not self.describe_schema_in_prompt():
                raise
            return self.complete()
        except BaseException as error:
            self._fail(attempt, started, error)
            raise
        self._end(attempt, reply, started)
        return reply

    async def acomplete(self) -> CompletionReply:
        """Async form of :meth:`complete` (the ``llm_acomplete`` hook)."""
        attempt, request, started = self._begin()
        try:
            reply = await self.model.acomplete(request)
        except ResponseFormatRejected as error:
            self._fail(attempt, started, error)
            if not self.describe_schema_in_prompt():
                raise
            return await self.acomplete()
        except BaseException as error:
            self._fail(attempt, started, error)
            raise
        self._end(attempt, reply, started)
        return reply

    def _begin(self) -> tuple[Attempt, CompletionRequest, float]:
        request = self.request
        attempt = Attempt(messages=request.messages)
        self.record.attempts.append(attempt)
        return attempt, request, time.perf_counter()

    def _fail(self, attempt: Attempt, started: float, error: BaseException) -> None:
        attempt.error = error
        attempt.latency = time.perf_counter() - started

    def _end(self, attempt: Attempt, reply: CompletionReply, started: float) -> None:
        if not isinstance(reply, CompletionReply):
            raise ConfigurationError(
                f"{self.meaning.qualified_name}: a plugin answered a completion with a "
                f"{type(reply).__name__}, not a CompletionReply"
            )
        attempt.cached = reply.cached
        if isinstance(reply, StreamingReply):
            attempt.chunks = reply.chunks

            def streamed(done: StreamingReply) -> None:
                attempt.reply = done.text
                attempt.usage = done.usage
                attempt.latency = time.perf_counter() - started

            reply.add_done_callback(streamed)
            return
        attempt.reply = reply.text
        if reply.tool_calls:
            attempt.tool_calls = list(reply.tool_calls)
        attempt.usage = reply.usage
        attempt.latency = time.perf_counter() - started

    # -- typed replies ---------------------------------------------------
    def accept(self, reply: CompletionReply) -> tuple[bool, Any]:
        """Take a reply: ``(True, value)`` when it fits, ``(False, None)`` to ask again.

        Raises :class:`OutputConversionError` once no retries are left.
        """
        try:
            value = self.output.check(reply.value) if reply.has_value else self.output.parse(reply.text)
        except ReplyMismatch as mismatch:
            if self.retries_left <= 0 or reply.has_value:
                raise self.conversion_error(reply, mismatch) from None
            self.retries_left -= 1
            feedback = SCHEMA_ECHO_FEEDBACK if echoes_schema(reply.text) else mismatch.feedback
            logger(__name__).info("retrying %s: %s", self.meaning.qualified_name, feedback)
            self.add_messages({"role": "assistant", "content": reply.text}, retry_message(feedback))
            return False, None
        return True, value

    def conversion_error(self, reply: CompletionReply, mismatch: ReplyMismatch) -> OutputConversionError:
        """The error for a reply that does not fit and may not be asked for again."""
        replies = self.record.replies
        return OutputConversionError(
            f"{self.meaning.qualified_name}: the model's reply does not fit the return type "
            f"{self.output.name} after {len(replies)} attempt(s). {mismatch.feedback}. "
            f"Raw reply: {reply.text[:500]!r}",
            raw_output=reply.value if reply.has_value else reply.text,
            expected_type=self.output.annotation,
            attempts=replies,
        )

    def add_messages(self, *messages: Message) -> None:
        """Extend the conversation the next completion sends."""
        self.set_messages([*self.request.messages, *messages])

    def set_messages(self, messages: list[Message]) -> None:
        """Send ``messages`` from the next completion on (in a new request: sent ones stay as they were)."""
        self.request = dataclasses.replace(self.request, messages=messages)

    def fail_stream(self, error: BaseException) -> None:
        """End a call whose stream failed while it was read: the error goes on the attempt too."""
        attempts = self.record.attempts
        if attempts and attempts[-1].error is None and attempts[-1].reply is None:
            attempts[-1].error = error
        self.finish(error=error)

    # -- the end -----------------------------------------------------------
    def finish(self, value: Any = None, error: BaseException | None = None) -> Any:
        """Close the record, make it the model's last call and tell the plugins; return ``value``."""
        record = self.record
        if record.finished:
            return value
        record.value = value
        record.error = error
        record.duration = time.perf_counter() - self._started
        record.finished = True
        record.totals()
        self.model.remember(record)
        if self.options.verbose:
            outcome = f"error: {error}" if error is not None else f"value: {value!r}"
            print(f"[byllm] {record.function} replies: {record.replies!r} -> {outcome}", file=sys.stderr)
        announce_finished(record)
        return value


def _provider_takes_schema(model: Model, request: CompletionRequest) -> bool:
    """Whether the provider sends the return type's schema to the model itself (structured output)."""
    if request.output_schema is None:
        return False
    wants_schema = getattr(model.provider, "wants_schema", None)
    return bool(wants_schema(request)) if callable(wants_schema) else False


def announce_finished(record: CallRecord) -> None:
    """Fire ``llm_call_finished``; a failing observer is logged, never raised into the call."""
    manager = machine.plugin_manager
    direct = manager.direct_implementation("llm_call_finished")
    try:
        if direct is not None:
            direct(record)
        else:
            hook = getattr(manager.hook, "llm_call_finished", None)
            if hook is not None and hook.get_hookimpls():
                hook(record=record)
    except Exception:  # an observer must not change the call's outcome
        logger(__name__).exception("a plugin's llm_call_finished failed for %s", record.function)


# -- the loops ---------------------------------------------------------------
def run_call(
    model: Model, caller: Callable, args: Mapping[str | int, object], meaning: FunctionMeaning | None = None
) -> Any:
    """Answer one synchronous call: complete, check, re-ask until the reply fits."""
    call = TypedCall(model, caller, args, meaning=meaning)
    try:
        while True:
            done, value = call.accept(call.complete())
            if done:
                return call.finish(value=value)
    except BaseException as error:
        call.finish(error=error)
        raise


class PendingCall:
    """What :meth:`~byllm.llm.Model.invoke` returns for an ``async def`` function: the call's value, to await.

    The call runs when the object is first awaited, in the awaiting task (no task
    of its own, so a call costs no extra turn of the event loop). Awaiting it
    again, or from another task while it runs, gives the same value or raises the
    same error without asking the model again, so a plugin may keep it and return
    it for a later call (as a caching ``call_llm`` does). As on an asyncio task,
    :meth:`add_done_callback` runs a function once the call has finished, and
    :meth:`done`, :meth:`result` and :meth:`exception` tell its outcome.
    """

    __slots__ = ("_call", "_finished", "_value", "_error", "_followers", "_callbacks")

    def __init__(self, call: Coroutine[Any, Any, Any]) -> None:
        self._call: Coroutine[Any, Any, Any] | None = call
        self._finished = False
        self._value: Any = None
        self._error: BaseException | None = None
        self._followers: list[Any] = []  # futures of other tasks awaiting the call while it runs
        self._callbacks: list[Callable[[PendingCall], None]] = []

    def __await__(self) -> Generator[Any, None, Any]:
        """Run the call (the first await), or wait for its outcome."""
        call, self._call = self._call, None
        if call is not None:
            try:
                self._value = yield from call.__await__()
            except BaseException as error:
                self._error = error
                raise
            finally:
                self._settle()
            return self._value
        if not self._finished:  # another task is running the call
            import asyncio

            follower = asyncio.get_running_loop().create_future()
            self._followers.append(follower)
            yield from follower.__await__()
        return self.result()

    def done(self) -> bool:
        """Whether the call has finished (with a value or an error)."""
        return self._finished

    def result(self) -> Any:
        """The call's value; its error is raised. Only once the call has finished."""
        if not self._finished:
            raise RuntimeError("the call has not finished: await it first")
        if self._error is not None:
            raise self._error
        return self._value

    def exception(self) -> BaseException | None:
        """The call's error, or ``None``. Only once the call has finished."""
        if not self._finished:
            raise RuntimeError("the call has not finished: await it first")
        return self._error

    def add_done_callback(self, callback: Callable[[PendingCall], None]) -> None:
        """Run ``callback(self)`` once the call has finished (at once if it has)."""
        if self._finished:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _settle(self) -> None:
        self._finished = True
        for follower in self._followers:
            if not follower.done():
                follower.set_result(None)
        for callback in self._callbacks:
            try:
                callback(self)
            except Exception:  # as on a task: a failing callback is logged, the call's outcome stands
                logger(__name__).exception("a done-callback of %s failed", self)
        self._followers = self._callbacks = []


async def arun_call(model: Model, caller: Callable, args: Mapping[str | int, object]) -> Any:
    """Answer one ``async def`` call."""
    call = TypedCall(model, caller, args)
    try:
        while True:
            done, value = call.accept(await call.acomplete())
            if done:
                return call.finish(value=value)
    except BaseException as error:
        call.finish(error=error)
        raise


def start_stream(
    model: Model, caller: Callable, args: Mapping[str | int, object], meaning: FunctionMeaning | None = None
) -> TypedCall:
    """Check that streaming applies to this call and build its request."""
    meaning = describe_function(caller) if meaning is None else meaning
    if meaning.return_type is not str:
        raise ConfigurationError(
            f"{meaning.qualified_name}: stream=True needs a function returning str, but it returns "
            f"{getattr(meaning.return_type, '__name__', meaning.return_type)!s}; drop stream=True to get a typed value"
        )
    if model.call_settings().tools:
        raise ConfigurationError(
            f"{meaning.qualified_name}: stream=True cannot be combined with tools=[...]; use one or the other"
        )
    return TypedCall(model, caller, args, streamed=True, meaning=meaning)


def stream_call(
    model: Model, caller: Callable, args: Mapping[str | int, object], meaning: FunctionMeaning | None = None
) -> Iterator[str]:
    """The reply to one call as an iterator of text chunks (the provider is asked when reading starts)."""
    call = start_stream(model, caller, args, meaning)
    return _read_stream(call)


def _read_stream(call: TypedCall) -> Iterator[str]:
    received: list[str] = []
    try:
        reply = call.complete()
        if isinstance(reply, StreamingReply):
            received = reply.chunks  # filled as the reply is read
            yield from reply
        elif reply.text:  # a plugin answered the streamed request with a whole reply: one chunk
            received = [reply.text]
            yield reply.text
    except GeneratorExit:  # the reader stopped early: the call ends with what it read
        call.finish(value="".join(received))
        raise
    except BaseException as error:
        call.fail_stream(error)
        raise
    call.finish(value="".join(received))


def astream_call(model: Model, caller: Callable, args: Mapping[str | int, object]) -> AsyncIterator[str]:
    """The reply to one ``async def`` call as an async iterator of text chunks."""
    call = start_stream(model, caller, args)
    return _aread_stream(call)


async def _aread_stream(call: TypedCall) -> AsyncIterator[str]:
    received: list[str] = []
    try:
        reply = await call.acomplete()
        if isinstance(reply, StreamingReply):
            received = reply.chunks
            async for chunk in reply:
                yield chunk
        elif reply.text:
            received = [reply.text]
            yield reply.text
    except GeneratorExit:
        call.finish(value="".join(received))
        raise
    except BaseException as error:
        call.fail_stream(error)
        raise
    call.finish(value="".join(received))


def print_messages(function: str, messages: list[Message]) -> None:
    """Show the messages of a call on stderr (``verbose=True``)."""
    print(f"[byllm] {function} sends:", file=sys.stderr)
    for message in messages:
        content = message["content"]
        if not isinstance(content, str):
            content = "\n".join(part.get("text", f"<{part.get('type')}>") for part in content or [])
        print(f"--- {message['role']} ---\n{content}", file=sys.stderr)
