"""Upstream's ``MockLLM`` and the ``mtllm`` package name: Jac programs written for them run unchanged."""

from __future__ import annotations

import pickle
from typing import Callable

import pytest

from byllm.errors import ConfigurationError, MockExhaustedError
from byllm.lib import MockLLM, Model
from byllm.providers.mock import MockProvider, is_mock_model


def test_a_jac_program_imports_mockllm_beside_model_and_image(run_jac: Callable[..., str]) -> None:
    output = run_jac(
        "import from byllm.lib { Model, MockLLM, Image }\n"
        "obj Person { has name: str, age: int; }\n"
        'glob llm = MockLLM(model_name="mockllm", config={"outputs": ["Bonjour", \'{"name": "Ada", "age": 36}\']});\n'
        'def translate(text: str, lang: str = "French") -> str by llm();\n'
        "def person(hint: str) -> Person by llm(temperature=0.2);\n"
        'with entry { print(translate("Hello")); print(person("a mathematician")); }'
    )
    assert output == "Bonjour\nPerson(name='Ada', age=36)\n"


def test_any_name_is_a_label_answered_offline_and_priced_as_that_model() -> None:
    llm = MockLLM(model_name="gpt-4o-mini", outputs=["7"])

    assert isinstance(llm.provider, MockProvider) and is_mock_model(llm)
    assert llm.invoke(lambda text: None, {"text": "a b"}) == "7"
    assert llm.last_call.model_name == "gpt-4o-mini"
    assert llm.last_call.cost == 0.0  # priced (gpt-4o-mini has a price), zero tokens: not "unpriced" None


def test_the_default_name_is_mockllm_and_the_outputs_may_come_first() -> None:
    llm = MockLLM(outputs=["one"])

    assert llm.model_name == "mockllm"
    assert llm.provider.outputs == ["one"]
    assert repr(llm) == "MockLLM('mockllm', provider='mock')"


def test_call_options_give_a_mockllm_sharing_the_script() -> None:
    llm = MockLLM(outputs=["first", "second"])
    warm = llm(temperature=0.3)

    assert type(warm) is MockLLM and warm.provider is llm.provider
    assert warm.invoke(lambda text: None, {"text": "x"}) == "first"
    assert llm.invoke(lambda text: None, {"text": "x"}) == "second"
    with pytest.raises(MockExhaustedError):
        llm.invoke(lambda text: None, {"text": "x"})


def test_a_mockllm_cannot_be_given_another_provider() -> None:
    with pytest.raises(ConfigurationError, match="always answered by its outputs"):
        MockLLM(outputs=["x"], provider="openai")


def test_provider_mock_serves_any_name_on_a_plain_model() -> None:
    llm = Model("claude-sonnet-4-5", provider="mock", outputs=["hi"])

    assert isinstance(llm.provider, MockProvider)
    assert llm.invoke(lambda: None, {}) == "hi"


def test_a_mockllm_pickles_with_its_class_and_script() -> None:
    copy = pickle.loads(pickle.dumps(MockLLM(model_name="gpt-4o-mini", outputs=["a"])))

    assert type(copy) is MockLLM and copy.model_name == "gpt-4o-mini"
    assert copy.invoke(lambda: None, {}) == "a"


def test_programs_importing_from_mtllm_run_unchanged(run_jac: Callable[..., str]) -> None:
    output = run_jac(
        "import from mtllm { Model }\n"
        "import from mtllm.llm { MockLLM, Image }\n"
        'glob llm = Model(model_name="mockllm", outputs=["Hi"]);\n'
        'glob counter = MockLLM(outputs=["5"]);\n'
        "def greet(name: str) -> str by llm();\n"
        "def count(text: str) -> int by counter();\n"
        'with entry { print(greet("Ada"), count("a b c") + 1, Image.__name__); }'
    )
    assert output == "Hi 6 Image\n"


# -- mtllm.llms: the 2024 model classes ------------------------------------------------------------


def test_a_legacy_fakellm_answers_object_initialisation_in_mtllm_output_form(run_jac: Callable[..., str]) -> None:
    output = run_jac(
        "import:py from mtllm.llms, FakeLLM;\n"
        "glob llm = FakeLLM(default=\"[Output] Person(name='Albert Einstein', dob='14/03/1879', age=76)\");\n"
        "obj Person { has name: str, dob: str, age: int; }\n"
        'with entry { einstein = Person(name="Albert Einstein" by llm()); print(einstein.dob, einstein.age); }'
    )
    assert output == "14/03/1879 76\n"


def test_a_custom_basellm_is_answered_by_its_infer_method(run_jac: Callable[..., str]) -> None:
    output = run_jac(
        "import from mtllm.llms { BaseLLM }\n"
        "obj Scripted(BaseLLM) {\n"
        "    def init { super.__init__(); }\n"
        "    def __infer__(meaning_in: str, **kwargs: dict) {\n"
        '        print("asked about", "get_personality" in meaning_in, kwargs.get("temperature"));\n'
        '        return "[Reasoning] He is shy.\\n[Output] Personality.INTROVERT";\n'
        "    }\n"
        "}\n"
        "glob llm = Scripted();\n"
        "enum Personality { INTROVERT, EXTROVERT }\n"
        'def get_personality(name: str) -> Personality by llm(method="Reason", temperature=0.3);\n'
        'with entry { print(get_personality("Albert Einstein")); }'
    )
    assert output == "asked about True 0.3\nPersonality.INTROVERT\n"


def test_fakellm_replies_by_exact_prompt_and_says_what_it_was_asked() -> None:
    from mtllm.llms import FakeLLM, prompt_text

    probe = FakeLLM(default="unused")
    probe.invoke(lambda text: None, {"text": "hi"})
    prompt = prompt_text(probe.last_call.messages)

    assert FakeLLM(responses={prompt: "[Output] 42"}).invoke(lambda text: None, {"text": "hi"}) == "42"
    with pytest.raises(MockExhaustedError, match="no response for this prompt"):
        FakeLLM().invoke(lambda text: None, {"text": "hi"})


def test_the_hosted_classes_are_byllm_models_of_those_providers() -> None:
    from mtllm.llms import Anthropic, Ollama, OpenAI

    assert OpenAI().model_name == "openai/gpt-4o-mini"
    assert OpenAI(model_name="gpt-4o", temperature=0.2).param("temperature") == 0.2
    assert Anthropic().model_name == "anthropic/claude-3-sonnet-20240229"
    ollama = Ollama(model_name="llama3.2", verbose=True)
    assert ollama.model_name == "ollama/llama3.2" and ollama.provider.name == "ollama"
    assert type(ollama(method="Reason")) is Ollama


def test_a_fakellm_pickles_with_its_script() -> None:
    from mtllm.llms import FakeLLM

    copy = pickle.loads(pickle.dumps(FakeLLM(default="[Output] 5", print_prompt=False)))

    assert copy.invoke(lambda text: None, {"text": "x"}) == "5"
    assert repr(copy) == "FakeLLM('FakeLLM', provider=InferProvider(FakeLLM.__infer__))"
