"""Replies written in Python's notation: read from the syntax tree as data, validated, never evaluated."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import pytest

from byllm.lib import Model, by
from byllm.output import ReplyMismatch, output_type
from byllm.reply_python import MAX_CHARS, NOT_A_LITERAL, python_value


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


@dataclass
class Person:
    name: str
    age: int
    mood: Mood = Mood.HAPPY


@pytest.mark.parametrize(
    ("text", "data"),
    [
        ("{'a': 1, 'b': [True, None, -2.5]}", {"a": 1, "b": [True, None, -2.5]}),
        ("(1, 'x')", [1, "x"]),
        ("{1, 2}", [1, 2]),
        ("Mood.SAD", "SAD"),
        ("mood.Mood.SAD", "SAD"),
        ("INTROVERT", "INTROVERT"),
        ("Person(name='Ada', age=36)", {"name": "Ada", "age": 36}),
        ("[Person(name='A', age=1, mood=Mood.SAD)]", [{"name": "A", "age": 1, "mood": "SAD"}]),
        ("{Mood.SAD: 2}", {"SAD": 2}),
    ],
)
def test_literals_become_plain_data(text: str, data: object) -> None:
    assert python_value(text) == data


@pytest.mark.parametrize(
    "text",
    [
        '__import__("os").system("echo owned")',  # a call with a positional argument
        "open('/etc/passwd').read()",  # an attribute of a call
        "1 + 1",
        "[x for x in range(3)]",
        "lambda: 1",
        "Person(**{'name': 'A'})",
        "{**other}",
        "{[1]: 2}",
        "b'bytes'",
        "1j",
        "...",
        "-'text'",
        "a = 1",
        "",
        "(" * 5000 + ")" * 5000,
        "[" * 100 + "]" * 100,
        "1\x00",
        "x" * (MAX_CHARS + 1),
    ],
)
def test_anything_that_is_not_a_literal_is_refused_without_running(text: str) -> None:
    assert python_value(text) is NOT_A_LITERAL


def test_the_return_type_reads_python_notation_when_the_reply_is_not_json() -> None:
    assert output_type(dict[str, int]).parse("{'a': 1}") == {"a": 1}
    assert output_type(Mood).parse("Mood.SAD") is Mood.SAD
    assert output_type(dict[Mood, int]).parse("```python\n{Mood.SAD: 2}\n```") == {Mood.SAD: 2}
    assert output_type(Person).parse("Person(name='Ada', age=36, mood=Mood.SAD)") == Person("Ada", 36, Mood.SAD)


def test_a_literal_of_the_wrong_shape_is_still_a_mismatch_about_the_reply() -> None:
    with pytest.raises(ReplyMismatch, match="does not fit the type Person"):
        output_type(Person).parse("Person('Ada', 36)")


def test_an_escape_sequence_in_a_literal_reply_warns_nothing(recwarn: pytest.WarningsRecorder) -> None:
    assert python_value(r"{'pattern': '\d+'}") == {"pattern": "\\d+"}
    assert not recwarn.list


def test_a_call_answered_in_python_notation_is_not_asked_again() -> None:
    llm = Model("mockllm", outputs=["Person(name='Ada Lovelace', age=36, mood=Mood.SAD)"])

    @by(llm)
    def describe(hint: str) -> Person:
        """The person the hint describes."""

    assert describe("the first programmer") == Person("Ada Lovelace", 36, Mood.SAD)
    assert len(llm.last_call.attempts) == 1
