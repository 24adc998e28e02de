"""Model configuration, the mock model, retries, prompts and the Python API."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass

import pytest

import byllm
from byllm.lib import MockExhaustedError, Model, OutputConversionError, by, sem
from byllm.llm import Model as LlmModel
from jaclang.runtimelib.semstr import get_sem


@dataclass
class Person:
    name: str
    age: int


@sem("How a person tends to behave", INTROVERT="prefers being alone", EXTROVERT="loves crowds")
class Personality(enum.Enum):
    INTROVERT = "Introvert"
    EXTROVERT = "Extrovert"


def test_model_is_the_same_class_everywhere() -> None:
    assert byllm.Model is Model is LlmModel


def test_model_name_positional_keyword_and_config_dict() -> None:
    assert Model("gpt-4o-mini").model_name == "gpt-4o-mini"
    keyword = Model(model_name="mockllm", config={"temperature": 0.3}, max_tokens=10)
    assert keyword.model_name == "mockllm"
    assert keyword.param("temperature") == 0.3
    assert keyword.sampling_params() == {"temperature": 0.3, "max_tokens": 10}


def test_calling_a_model_configures_one_call_only() -> None:
    llm = Model("mockllm", temperature=0.1)
    assert llm() is llm
    hot = llm(temperature=0.9, max_tokens=5)
    assert hot.param("temperature") == 0.9
    assert hot.sampling_params() == {"temperature": 0.9, "max_tokens": 5}
    assert llm.param("temperature") == 0.1
    assert hot.model_name == "mockllm"


def test_each_call_option_alone_configures_a_copy_and_none_returns_the_model() -> None:
    import inspect

    from byllm.llm import CALL_OPTIONS

    llm = Model("mockllm", outputs=[])
    options = [name for name, parameter in inspect.signature(Model.__call__).parameters.items()
               if parameter.kind is inspect.Parameter.KEYWORD_ONLY]
    assert options == list(CALL_OPTIONS)
    assert llm() is llm  # what a Jac `by llm()` function evaluates at every call
    for name in options:
        copy = llm(**{name: 0})
        assert copy is not llm and copy.call_params == {name: 0}, name


def test_repr_never_shows_the_api_key() -> None:
    llm = Model("gpt-4o-mini", api_key="sk-secret-123", temperature=0.2)
    assert "sk-secret" not in repr(llm)
    assert "temperature=0.2" in repr(llm)


def test_mock_outputs_are_consumed_in_order() -> None:
    llm = Model("mockllm", outputs=["Bonjour", "Hola"])

    @by(llm)
    def translate(text: str, lang: str = "French") -> str:
        """Translate the text into the language."""

    assert translate("Hello") == "Bonjour"
    assert translate("Hello", lang="Spanish") == "Hola"


def test_exhausted_mock_raises_a_clear_error() -> None:
    llm = Model("mockllm", outputs=["only one"])

    @by(llm)
    def say(topic: str) -> str: ...

    assert say("a") == "only one"
    with pytest.raises(MockExhaustedError, match=r"no output left for call 2: it was given 1 output"):
        say("b")


def test_non_string_mock_output_is_checked_against_the_return_type() -> None:
    llm = Model("mockllm", outputs=[Person("Ada", 36), Personality.EXTROVERT, {"name": "Bo", "age": 5}, 42])

    @by(llm)
    def person() -> Person: ...

    @by(llm)
    def mood() -> Personality: ...

    assert person() == Person("Ada", 36)
    assert mood() is Personality.EXTROVERT
    assert person() == Person("Bo", 5)
    with pytest.raises(OutputConversionError) as caught:
        person()
    assert caught.value.raw_output == 42
    assert caught.value.expected_type is Person


def test_string_mock_output_is_parsed_like_a_provider_reply() -> None:
    llm = Model("mockllm", outputs=["7", '{"name": "Ada", "age": 36}'])

    @by(llm)
    def count(text: str) -> int: ...

    @by(llm)
    def person() -> Person: ...

    assert count("a b c d e f g") == 7
    assert person() == Person("Ada", 36)


def test_a_reply_that_does_not_fit_is_retried_with_the_error_fed_back() -> None:
    llm = Model("mockllm", outputs=["seven", "7"])

    @by(llm)
    def count(text: str) -> int: ...

    assert count("a b c d e f g") == 7
    record = llm.last_call
    assert record is not None
    assert record.replies == ["seven", "7"]
    assert record.retries == 1
    assert [message["role"] for message in record.messages] == ["system", "user", "assistant", "user"]
    assert record.messages[2]["content"] == "seven"
    assert record.messages[3]["content"].startswith("The reply does not fit the type int: value: Input should be a valid integer")


def test_default_is_two_retries_then_output_conversion_error() -> None:
    llm = Model("mockllm", outputs=["a", "b", "c", "9"])

    @by(llm)
    def count() -> int: ...

    with pytest.raises(OutputConversionError) as caught:
        count()
    assert caught.value.attempts == ["a", "b", "c"]
    assert caught.value.raw_output == "c"
    assert llm.provider.remaining == 1


def test_retries_are_configurable_per_model_and_per_call() -> None:
    llm = Model("mockllm", outputs=["x", "y", "5"], retries=0)

    @by(llm)
    def strict() -> int: ...

    @by(llm(retries=1))
    def lenient() -> int: ...

    with pytest.raises(OutputConversionError):
        strict()
    assert lenient() == 5


def test_messages_carry_name_docstring_sem_types_values_and_schema() -> None:
    llm = Model("mockllm", outputs=["INTROVERT"])

    @by(llm(incl_info={"examples": ["quiet -> INTROVERT"]}))
    @sem(text="the diary entry to read")
    def judge(text: str, person: Person) -> Personality:
        """Judge a person's personality from their diary."""

    assert judge("I stayed home", Person("Ada", 36)) is Personality.INTROVERT
    system, user = llm.last_messages
    assert system["role"] == "system" and user["role"] == "user"
    prompt = user["content"]
    for piece in (
        "judge(text: str, person: Person) -> Personality",  # name and types
        "Judge a person's personality from their diary.",  # docstring
        "the diary entry to read",  # parameter sem
        '"I stayed home"',  # values
        '{"name":"Ada","age":36}',
        '["quiet -> INTROVERT"]',  # incl_info
        '"Introvert" | "Extrovert"',  # the schema, as a compact form
        "How a person tends to behave",  # the enum's meaning
        "prefers being alone",  # member sem texts
        "loves crowds",
    ):
        assert piece in prompt, piece
    assert '"title"' not in prompt and '"properties"' not in prompt


