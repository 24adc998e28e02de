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
            if text:
                lines.append(f"{member.value!r} ({member.name}): {text}")
        if lines:
            result["description"] = "\n".join(lines)
        else:
            result.pop("description", None)
        return result


def json_schema(adapter: TypeAdapter) -> dict[str, Any]:
    """The JSON schema of an adapter's type, with sem descriptions."""
    return adapter.json_schema(schema_generator=SemJsonSchema)


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
