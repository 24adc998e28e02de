"""The tracing plugin: OpenTelemetry spans following the GenAI semantic conventions.

Built from each finished :class:`~byllm.call.CallRecord` with its own timings:
the ``by llm()`` call is an INTERNAL span ``by_llm <function>``, each completion
attempt a CLIENT child ``chat <model>`` with ``gen_ai.*`` attributes, and each
tool turn an event on the call span. Active when ``opentelemetry-api`` is
installed and a tracer provider is set (globally, or :func:`use_tracer_provider`),
unless ``BYLLM_TRACING=off``; ``BYLLM_TRACING=on`` traces whenever it is installed.
A global provider set after the first call is picked up by ``byllm.settings.reload_settings()``.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from jaclang.runtimelib.machine import hookimpl

if TYPE_CHECKING:
    from byllm.call import Attempt, CallRecord

TRACER_NAME = "byllm"

# Sampling parameters with a GenAI attribute of their own.
REQUEST_ATTRIBUTES = {
    name: f"gen_ai.request.{name}"
    for name in ("temperature", "max_tokens", "top_p", "top_k", "seed", "frequency_penalty", "presence_penalty")
} | {"stop": "gen_ai.request.stop_sequences"}

# Model-name prefixes and the gen_ai.provider.name each stands for.
PROVIDER_PREFIXES = {
    "anthropic/": "anthropic", "openai/": "openai", "azure/": "azure.ai.openai", "gemini/": "gcp.gemini",
    "vertex_ai/": "gcp.vertex_ai", "bedrock/": "aws.bedrock", "groq/": "groq", "mistral/": "mistral_ai",
    "deepseek/": "deepseek", "xai/": "x_ai", "ollama/": "ollama",
}

_tracer_provider: Any = None


def use_tracer_provider(provider: Any) -> None:
    """Send byllm's spans to ``provider`` instead of the global one (``None`` to undo)."""
    from byllm.plugins import activation

    global _tracer_provider
    _tracer_provider = provider
    activation.sync()


def has_tracer_provider() -> bool:
    """Whether spans have somewhere to go: :func:`use_tracer_provider`'s provider or a global one."""
    if _tracer_provider is not None:
        return True
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        if "OTEL_PYTHON_TRACER_PROVIDER" not in os.environ:  # nothing can have set a provider yet
            return False
        from opentelemetry import trace
    # Until a tracer provider is installed, OpenTelemetry's proxy sends spans nowhere.
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def provider_name(record: CallRecord) -> str:
    """The ``gen_ai.provider.name`` of the call's model."""
    for prefix, name in PROVIDER_PREFIXES.items():
        if record.model_name.startswith(prefix):
            return name
    try:
        return str(getattr(record.model.provider, "name", "") or "unknown")
    except Exception:  # an unbuildable provider still gets a span
        return "unknown"


def request_attributes(record: CallRecord) -> dict[str, Any]:
    """The GenAI attributes every completion of the call shares."""
    model = record.model
    request_model = model.provider_model_id if model is not None else record.model_name
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider_name(record),
        "gen_ai.request.model": request_model,
        "gen_ai.output.type": "text" if record.meaning.return_type is str else "json",
    }
    for key, attribute in REQUEST_ATTRIBUTES.items():
        value = record.params.get(key)
        if isinstance(value, (str, bool, int, float)):
            attributes[attribute] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value):
            attributes[attribute] = list(value)
    if record.streamed:
        attributes["byllm.streamed"] = True
    return attributes


def _usage_attributes(usage: Any) -> dict[str, int]:
    return {"gen_ai.usage.input_tokens": usage.input_tokens, "gen_ai.usage.output_tokens": usage.output_tokens}


def attempt_attributes(attempt: Attempt) -> dict[str, Any]:
    """What one completion adds: usage, finish reason, whether a cache answered."""
    attributes: dict[str, Any] = {"byllm.cache_hit": attempt.cached}
    if attempt.usage is not None:
        attributes.update(_usage_attributes(attempt.usage))
    if attempt.error is None:
        attributes["gen_ai.response.finish_reasons"] = ["tool_calls" if attempt.tool_calls else "stop"]
    return attributes


def _nanoseconds(seconds: float) -> int:
    return int(seconds * 1_000_000_000)


def _end(span: Any, error: BaseException | None, end_time: int) -> None:
    if error is not None:
        from opentelemetry.trace import Status, StatusCode
        from byllm.redact import redact

        message = redact(str(error))[:500]
        span.set_attribute("error.type", type(error).__qualname__)
        span.add_event("exception", {"exception.type": type(error).__qualname__, "exception.message": message}, end_time)
        span.set_status(Status(StatusCode.ERROR, message))
    span.end(end_time=end_time)


class TracingHooks:
    """Makes the spans of every finished call; registered only while tracing is active."""

    @staticmethod
    @hookimpl
    def llm_call_finished(record: CallRecord) -> None:
        """The spans of the call and of each of its completions, sent to :func:`use_tracer_provider`'s provider
        or the global one."""
        from opentelemetry import trace

        import byllm

        tracer = trace.get_tracer(TRACER_NAME, byllm.__version__, tracer_provider=_tracer_provider)
        start = _nanoseconds(record.started_at)
        end = start + _nanoseconds(record.duration)
        call = tracer.start_span(
            f"by_llm {record.function}",
            kind=trace.SpanKind.INTERNAL,
            start_time=start,
            attributes={"byllm.function": record.function, "gen_ai.request.model": record.model_name},
        )
        context = trace.set_span_in_context(call)
        shared = request_attributes(record)
        for attempt in record.attempts:
            # Wall-clock starts and monotonic durations drift by microseconds: keep children inside the call.
            began = min(max(_nanoseconds(attempt.started_at), start), end)
            span = tracer.start_span(
                f"chat {shared['gen_ai.request.model']}", context=context, kind=trace.SpanKind.CLIENT,
                start_time=began, attributes={**shared, **attempt_attributes(attempt)},
            )
            _end(span, attempt.error, min(began + _nanoseconds(attempt.latency), end))
        for turn in record.tool_turns:
            call.add_event("gen_ai.tool.call", {"gen_ai.tool.name": turn.name})
        if record.usage.total_tokens:
            call.set_attributes(_usage_attributes(record.usage))
        _end(call, record.error, end)
