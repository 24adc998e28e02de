"""Finding the plugins of an entry-point group quickly.

Scanning every installed distribution (and importing :mod:`importlib.metadata`)
costs tens of milliseconds, more than the rest of ``jac run``'s start-up. The
result only changes when packages are installed or removed, which changes the
modification time of a ``sys.path`` directory, so it is cached in a small JSON
file keyed on those times. Set ``JAC_NO_PLUGIN_CACHE=1`` to always scan.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from typing import Any

CACHE_FORMAT = 2


@dataclass(frozen=True)
class PluginEntryPoint:
    """One entry point of a group, with the distribution that declares it."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> Any:
        """Import the object the entry point names (``module:attribute.path``)."""
        module_name, _, attribute_path = self.value.partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for attribute in filter(None, attribute_path.strip().split(".")):
            target = getattr(target, attribute)
        return target


def cache_directory() -> str:
    """Where jac keeps per-user caches (``JAC_CACHE_DIR``, else the XDG cache dir)."""
    configured = os.environ.get("JAC_CACHE_DIR")
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jac")


def _path_fingerprint() -> list[Any]:
    """The Python version and every ``sys.path`` directory with its modification time."""
    fingerprint: list[Any] = [sys.version]
    for entry in sys.path:
        if not entry:  # the current directory: changes all the time, never holds installed plugins
            continue
        try:
            stamp = os.stat(entry).st_mtime_ns
        except OSError:
            stamp = 0
        fingerprint.append([entry, stamp])
    return fingerprint


def _scan(group: str) -> list[PluginEntryPoint]:
    from importlib import metadata

    found = []
    for dist in metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group == group:
                found.append(PluginEntryPoint(entry_point.name, entry_point.value, dist.metadata["name"], dist.version))
    return found


def group_entry_points(group: str) -> list[PluginEntryPoint]:
    """Every entry point of ``group`` among the installed distributions."""
    if os.environ.get("JAC_NO_PLUGIN_CACHE"):
        return _scan(group)
    fingerprint = _path_fingerprint()
    cache_file = os.path.join(cache_directory(), f"entry-points-{group}.json")
    try:
        with open(cache_file, encoding="utf-8") as handle:
            cached = json.load(handle)
        if cached.get("format") == CACHE_FORMAT and cached.get("fingerprint") == fingerprint:
            return [PluginEntryPoint(**item) for item in cached["entry_points"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    found = _scan(group)
    payload = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "entry_points": [asdict(item) for item in found]}
    try:
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        partial = f"{cache_file}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(partial, cache_file)
    except OSError:
        pass  # a read-only home only costs the scan next time
    return found
