"""Suite-wide test settings: every cache the product writes stays in a temporary directory,
and tests that register plugins do it on a fresh plugin manager of their own."""

from __future__ import annotations

import os
import tempfile
from typing import Callable

import pytest

# Set before any test imports jaclang, so subprocesses inherit it too.
os.environ.setdefault("JAC_CACHE_DIR", tempfile.mkdtemp(prefix="jac-test-cache-"))


@pytest.fixture
def register_plugin(jac_plugin_manager) -> Callable[..., object]:  # type: ignore[no-untyped-def]
    """``register_plugin(plugin)``: register on this test's fresh plugin manager (gone after the test)."""

    def register(plugin: object, name: str | None = None) -> object:
        jac_plugin_manager.register(plugin, name=name)
        return plugin

    return register
