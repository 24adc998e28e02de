"""byllm's built-in plugins: persistent cache, call log, usage and cost, tracing.

Each is its own ``jac`` entry point (``byllm-cache``, ``byllm-log``,
``byllm-usage``, ``byllm-tracing``), so any of them can be blocked with
``JAC_DISABLED_PLUGINS``. Usage, the call log and tracing read the finished
:class:`~byllm.call.CallRecord` (the ``llm_call_finished`` hook); the cache is
the one that answers completions. Plugins that are off register no hook at all
(see :mod:`byllm.plugins.activation`).
"""
