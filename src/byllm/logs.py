"""byllm's loggers, made when the first message is logged.

byllm logs only on retries and failures, and importing :mod:`logging` costs
about 18M instructions (5-9 ms) of a program's start-up, so modules on the call
path ask for their logger here instead of creating it at import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import logging


def logger(name: str) -> logging.Logger:
    """The standard logger ``name`` (``logging.getLogger``), importing :mod:`logging` on first use."""
    import logging

    return logging.getLogger(name)
