"""byLLM: meaning-typed ``by llm()`` calls for Jac and Python.

``from byllm import Model`` (also ``byllm.lib`` and ``byllm.llm``). Names are
resolved on first use, so that loading byllm's plugin (which every ``jac run``
does) does not import Pydantic until a program actually calls a model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import jaclang  # noqa: F401  (the .jac importer; the plugins load with byllm.llm's plugin machine)

if TYPE_CHECKING:
    from byllm.errors import ByLLMError, OutputConversionError
    from byllm.lib import by, sem
    from byllm.llm import Model

__version__ = "0.1.0"

__all__ = ["ByLLMError", "Model", "OutputConversionError", "by", "sem", "__version__"]


def __getattr__(name: str) -> Any:
    """Resolve the public names of :mod:`byllm.lib` on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    value = getattr(importlib.import_module("byllm.lib"), name)
    globals()[name] = value
    return value
