"""Jac parse tree to a Python ``ast.Module``: module layout, entry blocks, tests, sem placement.

Every generated node carries the ``.jac`` line and column of the Jac construct it
comes from, so tracebacks and Python's own error carets point into the Jac source.
Statements and declarations are built by :mod:`statements` and :mod:`declarations`.
"""

from __future__ import annotations

import ast

from lark import Token, Tree

from jaclang.compiler.astbuild import (
    TESTS_REGISTRY,
    Implementation,
    Scope,
    SemText,
    function_def,
    present_children,
)
from jaclang.compiler.declarations import DeclarationGenerator
from jaclang.compiler.expressions import RUNTIME, place, runtime_uses, token_text
from jaclang.compiler.fstrings import string_value
from jaclang.compiler.signatures import build_arguments


class CodeGenerator(DeclarationGenerator):
    """Generates a Python module from a Jac parse tree."""

    def __init__(self, source: str, filename: str) -> None:
        super().__init__(source, filename)
        self.test_counter = 0
        self.runtime_uses_at_start = runtime_uses()

    # ------------------------------------------------------------------ module
    def module(self, tree: Tree) -> ast.Module:
        """The whole module: runtime import, docstring, items in order, leftover impls."""
        items = list(tree.children)
        self._collect(items)
        body: list[ast.stmt] = []
        docstring: list[ast.stmt] = []
        declared_types = [self._declared_type(item) for item in items]
        chunks: list[list[ast.stmt]] = []
        chunk_of_declaration: dict[str, int] = {}
        for index, item in enumerate(items):
            self.pending_types = {name for name in declared_types[index:] if name}
            if isinstance(item, Tree) and item.data == "module_doc":
                value = self.expr(item.children[0])
                statement = place(ast.Expr(value=value), item)
                if index == 0:
                    docstring.append(statement)
                else:
                    chunks.append([statement])
                continue
            if isinstance(item, Tree) and item.data == "declaration":
                chunk_of_declaration[self._declared_name(item)] = len(chunks)
            chunks.append(self.toplevel(item))
        for name, statements in self.state.deferred_sems.items():
            chunks[chunk_of_declaration[name]].extend(statements)
        body = [statement for chunk in chunks for statement in chunk]
        module = ast.Module(body=body, type_ignores=[])
        prelude: list[ast.stmt] = []
        if runtime_uses() != self.runtime_uses_at_start:
            prelude.append(
                ast.Import(names=[ast.alias(name="jaclang.runtimelib.builtins", asname=RUNTIME)])
            )
        if self.state.has_tests:
            prelude.append(
                ast.Assign(targets=[ast.Name(id=TESTS_REGISTRY, ctx=ast.Store())], value=ast.List(elts=[], ctx=ast.Load()))
            )
        for statement in prelude:
            ast.copy_location(statement, body[0] if body else ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0))
            if getattr(statement, "lineno", None) is None:
                statement.lineno, statement.col_offset, statement.end_lineno, statement.end_col_offset = 1, 0, 1, 0
        module.body = docstring + prelude + body
        ast.fix_missing_locations(module)
        return module

    def _collect(self, items: list) -> None:
        """Find impls, declared ability/archetype keys and tests before generating."""
        for item in items:
            if not isinstance(item, Tree):
                continue
            if item.data == "impl_decl":
                dotted, signature, _event, body = item.children
                key = ".".join(token_text(part) for part in dotted.children)
                self.state.implementations[key] = Implementation(key, signature, body, item)
            elif item.data == "legacy_impl":
                parts = [child for child in item.children if isinstance(child, Tree) and child.data == "legacy_part"]
                key = ".".join(token_text(part.children[1]) for part in parts)
                signature, body = item.children[len(parts)], item.children[len(parts) + 1]
                self.state.implementations[key] = Implementation(key, signature, body, item)
            elif item.data == "declaration":
                self._collect_declared(item, ())
                self.state.top_names.add(self._declared_name(item))
            elif item.data == "test_block":
                self.state.has_tests = True

    def _collect_declared(self, declaration: Tree, path: tuple[str, ...]) -> None:
        decl = declaration.children[2]
        if decl.data == "ability":
            self.state.declared_keys.add(".".join(path + (token_text(decl.children[3]),)))
        elif decl.data in ("archetype", "enum_decl"):
            name = token_text(decl.children[2] if decl.data == "archetype" else decl.children[1])
            self.state.declared_keys.add(".".join(path + (name,)))
            body = decl.children[-1]
            for member in present_children(body):
                if isinstance(member, Tree) and member.data == "declaration":
                    self._collect_declared(member, path + (name,))

    def toplevel(self, item: Tree) -> list[ast.stmt]:
        """One module-level item."""
        kind = str(item.data)
        if kind == "glob_stmt":
            return self.glob(item)
        if kind == "entry_block":
            return self.entry(item)
        if kind == "test_block":
            return self.test_block(item)
        if kind == "sem_stmt":
            return self.sem_statement(item, Scope("module"))
        if kind in ("impl_decl", "legacy_impl"):
            return self.unmatched_impl(item)
        return self.statement(item, Scope("module"))

    @staticmethod
    def _declared_type(item: Tree | Token) -> str | None:
        """The archetype or enum name a module item declares, if any."""
        if isinstance(item, Tree) and item.data == "declaration":
            decl = item.children[2]
            if decl.data == "archetype":
                return token_text(decl.children[2])
            if decl.data == "enum_decl":
                return token_text(decl.children[1])
        return None

    @staticmethod
    def _declared_name(declaration: Tree) -> str:
        decl = declaration.children[2]
        if decl.data == "ability":
            return token_text(decl.children[3])
        return token_text(decl.children[2] if decl.data == "archetype" else decl.children[1])

    def glob(self, tree: Tree) -> list[ast.stmt]:
        """``glob x: T = v, y = w;``"""
        statements: list[ast.stmt] = []
        for var in tree.children:
            name_token, _sem, type_tree, value_tree = var.children
            target = place(ast.Name(id=token_text(name_token), ctx=ast.Store()), name_token)
            value = self.expr(value_tree) if value_tree is not None else None
            if type_tree is not None:
                annotation = self.annotation_translator(Scope("module"))(type_tree)
                statements.append(place(ast.AnnAssign(target=target, annotation=annotation, value=value, simple=1), var))
            else:
                statements.append(place(ast.Assign(targets=[target], value=value or ast.Constant(value=None)), var))
        return statements

    def entry(self, tree: Tree) -> list[ast.stmt]:
        """``with entry { }`` runs inline; ``with entry:__main__ { }`` only as the main program."""
        module_name, block = tree.children
        body = self.block(block, Scope("module"))
        if module_name is None:
            return body
        test = ast.Compare(
            left=ast.Name(id="__name__", ctx=ast.Load()), ops=[ast.Eq()], comparators=[ast.Constant(value=str(module_name))]
        )
        return [place(ast.If(test=place(test, tree), body=body, orelse=[]), tree)]

    def test_block(self, tree: Tree) -> list[ast.stmt]:
        """``test "name" { }``: a function registered in ``__jac_tests__``."""
        name_token, block = tree.children
        self.test_counter += 1
        if name_token is None:
            name = f"test_{self.test_counter}"
        elif name_token.type == "STRING":
            name = str(string_value(self, name_token))
        else:
            name = str(name_token)
        function_name = f"__jac_test_{self.test_counter}"
        function = function_def(function_name, build_arguments(self, []), self.block(block, Scope("function")), [], None, False)
        register = ast.Expr(
            value=ast.Call(
                func=ast.Attribute(value=ast.Name(id=TESTS_REGISTRY, ctx=ast.Load()), attr="append", ctx=ast.Load()),
                args=[ast.Tuple(elts=[ast.Constant(value=name), ast.Name(id=function_name, ctx=ast.Load())], ctx=ast.Load())],
                keywords=[],
            )
        )
        return [place(function, tree), place(register, tree)]

    # ------------------------------------------------------------------ sem
    def sem_statement(self, tree: Tree, scope: Scope) -> list[ast.stmt]:
        """``sem a.b.c = "..."``: deferred to just after ``a``'s declaration when ``a`` is declared here."""
        dotted, strings = tree.children
        names = [token_text(part) for part in dotted.children]
        text = self.expr(strings)
        if not isinstance(text, ast.Constant) or not isinstance(text.value, str):
            raise self.error("a sem text must be a plain string", strings)
        owner_path = tuple(names[:-1]) or (names[0],)
        part = names[-1] if len(names) > 1 else ""
        statement = self.sem_call(SemText(owner_path, part, text.value, tree), ())
        if scope.kind == "module" and names[0] in self.state.declared_keys and names[0] in self.state.top_names:
            self.state.deferred_sems.setdefault(names[0], []).append(statement)
            return []
        return [statement]

def generate(tree: Tree, source: str, filename: str) -> ast.Module:
    """The Python module for a parsed Jac source."""
    return CodeGenerator(source, filename).module(tree)
