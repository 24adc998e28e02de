"""byllm's configuration: one place that reads the config file and the environment.

Precedence, highest first:

1. call parameters (``by llm(temperature=0.7, cache=False)``)
2. the model's configuration (``Model("gpt-4o", temperature=0.2, cache=True)``)
3. environment variables (``BYLLM_DEFAULT_MODEL``, ``BYLLM_MODEL``, ``BYLLM_RETRIES``,
   ``BYLLM_VERBOSE``, ``BYLLM_CACHE``, ``BYLLM_CACHE_TTL``, ``BYLLM_LOG``, ``BYLLM_TRACING``,
   ``BYLLM_PARAMS``)
4. the config file: the ``[byllm]`` section of ``jac.toml`` or ``[tool.byllm]`` of
   ``pyproject.toml``, in the current directory or the nearest parent having one
   (``BYLLM_CONFIG=path`` names the file explicitly)
5. built-in defaults (model ``gpt-4o-mini``, 2 retries, cache off, log off, tracing
   on when OpenTelemetry is installed)

Levels 1 and 2 are read by :class:`byllm.llm.Model` and the plugins; this module
merges levels 3 to 5 into one :class:`Settings`, read once and cached:
:func:`reload_settings` reads again after a ``BYLLM_*`` variable or the config
file changed at run time (tests do it after ``monkeypatch.setenv``).

pathlib is imported by the functions that build paths, not with the module: a
run without a config file or a cache never needs it (it and urllib.parse, which
it imports, were most of this module's import time).
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from pathlib import Path

from byllm.errors import ConfigurationError

FALLBACK_MODEL = "gpt-4o-mini"

CONFIG_FILE_NAMES = ("jac.toml", "pyproject.toml")

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"", "0", "false", "no", "off", "none"})


@dataclass(frozen=True)
class Settings:
    """byllm's settings from the environment, the config file and the defaults (read-only).

    ``cache`` is a backend URL (``sqlite:///path`` or ``redis://...``) or ``None``
    (off); ``log`` is the call log's SQLite path or ``None`` (off); ``tracing`` is
    ``"auto"`` (on when OpenTelemetry is importable and a tracer provider is set),
    ``"on"`` or ``"off"``; ``model``, when set, replaces the model of every
    ``Model`` of the run; ``verbose`` prints every call's messages and replies.
    """

    default_model: str = FALLBACK_MODEL
    model: str | None = None
    retries: int | None = None
    verbose: bool = False
    cache: str | None = None
    cache_ttl: float | None = None
    cache_mock: bool = False
    log: Path | None = None
    tracing: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)
    config_file: Path | None = None
    # The shared rate limit (byllm.ratelimit): "memory" (per process) or a redis:// URL shared by every
    # worker; requests and tokens per minute per provider and key.
    rate_limit: str | None = None
    rate_limit_rpm: float | None = None
    rate_limit_tpm: float | None = None


def user_cache_dir() -> Path:
    """Where byllm keeps its cache by default (``$XDG_CACHE_HOME/byllm``)."""
    from pathlib import Path

    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "byllm" / "cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "byllm"


def user_data_dir() -> Path:
    """Where byllm keeps its call log by default (``$XDG_DATA_HOME/byllm``)."""
    from pathlib import Path

    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "byllm" / "data"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "byllm"


def default_cache_url() -> str:
    """The SQLite cache used when the cache is switched on without a location."""
    return f"sqlite:///{user_cache_dir() / 'cache.db'}"


def default_log_path() -> Path:
    """The call log used when the log is switched on without a location."""
    return user_data_dir() / "logs.db"


# -- parsing one value -----------------------------------------------------
def parse_cache_target(value: Any, source: str, base_dir: Path | None = None) -> str | None:
    """A cache setting (bool, ``sqlite:///path``, ``redis://...``, a path) as a URL or ``None``."""
    if value is None or value is False:
        return None
    if value is True:
        return default_cache_url()
    if not isinstance(value, str):
        raise ConfigurationError(f"{source}: the cache must be true/false, a path or a URL, got {value!r}")
    text = value.strip()
    if text.lower() in FALSE_WORDS:
        return None
    if text.lower() in TRUE_WORDS or text.lower() == "sqlite":
        return default_cache_url()
    if text.startswith(("redis://", "rediss://", "unix://")):
        return text
    if text.startswith("sqlite:"):
        return f"sqlite:///{sqlite_path(text, source, base_dir)}"
    if "://" in text:
        raise ConfigurationError(
            f"{source}: unknown cache backend in {text!r}; use sqlite:///path/to/cache.db or redis://host:port/0"
        )
    return f"sqlite:///{_resolve_path(text, base_dir)}"


def sqlite_path(url: str, source: str = "cache", base_dir: Path | None = None) -> Path:
    """The file a ``sqlite:///path`` URL names (``sqlite:///tmp/c.db`` is ``/tmp/c.db``)."""
    rest = url[len("sqlite:") :]
    if rest.startswith("//"):
        rest = rest[2:]
    if not rest:
        raise ConfigurationError(f"{source}: {url!r} names no file; use sqlite:///path/to/file.db")
    if rest.startswith("/"):
        rest = "/" + rest.lstrip("/")
    return _resolve_path(rest, base_dir)


def parse_log_target(value: Any, source: str, base_dir: Path | None = None) -> Path | None:
    """A log setting (bool, a path or ``sqlite:///path``) as a file path or ``None``."""
    if value is None or value is False:
        return None
    if value is True:
        return default_log_path()
    if not isinstance(value, str):
        raise ConfigurationError(f"{source}: the log must be true/false or a path, got {value!r}")
    text = value.strip()
    if text.lower() in FALSE_WORDS:
        return None
    if text.lower() in TRUE_WORDS:
        return default_log_path()
    if text.startswith("sqlite:"):
        return sqlite_path(text, source, base_dir)
    if "://" in text:
        raise ConfigurationError(f"{source}: the call log is a SQLite file; give a path, not {text!r}")
    return _resolve_path(text, base_dir)


def parse_seconds(value: Any, source: str) -> float | None:
    """A TTL in seconds (a number; 0 or empty means no expiry)."""
    if value is None or (isinstance(value, str) and value.strip().lower() in FALSE_WORDS):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{source}: expected a number of seconds, got {value!r}") from None
    if seconds < 0:
        raise ConfigurationError(f"{source}: a TTL cannot be negative, got {value!r}")
    return seconds or None


def parse_retries(value: Any, source: str) -> int | None:
    """A retry count (a non-negative integer)."""
    if value is None or value == "":
        return None
    try:
        retries = int(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{source}: retries must be a whole number, got {value!r}") from None
    if retries < 0:
        raise ConfigurationError(f"{source}: retries cannot be negative, got {value!r}")
    return retries


def parse_switch(value: Any, source: str) -> bool:
    """A true/false setting."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ConfigurationError(f"{source}: expected true or false, got {value!r}")


def parse_tracing(value: Any, source: str) -> str:
    """``auto``, ``on`` or ``off``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text in TRUE_WORDS:
        return "on"
    if text in FALSE_WORDS:
        return "off"
    raise ConfigurationError(f"{source}: tracing must be auto, on or off, got {value!r}")


def parse_prices(table: Any, source: str) -> dict[str, tuple[float, float]]:
    """``{"model": {input = 1.0, output = 2.0}}`` (USD per million tokens)."""
    if not isinstance(table, Mapping):
        raise ConfigurationError(f"{source}: prices must be a table of model = {{input = ..., output = ...}}")
    prices: dict[str, tuple[float, float]] = {}
    for model_name, entry in table.items():
        if not isinstance(entry, Mapping) or not {"input", "output"} <= set(entry):
            raise ConfigurationError(
                f"{source}: the price of {model_name!r} needs input and output (USD per million tokens)"
            )
        try:
            prices[str(model_name)] = (float(entry["input"]), float(entry["output"]))
        except (TypeError, ValueError):
            raise ConfigurationError(f"{source}: the price of {model_name!r} must be numbers") from None
    return prices


def parse_rate_limit_setting(name: str, value: Any, source: str) -> str | float | None:
    """``rate_limit``: on/off, ``memory`` or a ``redis://`` URL; ``rate_limit_rpm`` / ``_tpm``: a positive number."""
    if name == "rate_limit":
        text = str(value).strip().lower() if not isinstance(value, bool) else ("on" if value else "off")
        if text in FALSE_WORDS:
            return None
        if text in TRUE_WORDS or text == "memory":
            return "memory"
        if str(value).strip().startswith(("redis://", "rediss://", "unix://")):
            return str(value).strip()
        raise ConfigurationError(f"{source}: the rate limit is on/off, 'memory' or a redis:// URL, got {value!r}")
    if value is None or (isinstance(value, str) and value.strip().lower() in FALSE_WORDS):
        return None
    try:
        per_minute = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{source}: expected a number per minute, got {value!r}") from None
    if not per_minute > 0:
        raise ConfigurationError(f"{source}: a rate limit must be positive, got {value!r}")
    return per_minute


def _resolve_path(text: str, base_dir: Path | None) -> Path:
    from pathlib import Path

    path = Path(text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


# -- the config file ---------------------------------------------------------
def find_config_file(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest ``jac.toml`` ``[byllm]`` / ``pyproject.toml`` ``[tool.byllm]`` and its section."""
    explicit = os.environ.get("BYLLM_CONFIG")
    if explicit:
        from pathlib import Path

        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"BYLLM_CONFIG names {str(path)!r}, which is not a file")
        return path, _byllm_section(path) or {}
    folder = os.path.realpath(os.getcwd() if start is None else os.fspath(start))
    while True:
        for name in CONFIG_FILE_NAMES:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate):
                from pathlib import Path

                path = Path(candidate)
                section = _byllm_section(path)
                if section is not None:
                    return path, section
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _byllm_section(path: Path) -> dict[str, Any] | None:
    import tomllib

    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(f"{path}: not valid TOML ({error})") from None
    if path.name == "pyproject.toml":
        section = document.get("tool", {}).get("byllm")
    else:
        section = document.get("byllm", document.get("tool", {}).get("byllm"))
    if section is not None and not isinstance(section, dict):
        raise ConfigurationError(f"{path}: the byllm section must be a table")
    return section


# -- merging ------------------------------------------------------------------
def load_settings(environ: Mapping[str, str] | None = None, start: Path | None = None) -> Settings:
    """Read the config file and the environment into one :class:`Settings` (no caching)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    found = find_config_file(start)
    config_file: Path | None = None
    if found is not None:
        config_file, section = found
        values.update(_from_file(section, config_file))
    values.update(_from_environment(env))
    return Settings(config_file=config_file, **values)


KNOWN_FILE_KEYS = frozenset(
    {"default_model", "model", "retries", "verbose", "cache", "cache_ttl", "cache_mock", "log", "tracing", "params",
     "prices", "rate_limit", "rate_limit_rpm", "rate_limit_tpm"}
)


def _from_file(section: dict[str, Any], path: Path) -> dict[str, Any]:
    unknown = set(section) - KNOWN_FILE_KEYS
    if unknown:
        raise ConfigurationError(
            f"{path}: unknown byllm setting(s) {sorted(unknown)}; known: {sorted(KNOWN_FILE_KEYS)}"
        )
    base = path.parent
    values: dict[str, Any] = {}
    if "default_model" in section:
        values["default_model"] = str(section["default_model"])
    if "model" in section:
        values["model"] = str(section["model"]) or None
    if "retries" in section:
        values["retries"] = parse_retries(section["retries"], f"{path}: retries")
    if "verbose" in section:
        values["verbose"] = parse_switch(section["verbose"], f"{path}: verbose")
    if "cache" in section:
        values["cache"] = parse_cache_target(section["cache"], f"{path}: cache", base)
    if "cache_ttl" in section:
        values["cache_ttl"] = parse_seconds(section["cache_ttl"], f"{path}: cache_ttl")
    if "cache_mock" in section:
        values["cache_mock"] = parse_switch(section["cache_mock"], f"{path}: cache_mock")
    if "log" in section:
        values["log"] = parse_log_target(section["log"], f"{path}: log", base)
    if "tracing" in section:
        values["tracing"] = parse_tracing(section["tracing"], f"{path}: tracing")
    if "params" in section:
        if not isinstance(section["params"], dict):
            raise ConfigurationError(f"{path}: params must be a table (temperature = 0.2, ...)")
        values["params"] = dict(section["params"])
    if "prices" in section:
        values["prices"] = parse_prices(section["prices"], f"{path}: prices")
    for name in ("rate_limit", "rate_limit_rpm", "rate_limit_tpm"):
        if name in section:
            values[name] = parse_rate_limit_setting(name, section[name], f"{path}: {name}")
    return values


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if env.get("BYLLM_DEFAULT_MODEL"):
        values["default_model"] = env["BYLLM_DEFAULT_MODEL"]
    if env.get("BYLLM_MODEL"):
        values["model"] = env["BYLLM_MODEL"]
    if env.get("BYLLM_RETRIES"):
        values["retries"] = parse_retries(env["BYLLM_RETRIES"], "BYLLM_RETRIES")
    if "BYLLM_VERBOSE" in env:
        values["verbose"] = parse_switch(env["BYLLM_VERBOSE"], "BYLLM_VERBOSE")
    if "BYLLM_CACHE" in env:
        values["cache"] = parse_cache_target(env["BYLLM_CACHE"], "BYLLM_CACHE")
    if "BYLLM_CACHE_TTL" in env:
        values["cache_ttl"] = parse_seconds(env["BYLLM_CACHE_TTL"], "BYLLM_CACHE_TTL")
    if "BYLLM_CACHE_MOCK" in env:
        values["cache_mock"] = parse_switch(env["BYLLM_CACHE_MOCK"], "BYLLM_CACHE_MOCK")
    if "BYLLM_LOG" in env:
        values["log"] = parse_log_target(env["BYLLM_LOG"], "BYLLM_LOG")
    if "BYLLM_TRACING" in env:
        values["tracing"] = parse_tracing(env["BYLLM_TRACING"], "BYLLM_TRACING")
    if env.get("BYLLM_PARAMS"):
        import json

        try:
            params = json.loads(env["BYLLM_PARAMS"])
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"BYLLM_PARAMS: not valid JSON ({error})") from None
        if not isinstance(params, dict):
            raise ConfigurationError('BYLLM_PARAMS: expected a JSON object such as {"temperature": 0.2}')
        values["params"] = params
    for name in ("rate_limit", "rate_limit_rpm", "rate_limit_tpm"):
        if f"BYLLM_{name.upper()}" in env:
            values[name] = parse_rate_limit_setting(name, env[f"BYLLM_{name.upper()}"], f"BYLLM_{name.upper()}")
    return values


ENVIRONMENT_VARIABLES = (
    "BYLLM_CONFIG",
    "BYLLM_DEFAULT_MODEL",
    "BYLLM_MODEL",
    "BYLLM_RETRIES",
    "BYLLM_VERBOSE",
    "BYLLM_CACHE",
    "BYLLM_CACHE_TTL",
    "BYLLM_CACHE_MOCK",
    "BYLLM_LOG",
    "BYLLM_TRACING",
    "BYLLM_PARAMS",
    "BYLLM_RATE_LIMIT",
    "BYLLM_RATE_LIMIT_RPM",
    "BYLLM_RATE_LIMIT_TPM",
)

_settings: Settings | None = None
_lock = threading.Lock()
_listeners: list[Callable[[Settings], None]] = []


def get_settings() -> Settings:
    """The settings, read on first use and cached (a single global read afterwards).

    A ``BYLLM_*`` variable or config file changed while the program runs takes
    effect after :func:`reload_settings`.
    """
    settings = _settings
    if settings is not None:
        return settings
    return _load_and_notify()


def _load_and_notify() -> Settings:
    global _settings
    with _lock:
        settings = _settings
        if settings is None:
            settings = _settings = load_settings()
        else:
            return settings
    for listener in list(_listeners):
        listener(settings)
    return settings


def loaded_settings() -> Settings | None:
    """The settings if they have been read already, without reading them."""
    return _settings


def when_settings_load(listener: Callable[[Settings], None]) -> None:
    """Call ``listener(settings)`` each time the settings are (re)read, e.g. to switch plugins on or off."""
    _listeners.append(listener)


def forget_settings() -> None:
    """Drop the cached settings; the next use reads them again."""
    global _settings
    with _lock:
        _settings = None


def reload_settings() -> Settings:
    """Read the environment and the config file again (after changing either at run time)."""
    forget_settings()
    return get_settings()


def model_override() -> str | None:
    """The model replacing every model of the run (``BYLLM_MODEL``, the config file's ``model``), if any."""
    return get_settings().model


def default_model_name() -> str:
    """The model used when ``Model()`` is given no name (``BYLLM_DEFAULT_MODEL``, config file)."""
    return get_settings().default_model


def default_retries(fallback: int) -> int:
    """How many times a reply that does not fit is asked for again (``BYLLM_RETRIES``, config file)."""
    retries = get_settings().retries
    return fallback if retries is None else retries


def default_params() -> dict[str, Any]:
    """Sampling parameters every model uses unless its config or the call sets them."""
    return dict(get_settings().params)
