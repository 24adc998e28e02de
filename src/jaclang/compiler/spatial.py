"""Object-Spatial Programming syntax to calls on the OSP runtime (``__jac__.connect``, ``edge_ref``, ...).

Connect and disconnect operators, edge references and their filters, ``spawn``,
``visit``/``report``/``skip``/``disengage``: each becomes one call of
:mod:`jaclang.runtimelib.osp` through the ``__jac__`` module. Conditions in
filters (``[->:Road:km > 2:->]``, ``(?pop > 100)``) become one-argument lambdas
whose comparisons read the leading name as an attribute of the edge or node.
"""

from __future__ import annotations

import ast
from typing import Any

from jaclang.compiler import syntax_tree as st
from jaclang.compiler.astbuild import Scope
from jaclang.compiler.expressions import _spanning, copy_position, place, runtime
from jaclang.compiler.statements import StatementGenerator

EDGE_PARAMETER = "__jac_edge"
NODE_PARAMETER = "__jac_node"


def _call(name: str, args: list[ast.expr], keywords: dict[str, ast.expr] | None = None) -> ast.Call:
    """``__jac__.name(*args, **keywords)``."""
    return ast.Call(
        func=runtime(name), args=args,
        keywords=[ast.keyword(arg=key, value=value) for key, value in (keywords or {}).items()],
    )


def _attribute_of(parameter: str, comparison: ast.expr) -> ast.expr:
    """Make the leading name of each comparison in ``comparison`` an attribute of ``parameter``."""
    for node in ast.walk(comparison):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name):
            name = node.left
            node.left = copy_position(
                ast.Attribute(value=copy_position(ast.Name(id=parameter, ctx=ast.Load()), name), attr=name.id, ctx=ast.Load()),
                name,
            )
    return comparison


