"""Shared pieces of code generation: scopes, pending sem texts, and AST node builders."""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.expressions import place

TESTS_REGISTRY = "__jac_tests__"
OBJECT_KINDS = {"obj", "node", "edge", "walker"}


@dataclass(frozen=True)
class Scope:
    """Where code is being generated: the module, a function body or an archetype body."""

    kind: str
    path: tuple[str, ...] = ()


@dataclass
class SemText:
    """A ``sem`` text to attach after its owner exists: ``owner_path`` relative to the scope."""

    owner_path: tuple[str, ...]
    part: str
    text: str
    item: Any


@dataclass
class ModuleState:
    """Facts gathered before generation: impls, declared names, deferred module-level sems."""

    implementations: dict[str, st.Impl] = field(default_factory=dict)
    declared_keys: set[str] = field(default_factory=set)
    deferred_sems: dict[str, list[ast.stmt]] = field(default_factory=dict)
    has_tests: bool = False
    top_names: set[str] = field(default_factory=set)


def function_def(
    name: str,
    arguments: ast.arguments,
    body: list[ast.stmt],
    decorators: list[ast.expr],
    returns: ast.expr | None,
    is_async: bool,
) -> ast.stmt:
    """A ``def`` (or ``async def``) node valid on every supported Python version."""
    node_class = ast.AsyncFunctionDef if is_async else ast.FunctionDef
    extra = {"type_params": []} if sys.version_info >= (3, 12) else {}
    return node_class(name=name, args=arguments, body=body, decorator_list=decorators, returns=returns, **extra)


def class_def(name: str, bases: list[ast.expr], keywords: list[ast.keyword], body: list[ast.stmt],
              decorators: list[ast.expr]) -> ast.stmt:
    """A ``class`` node valid on every supported Python version."""
    extra = {"type_params": []} if sys.version_info >= (3, 12) else {}
    return ast.ClassDef(name=name, bases=bases, keywords=keywords, body=body or [ast.Pass()],
                        decorator_list=decorators, **extra)


def dotted_expression(path: Iterable[str], where: Any) -> ast.expr:
    """``a.b.c`` as a load expression located at ``where``."""
    names = list(path)
    node: ast.expr = place(ast.Name(id=names[0], ctx=ast.Load()), where)
    for name in names[1:]:
        node = place(ast.Attribute(value=node, attr=name, ctx=ast.Load()), where)
    return node


def call_statement(function: ast.expr, args: list[ast.expr], where: Any) -> ast.stmt:
    """``function(*args)`` as a statement located at ``where``."""
    return place(ast.Expr(value=place(ast.Call(func=function, args=args, keywords=[]), where)), where)


def is_simple_constant(node: ast.expr) -> bool:
    """Whether a default value is a literal, safe to share between instances."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return True
    return False
