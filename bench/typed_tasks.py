"""Typed tasks on a small local model: parse failures and accuracy, with and without constrained decoding.

40 ``by llm()`` tasks with checkable answers over int, bool, enum, str, float,
an object and lists, run on SmolLM2-135M-Instruct (``local/smollm2-135m``:
``make .venv/.local-installed``) in four configurations of the same in-process
llama.cpp server:

- ``local/`` preset, its defaults (the schema constrains decoding, hints on);
- ``llamacpp/`` preset pointed at that server, its defaults;
- any OpenAI-compatible server by ``base_url=``, its defaults;
- ``llamacpp/`` with ``json_mode=False`` (no constrained decoding: the prompt describes the value).

A *parse failure* is a call that ends in ``OutputConversionError`` after byllm's
re-asks; *first replies unparsed* counts the first replies that did not fit (and
were re-asked). Accuracy is what the model gets right: byllm controls the shape,
not the knowledge. Temperature 0 and a fixed seed.

Run: ``python bench/typed_tasks.py [--tasks N] [--only NAME]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from byllm.errors import ByLLMError, OutputConversionError
from byllm.lib import Model, by, sem


class Sentiment(Enum):
    POSITIVE = "positive"
    NEGATIVE = "negative"


@sem("A primary colour of light or paint")
class Colour(Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"
    YELLOW = "yellow"


class Animal(Enum):
    MAMMAL = "mammal"
    BIRD = "bird"
    FISH = "fish"


@dataclass
class Person:
    name: str
    age: int


@dataclass
class Point:
    x: int
    y: int


def functions(llm: Model) -> dict[str, Callable[..., Any]]:
    """The bench's typed functions, bound to ``llm``."""

    @by(llm)
    def add(a: int, b: int) -> int:
        """The sum of a and b."""

    @by(llm)
    def subtract(a: int, b: int) -> int:
        """a minus b."""

    @by(llm)
    def word_count(sentence: str) -> int:
        """How many words the sentence has."""

    @by(llm)
    def is_even(number: int) -> bool:
        """Whether the number is even."""

    @by(llm)
    def is_capital(city: str, country: str) -> bool:
        """Whether the city is the capital of the country."""

    @by(llm)
    def sentiment(review: str) -> Sentiment:
        """The sentiment of the review."""

    @by(llm)
    def colour_of(thing: str) -> Colour:
        """The usual colour of the thing."""

    @by(llm)
    def animal_class(animal: str) -> Animal:
        """The class the animal belongs to."""

    @by(llm)
    def capital_of(country: str) -> str:
        """The capital city of the country, its name only."""

    @by(llm)
    def opposite(word: str) -> str:
        """The opposite of the word, one word."""

    @by(llm)
    def half(number: float) -> float:
        """Half of the number."""

    @by(llm)
    def double(number: float) -> float:
        """Twice the number."""

    @by(llm)
    def extract_person(sentence: str) -> Person:
        """The person the sentence is about: name and age."""

    @by(llm)
    def point(x: int, y: int) -> Point:
        """The point with these coordinates."""

    @by(llm)
    def first_numbers(count: int) -> list[int]:
        """The first whole numbers from 1 up, as many as count."""

    @by(llm)
    def words_of(sentence: str) -> list[str]:
        """The words of the sentence, in order."""

    return {function.__name__: function for function in (
        add, subtract, word_count, is_even, is_capital, sentiment, colour_of, animal_class, capital_of, opposite,
        half, double, extract_person, point, first_numbers, words_of)}


# (function, arguments, expected answer)
TASKS: list[tuple[str, tuple, Any]] = [
    ("add", (2, 3), 5), ("add", (10, 20), 30), ("add", (7, 8), 15), ("add", (100, 1), 101),
    ("subtract", (9, 4), 5), ("subtract", (20, 5), 15), ("subtract", (50, 25), 25),
    ("word_count", ("the cat sat",), 3), ("word_count", ("hello world",), 2),
    ("is_even", (4,), True), ("is_even", (7,), False), ("is_even", (10,), True),
    ("is_capital", ("Paris", "France"), True), ("is_capital", ("Berlin", "Spain"), False),
    ("is_capital", ("Tokyo", "Japan"), True),
    ("sentiment", ("I loved this film, it was wonderful!",), Sentiment.POSITIVE),
    ("sentiment", ("Terrible food and rude staff. Never again.",), Sentiment.NEGATIVE),
    ("sentiment", ("Great value, I am very happy with it.",), Sentiment.POSITIVE),
    ("sentiment", ("It broke after one day, awful.",), Sentiment.NEGATIVE),
    ("colour_of", ("grass",), Colour.GREEN), ("colour_of", ("a ripe tomato",), Colour.RED),
    ("colour_of", ("the clear sky",), Colour.BLUE), ("colour_of", ("a banana",), Colour.YELLOW),
    ("animal_class", ("dog",), Animal.MAMMAL), ("animal_class", ("eagle",), Animal.BIRD),
    ("animal_class", ("salmon",), Animal.FISH),
    ("capital_of", ("France",), "Paris"), ("capital_of", ("Italy",), "Rome"), ("capital_of", ("Japan",), "Tokyo"),
    ("opposite", ("hot",), "cold"), ("opposite", ("up",), "down"),
    ("half", (10.0,), 5.0), ("half", (3.0,), 1.5), ("double", (2.5,), 5.0),
    ("extract_person", ("Alice is 30 years old.",), Person("Alice", 30)),
    ("extract_person", ("Bob, aged 45, lives in Leeds.",), Person("Bob", 45)),
    ("point", (3, 4), Point(3, 4)),
    ("first_numbers", (3,), [1, 2, 3]), ("first_numbers", (5,), [1, 2, 3, 4, 5]),
    ("words_of", ("red green blue",), ["red", "green", "blue"]),
]


