"""Finding the plugins of an entry-point group quickly.

Scanning every installed distribution (and importing :mod:`importlib.metadata`)
costs tens of milliseconds, more than the rest of ``jac run``'s start-up. The
result only changes when packages are installed or removed, which changes the
modification time of a ``sys.path`` directory, so it is cached in a small JSON
file keyed on those times. Set ``JAC_NO_PLUGIN_CACHE=1`` to always scan.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CACHE_FORMAT = 1


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


def cache_directory() -> Path:
    """Where jac keeps per-user caches (``JAC_CACHE_DIR``, else the XDG cache dir)."""
    configured = os.environ.get("JAC_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "jac"


def _path_fingerprint() -> str:
    """A digest of every ``sys.path`` directory and its modification time."""
    digest = hashlib.sha256(sys.version.encode())
    for entry in sys.path:
        if not entry:  # the current directory: changes all the time, never holds installed plugins
            continue
        try:
            stamp = os.stat(entry or ".").st_mtime_ns
        except OSError:
            stamp = 0
        digest.update(f"{entry}\0{stamp}\0".encode())
    return digest.hexdigest()


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
    cache_file = cache_directory() / f"entry-points-{group}.json"
    try:
        cached = json.loads(cache_file.read_text())
        if cached.get("format") == CACHE_FORMAT and cached.get("fingerprint") == fingerprint:
            return [PluginEntryPoint(**item) for item in cached["entry_points"]]
    except (OSError, ValueError, TypeError, KeyError):
        pass
    found = _scan(group)
    payload = {"format": CACHE_FORMAT, "fingerprint": fingerprint, "entry_points": [asdict(item) for item in found]}
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(payload))
        os.replace(partial, cache_file)
    except OSError:
        pass  # a read-only home only costs the scan next time
    return found
