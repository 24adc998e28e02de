"""Fixtures: venvs with the example plugin packages (and a broken one) installed."""

from __future__ import annotations

import pytest

from plugin_packages.venvs import TEST_PLUGINS, EXAMPLE_PLUGINS, PluginVenv, create_plugin_venv, examples_venv


@pytest.fixture(scope="session")
def plugins_venv(tmp_path_factory: pytest.TempPathFactory) -> PluginVenv:
    """Every example plugin package installed (``my-byllm-plugin`` in editable mode)."""
    return examples_venv(tmp_path_factory)


@pytest.fixture(scope="session")
def broken_plugins_venv(tmp_path_factory: pytest.TempPathFactory) -> PluginVenv:
    """A plugin that raises on import installed next to the custom provider plugin."""
    root = tmp_path_factory.mktemp("broken-venv")
    return create_plugin_venv(
        root / "venv",
        [TEST_PLUGINS / "broken-plugin", EXAMPLE_PLUGINS / "custom-provider-plugin"],
    )
