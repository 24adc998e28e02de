"""Typed output: turn a model's reply into the declared return type.

Validation is Pydantic's; this module finds the value in what models really send
(JSON in a fence or after prose, bare enum names, quoted or unquoted scalars) with
the bounded search of :mod:`byllm.reply_json`. Model output is parsed as data, never
evaluated, and any reply either gives a value or raises :class:`ReplyMismatch`.

Two of Pydantic's lax conversions are refused because they surprise in model
replies: a JSON boolean is not a number (``true`` is not ``1`` for ``-> int`` or
``1.0`` for ``-> float``), and floats must be finite (no ``NaN``/``Infinity``).
Numbers written as strings (``"7"``) stay accepted. This covers builtins,
dataclasses, Jac ``obj``s and TypedDicts; a Pydantic model (or Pydantic dataclass)
is validated by its own validator and keeps its own configuration, as do parts
that set ``strict`` or ``allow_inf_nan`` themselves.

Pydantic is imported when a type other than ``str`` is first built (a text reply
is only stripped), so a program whose ``by llm()`` functions return text does not
pay for it.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import sys
import types
import typing
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from byllm.errors import ConfigurationError
from byllm.reply_json import MAX_REPLY_CHARS, ReplyJSONError, fenced_blocks, json_values
from byllm.schema import type_name

if TYPE_CHECKING:
    from pydantic import PydanticSchemaGenerationError, TypeAdapter
    from pydantic_core import CoreSchema, SchemaValidator


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
        self._adapter: TypeAdapter | None = None
        self._validator: SchemaValidator | None = None
        self._schema: dict[str, Any] | None = None
        self.has_enums = _mentions_enum(annotation)
        if not self.is_text:  # a type Pydantic cannot build is reported when the call starts
            self._build()

    def _build(self) -> None:
        """Build the Pydantic adapter and the reply validator of the type."""
        from pydantic import PydanticSchemaGenerationError, TypeAdapter
        from pydantic_core import SchemaValidator

        skip_pydantic_plugin_scan()
        try:
            self._adapter = TypeAdapter(_pydantic_compatible(self.annotation))
        except PydanticSchemaGenerationError as error:
            raise ConfigurationError(_unsupported_type_message(self.name, error)) from None
        self._validator = SchemaValidator(reply_core_schema(self._adapter.core_schema))

    @property
    def adapter(self) -> TypeAdapter:
        """Pydantic's adapter of the type (built on first use for ``str``)."""
        if self._adapter is None:
            self._build()
        return self._adapter  # type: ignore[return-value]

    @property
    def validator(self) -> SchemaValidator:
        """The validator of replies (Pydantic's, adjusted by :func:`reply_core_schema`)."""
        if self._validator is None:
            self._build()
        return self._validator  # type: ignore[return-value]

    @property
    def schema(self) -> dict[str, Any] | None:
        """JSON schema the reply must follow (``None`` for plain text)."""
        if self.is_text:
            return None
        if self._schema is None:
            from byllm.schema_generator import sem_json_schema

            self._schema = sem_json_schema(self.adapter)
        return self._schema

    def parse(self, reply: str) -> Any:
        """The reply as a value of this type, or :class:`ReplyMismatch`.

        Replies longer than :data:`byllm.reply_json.MAX_REPLY_CHARS` are refused.
        """
        if self.is_text:
            return _strip_text_reply(reply)
        if len(reply) > MAX_REPLY_CHARS:
            raise ReplyMismatch(
                f"The reply is {len(reply):,} characters long; at most {MAX_REPLY_CHARS:,} are read. "
                f"Reply with the {self.name} value only"
            )
        import pydantic_core  # imported already (the validator is built); a plain import is the cheap form per call

        text = reply.strip()
        try:
            return self.validator.validate_json(text)
        except pydantic_core.ValidationError as error:
            whole_reply_error = error
        candidate_error: Exception | None = None
        try:
            for candidate in json_values(text):
                try:
                    return self.validate(candidate)
                except pydantic_core.ValidationError as error:
                    candidate_error = candidate_error or error
        except ReplyJSONError as limit:
            candidate_error = candidate_error or limit
        scalar_error: Exception | None = None
        scalar = _bare_scalar(text)
        if scalar is not NO_SCALAR:
            try:
                return self.validate(scalar)
            except pydantic_core.ValidationError as error:
                scalar_error = error
        from byllm.reply_python import NOT_A_LITERAL, python_value  # read only when JSON and words failed

        literal = python_value(next(fenced_blocks(text), text))  # {'a': 1}, Color.RED, Person(name='Ada')
        if literal is not NOT_A_LITERAL:
            try:
                return self.validate(literal)
            except pydantic_core.ValidationError:
                pass  # the errors about the JSON or the words say more
        raise ReplyMismatch(_feedback(_most_telling(candidate_error, whole_reply_error, scalar_error), self.name))

    def validate(self, data: Any) -> Any:
        """Validate Python data (already decoded) against the type; enum names accepted."""
        import pydantic_core

        try:
            return self.validator.validate_python(data)
        except pydantic_core.ValidationError:
            if not self.has_enums:
                raise
            renamed = _enum_names_to_values(data, self.annotation, _ENUM_RENAME_DEPTH)
            if renamed is data:
                raise
            return self.validator.validate_python(renamed)

    def check(self, value: Any) -> Any:
        """Check a ready-made value against the type; return the validated value."""
        import pydantic_core

        try:
            return self.validate(value)
        except pydantic_core.ValidationError as error:
            raise ReplyMismatch(_feedback(error, self.name)) from None


