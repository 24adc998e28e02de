"""A plugin module that raises while being imported, as a plugin with a bug would."""

raise RuntimeError("broken-plugin fails on import on purpose")
