"""byllm's built-in plugins: persistent cache, call log, usage and cost, tracing.

Each is a Pluggy wrapper registered as its own ``jac`` entry point
(``byllm-cache``, ``byllm-log``, ``byllm-usage``, ``byllm-tracing``), so any of
them can be switched off with ``JAC_DISABLED_PLUGINS`` and all of them compose
with each other and with third-party plugins.
"""
