"""Helpers that compiled Jac code calls (imported by generated modules as ``__jac__``).

Kept small and cheap to import: compiled programs load it on every run.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from abc import abstractmethod
from enum import Enum, IntEnum, auto
from typing import Any, Callable, ClassVar, Generic, TypeVar

from jaclang.runtimelib.by_llm import BY_LLM_ATTRIBUTE, call_by_llm, llm_function
from jaclang.runtimelib.semstr import set_sem

# Object-spatial names, re-exported from jaclang.runtimelib.osp on first use (see __getattr__).
OSP_NAMES = (
    "Node", "Edge", "Walker", "Root", "root", "here", "visitor", "connect", "disconnect", "edge_ref",
    "filter_nodes", "destroy", "spawn", "visit", "ignore", "skip", "disengage", "report", "on_entry", "on_exit",
)

__all__ = [
    *OSP_NAMES,
    "ClassVar",
    "Enum",
    "Generic",
    "TypeVar",
    "abstractmethod",
    "IntEnum",
    "auto",
    "call_by_llm",
    "construct_by_llm",
    "llm_function",
    "llm_method",
    "llm_visit",
    "check",
    "KeywordTuple",
    "flow",
    "wait",
    "visit_at",
    "assign_fields",
    "jac_object",
    "postinit_field",
    "default_field",
    "null_safe",
    "sem",
]

ClassT = TypeVar("ClassT", bound=type)


def postinit_field() -> Any:
    """A field set by ``postinit`` rather than by the constructor (``has x: T by postinit``)."""
    return dataclasses.field(init=False)


def default_field(factory: Callable[[], Any]) -> Any:
    """A field whose default is evaluated afresh for each instance (``has xs: list = []``)."""
    return dataclasses.field(default_factory=factory)


def _has_default(value: Any) -> bool:
    if isinstance(value, dataclasses.Field):
        return value.default is not dataclasses.MISSING or value.default_factory is not dataclasses.MISSING
    return value is not dataclasses.MISSING


def _inherited_default_seen(cls: type) -> bool:
    """Whether a base dataclass already has a positional field with a default."""
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base):
            for field in dataclasses.fields(base):
                if field.init and not field.kw_only and _has_default(field):
                    return True
    return False


def _make_late_required_fields_keyword_only(cls: type) -> None:
    """Fields without defaults after a defaulted one become keyword-only.

    Dataclasses reject a required positional field after a defaulted one; Jac
    allows writing fields in any order (and inheriting defaulted fields), so
    those later fields are keyword-only instead, and leading ones stay positional.
    """
    seen_default = _inherited_default_seen(cls)
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, dataclasses.MISSING)
        if isinstance(value, dataclasses.Field) and not value.init:
            continue
        if _has_default(value):
            seen_default = True
        elif seen_default:
            if isinstance(value, dataclasses.Field):
                value.kw_only = True
            else:
                setattr(cls, name, dataclasses.field(kw_only=True))


def jac_object(*, user_init: bool = False) -> Callable[[ClassT], ClassT]:
    """Turn a Jac ``obj`` (or ``node``/``edge``/``walker``/``class`` with ``has``) into a dataclass.

    ``eq=False``: archetype instances compare by identity and are hashable, as upstream Jac's.
    """

    def decorate(cls: ClassT) -> ClassT:
        _make_late_required_fields_keyword_only(cls)
        return dataclasses.dataclass(eq=False, init=not user_init)(cls)

    return decorate


def llm_method(model_source: Callable[[Any], Any]) -> Callable[[Callable], Callable]:
    """Like ``llm_function`` for a method whose ``by`` expression uses ``self``.

    ``model_source`` receives the instance, so ``by llm(tools=[self.add])`` works.
    """

    def decorate(function: Callable) -> Callable:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                bound = function.__get__(self, type(self))
                result = call_by_llm(model_source(self), bound, args, kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result

            wrapper: Callable = async_wrapper
        else:

            @functools.wraps(function)
            def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                bound = function.__get__(self, type(self))
                return call_by_llm(model_source(self), bound, args, kwargs)

        setattr(wrapper, BY_LLM_ATTRIBUTE, True)
        return wrapper

    return decorate


_constructors: dict[tuple[type, int, tuple[str, ...]], Callable[..., Any]] = {}


def construct_by_llm(model: Any, cls: type, args: tuple, kwargs: dict[str, Any]) -> Any:
    """``Person(name="Ada" by llm())``: the model builds a ``cls`` from the fields given.

    The model answers a call of a stand-in function whose parameters are the
    given fields (typed like the class's fields) and whose return type is ``cls``.
    One stand-in is kept per class and set of given fields.
    """
    key = (cls, len(args), tuple(sorted(kwargs)))
    function = _constructors.get(key)
    if function is None:
        function = _constructors[key] = _constructor_for(cls, len(args), sorted(kwargs))
    return call_by_llm(model, function, args, kwargs)


def _constructor_for(cls: type, positional: int, names: list[str]) -> Callable[..., Any]:
    """A bodiless function ``create_<cls>(given fields) -> cls`` for the model to stand in for."""
    import typing

    try:
        field_types = typing.get_type_hints(cls)
    except Exception:  # unresolvable annotations: describe the fields without types
        field_types = {}
    init_fields = [field.name for field in dataclasses.fields(cls) if field.init] if dataclasses.is_dataclass(cls) else []
    given = init_fields[:positional] + [name for name in names if name not in init_fields[:positional]]
    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=field_types.get(name, Any))
        for name in given
    ]

    def create(*args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError  # never called: the model answers instead

    create.__name__ = create.__qualname__ = f"create_{cls.__name__}"
    create.__doc__ = f"Create a {cls.__name__} with the given fields; choose sensible values for the others."
    create.__signature__ = inspect.Signature(parameters, return_annotation=cls)  # type: ignore[attr-defined]
    create.__annotations__ = {**{p.name: p.annotation for p in parameters}, "return": cls}
    return create


def null_safe(value: Any, rest: Callable[[Any], Any]) -> Any:
    """``value?.rest``: ``None`` when ``value`` is ``None``, else ``rest(value)``."""
    if value is None:
        return None
    return rest(value)


def sem(owner: Any, part: str, text: str) -> None:
    """Attach a ``sem`` text to ``owner`` and, for decorated functions, to the function they wrap.

    ``by llm()`` functions are wrappers; the model sees the wrapped function as
    ``caller``, so the text must reach it too.
    """
    set_sem(owner, part, text)
    target = owner.__func__ if inspect.ismethod(owner) else owner
    wrapped = getattr(target, "__wrapped__", None)
    if wrapped is not None and callable(target):
        set_sem(inspect.unwrap(target), part, text)


def pipe_call(function: Callable[..., Any], value: Any) -> Any:
    """``value |> function``: call ``function`` with ``value``."""
    return function(value)


def assign_fields(items: Any, **values: Any) -> Any:
    """Upstream's assign comprehension ``items(=a=1, b=2)``: set the attributes on every item; return ``items``."""
    for item in items:
        for name, value in values.items():
            setattr(item, name, value)
    return items


def visit_at(index: int, targets: Any) -> bool:
    """``visit :index: targets``: queue the targets at ``index`` of the walk's queue, as upstream.

    Upstream inserts before position ``index`` of the walker's queue of next
    locations (``0``: visit them next, depth-first; ``-1``: at the end, like a
    plain ``visit``; other negative positions count from the end; below the
    front means the front). The OSP runtime's ``visit`` appends, so the new
    entries are appended by it (edges followed by their far ends, as always)
    and then moved into place.
    """
    from jaclang.runtimelib.osp import visit, walking

    walks = walking._walks  # the running walks, innermost last (the runtime has no public accessor yet)
    if not walks:
        return visit(targets)
    queue = walks[-1].queue
    waiting = len(queue)
    if not visit(targets):
        return False
    if index < -waiting:
        index = 0
    elif index < 0:
        index += waiting + 1
    index = min(index, waiting)
    if index < waiting:
        entries = list(queue)
        queue.clear()
        queue.extend(entries[:index] + entries[waiting:] + entries[index:waiting])
    return True


def __getattr__(name: str) -> Any:
    """Load the object-spatial runtime only when a program uses it (``jac run`` start-up stays small)."""
    if name in OSP_NAMES:
        from jaclang.runtimelib import osp

        for exported in OSP_NAMES:
            globals()[exported] = getattr(osp, exported)
        return globals()[name]
    if name == "check":  # `check a == b;`
        from jaclang.runtimelib.checks import check

        globals()[name] = check
        return check
    if name == "KeywordTuple":  # `(a, x=3)`
        from jaclang.runtimelib.keyword_tuple import KeywordTuple

        globals()[name] = KeywordTuple
        return KeywordTuple
    if name in ("flow", "wait"):  # `flow f(x)` / `wait task`
        from jaclang.runtimelib import concurrency

        globals()[name] = value = getattr(concurrency, name)
        return value
    if name == "llm_visit":  # `visit ... by llm()`
        from jaclang.runtimelib.osp.llm_visit import llm_visit

        globals()[name] = llm_visit
        return llm_visit
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
