"""Typed tasks on a small local model: parse failures and accuracy, with and without constrained decoding.

40 ``by llm()`` tasks with checkable answers over int, bool, enum, str, float,
an object and lists, run on SmolLM2-135M-Instruct (``local/smollm2-135m``:
``make .venv/.local-installed``) through one in-process llama.cpp server, whose
OpenAI-compatible endpoint the server presets are pointed at with ``base_url=``:

- ``local/`` with its defaults (constrained decoding is always on there);
- ``llamacpp/``, ``vllm/``, ``ollama/``, ``lmstudio/`` and a plain ``base_url=``
  server with their defaults (JSON-schema mode on: the schema constrains decoding);
- each of those with ``json_mode=False`` (no constrained decoding: the prompt
  describes the value), stopped at 256 tokens so a rambling reply ends.

By default only ``local/`` and ``llamacpp/`` on and off run (about 15 minutes, more under load;
this is what ``bench/run_all.py`` runs); ``--all-presets`` runs all eleven
(about 40-60 minutes on a shared 2-core machine).

A *parse failure* is a call that ends in ``OutputConversionError`` after byllm's
re-asks; *first replies unparsed* counts the first replies that did not fit (and
were re-asked). Accuracy is what the model gets right: byllm controls the shape,
not the knowledge. Temperature 0 and a fixed seed.

Run: ``python bench/typed_tasks.py [--all-presets] [--tasks N] [--only NAME] [--verbose]``.
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


@dataclass(frozen=True)
class Configuration:
    """One way of reaching the in-process model: a preset with its defaults, constrained decoding on or off."""

    name: str
    model_name: str
    constrained: bool
    settings: dict[str, Any]

    def model(self, base_url: str) -> Model:
        """The configured ``Model``; presets other than ``local/`` are pointed at the in-process server."""
        sampling = {"temperature": 0.0, "seed": 1}
        if self.model_name.startswith("local/"):
            return Model(self.model_name, **sampling, **self.settings)
        return Model(self.model_name, base_url=base_url, **sampling, **self.settings)


# Server presets that can be pointed at a local OpenAI-compatible server, by model name.
SERVER_PRESETS = {"llamacpp/": "llamacpp/smollm2", "vllm/": "vllm/smollm2", "ollama/": "ollama/smollm2",
                  "lmstudio/": "lmstudio/smollm2", "base_url=": "smollm2"}
# The default run: the in-process preset and llama.cpp's server preset, constrained and not.
DEFAULT_CONFIGURATIONS = ("local/ (defaults)", "llamacpp/ (defaults)", "llamacpp/ json_mode=False")


# Without a grammar a small model may ramble until the context is full (one call hit the presets' 60 s
# timeout), so the unconstrained runs stop at this many tokens.
UNCONSTRAINED_MAX_TOKENS = 256


def all_configurations() -> list[Configuration]:
    """``local/`` (always constrained: json_mode=False is refused), every server preset, then each of them off."""
    constrained = [Configuration("local/ (defaults)", "local/smollm2-135m", True, {})]
    unconstrained = []
    for preset, model_name in SERVER_PRESETS.items():
        constrained.append(Configuration(f"{preset} (defaults)", model_name, True, {}))
        unconstrained.append(Configuration(f"{preset} json_mode=False", model_name, False,
                                           {"json_mode": False, "max_tokens": UNCONSTRAINED_MAX_TOKENS}))
    return constrained + unconstrained


def start_server() -> str:
    """Start the in-process server for SmolLM2-135M once (the presets share it); its base URL."""
    return Model("local/smollm2-135m").provider.server().base_url


TABLE_HEADER = ("| configuration | constrained decoding | right | parse failures | first replies unparsed "
                "| other errors | s/call |\n|---|---|---:|---:|---:|---:|---:|")


def table_row(configuration: Configuration, outcome: Outcome) -> str:
    """One configuration's Markdown row."""
    return (f"| `{configuration.name}` | {'on' if configuration.constrained else 'off'} "
            f"| {outcome.right}/{outcome.calls} | "
            f"{outcome.parse_failures} ({100 * outcome.parse_failures / outcome.calls:.1f} %) | "
            f"{outcome.first_unparsed} | {outcome.other_errors} | {outcome.seconds / outcome.calls:.2f} |")


def main() -> None:
    """Run the chosen configurations and print the Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tasks", type=int, default=len(TASKS), help="run the first N tasks only")
    parser.add_argument("--all-presets", action="store_true",
                        help="every server preset (vllm/, ollama/, lmstudio/, base_url=) on and off too (~40 min)")
    parser.add_argument("--only", help="run the configurations whose name contains this text")
    parser.add_argument("--verbose", action="store_true", help="print every answer on stderr")
    options = parser.parse_args()
    chosen = [configuration for configuration in all_configurations()
              if (options.all_presets or options.only or configuration.name in DEFAULT_CONFIGURATIONS)
              and (not options.only or options.only in configuration.name)]
    try:
        base_url = start_server()
    except ByLLMError as error:
        print(f"typed_tasks: skipped ({error})")
        return
    tasks = TASKS[: options.tasks]
    print("### Typed tasks on SmolLM2-135M-Instruct (in-process llama.cpp, temperature 0)\n")
    print(TABLE_HEADER, flush=True)
    for configuration in chosen:
        outcome = run_configuration(configuration.name, configuration.model(base_url), tasks, options.verbose)
        print(table_row(configuration, outcome), flush=True)


if __name__ == "__main__":
    main()
