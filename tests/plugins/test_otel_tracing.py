"""OpenTelemetry spans for calls and their completions, following the GenAI conventions."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk", reason="tracing tests need opentelemetry-sdk (pip install '.[tracing]')")

from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

from byllm.errors import OutputConversionError  # noqa: E402
from byllm.lib import Model, by  # noqa: E402
from byllm.plugins import tracing  # noqa: E402
from byllm.settings import reload_settings  # noqa: E402


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    yield exporter
    provider.shutdown()


def call_and_chats(spans) -> tuple:
    finished = spans.get_finished_spans()
    call = next(span for span in finished if span.name.startswith("by_llm "))
    return call, [span for span in finished if span.name.startswith("chat ")]


def test_a_call_and_its_completions_become_genai_spans(spans, provider) -> None:
    answers = iter(["nope", "3"])
    provider.answer = lambda request: next(answers)

    @by(Model("test/gpt-4o", temperature=0.2, max_tokens=50))
    def count(word: str) -> int:
        """Count letters."""

    assert count("abc") == 3
    call, chats = call_and_chats(spans)
    assert call.name.endswith("count") and call.kind == SpanKind.INTERNAL
    assert [chat.name for chat in chats] == ["chat gpt-4o", "chat gpt-4o"]
    for chat in chats:
        assert chat.kind == SpanKind.CLIENT
        assert chat.parent.span_id == call.context.span_id
        assert call.start_time <= chat.start_time <= chat.end_time <= call.end_time
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.provider.name"] == "testprovider"
        assert chat.attributes["gen_ai.request.model"] == "gpt-4o"
        assert chat.attributes["gen_ai.request.temperature"] == 0.2
        assert chat.attributes["gen_ai.request.max_tokens"] == 50
        assert chat.attributes["gen_ai.output.type"] == "json"
        assert chat.attributes["gen_ai.usage.input_tokens"] == 100
        assert chat.attributes["gen_ai.usage.output_tokens"] == 20
    assert chats[0].end_time <= chats[1].start_time
    assert call.attributes["gen_ai.usage.input_tokens"] == 200


def test_failed_call_span_has_error_type(spans, provider) -> None:
    provider.answer = lambda request: "nope"

    @by(Model("test/m", retries=0))
    def count(word: str) -> int:
        """Count letters."""

    with pytest.raises(OutputConversionError):
        count("abc")
    call, _chats = call_and_chats(spans)
    assert call.status.status_code == StatusCode.ERROR
    assert call.attributes["error.type"] == "OutputConversionError"


def test_async_completion_spans_are_children_of_the_call(spans, provider, shout_with) -> None:
    asyncio.run(shout_with(Model("test/m"), is_async=True)("a"))
    call, (chat,) = call_and_chats(spans)
    assert chat.parent.span_id == call.context.span_id
    assert chat.attributes["gen_ai.output.type"] == "text"


def test_tracing_can_be_switched_off(spans, provider, monkeypatch, shout_with) -> None:
    monkeypatch.setenv("BYLLM_TRACING", "off")
    reload_settings()
    shout_with(Model("test/m"))("a")
    assert spans.get_finished_spans() == ()


GLOBAL_PROVIDER = """
import sys
sys.path.insert(0, {here!r})
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from jaclang.runtimelib.machine import plugin_manager
from byllm.lib import Model, by
from byllm.settings import reload_settings
from plugin_support import CountingProvider, CountingProviderPlugin

plugin_manager.register(CountingProviderPlugin(CountingProvider()))
exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
if {early}:
    trace.set_tracer_provider(tracer_provider)

@by(Model("test/m"))
def shout(word: str) -> str:
    '''Echo.'''

if not {early}:
    shout("before any provider")
    trace.set_tracer_provider(tracer_provider)
    reload_settings()  # the model exists already: tell byllm to look again
shout("a")
print(sorted(span.name for span in exporter.get_finished_spans()))
"""


@pytest.mark.parametrize("early", [True, False])
def test_a_global_tracer_provider_is_used(tmp_path: Path, early: bool) -> None:
    """Set before the models are made it is found; set later, after ``reload_settings()``."""
    code = GLOBAL_PROVIDER.format(here=str(Path(__file__).parent), early=early)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['by_llm shout', 'chat m']"