@lru_cache(maxsize=1)
def skip_pydantic_plugin_scan() -> None:
    """Tell Pydantic it has no plugins when jac's cached entry-point list shows none is installed.

    The first validator Pydantic builds looks for its plugins (entry-point group
    ``pydantic``) by reading the metadata of every installed distribution: tens
    of milliseconds at start-up. jac keeps that list cached per ``sys.path``
    (:mod:`jaclang.runtimelib.entry_points`); when it has no ``pydantic`` entry
    point, Pydantic's own scan would find none either, so its plugin list is set
    to the empty result before it looks. With a plugin installed (or an unknown
    Pydantic whose loader differs) nothing is changed and Pydantic loads it as usual.
    """
    from jaclang.runtimelib.entry_points import group_entry_points
    from pydantic.plugin import _loader  # Pydantic 2's plugin loader; get_plugins() keeps its result in _plugins

    group = getattr(_loader, "PYDANTIC_ENTRY_POINT_GROUP", "pydantic")
    if getattr(_loader, "_plugins", False) is None and not group_entry_points(group):
        _loader._plugins = {}


def _unsupported_type_message(return_type: str, error: PydanticSchemaGenerationError) -> str:
    """What to do when a return type (or a type inside it) is a plain class Pydantic cannot build."""
    found = re.search(r"schema for <class '(?:[\w.]*\.)?(\w+)'>", str(error))
    culprit = found.group(1) if found else return_type
    where = "" if culprit == return_type else f" (inside {return_type})"
    return (
        f"the return type {culprit}{where} is a plain class, which byllm cannot build from a reply: "
        f"make {culprit} an obj (Jac) or a @dataclass or Pydantic model (Python) whose fields have types"
    )


@lru_cache(maxsize=1024)
def output_type(annotation: Any) -> OutputType:
    """The cached :class:`OutputType` of an annotation."""
    return OutputType(annotation)


def reply_core_schema(schema: CoreSchema) -> CoreSchema:
    """A copy of a Pydantic core schema adjusted for validating model replies.

    Integers and floats refuse booleans, floats refuse ``NaN``/``Infinity``, and
    collections stop at their first bad item (a huge wrong reply costs one error,
    not millions). Parts that set their own ``strict`` or ``allow_inf_nan`` keep it.
    The schema is copied only where it changes; user objects inside are not copied.
    """
    return _adjust_schema(schema, strict=False, allow_inf_nan=False)


_COLLECTION_SCHEMAS = frozenset({"list", "tuple", "set", "frozenset", "dict"})
# Keys of a schema whose values are not sub-schemas to adjust.
_NOT_SUBSCHEMAS = frozenset({"metadata", "serialization", "config", "default", "expected", "members", "cls"})


def _adjust_schema(node: Any, *, strict: bool, allow_inf_nan: bool) -> Any:
    if isinstance(node, (list, tuple)):
        items = [_adjust_schema(item, strict=strict, allow_inf_nan=allow_inf_nan) for item in node]
        if all(new is old for new, old in zip(items, node)):
            return node
        return type(node)(items)
    if not isinstance(node, dict):
        return node
    kind = node.get("type")
    is_schema = isinstance(kind, str)
    config = node.get("config") if is_schema else None
    if isinstance(config, dict):
        strict = bool(config.get("strict", strict))
        allow_inf_nan = bool(config.get("allow_inf_nan", allow_inf_nan))
    changed = {}
    for key, value in node.items():
        if (is_schema and key in _NOT_SUBSCHEMAS) or not isinstance(value, (dict, list, tuple)):
            continue
        adjusted = _adjust_schema(value, strict=strict, allow_inf_nan=allow_inf_nan)
        if adjusted is not value:
            changed[key] = adjusted
    result = {**node, **changed} if changed else node
    if not is_schema or "ref" in result:
        return result
    if kind in _COLLECTION_SCHEMAS and "fail_fast" not in result:
        return {**result, "fail_fast": True}
    if kind == "int" and not strict and "strict" not in result:
        return _number_without_booleans(result, "int")
    if kind == "float":
        if not allow_inf_nan and "allow_inf_nan" not in result:
            result = {**result, "allow_inf_nan": False}
        if not strict and "strict" not in result:
            return _number_without_booleans(result, "float")
    return result


