"""The LiteLLM provider (optional extra): ``litellm/<provider>/<model>`` through LiteLLM to the fake server."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from dataclasses import dataclass

import pytest

from byllm.lib import ConfigurationError, Model, RateLimitError, by
from fake_server import FakeLLMServer, error, openai_json, openai_stream, openai_text, openai_tool_calls

needs_litellm = pytest.mark.skipif(importlib.util.find_spec("litellm") is None,
                                   reason='LiteLLM is an optional extra: pip install "jaclang[litellm]"')
KEY = "sk-litellm-0123456789"


@dataclass
class City:
    name: str
    population: int


@pytest.fixture(autouse=True)
def offline_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    """LiteLLM fetches a price list from the internet on import unless told to use its bundled copy."""
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def litellm_model(fake_server: FakeLLMServer, **config: object) -> Model:
    return Model("litellm/openai/fake-model", base_url=fake_server.openai_url, api_key=KEY,
                 retry_backoff=0.001, **config)


def test_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "litellm", None)  # makes `import litellm` fail

    @by(Model("litellm/openai/gpt-4o-mini"))
    def echo(text: str) -> str:
        """Echo."""

    with pytest.raises(ConfigurationError, match=r'pip install "jaclang\[litellm\]"'):
        echo("x")


@needs_litellm
def test_text_and_typed_replies_through_litellm(fake_server: FakeLLMServer) -> None:
    llm = litellm_model(fake_server, temperature=0)

    @by(llm)
    def greet(name: str) -> str:
        """Greet someone."""

    @by(llm)
    def biggest(country: str) -> City:
        """The biggest city of a country."""

    fake_server.script(openai_text("Hello Ada"), openai_json({"name": "Oslo", "population": 700000}))
    assert greet("Ada") == "Hello Ada"
    assert biggest("Norway") == City("Oslo", 700000)
    first = fake_server.requests[0]
    assert first.path == "/v1/chat/completions"
    assert first.body["model"] == "fake-model"
    assert first.headers["authorization"] == f"Bearer {KEY}"


@needs_litellm
def test_tools_stream_async_and_retries_through_litellm(fake_server: FakeLLMServer) -> None:
    def population(city: str) -> int:
        """Population of a city."""
        return 700000

    llm = litellm_model(fake_server)

    @by(llm(tools=[population]))
    def how_many(city: str) -> int:
        """How many people live in the city."""

    @by(llm(stream=True))
    def story(topic: str) -> str:
        """A story."""

    @by(llm)
    async def aecho(text: str) -> str:
        """Echo."""

    fake_server.script(
        openai_tool_calls(("population", {"city": "Oslo"})), openai_text("700000"),
        openai_stream(["a", "b"]),
        error(429, retry_after="0"), openai_text("async ok"),
    )
    assert how_many("Oslo") == 700000
    assert fake_server.requests[1].body["messages"][-1]["role"] == "tool"
    assert list(story("x")) == ["a", "b"]
    assert asyncio.run(aecho("x")) == "async ok"


@needs_litellm
def test_litellm_errors_are_typed(fake_server: FakeLLMServer) -> None:
    llm = litellm_model(fake_server, max_retries=0)

    @by(llm)
    def echo(text: str) -> str:
        """Echo."""

    fake_server.script(error(429, "slow down"))
    with pytest.raises(RateLimitError):
        echo("x")