class SpatialGenerator(StatementGenerator):
    """Generates the object-spatial expressions and statements."""

    # ------------------------------------------------------------------ helpers
    def condition_lambda(self, parameter: str, conditions: list[st.Expr]) -> ast.expr | None:
        """``lambda p: p.a > 1 and p.b == 2`` for filter conditions, or ``None`` when there are none."""
        if not conditions:
            return None
        tests = [_attribute_of(parameter, self.expr(condition)) for condition in conditions]
        body = tests[0] if len(tests) == 1 else _spanning(ast.BoolOp(op=ast.And(), values=tests), tests)
        arguments = ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=parameter)], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
        )
        return ast.Lambda(args=arguments, body=body)

    def type_tuple(self, types: list[st.Expr]) -> ast.expr:
        """``(A, B)`` of filter types."""
        return ast.Tuple(elts=[self.expr(item) for item in types], ctx=ast.Load())

    def edge_filters(self, op: st.EdgeOp) -> dict[str, ast.expr]:
        """The ``edge_types``/``edge_condition`` keywords of an edge operator."""
        keywords: dict[str, ast.expr] = {}
        if op.edge_type is not None:
            keywords["edge_types"] = self.type_tuple([op.edge_type])
        condition = self.condition_lambda(EDGE_PARAMETER, op.conditions)
        if condition is not None:
            keywords["edge_condition"] = condition
        return keywords

    def node_filters(self, node_filter: st.Filter | None) -> dict[str, ast.expr]:
        """The ``node_types``/``node_condition`` keywords of a node filter."""
        keywords: dict[str, ast.expr] = {}
        if node_filter is None:
            return keywords
        if node_filter.types:
            keywords["node_types"] = self.type_tuple(node_filter.types)
        condition = self.condition_lambda(NODE_PARAMETER, node_filter.conditions)
        if condition is not None:
            keywords["node_condition"] = condition
        return keywords

    # ------------------------------------------------------------------ operators
    def combine(self, operator: Any, left: ast.expr, right: ast.expr) -> ast.expr:
        """Connect, disconnect and ``spawn`` operators; the others as expressions do."""
        if operator == "spawn":
            return _spanning(_call("spawn", [left, right]), [left, right])
        if isinstance(operator, st.ConnectOp):
            return _spanning(place(self.connect_call(operator, left, right), operator), [left, right])
        return super().combine(operator, left, right)

    def connect_call(self, op: st.ConnectOp, left: ast.expr, right: ast.expr) -> ast.expr:
        """``connect(left, right, direction, edge)`` or, for ``del -->``, ``disconnect(...)``."""
        if op.disconnect is not None:
            return _call("disconnect", [left, right, ast.Constant(value=op.direction)], self.edge_filters(op.disconnect))
        keywords: dict[str, ast.expr] = {}
        if op.edge is not None:
            edge = self.expr(op.edge)
            if op.arguments:
                args, named = self.call_arguments(op.arguments)
                edge = place(ast.Call(func=edge, args=args, keywords=named), op)
            keywords["edge"] = edge
        return _call("connect", [left, right, ast.Constant(value=op.direction)], keywords)

    # ------------------------------------------------------------------ edge references
    def _expr_EdgeRef(self, node: st.EdgeRef) -> ast.expr:
        """``[source --> ->:E:-> ...]``: one ``edge_ref`` call per hop, nested."""
        if node.source is not None:
            current = self.expr(node.source)
        else:  # the walker's location, or root outside a walk
            current = ast.BoolOp(op=ast.Or(), values=[_call("here", []), _call("root", [])])
        for index, hop in enumerate(node.hops):
            keywords = {**self.edge_filters(hop.op), **self.node_filters(hop.filter)}
            if node.edges and index == len(node.hops) - 1:
                keywords["edges"] = ast.Constant(value=True)
            current = place(_call("edge_ref", [current, ast.Constant(value=hop.op.direction)], keywords), hop)
        return current

    def _expr_FilterCall(self, node: st.FilterCall) -> ast.expr:
        """``items(?:City, pop > 100)``."""
        keywords: dict[str, ast.expr] = {}
        if node.filter.types:
            keywords["types"] = self.type_tuple(node.filter.types)
        condition = self.condition_lambda(NODE_PARAMETER, node.filter.conditions)
        if condition is not None:
            keywords["condition"] = condition
        return _call("filter_nodes", [self.expr(node.value)], keywords)

    def _expr_AssignCompr(self, node: st.AssignCompr) -> ast.expr:
        """``items(=a=1, b=2)`` is ``__jac__.assign_fields(items, a=1, b=2)``."""
        _args, keywords = self.call_arguments(node.assignments)
        return ast.Call(func=runtime("assign_fields"), args=[self.expr(node.value)], keywords=keywords)

    # ------------------------------------------------------------------ statements
    def _stmt_Report(self, node: st.Report, scope: Scope) -> ast.stmt:
        return ast.Expr(value=_call("report", [self.expr(node.value)]))

    def _stmt_Visit(self, node: st.Visit, scope: Scope) -> ast.stmt:
        target = node.target
        if isinstance(target, st.ByCall):  # `visit [-->] by llm();`: the model picks among the candidates
            candidates = place(_call("llm_visit", [self.model_expression(target.model), self.expr(target.call)]), target)
        else:
            candidates = self.expr(target)
        if node.index is not None:  # upstream's `visit :i: x`: queued at position i, not at the end
            visit = _call("visit_at", [self.expr(node.index), candidates])
        else:
            visit = _call("visit", [candidates])
        if node.orelse is None:
            return ast.Expr(value=visit)
        test = ast.UnaryOp(op=ast.Not(), operand=visit)
        return ast.If(test=test, body=self.block(node.orelse, scope), orelse=[])

    def _stmt_Ignore(self, node: st.Ignore, scope: Scope) -> ast.stmt:
        return ast.Expr(value=_call("ignore", [self.expr(node.targets)]))

    def _stmt_Disconnect(self, node: st.Disconnect, scope: Scope) -> ast.stmt:
        args = [self.expr(node.left), self.expr(node.right), ast.Constant(value=node.op.direction)]
        return ast.Expr(value=_call("disconnect", args, self.edge_filters(node.op)))

    def _stmt_WordStatement(self, node: st.WordStatement, scope: Scope) -> ast.stmt:
        word = str(node.word)
        if word in ("skip", "disengage"):
            return ast.Expr(value=_call(word, []))
        return super()._stmt_WordStatement(node, scope)

    def _stmt_Delete(self, node: st.Delete, scope: Scope) -> ast.stmt | list[ast.stmt]:
        """``del [a -->];`` destroys the edges (or nodes) referenced; other targets as Python."""
        if not any(isinstance(item, st.EdgeRef) for item in node.targets.items):
            return super()._stmt_Delete(node, scope)
        statements: list[ast.stmt] = []
        for item in node.targets.items:
            if isinstance(item, st.EdgeRef):
                statements.append(place(ast.Expr(value=_call("destroy", [self.expr(item)])), item))
            else:
                statements.append(place(ast.Delete(targets=[self.target(item, ast.Del())]), item))
        return statements

    def _stmt_Switch(self, node: st.Switch, scope: Scope) -> ast.stmt:
        """``switch x { case 1: ... default: ... }``: a ``match`` (no fall-through, as upstream)."""
        return self._stmt_Match(st.Match(node.subject, node.cases), scope)

    def _stmt_PyInline(self, node: st.PyInline, scope: Scope) -> list[ast.stmt]:
        """``::py:: code ::py::``: the Python statements, at their lines in the ``.jac`` file."""
        import textwrap

        text = str(node.token)[len("::py::"): -len("::py::")]
        try:
            module = ast.parse(textwrap.dedent(text), self.filename)
        except SyntaxError as error:
            line = (node.line or 1) + (error.lineno or 1) - 1
            raise self.error_at(f"invalid inline Python: {error.msg}", line, 1) from None
        ast.increment_lineno(module, (node.line or 1) - 1)
        return module.body or [ast.Pass()]
