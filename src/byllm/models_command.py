"""``jac models``: which model names work, which API keys are set, which local servers answer.

Added to the ``jac`` command line by :class:`byllm.commands.ModelsCommand`
(entry point ``byllm-models``), which imports this module only when the command runs. The name rules and server presets are read from
:mod:`byllm.providers.registry`; key values are never printed, only whether each
variable is set; local servers are probed over loopback only, with a short
timeout, all at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

PROBE_TIMEOUT = 0.5  # seconds per server; the probes run in parallel
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
SHOWN_SERVER_MODELS = 5


@dataclass
class NameRule:
    """One kind of model name byllm accepts, the provider it selects and the key it reads."""

    names: str
    provider: str
    key: str | None = None
    key_set: bool | None = None
    note: str = ""


@dataclass
class LocalServer:
    """A local OpenAI-compatible server preset and whether it answered the probe."""

    name: str
    url: str
    answers: bool = False
    models: list[str] = field(default_factory=list)
    problem: str = ""


def models_command(options: argparse.Namespace) -> int:
    """Print the models report (text or JSON); always exits 0."""
    rules = name_rules()
    servers = local_servers()
    if not options.no_probe:
        probe_all(servers)
    settings = current_settings()
    if options.json:
        report = {
            "names": [asdict(rule) for rule in rules],
            "api_keys": {name: bool(os.environ.get(name)) for name in api_key_names(rules)},
            "local_servers": [asdict(server) for server in servers] if not options.no_probe else
            [{"name": server.name, "url": server.url} for server in servers],
            **settings,
        }
        print(json.dumps(report, indent=2))
        return 0
    print(format_report(rules, servers, settings, probed=not options.no_probe))
    return 0


def name_rules() -> list[NameRule]:
    """The name rules of :mod:`byllm.providers.registry`, with each one's key variable and whether it is set."""
    from byllm.providers import registry

    mock_names = sorted(getattr(registry, "MOCK_MODEL_NAMES", ("mockllm",)))
    rules = [
        NameRule(", ".join(mock_names), "scripted mock (offline; Model(..., outputs=[...]))"),
        NameRule("gpt-*, chatgpt-*, o1*, o3*, o4*", "OpenAI", "OPENAI_API_KEY",
                 note="OPENAI_BASE_URL sends them to a proxy"),
        NameRule("openai/<model>", "OpenAI", "OPENAI_API_KEY"),
        NameRule("claude-*, anthropic/<model>", "Anthropic", "ANTHROPIC_API_KEY"),
        NameRule("litellm/<provider>/<model>", "LiteLLM", note=_installed_note("litellm", "pip install litellm")),
        NameRule("local/<file.gguf or name>", "llama.cpp in this process",
                 note=_installed_note("xllamacpp", "pip install 'jaclang[local]'")),
    ]  # fmt: skip
    for prefix, preset in sorted(getattr(registry, "LOCAL_SERVERS", {}).items()):
        rules.append(NameRule(f"{prefix}/<model>", f"local server at {preset.base_url}", preset.api_key_env,
                              note=f"{prefix.upper()}_BASE_URL overrides the URL"))
    for prefix, preset in sorted(getattr(registry, "HOSTED_SERVERS", {}).items()):
        rules.append(NameRule(f"{prefix}/<model>", f"hosted at {preset.base_url}", preset.api_key_env))
    rules.append(NameRule("any name with base_url=...", "the OpenAI-compatible server at base_url"))
    for rule in rules:
        if rule.key is not None:
            rule.key_set = bool(os.environ.get(rule.key))
    return rules


def _installed_note(module: str, install: str) -> str:
    import importlib.util

    return "installed" if importlib.util.find_spec(module) is not None else f"not installed: {install}"


def api_key_names(rules: list[NameRule]) -> list[str]:
    """Every API key variable the rules read, once each, in order."""
    return list(dict.fromkeys(rule.key for rule in rules if rule.key))