def test_prompt_skips_the_schema_when_the_provider_sends_it() -> None:
    from byllm.providers.base import CompletionReply

    class StructuredProvider:
        name = "structured"

        def wants_schema(self, request):  # type: ignore[no-untyped-def]
            return True

        def complete(self, request):  # type: ignore[no-untyped-def]
            return CompletionReply(text='"Introvert"')

    llm = Model("any-model", provider=StructuredProvider())

    @by(llm)
    def judge(text: str) -> Personality: ...

    assert judge("quiet") is Personality.INTROVERT
    prompt = llm.last_messages[1]["content"]
    assert "-> Personality" in prompt
    assert '"Introvert" | "Extrovert"' not in prompt  # the schema travels once, in the request
    assert llm.last_call.attempts[0].messages == llm.last_messages


def test_a_reply_echoing_the_schema_is_re_asked_with_a_pointed_message() -> None:
    llm = Model("mockllm", outputs=['{"type": "object", "properties": {"name": {"type": "string"}}}', '{"name": "Ada", "age": 36}'])

    @by(llm)
    def oldest(group: str) -> Person: ...

    assert oldest("mathematicians") == Person("Ada", 36)
    assert "repeats the description of the type" in llm.last_messages[-1]["content"]


def test_sem_on_dataclass_fields_reaches_the_schema() -> None:
    @sem("A city", pop="population in millions")
    @dataclass
    class City:
        name: str
        pop: float

    llm = Model("mockllm", outputs=['{"name": "Oslo", "pop": 0.7}'])

    @by(llm)
    def biggest(country: str) -> City: ...

    assert biggest("Norway") == City("Oslo", 0.7)
    assert get_sem(City, "pop") == "population in millions"
    prompt = llm.last_messages[1]["content"]
    assert '"pop": number  // population in millions' in prompt
    assert "// A city" in prompt


