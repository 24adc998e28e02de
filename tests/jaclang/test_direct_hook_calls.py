"""Direct hook calls: the plugin manager skips Pluggy's per-call machinery only where it would call one function."""

from __future__ import annotations

from typing import Any

import pytest

from jaclang.runtimelib.machine import JacPluginManager, hookimpl, hookspec, passive_for


class Spec:
    @staticmethod
    @hookspec(firstresult=True)
    def answer(question: str, context: Any) -> Any:
        """Answer a question."""


class Answerer:
    @staticmethod
    @hookimpl
    def answer(question: str, context: Any) -> Any:
        return f"answer to {question}"


class OtherAnswerer:
    @staticmethod
    @hookimpl(tryfirst=True)
    def answer(question: str, context: Any) -> Any:
        return "other"


class Watcher:
    """A wrapper that changes every answer: never skipped."""

    @staticmethod
    @hookimpl(wrapper=True)
    def answer(question: str, context: Any) -> Any:
        return f"watched {(yield)}"


class PassiveWatcher:
    """A wrapper with nothing to do while the plugin named 'answerer' answers alone."""

    @staticmethod
    @hookimpl(wrapper=True)
    @passive_for("answerer")
    def answer(question: str, context: Any) -> Any:
        return f"checked {(yield)}"


class PartialAnswerer:
    """Takes only some of the arguments: Pluggy passes just those, so a positional direct call would be wrong."""

    @staticmethod
    @hookimpl
    def answer(question: str) -> Any:
        return "partial"


@pytest.fixture
def manager() -> JacPluginManager:
    manager = JacPluginManager()
    manager.add_hookspecs(Spec)
    return manager


def call(manager: JacPluginManager, question: str = "q") -> Any:
    """Call the hook as byllm does: directly when allowed, else through Pluggy."""
    direct = manager.direct_implementation("answer")
    if direct is not None:
        return direct(question, None)
    return manager.hook.answer(question=question, context=None)


def test_one_answering_plugin_is_called_directly(manager: JacPluginManager) -> None:
    manager.register(Answerer, name="answerer")
    assert manager.direct_implementation("answer") is Answerer.answer
    assert call(manager) == manager.hook.answer(question="q", context=None) == "answer to q"


def test_a_wrapper_keeps_the_call_in_pluggy(manager: JacPluginManager) -> None:
    manager.register(Answerer, name="answerer")
    manager.register(Watcher, name="watcher")
    assert manager.direct_implementation("answer") is None
    assert call(manager) == "watched answer to q"


def test_a_passive_wrapper_is_skipped_only_for_the_plugin_it_names(manager: JacPluginManager) -> None:
    manager.register(Answerer, name="answerer")
    manager.register(PassiveWatcher, name="checks")
    assert manager.direct_implementation("answer") is Answerer.answer
    manager.unregister(name="answerer")
    manager.register(Answerer, name="someone-else")
    assert manager.direct_implementation("answer") is None
    assert call(manager) == "checked answer to q"


def test_registering_another_answer_goes_back_to_pluggy(manager: JacPluginManager) -> None:
    manager.register(Answerer, name="answerer")
    assert call(manager) == "answer to q"
    manager.register(OtherAnswerer, name="other")
    assert manager.direct_implementation("answer") is None
    assert call(manager) == "other"
    manager.set_blocked("other")
    assert call(manager) == "answer to q"
    assert manager.direct_implementation("answer") is Answerer.answer


def test_an_implementation_taking_fewer_arguments_goes_through_pluggy(manager: JacPluginManager) -> None:
    manager.register(PartialAnswerer, name="partial")
    assert manager.direct_implementation("answer") is None
    assert call(manager) == "partial"


def test_hook_call_monitoring_sees_every_call(manager: JacPluginManager) -> None:
    manager.register(Answerer, name="answerer")
    seen: list[str] = []
    manager.add_hookcall_monitoring(lambda name, impls, kwargs: seen.append(name), lambda *args: None)
    assert manager.direct_implementation("answer") is None
    assert call(manager) == "answer to q"
    assert seen == ["answer"]


def test_a_hook_without_specification_or_implementation_is_not_direct(manager: JacPluginManager) -> None:
    assert manager.direct_implementation("answer") is None
    assert manager.direct_implementation("no_such_hook") is None


def test_by_llm_calls_see_a_user_wrapper_registered_later(jac_plugin_manager: JacPluginManager) -> None:
    from byllm.lib import Model, by

    llm = Model("mockllm", outputs=["one", "two"])

    @by(llm)
    def word(n: int) -> str: ...

    assert word(1) == "one"
    seen: list[Any] = []

    class Recorder:
        @staticmethod
        @hookimpl(wrapper=True)
        def call_llm(model: Any, caller: Any, args: Any) -> Any:
            result = yield
            seen.append((args, result))
            return result

    jac_plugin_manager.register(Recorder, name="recorder")
    assert word(2) == "two"
    assert seen == [({"n": 2}, "two")]
