"""JSON schemas and readable names for Python types, with ``sem`` texts as descriptions."""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from jaclang.runtimelib.semstr import get_sem


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


_ENUM_DESCRIPTION = "x-byllm-description"


class SemJsonSchema(GenerateJsonSchema):
    """Pydantic's schema generator, adding ``sem`` texts of classes, fields and members."""

    def _describe_object(self, schema: JsonSchemaValue, cls: type) -> JsonSchemaValue:
        description = _own_description(cls)
        if description:
            schema["description"] = description
        for name, field_schema in schema.get("properties", {}).items():
            text = get_sem(cls, name)
            if text:
                field_schema["description"] = text
        return schema

    def dataclass_schema(self, schema: core_schema.DataclassSchema) -> JsonSchemaValue:
        """Dataclass (and Jac ``obj``) schema with field meanings."""
        return self._describe_object(super().dataclass_schema(schema), schema["cls"])

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        """Pydantic model schema with ``sem`` field meanings."""
        return self._describe_object(super().model_schema(schema), schema["cls"])

    def typed_dict_schema(self, schema: core_schema.TypedDictSchema) -> JsonSchemaValue:
        """TypedDict schema with ``sem`` key meanings."""
        result = super().typed_dict_schema(schema)
        cls = schema.get("cls")
        return self._describe_object(result, cls) if cls is not None else result

    def enum_schema(self, schema: core_schema.EnumSchema) -> JsonSchemaValue:
        """Enum schema whose description lists what each member means."""
        result = super().enum_schema(schema)
        cls = schema["cls"]
        lines = []
        own = _own_description(cls)
        if own:
            lines.append(own)
        for member in cls:
            text = get_sem(cls, member.name)
            if text:  # the member's name only when it differs from its value (the reply is the value)
                same = str(member.value).lower() == member.name.lower()
                lines.append(f"{member.value}: {text}" if same else f"{member.value!r} ({member.name}): {text}")
        # Pydantic sets an enum's description from its docstring after this method
        # runs; the full text is kept aside and put in place by json_schema().
        result[_ENUM_DESCRIPTION] = "\n".join(lines)
        return result


def json_schema(adapter: TypeAdapter) -> dict[str, Any]:
    """The JSON schema of an adapter's type, with sem descriptions and without Pydantic's titles."""
    return _without_titles(adapter.json_schema(schema_generator=SemJsonSchema))


def _without_titles(node: Any) -> Any:
    """``node`` without ``title`` keys (a field *named* title, under ``properties``, stays).

    Also puts each enum's full description (its meaning and its members') in place.
    """
    if isinstance(node, list):
        return [_without_titles(item) for item in node]
    if not isinstance(node, dict):
        return node
    cleaned: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == _ENUM_DESCRIPTION:
            if value:
                cleaned["description"] = value
            else:
                cleaned.pop("description", None)
            continue
        if key == "description" and _ENUM_DESCRIPTION in node:
            continue
        if key in ("properties", "$defs") and isinstance(value, dict):
            cleaned[key] = {name: _without_titles(item) for name, item in value.items()}
        else:
            cleaned[key] = _without_titles(value)
    return cleaned


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
