"""``by llm()`` code generation: what reaches the ``call_llm`` hook, and sem texts."""

from __future__ import annotations

import inspect
from typing import Callable

from jaclang.runtimelib.semstr import get_sem

from jac_support import RecordingPlugin


def test_declaration_by_llm_sends_model_caller_and_named_args(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: f"{caller.__name__}:{args['text']}:{args['lang']}"
    output = run_jac(
        'import from byllm.lib { Model }\nglob llm = Model(model_name="the-model");\n'
        '"""Translate text."""\n'
        'def translate(text: str, lang: str = "French") -> str by llm;\n'
        'with entry { print(translate("Hello")); }'
    )
    assert output == "translate:Hello:French\n"
    model, caller, args = llm_plugin.calls[0]
    assert model.model_name == "the-model"
    assert args == {"text": "Hello", "lang": "French"}
    assert caller.__doc__ == "Translate text."
    assert inspect.signature(caller).return_annotation is str


def test_model_expression_is_evaluated_at_each_call(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: f"{model.model_name} {model.param('temperature')}"
    output = run_jac(
        'import from byllm.lib { Model }\nglob models = {"fast": Model(model_name="fast-model")};\n'
        "def f() -> str by models['fast'](temperature=0.2);\n"
        "with entry { print(f()); models['fast'] = Model(model_name='swapped'); print(f()); }"
    )
    assert output == "fast-model 0.2\nswapped 0.2\n"


def test_method_by_llm_gets_bound_caller_without_self_in_args(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: sum(caller.__self__.marks) / len(caller.__self__.marks)
    output = run_jac(
        "import from byllm.lib { Model }\nglob llm = Model(model_name='m');\n"
        "obj Student { has marks: list[int] = []; def average(rounded: bool = False) -> float by llm(); }\n"
        "with entry { print(Student([1, 2]).average()); }"
    )
    assert output == "1.5\n"
    _model, caller, args = llm_plugin.calls[0]
    assert args == {"rounded": False}
    assert inspect.ismethod(caller) and caller.__name__ == "average"


def test_method_model_expression_can_use_self(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: model.param("tools")[0](2, 3)
    output = run_jac(
        "import from byllm.lib { Model }\nglob make = Model(model_name='m');\n"
        "obj Calculator { has base: int = 10; def add(a: int, b: int) -> int { return self.base + a + b; }\n"
        "  def solve(question: str) -> int by make(tools=[self.add]); }\n"
        "with entry { print(Calculator().solve('2+3?')); }"
    )
    assert output == "15\n"
    assert llm_plugin.calls[0][2] == {"question": "2+3?"}


def test_call_site_by_llm_answers_one_call_of_a_normal_function(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: f"{model.model_name}/{caller.__name__}/{args}"
    output = run_jac(
        "import from byllm.lib { Model }\nglob llm = Model(model_name='model');\n"
        "def get_answer(question: str, n: int = 1) -> str { return 'local'; }\n"
        "with entry { print(get_answer('q')); print(get_answer('What?', n=2) by llm()); }"
    )
    assert output == "local\nmodel/get_answer/{'question': 'What?', 'n': 2}\n"


def test_async_def_by_llm_is_awaitable(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: args["q"].upper()
    output = run_jac(
        "import asyncio;\nimport from byllm.lib { Model }\nglob llm = Model(model_name='m');\nasync def ask(q: str) -> str by llm();\n"
        "with entry { print(asyncio.run(ask('hi'))); }"
    )
    assert output == "HI\n"


def test_legacy_incl_info_names_become_a_mapping(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: repr(model.call_params)
    output = run_jac(
        "glob examples = [1];\nglob other = 'o';\n"
        "import from byllm.lib { Model }\nglob llm = Model(model_name='m');\n"
        "can one(x: str) -> str by llm(incl_info=(examples), excl_info=());\n"
        "can two(x: str) -> str by llm(incl_info=(examples, other));\n"
        "def three(x: str) -> str by llm(incl_info={'k': other});\n"
        "with entry { print(one('a')); print(two('a')); print(three('a')); }"
    )
    assert output == (
        "{'incl_info': {'examples': [1]}, 'excl_info': ()}\n"
        "{'incl_info': {'examples': [1], 'other': 'o'}}\n"
        "{'incl_info': {'k': 'o'}}\n"
    )


def test_sem_statements_reach_the_function_the_model_sees(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: f"{get_sem(caller)}|{get_sem(caller, 'x')}|{get_sem(caller, 'return')}"
    output = run_jac(
        "import from byllm.lib { Model }\nglob llm = Model(model_name='m');\n"
        "def f(x: str) -> str by llm();\n"
        "with entry { print(f('v')); }\n"
        'sem f = "Does things";\nsem f.x = "the input" " text";\nsem f.return is "the result";\n'
    )
    assert output == "Does things|the input text|the result\n"


def test_legacy_inline_semstrings_on_functions_objects_and_enums(
    run_jac: Callable[..., str], llm_plugin: RecordingPlugin
) -> None:
    llm_plugin.answer = lambda model, caller, args: "|".join(
        str(get_sem(caller, part)) for part in ("", "input", "return")
    )
    output = run_jac(
        "import from byllm.lib { Model }\nglob llm = Model(model_name='m');\n"
        "enum 'Personality' P { INTROVERT: 'shy' = 'Introvert', EXTROVERT = 'Extrovert' }\n"
        "obj 'A person' Person { has full_name: 'Fullname': str; }\n"
        "can 'Get Emoji' get_emoji(input: 'Text Input': str) -> 'Emoji Repr': str by llm(temperature=0.7);\n"
        "import from jaclang.runtimelib.semstr { get_sem as read_sem }\n"
        "with entry { print(get_emoji('paris'));\n"
        "  print(read_sem(P), read_sem(P, 'INTROVERT'), read_sem(Person), read_sem(Person, 'full_name')); }\n"
    )
    assert output == "Get Emoji|Text Input|Emoji Repr\nPersonality shy A person Fullname\n"


def test_sem_on_enum_members_fields_and_nested_members(run_jac: Callable[..., str]) -> None:
    output = run_jac(
        "import from jaclang.runtimelib.semstr { get_sem }\n"
        "obj Foo { obj Bar { has baz: int = 0; } has yod: int = 0; def act(q: int) -> int { return q; } }\n"
        "enum Priority { LOW, HIGH }\n"
        'sem Foo.yod = "Year of Death";\nsem Priority.HIGH = "urgent";\nsem Foo.Bar.baz = "inner field";\n'
        'sem Foo.act.q = "a number";\n'
        "with entry { print(get_sem(Foo, 'yod'), get_sem(Priority, 'HIGH'), get_sem(Foo.Bar, 'baz'),"
        " get_sem(Foo.act, 'q')); }"
    )
    assert output == "Year of Death urgent inner field a number\n"


def test_spec_program_in_legacy_syntax_goes_through_call_llm(run_jac: Callable[..., str], llm_plugin: RecordingPlugin) -> None:
    llm_plugin.answer = lambda model, caller, args: f"Echo: {list(args.values())[0]}"
    output = run_jac(
        "import:py from byllm, Model;\n\n"
        'glob llm = Model(model_name="gpt-3.5-turbo");\n\n'
        "can test_plugin {\n"
        '    result = get_answer("What is 2+2?") by llm();\n'
        "    print(result);\n"
        "}\n\n"
        "can get_answer(question: str) -> str by llm();\n\n"
        "with entry {\n"
        "    test_plugin();\n"
        "}\n"
    )
    assert output == "Echo: What is 2+2?\n"
    model, caller, args = llm_plugin.calls[0]
    assert model.model_name == "gpt-3.5-turbo"
    assert caller.__name__ == "get_answer"
    assert args == {"question": "What is 2+2?"}


def test_mock_model_answers_a_translate_call(run_jac: Callable[..., str]) -> None:
    output = run_jac(
        "import from byllm.lib { Model }\n"
        'glob llm = Model(model_name="mockllm", outputs=["Bonjour"]);\n'
        'def translate(text: str, lang: str = "French") -> str by llm();\n'
        'with entry { print(translate("Hello")); }\n'
    )
    assert output == "Bonjour\n"


def test_object_initialisation_by_llm_builds_the_object_from_given_fields(
    run_jac: Callable[..., str], llm_plugin: RecordingPlugin
) -> None:
    llm_plugin.answer = lambda model, caller, args: caller.__signature__.return_annotation(**args, age=76)
    output = run_jac(
        "import from byllm.lib { Model }\nglob llm = Model(model_name='m');\n"
        "obj Person { has name: str, age: int; }\n"
        "with entry { print(Person(name='Albert Einstein' by llm())); print(Person('Ada', 36)); }"
    )
    assert output == "Person(name='Albert Einstein', age=76)\nPerson(name='Ada', age=36)\n"
    _model, caller, args = llm_plugin.calls[0]
    assert caller.__name__ == "create_Person"
    assert args == {"name": "Albert Einstein"}
    assert inspect.signature(caller).return_annotation.__name__ == "Person"
