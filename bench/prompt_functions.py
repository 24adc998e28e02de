"""The bench's five by-llm functions: a docstring, sem texts, an obj return, an enum, a list, a method.

Shared by bench/bench_prompts.py (prompt sizes in tokens) and docs/prompts.md
(what the model receives for each).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from byllm.lib import Model, by, sem

llm = Model("mockllm")


@sem("A person known for their work", born="year of birth", field_of_work="what they are known for")
@dataclass
class Person:
    name: str
    born: int
    field_of_work: str


@sem("How a person recharges", INTROVERT="prefers time alone", EXTROVERT="draws energy from others")
class Personality(Enum):
    INTROVERT = "Introvert"
    EXTROVERT = "Extrovert"


@dataclass
class City:
    name: str
    population: int


@by(llm)
def translate(text: str, lang: str = "French") -> str:
    """Translate the text into the language."""


@by(llm)
@sem(field="a field of science")
def famous_scientist(field: str) -> Person:
    """Name a famous scientist of the field."""


@by(llm)
@sem(diary="a diary entry written by the person")
def judge_personality(diary: str) -> Personality: ...


@by(llm)
def largest_cities(country: str, count: int) -> list[City]:
    """The country's largest cities, largest first."""


@dataclass
class Student:
    """A student and the marks of their exams."""

    name: str
    marks: list[int] = field(default_factory=list)

    @by(llm)
    def average_mark(self) -> float:
        """The average of the student's marks."""


def calls() -> list[tuple[str, object, tuple]]:
    """Each function with the arguments of its bench call."""
    return [
        ("translate", translate, ("Good morning",)),
        ("famous_scientist", famous_scientist, ("chemistry",)),
        ("judge_personality", judge_personality, ("Stayed in with a book all weekend.",)),
        ("largest_cities", largest_cities, ("Japan", 3)),
        ("Student.average_mark", Student("Ada", [80, 91, 77]).average_mark, ()),
    ]


REPLIES = [
    "Bonjour",
    '{"name": "Marie Curie", "born": 1867, "field_of_work": "radioactivity"}',
    "INTROVERT",
    '[{"name": "Tokyo", "population": 37000000}, {"name": "Osaka", "population": 19000000}, '
    '{"name": "Nagoya", "population": 9000000}]',
    "82.67",
]


def prompts() -> dict[str, list[dict]]:
    """The messages each function sends, as the mock model received them."""
    llm.provider.outputs.extend(REPLIES)
    start = len(llm.provider.requests)
    for _name, function, arguments in calls():
        function(*arguments)
    received = llm.provider.requests[start:]
    return {name: request.messages for (name, _f, _a), request in zip(calls(), received)}
