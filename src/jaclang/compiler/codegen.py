"""Jac syntax tree to a Python ``ast.Module``: module layout, entry blocks, tests, sem placement.

Every generated node carries the ``.jac`` line and column of the Jac construct it
comes from, so tracebacks and Python's own error carets point into the Jac source.
Statements and declarations are built by :mod:`statements` and :mod:`declarations`.
"""

from __future__ import annotations

import ast

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.annexes import ANNEX_LINE_STRIDE
from jaclang.compiler.astbuild import TESTS_REGISTRY, Scope, SemText, function_def
from jaclang.compiler.declarations import DeclarationGenerator
from jaclang.compiler.expressions import RUNTIME, fill_position, place, runtime_uses, token_text
from jaclang.compiler.fstrings import string_value
from jaclang.compiler.gc_pause import collector_paused
from jaclang.compiler.signatures import build_arguments


class CodeGenerator(DeclarationGenerator):
    """Generates a Python module from a Jac syntax tree."""

    def __init__(self, source: str, filename: str) -> None:
        super().__init__(source, filename)
        self.test_counter = 0
        self.runtime_uses_at_start = runtime_uses()

    # ------------------------------------------------------------------ module
    def module(self, module: st.Module) -> ast.Module:
        """The whole module: docstring, runtime import, items in order, leftover impls."""
        items = _split_module_docstring(module.items)
        self._collect(items)
        docstring: list[ast.stmt] = []
        declared_types = [self._declared_type(item) for item in items]
        self.declaration_order = {name: index for index, name in enumerate(declared_types) if name}
        chunks: list[list[ast.stmt]] = []
        chunk_of_declaration: dict[str, int] = {}
        for index, item in enumerate(items):
            self.pending_types = {name for name in declared_types[index:] if name}
            if isinstance(item, st.ModuleDoc):
                statement = place(ast.Expr(value=self.expr(item.text)), item)
                if index == 0:
                    docstring.append(statement)
                else:
                    chunks.append([statement])
                continue
            if isinstance(item, st.Declaration):
                chunk_of_declaration[self._declared_name(item)] = len(chunks)
            chunks.append(self.toplevel(item))
        for name, statements in self.state.deferred_sems.items():
            chunks[chunk_of_declaration[name]].extend(statements)
        body = [statement for chunk in chunks for statement in chunk]
        result = ast.Module(body=body, type_ignores=[])
        prelude: list[ast.stmt] = []
        if runtime_uses() != self.runtime_uses_at_start:
            prelude.append(
                ast.Import(names=[ast.alias(name="jaclang.runtimelib.builtins", asname=RUNTIME)])
            )
        if self.state.has_tests:
            prelude.append(
                ast.Assign(targets=[ast.Name(id=TESTS_REGISTRY, ctx=ast.Store())], value=ast.List(elts=[], ctx=ast.Load()))
            )
        first = body[0] if body and getattr(body[0], "lineno", None) is not None else None
        start = (first.lineno, first.col_offset, first.end_lineno, first.end_col_offset) if first else (1, 0, 1, 0)
        for statement in prelude:
            fill_position(statement, start)
        result.body = docstring + prelude + body
        # Every statement was built through `place`, which locates whole subtrees, so no
        # `ast.fix_missing_locations` pass over the module is needed; this covers stragglers.
        for statement in result.body:
            if getattr(statement, "lineno", None) is None:
                fill_position(statement, start)
        return result

    def _collect(self, items: list[st.Node]) -> None:
        """Find impls, declared ability/archetype keys and tests before generating."""
        for item in items:
            if isinstance(item, st.Impl):
                key = ".".join(token_text(part) for part in item.target)
                earlier = self.state.implementations.get(key)
                if earlier is not None:
                    first_line = (earlier.line or 0) % ANNEX_LINE_STRIDE  # its own file's line, even in an annex
                    raise self.error(f"{key} is implemented twice (first at line {first_line})", item)
                self.state.implementations[key] = item
            elif isinstance(item, st.Declaration):
                self._collect_declared(item, ())
                self.state.top_names.add(self._declared_name(item))
            elif isinstance(item, st.TestBlock):
                self.state.has_tests = True

    def _collect_declared(self, declaration: st.Declaration, path: tuple[str, ...]) -> None:
        decl = declaration.decl
        name = token_text(decl.name)
        self.state.declared_keys.add(".".join(path + (name,)))
        if isinstance(decl, (st.Archetype, st.Enum)):
            for member in decl.members:
                if isinstance(member, st.Declaration):
                    self._collect_declared(member, path + (name,))

    def toplevel(self, item: st.Node) -> list[ast.stmt]:
        """One module-level item."""
        if isinstance(item, st.Glob):
            return self.glob(item)
        if isinstance(item, st.EntryBlock):
            return self.entry(item)
        if isinstance(item, st.TestBlock):
            return self.test_block(item)
        if isinstance(item, st.SemStmt):
            return self.sem_statement(item, Scope("module"))
        if isinstance(item, st.Impl):
            return self.unmatched_impl(item)
        return self.statement(item, Scope("module"))

    @staticmethod
    def _declared_type(item: st.Node) -> str | None:
        """The archetype or enum name a module item declares, if any."""
        if isinstance(item, st.Declaration) and isinstance(item.decl, (st.Archetype, st.Enum)):
            return token_text(item.decl.name)
        return None

    @staticmethod
    def _declared_name(declaration: st.Declaration) -> str:
        return token_text(declaration.decl.name)

    def glob(self, node: st.Glob) -> list[ast.stmt]:
        """``glob x: T = v, y = w;``"""
        statements: list[ast.stmt] = []
        for var in node.variables:
            if var.unpacked is not None:
                names = [place(ast.Name(id=token_text(name), ctx=ast.Store()), name) for name in var.unpacked]
                target = place(ast.Tuple(elts=names, ctx=ast.Store()), var)
                statements.append(place(ast.Assign(targets=[target], value=self.expr(var.value)), var))
                continue
            target = place(ast.Name(id=token_text(var.name), ctx=ast.Store()), var.name)
            value = self.expr(var.value) if var.value is not None else None
            if var.type is not None:
                annotation = self.annotation_translator(Scope("module"))(var.type)
                statements.append(place(ast.AnnAssign(target=target, annotation=annotation, value=value, simple=1), var))
            else:
                statements.append(place(ast.Assign(targets=[target], value=value or ast.Constant(value=None)), var))
        return statements

    def entry(self, node: st.EntryBlock) -> list[ast.stmt]:
        """``with entry { }`` runs inline; ``with entry:__main__ { }`` only as the main program."""
        body = self.block(node.body, Scope("module"))
        if node.module_name is None:
            return body
        test = ast.Compare(
            left=ast.Name(id="__name__", ctx=ast.Load()), ops=[ast.Eq()], comparators=[ast.Constant(value=str(node.module_name))]
        )
        return [place(ast.If(test=place(test, node), body=body, orelse=[]), node)]

    def test_block(self, node: st.TestBlock) -> list[ast.stmt]:
        """``test "name" { }``: a function registered in ``__jac_tests__``."""
        name_token = node.name
        self.test_counter += 1
        if name_token is None:
            name = f"test_{self.test_counter}"
        elif name_token.type == "STRING":
            name = str(string_value(self, name_token))
        else:
            name = str(name_token)
        function_name = f"__jac_test_{self.test_counter}"
        function = function_def(function_name, build_arguments(self, []), self.block(node.body, Scope("function")), [], None, False)
        register = ast.Expr(
            value=ast.Call(
                func=ast.Attribute(value=ast.Name(id=TESTS_REGISTRY, ctx=ast.Load()), attr="append", ctx=ast.Load()),
                args=[ast.Tuple(elts=[ast.Constant(value=name), ast.Name(id=function_name, ctx=ast.Load())], ctx=ast.Load())],
                keywords=[],
            )
        )
        return [place(function, node), place(register, node)]

    # ------------------------------------------------------------------ sem
    def sem_statement(self, node: st.SemStmt, scope: Scope) -> list[ast.stmt]:
        """``sem a.b.c = "..."``: deferred to just after ``a``'s declaration when ``a`` is declared here."""
        names = [token_text(part) for part in node.target.parts]
        text = self.sem_text(node)
        owner_path = tuple(names[:-1]) or (names[0],)
        part = names[-1] if len(names) > 1 else ""
        statement = self.sem_call(SemText(owner_path, part, text, node), ())
        if scope.kind == "module" and names[0] in self.state.declared_keys and names[0] in self.state.top_names:
            self.state.deferred_sems.setdefault(names[0], []).append(statement)
            return []
        return [statement]


def _split_module_docstring(items: list[st.Node]) -> list[st.Node]:
    """The first string of a file is the module's docstring, even right before a declaration (as upstream)."""
    if not items or not isinstance(items[0], st.Declaration) or items[0].decl is None:
        return items
    first = items[0]
    if first.docstring is None or first.decorators:
        return items
    doc = st.ModuleDoc(first.docstring)
    doc.line, doc.column, doc.end_line, doc.end_column = (
        first.docstring.line, first.docstring.column, first.docstring.end_line, first.docstring.end_column,
    )
    declaration = st.Declaration(first.decorators, None, first.decl)
    declaration.line, declaration.column = first.decl.line, first.decl.column
    declaration.end_line, declaration.end_column = first.end_line, first.end_column
    return [doc, declaration, *items[1:]]


def generate(module: st.Module, source: str, filename: str) -> ast.Module:
    """The Python module for a parsed Jac source."""
    with collector_paused():
        return CodeGenerator(source, filename).module(module)
