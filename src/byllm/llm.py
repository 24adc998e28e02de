"""``Model``: a configured language model, its typed options, and ``invoke``.

``Model.invoke(caller, args)`` is what byllm's ``call_llm`` hook runs; it hands
the call to :mod:`byllm.call`, where every completion goes through the
``llm_complete`` / ``llm_acomplete`` hooks.

Options are explicit keyword parameters. Provider settings (``api_key``,
``base_url``, ...) belong to the model; call options (sampling, retries, tools,
streaming, context, cache and log switches) may be set on the model and per
call (``llm(temperature=0.7)``, which is what ``by llm(temperature=0.7)`` does).
An unknown name is a :class:`~byllm.errors.ConfigurationError` with a
did-you-mean; anything provider-specific goes through ``extra_params``.
"""

from __future__ import annotations

from dataclasses import dataclass
import threading
from typing import TYPE_CHECKING, Any, Callable, Mapping

from jaclang.runtimelib import machine
import byllm.call as call
from byllm.errors import ConfigurationError
from byllm.meaning import describe_function
from byllm.settings import default_retries, get_settings

if TYPE_CHECKING:
    from byllm.call import CallRecord
    from byllm.providers.base import CompletionReply, CompletionRequest, Message

DEFAULT_RETRIES = 2
HISTORY_LIMIT = 100  # call records kept per model (the call log, when on, keeps all); older ones are dropped in halves

