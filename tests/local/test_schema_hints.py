"""Schema hints: bounds read from the real prompt, caps on every array, closed objects."""

from __future__ import annotations

from dataclasses import dataclass, field

from byllm.lib import Model, by, sem
from byllm.schema import json_schema
from byllm.schema_hints import ArrayBound, array_bound, bound_arrays, cap_strings, close_objects, rail_schema
from pydantic import TypeAdapter


def prompt_of(function, *args):
    """The messages byllm builds for one call of ``function`` (through the mock model)."""
    llm = Model("mockllm", outputs=["[]"])
    by(llm)(function)(*args)
    return llm.last_messages


def test_a_count_parameter_asks_for_exactly_that_many_items() -> None:
    def ideas(topic: str, count: int) -> list[str]: ...

    assert array_bound(prompt_of(ideas, "sea", 3)) == ArrayBound(maximum=3, minimum=3)


def test_a_limit_parameter_asks_for_at_most_that_many_items() -> None:
    def ideas(topic: str, limit: int) -> list[str]: ...

    assert array_bound(prompt_of(ideas, "sea", 5)) == ArrayBound(maximum=5)


def test_an_int_parameter_whose_sem_says_how_many_is_a_count() -> None:
    @sem("Ideas about the topic.", k="how many ideas to give")
    def ideas(topic: str, k: int) -> list[str]: ...

    assert array_bound(prompt_of(ideas, "sea", 4)) == ArrayBound(maximum=4, minimum=4)


def test_the_description_can_state_the_number_in_words_or_digits() -> None:
    def three(topic: str) -> list[str]:
        """Name three key ideas of the topic."""

    @sem("List the topic's best ideas, at most 6.")
    def at_most(topic: str) -> list[str]: ...

    assert array_bound(prompt_of(three, "sea")) == ArrayBound(maximum=3)
    assert array_bound(prompt_of(at_most, "sea")) == ArrayBound(maximum=6)


def test_other_int_parameters_and_plain_descriptions_set_no_bound() -> None:
    def events(topic: str, year: int) -> list[str]:
        """Events of the year about the topic."""

    assert array_bound(prompt_of(events, "sea", 1990)) is None


def test_the_bound_goes_on_a_top_level_array_and_the_cap_on_every_other() -> None:
    schema = {"type": "array", "items": {"type": "object", "properties": {"tags": {"type": "array"}}}}
    bounded = bound_arrays(schema, ArrayBound(maximum=3, minimum=3), default_max_items=16)
    assert (bounded["minItems"], bounded["maxItems"]) == (3, 3)
    assert bounded["items"]["properties"]["tags"]["maxItems"] == 16
    assert "maxItems" not in schema  # the function's own schema is never changed


def test_a_declared_maximum_is_kept() -> None:
    schema = {"type": "array", "items": {"type": "string"}, "maxItems": 2}
    assert bound_arrays(schema, ArrayBound(maximum=9), default_max_items=16)["maxItems"] == 2


def test_values_that_look_like_schemas_are_left_alone() -> None:
    schema = {"type": "object", "properties": {"tags": {"type": "array", "default": [{"type": "array"}]}}}
    capped = bound_arrays(schema, None, default_max_items=4)
    assert capped["properties"]["tags"]["default"] == [{"type": "array"}]


@dataclass
class Scientist:
    name: str
    known_for: list[str] = field(default_factory=list)


def test_objects_are_closed_and_every_field_required_including_defaults() -> None:
    closed = close_objects(json_schema(TypeAdapter(list[Scientist])))
    scientist = closed["$defs"]["Scientist"]
    assert scientist["required"] == ["name", "known_for"]
    assert scientist["additionalProperties"] is False


def test_a_field_called_properties_is_not_mistaken_for_a_schema_keyword() -> None:
    schema = {"type": "object", "properties": {"properties": {"type": "string"}}}
    assert close_objects(schema)["properties"] == {"properties": {"type": "string"}}


def test_rail_schema_reads_the_bound_from_the_call() -> None:
    def ideas(topic: str, count: int) -> list[Scientist]: ...

    schema = json_schema(TypeAdapter(list[Scientist]))
    railed = rail_schema(schema, prompt_of(ideas, "sea", 2), default_max_items=16)
    assert (railed["minItems"], railed["maxItems"]) == (2, 2)
    assert railed["$defs"]["Scientist"]["properties"]["known_for"]["maxItems"] == 16


def test_free_text_strings_are_capped_and_constrained_ones_left_alone() -> None:
    schema = {"type": "object", "properties": {
        "name": {"type": "string"}, "code": {"type": "string", "pattern": "^[A-Z]+$"},
        "mood": {"type": "string", "enum": ["happy", "sad"]}, "short": {"type": "string", "maxLength": 5}}}
    capped = cap_strings(schema, 200)["properties"]
    assert capped["name"]["maxLength"] == 200
    assert "maxLength" not in capped["code"] and "maxLength" not in capped["mood"]
    assert capped["short"]["maxLength"] == 5
