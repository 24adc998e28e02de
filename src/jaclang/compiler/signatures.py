"""Jac parameters to Python ``ast.arguments``, collecting legacy inline semstrings."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.expressions import place, token_text

if TYPE_CHECKING:
    from jaclang.compiler.expressions import ExpressionGenerator


def build_arguments(
    generator: "ExpressionGenerator",
    params: list[st.Param],
    annotate: bool = True,
    annotation: Callable[[st.Expr], ast.expr] | None = None,
    semstrings: dict[str, str] | None = None,
) -> ast.arguments:
    """Translate parameters; parameters after ``*``/``*args`` become keyword-only.

    ``annotation`` translates type expressions (methods strip ``self.``);
    ``semstrings`` receives legacy ``name: 'meaning': type`` texts.
    """
    translate = annotation or generator.expr
    positional: list[ast.arg] = []
    positional_only: list[ast.arg] = []
    keyword_only: list[ast.arg] = []
    defaults: list[ast.expr] = []
    keyword_defaults: list[ast.expr | None] = []
    varargs: ast.arg | None = None
    kwargs: ast.arg | None = None
    seen_star = False
    seen_names: set[str] = set()
    for param in params:
        kind = param.kind
        if kind == "slash":
            if seen_star or positional_only:
                raise generator.error("'/' must come before '*' and only once", param)
            positional_only, positional = positional, []
            continue
        if kind == "star":
            seen_star = True
            continue
        name = token_text(param.name)
        if name in seen_names:
            raise generator.error(f"duplicate parameter {name!r}", param)
        seen_names.add(name)
        type_node = param.type if annotate else None
        arg = place(ast.arg(arg=name, annotation=translate(type_node) if type_node is not None else None), param.name)
        if param.sem is not None and semstrings is not None:
            from jaclang.compiler.fstrings import string_value

            semstrings[name] = str(string_value(generator, param.sem))
        if kind == "varargs":
            varargs, seen_star = arg, True
        elif kind == "kwargs":
            kwargs = arg
        elif seen_star:
            keyword_only.append(arg)
            keyword_defaults.append(generator.expr(param.default) if param.default is not None else None)
        else:
            if param.default is not None:
                defaults.append(generator.expr(param.default))
            elif defaults:
                raise generator.error(f"parameter {name!r} without a default follows one with a default", param)
            positional.append(arg)
        if kwargs is not None and kind != "kwargs":
            raise generator.error("no parameter may follow '**' parameters", param)
    return ast.arguments(
        posonlyargs=positional_only,
        args=positional,
        vararg=varargs,
        kwonlyargs=keyword_only,
        kw_defaults=keyword_defaults,
        kwarg=kwargs,
        defaults=defaults,
    )


def add_self_parameter(arguments: ast.arguments) -> ast.arguments:
    """Prepend the implicit ``self`` of Jac methods unless it is written out."""
    existing = arguments.posonlyargs + arguments.args
    if existing and existing[0].arg == "self":
        return arguments
    self_arg = ast.arg(arg="self")
    if arguments.posonlyargs:
        arguments.posonlyargs.insert(0, self_arg)
    else:
        arguments.args.insert(0, self_arg)
    return arguments
