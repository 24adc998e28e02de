"""Runtime support for ``by llm()``: turn a bodiless function into a ``call_llm`` hook call.

The Jac compiler and byllm's Python ``@by`` decorator both use :func:`llm_function`;
call-site overrides (``f(x) by llm()``) use :func:`call_by_llm`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

import sys

from jaclang.runtimelib.machine import call_llm, debug_enabled

ModelSource = Any  # a model, or a zero-argument callable returning one (evaluated per call)

BY_LLM_ATTRIBUTE = "__jac_by_llm__"


def bind_arguments(signature: inspect.Signature, call_args: tuple, call_kwargs: dict) -> dict[str | int, object]:
    """Map a call's values to parameter names, defaults applied.

    ``*args`` values are flattened under their positions and ``**kwargs`` merged
    in, so ``args`` holds one entry per value the model should see.
    """
    bound = signature.bind(*call_args, **call_kwargs)
    bound.apply_defaults()
    arguments: dict[str | int, object] = {}
    position = 0
    for name, value in bound.arguments.items():
        kind = signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            for item in value:
                arguments[position] = item
                position += 1
        elif kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        else:
            arguments[name] = value
            position += 1
    return arguments


class ArgumentBinder:
    """Binds call values to parameter names, with a fast path for plain signatures.

    Most ``by llm()`` functions take named parameters only; for them binding is
    a zip plus defaults. Anything unusual (``*args``, keyword-only or
    positional-only parameters, a missing argument) goes through
    :func:`bind_arguments`, which also raises Python's usual ``TypeError``.
    """

    def __init__(self, signature: inspect.Signature) -> None:
        self.signature = signature
        parameters = list(signature.parameters.values())
        plain = all(parameter.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for parameter in parameters)
        self.names: tuple[str, ...] | None = tuple(parameter.name for parameter in parameters) if plain else None
        self.defaults = {
            parameter.name: parameter.default
            for parameter in parameters
            if parameter.default is not inspect.Parameter.empty
        }

    def bind(self, call_args: tuple, call_kwargs: dict) -> dict[str | int, object]:
        """The ``args`` mapping for one call."""
        names = self.names
        if names is None or len(call_args) > len(names):
            return bind_arguments(self.signature, call_args, call_kwargs)
        arguments: dict[str | int, object] = dict(zip(names, call_args))
        if len(arguments) == len(names) and not call_kwargs:
            return arguments
        keywords_used = 0
        for name in names[len(call_args):]:
            if name in call_kwargs:
                arguments[name] = call_kwargs[name]
                keywords_used += 1
            elif name in self.defaults:
                arguments[name] = self.defaults[name]
            else:
                return bind_arguments(self.signature, call_args, call_kwargs)
        if keywords_used != len(call_kwargs):  # unknown or repeated keyword: let Python say so
            return bind_arguments(self.signature, call_args, call_kwargs)
        return arguments


def llm_function(model_source: ModelSource, *, lazy: bool = False) -> Callable[[Callable], Callable]:
    """Decorate a bodiless function so calling it asks the model through ``call_llm``.

    With ``lazy=True`` the model source is a thunk evaluated at each call, which
    is how Jac's ``by <expr>`` sees globals defined after the function.
    Methods get the bound method as ``caller``; ``self`` is reachable as
    ``caller.__self__`` and does not appear in ``args``.
    """

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)
        parameters = list(signature.parameters.values())
        takes_self = bool(parameters) and parameters[0].name == "self"
        bound_signature = signature.replace(parameters=parameters[1:]) if takes_self else signature
        binder = ArgumentBinder(bound_signature)

        def caller_and_args(call_args: tuple, call_kwargs: dict) -> tuple[Callable, dict[str | int, object]]:
            if takes_self:
                instance = call_args[0]
                caller = function.__get__(instance, type(instance))
                return caller, binder.bind(call_args[1:], call_kwargs)
            return function, binder.bind(call_args, call_kwargs)

        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def async_wrapper(*call_args: Any, **call_kwargs: Any) -> Any:
                caller, arguments = caller_and_args(call_args, call_kwargs)
                try:
                    result = call_llm(model_source() if lazy else model_source, caller, arguments)
                    if inspect.isawaitable(result):
                        result = await result
                except Exception as error:
                    raise _user_facing(error)
                return result

            wrapper: Callable = async_wrapper
        else:

            @functools.wraps(function)
            def sync_wrapper(*call_args: Any, **call_kwargs: Any) -> Any:
                caller, arguments = caller_and_args(call_args, call_kwargs)
                try:
                    return call_llm(model_source() if lazy else model_source, caller, arguments)
                except Exception as error:
                    raise _user_facing(error)

            wrapper = sync_wrapper
        setattr(wrapper, BY_LLM_ATTRIBUTE, True)
        return wrapper

    return decorate


def _user_facing(error: Exception) -> Exception:
    """``error`` without the frames of Pluggy and byllm when it is a byllm error (all of them with ``JAC_DEBUG=1``).

    A byllm error says what went wrong in the user's terms; the machinery it
    passed through only hides the line of the user's program that made the call.
    """
    errors = sys.modules.get("byllm.errors")
    if errors is None or not isinstance(error, errors.ByLLMError) or debug_enabled():
        return error
    return error.with_traceback(None)


def call_by_llm(model: Any, function: Callable, call_args: tuple, call_kwargs: dict) -> Any:
    """Answer one call of ``function`` with ``model`` (Jac's ``f(x) by llm()``)."""
    target = inspect.unwrap(function) if getattr(function, BY_LLM_ATTRIBUTE, False) else function
    instance = getattr(function, "__self__", None)
    if instance is not None and getattr(target, "__self__", None) is None and inspect.isfunction(target):
        target = target.__get__(instance, type(instance))
    arguments = bind_arguments(inspect.signature(target), call_args, call_kwargs)
    return call_llm(model, target, arguments)
