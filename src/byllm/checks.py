"""The ``byllm-checks`` plugin: a ``call_llm`` answer must have the declared return type.

byllm's own answers are typed already; a plugin that answers ``call_llm`` itself
(a cache, a custom provider) might return anything, and a ``-> int`` function
returning a ``str`` would surprise its caller far from the cause.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from jaclang.runtimelib.machine import hookimpl, passive_for

if TYPE_CHECKING:
    from byllm.llm import Model


class ResultCheck:
    """Checks that a plugin answering ``call_llm`` returned a value of the declared return type.

    byllm's own answers are typed already (they are the value of the call's
    record); a value from anywhere else is validated, and a wrong one raises
    :class:`~byllm.errors.OutputConversionError` naming the plugins that answer
    ``call_llm``.
    """

    @staticmethod
    @hookimpl(wrapper=True)
    @passive_for("byllm")  # byllm's own answers are typed already: with no other answer, nothing to check
    def call_llm(model: Model, caller: Callable, args: dict[str | int, object]) -> Any:
        """Let the call run, then check a result byllm did not produce."""
        try:
            result = yield
        except Exception as error:
            explained = _explained(error, model)
            if explained is error:
                raise
            raise explained from None
        record = getattr(model, "last_call", None)
        if record is not None and record.value is result:
            return result
        return _checked(model, caller, result)


def _explained(error: Exception, model: Any) -> Exception:
    """A "no provider serves the model" error, reworded when an installed call_llm plugin never saw the call.

    Pluggy calls the latest-registered plugin first; when that one hands the call to
    ``model.invoke`` for a model only another plugin serves, telling the user to
    install a plugin would be wrong: it is installed, just not reached.
    """
    from byllm.errors import ConfigurationError

    model_name = getattr(model, "model_name", None)
    message = str(error)
    if not isinstance(error, ConfigurationError) or "no provider" not in message or repr(model_name) not in message:
        return error
    from jaclang.runtimelib import machine

    in_call_order = [
        implementation
        for implementation in reversed(machine.plugin_manager.hook.call_llm.get_hookimpls())
        if not (implementation.wrapper or implementation.hookwrapper) and implementation.plugin_name != "byllm"
    ]
    codes = {implementation.function.__code__: implementation for implementation in in_call_order}
    traceback = error.__traceback__
    first = None
    while traceback is not None and first is None:  # the outermost plugin frame is the one that was asked first
        first = codes.get(traceback.tb_frame.f_code)
        traceback = traceback.tb_next
    if first is None:
        return error
    not_reached = [implementation.plugin_name for implementation in in_call_order[in_call_order.index(first) + 1 :]]
    if not not_reached:
        return error
    return ConfigurationError(
        f"no provider serves the model {model_name!r} for the plugin that answered first: call_llm of "
        f"{first.plugin_name!r} passed the call to byllm, so {', '.join(map(repr, not_reached))} (installed) never "
        f"saw it; mark the call_llm of the plugin serving {model_name!r} @hookimpl(tryfirst=True), or have "
        f"{first.plugin_name!r} return None for models it does not serve"
    )


def _checked(model: Any, caller: Callable, result: Any) -> Any:
    import inspect

    from byllm.meaning import describe_function

    meaning = describe_function(caller)
    if meaning.is_async or inspect.isawaitable(result) or (hasattr(model, "param") and model.param("stream")):
        return result  # awaited or streamed later: checked where it is produced
    from byllm.errors import OutputConversionError
    from byllm.output import ReplyMismatch, output_type

    output = output_type(meaning.return_type)
    try:
        return output.check(result)
    except ReplyMismatch as mismatch:
        from jaclang.runtimelib import machine

        answering = [
            implementation.plugin_name
            for implementation in machine.plugin_manager.hook.call_llm.get_hookimpls()
            if not (implementation.wrapper or implementation.hookwrapper) and implementation.plugin_name != "byllm"
        ]
        raise OutputConversionError(
            f"{meaning.qualified_name}: a call_llm plugin ({', '.join(answering) or 'unknown'}) returned "
            f"{type(result).__name__} {result!r:.200}, which does not fit the return type {output.name}: "
            f"{mismatch.feedback}",
            raw_output=result,
            expected_type=output.annotation,
            attempts=[],
        ) from None
