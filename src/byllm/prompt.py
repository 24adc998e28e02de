"""Prompt building: the system and user messages for one ``by llm()`` call.

The parts that depend only on the function (its description, parameter list,
return type and schema) are rendered once per function and output type; a call
only formats its argument values.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring
from dataclasses import dataclass
from typing import Any, Mapping

from byllm.meaning import FunctionMeaning
from byllm.output import OutputType
from byllm.providers.base import Message
from byllm.schema import class_meaning, describe_schema, type_name

# Framed as a call to answer, not a function to write: small models otherwise reply with code.
SYSTEM_PROMPT = "Reply with the return value of the function call below, nothing else."

TEXT_RULE = "Reply with the text only."
JSON_RULE = "Reply with JSON only."
JSON_FORM_RULE = "Reply with a JSON value of this form (no prose, no code fence):"


@dataclass(frozen=True)
class PromptSkeleton:
    """The call-independent parts of a prompt, rendered once per function and output form."""

    system: str
    header: str
    footer: str
    parameter_labels: dict[str, str]
    input_prefixes: dict[str, str]


def format_value(value: Any) -> str:
    """A value as the model sees it: JSON where possible (objects as their fields)."""
    if isinstance(value, str):
        return encode_basestring(value)
    import pydantic_core  # not needed, nor imported, while every argument is text

    try:
        return pydantic_core.to_json(value, fallback=repr).decode()
    except Exception:  # values Pydantic cannot serialise at all
        return repr(value)


def format_object(instance: Any, excluded: frozenset[str] = frozenset()) -> str:
    """``self`` as the model sees it, without the fields named in ``excluded``."""
    import pydantic_core

    try:
        fields = pydantic_core.to_jsonable_python(instance, fallback=repr)
    except Exception:  # values Pydantic cannot serialise at all
        return repr(instance)
    if isinstance(fields, str) and hasattr(instance, "__dict__"):  # a plain class: show its attributes
        fields = pydantic_core.to_jsonable_python(
            {name: value for name, value in vars(instance).items() if not name.startswith("_")}, fallback=repr
        )
    if isinstance(fields, dict):
        fields = {name: value for name, value in fields.items() if name not in excluded}
    return json.dumps(fields, ensure_ascii=False)


def prompt_skeleton(meaning: FunctionMeaning, output: OutputType, schema_in_prompt: bool = True) -> PromptSkeleton:
    """The call-independent parts of the prompt of ``meaning``, rendered once and kept on the meaning.

    ``schema_in_prompt`` is false when the provider receives the return type's
    schema itself (structured output): then the prompt names the type only.
    """
    key = (output, schema_in_prompt)
    skeleton = meaning.prompt_parts.get(key)
    if skeleton is None:
        skeleton = meaning.prompt_parts[key] = _render_skeleton(meaning, output, schema_in_prompt)
    return skeleton


def _render_skeleton(meaning: FunctionMeaning, output: OutputType, schema_in_prompt: bool) -> PromptSkeleton:
    signature = ", ".join(f"{parameter.name}: {type_name(parameter.annotation)}" for parameter in meaning.parameters)
    header = [f"Function: {meaning.name}({signature}) -> {output.name}"]
    if meaning.description:
        header.append(f"Meaning: {meaning.description}")
    labels = {}
    for parameter in meaning.parameters:
        labels[parameter.name] = f"{parameter.name} ({parameter.description})" if parameter.description else parameter.name
    footer = []
    if meaning.return_description:
        footer.append(f"Returns: {meaning.return_description}")
    if output.is_text:
        footer.append(TEXT_RULE)
    elif schema_in_prompt and output.schema is not None:
        footer.append(JSON_FORM_RULE)
        footer.append(describe_schema(output.schema))
    else:
        footer.append(JSON_RULE)
    return PromptSkeleton(
        system=SYSTEM_PROMPT,
        header="\n".join(header),
        footer="\n".join(footer),
        parameter_labels=labels,
        input_prefixes={name: f"- {label} = " for name, label in labels.items()},
    )


def object_header(instance: Any, excluded: frozenset[str]) -> list[str]:
    """The lines showing ``self`` to the model: its class's meaning and its fields."""
    cls = type(instance)
    lines = [f"Object (self): {cls.__name__} = {format_object(instance, excluded)}"]
    meaning = class_meaning(cls)
    if meaning:
        lines.append(f"{cls.__name__}: {meaning}")
    return lines


PLAIN_VALUE_TYPES = frozenset({str, int, float, bool, type(None)})  # never media: no attribute lookup needed


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
    schema_in_prompt: bool = True,
) -> list[Message]:
    """The system and user messages for one call of ``meaning`` with ``args``.

    ``excluded`` names parameters, fields of ``self`` and context entries left
    out of the prompt (``excl_info``).
    """
    skeleton = prompt_skeleton(meaning, output, schema_in_prompt)
    if excluded:
        args = {key: value for key, value in args.items() if key not in excluded}
        if context:
            context = {key: value for key, value in context.items() if key not in excluded}
    lines = [skeleton.header]
    if instance is not None:
        lines.extend(object_header(instance, excluded))
    media: list[dict[str, Any]] = []
    attachments = 0
    if args:
        lines.append("Inputs:")
        prefixes = skeleton.input_prefixes  # keyed by parameter name; positional (int) keys are not in it
        for key, value in args.items():
            if value.__class__ in PLAIN_VALUE_TYPES or (parts := _media_parts(value)) is None:
                shown = encode_basestring(value) if value.__class__ is str else format_value(value)
                lines.append((prefixes.get(key) or f"- {key} = ") + shown)
            else:
                attachments += 1
                label = skeleton.parameter_labels.get(key) or str(key)
                lines.append(f"- {label} = [attachment {attachments}: {type(value).__name__.lower()}]")
                media.extend(parts)
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
