"""Schema hints that keep small models on the rails: bounded arrays and closed objects.

A grammar built from a JSON schema guarantees the *shape* of a reply, not that it
ends: a small model inside an unbounded ``list[str]`` may repeat items until the
token limit, and the truncated JSON then fails to parse. These transformations
run when a request is sent (the return type's schema from :mod:`byllm.schema` is
never changed in place):

* :func:`array_bound` reads how many items the function asks for from its
  prompt: an ``int`` parameter named like a count (``count``, ``n``, ...) or a
  limit (``limit``, ``max_items``, ...), or one whose ``sem`` says "how many" /
  "number of"; else a number in the function's description ("three ideas",
  "at most 5").
* :func:`bound_arrays` writes that bound onto a top-level array and a default
  ``maxItems`` cap onto every other array that has none.
* :func:`cap_strings` gives free-text strings a ``maxLength`` (in-process
  models), so a model repeating itself inside one string stops too.
* :func:`close_objects` requires every property and forbids extra ones, so a
  grammar neither lets the model skip a field nor invent keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from byllm.providers.base import Message

# int parameters whose value is how many items to return, exactly ...
COUNT_PARAMETERS = frozenset({"count", "n", "num", "number", "how_many", "num_items", "n_items", "quantity"})
# ... or at most.
LIMIT_PARAMETERS = frozenset({"limit", "max_items", "max_count", "max_results", "top_k", "k", "at_most"})
# A parameter meaning that marks an int as a count, whatever its name.
COUNT_MEANING = re.compile(r"\b(how many|number of)\b", re.IGNORECASE)
# The largest count taken from a prompt; anything larger is left to the default cap.
LARGEST_BOUND = 1000

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
}
_NUMBER = r"(\d{1,3}|" + "|".join(NUMBER_WORDS) + r")"
# "at most 5", "up to ten", "no more than 3"
_AT_MOST = re.compile(r"\b(?:at most|up to|no more than|maximum of|max\.?)\s+" + _NUMBER + r"\b", re.IGNORECASE)
# "three ideas", "exactly 4 short names", "5 items"
_HOW_MANY = re.compile(r"\b(exactly\s+)?" + _NUMBER + r"\s+(?:[A-Za-z-]+\s+){0,2}[A-Za-z-]+s\b", re.IGNORECASE)

# The lines byllm's prompt (byllm.prompt.build_messages) writes for a call: an input
# (``- count = 3``, ``- k (how many to give) = 3``) and the function's meaning.
# tests/local/test_schema_hints.py pins these against the real prompt builder.
_INPUT_LINE = re.compile(
    r"^- (?P<name>\w+)(?: \((?P<label>[^\n]*)\))?(?:, (?P<meaning>[^\n]*?))? = (?P<value>-?\d+)$", re.MULTILINE)
_DESCRIPTION_LINE = re.compile(r"^(?:Meaning|Description|Returns|Output meaning): (?P<text>.*)$", re.MULTILINE)


@dataclass(frozen=True)
class ArrayBound:
    """How many items an array may hold: ``minimum`` (``None`` for any) to ``maximum``."""

    maximum: int
    minimum: int | None = None


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text.lower()]


def _plausible(value: int) -> bool:
    return 0 < value <= LARGEST_BOUND


def prompt_text(messages: list[Message]) -> str:
    """The text of the call's first user message (where byllm writes the function and its inputs)."""
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        return "\n".join(part.get("text", "") for part in content or [] if isinstance(part, dict))
    return ""


def bound_from_inputs(text: str) -> ArrayBound | None:
    """The bound an ``int`` input of the call sets (``count=3`` -> exactly 3, ``limit=5`` -> at most 5)."""
    for match in _INPUT_LINE.finditer(text):
        name, value = match["name"].lower(), int(match["value"])
        if not _plausible(value):
            continue
        meaning = f"{match['label'] or ''} {match['meaning'] or ''}"
        if name in COUNT_PARAMETERS or COUNT_MEANING.search(meaning):
            return ArrayBound(maximum=value, minimum=value)
        if name in LIMIT_PARAMETERS:
            return ArrayBound(maximum=value)
    return None


