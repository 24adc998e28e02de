"""byllm's built-in plugins: persistent cache, call log, usage and cost, tracing.

Each is its own ``jac`` entry point (``byllm-cache``, ``byllm-log``, ``byllm-usage``,
``byllm-tracing``; classes in :mod:`byllm.plugins.entry`), so ``JAC_DISABLED_PLUGINS`` can
block any of them. Usage, the call log and tracing read the finished
:class:`~byllm.call.CallRecord` (the ``llm_call_finished`` hook); the cache answers
completions. A plugin that is off registers no hook and its module is not imported
(:mod:`byllm.plugins.activation`).
"""


def describe_error(error: BaseException) -> str:
    """``Type: message`` with credentials masked, for the plugins' warnings, the call log and their commands."""
    from byllm.redact import redact

    return redact(f"{type(error).__name__}: {error}")
