"""The tracing plugin: OpenTelemetry spans following the GenAI semantic conventions.

Each ``by llm()`` call is an INTERNAL span ``by_llm <function>``; each completion
inside it (retries and tool turns included) is a CLIENT span ``chat <model>``
with ``gen_ai.*`` attributes: operation, provider, request model and sampling
parameters, response model, token usage and ``error.type`` on failure.

Active when ``opentelemetry-api`` is installed (``pip install
'jaclang[tracing]'``) and the application has set a tracer provider
(``opentelemetry.trace.set_tracer_provider``, or ``use_tracer_provider`` here),
unless ``BYLLM_TRACING=off``. The span wrappers are registered only while
tracing is active, decided when the settings are (re)read, when a ``Model`` is
created and by ``use_tracer_provider``: a global provider set after every model
was created is picked up by ``byllm.settings.reload_settings()``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Generator

from jaclang.runtimelib.machine import hookimpl
import byllm.hooks  # noqa: F401  (the llm_complete hook specs)
from byllm.plugins.marks import function_name, is_cache_hit
from byllm.plugins.settle import when_settled
from byllm.plugins.switches import HookSwitch, add_switch
from byllm.settings import get_settings

if TYPE_CHECKING:
    from byllm.llm import Model
    from byllm.providers.base import CompletionReply, CompletionRequest

TRACER_NAME = "byllm"

# Sampling parameters with a GenAI attribute of their own.
REQUEST_ATTRIBUTES = {
    "temperature": "gen_ai.request.temperature",
    "max_tokens": "gen_ai.request.max_tokens",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "seed": "gen_ai.request.seed",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "stop": "gen_ai.request.stop_sequences",
}

# Model-name prefixes and the gen_ai.provider.name each stands for.
PROVIDER_PREFIXES = {
    "anthropic/": "anthropic",
    "openai/": "openai",
    "azure/": "azure.ai.openai",
    "gemini/": "gcp.gemini",
    "vertex_ai/": "gcp.vertex_ai",
    "bedrock/": "aws.bedrock",
    "groq/": "groq",
    "mistral/": "mistral_ai",
    "deepseek/": "deepseek",
    "xai/": "x_ai",
    "ollama/": "ollama",
}

_tracer_provider: Any = None
_available: bool | None = None
_provider_from_environment: bool | None = None


def use_tracer_provider(provider: Any) -> None:
    """Send byllm's spans to ``provider`` instead of the global one (``None`` to undo)."""
    global _tracer_provider
    _tracer_provider = provider
    if provider is not None:
        switch.sync(get_settings())
    else:  # reads no settings: this may run while they are being changed
        switch.turn_off()


def _opentelemetry_installed(mode: str) -> bool:
    global _available
    if _available is None:
        import importlib.util  # here, not at module level: every `jac` start-up loads this plugin

        _available = importlib.util.find_spec("opentelemetry") is not None
        if not _available and mode == "on":
            import logging

            logging.getLogger(__name__).warning("BYLLM_TRACING=on but opentelemetry is not installed: pip install 'jaclang[tracing]'")
    return _available


def tracing_enabled() -> bool:
    """Whether spans are made: ``BYLLM_TRACING`` / config, OpenTelemetry installed, a tracer provider set.

    Cheap: without a provider of our own, until the application has imported
    ``opentelemetry.trace`` no global provider can be set, so nothing of
    OpenTelemetry is imported or called.
    """
    global _provider_from_environment
    mode = get_settings().tracing
    if mode == "off" or not _opentelemetry_installed(mode):
        return False
    if _tracer_provider is not None:
        return True
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        if _provider_from_environment is None:
            # OpenTelemetry builds the provider this variable names on first use.
            _provider_from_environment = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
        if not _provider_from_environment:
            return False
        from opentelemetry import trace
    # Until the application installs a tracer provider, OpenTelemetry hands out a
    # proxy whose spans go nowhere: skip building attributes for them.
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def _tracer() -> Any:
    from opentelemetry import trace

    import byllm

    if _tracer_provider is not None:
        return _tracer_provider.get_tracer(TRACER_NAME, byllm.__version__)
    return trace.get_tracer(TRACER_NAME, byllm.__version__)


def provider_name(model: Model) -> str:
    """The ``gen_ai.provider.name`` of a model."""
    for prefix, name in PROVIDER_PREFIXES.items():
        if model.model_name.startswith(prefix):
            return name
    try:
        return str(getattr(model.provider, "name", "") or "unknown")
    except Exception:  # an unbuildable provider still gets a span
        return "unknown"


