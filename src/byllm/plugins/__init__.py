"""byllm's built-in plugins: persistent cache, call log, usage and cost, tracing.

Each is its own ``jac`` entry point (``byllm-cache``, ``byllm-log``,
``byllm-usage``, ``byllm-tracing``), so any of them can be blocked with
``JAC_DISABLED_PLUGINS``. Usage, the call log and tracing read the finished
:class:`~byllm.call.CallRecord` (the ``llm_call_finished`` hook); the cache is
the one that answers completions. The entry points' classes are in
:mod:`byllm.plugins.entry`, which every ``jac`` start imports and which imports
nothing else; plugins that are off register no hook at all and their modules
are not imported (see :mod:`byllm.plugins.activation`).
"""
