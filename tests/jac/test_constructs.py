"""Each construct of the Jac language, compiled and run, with its exact output."""

from __future__ import annotations

from typing import Callable

import pytest

CASES: dict[str, tuple[str, str]] = {
    # ----------------------------------------------------------- module level
    "import_module": ("import os;\nwith entry { print(os.path.basename('/a/b.txt')); }", "b.txt\n"),
    "import_alias": ("import os.path as p;\nwith entry { print(p.join('a', 'b')); }", "a/b\n"),
    "import_from_braces": (
        "import from os.path { join, basename as base }\nwith entry { print(join('x', base('/y/z'))); }",
        "x/z\n",
    ),
    "legacy_import_py_from": ("import:py from math, sqrt, floor;\nwith entry { print(sqrt(16), floor(2.5)); }", "4.0 2\n"),
    "legacy_import_py_module": ("import:py math;\nwith entry { print(math.ceil(1.2)); }", "2\n"),
    "legacy_import_from_no_braces": ("import from math, pi;\nwith entry { print(round(pi, 2)); }", "3.14\n"),
    "include_star": ("include math;\nwith entry { print(floor(3.7)); }", "3\n"),
    "glob_plain_and_typed": ("glob a = 1, b: int = 2;\nglob c: str = 'x';\nwith entry { print(a + b, c); }", "3 x\n"),
    "entry_main_only_when_main": ("with entry:__main__ { print('main'); }\nwith entry { print('always'); }", "always\n"),
    "module_docstring": ('"""Doc of the module."""\nwith entry { print(__doc__); }', "Doc of the module.\n"),
    "block_comments": ("#* a block\ncomment *#\nwith entry { print(1); # line comment\n}", "1\n"),
    # ----------------------------------------------------------- functions
    "def_with_defaults_and_varargs": (
        "def f(a: int, b: str = 'x', *args: int, **kw: int) -> str { return f'{a}{b}{args}{kw}'; }\n"
        "with entry { print(f(1)); print(f(1, 'y', 2, 3, k=4)); }",
        "1x(){}\n1y(2, 3){'k': 4}\n",
    ),
    "keyword_only_and_positional_only": (
        "def f(a: int, /, b: int, *, c: int = 3) -> int { return a + b + c; }\n"
        "with entry { print(f(1, b=2), f(1, 2, c=10)); }",
        "6 13\n",
    ),
    "async_def": (
        "import asyncio;\nasync def twice(x: int) -> int { await asyncio.sleep(0); return 2 * x; }\n"
        "with entry { print(asyncio.run(twice(4))); }",
        "8\n",
    ),
    "decorators": (
        "def shout(f: object) -> object { return lambda x: str : f(x).upper(); }\n"
        "@shout\ndef greet(x: str) -> str { return 'hi ' + x; }\nwith entry { print(greet('jac')); }",
        "HI JAC\n",
    ),
    "docstring_before_def": (
        'import os;\n"""Adds one."""\ndef inc(x: int) -> int { return x + 1; }\nwith entry { print(inc.__doc__, inc(1)); }',
        "Adds one. 2\n",
    ),
    "legacy_can_with_and_without_params": (
        "can hello { print('hello'); }\ncan add(a: int, b: int) -> int { return a + b; }\n"
        "with entry { hello(); print(add(2, 3)); }",
        "hello\n5\n",
    ),
    "typed_lambda": ("with entry { f = lambda x: int, y: int : x * y; print(f(6, 7)); }", "42\n"),
    "typed_lambda_with_return_type": ("with entry { f = lambda x: int -> int : x + 1; print(f(1)); }", "2\n"),
    "untyped_lambda_in_call": ("with entry { print(list(map(lambda x: x * 2, [1, 2])), (lambda: 5)()); }", "[2, 4] 5\n"),
    "lambda_in_dict_value": ("with entry { d = {'a': lambda x: x, 'b': 2}; print(d['a'](1), d['b']); }", "1 2\n"),
    # ----------------------------------------------------------- types
    "obj_fields_and_positional_construction": (
        "obj Person { has name: str, age: int = 0; }\n"
        "with entry { print(Person('Albert Einstein', 76)); print(Person(name='Ada')); }",
        "Person(name='Albert Einstein', age=76)\nPerson(name='Ada', age=0)\n",
    ),
    "obj_required_field_after_default_is_keyword_only": (
        "obj A { has x: int = 1; }\nobj B(A) { has y: int; }\nobj C { has a: int = 0; has b: str; }\n"
        "with entry { print(B(y=2), C(b='z'), C(5, b='w')); }",
        "B(x=1, y=2) C(a=0, b='z') C(a=5, b='w')\n",
    ),
    "obj_mutable_defaults_are_per_instance": (
        "obj Bag { has items: list[int] = []; }\nwith entry { a = Bag(); a.items.append(1); print(a.items, Bag().items); }",
        "[1] []\n",
    ),
    "obj_postinit_field": (
        "obj Sq { has side: int; has area: int by postinit; def postinit() { self.area = self.side ** 2; } }\n"
        "with entry { print(Sq(3).area); }",
        "9\n",
    ),
    "obj_init": (
        "obj Acc { has total: int; def init(start: int) { self.total = start * 10; } }\n"
        "with entry { print(Acc(2).total); }",
        "20\n",
    ),
    "obj_static_and_methods": (
        "obj M { has v: int = 1; static def make() -> M { return M(5); } def get() -> int { return self.v; } }\n"
        "with entry { print(M.make().get()); }",
        "5\n",
    ),
    "obj_inheritance_and_super": (
        "obj A { has x: int = 1; def who() -> str { return 'A'; } }\n"
        "obj B(A) { def who() -> str { return 'B<' + super.who(); } }\nwith entry { print(B().who(), B(7).x); }",
        "B<A 7\n",
    ),
    "legacy_inheritance_colons": (
        "obj Base { has k: int = 3; }\nobj Car :Base: { has w: int = 4; }\nwith entry { print(Car().k + Car().w); }",
        "7\n",
    ),
    "nested_obj_and_self_type": (
        "obj Uni { obj Dept { has name: str; } has depts: list[self.Dept] = []; }\n"
        "with entry { u = Uni([Uni.Dept('CS')]); print(u.depts[0].name); }",
        "CS\n",
    ),
    "class_archetype": (
        "class Pt { has x: int = 0; def shift(d: int) -> int { return self.x + d; } }\n"
        "class Raw { def __init__(self: Raw, v: int) { self.v = v; } }\n"
        "with entry { print(Pt(2).shift(1), Raw(9).v); }",
        "3 9\n",
    ),
    "enum_auto_values": ("enum E { A, B }\nwith entry { print(E.A.value, E.B.name); }", "1 B\n"),
    "enum_explicit_values": ("enum E { A = 'a', B = 'b' }\nwith entry { print(E('b').name); }", "B\n"),
    "enum_typed_base": ("enum H: int { OK = 200 }\nwith entry { print(H.OK == 200, H.OK + 1); }", "True 201\n"),
    "impl_method_and_function": (
        "obj Circle { has r: int; def area() -> int; }\nimpl Circle.area { return 3 * self.r ** 2; }\n"
        "def f(x: int) -> str;\nimpl f(x: int) -> str { return str(x * 2); }\n"
        "with entry { print(Circle(2).area(), f(4)); }",
        "12 8\n",
    ),
    "legacy_impl": (
        "obj Circle { has r: int; def area() -> int; }\n:obj:Circle:def:area { return self.r * 2; }\n"
        "with entry { print(Circle(3).area()); }",
        "6\n",
    ),
    "node_edge_walker_compile_as_objects": (
        "node N { has v: int = 1; }\nedge E { has w: int = 2; }\nwalker W { has seen: int = 0; can go with entry { self.seen += 1; } }\n"
        "with entry { w = W(); w.go(); print(N().v + E().w + w.seen); }",
        "4\n",
    ),
    # ----------------------------------------------------------- statements
    "if_elif_else": (
        "def c(n: int) -> str { if n < 0 { return 'neg'; } elif n == 0 { return 'zero'; } else { return 'pos'; } }\n"
        "with entry { print(c(-1), c(0), c(1)); }",
        "neg zero pos\n",
    ),
    "while_with_break_and_else": (
        "with entry { i = 0; while True { i += 1; if i > 2 { break; } } print(i); while False { } else { print('else'); } }",
        "3\nelse\n",
    ),
    "for_in_with_unpacking": ("with entry { for (i, c) in enumerate('ab') { print(i, c); } }", "0 a\n1 b\n"),
    "for_to_by": ("with entry { for i = 0 to i < 10 by i += 3 { print(i); } }", "0\n3\n6\n9\n"),
    "for_to_continue_runs_step": (
        "with entry { for i = 0 to i < 5 by i += 1 { if i % 2 { continue; } print(i); } }",
        "0\n2\n4\n",
    ),
    "break_continue": (
        "with entry { for x in range(10) { if x == 1 { continue; } if x == 3 { break; } print(x); } }",
        "0\n2\n",
    ),
    "try_except_else_finally": (
        "with entry { try { x = 1 / 0; } except ZeroDivisionError as e { print('zero'); } else { print('no'); }"
        " finally { print('fin'); } try { pass; } except Exception { print('x'); } else { print('ok'); } }",
        "zero\nfin\nok\n",
    ),
    "raise_from_and_assert": (
        "with entry { try { raise ValueError('a') from KeyError('b'); } except ValueError as e { print(repr(e.__cause__)); }"
        " try { assert 1 == 2, 'nope'; } except AssertionError as e { print(e); } }",
        "KeyError('b')\nnope\n",
    ),
    "with_statement": (
        "import from contextlib { nullcontext }\nwith entry { with nullcontext(5) as v, nullcontext(6) as w { print(v + w); } }",
        "11\n",
    ),
    "del_statement": ("with entry { d = {'a': 1, 'b': 2}; del d['a']; x = 1; del x; print(d); }", "{'b': 2}\n"),
    "global_and_nonlocal": (
        "glob n = 0;\ndef bump() { global n; n += 1; }\n"
        "def outer() -> int { c = 0; def inner() { nonlocal c; c += 5; } inner(); return c; }\n"
        "with entry { bump(); bump(); print(n, outer()); }",
        "2 5\n",
    ),
    "match_case": (
        "def m(v: object) -> str { match v { case 0: return 'zero'; case [a, b]: return f'pair {a} {b}';"
        " case {'k': val}: return f'k={val}'; case int(n) if n > 10: return 'big'; case str() | bytes(): return 'text';"
        " case -1 | None: return 'neg-or-none'; case _: return 'other'; } }\n"
        "with entry { print([m(x) for x in [0, [1, 2], {'k': 3}, 11, 'a', None, -1, 5.5]]); }",
        "['zero', 'pair 1 2', 'k=3', 'big', 'text', 'neg-or-none', 'neg-or-none', 'other']\n",
    ),
    "match_class_keyword_and_as": (
        "obj P { has x: int; has y: int; }\n"
        "with entry { match P(0, 5) { case P(x=0, y=yy) as p: print('on axis', yy, p.x); } }",
        "on axis 5 0\n",
    ),
    "yield_and_yield_from": (
        "def g() { yield 1; yield from [2, 3]; x = yield; }\nwith entry { print(list(g())); }",
        "[1, 2, 3, None]\n",
    ),
    "test_blocks_are_collected": (
        'test "adds" { assert 1 + 1 == 2; }\ntest named { assert True; }\ntest { assert 1; }\n'
        "with entry { print([name for (name, fn) in __jac_tests__]); }",
        "['adds', 'named', 'test_3']\n",
    ),
    # ----------------------------------------------------------- expressions
    "arithmetic_and_bitwise": (
        "with entry { print(1 + 2 * 3 - 4 / 2, 7 // 2, -7 % 3, 2 ** 3 ** 2, 6 & 3, 6 | 3, 6 ^ 3, ~5, 1 << 3, 256 >> 4); }",
        "5.0 3 2 512 2 7 5 -6 8 16\n",
    ),
    "comparison_chains_and_identity": (
        "with entry { x = 5; print(1 < x <= 5, x == 5 != 6, x in [5], x not in [5], x is None, x is not None); }",
        "True True True False False True\n",
    ),
    "boolean_ops_and_ternary": ("with entry { print(0 or 'b', 1 and 2, not 0, 'y' if 0 else 'n'); }", "b 2 True n\n"),
    "walrus": ("with entry { if (n := 10) > 5 { print(n); } print([y := 2, y * 3]); }", "10\n[2, 6]\n"),
    "fstrings": (
        "with entry { x = 3.14159; name = 'jac'; w = 6; print(f'{name!r} {x:.2f} {name:>{w}} {{}} {x=:.1f} {1 + 1}'); }",
        "'jac' 3.14    jac {} x=3.1 2\n",
    ),
    "fstring_nested_quotes_and_escapes": ("with entry { d = {'k': 1}; print(f\"{d['k']}\\t|\"); }", "1\t|\n"),
    "string_literals": (
        "with entry { print('a' \"b\" '''c''', r'\\n', b'x', \"\"\"multi\nline\"\"\", 'tab\\tend'); }",
        "abc \\n b'x' multi\nline tab\tend\n",
    ),
    "number_literals": ("with entry { print(1_000, 0x1f, 0o17, 0b101, 1.5e2, .5, 2j * 2j); }", "1000 31 15 5 150.0 0.5 (-4+0j)\n"),
    "comprehensions": (
        "with entry { print([x * 2 for x in range(3)], {x % 2 for x in range(4)}, {k: v for (k, v) in [(1, 2)]},"
        " sum(x for x in range(5) if x > 2), [(a, b) for a in range(2) for b in range(2) if a != b]); }",
        "[0, 2, 4] {0, 1} {1: 2} 7 [(0, 1), (1, 0)]\n",
    ),
    "slices_and_subscripts": (
        "with entry { s = list(range(10)); print(s[2:5], s[::3], s[-2:], s[:2], s[1:8:2]); }",
        "[2, 3, 4] [0, 3, 6, 9] [8, 9] [0, 1] [1, 3, 5, 7]\n",
    ),
    "star_args_and_unpacking": (
        "def f(*a: int, **k: int) -> str { return f'{a} {k}'; }\n"
        "with entry { xs = [1, 2]; print(f(*xs, 3, **{'z': 1}), [*xs, *xs], {**{'a': 1}, 'b': 2}); a, *b = xs + [3]; print(a, b); }",
        "(1, 2, 3) {'z': 1} [1, 2, 1, 2] {'a': 1, 'b': 2}\n1 [2, 3]\n",
    ),
    "literals_collections": (
        "with entry { print((), (1,), (1, 2), [], {}, {1}, None, True, False, ...); }",
        "() (1,) (1, 2) [] {} {1} None True False Ellipsis\n",
    ),
    "await_expression": (
        "import asyncio;\nasync def one() -> int { return 1; }\nasync def main() -> int { return await one() + await one(); }\n"
        "with entry { print(asyncio.run(main())); }",
        "2\n",
    ),
    "null_safe_access": (
        "obj N { has nxt: N | None = None; has v: int = 1; def val() -> int { return self.v; } }\n"
        "with entry { a = N(N(None, 2)); print(a.nxt?.v, a.nxt?.nxt?.v, a.nxt?.val(), None?.anything.at.all); }",
        "2 None 2 None\n",
    ),
    "null_safe_index": (
        "with entry { d = {'a': [1, 2]}; n = None; print(d?['a'][1], n?['a'][1], n?[0].x, d.get('b')?[0]); }",
        "2 None None None\n",
    ),
    "pipes": (
        "def inc(x: int) -> int { return x + 1; }\n"
        "with entry { print(1 |> inc |> inc, inc <| inc <| 1, [3, 1] |> sorted, 'ab' |> len == 2); }",
        "3 3 [1, 3] True\n",
    ),
    "keyword_escaped_names": ("with entry { <>node = 1; <>test = 2; print(<>node + <>test); }", "3\n"),
    "keywords_as_attribute_names": (
        "import re;\nwith entry { m = re.match('a', 'abc'); print(m.group(0), dict(node=1, test=2)); }",
        "a {'node': 1, 'test': 2}\n",
    ),
    "augmented_assignments": (
        "with entry { x = 2; x += 3; x *= 4; x -= 1; x //= 2; x **= 2; x %= 7; x <<= 1; x |= 1; print(x); }",
        "9\n",
    ),
    "boolean_precedence_with_not": (
        "with entry { print(not 1 == 2 and not False or 0, not not 3, 1 and 0 or 5, not [] or 1 < 0, 2 ** -1, -2 ** 2); }",
        "True True 5 True 0.5 -4\n",
    ),
    "static_has_is_a_class_attribute": (
        "obj C { static has made: int = 0; has n: int = 0; def postinit() { C.made += 1; } }\n"
        "with entry { C(); C(4); print(C.made, C(1)); }",
        "2 C(n=1)\n",
    ),
    "declared_method_without_impl_raises": (
        'glob unit = "cm";\n"""A shape."""\nobj Shape { def area() -> float; }\n'
        "with entry { print(Shape.__doc__); try { Shape().area(); } except NotImplementedError as e { print(e); } }",
        "A shape.\nShape.area is declared but has no implementation\n",
    ),
    "enum_with_methods_after_members": (
        "enum Color { RED = 1, GREEN = 2; def label() -> str { return self.name.lower(); } }\n"
        "with entry { print(Color.GREEN.label(), Color(1).label()); }",
        "green red\n",
    ),
    "legacy_can_impl": (
        "can g(a: int) -> int;\n:can:g(a: int) -> int { return a * 3; }\nwith entry { print(g(2)); }",
        "6\n",
    ),
    "forward_reference_to_later_archetype": (
        "def make() -> Later { return Later(1); }\nobj Later { has v: int; def me() -> Later { return self; } }\n"
        "import typing;\nwith entry { print(make().me().v, typing.get_type_hints(make)['return'].__name__); }",
        "1 Later\n",
    ),
    "access_tags_are_accepted": (
        "obj :pub Acct { has :priv balance: int = 0; def :pub deposit(n: int) -> int { self.balance += n; return self.balance; } }\n"
        "glob :pub rate = 2;\nwith entry { print(Acct().deposit(5) * rate, {'k':1}); }",
        "10 {'k': 1}\n",
    ),
    "annotated_assignment_in_block": ("with entry { x: int = 4; y: list[int] = [x]; print(y); }", "[4]\n"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_construct_compiles_and_runs_with_exact_output(name: str, run_jac: Callable[..., str]) -> None:
    source, expected = CASES[name]
    assert run_jac(source) == expected
