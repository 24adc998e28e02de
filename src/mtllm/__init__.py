"""``mtllm``: byllm's earlier name, kept so that ``import from mtllm { Model }`` programs run unchanged.

Everything here is :mod:`byllm.lib`'s (``Model``, ``MockLLM``, ``Image``, ``Video``, ``by``, ``sem``, the
errors); :mod:`mtllm.llm` holds the same names, as upstream also spelled it, and :mod:`mtllm.llms` the
model classes of mtllm's 2024 releases.
"""

from __future__ import annotations

from typing import Any

import byllm.lib
from byllm.lib import *  # noqa: F403  (the whole public surface, under the old name)
from byllm.lib import __all__ as __all__  # noqa: PLC0414


def __getattr__(name: str) -> Any:
    """The lazily loaded names of :mod:`byllm.lib` (``Image``, ``Video``, ``map``, ``amap``)."""
    return getattr(byllm.lib, name)