def bound_from_description(text: str) -> ArrayBound | None:
    """The bound the function's description or output meaning states ("at most 5", "three ideas")."""
    for line in _DESCRIPTION_LINE.finditer(text):
        sentence = line["text"]
        if match := _AT_MOST.search(sentence):
            value = _number(match[1])
            if _plausible(value):
                return ArrayBound(maximum=value)
        if match := _HOW_MANY.search(sentence):
            value = _number(match[2])
            if _plausible(value):
                return ArrayBound(maximum=value, minimum=value if match[1] else None)
    return None


def array_bound(messages: list[Message]) -> ArrayBound | None:
    """How many items the function asks for, read from its prompt; ``None`` when it does not say."""
    text = prompt_text(messages)
    return bound_from_inputs(text) or bound_from_description(text)


def is_array(schema: Any) -> bool:
    """Whether ``schema`` describes a JSON array."""
    return isinstance(schema, dict) and schema.get("type") == "array"


# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_SCHEMA_KEYWORDS = frozenset({"items", "additionalProperties", "not", "contains", "propertyNames"})
_SCHEMA_LIST_KEYWORDS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_MAP_KEYWORDS = frozenset({"properties", "$defs", "definitions", "patternProperties"})


def map_schema(schema: Any, change: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """A copy of ``schema`` with ``change`` applied to every subschema, innermost first.

    Only keywords holding schemas are followed, so values such as ``default``,
    ``enum`` or ``const`` are never mistaken for schemas.
    """
    if not isinstance(schema, dict):
        return schema
    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_KEYWORDS and isinstance(value, dict):
            value = map_schema(value, change)
        elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            value = [map_schema(item, change) for item in value]
        elif key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            value = {name: map_schema(item, change) for name, item in value.items()}
        result[key] = value
    return change(result)


def bound_arrays(schema: Any, bound: ArrayBound | None = None, default_max_items: int | None = None) -> Any:
    """A copy of ``schema``: ``bound`` on a top-level array, ``default_max_items`` on arrays without a maximum.

    A bound the schema already has (``maxItems`` from a Pydantic ``max_length``)
    is kept: the function's declaration is more precise than a prompt.
    """
    top_level_has_maximum = isinstance(schema, dict) and "maxItems" in schema
    result = map_schema(schema, lambda node: _cap_array(node, default_max_items))
    if bound is not None and is_array(result) and not top_level_has_maximum:
        result["maxItems"] = bound.maximum
        if bound.minimum is not None and "minItems" not in schema:
            result["minItems"] = bound.minimum
    return result


def _cap_array(node: dict[str, Any], default_max_items: int | None) -> dict[str, Any]:
    if default_max_items is not None and is_array(node) and "maxItems" not in node:
        node["maxItems"] = max(default_max_items, node.get("minItems", 0))
    return node


def cap_strings(schema: Any, max_length: int | None) -> Any:
    """A copy of ``schema`` where free-text strings hold at most ``max_length`` characters.

    A small model can repeat itself inside one string until the token limit cuts
    the JSON; a grammar with a length closes the string instead. Strings with an
    ``enum``, ``const``, ``format``, ``pattern`` or their own ``maxLength`` are left alone.
    """
    if max_length is None:
        return schema
    return map_schema(schema, lambda node: _cap_string(node, max_length))


def _cap_string(node: dict[str, Any], max_length: int) -> dict[str, Any]:
    if node.get("type") == "string" and not {"maxLength", "enum", "const", "format", "pattern"} & node.keys():
        node["maxLength"] = max(max_length, node.get("minLength", 0))
    return node


def close_objects(schema: Any) -> Any:
    """A copy of ``schema`` whose objects require every property and allow no others.

    Objects used as free-form maps (``dict[str, T]``: no ``properties``, an
    ``additionalProperties`` schema) are left open.
    """
    return map_schema(schema, _close_object)


def _close_object(node: dict[str, Any]) -> dict[str, Any]:
    if isinstance(node.get("properties"), dict):
        node["required"] = list(node["properties"])
        node["additionalProperties"] = False
    return node


def rail_schema(schema: dict[str, Any], messages: list[Message], default_max_items: int | None,
                max_string_length: int | None = None) -> dict[str, Any]:
    """The schema to send for a call: objects closed, arrays bounded from the prompt and capped, strings capped."""
    railed = bound_arrays(close_objects(schema), array_bound(messages), default_max_items)
    return cap_strings(railed, max_string_length)
