"""Sending by-llm functions to other processes and bringing their results and errors back.

A function from an importable module (a ``.py`` or ``.jac`` module) travels as
its module and qualified name, and the worker imports it *after* ``import
jaclang`` (which installs the ``.jac`` importer): the worker builds its own
``Model`` and provider, with its own connection pools, from the module.
Functions pickle cannot name (defined in ``__main__`` or inside a function)
travel by value when the engine pickles with cloudpickle (Ray, Dask); their
``Model`` then travels as its configuration (see ``Model.__getstate__``).

Errors come back as :class:`RemoteFailure` carriers, because some byllm errors
(``OutputConversionError``) cannot be rebuilt by pickle's default path, which
calls ``__init__`` with the message only.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import inspect
import threading
from typing import Any, Callable


def importable_reference(function: Callable[..., Any]) -> tuple[str, str] | None:
    """``(module, qualified name)`` when importing that module gives back ``function``, else ``None``."""
    module_name = getattr(function, "__module__", None)
    qualified_name = getattr(function, "__qualname__", None)
    if not module_name or not qualified_name or module_name == "__main__" or "<locals>" in qualified_name:
        return None
    try:
        found = _resolve(importlib.import_module(module_name), qualified_name)
    except (ImportError, AttributeError):
        return None
    return (module_name, qualified_name) if found is function else None


def _resolve(module: Any, qualified_name: str) -> Any:
    found = module
    for part in qualified_name.split("."):
        found = getattr(found, part)
    return found


def import_function(module_name: str, qualified_name: str) -> Callable[..., Any]:
    """The function ``module_name.qualified_name``, importing ``jaclang`` first so ``.jac`` modules import."""
    import jaclang  # noqa: F401  (installs the .jac importer and loads the plugins)

    return _resolve(importlib.import_module(module_name), qualified_name)


class ShippedFunction:
    """A function wrapped to cross process boundaries: by reference when importable, else by value.

    Calling it calls the function; a failure is returned as a :class:`RemoteFailure`
    (not raised), so every engine brings typed byllm errors back intact.
    """

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function = function

    def __call__(self, *arguments: Any) -> Any:
        """Call the function; an exception becomes a :class:`RemoteFailure` value."""
        try:
            result = self.function(*arguments)
            if inspect.isawaitable(result):  # an async def function: answered on this thread's loop
                result = worker_loop().run_until_complete(result)
            return result
        except Exception as error:  # handed back per item, like byllm.map's results
            return RemoteFailure(error)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        reference = importable_reference(self.function)
        if reference is None:
            return (ShippedFunction, (self.function,))
        return (_shipped_by_reference, reference)

    def __repr__(self) -> str:
        return f"ShippedFunction({getattr(self.function, '__qualname__', self.function)!r})"


def _shipped_by_reference(module_name: str, qualified_name: str) -> ShippedFunction:
    return ShippedFunction(import_function(module_name, qualified_name))


def ship(function: Callable[..., Any]) -> ShippedFunction:
    """``function`` ready to send to a worker (a :class:`ShippedFunction`, unwrapped first if it is one)."""
    return function if isinstance(function, ShippedFunction) else ShippedFunction(function)


class RemoteFailure:
    """An exception raised on a worker, carried back as a value; :meth:`unwrap` gives the exception."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        error = self.error
        state = dict(getattr(error, "__dict__", {}))
        return (_rebuild_failure, (type(error), error.args, _picklable(state)))

    @staticmethod
    def unwrap(value: Any) -> Any:
        """``value``, or the exception it carries."""
        return value.error if isinstance(value, RemoteFailure) else value


def _picklable(state: dict[str, Any]) -> dict[str, Any]:
    """An error's attributes, with those pickle cannot carry replaced by their ``repr``."""
    import pickle

    kept: dict[str, Any] = {}
    for name, value in state.items():
        try:
            pickle.dumps(value)
            kept[name] = value
        except Exception:  # an unpicklable attribute (a lock, a client): keep its description
            kept[name] = repr(value)
    return kept