# Settings of the model itself: they choose and configure its provider.
PROVIDER_SETTINGS = (
    "api_key", "base_url", "headers", "provider", "timeout", "max_retries", "retry_backoff", "json_mode", "outputs",
    "threads", "context_size",  # local models (byllm.providers.local): llama.cpp's CPU threads and context size
)
# Sampling parameters sent to the provider as they are.
SAMPLING_PARAMS = ("temperature", "max_tokens", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty")
# Options of a call, settable on the model (defaults) and per call.
CALL_OPTIONS = (
    *SAMPLING_PARAMS, "extra_params", "retries", "verbose", "incl_info", "excl_info",
    "tools", "max_iterations", "stream", "cache", "log",
)
_CALL_OPTION_NAMES = frozenset(CALL_OPTIONS)
# Names upstream byllm's ``config={...}`` uses for ours.
CONFIG_ALIASES = {"api_base": "base_url", "host": "base_url"}


def _did_you_mean(name: str, known: tuple[str, ...]) -> str:
    import difflib  # only for an unknown option

    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else f"known names: {', '.join(sorted(known))}"


def check_options(given: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> dict[str, Any]:
    """``given`` without unset (``None``) values; unknown names raise :class:`ConfigurationError`."""
    options: dict[str, Any] = {}
    for name, value in given.items():
        if name not in allowed:
            if where == "by llm(...)" and name in PROVIDER_SETTINGS:
                raise ConfigurationError(
                    f"{name!r} is a setting of the model, not of one call: pass it to Model(..., {name}=...)"
                )
            raise ConfigurationError(f"unknown parameter {name!r} for {where}: {_did_you_mean(name, allowed)}")
        if value is not None:
            options[name] = value
    return options


@dataclass(frozen=True)
class CallSettings:
    """A model's call options resolved once (per settings load): what each call of it reads."""

    retries: int
    verbose: bool
    sampling: dict[str, Any]
    context: dict[str, Any] | None
    excluded: frozenset[str]
    stream: bool
    tools: bool  # whether the call may use tools (a tool loop)

    @classmethod
    def resolve(cls, model: Model, settings: Any) -> CallSettings:
        """Merge the call's, the model's and the settings' levels."""
        retries = model.param("retries")
        sampling = {**settings.params}
        for layer in (model.defaults, model.call_params):
            sampling.update({name: layer[name] for name in SAMPLING_PARAMS if name in layer})
            sampling.update(layer.get("extra_params") or {})
        context = model.param("incl_info") or None
        if context is not None and not isinstance(context, Mapping):
            context = {f"info_{index}": value for index, value in enumerate(context, start=1)}
        excluded = model.param("excl_info") or ()
        return cls(
            retries=default_retries(DEFAULT_RETRIES) if retries is None else int(retries),
            verbose=bool(model.param("verbose", False)) or bool(getattr(settings, "verbose", False)),
            sampling=sampling,
            context=context,
            excluded=frozenset((excluded,) if isinstance(excluded, str) else excluded),
            stream=bool(model.param("stream")),
            tools=bool(model.param("tools")),
        )


class _SharedState:
    """What a model shares with the per-call copies ``model(...)`` makes."""

    def __init__(self) -> None:
        self.provider: Any = None
        self.provider_model_id: str | None = None
        self.lock = threading.Lock()
        self.history: list[CallRecord] = []
        self.last_call: CallRecord | None = None


class Model:
    """A language model and its configuration.

    ``Model("gpt-4o-mini", temperature=0.2)``, ``Model(model_name="mockllm",
    outputs=[...])`` or upstream's ``Model(model_name=..., config={...})``.
    Calling the model (``llm(temperature=0.7)``) returns a copy configured for
    one call, which is how ``by llm(...)`` passes call parameters.
    """

    def __init__(
        self,
        model_name: str | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        provider: Any = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        retry_backoff: float | None = None,
        json_mode: bool | str | None = None,
        threads: int | None = None, context_size: int | None = None,
        outputs: list[Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        retries: int | None = None,
        verbose: bool | None = None,
        incl_info: Mapping[str, Any] | list[Any] | None = None,
        excl_info: list[str] | tuple[str, ...] | None = None,
        tools: list[Callable[..., Any]] | None = None,
        max_iterations: int | None = None,
        stream: bool | None = None,
        cache: bool | str | None = None,
        log: bool | str | None = None,
        config: Mapping[str, Any] | None = None,
        **unknown: Any,
    ) -> None:
        """Configure a model; see the class docstring and docs/parameters.md for every option."""
        given = {name: value for name, value in locals().items() if name in PROVIDER_SETTINGS or name in CALL_OPTIONS}
        from_config = {CONFIG_ALIASES.get(name, name): value for name, value in (config or {}).items()}
        if model_name is None:
            model_name = from_config.pop("model_name", None)
        options = check_options({**from_config, **unknown}, (*PROVIDER_SETTINGS, *CALL_OPTIONS), "Model(...)")
        options.update({name: value for name, value in given.items() if value is not None})
        model_name = get_settings().model or model_name  # BYLLM_MODEL replaces every model of the run
        if model_name is None:
            from byllm.settings import default_model_name

            model_name = default_model_name()
        self.model_name: str = model_name
        self.settings: dict[str, Any] = {name: options[name] for name in PROVIDER_SETTINGS if name in options}
        self.defaults: dict[str, Any] = {name: options[name] for name in CALL_OPTIONS if name in options}
        self.call_params: dict[str, Any] = {}
        self._shared = _SharedState()
        self._resolved: tuple[Any, CallSettings] | None = None
        from byllm.providers.registry import check_model_name

        # A misspelt name fails here with a did-you-mean; a plugin's provider found on the way is kept.
        self._shared.provider = check_model_name(model_name, dict(self.settings))
        _switch_on_plugins(options)

    # -- configuration -------------------------------------------------
    def __call__(
        self,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        top_p: float | None = None,
        seed: int | None = None,
        stop: str | list[str] | None = None,
        presence_penalty: float | None = None,
        frequency_penalty: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        retries: int | None = None,
        verbose: bool | None = None,
        incl_info: Mapping[str, Any] | list[Any] | None = None,
        excl_info: list[str] | tuple[str, ...] | None = None,
        tools: list[Callable[..., Any]] | None = None,
        max_iterations: int | None = None,
        stream: bool | None = None,
        cache: bool | str | None = None,
        log: bool | str | None = None,
        **unknown: Any,
    ) -> Model:
        """This model configured for one call (``by llm(temperature=0.2, tools=[...])``)."""
        given = (temperature, max_tokens, top_p, seed, stop, presence_penalty, frequency_penalty, extra_params, retries,
                 verbose, incl_info, excl_info, tools, max_iterations, stream, cache, log)
        if not unknown and given.count(None) == len(given):
            return self  # `llm()`: what a Jac `by llm()` function evaluates at every call
        if unknown:
            check_options(unknown, CALL_OPTIONS, "by llm(...)")
        params = {name: value for name, value in locals().items() if name in _CALL_OPTION_NAMES and value is not None}
        if not params:
            return self
        copy = Model.__new__(type(self))
        copy.model_name = self.model_name
        copy.settings = self.settings
        copy.defaults = self.defaults
        copy.call_params = {**self.call_params, **params}
        copy._shared = self._shared
        copy._resolved = None
        if "cache" in params or "log" in params:
            _switch_on_plugins(params)
        return copy

    @property
    def config(self) -> dict[str, Any]:
        """Every option set on the model (provider settings and call defaults)."""
        return {**self.settings, **self.defaults}

    def param(self, name: str, default: Any = None) -> Any:
        """An option for this call: call parameters first, then the model's defaults and settings."""
        if name in self.call_params:
            return self.call_params[name]
        if name in self.defaults:
            return self.defaults[name]
        return self.settings.get(name, default)

    def call_settings(self) -> CallSettings:
        """This model's call options resolved against the current settings; computed once per settings load."""
        settings = get_settings()
        cached = self._resolved
        if cached is None or cached[0] is not settings:
            cached = self._resolved = (settings, CallSettings.resolve(self, settings))
        return cached[1]

    @property
    def retries(self) -> int:
        """How many times a reply that does not fit the return type is asked for again."""
        return self.call_settings().retries

    @property
    def verbose(self) -> bool:
        """Whether each call's messages and replies are printed to stderr."""
        return self.call_settings().verbose

    def sampling_params(self) -> dict[str, Any]:
        """Parameters passed on to the provider: settings' defaults, then the model's, then the call's.

        ``extra_params`` entries are merged in as they are.
        """
        return dict(self.call_settings().sampling)

    def prompt_context(self) -> dict[str, Any] | None:
        """The ``incl_info`` context of this call, as named values."""
        return self.call_settings().context

    def excluded_names(self) -> frozenset[str]:
        """Names (parameters, ``self`` fields, ``incl_info`` keys) left out of the prompt (``excl_info``)."""
        return self.call_settings().excluded

    @property
    def provider(self) -> Any:
        """The provider serving this model, created on first use and then reused."""
        shared = self._shared
        if shared.provider is None:
            with shared.lock:
                if shared.provider is None:
                    from byllm.providers.registry import resolve_provider

                    shared.provider = resolve_provider(self.model_name, dict(self.settings))
        return shared.provider

    @property
    def provider_model_id(self) -> str:
        """The model name as the provider knows it (``openai/gpt-4o`` -> ``gpt-4o``)."""
        shared = self._shared
        if shared.provider_model_id is None:
            model_id = getattr(self.provider, "model_id", None)
            shared.provider_model_id = model_id(self.model_name) if callable(model_id) else self.model_name
        return shared.provider_model_id

    # -- what happened ---------------------------------------------------
    @property
    def last_call(self) -> CallRecord | None:
        """The record of the most recent call through this model (or a copy of it)."""
        return self._shared.last_call

    @property
    def last_messages(self) -> list[Message] | None:
        """The exact messages the most recent call sent last (retries included)."""
        record = self._shared.last_call
        return record.messages if record else None

    @property
    def history(self) -> list[CallRecord]:
        """Records of the latest calls through this model, oldest first (100 at most; the call log, when on, keeps every call)."""
        return self._shared.history

    def remember(self, record: CallRecord) -> None:
        """Keep ``record`` as this model's last call."""
        shared = self._shared
        shared.last_call = record
        history = shared.history
        history.append(record)
        if len(history) > HISTORY_LIMIT:
            del history[: HISTORY_LIMIT // 2]

    # -- calls ---------------------------------------------------------
    def invoke(self, caller: Callable, args: Mapping[str | int, object]) -> Any:
        """Answer one call of ``caller`` with ``args`` and return a value of its return type.

        For an ``async def`` caller this returns a :class:`~byllm.call.PendingCall`
        instead: await it for the value (any number of times, so caching plugins
        may store it); with ``stream=True`` an iterator (or async iterator) of
        text chunks.
        """
        meaning = describe_function(caller)
        if meaning.is_async:
            return call.PendingCall(self.ainvoke(caller, args))
        options = self.call_settings()
        if options.stream:
            return call.stream_call(self, caller, args, meaning)
        if options.tools:
            from byllm.tools import run_tool_loop

            return run_tool_loop(self, caller, args)
        return call.run_call(self, caller, args, meaning)

    async def ainvoke(self, caller: Callable, args: Mapping[str | int, object]) -> Any:
        """Async form of :meth:`invoke`."""
        options = self.call_settings()
        if options.stream:
            return call.astream_call(self, caller, args)
        if options.tools:
            from byllm.tools import arun_tool_loop

            return await arun_tool_loop(self, caller, args)
        return await call.arun_call(self, caller, args)

    def complete(self, request: CompletionRequest) -> CompletionReply:
        """One completion through the ``llm_complete`` hook (plugins see it)."""
        manager = machine.plugin_manager
        direct = manager.direct_implementation("llm_complete")
        reply = direct(self, request) if direct is not None else manager.hook.llm_complete(model=self, request=request)
        if reply is None:
            raise ConfigurationError(_unanswered_completion())
        return reply

    async def acomplete(self, request: CompletionRequest) -> CompletionReply:
        """One completion through the ``llm_acomplete`` hook."""
        manager = machine.plugin_manager
        direct = manager.direct_implementation("llm_acomplete")
        pending = direct(self, request) if direct is not None else manager.hook.llm_acomplete(model=self, request=request)
        if pending is None:
            raise ConfigurationError(_unanswered_completion())
        return await pending

    # -- pickling (Ray, Dask, process pools) -----------------------------
    def __getstate__(self) -> dict[str, Any]:
        """The configuration only: the provider, its clients and pools are rebuilt where the model lands.

        Only what the user passed travels; a key read from the environment stays
        out of the pickle (the worker reads its own environment).
        """
        return {"model_name": self.model_name, "settings": self.settings, "defaults": self.defaults,
                "call_params": self.call_params}

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild a model from :meth:`__getstate__`'s configuration, with a fresh provider state."""
        self.model_name = state["model_name"]
        self.settings = state["settings"]
        self.defaults = state["defaults"]
        self.call_params = state["call_params"]
        self._shared = _SharedState()
        self._resolved = None
        _switch_on_plugins({**self.defaults, **self.call_params})

    def __repr__(self) -> str:
        from byllm.redact import redact_mapping

        shown = redact_mapping({key: value for key, value in self.config.items() if key != "outputs"})
        shown.update(redact_mapping(self.call_params))
        return f"{type(self).__name__}({self.model_name!r}{''.join(f', {key}={value!r}' for key, value in shown.items())})"


class MockLLM(Model):
    """A model answered by a script, never a server (upstream's ``MockLLM``): for tests and offline runs.

    ``MockLLM(outputs=[...])`` or, as upstream writes it, ``MockLLM(model_name="mockllm", config={"outputs":
    [...]})``. Each call takes the next output: a string is a reply text, parsed like a real model's, any
    other value is the answer itself. Any model name is only a label here: ``MockLLM(model_name="gpt-4o-mini",
    outputs=[...])`` answers offline and prices its (zero-token) calls as that model. Options are
    :class:`Model`'s.
    """

    def __init__(self, model_name: str | None = None, **options: Any) -> None:
        """A mock model; ``provider`` is always the script."""
        if "provider" in options:
            raise ConfigurationError("MockLLM(...) is always answered by its outputs: use Model(...) to pick a provider")
        if model_name is None and "model_name" not in (options.get("config") or {}):
            model_name = "mockllm"
        super().__init__(model_name, provider="mock", **options)


def _unanswered_completion() -> str:
    if machine.plugin_manager.is_blocked("byllm"):
        return "no plugin sends completions: byllm's plugin is blocked by JAC_DISABLED_PLUGINS; remove 'byllm' from it"
    return "no plugin answered the completion: byllm's plugin is not registered (is byllm installed?)"


def _switch_on_plugins(options: Mapping[str, Any]) -> None:
    """Match the built-in plugins to the settings (the first model does), then switch on what it asks for.

    ``cache=`` and ``log=`` keep those plugins' hooks registered; see :mod:`byllm.plugins.activation`.
    """
    from byllm.plugins import activation

    if options.get("cache") or options.get("log"):
        activation.request_features(cache=bool(options.get("cache")), log=bool(options.get("log")))
    else:
        activation.match_settings()
