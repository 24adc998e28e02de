"""byLLM: meaning-typed ``by llm()`` calls for Jac and Python.

``from byllm import Model`` (also ``byllm.lib`` and ``byllm.llm``).
"""

from __future__ import annotations

from typing import Any

import jaclang  # noqa: F401  (loads the plugin machine and byllm's own plugin)
from byllm.errors import ByLLMError, OutputConversionError
from byllm.lib import by, sem
from byllm.llm import Model

__version__ = "0.1.0"

__all__ = ["ByLLMError", "Model", "OutputConversionError", "by", "sem", "__version__"]


def __getattr__(name: str) -> Any:
    """Lazily expose the heavier helpers of :mod:`byllm.lib` (``Image``, ``map``, ...)."""
    from byllm import lib

    return getattr(lib, name)
