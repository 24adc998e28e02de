"""The spec's example plugins, pip-installed, found through the ``jac`` entry-point group.

Every program here runs in a venv where the packages under ``examples/plugins``
are installed; ``enabled=`` names the plugins a program lets load (the others
go into ``JAC_DISABLED_PLUGINS``), because the spec's plugins each answer
``call_llm`` themselves and so only one of them can act on a call.
"""

from __future__ import annotations

import ast
import re
from importlib import metadata

from plugin_packages.venvs import assert_logged_answer, EXAMPLE_PLUGINS, PluginVenv

GET_ANSWER = """
from byllm.lib import Model, by

llm = {model}

@by(llm)
def get_answer(question: str) -> str:
    ...

"""

# This project's own distribution, which registers byllm's plugin.
PROJECT = f"jaclang {metadata.version('jaclang')}"

ECHO_PROGRAM = GET_ANSWER.format(model='Model("custom://echo")') + 'print(get_answer("What is 2+2?"))\n'
MOCK_PROGRAM = GET_ANSWER.format(model='Model("mockllm", outputs=["4"])') + 'print(get_answer("What is 2+2?"))\n'


def get_answer_program(model: str, body: str) -> str:
    """A program defining ``get_answer`` answered by ``model``, then running ``body``."""
    return GET_ANSWER.format(model=model) + body


