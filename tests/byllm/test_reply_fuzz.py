"""Seeded fuzzing of reply parsing: any reply gives a value or a documented byllm error, and runs no code."""

from __future__ import annotations

import builtins
import enum
import json
import random
from dataclasses import dataclass, field
from typing import Any, Literal, Optional, TypedDict, Union

import pytest
from pydantic import BaseModel

from byllm.lib import Model, OutputConversionError, by
from byllm.output import ReplyMismatch, output_type

SEED = 20240611
REPLIES_PER_TYPE = 1300  # x 17 return types = 22,100 replies per run


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclass
class Address:
    city: str
    zip_code: str


@dataclass
class Person:
    name: str
    age: int
    colour: Colour = Colour.RED
    addresses: list[Address] = field(default_factory=list)


class Book(BaseModel):
    title: str
    year: int
    rating: float = 0.0


class Point(TypedDict):
    x: int
    y: float


# One example value per return-type family, written as a model would send it.
EXAMPLES: dict[str, tuple[Any, Any]] = {
    "str": (str, "hello"),
    "int": (int, 42),
    "float": (float, 2.5),
    "bool": (bool, True),
    "None": (type(None), None),
    "Enum": (Colour, "RED"),
    "Literal": (Literal["yes", "no", 3], "yes"),
    "dataclass": (Person, {"name": "Ada", "age": 36, "colour": "green", "addresses": [{"city": "L", "zip_code": "W1"}]}),
    "pydantic": (Book, {"title": "Dune", "year": 1965, "rating": 4.5}),
    "TypedDict": (Point, {"x": 1, "y": -2.5}),
    "Optional": (Optional[int], None),
    "Union": (Union[int, list[str]], ["a", "b"]),
    "list": (list[int], [1, 2, 3]),
    "tuple": (tuple[int, str], [1, "a"]),
    "set": (set[str], ["a", "b"]),
    "dict": (dict[str, float], {"a": 1.5, "b": -0.0}),
    "nested": (list[dict[str, list[Person]]], [{"team": [{"name": "B", "age": 2}]}]),
}

FRAGMENTS = [
    "[", "]", "{", "}", '"', "\\", "\\\"", ",", ":", " ", "\n", "```", "```json\n", "NaN", "Infinity", "-Infinity",
    "true", "false", "null", "None", "1e999", "-0", "0.5", "12345678901234567890", "\ud800", "\u2028", "é", "🙂",
    "Sure! Here is the answer:", "I think", "'", "`", "RED", "red", "yes", "__import__('os').system('exit 3')",
    "eval('1')", "${x}", "{{", "}}", "\x00", "\t",
]


def mutate(text: str, rng: random.Random) -> str:
    """One random edit: insert, delete or repeat a slice, wrap in prose or a fence, nest deeply."""
    choice = rng.randrange(8)
    position = rng.randint(0, len(text))
    if choice == 0:
        return text[:position] + rng.choice(FRAGMENTS) + text[position:]
    if choice == 1:
        return text[:position] + text[position + rng.randint(1, 5) :]
    if choice == 2:
        return "Sure, here you go:\n" + text + "\nHope this helps."
    if choice == 3:
        return "```json\n" + text + "\n```"
    if choice == 4:
        opener = rng.choice(["[", "{\"a\":", "[{", "\""])
        return opener * rng.randint(100, 1200) + text
    if choice == 5:
        piece = text[position : position + rng.randint(1, 8)]
        return text[:position] + piece * rng.randint(2, 60) + text[position:]
    if choice == 6:
        return "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40)))
    return text[::-1] if rng.random() < 0.5 else text.upper()


def replies_for(example: Any, rng: random.Random, count: int) -> list[str]:
    """``count`` replies derived from one example value."""
    base = [json.dumps(example), json.dumps(example, indent=2), str(example), repr(example)]
    replies = []
    for _ in range(count):
        reply = rng.choice(base)
        for _ in range(rng.randint(1, 4)):
            reply = mutate(reply, rng)
        replies.append(reply)
    return replies


def forbid_running_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``eval`` and ``exec`` fail the test if parsing ever calls them (set up types first)."""

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("reply parsing evaluated code")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_fuzzed_replies_give_a_value_or_a_mismatch(family: str, monkeypatch: pytest.MonkeyPatch) -> None:
    return_type, example = EXAMPLES[family]
    parser = output_type(return_type)
    parser.parse(json.dumps(example) if return_type is not str else example)  # builds every lazy part
    forbid_running_code(monkeypatch)
    rng = random.Random(f"{SEED}-{family}")
    fitted = 0
    for reply in replies_for(example, rng, REPLIES_PER_TYPE):
        try:
            parser.parse(reply)
            fitted += 1
        except ReplyMismatch as mismatch:
            assert mismatch.feedback
    assert 0 <= fitted <= REPLIES_PER_TYPE


def test_fuzzed_replies_through_a_call_end_in_output_conversion_error(tmp_path: Any) -> None:
    marker = tmp_path / "ran"
    payload = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    rng = random.Random(SEED)
    for family in sorted(EXAMPLES):
        return_type, example = EXAMPLES[family]
        replies = replies_for(example, rng, 30) + [payload, "[" * 990, "{" * 990 + payload]
        llm = Model("mockllm", outputs=replies, retries=0)

        def ask(question: str):  # type: ignore[no-untyped-def]
            """Answer the question."""

        ask.__annotations__["return"] = return_type
        function = by(llm)(ask)
        for reply in replies:
            try:
                function("q")
            except OutputConversionError as error:
                assert error.raw_output == reply
    assert not marker.exists()
