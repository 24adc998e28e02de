"""Finding the plugins of an entry-point group quickly.

Scanning every installed distribution (and importing :mod:`importlib.metadata`)
costs tens of milliseconds, more than the rest of ``jac run``'s start-up. The
result only changes when packages are installed or removed, which changes the
modification time of a ``sys.path`` directory, so it is cached in a small file
of tab-separated lines keyed on those times. Set ``JAC_NO_PLUGIN_CACHE=1`` to
always scan. It is read whenever the plugins load: by a program's first
``by llm()`` function, and by ``jac`` commands that list or run plugins.
"""

from __future__ import annotations

import os
import sys
from typing import Any

CACHE_FORMAT = 4
_FIELDS = ("name", "value", "distribution", "version")


class PluginEntryPoint:
    """One entry point of a group, with the distribution that declares it (immutable)."""

    __slots__ = _FIELDS

    name: str
    value: str
    distribution: str
    version: str

    def __init__(self, name: str, value: str, distribution: str, version: str) -> None:
        for field_name, field_value in zip(_FIELDS, (name, value, distribution, version)):
            object.__setattr__(self, field_name, field_value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"PluginEntryPoint is immutable: cannot set {name!r}")

    def _key(self) -> tuple[str, str, str, str]:
        return (self.name, self.value, self.distribution, self.version)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PluginEntryPoint):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"PluginEntryPoint(name={self.name!r}, value={self.value!r}, "
            f"distribution={self.distribution!r}, version={self.version!r})"
        )

    def distribution_record(self) -> Any:
        """The ``importlib.metadata`` distribution declaring this entry point (looked up lazily)."""
        return _DistributionRecord(self.distribution, self.version)

    def load(self) -> Any:
        """Import the object the entry point names (``module:attribute.path``)."""
        import importlib

        module_name, _, attribute_path = self.value.partition(":")
        target: Any = importlib.import_module(module_name.strip())
        for attribute in filter(None, attribute_path.strip().split(".")):
            target = getattr(target, attribute)
        return target


class _DistributionRecord:
    """A distribution known by name and version; anything else is read from its metadata on demand."""

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version

    @property
    def metadata(self) -> Any:
        """The distribution's metadata (``metadata["name"]``)."""
        return self._distribution().metadata

    def _distribution(self) -> Any:
        from importlib import metadata

        return metadata.distribution(self.name)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._distribution(), attribute)

    def __repr__(self) -> str:
        return f"<distribution {self.name} {self.version}>"


def cache_directory() -> str:
    """Where jac keeps per-user caches (``JAC_CACHE_DIR``, else the XDG cache dir)."""
    configured = os.environ.get("JAC_CACHE_DIR")
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jac")


def _path_fingerprint() -> list[str]:
    """The Python version and every ``sys.path`` directory with its modification time, one line each."""
    fingerprint = [sys.version.replace("\n", " ")]
    for entry in sys.path:
        if not entry:  # the current directory: changes all the time, never holds installed plugins
            continue
        try:
            stamp = os.stat(entry).st_mtime_ns
        except OSError:
            stamp = 0
        fingerprint.append(f"{entry}\t{stamp}")
    return fingerprint


def _scan(group: str) -> list[PluginEntryPoint]:
    from importlib import metadata

    found: dict[PluginEntryPoint, None] = {}  # one distribution may be seen twice (an editable install's metadata)
    for dist in metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group == group:
                found[PluginEntryPoint(entry_point.name, entry_point.value, dist.metadata["name"], dist.version)] = None
    return list(found)


def _read_cache(cache_file: str, fingerprint: list[str]) -> list[PluginEntryPoint] | None:
    """The cached entry points, or ``None`` when the file is missing, stale or damaged.

    Layout: ``format N``, the fingerprint lines, a blank line, then one
    tab-separated ``name value distribution version`` line per entry point.
    """
    try:
        with open(cache_file, encoding="utf-8") as handle:
            lines = handle.read().split("\n")
    except (OSError, ValueError):
        return None
    header = len(fingerprint) + 1
    if len(lines) < header + 2 or lines[0] != f"format {CACHE_FORMAT}" or lines[1:header] != fingerprint:
        return None
    if lines[header] != "" or lines[-1] != "":
        return None
    found = []
    for line in lines[header + 1 : -1]:
        fields = line.split("\t")
        if len(fields) != len(_FIELDS):
            return None
        found.append(PluginEntryPoint(*fields))
    return found


def _cacheable(fingerprint: list[str], found: list[PluginEntryPoint]) -> bool:
    """Whether every value fits the line format (no stray tabs or line breaks)."""
    if any("\n" in line or "\r" in line or line.count("\t") > 1 for line in fingerprint[1:]):
        return False
    return not any(
        "\t" in text or "\n" in text or "\r" in text for item in found for text in item._key()
    )


def group_entry_points(group: str) -> list[PluginEntryPoint]:
    """Every entry point of ``group`` among the installed distributions."""
    if os.environ.get("JAC_NO_PLUGIN_CACHE"):
        return _scan(group)
    fingerprint = _path_fingerprint()
    cache_file = _cache_file(group, fingerprint)
    cached = _read_cache(cache_file, fingerprint)
    if cached is not None:
        return cached
    found = _scan(group)
    if not _cacheable(fingerprint, found):
        return found
    lines = [f"format {CACHE_FORMAT}", *fingerprint, "", *("\t".join(item._key()) for item in found)]
    try:
        os.makedirs(os.path.dirname(cache_file), exist_ok=True)
        partial = f"{cache_file}.{os.getpid()}.tmp"
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.replace(partial, cache_file)
        _prune(group, cache_file)
    except OSError:
        pass  # a read-only home only costs the scan next time
    return found


# Cache files kept per group: one per distinct sys.path (``jac``, ``python -c``,
# ``python app.py`` in each project directory), so switching between them does
# not rescan every time.
KEPT_CACHE_FILES = 16


def _cache_file(group: str, fingerprint: list[str]) -> str:
    """The cache file for one group and one ``sys.path``: a 32-bit hash of the fingerprint is in its name."""
    import zlib

    checksum = zlib.crc32("\n".join(fingerprint).encode("utf-8", "surrogateescape"))
    return os.path.join(cache_directory(), f"entry-points-{group}-{checksum:08x}.txt")


def _prune(group: str, kept: str) -> None:
    """Remove the least recently written cache files of ``group`` beyond :data:`KEPT_CACHE_FILES`."""
    directory = os.path.dirname(kept)
    prefix = f"entry-points-{group}-"
    stamped = []
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(".txt"):
            path = os.path.join(directory, name)
            try:
                stamped.append((os.stat(path).st_mtime_ns, path))
            except OSError:
                continue
    stamped.sort(reverse=True)
    for _, path in stamped[KEPT_CACHE_FILES:]:
        if path != kept:
            try:
                os.remove(path)
            except OSError:
                pass  # another process removed it first
