"""The OpenAI-compatible provider, through the real ``openai`` SDK against the fake server."""

from __future__ import annotations

import enum
import subprocess
import sys
from dataclasses import dataclass

import pytest

from byllm.lib import AuthenticationError, ConfigurationError, Model, by
from byllm.providers.clients import client_count
from fake_server import FakeLLMServer, error, openai_json, openai_text

KEY = "sk-test-abcdefghijklmnop"


@dataclass
class Person:
    name: str
    age: int


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


def ask_person(llm: Model):
    @by(llm)
    def make_person(description: str) -> Person:
        """Make a person from a description."""

    return make_person


def test_text_reply_goes_through_the_sdk_with_prefix_stripped_and_key_sent(fake_server: FakeLLMServer) -> None:
    llm = Model("openai/gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm)
    def greet(name: str) -> str:
        """Greet someone."""

    fake_server.script(openai_text("  Hello, Ada!  "))
    assert greet("Ada") == "Hello, Ada!"
    request = fake_server.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "gpt-4o-mini"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert [message["role"] for message in request.body["messages"]] == ["system", "user"]
    assert 'name = "Ada"' in request.body["messages"][1]["content"]
    assert "response_format" not in request.body  # text output needs no schema


def test_openai_names_send_the_return_schema_as_response_format(monkeypatch: pytest.MonkeyPatch,
                                                                fake_server: FakeLLMServer) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.openai_url)
    llm = Model("gpt-4o-mini", json_mode=True)
    fake_server.script(openai_json({"name": "Ada", "age": 36}))
    assert ask_person(llm)("a mathematician") == Person("Ada", 36)
    body = fake_server.requests[0].body
    response_format = body["response_format"]
    assert response_format["type"] == "json_schema"
    assert response_format["json_schema"]["name"] == "make_person"
    assert response_format["json_schema"]["strict"] is False
    assert response_format["json_schema"]["schema"]["required"] == ["name", "age"]
    assert fake_server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_json_mode_defaults_on_for_every_openai_compatible_server(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Model("gpt-4o-mini", api_key=KEY).provider.json_mode is True
    assert Model("openai/gpt-4o", api_key=KEY).provider.json_mode is True
    assert Model("groq/llama-3.3-70b").provider.json_mode is True
    assert Model("my-model", base_url="http://127.0.0.1:9/v1").provider.json_mode is True
    assert Model("my-model", base_url="http://127.0.0.1:9/v1", json_mode=False).provider.json_mode is False
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert Model("gpt-4o-mini", api_key=KEY).provider.json_mode is True


def test_non_object_return_types_are_wrapped_in_the_schema_and_unwrapped_in_the_reply(
    fake_server: FakeLLMServer,
) -> None:
    llm = Model("openai/gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, json_mode=True)

    @by(llm)
    def moods(text: str) -> list[Mood]:
        """The moods in a text."""

    fake_server.script(openai_json({"value": ["happy", "SAD"]}))
    assert moods("up and down") == [Mood.HAPPY, Mood.SAD]
    schema = fake_server.requests[0].body["response_format"]["json_schema"]["schema"]
    assert schema["type"] == "object" and schema["required"] == ["value"]
    assert schema["properties"]["value"]["type"] == "array"
    assert "Mood" in schema["$defs"]


def test_custom_server_with_json_mode_off_relies_on_the_prompt_schema(fake_server: FakeLLMServer) -> None:
    llm = Model("qwen2.5-7b", base_url=fake_server.openai_url, json_mode=False)
    fake_server.script(openai_text('Sure: {"name": "Bo", "age": 7}'))
    assert ask_person(llm)("a child") == Person("Bo", 7)
    request = fake_server.requests[0]
    assert request.body["model"] == "qwen2.5-7b"
    assert "response_format" not in request.body
    assert '"age"' in request.body["messages"][1]["content"]  # the schema is described in the prompt
    # No key configured: a placeholder is sent, never an OPENAI_API_KEY from the environment.
    assert request.headers["authorization"] == "Bearer not-needed"


def test_environment_key_is_not_sent_to_an_arbitrary_base_url(monkeypatch: pytest.MonkeyPatch,
                                                              fake_server: FakeLLMServer) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    llm = Model("local-model", base_url=fake_server.openai_url)
    fake_server.script(openai_text("ok"))
    ask = by(llm)(_echo)
    assert ask("x") == "ok"
    assert KEY not in fake_server.requests[0].headers["authorization"]


def _echo(text: str) -> str:
    """Echo the text."""


def test_ollama_prefix_uses_its_default_url_and_env_override(monkeypatch: pytest.MonkeyPatch,
                                                            fake_server: FakeLLMServer) -> None:
    assert Model("ollama/llama3.2").provider.base_url == "http://localhost:11434/v1"
    monkeypatch.setenv("OLLAMA_BASE_URL", fake_server.openai_url)
    llm = Model("ollama/llama3.2")
    fake_server.script(openai_text("pong"))
    assert by(llm)(_echo)("ping") == "pong"
    assert fake_server.requests[0].body["model"] == "llama3.2"


def test_sampling_parameters_reach_the_server_known_and_unknown(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, temperature=0.2)
    fake_server.script(openai_text("ok"))
    ask = by(llm(max_tokens=50, extra_params={"top_k": 5}, seed=3))(_echo)
    assert ask("x") == "ok"
    body = fake_server.requests[0].body
    assert (body["temperature"], body["max_tokens"], body["seed"]) == (0.2, 50, 3)
    assert body["top_k"] == 5  # not an OpenAI parameter: sent in the body for servers that take it


def test_configured_headers_are_sent(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, headers={"X-Team": "search"})
    fake_server.script(openai_text("ok"))
    by(llm)(_echo)("x")
    assert fake_server.requests[0].headers["x-team"] == "search"


def test_usage_and_raw_reply_are_recorded(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)
    fake_server.script(openai_text("ok", usage=(21, 4)))
    by(llm)(_echo)("x")
    record = llm.last_call
    assert (record.usage.input_tokens, record.usage.output_tokens) == (21, 4)
    assert record.value == "ok"


def test_reply_that_does_not_fit_is_asked_again_over_http(fake_server: FakeLLMServer) -> None:
    llm = Model("my-model", base_url=fake_server.openai_url, retries=1)
    fake_server.script(openai_text("a person named Al"), openai_json({"name": "Al", "age": 40}))
    assert ask_person(llm)("x") == Person("Al", 40)
    second = fake_server.requests[1].body["messages"]
    assert second[-2] == {"role": "assistant", "content": "a person named Al"}
    assert "does not fit the type Person" in second[-1]["content"]


def test_clients_are_cached_per_base_url_and_key(fake_server: FakeLLMServer) -> None:
    fake_server.script(*[openai_text("ok") for _ in range(4)])
    before = client_count()
    first = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)
    second = Model("gpt-4o", base_url=fake_server.openai_url, api_key=KEY)
    by(first)(_echo)("a")
    by(first)(_echo)("b")
    by(second)(_echo)("c")
    assert client_count() == before + 1
    third = Model("gpt-4o", base_url=fake_server.openai_url, api_key=KEY + "-other")
    by(third)(_echo)("d")
    assert client_count() == before + 2


def test_missing_openai_key_is_a_clear_configuration_error() -> None:
    llm = Model("gpt-4o-mini")
    with pytest.raises(ConfigurationError, match="OPENAI_API_KEY"):
        by(llm)(_echo)("x")


def test_api_key_never_appears_in_reprs_or_errors(fake_server: FakeLLMServer) -> None:
    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)
    assert KEY not in repr(llm)
    assert KEY not in repr(llm.provider)
    fake_server.script(error(401, f"Incorrect API key provided: {KEY}"))
    with pytest.raises(AuthenticationError) as raised:
        by(llm)(_echo)("x")
    assert KEY not in str(raised.value)
    assert raised.value.status == 401
    assert "Incorrect API key provided" in str(raised.value)


