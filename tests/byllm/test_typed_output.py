"""Replies are turned into every supported return type, tolerating what models really send."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal, Optional, TypedDict, Union

import pytest
from pydantic import BaseModel

from byllm.lib import Model, OutputConversionError, by


class Personality(enum.Enum):
    INTROVERT = "Introvert"
    EXTROVERT = "Extrovert"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Address:
    city: str
    zip_code: str


@dataclass
class Person:
    name: str
    age: int
    personality: Personality = Personality.INTROVERT
    addresses: list[Address] = field(default_factory=list)


class Book(BaseModel):
    title: str
    year: int


class Point(TypedDict):
    x: int
    y: int


def answer(return_type: object, reply: object) -> object:
    """Ask a fresh function returning ``return_type``; the mock replies ``reply``."""
    llm = Model("mockllm", outputs=[reply], retries=0)

    def ask(question: str):  # type: ignore[no-untyped-def]
        """Answer the question."""

    ask.__annotations__["return"] = return_type
    return by(llm)(ask)("q")


@pytest.mark.parametrize(
    ("return_type", "reply", "expected"),
    [
        (str, "  Bonjour \n", "Bonjour"),
        (int, "7", 7),
        (int, " 42 ", 42),
        (int, '"7"', 7),
        (float, "3.5", 3.5),
        (float, "2", 2.0),
        (bool, "true", True),
        (bool, "False", False),
        (type(None), "null", None),
        (type(None), "None", None),
        (Literal["yes", "no"], "yes", "yes"),
        (Literal["yes", "no"], '"no"', "no"),
        (Literal[1, 2], "2", 2),
        (Optional[int], "null", None),
        (Optional[int], "5", 5),
        (Union[int, str], "5", 5),
        (list[int], "[1, 2, 3]", [1, 2, 3]),
        (tuple[int, str], '[1, "a"]', (1, "a")),
        (tuple[int, ...], "[1, 2]", (1, 2)),
        (set[str], '["a", "b", "a"]', {"a", "b"}),
        (dict[str, int], '{"a": 1, "b": 2}', {"a": 1, "b": 2}),
        (list[list[int]], "[[1], [2, 3]]", [[1], [2, 3]]),
        (Point, '{"x": 1, "y": 2}', {"x": 1, "y": 2}),
        (Book, '{"title": "Dune", "year": 1965}', Book(title="Dune", year=1965)),
    ],
)
def test_reply_is_converted_to_the_declared_type(return_type: object, reply: str, expected: object) -> None:
    result = answer(return_type, reply)
    assert result == expected
    assert type(result) is type(expected)


def test_enum_reply_is_parsed_by_member_name() -> None:
    assert answer(Personality, "INTROVERT") is Personality.INTROVERT


def test_enum_reply_is_parsed_by_value() -> None:
    assert answer(Personality, '"Extrovert"') is Personality.EXTROVERT
    assert answer(Personality, "Extrovert") is Personality.EXTROVERT


def test_enum_reply_tolerates_case_quotes_and_a_full_stop() -> None:
    assert answer(Personality, "'extrovert'.") is Personality.EXTROVERT
    assert answer(Level, "HIGH") is Level.HIGH
    assert answer(Level, "1") is Level.LOW


def test_dataclass_reply_is_built_with_nested_objects_and_enums() -> None:
    reply = (
        '{"name": "Ada", "age": 36, "personality": "EXTROVERT", '
        '"addresses": [{"city": "London", "zip_code": "W1"}]}'
    )
    assert answer(Person, reply) == Person("Ada", 36, Personality.EXTROVERT, [Address("London", "W1")])


def test_list_of_dataclasses_with_enum_values() -> None:
    reply = '[{"name": "A", "age": 1, "personality": "Introvert"}, {"name": "B", "age": 2}]'
    assert answer(list[Person], reply) == [Person("A", 1), Person("B", 2)]


def test_json_inside_a_code_fence_is_found() -> None:
    reply = 'Here you go:\n```json\n{"title": "Emma", "year": 1815}\n```\nEnjoy!'
    assert answer(Book, reply) == Book(title="Emma", year=1815)


def test_json_after_a_line_of_prose_is_found() -> None:
    reply = 'Sure! The point is {"x": 3, "y": -4} as requested.'
    assert answer(Point, reply) == {"x": 3, "y": -4}


def test_list_after_prose_is_found() -> None:
    assert answer(list[int], "The numbers are: [4, 5, 6]") == [4, 5, 6]


def test_dict_keyed_by_enum_members() -> None:
    assert answer(dict[Personality, int], '{"INTROVERT": 2, "Extrovert": 3}') == {
        Personality.INTROVERT: 2,
        Personality.EXTROVERT: 3,
    }


def test_reply_that_never_fits_raises_with_the_raw_output() -> None:
    with pytest.raises(OutputConversionError) as caught:
        answer(int, "seven")
    error = caught.value
    assert error.raw_output == "seven"
    assert error.expected_type is int
    assert error.attempts == ["seven"]
    assert "does not fit the return type int" in str(error)


def test_model_output_is_never_evaluated(tmp_path) -> None:
    marker = tmp_path / "pwned"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    with pytest.raises(OutputConversionError):
        answer(list[int], payload)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("return_type", "reply"),
    [(float, "NaN"), (float, "Infinity"), (float, "true"), (int, "true"), (list[int], "[1, false]")],
)
def test_non_finite_floats_and_booleans_as_numbers_are_refused(return_type: object, reply: str) -> None:
    with pytest.raises(OutputConversionError):
        answer(return_type, reply)


def test_deeply_nested_reply_ends_in_output_conversion_error() -> None:
    with pytest.raises(OutputConversionError) as caught:
        answer(list[int], "[" * 990)
    assert caught.value.raw_output == "[" * 990
