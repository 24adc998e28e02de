"""Hostile replies end in a typed mismatch, never a crash, and the limits are the documented ones."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from byllm import reply_json
from byllm.output import ReplyMismatch, output_type
from byllm.reply_json import MAX_DEPTH, ReplyJSONError, fenced_blocks, json_values, loads


@dataclass
class Item:
    name: str
    score: float


NON_TEXT_TYPES = [int, float, bool, list[int], dict[str, int], Item, list[Item], tuple[int, ...]]


@pytest.mark.parametrize("return_type", NON_TEXT_TYPES)
def test_deeply_nested_brackets_are_a_mismatch_not_a_recursion_error(return_type: object) -> None:
    for reply in ("[" * 990, "[" * 5000 + "]" * 5000, '{"a":' * 3000, "Sure: " + "[{" * 2000):
        with pytest.raises(ReplyMismatch):
            output_type(return_type).parse(reply)


def test_nesting_up_to_the_depth_limit_is_read() -> None:
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ReplyJSONError, match="nested deeper"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_the_search_reports_nesting_beyond_the_limit() -> None:
    with pytest.raises(ReplyMismatch, match=f"deeper than {MAX_DEPTH}"):
        output_type(list[int]).parse("Here: " + "[" * 990)


def test_a_reply_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("byllm.output.MAX_REPLY_CHARS", 100)
    with pytest.raises(ReplyMismatch, match="at most 100 are read"):
        output_type(int).parse("1" * 101)
    with pytest.raises(ReplyJSONError, match="at most 10"):
        loads("[1, 2, 3, 4, 5]", max_chars=10)


def test_text_replies_are_not_parsed_so_brackets_are_harmless() -> None:
    assert output_type(str).parse("[" * 5000) == "[" * 5000


def test_loads_refuses_what_json_loads_would_crash_on_or_accept_silently() -> None:
    for text in ("NaN", "[Infinity]", "[" * 100_000, '"\ud800"', "1" * 5000, "[1] trailing"):
        with pytest.raises(ReplyJSONError):
            loads(text)
    assert loads(' {"a": [1, 2.5, null, true]} ') == {"a": [1, 2.5, None, True]}


def test_tool_arguments_style_use_of_loads_is_a_value_error() -> None:
    # Providers catch ValueError around argument decoding; ReplyJSONError is one.
    with pytest.raises(ValueError):
        loads("{" * 10_000)


def test_fenced_blocks_are_found_in_order() -> None:
    text = "a\n```json\n[1]\n```\nb ```{\"x\": 2}``` c ```unclosed"
    assert list(fenced_blocks(text)) == ["[1]\n", '{"x": 2}']


def test_json_values_find_embedded_structures_in_order() -> None:
    text = 'Pick [one: {"x": 1} then [2, 3] and "yes"'
    assert list(json_values(text)) == [{"x": 1}, [2, 3], "x", "yes"]


def test_a_whole_json_reply_is_the_only_candidate() -> None:
    assert list(json_values('[{"a": 1}, "b"]')) == [[{"a": 1}, "b"]]


def test_the_bracket_search_stops_after_its_step_budget() -> None:
    with pytest.raises(ReplyJSONError, match="too many brackets"):
        list(json_values("[}" * 1000, max_steps=100))


def test_json_after_prose_is_found_even_when_large() -> None:
    items = [{"name": f"n{number}", "score": number / 2} for number in range(20_000)]
    reply = "Here are the items you asked for:\n" + json.dumps(items) + "\nAnything else?"
    assert output_type(list[Item]).parse(reply)[-1] == Item("n19999", 9999.5)


def test_floats_must_be_finite_and_booleans_are_not_numbers() -> None:
    for return_type, reply in [(float, "NaN"), (float, "Infinity"), (float, "-Infinity"), (float, '"nan"'),
                               (float, "1e999"), (float, "true"), (int, "true"), (int, "false"),
                               (list[int], "[1, true]"), (Item, '{"name": "a", "score": true}'),
                               (Item, '{"name": "a", "score": NaN}')]:
        with pytest.raises(ReplyMismatch):
            output_type(return_type).parse(reply)


def test_numbers_written_as_strings_are_still_accepted() -> None:
    assert output_type(int).parse('"7"') == 7
    assert output_type(float).parse('"2.5"') == 2.5
    assert output_type(Item).parse('{"name": "a", "score": "3"}') == Item("a", 3.0)


def test_a_huge_wrong_list_costs_one_error() -> None:
    reply = json.dumps(["x"] * 200_000)
    with pytest.raises(ReplyMismatch) as caught:
        output_type(list[int]).parse(reply)
    assert caught.value.feedback.count("Input should be") == 1


def test_limits_are_module_constants() -> None:
    assert reply_json.MAX_REPLY_CHARS == 64 * 1024 * 1024
    assert reply_json.MAX_DEPTH == 201
