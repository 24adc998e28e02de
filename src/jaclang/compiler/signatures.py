"""Jac parameter lists to Python ``ast.arguments``, collecting legacy inline semstrings."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Callable

from lark import Token, Tree

from jaclang.compiler.expressions import place, token_text

if TYPE_CHECKING:
    from jaclang.compiler.expressions import ExpressionGenerator


def build_arguments(
    generator: "ExpressionGenerator",
    params: list[Tree | None],
    annotate: bool = True,
    annotation: Callable[[Tree], ast.expr] | None = None,
    semstrings: dict[str, str] | None = None,
) -> ast.arguments:
    """Translate parameter subtrees; parameters after ``*``/``*args`` become keyword-only.

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
        if param is None:
            continue
        kind = str(param.data)
        if kind == "param_slash":
            if seen_star or positional_only:
                raise generator.error("'/' must come before '*' and only once", param)
            positional_only, positional = positional, []
            continue
        if kind == "param_star":
            seen_star = True
            continue
        name_token = param.children[0]
        name = token_text(name_token)
        if name in seen_names:
            raise generator.error(f"duplicate parameter {name!r}", param)
        seen_names.add(name)
        type_tree, default_tree, sem_tree = _parts(kind, param)
        arg = place(ast.arg(arg=name, annotation=translate(type_tree) if (annotate and type_tree is not None) else None), name_token)
        if sem_tree is not None and semstrings is not None:
            from jaclang.compiler.fstrings import string_value

            semstrings[name] = str(string_value(generator, sem_tree.children[0]))
        if kind == "param_varargs":
            varargs, seen_star = arg, True
        elif kind == "param_kwargs":
            kwargs = arg
        elif seen_star:
            keyword_only.append(arg)
            keyword_defaults.append(generator.expr(default_tree) if default_tree is not None else None)
        else:
            if default_tree is not None:
                defaults.append(generator.expr(default_tree))
            elif defaults:
                raise generator.error(f"parameter {name!r} without a default follows one with a default", param)
            positional.append(arg)
        if kwargs is not None and kind != "param_kwargs":
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


def _parts(kind: str, param: Tree) -> tuple[Tree | Token | None, Tree | Token | None, Tree | None]:
    """``(type, default, semstring)`` subtrees of one parameter."""
    children = param.children
    if kind == "param_plain":
        _name, sem, type_tree, default = children
        return type_tree, default, sem
    if kind == "param_plain_untyped":
        return None, children[1], None
    if kind == "typed_lambda_param":
        return children[1], children[2], None
    if kind in ("param_varargs", "param_kwargs"):
        return (children[1] if len(children) > 1 else None), None, None
    return None, None, None


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
