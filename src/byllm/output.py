"""Typed output: turn a model's reply into the declared return type.

Validation is Pydantic's (``TypeAdapter``); this module only finds the value in
what models really send (JSON in a fence or after prose, bare enum names,
quoted or unquoted scalars). Model output is parsed as data, never evaluated.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import sys
import types
import typing
from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from byllm.errors import ConfigurationError
from byllm.schema import json_schema, type_name

_FENCE = re.compile(r"```[ \t]*[A-Za-z0-9_+-]*[ \t]*\n?(.*?)```", re.DOTALL)
_JSON_DECODER = json.JSONDecoder()


class ReplyMismatch(ValueError):
    """A reply did not fit the return type; ``feedback`` is what to tell the model."""

    def __init__(self, feedback: str) -> None:
        super().__init__(feedback)
        self.feedback = feedback


class OutputType:
    """One return type: its adapter, schema, readable name and reply parser."""

    def __init__(self, annotation: Any) -> None:
        if isinstance(annotation, (str, typing.ForwardRef)):
            raise ConfigurationError(
                f"the return type {annotation!r} cannot be resolved: define it at module level "
                "(or import it) so typing.get_type_hints can find it"
            )
        self.annotation = annotation
        self.name = type_name(annotation)
        self.is_text = annotation is str
        self.adapter: TypeAdapter = TypeAdapter(_pydantic_compatible(annotation))
        self._schema: dict[str, Any] | None = None
        self.has_enums = _mentions_enum(annotation)

    @property
    def schema(self) -> dict[str, Any] | None:
        """JSON schema the reply must follow (``None`` for plain text)."""
        if self.is_text:
            return None
        if self._schema is None:
            self._schema = json_schema(self.adapter)
        return self._schema

    def parse(self, reply: str) -> Any:
        """The reply as a value of this type, or :class:`ReplyMismatch`."""
        if self.is_text:
            return _strip_text_reply(reply)
        text = reply.strip()
        try:
            return self.adapter.validate_json(text)
        except ValidationError as error:
            first_error = error
        last_error: Exception = first_error
        for candidate in _json_candidates(text):
            try:
                return self.validate(candidate)
            except ValidationError as error:
                last_error = error
        scalar = _bare_scalar(text)
        if scalar is not NO_SCALAR:
            try:
                return self.validate(scalar)
            except ValidationError as error:
                last_error = error if last_error is first_error else last_error
        raise ReplyMismatch(_feedback(last_error, self.name))

    def validate(self, data: Any) -> Any:
        """Validate Python data (already decoded) against the type; enum names accepted."""
        try:
            return self.adapter.validate_python(data)
        except ValidationError:
            if not self.has_enums:
                raise
            renamed = _enum_names_to_values(data, self.annotation)
            if renamed is data:
                raise
            return self.adapter.validate_python(renamed)

    def check(self, value: Any) -> Any:
        """Check a ready-made (non-text) value against the type; return the validated value."""
        try:
            return self.validate(value)
        except ValidationError as error:
            raise ReplyMismatch(_feedback(error, self.name)) from None


@lru_cache(maxsize=1024)
def output_type(annotation: Any) -> OutputType:
    """The cached :class:`OutputType` of an annotation."""
    return OutputType(annotation)


def _pydantic_compatible(annotation: Any) -> Any:
    """Swap ``typing.TypedDict`` classes for equivalent ``typing_extensions`` ones.

    Pydantic accepts only the latter before Python 3.12, but users naturally
    write the former.
    """
    if sys.version_info >= (3, 12):
        return annotation
    if typing.is_typeddict(annotation) and type(annotation).__module__ == "typing":
        import typing_extensions

        fields = {name: _pydantic_compatible(hint) for name, hint in _safe_hints(annotation).items()}
        replacement = typing_extensions.TypedDict(annotation.__name__, fields, total=annotation.__total__)  # type: ignore[operator]
        replacement.__module__ = annotation.__module__
        return replacement
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is None or not args or origin in (typing.Literal, typing.Annotated):
        return annotation
    converted = tuple(_pydantic_compatible(arg) for arg in args)
    if converted == args:
        return annotation
    if origin in (typing.Union, types.UnionType):
        return typing.Union[converted]
    return origin[converted if len(converted) > 1 else converted[0]]


def _strip_text_reply(reply: str) -> str:
    return reply.strip()


def _json_candidates(text: str) -> list[Any]:
    """Decoded JSON values found in a reply: fenced blocks first, then embedded values."""
    found: list[Any] = []
    for block in _FENCE.findall(text):
        try:
            found.append(json.loads(block))
        except ValueError:
            pass
    for match in re.finditer(r"[\[{\"]", text):
        try:
            value, _end = _JSON_DECODER.raw_decode(text, match.start())
        except ValueError:
            continue
        found.append(value)
        if not isinstance(value, str):
            break
    return found


_NULL_WORDS = {"none", "null", "nil"}
NO_SCALAR = object()


def _bare_scalar(text: str) -> Any:
    """An unquoted one-line scalar reply (``HIGH``, ``'Introvert'``, ``None``, ``42.``) as data.

    Returns :data:`NO_SCALAR` when the reply is not a single scalar.
    """
    fenced = _FENCE.findall(text)
    candidate = (fenced[0] if fenced else text).strip()
    if "\n" in candidate or not candidate:
        return NO_SCALAR
    candidate = candidate.rstrip(".").strip()
    if len(candidate) >= 2 and candidate[0] == candidate[-1] and candidate[0] in "'\"`":
        candidate = candidate[1:-1]
    if candidate.lower() in _NULL_WORDS:
        return None
    return candidate


def _feedback(error: Exception, expected: str) -> str:
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}" for item in error.errors()[:8]
        )
        return f"The reply does not fit the type {expected}: {problems}"
    return f"The reply does not fit the type {expected}: {error}"


def _mentions_enum(annotation: Any, seen: set[int] | None = None) -> bool:
    """Whether an enum appears anywhere inside the type."""
    seen = seen if seen is not None else set()
    if id(annotation) in seen:
        return False
    seen.add(id(annotation))
    if isinstance(annotation, enum.EnumMeta):
        return True
    if dataclasses.is_dataclass(annotation) and isinstance(annotation, type):
        hints = _safe_hints(annotation)
        return any(_mentions_enum(hint, seen) for hint in hints.values())
    fields = getattr(annotation, "model_fields", None)
    if isinstance(fields, dict):
        return any(_mentions_enum(field.annotation, seen) for field in fields.values())
    if typing.is_typeddict(annotation):
        return any(_mentions_enum(hint, seen) for hint in _safe_hints(annotation).values())
    return any(_mentions_enum(arg, seen) for arg in typing.get_args(annotation) if arg is not Ellipsis)


def _safe_hints(cls: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls)
    except Exception:
        return dict(getattr(cls, "__annotations__", {}))


def _enum_member_value(cls: type[enum.Enum], data: Any) -> Any:
    """Map a member name (any case) to its value; leave other data alone."""
    if isinstance(data, str):
        if data in cls.__members__:
            return cls.__members__[data].value
        lowered = data.strip().lower()
        for name, member in cls.__members__.items():
            if name.lower() == lowered or str(member.value).lower() == lowered:
                return member.value
    return data


def _enum_names_to_values(data: Any, annotation: Any) -> Any:
    """A copy of decoded data where enum member names are replaced by their values."""
    if isinstance(annotation, enum.EnumMeta):
        return _enum_member_value(annotation, data)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _enum_names_to_values(data, args[0])
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            converted = _enum_names_to_values(data, arg)
            if converted is not data:
                return converted
        return data
    if isinstance(data, list) and origin in (list, set, frozenset, tuple) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return [_enum_names_to_values(item, arg) for item, arg in zip(data, args)] + data[len(args):]
        return [_enum_names_to_values(item, args[0]) for item in data]
    if isinstance(data, dict):
        if origin is dict and len(args) == 2:
            return {
                _enum_names_to_values(key, args[0]): _enum_names_to_values(value, args[1])
                for key, value in data.items()
            }
        hints = _object_field_types(annotation)
        if hints:
            return {key: _enum_names_to_values(value, hints[key]) if key in hints else value for key, value in data.items()}
    return data


def _object_field_types(annotation: Any) -> dict[str, Any]:
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return _safe_hints(annotation)
    fields = getattr(annotation, "model_fields", None)
    if isinstance(fields, dict):
        return {name: field.annotation for name, field in fields.items()}
    if typing.is_typeddict(annotation):
        return _safe_hints(annotation)
    return {}
