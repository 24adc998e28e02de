"""Built-in cache and log compose with each other and with the spec's example plugins."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import pytest

from jaclang.runtimelib.machine import hookimpl
from byllm.llm import Model
from byllm.lib import by
from byllm.settings import reload_settings
from byllm.plugins.calllog import open_log

HERE = Path(__file__).parent


# -- the spec's Example 2, verbatim -------------------------------------------------
class LoggingbyllmMachine:
    """Plugin that logs all LLM calls."""

    @staticmethod
    @hookimpl
    def call_llm(
        model: Model, caller: Callable, args: dict[str | int, object]
    ) -> object:
        """Log LLM calls with timing information."""
        start_time = time.time()

        print(f"[LLM CALL] Starting: {caller.__name__}")
        print(f"[LLM CALL] Model: {model.model_name}")
        print(f"[LLM CALL] Args: {args}")

        try:
            result = model.invoke(caller, args)
            duration = time.time() - start_time

            print(f"[LLM CALL] Completed: {caller.__name__} in {duration:.2f}s")
            print(f"[LLM CALL] Result: {result}")

            return result

        except Exception as e:
            duration = time.time() - start_time
            print(f"[LLM CALL] Failed: {caller.__name__} after {duration:.2f}s")
            print(f"[LLM CALL] Error: {e}")
            raise


# -- the spec's Example 3, verbatim -------------------------------------------------
class CustomProviderMachine:
    """Plugin that implements a custom model provider."""

    @staticmethod
    @hookimpl
    def call_llm(
        model: Model, caller: Callable, args: dict[str | int, object]
    ) -> object:
        """Handle custom model providers."""

        # Check if this is a custom model
        if model.model_name.startswith("custom://"):
            return CustomProviderMachine._handle_custom_model(
                model, caller, args
            )

        # Delegate to default implementation
        return model.invoke(caller, args)

    @staticmethod
    def _handle_custom_model(
        model: Model, caller: Callable, args: dict[str | int, object]
    ) -> object:
        """Implement custom model logic."""
        model_type = model.model_name.replace("custom://", "")

        if model_type == "echo":
            # Simple echo model for testing
            return f"Echo: {list(args.values())[0]}"
        elif model_type == "random":
            # Random response model
            import random
            responses = ["Yes", "No", "Maybe", "I don't know"]
            return random.choice(responses)
        else:
            raise ValueError(f"Unknown custom model: {model_type}")


@pytest.fixture
def cache_and_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYLLM_CACHE", f"sqlite:///{tmp_path}/cache.db")
    monkeypatch.setenv("BYLLM_LOG", str(tmp_path / "logs.db"))
    reload_settings()  # settings are read once; a changed variable needs a reload
    return tmp_path / "logs.db"


@pytest.fixture
def logging_example(plugin_manager) -> None:
    plugin_manager.register(LoggingbyllmMachine, name="spec-example-logging")


@pytest.fixture
def custom_provider_example(plugin_manager) -> None:
    plugin_manager.register(CustomProviderMachine, name="spec-example-custom-provider")


def test_cache_log_and_the_spec_logging_plugin_each_do_their_job(cache_and_log: Path, logging_example, provider, capsys) -> None:
    @by(Model("test/m"))
    def shout(word: str) -> str:
        """Shout the word."""

    assert shout("hello") == "echo HELLO"
    assert shout("hello") == "echo HELLO"
    # The spec's plugin printed both calls ...
    out = capsys.readouterr().out
    assert out.count("[LLM CALL] Starting: shout") == 2
    assert out.count("[LLM CALL] Result: echo HELLO") == 2
    # ... the cache answered the second one ...
    assert provider.calls == 1
    # ... and the log has both, the second served from the cache.
    second, first = open_log(cache_and_log).recent()
    assert (first.value, first.cached_completions) == ("echo HELLO", 0)
    assert (second.value, second.cached_completions) == ("echo HELLO", 1)


def test_cache_log_and_the_spec_custom_provider_each_do_their_job(
    cache_and_log: Path, custom_provider_example, provider
) -> None:
    @by(Model("custom://echo"))
    def repeat(text: str) -> str:
        """Repeat the text."""

    @by(Model("test/m"))
    def shout(word: str) -> str:
        """Shout the word."""

    assert repeat("hi") == "Echo: hi"
    assert shout("a") == "echo A"
    assert shout("a") == "echo A"
    assert provider.calls == 1
    # The custom model's call never reached byllm (no prompt, no completion): the log has byllm's calls.
    calls = {(call.model, call.value, call.cached_completions) for call in open_log(cache_and_log).recent()}
    assert calls == {("test/m", "echo A", 0), ("test/m", "echo A", 1)}


PROGRAM = '''
import sys, time
sys.path.insert(0, {here!r})
from typing import Callable
from jaclang.runtimelib.machine import hookimpl, plugin_manager
from byllm.llm import Model
from byllm.lib import by
from plugin_support import CountingProvider, CountingProviderPlugin

class LoggingbyllmMachine:
    @staticmethod
    @hookimpl
    def call_llm(model: Model, caller: Callable, args: dict) -> object:
        print(f"[LLM CALL] Starting: {{caller.__name__}}")
        result = model.invoke(caller, args)
        print(f"[LLM CALL] Result: {{result}}")
        return result

counting = CountingProvider()
plugin_manager.register(CountingProviderPlugin(counting))
plugin_manager.register(LoggingbyllmMachine())

@by(Model("test/m"))
def shout(word: str) -> str:
    """Shout the word."""

shout("x"); shout("x")
print("provider calls:", counting.calls)
'''


@pytest.mark.parametrize(("disabled", "provider_calls"), [("", 1), ("byllm-cache", 2)])
def test_a_program_with_all_plugins_and_jac_disabled_plugins(tmp_path: Path, disabled: str, provider_calls: int) -> None:
    log = tmp_path / "logs.db"
    env = {
        **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "BYLLM_CACHE": f"sqlite:///{tmp_path}/cache.db",
        "BYLLM_LOG": str(log),
        "JAC_DISABLED_PLUGINS": disabled,
    }
    result = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(here=str(HERE))], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("[LLM CALL] Result: echo X") == 2
    assert f"provider calls: {provider_calls}" in result.stdout
    assert len(open_log(log).recent()) == 2