def completion_attributes(model: Model, request: CompletionRequest) -> dict[str, Any]:
    """The GenAI attributes known before a completion is sent."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider_name(model),
        "gen_ai.request.model": request.model,
        "gen_ai.output.type": "text" if request.output_schema is None else "json",
    }
    for key, attribute in REQUEST_ATTRIBUTES.items():
        value = request.params.get(key)
        if isinstance(value, (str, bool, int, float)):
            attributes[attribute] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            attributes[attribute] = list(value)
    if request.stream:
        attributes["gen_ai.request.stream"] = True
    if request.tools:
        attributes["byllm.tools"] = [tool.name for tool in request.tools]
    return attributes


def reply_attributes(reply: CompletionReply) -> dict[str, Any]:
    """The GenAI attributes a reply adds."""
    attributes: dict[str, Any] = {"byllm.cache_hit": is_cache_hit(reply)}
    if reply.model:
        attributes["gen_ai.response.model"] = reply.model
    if reply.usage is not None:
        attributes["gen_ai.usage.input_tokens"] = reply.usage.input_tokens
        attributes["gen_ai.usage.output_tokens"] = reply.usage.output_tokens
    attributes["gen_ai.response.finish_reasons"] = ["tool_calls" if reply.tool_calls else "stop"]
    return attributes


def _end_with(span: Any, error: BaseException | None) -> None:
    from opentelemetry.trace import Status, StatusCode

    if error is not None:
        span.set_attribute("error.type", type(error).__qualname__)
        span.record_exception(error)
        span.set_status(Status(StatusCode.ERROR, str(error)[:500]))
    span.end()


async def _trace_async(span: Any, pending: Any) -> CompletionReply:
    try:
        reply = await pending
    except BaseException as error:
        _end_with(span, error)
        raise
    span.set_attributes(reply_attributes(reply))
    _end_with(span, None)
    return reply


class TracingPlugin:
    """The ``byllm-tracing`` plugin: :class:`TracingHooks` are registered while tracing is active.

    Whether it is active is decided when the settings are read, when a
    :class:`~byllm.llm.Model` is created and by :func:`use_tracer_provider`, so
    without a tracer provider no call or completion pays for tracing.
    """


class TracingHooks:
    """Makes OpenTelemetry spans for calls (outermost wrapper) and their completions."""

    @staticmethod
    @hookimpl(wrapper=True, tryfirst=True)
    def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> Generator[None, Any, Any]:
        """A span around the whole ``by llm()`` call; completions become its children."""
        if not tracing_enabled():
            return (yield)
        from opentelemetry import trace

        name = function_name(caller)
        span = _tracer().start_span(
            f"by_llm {name}",
            kind=trace.SpanKind.INTERNAL,
            attributes={"byllm.function": name, "gen_ai.request.model": model.model_name},
        )
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                result = yield
        except BaseException as error:
            _end_with(span, error)
            raise
        return when_settled(result, lambda value, error: _end_with(span, error))

    @staticmethod
    @hookimpl(wrapper=True, tryfirst=True)
    def llm_complete(model: Model, request: CompletionRequest) -> Generator[None, CompletionReply, CompletionReply]:
        """A CLIENT span per completion."""
        if not tracing_enabled():
            return (yield)
        from opentelemetry import trace

        span = _tracer().start_span(
            f"chat {request.model}", kind=trace.SpanKind.CLIENT, attributes=completion_attributes(model, request)
        )
        try:
            with trace.use_span(span, end_on_exit=False, record_exception=False, set_status_on_exception=False):
                reply = yield
        except BaseException as error:
            _end_with(span, error)
            raise
        span.set_attributes(reply_attributes(reply))
        _end_with(span, None)
        return reply

    @staticmethod
    @hookimpl(wrapper=True, tryfirst=True)
    def llm_acomplete(model: Model, request: CompletionRequest) -> Generator[None, Any, Any]:
        """Async form: the span ends when the reply arrives."""
        if not tracing_enabled():
            return (yield)
        from opentelemetry import trace

        span = _tracer().start_span(
            f"chat {request.model}", kind=trace.SpanKind.CLIENT, attributes=completion_attributes(model, request)
        )
        pending = yield
        return _trace_async(span, pending)


switch = add_switch(
    HookSwitch(TracingPlugin, TracingHooks, "byllm-tracing:hooks", None, lambda settings: tracing_enabled(), volatile=True)
)