def test_methods_send_self_and_keep_it_out_of_args() -> None:
    llm = Model("mockllm", outputs=["85.0"])
    seen: list[dict] = []

    class Student:
        def __init__(self, marks: list[int]) -> None:
            self.marks = marks

        @by(llm)
        def average(self) -> float:
            """Average of the marks."""

    from jaclang.runtimelib.machine import hookimpl, plugin_manager

    class Spy:
        @hookimpl(wrapper=True)
        def call_llm(self, model, caller, args):  # type: ignore[no-untyped-def]
            seen.append({"name": caller.__name__, "self": caller.__self__, "args": args})
            return (yield)

    spy = Spy()
    plugin_manager.register(spy)
    try:
        student = Student([80, 90])
        assert student.average() == 85.0
    finally:
        plugin_manager.unregister(spy)
    assert seen == [{"name": "average", "self": student, "args": {}}]
    assert 'Object (self): Student = {"marks": [80, 90]}' in llm.last_messages[1]["content"]


def test_async_functions_are_answered_through_the_hook() -> None:
    llm = Model("mockllm", outputs=["Bonjour", "Hola"])

    @by(llm)
    async def translate(text: str, lang: str) -> str: ...

    async def main() -> list[str]:
        return list(await asyncio.gather(translate("Hello", "French"), translate("Hello", "Spanish")))

    assert sorted(asyncio.run(main())) == ["Bonjour", "Hola"]


def test_verbose_prints_the_messages_and_replies(capsys: pytest.CaptureFixture[str]) -> None:
    llm = Model("mockllm", outputs=["3"], verbose=True)

    @by(llm)
    def add(a: int, b: int) -> int: ...

    assert add(1, 2) == 3
    err = capsys.readouterr().err
    assert "[byllm] test_verbose_prints_the_messages_and_replies.<locals>.add sends:" in err
    assert "--- user ---\nFunction: add(a: int, b: int) -> int\nInputs:\n- a = 1\n- b = 2" in err
    assert "replies: ['3'] -> value: 3" in err


def test_mock_records_each_request() -> None:
    llm = Model("mockllm", outputs=["a", "b"])

    @by(llm)
    def letter(n: int) -> str: ...

    letter(1)
    letter(2)
    requests = llm.provider.requests
    assert [request.messages[1]["content"].splitlines()[2] for request in requests] == ["- n = 1", "- n = 2"]
    assert [record.value for record in llm.history] == ["a", "b"]


def test_mock_keeps_the_latest_hundred_requests() -> None:
    from byllm.providers.mock import REQUEST_LIMIT

    llm = Model("mockllm", outputs=[str(n) for n in range(REQUEST_LIMIT + 30)])

    @by(llm)
    def echo(n: int) -> str: ...

    for n in range(REQUEST_LIMIT + 30):
        echo(n)
    requests = llm.provider.requests
    assert REQUEST_LIMIT == 100 and len(requests) == REQUEST_LIMIT
    sent = [request.messages[1]["content"].splitlines()[2] for request in requests]
    assert sent[0] == "- n = 30" and sent[-1] == f"- n = {REQUEST_LIMIT + 29}"


def test_unresolvable_return_annotation_is_a_configuration_error() -> None:
    from byllm.lib import ConfigurationError

    llm = Model("mockllm", outputs=["x"])

    def broken() -> "NoSuchType": ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigurationError, match="NoSuchType.* cannot be resolved"):
        by(llm)(broken)()


def test_unknown_model_name_is_a_configuration_error() -> None:
    from byllm.lib import ConfigurationError

    @by(Model("nonsense-provider-xyz"))
    def f() -> str: ...

    with pytest.raises(ConfigurationError, match="no provider serves the model 'nonsense-provider-xyz'"):
        f()


def test_repr_masks_header_url_and_credential_like_parameter_secrets() -> None:
    secrets = ("sk-secret-0123456789", "AZURE-KEY-0123456789", "url-pass-0123456789", "token-0123456789")
    llm = Model(
        "gpt-4o",
        api_key=secrets[0],
        headers={"api-key": secrets[1]},
        base_url=f"http://user:{secrets[2]}@gateway.example/v1",
        extra_params={"authorization_token": secrets[3]},
    )
    for shown in (repr(llm), repr(llm(temperature=0.2, extra_params={"x_api_key": secrets[3]}))):
        assert not any(secret in shown for secret in secrets), shown
        assert "gateway.example" in shown and "temperature" not in shown or "0.2" in shown