def test_no_sdk_is_imported_until_the_first_real_call() -> None:
    script = (
        "import sys\n"
        "from byllm.lib import Model\n"
        "model = Model('gpt-4o-mini', api_key='sk-x')\n"
        "model.provider\n"
        "Model('anthropic/claude-3-5-haiku-latest', api_key='k').provider\n"
        "print(sorted(name for name in ('openai', 'anthropic', 'litellm') if name in sys.modules))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"


def test_async_clients_are_reused_within_a_loop_and_closed_with_it(fake_server: FakeLLMServer) -> None:
    import asyncio

    from byllm.providers.clients import async_loop_count

    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY)

    @by(llm)
    async def echo(text: str) -> str:
        """Echo the text."""

    async def three_calls() -> list[str]:
        answers = [await echo("a"), await echo("b"), await echo("c")]
        assert async_loop_count() == 1  # one loop, one cached client for this base URL and key
        return answers

    fake_server.script(*[openai_text("ok") for _ in range(6)])
    assert asyncio.run(three_calls()) == ["ok"] * 3
    assert async_loop_count() == 0  # closed with its loop, not kept for a dead loop
    assert asyncio.run(three_calls()) == ["ok"] * 3
    assert async_loop_count() == 0


def test_strict_json_mode_closes_every_object_and_requires_every_field(fake_server: FakeLLMServer) -> None:
    @dataclass
    class Team:
        lead: Person
        members: list[Person]
        motto: str = "ship it"

    llm = Model("gpt-4o-mini", base_url=fake_server.openai_url, api_key=KEY, json_mode="strict")

    @by(llm)
    def make_team(description: str) -> Team:
        """Make a team."""

    fake_server.script(openai_json({"lead": {"name": "A", "age": 1}, "members": [], "motto": "go"}))
    assert make_team("x") == Team(Person("A", 1), [], "go")
    response_format = fake_server.requests[0].body["response_format"]["json_schema"]
    assert response_format["strict"] is True
    schema = response_format["schema"]
    assert schema["required"] == ["lead", "members", "motto"]
    assert schema["additionalProperties"] is False
    assert "default" not in schema["properties"]["motto"]
    assert schema["$defs"]["Person"]["additionalProperties"] is False


def test_a_reply_that_is_not_a_chat_completion_is_a_clear_provider_error(fake_server: FakeLLMServer) -> None:
    from fake_server import openai_stream

    from byllm.lib import ProviderError

    llm = Model("my-model", base_url=fake_server.openai_url, max_retries=0)
    fake_server.script(openai_stream(["not", "expected"]))  # an SSE body where JSON was asked for
    with pytest.raises(ProviderError, match="not a chat completion"):
        by(llm)(_echo)("x")