def _number_without_booleans(schema: dict[str, Any], kind: str) -> CoreSchema:
    """``schema`` behind a gate that takes numbers and numeric strings, not booleans.

    Pydantic's lax mode turns ``true`` into ``1``; its strict mode refuses ``"7"``.
    The gate is strict about the type and lax about strings; ``schema`` (constraints,
    finiteness) then applies to the number that passed.
    """
    from pydantic_core import core_schema as cs

    if kind == "int":
        gate = cs.union_schema(
            [
                cs.int_schema(strict=True),
                cs.chain_schema([cs.str_schema(strict=True), cs.int_schema()]),
                cs.chain_schema([cs.float_schema(strict=True), cs.int_schema()]),
            ],
            custom_error_type="int_type",
        )
    else:
        gate = cs.union_schema(
            [
                cs.float_schema(strict=True),  # takes integers too, not booleans
                cs.chain_schema([cs.str_schema(strict=True), cs.float_schema()]),
            ],
            custom_error_type="float_type",
        )
    if set(schema) <= {"type", "metadata", "serialization"}:
        return gate
    return cs.chain_schema([gate, schema])


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


_NULL_WORDS = {"none", "null", "nil"}
NO_SCALAR = object()


def _bare_scalar(text: str) -> Any:
    """An unquoted one-line scalar reply (``HIGH``, ``'Introvert'``, ``None``, ``42.``) as data.

    Returns :data:`NO_SCALAR` when the reply is not a single scalar.
    """
    candidate = next(fenced_blocks(text), text).strip()
    if "\n" in candidate or not candidate:
        return NO_SCALAR
    candidate = candidate.rstrip(".").strip()
    if len(candidate) >= 2 and candidate[0] == candidate[-1] and candidate[0] in "'\"`":
        candidate = candidate[1:-1]
    if candidate.lower() in _NULL_WORDS:
        return None
    return candidate


def _most_telling(
    candidate_error: Exception | None, whole_reply_error: Exception, scalar_error: Exception | None
) -> Exception:
    """The error to show the model: about the JSON it sent, else about its words."""
    if candidate_error is not None:
        return candidate_error
    whole_reply_was_json = whole_reply_error.errors(include_url=False)[0]["type"] != "json_invalid"  # type: ignore[attr-defined]
    if whole_reply_was_json or scalar_error is None:
        return whole_reply_error
    return scalar_error


def _feedback(error: Exception, expected: str) -> str:
    from pydantic_core import ValidationError

    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc']) or 'value'}: {item['msg']}"
            for item in error.errors(include_url=False, include_context=False, include_input=False)[:8]
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


# Enum names are renamed this many levels into the data, at most: the renaming walks
# the data in Python, and model output must never reach the recursion limit.
_ENUM_RENAME_DEPTH = 32


def _enum_names_to_values(data: Any, annotation: Any, depth: int) -> Any:
    """A copy of decoded data where enum member names are replaced by their values."""
    if depth <= 0:
        return data
    if isinstance(annotation, enum.EnumMeta):
        return _enum_member_value(annotation, data)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _enum_names_to_values(data, args[0], depth)
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            converted = _enum_names_to_values(data, arg, depth)
            if converted is not data:
                return converted
        return data
    if isinstance(data, list) and origin in (list, set, frozenset, tuple) and args:
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
            return [_enum_names_to_values(item, arg, depth - 1) for item, arg in zip(data, args)] + data[len(args):]
        return [_enum_names_to_values(item, args[0], depth - 1) for item in data]
    if isinstance(data, dict):
        if origin is dict and len(args) == 2:
            return {
                _enum_names_to_values(key, args[0], depth - 1): _enum_names_to_values(value, args[1], depth - 1)
                for key, value in data.items()
            }
        hints = _object_field_types(annotation)
        if hints:
            return {key: _enum_names_to_values(value, hints[key], depth - 1) if key in hints else value for key, value in data.items()}
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
