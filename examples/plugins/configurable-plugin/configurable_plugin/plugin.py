"""Configurable byLLM Plugin.

The class is the spec's ``ConfigurableMachine`` unchanged; the imports above it
are the ones the spec's other examples use, and ``machine`` is the configured
instance the ``jac`` entry point registers.
"""

from typing import Callable

from jaclang.runtimelib.machine import hookimpl
from byllm.llm import Model


class ConfigurableMachine:
    def __init__(self):
        self.config = self._load_config()

    def _load_config(self):
        # Load from environment, file, etc.
        return {"enabled": True, "log_level": "INFO"}

    @hookimpl
    def call_llm(self, model: Model, caller: Callable, args: dict[str | int, object]) -> object:
        if not self.config["enabled"]:
            return model.invoke(caller, args)

        # Plugin logic implementation


# The entry point names this instance, so the plugin manager registers an object
# whose configuration was loaded once at start-up.
machine = ConfigurableMachine()
