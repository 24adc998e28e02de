"""``Model``: a configured language model and the typed call path behind ``by llm()``.

``Model.invoke(caller, args)`` is what byllm's ``call_llm`` hook runs: it builds
the messages from the function's meaning, asks the provider (through the
``llm_complete`` hook, so plugins see every completion), and turns the reply
into the declared return type, retrying with the validation error when it does
not fit.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from byllm.errors import OutputConversionError
from byllm.hooks import acomplete_through_plugins, complete_through_plugins
from byllm.meaning import FunctionMeaning, describe_function
from byllm.output import OutputType, ReplyMismatch, output_type
from byllm.prompt import build_messages, retry_message
from byllm.providers.base import CompletionReply, CompletionRequest, Message, Usage
from byllm.plugins.switches import activate_for
from byllm.settings import default_retries, get_settings

logger = logging.getLogger(__name__)

DEFAULT_RETRIES = 2
HISTORY_LIMIT = 1000  # call records kept per model; older ones are dropped in halves

# Keys byllm itself reads; every other configuration key is a sampling parameter
# passed on to the provider (temperature, max_tokens, top_p, seed, ...).
BYLLM_KEYS = frozenset(
    {
        "api_key",
        "base_url",
        "outputs",
        "timeout",
        "max_retries",
        "retries",
        "verbose",
        "incl_info",
        "excl_info",
        "tools",
        "stream",
        "max_iterations",
        "headers",
        "provider",
        "cache",
        "log",
        "json_mode",
        "retry_backoff",
    }
)


@dataclass
class CallRecord:
    """What one ``by llm()`` call sent and received; see :attr:`Model.last_call`."""

    function: str
    model_name: str
    messages: list[Message]
    replies: list[str] = field(default_factory=list)
    value: Any = None
    error: BaseException | None = None
    usage: Usage = field(default_factory=Usage)

    @property
    def retries(self) -> int:
        """How many extra completions the call needed because replies did not fit."""
        return max(len(self.replies) - 1, 0)


class _SharedState:
    """State a model shares with the per-call copies ``model(...)`` makes."""

    def __init__(self) -> None:
        self.provider: Any = None
        self.provider_model_id: str | None = None
        self.lock = threading.Lock()
        self.history: list[CallRecord] = []
        self.last_call: CallRecord | None = None


class TypedCall:
    """One call in progress: the request to send and the replies received so far."""

    def __init__(self, model: Model, meaning: FunctionMeaning, output: OutputType, request: CompletionRequest) -> None:
        self.model = model
        self.meaning = meaning
        self.output = output
        self.request = request
        self.retries_left: int | None = None  # looked up on the first reply that does not fit
        self.record = CallRecord(
            function=meaning.qualified_name,
            model_name=model.model_name,
            messages=request.messages,
        )

    def accept(self, reply: CompletionReply) -> tuple[bool, Any]:
        """Take a reply: ``(True, value)`` when it fits, ``(False, None)`` to ask again.

        Raises :class:`OutputConversionError` once no retries are left.
        """
        record = self.record
        record.replies.append(reply.text)
        if reply.usage is not None:
            record.usage.input_tokens += reply.usage.input_tokens
            record.usage.output_tokens += reply.usage.output_tokens
        try:
            value = self.output.check(reply.value) if reply.has_value else self.output.parse(reply.text)
        except ReplyMismatch as mismatch:
            if self.retries_left is None:
                self.retries_left = self.model.retries
            if self.retries_left <= 0 or reply.has_value:
                error = OutputConversionError(
                    f"{self.meaning.qualified_name}: the model's reply does not fit the return type "
                    f"{self.output.name} after {len(record.replies)} attempt(s). {mismatch.feedback}. "
                    f"Raw reply: {reply.text[:500]!r}",
                    raw_output=reply.value if reply.has_value else reply.text,
                    expected_type=self.output.annotation,
                    attempts=list(record.replies),
                )
                self.model._finish(record, error=error)
                raise error from None
            self.retries_left -= 1
            logger.info("retrying %s: %s", self.meaning.qualified_name, mismatch.feedback)
            self.request.messages = [
                *self.request.messages,
                {"role": "assistant", "content": reply.text},
                retry_message(mismatch.feedback),
            ]
            record.messages = self.request.messages
            return False, None
        self.model._finish(record, value=value)
        return True, value


class Model:
    """A language model and its configuration.

    ``Model("gpt-4o-mini", temperature=0.2)`` or ``Model(model_name=..., config={...})``.
    Calling the model (``llm(temperature=0.7)``) returns a copy configured for one
    call, which is how ``by llm(...)`` passes call parameters.
    """

    def __init__(self, model_name: str | None = None, **config: Any) -> None:
        nested = config.pop("config", None) or {}
        config = {**nested, **config}
        if model_name is None:
            model_name = config.pop("model_name", None)
        if model_name is None:
            from byllm.settings import default_model_name

            model_name = default_model_name()
        self.model_name: str = model_name
        self.config: dict[str, Any] = config
        self.call_params: dict[str, Any] = {}
        self._shared = _SharedState()
        self._sampling_params: tuple[Any, dict[str, Any]] | None = None
        activate_for(config)  # plugins this model asks for (cache=, log=) join the hook calls

    # -- configuration -------------------------------------------------
    def __call__(self, **call_params: Any) -> Model:
        """This model configured for one call (``by llm(temperature=0.2, tools=[...])``)."""
        if not call_params:
            return self
        copy = Model.__new__(Model)
        copy.model_name = self.model_name
        copy.config = self.config
        copy.call_params = {**self.call_params, **call_params}
        copy._shared = self._shared
        copy._sampling_params = None
        if "cache" in call_params or "log" in call_params:
            activate_for(call_params)
        return copy

    def param(self, name: str, default: Any = None) -> Any:
        """A setting for this call: call parameters first, then the model's configuration."""
        if name in self.call_params:
            return self.call_params[name]
        return self.config.get(name, default)

    @property
    def retries(self) -> int:
        """How many times a reply that does not fit the return type is asked for again."""
        value = self.param("retries")
        if value is None:
            return default_retries(DEFAULT_RETRIES)
        return int(value)

    @property
    def verbose(self) -> bool:
        """Whether each call's messages and replies are printed to stderr."""
        return bool(self.param("verbose", False))

    def sampling_params(self) -> dict[str, Any]:
        """Parameters passed on to the provider (temperature, max_tokens, ...).

        Computed once per model (and per settings load), then copied per call.
        """
        settings = get_settings()
        cached = self._sampling_params
        if cached is None or cached[0] is not settings:
            merged = {**settings.params, **self.config, **self.call_params}
            params = {key: value for key, value in merged.items() if key not in BYLLM_KEYS and value is not None}
            cached = self._sampling_params = (settings, params)
        return dict(cached[1])

    @property
    def provider(self) -> Any:
        """The provider serving this model, created on first use and then reused."""
        shared = self._shared
        if shared.provider is None:
            with shared.lock:
                if shared.provider is None:
                    from byllm.providers.registry import resolve_provider

                    shared.provider = resolve_provider(self.model_name, self.config)
        return shared.provider

    @property
    def provider_model_id(self) -> str:
        """The model name as the provider knows it (``openai/gpt-4o`` -> ``gpt-4o``)."""
        shared = self._shared
        if shared.provider_model_id is None:
            model_id = getattr(self.provider, "model_id", None)
            shared.provider_model_id = model_id(self.model_name) if callable(model_id) else self.model_name
        return shared.provider_model_id

    @property
    def last_call(self) -> CallRecord | None:
        """The record of the most recent call through this model (or a copy of it)."""
        return self._shared.last_call

    @property
    def last_messages(self) -> list[Message] | None:
        """The exact messages the most recent call sent (retries included)."""
        record = self._shared.last_call
        return record.messages if record else None

    @property
    def history(self) -> list[CallRecord]:
        """Records of every call through this model, oldest first."""
        return self._shared.history

    # -- calls ---------------------------------------------------------
    def prepare(
        self, caller: Callable, args: Mapping[str | int, object], meaning: FunctionMeaning | None = None
    ) -> TypedCall:
        """Build the request for one call of ``caller`` with ``args``."""
        meaning = meaning or describe_function(caller)
        output = output_type(meaning.return_type)
        instance = getattr(caller, "__self__", None)
        context = self.param("incl_info") or None
        if context is not None and not isinstance(context, Mapping):
            context = {f"info_{index}": value for index, value in enumerate(context, start=1)}
        messages = build_messages(meaning, output, args, instance=instance, context=context)
        request = CompletionRequest(
            model=self.provider_model_id,
            messages=messages,
            output_schema=output.schema,
            output_name=meaning.name,
            params=self.sampling_params(),
        )
        call = TypedCall(self, meaning, output, request)
        if self.verbose:
            _print_messages(meaning.qualified_name, messages)
        return call

    def invoke(self, caller: Callable, args: Mapping[str | int, object]) -> Any:
        """Answer one call of ``caller`` with ``args`` and return a value of its return type.

        For an ``async def`` caller this returns an awaitable task instead (safe
        to await more than once, so caching plugins may store it).
        """
        meaning = describe_function(caller)
        if meaning.is_async:
            import asyncio

            return asyncio.ensure_future(self.ainvoke(caller, args))
        if self.param("stream"):
            from byllm.streaming import stream_call

            return stream_call(self, caller, args)
        if self.param("tools"):
            from byllm.tools import run_tool_loop

            return run_tool_loop(self, caller, args)
        call = self.prepare(caller, args, meaning)
        while True:
            done, value = call.accept(self.complete(call.request))
            if done:
                return value

    async def ainvoke(self, caller: Callable, args: Mapping[str | int, object]) -> Any:
        """Async form of :meth:`invoke`, using the provider's async client."""
        if self.param("stream"):
            from byllm.streaming import astream_call

            return astream_call(self, caller, args)
        if self.param("tools"):
            from byllm.tools import arun_tool_loop

            return await arun_tool_loop(self, caller, args)
        call = self.prepare(caller, args)
        while True:
            done, value = call.accept(await self.acomplete(call.request))
            if done:
                return value

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """One completion through the ``llm_complete`` hook (plugins see it)."""
        return complete_through_plugins(self, request)

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """Async form of :meth:`complete`."""
        return await acomplete_through_plugins(self, request)

    def _finish(self, record: CallRecord, value: Any = None, error: BaseException | None = None) -> None:
        record.value = value
        record.error = error
        shared = self._shared
        shared.last_call = record
        history = shared.history
        history.append(record)
        if len(history) > HISTORY_LIMIT:
            del history[: HISTORY_LIMIT // 2]
        if self.verbose:
            outcome = f"error: {error}" if error else f"value: {value!r}"
            print(f"[byllm] {record.function} replies: {record.replies!r} -> {outcome}", file=sys.stderr)

    def __repr__(self) -> str:
        shown = {key: value for key, value in {**self.config, **self.call_params}.items() if key != "api_key"}
        settings = "".join(f", {key}={value!r}" for key, value in shown.items() if key != "outputs")
        return f"Model({self.model_name!r}{settings})"


def _print_messages(function: str, messages: list[Message]) -> None:
    print(f"[byllm] {function} sends:", file=sys.stderr)
    for message in messages:
        content = message["content"]
        if not isinstance(content, str):
            content = "\n".join(part.get("text", f"<{part.get('type')}>") for part in content)
        print(f"--- {message['role']} ---\n{content}", file=sys.stderr)