def test_every_example_plugin_is_discovered_with_its_distribution_and_version(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(
        """
        from jaclang.runtimelib.machine import plugin_manager
        for name, (distribution, version) in sorted(plugin_manager.plugin_sources.items()):
            print(name, distribution, version, type(plugin_manager.get_plugin(name)).__name__)
        """
    )
    assert completed.returncode == 0, completed.stderr
    lines = {line.split()[0]: line for line in completed.stdout.splitlines()}
    assert lines["my-byllm-plugin"] == "my-byllm-plugin my-byllm-plugin 0.1.0 type"
    assert lines["custom-provider"] == "custom-provider custom-provider-plugin 0.1.0 type"
    assert lines["caching"] == "caching caching-plugin 0.1.0 type"
    assert lines["logging"] == "logging logging-plugin 0.1.0 type"
    assert lines["configurable"] == "configurable configurable-plugin 0.1.0 ConfigurableMachine"
    assert lines["logging-wrapper"] == "logging-wrapper composing-plugins 0.1.0 type"
    assert lines["caching-wrapper"] == "caching-wrapper composing-plugins 0.1.0 type"
    assert lines["byllm"] == f"byllm {PROJECT} type"


def test_my_byllm_plugin_is_built_by_poetry_core_and_installed_in_development_mode(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(
        """
        from importlib import metadata
        import my_byllm_plugin.plugin
        distribution = metadata.distribution("my-byllm-plugin")
        generator = [line for line in distribution.read_text("WHEEL").splitlines() if line.startswith("Generator:")]
        print(generator[0].split()[1])
        print([(entry.group, entry.name, entry.value) for entry in distribution.entry_points])
        print(my_byllm_plugin.plugin.__file__.endswith("sources/my-byllm-plugin/my_byllm_plugin/plugin.py"))
        """
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        "poetry-core",
        "[('jac', 'my-byllm-plugin', 'my_byllm_plugin.plugin:MybyllmMachine')]",
        "True",
    ]


def test_my_byllm_plugin_intercepts_the_call_and_delegates_to_the_model(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(MOCK_PROGRAM, enabled={"my-byllm-plugin"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "Custom plugin intercepted call to: get_answer\n"
        "Arguments: {'question': 'What is 2+2?'}\n"
        "Result: 4\n"
        "4\n"
    )
    assert completed.stderr == ""


def test_custom_provider_echo_model_answers_with_the_first_argument(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(ECHO_PROGRAM, enabled={"custom-provider"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Echo: What is 2+2?\n"


def test_custom_provider_random_model_answers_one_of_its_responses(plugins_venv: PluginVenv) -> None:
    program = get_answer_program(
        'Model("custom://random")',
        'print("\\n".join(get_answer("Will it rain?") for _ in range(20)))\n',
    )
    completed = plugins_venv.run_python(program, enabled={"custom-provider"})
    assert completed.returncode == 0, completed.stderr
    answers = completed.stdout.splitlines()
    assert len(answers) == 20
    assert set(answers) <= {"Yes", "No", "Maybe", "I don't know"}


def test_custom_provider_rejects_an_unknown_custom_model_and_delegates_other_models(
    plugins_venv: PluginVenv,
) -> None:
    program = get_answer_program(
        'Model("custom://nope")',
        """
try:
    get_answer("What is 2+2?")
except ValueError as error:
    print(f"ValueError: {error}")

@by(Model("mockllm", outputs=["4"]))
def add(a: int, b: int) -> int:
    ...

print(add(2, 2) + 1)
""",
    )
    completed = plugins_venv.run_python(program, enabled={"custom-provider"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "ValueError: Unknown custom model: nope\n5\n"


def test_caching_plugin_answers_a_repeated_call_from_its_cache(plugins_venv: PluginVenv) -> None:
    # The mock has a single output: the second call can only come from the cache.
    program = get_answer_program(
        'Model("mockllm", outputs=["4"])',
        'print(get_answer("What is 2+2?"))\nprint(get_answer("What is 2+2?"))\n',
    )
    completed = plugins_venv.run_python(program, enabled={"caching"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Cached result for get_answer\n4\nCache hit for get_answer\n4\n"


def test_caching_plugin_asks_the_model_again_for_different_arguments(plugins_venv: PluginVenv) -> None:
    program = get_answer_program(
        'Model("mockllm", outputs=["4", "6"])',
        'print(get_answer("What is 2+2?"))\nprint(get_answer("What is 3+3?"))\nprint(get_answer("What is 2+2?"))\n',
    )
    completed = plugins_venv.run_python(program, enabled={"caching"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "Cached result for get_answer\n4\nCached result for get_answer\n6\nCache hit for get_answer\n4\n"
    )


def test_logging_plugin_prints_each_call_with_model_arguments_duration_and_result(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(MOCK_PROGRAM, enabled={"logging"})
    assert completed.returncode == 0, completed.stderr
    assert_logged_answer(completed.stdout)


def test_logging_plugin_prints_the_error_of_a_failed_call_and_reraises_it(plugins_venv: PluginVenv) -> None:
    program = get_answer_program(
        'Model("mockllm", outputs=[])',
        """
from byllm.errors import MockExhaustedError
try:
    get_answer("What is 2+2?")
except MockExhaustedError:
    print("raised MockExhaustedError")
""",
    )
    completed = plugins_venv.run_python(program, enabled={"logging"})
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "[LLM CALL] Starting: get_answer"
    assert re.fullmatch(r"\[LLM CALL\] Failed: get_answer after \d+\.\d\ds", lines[3])
    assert lines[4] == (
        "[LLM CALL] Error: the mock model has no output left for call 1: it was given 0 output(s); "
        "add more to Model('mockllm', outputs=[...])"
    )
    assert lines[5:] == ["raised MockExhaustedError"]


def test_configurable_plugin_is_registered_as_its_configured_instance(plugins_venv: PluginVenv) -> None:
    program = MOCK_PROGRAM + (
        "from jaclang.runtimelib.machine import plugin_manager, plugin_hooks\n"
        "import configurable_plugin.plugin as module\n"
        'plugin = plugin_manager.get_plugin("configurable")\n'
        "print(type(plugin).__name__, plugin is module.machine, plugin.config, plugin_hooks(plugin))\n"
    )
    completed = plugins_venv.run_python(program, enabled={"configurable"})
    assert completed.returncode == 0, completed.stderr
    # Enabled, the spec's ConfigurableMachine returns None, so byllm answers the call.
    assert completed.stdout == (
        "4\nConfigurableMachine True {'enabled': True, 'log_level': 'INFO'} ['call_llm']\n"
    )


def test_disabled_plugin_is_blocked_before_its_module_is_imported(plugins_venv: PluginVenv) -> None:
    program = MOCK_PROGRAM + (
        "import sys\n"
        "from jaclang.runtimelib.machine import plugin_manager\n"
        'print("my_byllm_plugin" in sys.modules, plugin_manager.is_blocked("my-byllm-plugin"),'
        ' plugin_manager.get_plugin("my-byllm-plugin"))\n'
    )
    # Everything but the spec's intercepting plugin may load: its lines must not appear.
    enabled = plugins_venv.plugin_names - {"my-byllm-plugin", "caching", "logging"}
    completed = plugins_venv.run_python(program, enabled=enabled)
    assert completed.returncode == 0, completed.stderr
    assert "Custom plugin intercepted" not in completed.stdout
    assert completed.stdout.splitlines()[-2:] == ["4", "False True None"]


def test_disabled_plugins_variable_takes_a_comma_separated_list_with_spaces(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(
        "from jaclang.runtimelib.machine import plugin_manager\n"
        f"print(sorted(name for name in plugin_manager.plugin_sources if name in {set(plugins_venv.plugin_names)!r}))\n",
        env={"JAC_DISABLED_PLUGINS": " caching , logging,my-byllm-plugin,,configurable "},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "['caching-wrapper', 'custom-provider', 'logging-wrapper']\n"


def test_jac_debug_logs_each_plugin_load_and_hook_call_to_stderr(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(ECHO_PROGRAM, enabled={"custom-provider"}, env={"JAC_DEBUG": "1"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == "Echo: What is 2+2?\n"
    lines = completed.stderr.splitlines()
    assert (
        "[jac] loaded plugin 'custom-provider' (custom_provider_plugin.plugin:CustomProviderMachine) "
        "from custom-provider-plugin 0.1.0"
    ) in lines
    assert f"[jac] loaded plugin 'byllm' (byllm.plugin:ByllmMachine) from {PROJECT}" in lines
    assert not any("'my-byllm-plugin'" in line for line in lines)
    calls = [line for line in lines if line.startswith("[jac] hook call_llm -> ")]
    assert len(calls) == 1
    implementations = ast.literal_eval(calls[0].removeprefix("[jac] hook call_llm -> "))
    # Pluggy calls the list from its end: the user's plugin before byllm's trylast default.
    assert implementations.index("custom-provider") > implementations.index("byllm")
    assert "[jac] hook call_llm returned" in lines
    # The custom provider answered: byllm's completion hook was never reached.
    assert not any(line.startswith("[jac] hook llm_complete") for line in lines)


def test_without_jac_debug_plugin_loading_is_silent(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(ECHO_PROGRAM, enabled={"custom-provider"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""


def test_broken_plugin_gives_one_warning_line_and_the_others_still_load(broken_plugins_venv: PluginVenv) -> None:
    program = ECHO_PROGRAM + (
        "from jaclang.runtimelib.machine import plugin_manager\n"
        "print(plugin_manager.failed_plugins)\n"
        'print(plugin_manager.get_plugin("broken"), plugin_manager.get_plugin("custom-provider").__name__)\n'
    )
    completed = broken_plugins_venv.run_python(program)
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == (
        "warning: jac plugin 'broken' from broken-plugin failed to load "
        "(RuntimeError: broken-plugin fails on import on purpose); skipped\n"
    )
    assert completed.stdout == (
        "Echo: What is 2+2?\n"
        "{'broken': 'RuntimeError: broken-plugin fails on import on purpose'}\n"
        "None CustomProviderMachine\n"
    )


def test_disabling_a_broken_plugin_silences_its_warning(broken_plugins_venv: PluginVenv) -> None:
    completed = broken_plugins_venv.run_python(ECHO_PROGRAM, env={"JAC_DISABLED_PLUGINS": "broken"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout == "Echo: What is 2+2?\n"


def test_spec_style_delegating_plugins_do_not_both_run_on_one_call(plugins_venv: PluginVenv) -> None:
    # Both answer call_llm with firstresult: whichever Pluggy calls first delegates
    # straight to model.invoke, so the other never sees the call.
    completed = plugins_venv.run_python(MOCK_PROGRAM, enabled={"caching", "logging"})
    assert completed.returncode == 0, completed.stderr
    logged = "[LLM CALL] Starting: get_answer" in completed.stdout
    cached = "Cached result for get_answer" in completed.stdout
    assert logged != cached
    assert completed.stdout.endswith("4\n")


def test_wrapper_plugins_compose_with_the_custom_provider_plugin(plugins_venv: PluginVenv) -> None:
    demo = EXAMPLE_PLUGINS / "composing-plugins" / "demo.py"
    completed = plugins_venv.run_command(
        [plugins_venv.python, demo], enabled={"custom-provider", "logging-wrapper", "caching-wrapper"}
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "[log] get_answer({'question': 'What is 2+2?'}) with custom://echo\n"
        "[cache] stored get_answer\n"
        "[log] get_answer -> 'Echo: What is 2+2?'\n"
        "Echo: What is 2+2?\n"
        "[log] get_answer({'question': 'What is 2+2?'}) with custom://echo\n"
        "[cache] hit get_answer\n"
        "[log] get_answer -> 'Echo: What is 2+2?'\n"
        "Echo: What is 2+2?\n"
        "[log] add({'a': 2, 'b': 2}) with mockllm\n"
        "[cache] stored add\n"
        "[log] add -> 4\n"
        "4\n"
        "[log] add({'a': 2, 'b': 2}) with mockllm\n"
        "[cache] hit add\n"
        "[log] add -> 4\n"
        "4\n"
    )


def test_logging_wrapper_reports_an_error_and_the_cache_keeps_nothing(plugins_venv: PluginVenv) -> None:
    program = get_answer_program(
        'Model("custom://nope")',
        """
from composing_plugins.caching_wrapper import CachingWrapper
try:
    get_answer("What is 2+2?")
except ValueError:
    print("raised ValueError")
print(CachingWrapper.cache)
""",
    )
    completed = plugins_venv.run_python(
        program, enabled={"custom-provider", "logging-wrapper", "caching-wrapper"}
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "[log] get_answer({'question': 'What is 2+2?'}) with custom://nope\n"
        "[log] get_answer failed: ValueError: Unknown custom model: nope\n"
        "raised ValueError\n"
        "{}\n"
    )


def test_wrapper_plugins_keep_working_without_the_provider_plugin(plugins_venv: PluginVenv) -> None:
    completed = plugins_venv.run_python(MOCK_PROGRAM, enabled={"logging-wrapper"})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == (
        "[log] get_answer({'question': 'What is 2+2?'}) with mockllm\n[log] get_answer -> '4'\n4\n"
    )
