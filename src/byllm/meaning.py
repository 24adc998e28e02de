"""What a ``by llm()`` function means: name, description, typed parameters, return type.

Everything here depends only on the function, never on a call's arguments, so it
is computed once per function and cached.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

from jaclang.runtimelib.semstr import get_sem, sem_version

NO_ANNOTATION: Any = inspect.Parameter.empty

# Where ``byllm.lib.by`` keeps the names visible where a function was defined, so
# annotations naming local classes resolve (``from __future__ import annotations``).
LOCAL_NAMES_ATTRIBUTE = "__byllm_local_names__"


@dataclass(frozen=True)
class ParameterMeaning:
    """One parameter: its name, annotation and ``sem`` text."""

    name: str
    annotation: Any
    description: str | None


@dataclass(frozen=True, eq=False)  # identity hashing: one meaning per function, cheap as a cache key
class FunctionMeaning:
    """The per-function facts a prompt is built from."""

    name: str
    qualified_name: str
    description: str | None
    parameters: tuple[ParameterMeaning, ...]
    return_type: Any
    return_description: str | None
    is_async: bool
    # Rendered prompt parts, per output form: kept here so they go away with the function.
    prompt_parts: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def parameter(self, name: str) -> ParameterMeaning | None:
        """The parameter called ``name``, if the function declares one."""
        for parameter in self.parameters:
            if parameter.name == name:
                return parameter
        return None


def underlying_function(caller: Callable) -> Callable:
    """The plain function behind a bound method or ``by llm`` wrapper."""
    function = getattr(caller, "__func__", caller)
    return inspect.unwrap(function)


MEANING_ATTRIBUTE = "__byllm_meaning__"


def describe_function(caller: Callable) -> FunctionMeaning:
    """The meaning of ``caller``, cached on the function itself; bound methods share their function's.

    The cache entry carries the ``sem`` version it was built at, so a ``sem``
    set after the first call takes effect; it goes away with the function.
    """
    function = getattr(caller, "__func__", caller)
    version = sem_version()
    cached = getattr(function, MEANING_ATTRIBUTE, None)
    if cached is not None and cached[0] == version:
        return cached[1]
    meaning = _describe(underlying_function(function))
    try:
        setattr(function, MEANING_ATTRIBUTE, (version, meaning))
    except (AttributeError, TypeError):  # callables without a __dict__ are described afresh each time
        pass
    return meaning


def _describe(function: Callable) -> FunctionMeaning:
    try:
        local_names = getattr(function, LOCAL_NAMES_ATTRIBUTE, None)
        hints = typing.get_type_hints(function, localns=local_names, include_extras=True)
    except Exception:  # unresolved forward references: fall back to raw annotations
        hints = dict(getattr(function, "__annotations__", {}))
    signature = inspect.signature(function)
    parameters = []
    for parameter in signature.parameters.values():
        if parameter.name == "self":
            continue
        annotation = hints.get(parameter.name, parameter.annotation)
        parameters.append(
            ParameterMeaning(
                name=parameter.name,
                annotation=annotation,
                description=get_sem(function, parameter.name),
            )
        )
    return_type = hints.get("return", signature.return_annotation)
    if return_type is NO_ANNOTATION:
        return_type = str
    elif return_type is None:
        return_type = type(None)
    docstring = inspect.getdoc(function)
    return FunctionMeaning(
        name=function.__name__,
        qualified_name=getattr(function, "__qualname__", function.__name__),
        description=get_sem(function) or docstring,
        parameters=tuple(parameters),
        return_type=return_type,
        return_description=get_sem(function, "return"),
        is_async=inspect.iscoroutinefunction(function),
    )
