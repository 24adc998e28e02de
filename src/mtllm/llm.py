"""``mtllm.llm``: upstream's other spelling of the same surface (``import from mtllm.llm { Model }``)."""

from mtllm import *  # noqa: F403
from mtllm import __all__ as __all__, __getattr__ as __getattr__  # noqa: PLC0414  (Image, Video: loaded lazily)