def correct(answer: Any, expected: Any) -> bool:
    """Whether an answer counts as right: strings ignore case, spaces and a final full stop; floats 1 %."""
    if isinstance(expected, str):
        return isinstance(answer, str) and answer.strip().rstrip(".").lower() == expected.lower()
    if isinstance(expected, float):
        return isinstance(answer, (int, float)) and math.isclose(answer, expected, rel_tol=0.01)
    if isinstance(expected, list) and expected and isinstance(expected[0], str):
        return isinstance(answer, list) and [str(item).lower() for item in answer] == expected
    if isinstance(expected, Person):
        return isinstance(answer, Person) and answer.name.strip().lower() == expected.name.lower() and \
            answer.age == expected.age
    return answer == expected


@dataclass
class Outcome:
    """One configuration's results."""

    name: str
    calls: int = 0
    right: int = 0
    parse_failures: int = 0
    other_errors: int = 0
    first_unparsed: int = 0
    seconds: float = 0.0


def run_configuration(name: str, llm: Model, tasks: list[tuple[str, tuple, Any]], verbose: bool) -> Outcome:
    """Every task once through ``llm``."""
    bound = functions(llm)
    outcome = Outcome(name)
    started = time.perf_counter()
    for function_name, arguments, expected in tasks:
        outcome.calls += 1
        try:
            answer = bound[function_name](*arguments)
        except OutputConversionError as error:
            outcome.parse_failures += 1
            answer = f"<parse failure: {str(error)[:120]}>"
        except ByLLMError as error:
            outcome.other_errors += 1
            answer = f"<{type(error).__name__}: {str(error)[:120]}>"
        else:
            outcome.right += correct(answer, expected)
        record = llm.last_call
        if record is not None and len(record.attempts) > 1:
            outcome.first_unparsed += 1
        if verbose:
            print(f"  {name:28} {function_name}{arguments!r:40.40} -> {answer!r:.80}", file=sys.stderr)
    outcome.seconds = time.perf_counter() - started
    return outcome


def configurations() -> list[tuple[str, Model]]:
    """The four ways of reaching the same in-process model (see the module docstring)."""
    sampling = {"temperature": 0.0, "seed": 1}
    local = Model("local/smollm2-135m", **sampling)
    base_url = local.provider.server().base_url  # starts the in-process server once; the others share it
    return [
        ("local/ preset (defaults)", local),
        ("llamacpp/ preset (defaults)", Model("llamacpp/smollm2", base_url=base_url, **sampling)),
        ("base_url= server (defaults)", Model("smollm2", base_url=base_url, **sampling)),
        ("llamacpp/, json_mode=False", Model("llamacpp/smollm2", base_url=base_url, json_mode=False, **sampling)),
    ]


def report(outcomes: list[Outcome]) -> str:
    """The Markdown table of the outcomes."""
    lines = ["| configuration | json_mode | right | parse failures | first replies unparsed | other errors | s/call |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for outcome in outcomes:
        mode = "off" if "json_mode=False" in outcome.name or "base_url" in outcome.name else "on"
        lines.append(
            f"| {outcome.name} | {mode} | {outcome.right}/{outcome.calls} | "
            f"{outcome.parse_failures} ({100 * outcome.parse_failures / outcome.calls:.1f} %) | "
            f"{outcome.first_unparsed} | {outcome.other_errors} | {outcome.seconds / outcome.calls:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=len(TASKS), help="run the first N tasks only")
    parser.add_argument("--only", help="run the configurations whose name contains this text")
    parser.add_argument("--verbose", action="store_true", help="print every answer on stderr")
    options = parser.parse_args()
    try:
        chosen = configurations()
    except ByLLMError as error:
        print(f"typed_tasks: skipped ({error})")
        return
    tasks = TASKS[: options.tasks]
    outcomes = [run_configuration(name, llm, tasks, options.verbose) for name, llm in chosen
                if not options.only or options.only in name]
    print("### Typed tasks on SmolLM2-135M-Instruct (in-process llama.cpp, temperature 0)\n")
    print(report(outcomes))


if __name__ == "__main__":
    main()
