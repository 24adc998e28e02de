"""The Anthropic provider, through the real ``anthropic`` SDK against a fake Messages endpoint."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import pytest

from byllm.lib import AuthenticationError, ConfigurationError, Image, Model, by
from byllm.tools import FINISH_TOOL
from fake_server import FakeLLMServer, anthropic_stream, anthropic_text, anthropic_tool_use, error

KEY = "sk-ant-test-0123456789"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@dataclass
class Invoice:
    number: str
    total: float


def claude(fake_server: FakeLLMServer, **config: object) -> Model:
    return Model("anthropic/claude-3-5-haiku-latest", base_url=fake_server.url, api_key=KEY,
                 retry_backoff=0.001, **config)


def test_text_reply_with_system_prompt_separate_and_key_header(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server, temperature=0.1)

    @by(llm)
    def greet(name: str) -> str:
        """Greet someone."""

    fake_server.script(anthropic_text("Hi Ada"))
    assert greet("Ada") == "Hi Ada"
    request = fake_server.requests[0]
    assert request.path.startswith("/v1/messages")
    # Older SDKs send the key as x-api-key, newer ones as a bearer token.
    assert KEY in (request.headers.get("x-api-key"), request.headers.get("authorization", "").removeprefix("Bearer "))
    body = request.body
    assert body["model"] == "claude-3-5-haiku-latest"
    assert body["max_tokens"] == 4096
    assert body["temperature"] == 0.1
    assert body["system"] and all(message["role"] != "system" for message in body["messages"])
    assert body["messages"][0]["role"] == "user"
    assert body["messages"][0]["content"][0]["type"] == "text"
    assert "tools" not in body
    assert (llm.last_call.usage.input_tokens, llm.last_call.usage.output_tokens) == (13, 5)


def test_structured_output_uses_a_forced_tool_with_the_output_schema(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm)
    def read_invoice(text: str) -> Invoice:
        """Read an invoice."""

    fake_server.script(anthropic_tool_use(("read_invoice", {"number": "A-1", "total": 9.5})))
    assert read_invoice("invoice A-1 for 9.50") == Invoice("A-1", 9.5)
    body = fake_server.requests[0].body
    assert body["tool_choice"] == {"type": "tool", "name": "read_invoice"}
    assert body["tools"][0]["input_schema"]["required"] == ["number", "total"]


def test_non_object_output_is_wrapped_in_the_forced_tool(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm)
    def primes(limit: int) -> list[int]:
        """Primes below the limit."""

    fake_server.script(anthropic_tool_use(("primes", {"value": [2, 3, 5, 7]})))
    assert primes(10) == [2, 3, 5, 7]
    schema = fake_server.requests[0].body["tools"][0]["input_schema"]
    assert schema["properties"]["value"]["type"] == "array"


def test_claude_names_without_prefix_and_explicit_provider_work(monkeypatch: pytest.MonkeyPatch,
                                                                fake_server: FakeLLMServer) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_server.url)
    llm = Model("claude-haiku-4-5")

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    fake_server.script(anthropic_text("ok"), anthropic_text("ok"))
    assert echo("x") == "ok"
    assert fake_server.requests[0].body["model"] == "claude-haiku-4-5"
    routed = Model("corporate-claude", provider="anthropic")
    assert by(routed)(echo)("y") == "ok"
    assert fake_server.requests[1].body["model"] == "corporate-claude"


def test_tool_loop_through_tool_use_blocks(fake_server: FakeLLMServer) -> None:
    def exchange_rate(currency: str) -> float:
        """Euros per unit of a currency."""
        return {"USD": 0.9, "GBP": 1.2}[currency]

    llm = claude(fake_server)

    @by(llm(tools=[exchange_rate]))
    def in_euros(amount: float, currency: str) -> float:
        """Convert an amount to euros."""

    fake_server.script(
        anthropic_tool_use(("exchange_rate", {"currency": "USD"}), ("exchange_rate", {"currency": "GBP"}),
                           text="Let me check."),
        anthropic_tool_use((FINISH_TOOL, {"final_output": 9.0})),
    )
    assert in_euros(10, "USD") == 9.0
    first, second = (request.body for request in fake_server.requests)
    assert "tool_choice" not in first  # ordinary tools: the model chooses
    assert [tool["name"] for tool in first["tools"]] == ["exchange_rate", FINISH_TOOL]
    assistant, results = second["messages"][1], second["messages"][2]
    assert assistant["role"] == "assistant"
    assert [block["type"] for block in assistant["content"]] == ["text", "tool_use", "tool_use"]
    assert results["role"] == "user"
    assert [(block["type"], block["content"]) for block in results["content"]] == [
        ("tool_result", "0.9"), ("tool_result", "1.2")]
    assert results["content"][0]["tool_use_id"] == assistant["content"][1]["id"]


def test_streaming_text_deltas(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm(stream=True))
    def poem(topic: str) -> str:
        """A short poem."""

    fake_server.script(anthropic_stream(["Roses", " are", " red"]))
    assert list(poem("flowers")) == ["Roses", " are", " red"]
    assert fake_server.requests[0].body["stream"] is True


def test_async_calls_and_async_streams(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm)
    async def read_invoice(text: str) -> Invoice:
        """Read an invoice."""

    @by(llm(stream=True))
    async def poem(topic: str) -> str:
        """A short poem."""

    async def main() -> tuple[Invoice, list[str]]:
        invoice = await read_invoice("B-2 costs 3")
        chunks = [chunk async for chunk in await poem("sea")]
        return invoice, chunks

    fake_server.script(anthropic_tool_use(("read_invoice", {"number": "B-2", "total": 3})),
                       anthropic_stream(["Blue", " sea"]))
    assert asyncio.run(main()) == (Invoice("B-2", 3.0), ["Blue", " sea"])


def test_images_become_base64_image_blocks(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm)
    def caption(picture: Image) -> str:
        """Caption the picture."""

    fake_server.script(anthropic_text("a black square"))
    assert caption(Image(PNG)) == "a black square"
    blocks = fake_server.requests[0].body["messages"][0]["content"]
    assert blocks[1]["type"] == "image"
    assert blocks[1]["source"]["type"] == "base64"
    assert blocks[1]["source"]["media_type"] == "image/png"


def test_overloaded_and_rate_limited_replies_are_retried(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    fake_server.script(error(529, "Overloaded"), error(429, retry_after="0"), anthropic_text("fine"))
    assert echo("x") == "fine"
    assert len(fake_server.requests) == 3


def test_bad_key_is_an_authentication_error_without_the_key(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server)

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    fake_server.script(error(401, f"invalid x-api-key {KEY}"))
    with pytest.raises(AuthenticationError) as raised:
        echo("x")
    assert KEY not in str(raised.value)
    assert raised.value.provider == "anthropic"


def test_missing_key_is_a_configuration_error() -> None:
    @by(Model("anthropic/claude-3-5-haiku-latest"))
    def echo(text: str) -> str:
        """Echo."""

    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        echo("x")


def test_retry_after_a_mismatch_keeps_the_conversation_alternating(fake_server: FakeLLMServer) -> None:
    llm = claude(fake_server, retries=1)

    @by(llm)
    def total(text: str) -> float:
        """The total."""

    fake_server.script(anthropic_tool_use(("total", {"value": "lots"})), anthropic_tool_use(("total", {"value": 4})))
    assert total("4 euros") == 4.0
    roles = [message["role"] for message in fake_server.requests[1].body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert json.loads(fake_server.requests[1].body["messages"][1]["content"][0]["text"]) == "lots"
