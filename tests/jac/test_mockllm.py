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
