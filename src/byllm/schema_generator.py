"""Pydantic's JSON-schema generator with ``sem`` texts as descriptions, and the schemas byllm sends."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from jaclang.runtimelib.semstr import get_sem
from byllm.schema import class_meaning


_ENUM_DESCRIPTION = "x-byllm-description"


class SemJsonSchema(GenerateJsonSchema):
    """Pydantic's schema generator, adding ``sem`` texts of classes, fields and members."""

    def _describe_object(self, schema: JsonSchemaValue, cls: type) -> JsonSchemaValue:
        description = class_meaning(cls)
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
        own = class_meaning(cls)
        if own:
            lines.append(own)
        for member in cls:
            text = get_sem(cls, member.name)
            if text:  # the member's name only when it differs from its value (the reply is the value)
                same = str(member.value).lower() == member.name.lower()
                lines.append(f"{member.value}: {text}" if same else f"{member.value!r} ({member.name}): {text}")
        # Pydantic sets an enum's description from its docstring after this method
        # runs; the full text is kept aside and put in place by sem_json_schema().
        result[_ENUM_DESCRIPTION] = "\n".join(lines)
        return result


def sem_json_schema(adapter: TypeAdapter) -> dict[str, Any]:
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