def _rebuild_failure(error_type: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> RemoteFailure:
    error = error_type.__new__(error_type)
    error.args = args
    error.__dict__.update(state)
    return RemoteFailure(error)


def describe_failure(error: BaseException) -> str:
    """``"ErrorType: message"``: a failure as a column value every data format can hold."""
    return f"{type(error).__name__}: {error}"


# -- one event loop per worker thread ----------------------------------------------
_loops = threading.local()


def worker_loop() -> asyncio.AbstractEventLoop:
    """This thread's event loop, kept between batches so async clients and pools are reused."""
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    return loop


def run_batch(function: Callable[..., Any], items: list[Any], concurrency: int) -> list[Any]:
    """``function`` over ``items`` with up to ``concurrency`` calls in flight on this thread's loop.

    Results are in item order; a failed item's place holds its exception.
    """
    from byllm.batch import amap

    calls = as_coroutine_function(function)
    return worker_loop().run_until_complete(amap(calls, items, concurrency=concurrency, progress=False))


def as_coroutine_function(function: Callable[..., Any]) -> Callable[..., Any]:
    """An ``async`` callable answering like ``function``, without a thread per call for by-llm functions.

    ``async def`` functions are used as they are. A synchronous by-llm function
    is asked once per item for its model, caller and arguments (through the
    ``call_llm`` hook, answered by a capturing plugin), and the call is then
    answered by ``Model.ainvoke``: every completion still passes the
    ``llm_acomplete`` hooks (cache, rate limit, log, usage). Other functions run
    in worker threads.
    """
    if isinstance(function, ShippedFunction):
        function = function.function
    if inspect.iscoroutinefunction(function):
        return function
    from jaclang.runtimelib.by_llm import BY_LLM_ATTRIBUTE

    if not getattr(function, BY_LLM_ATTRIBUTE, False):

        async def in_thread(*arguments: Any) -> Any:
            return await asyncio.to_thread(function, *arguments)

        return in_thread

    async def answered_async(*arguments: Any) -> Any:
        model, caller, call_args = capture_call(function, *arguments)
        return await model.ainvoke(caller, call_args)

    return answered_async


# -- capturing what a by-llm call would ask ---------------------------------------------
class CapturedCall(Exception):
    """Raised by the capturing plugin to stop a call once its model, caller and arguments are known."""

    def __init__(self, model: Any, caller: Callable[..., Any], args: dict[str | int, object]) -> None:
        super().__init__("captured")
        self.model = model
        self.caller = caller
        self.call_args = args


_capturing: contextvars.ContextVar[bool] = contextvars.ContextVar("byllm_capturing", default=False)


class CallCapture:
    """A ``call_llm`` plugin that, while capturing in this context, stops each call and reports it."""

    from jaclang.runtimelib.machine import hookimpl as _hookimpl

    @staticmethod
    @_hookimpl(tryfirst=True)
    def call_llm(model: Any, caller: Callable[..., Any], args: dict[str | int, object]) -> Any:
        """Report the call instead of answering it, when capturing."""
        if _capturing.get():
            raise CapturedCall(model, caller, args)
        return None


def capture_call(function: Callable[..., Any], *arguments: Any, **keywords: Any) -> tuple[Any, Callable[..., Any], dict]:
    """``(model, caller, args)`` that calling the by-llm ``function`` would hand to ``call_llm``; nothing is sent."""
    from jaclang.runtimelib import machine

    manager = machine.plugin_manager
    if not manager.is_registered(CallCapture):
        manager.register(CallCapture, name="byllm-call-capture")
    token = _capturing.set(True)
    try:
        function(*arguments, **keywords)
    except CapturedCall as captured:
        return captured.model, captured.caller, captured.call_args
    finally:
        _capturing.reset(token)
    raise TypeError(f"{getattr(function, '__qualname__', function)!r} is not a by llm() function: it made no model call")


# -- byllm errors pickle without calling __init__ ----------------------------------------
def _reduce_error(error: BaseException) -> tuple[Any, tuple[Any, ...]]:
    """Pickle a byllm error as its type, arguments and attributes (its ``__init__`` has keyword-only fields)."""
    return (_rebuild_error, (type(error), error.args, _picklable(dict(getattr(error, "__dict__", {})))))


def _rebuild_error(error_type: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = error_type.__new__(error_type)
    error.args = args
    error.__dict__.update(state)
    return error


def register_error_pickling() -> None:
    """Let every byllm error type pickle through :func:`_reduce_error` (pickle and cloudpickle use copyreg).

    Needed where errors are pickled: a worker sending a typed failure back.
    """
    import copyreg

    from byllm.errors import ByLLMError

    pending: list[type[BaseException]] = [ByLLMError]
    while pending:
        error_type = pending.pop()
        copyreg.pickle(error_type, _reduce_error)
        pending.extend(error_type.__subclasses__())


register_error_pickling()
