"""JSON schemas and readable names for Python types, with ``sem`` texts as descriptions.

Every prompt reads names and descriptions from here, so this module does not
import Pydantic: the JSON schema itself is made by :mod:`byllm.schema_generator`,
imported when a typed return first needs one.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from typing import TYPE_CHECKING, Any

from jaclang.runtimelib.semstr import get_sem

if TYPE_CHECKING:
    from pydantic import TypeAdapter


def class_meaning(cls: type) -> str | None:
    """What a class means: its ``sem`` text, else a docstring it wrote itself (``None`` for neither)."""
    return _own_description(cls)


def _own_description(cls: type) -> str | None:
    """A class's meaning: its ``sem`` text, else a docstring it wrote itself."""
    text = get_sem(cls)
    if text:
        return text
    doc = cls.__dict__.get("__doc__")
    if not doc:
        return None
    # dataclasses invent a docstring like "Person(name: str, age: int)": not a meaning.
    if doc.startswith(f"{cls.__name__}(") and doc.rstrip().endswith(")"):
        return None
    if isinstance(cls, enum.EnumMeta) and doc == "An enumeration.":
        return None
    return inspect.cleandoc(doc)


def json_schema(adapter: TypeAdapter) -> dict[str, Any]:
    """The JSON schema of an adapter's type, with sem descriptions and without Pydantic's titles."""
    from byllm.schema_generator import sem_json_schema

    return sem_json_schema(adapter)


def __getattr__(name: str) -> Any:
    """``SemJsonSchema``, imported from :mod:`byllm.schema_generator` on first use (it subclasses Pydantic's generator)."""
    if name == "SemJsonSchema":
        from byllm.schema_generator import SemJsonSchema

        return SemJsonSchema
    raise AttributeError(f"module 'byllm.schema' has no attribute {name!r}")


_JSON_TYPE_NAMES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean", "null": "null"}


def describe_schema(schema: dict[str, Any]) -> str:
    """A compact, readable description of the value a JSON schema asks for.

    Used in the prompt when the provider does not receive the schema itself:
    small models tend to copy a JSON schema back as their answer, while this
    notation (``{"name": string, "born": integer}``, ``"A" | "B"``) is not
    itself a valid answer, so an echo is caught and re-asked.
    """
    definitions = schema.get("$defs", {})
    lines = [_describe(schema, definitions, indent="")]
    for name, definition in definitions.items():
        lines.append(f"{name} = {_describe(definition, definitions, indent='', expand=True)}")
    return "\n".join(lines)


def _describe(node: Any, definitions: dict[str, Any], indent: str, expand: bool = False) -> str:
    if not isinstance(node, dict):
        return "any"
    reference = node.get("$ref")
    if isinstance(reference, str) and not expand:
        return reference.rsplit("/", 1)[-1]
    if "enum" in node:
        return _describe_choices(node)
    if "const" in node:
        return _json_literal(node["const"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " | ".join(_describe(option, definitions, indent) for option in node[key])
    kind = node.get("type")
    if isinstance(kind, list):
        return " | ".join(_JSON_TYPE_NAMES.get(item, str(item)) for item in kind)
    if kind == "array":
        if "prefixItems" in node:
            return "[" + ", ".join(_describe(item, definitions, indent) for item in node["prefixItems"]) + "]"
        return f"[{_describe(node.get('items', {}), definitions, indent)}, ...]"
    if kind == "object" and "properties" in node:
        return _describe_object(node, definitions, indent)
    if kind == "object":
        values = node.get("additionalProperties")
        return "{string: " + (_describe(values, definitions, indent) if isinstance(values, dict) else "any") + "}"
    return _JSON_TYPE_NAMES.get(kind, "any") if isinstance(kind, str) else "any"


def _describe_object(node: dict[str, Any], definitions: dict[str, Any], indent: str) -> str:
    inner = indent + "  "
    required = set(node.get("required", []))
    fields = []
    for name, field_schema in node["properties"].items():
        text = f'{inner}"{name}": {_describe(field_schema, definitions, inner)}'
        notes = [note for note in (field_schema.get("description"), None if name in required else "optional") if note]
        fields.append((text, notes))
    body = []
    for position, (text, notes) in enumerate(fields):
        comma = "," if position < len(fields) - 1 else ""
        body.append(text + comma + (f"  // {'; '.join(notes)}" if notes else ""))
    head = "{" + (f"  // {node['description']}" if node.get("description") else "")
    return "\n".join([head, *body, indent + "}"])


def _describe_choices(node: dict[str, Any]) -> str:
    choices = " | ".join(_json_literal(value) for value in node["enum"])
    description = node.get("description")
    if not description:
        return choices
    return f"{choices}  // " + description.replace("\n", "; ")


def _json_literal(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


_MODULE_PREFIX = re.compile(r"\b(?:[A-Za-z_][A-Za-z0-9_]*\.)+(?=[A-Za-z_])")


def type_name(annotation: Any) -> str:
    """A short readable name for a type: ``list[Person]``, ``int | None``."""
    if annotation is inspect.Parameter.empty:
        return "any"
    if annotation is type(None) or annotation is None:
        return "None"
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__qualname__.split("<locals>.")[-1]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in typing.get_args(annotation))
    if origin is typing.Literal:
        return "Literal[" + ", ".join(repr(arg) for arg in typing.get_args(annotation)) + "]"
    if origin is not None:
        base = getattr(origin, "__name__", str(origin))
        args = ", ".join("..." if arg is Ellipsis else type_name(arg) for arg in typing.get_args(annotation))
        return f"{base}[{args}]"
    return _MODULE_PREFIX.sub("", str(annotation)).replace("typing.", "")
