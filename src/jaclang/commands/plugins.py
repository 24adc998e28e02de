"""``jac plugins``: the loaded plugins, where each comes from and the hooks it implements."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata


@dataclass
class PluginInfo:
    """One row of ``jac plugins``."""

    name: str
    status: str
    distribution: str
    version: str
    hooks: list[str] = field(default_factory=list)
    object: str = ""
    error: str = ""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``jac plugins [--json]``."""
    parser = subparsers.add_parser(
        "plugins",
        help="list loaded plugins and the hooks each implements",
        description="List the jac plugins: loaded, blocked (JAC_DISABLED_PLUGINS) or failed to load, "
        "with their distribution, version and the hooks each implements.",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=run)


def _entry_point_sources(group: str = "jac") -> dict[str, tuple[str, str, str]]:
    """Entry-point name -> (distribution, version, object path) for a group."""
    sources: dict[str, tuple[str, str, str]] = {}
    for dist in metadata.distributions():
        for entry_point in dist.entry_points:
            if entry_point.group == group:
                sources.setdefault(entry_point.name, (dist.metadata["name"], dist.version, entry_point.value))
    return sources


def _object_path(plugin: object) -> str:
    target = plugin if isinstance(plugin, type) else type(plugin)
    if isinstance(plugin, type) or not hasattr(plugin, "__dict__"):
        return f"{target.__module__}:{target.__qualname__}"
    return f"{target.__module__}:{target.__qualname__}()"


def collect_plugins() -> list[PluginInfo]:
    """Every plugin the jac plugin manager knows: loaded, blocked, or failed to load."""
    import jaclang  # noqa: F401  (loads the entry points)
    from jaclang.runtimelib.machine import plugin_hooks, plugin_manager

    sources = _entry_point_sources()
    rows: list[PluginInfo] = []
    for name, plugin in plugin_manager.list_name_plugin():
        distribution, version = plugin_manager.plugin_sources.get(name, ("", ""))
        if plugin is None:
            dist_name, dist_version, value = sources.get(name, ("", "", ""))
            rows.append(PluginInfo(name, "blocked", dist_name or "-", dist_version or "-", [], value))
            continue
        rows.append(
            PluginInfo(
                name,
                "loaded",
                distribution or "(registered in code)",
                version or "-",
                plugin_hooks(plugin),
                _object_path(plugin),
            )
        )
    for name, message in plugin_manager.failed_plugins.items():
        dist_name, dist_version, value = sources.get(name, ("", "", ""))
        rows.append(PluginInfo(name, "failed", dist_name or "-", dist_version or "-", [], value, message))
    return rows


def format_table(rows: list[PluginInfo]) -> str:
    """The plugins as an aligned table, hooks comma separated."""
    header = ("NAME", "STATUS", "DISTRIBUTION", "VERSION", "HOOKS")
    lines = [header] + [
        (row.name, row.status, row.distribution, row.version, ", ".join(row.hooks) or (row.error or "-"))
        for row in rows
    ]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths)) + "  " + line[-1] for line in lines
    )


def run(options: argparse.Namespace) -> int:
    """Print the plugin list."""
    rows = collect_plugins()
    if options.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
    else:
        print(format_table(rows))
    return 0
