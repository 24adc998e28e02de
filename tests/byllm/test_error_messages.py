"""Configuration mistakes give one typed byllm error that says what to do."""

from __future__ import annotations

from typing import Callable

import pytest

from byllm.errors import ConfigurationError
from byllm.lib import Model, by
from jaclang.runtimelib.machine import hookimpl
from jaclang.runtimelib.machine import plugin_manager as installed_plugin_manager

# byllm's checks plugin as installed (entry point byllm-checks), wherever its module lives.
ResultCheck = installed_plugin_manager.get_plugin("byllm-checks")


class Point:
    """A plain class: Pydantic cannot build it from a reply."""

    def __init__(self, x: int) -> None:
        self.x = x


def test_a_plain_class_return_type_says_make_it_an_obj_or_a_dataclass(jac_plugin_manager) -> None:
    @by(Model("mockllm", outputs=['{"x": 1}']))
    def origin() -> Point: ...

    with pytest.raises(ConfigurationError) as raised:
        origin()
    assert str(raised.value) == (
        "the return type Point is a plain class, which byllm cannot build from a reply: make Point an obj (Jac) "
        "or a @dataclass or Pydantic model (Python) whose fields have types"
    )
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_a_plain_class_inside_the_return_type_is_named(jac_plugin_manager) -> None:
    @by(Model("mockllm", outputs=['[{"x": 1}]']))
    def points() -> list[Point]: ...

    with pytest.raises(ConfigurationError, match=r"^the return type Point \(inside list\[Point\]\) is a plain class"):
        points()


def answer_function(model_name: str) -> Callable[[str], str]:
    @by(Model(model_name))
    def answer(question: str) -> str: ...

    return answer


class CustomProvider:
    """Serves custom:// models and hands every other call to byllm."""

    @staticmethod
    @hookimpl
    def call_llm(model, caller, args):  # type: ignore[no-untyped-def]
        if model.model_name.startswith("custom://"):
            return "Echo"
        return model.invoke(caller, args)


class PassThrough:
    """A call_llm plugin (a logger, a cache) that sends every call to byllm."""

    @staticmethod
    @hookimpl
    def call_llm(model, caller, args):  # type: ignore[no-untyped-def]
        return model.invoke(caller, args)


def test_an_installed_provider_plugin_not_reached_is_not_said_to_be_missing(jac_plugin_manager) -> None:
    jac_plugin_manager.register(ResultCheck, name="byllm-checks")
    jac_plugin_manager.register(CustomProvider, name="custom-provider")
    jac_plugin_manager.register(PassThrough, name="pass-through")  # registered last: asked first
    with pytest.raises(ConfigurationError) as raised:
        answer_function("custom://echo")("2+2")
    message = str(raised.value)
    assert "install a plugin" not in message
    assert message == (
        "no provider serves the model 'custom://echo' for the plugin that answered first: call_llm of "
        "'pass-through' passed the call to byllm, so 'custom-provider' (installed) never saw it; mark the call_llm "
        "of the plugin serving 'custom://echo' @hookimpl(tryfirst=True), or have 'pass-through' return None for "
        "models it does not serve"
    )


def test_the_provider_plugin_asked_first_answers(jac_plugin_manager) -> None:
    jac_plugin_manager.register(ResultCheck, name="byllm-checks")
    jac_plugin_manager.register(PassThrough, name="pass-through")
    jac_plugin_manager.register(CustomProvider, name="custom-provider")
    assert answer_function("custom://echo")("2+2") == "Echo"


def test_without_a_provider_plugin_the_message_still_says_install_one(jac_plugin_manager) -> None:
    jac_plugin_manager.register(ResultCheck, name="byllm-checks")
    jac_plugin_manager.register(PassThrough, name="pass-through")
    with pytest.raises(ConfigurationError, match="no provider serves the model 'custom://echo'") as raised:
        answer_function("custom://echo")("2+2")
    assert "never saw it" not in str(raised.value)
