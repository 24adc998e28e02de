"""Prompt building: the system and user messages for one ``by llm()`` call.

The parts that depend only on the function (its description, parameter list,
return type and schema) are rendered once per function and output type; a call
only formats its argument values.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

import pydantic_core

from byllm.meaning import FunctionMeaning
from byllm.output import OutputType
from byllm.providers.base import Message
from byllm.schema import type_name

SYSTEM_PROMPT = (
    "You carry out a function whose body is written in plain language. "
    "Read its description, inputs and expected output, then reply with the output only."
)

TEXT_OUTPUT_RULE = "Reply with the text of the result only: no preamble, no quotes, no explanation."
JSON_OUTPUT_RULE = (
    "Reply with a single JSON value that follows the schema below: no prose, no code fence."
)


@dataclass(frozen=True)
class PromptSkeleton:
    """The call-independent parts of a prompt, rendered once per function."""

    system: str
    header: str
    footer: str
    parameter_labels: dict[str, str]
    input_prefixes: dict[str, str]


def format_value(value: Any) -> str:
    """A value as the model sees it: JSON where possible (objects as their fields)."""
    if isinstance(value, str):
        return encode_basestring(value)
    try:
        return pydantic_core.to_json(value, fallback=repr).decode()
    except Exception:  # values Pydantic cannot serialise at all
        return repr(value)


def format_object(instance: Any, excluded: frozenset[str] = frozenset()) -> str:
    """``self`` as the model sees it, without the fields named in ``excluded``."""
    if not excluded:
        return format_value(instance)
    try:
        fields = pydantic_core.to_jsonable_python(instance, fallback=repr)
    except Exception:  # values Pydantic cannot serialise at all
        return repr(instance)
    if isinstance(fields, dict):
        fields = {name: value for name, value in fields.items() if name not in excluded}
    return json.dumps(fields, ensure_ascii=False)


@lru_cache(maxsize=4096)
def prompt_skeleton(meaning: FunctionMeaning, output: OutputType) -> PromptSkeleton:
    """The cached, call-independent parts of the prompt of ``meaning``."""
    header = [f"Function: {meaning.name}"]
    if meaning.description:
        header.append(f"Description: {meaning.description}")
    labels = {}
    for parameter in meaning.parameters:
        label = f"{parameter.name} ({type_name(parameter.annotation)})"
        if parameter.description:
            label += f", {parameter.description}"
        labels[parameter.name] = label
    footer = [f"Output type: {output.name}"]
    if meaning.return_description:
        footer.append(f"Output meaning: {meaning.return_description}")
    if output.is_text:
        footer.append(TEXT_OUTPUT_RULE)
    else:
        footer.append(JSON_OUTPUT_RULE)
        footer.append("Schema: " + json.dumps(output.schema, ensure_ascii=False, separators=(",", ":")))
    return PromptSkeleton(
        system=SYSTEM_PROMPT,
        header="\n".join(header),
        footer="\n".join(footer),
        parameter_labels=labels,
        input_prefixes={name: f"- {label} = " for name, label in labels.items()},
    )


def _media_parts(value: Any) -> list[dict[str, Any]] | None:
    """Message parts of a media argument (anything with ``__llm_parts__``)."""
    render = getattr(value, "__llm_parts__", None)
    return render() if callable(render) else None


def build_messages(
    meaning: FunctionMeaning,
    output: OutputType,
    args: Mapping[str | int, object],
    instance: Any = None,
    context: Mapping[str, Any] | None = None,
    excluded: frozenset[str] = frozenset(),
) -> list[Message]:
    """The system and user messages for one call of ``meaning`` with ``args``.

    ``excluded`` names parameters, fields of ``self`` and context entries left
    out of the prompt (``excl_info``).
    """
    skeleton = prompt_skeleton(meaning, output)
    lines = [skeleton.header]
    media: list[dict[str, Any]] = []
    media_count = 0
    if excluded:
        args = {key: value for key, value in args.items() if key not in excluded}
        if context:
            context = {key: value for key, value in context.items() if key not in excluded}
    if instance is not None:
        lines.append(f"Object (self), a {type(instance).__name__}: {format_object(instance, excluded)}")
    if args:
        lines.append("Inputs:")
        prefixes = skeleton.input_prefixes
        for key, value in args.items():
            prefix = prefixes.get(key) if isinstance(key, str) else None
            parts = _media_parts(value) if hasattr(value, "__llm_parts__") else None
            if parts is not None:
                media_count += 1
                label = skeleton.parameter_labels.get(key, str(key)) if isinstance(key, str) else str(key)
                lines.append(f"- {label} = [attachment {media_count}: {type(value).__name__.lower()}]")
                media.extend(parts)
            else:
                lines.append((prefix or f"- {key} = ") + format_value(value))
    if context:
        lines.append("Context:")
        for name, value in context.items():
            lines.append(f"- {name} = {format_value(value)}")
    lines.append(skeleton.footer)
    text = "\n".join(lines)
    content: Any = [{"type": "text", "text": text}, *media] if media else text
    return [
        {"role": "system", "content": skeleton.system},
        {"role": "user", "content": content},
    ]


def retry_message(feedback: str) -> Message:
    """The user message that asks the model to fix a reply that did not fit."""
    return {"role": "user", "content": f"{feedback}\nReply again with a corrected output only."}