def local_servers() -> list[LocalServer]:
    """The local server presets with the URL byllm would use (``<NAME>_BASE_URL`` overrides the preset)."""
    from byllm.providers import registry

    presets = getattr(registry, "LOCAL_SERVERS", {})
    return [
        LocalServer(name, os.environ.get(f"{name.upper()}_BASE_URL") or preset.base_url)
        for name, preset in sorted(presets.items())
    ]


def probe_all(servers: list[LocalServer]) -> None:
    """Probe every server at once (the whole command waits about one timeout at most)."""
    if not servers:
        return
    with ThreadPoolExecutor(max_workers=len(servers)) as pool:
        list(pool.map(probe, servers))


def probe(server: LocalServer) -> None:
    """Ask ``GET <url>/models`` on a loopback address; record whether it answered and the models it lists."""
    import urllib.error
    import urllib.request

    host = (urlsplit(server.url).hostname or "").lower()
    if host not in LOOPBACK_HOSTS:
        server.problem = f"not probed: {host or server.url} is not a loopback address"
        return
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never goes through a proxy
    try:
        with opener.open(server.url.rstrip("/") + "/models", timeout=PROBE_TIMEOUT) as response:
            body = response.read(1_000_000)
    except urllib.error.HTTPError as error:
        server.answers = True  # something listens there, even if it has no model list
        server.problem = f"answered HTTP {error.code} to GET /models"
        return
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        server.problem = f"no answer ({reason})"
        return
    server.answers = True
    try:
        listed = json.loads(body).get("data", [])
        server.models = [str(entry.get("id")) for entry in listed if isinstance(entry, dict) and entry.get("id")]
    except (ValueError, AttributeError):
        server.problem = "answered, but not with an OpenAI-style model list"


def current_settings() -> dict[str, Any]:
    """The default model and the run-wide override byllm's settings give (each ``None`` when unknown)."""
    try:
        from byllm.settings import get_settings

        settings = get_settings()
    except Exception as error:  # a broken config file must not hide the rest of the report
        return {"default_model": None, "model_override": None, "settings_problem": str(error)}
    return {"default_model": settings.default_model, "model_override": getattr(settings, "model", None)}


def format_report(rules: list[NameRule], servers: list[LocalServer], settings: dict[str, Any], probed: bool) -> str:
    """The text report: names and providers, API keys, local servers, default model."""
    lines = ["Model names (first match wins):"]
    width = max(len(rule.names) for rule in rules)
    for rule in rules:
        extras = [rule.note] if rule.note else []
        if rule.key:
            extras.insert(0, f"{rule.key} {'set' if rule.key_set else 'not set'}")
        suffix = f"  ({'; '.join(extras)})" if extras else ""
        lines.append(f"  {rule.names.ljust(width)}  {rule.provider}{suffix}")
    lines += ["", "API keys (names only):"]
    for name in api_key_names(rules):
        lines.append(f"  {name.ljust(22)} {'set' if os.environ.get(name) else 'not set'}")
    lines += ["", "Local servers:"]
    for server in servers:
        if not probed:
            status = "not probed (--no-probe)"
        elif server.answers:
            shown = ", ".join(server.models[:SHOWN_SERVER_MODELS])
            more = f" and {len(server.models) - SHOWN_SERVER_MODELS} more" if len(server.models) > SHOWN_SERVER_MODELS else ""
            status = f"answers; models: {shown}{more}" if server.models else f"answers{'; ' + server.problem if server.problem else ''}"
        else:
            status = server.problem
        lines.append(f"  {server.name.ljust(10)} {server.url.ljust(28)} {status}")
    lines.append("")
    if settings.get("settings_problem"):
        lines.append(f"Settings could not be read: {settings['settings_problem']}")
    else:
        lines.append(f"Default model: {settings['default_model']} (BYLLM_DEFAULT_MODEL or the config file change it)")
        if settings.get("model_override"):
            lines.append(f"Every model of a run is replaced by: {settings['model_override']} (BYLLM_MODEL)")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m byllm.models_command
    sys.exit(models_command(argparse.Namespace(json="--json" in sys.argv, no_probe="--no-probe" in sys.argv)))
