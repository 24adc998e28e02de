"""Lark parse callbacks that build the typed Jac syntax tree (:mod:`syntax_tree`) while parsing.

This is the one place that knows the order of each grammar rule's children.
The builder runs inside Lark's LALR parser (an inline transformer), so no
intermediate parse tree is built, and it gives every node the span from its
first to its last located child (Lark's own position tracking is off: slower).
"""

from __future__ import annotations

from typing import Any, Optional

from lark import Token

from jaclang.compiler import syntax_tree as st

Children = list[Any]


def locate(node: st.Node, children: Children) -> st.Node:
    """Give ``node`` the span from its first located child to its last."""
    if children:
        # Fast path: both ends are tokens or located nodes (lists and None have no ``line``).
        first, last = children[0], children[-1]
        try:
            if first.line is not None and last.line is not None:
                node.line, node.column = first.line, first.column
                node.end_line, node.end_column = last.end_line, last.end_column
                return node
        except AttributeError:
            pass
    first = _located(children, False)
    if first is not None:
        last = _located(children, True)
        node.line, node.column = first.line, first.column
        node.end_line, node.end_column = last.end_line, last.end_column
    return node


def _located(children: Any, from_end: bool) -> Any:
    """The first (or last) item under ``children`` that has a position, looking into lists."""
    for child in (reversed(children) if from_end else children):
        if child is None:
            continue
        if isinstance(child, (list, tuple)):
            found = _located(child, from_end)
            if found is not None:
                return found
        elif getattr(child, "line", None) is not None:
            return child
    return None


def _present(children: Children) -> list:
    return [child for child in children if child is not None]


def _spread(cls: type) -> staticmethod:
    """A callback building ``cls`` from the rule's children, in field order."""
    if cls.collects:
        return staticmethod(lambda children: locate(cls(_present(children)), children))
    return staticmethod(lambda children: locate(cls(*children), children))


def _spread_after_keyword(cls: type) -> staticmethod:
    """Like :func:`_spread` for rules whose first child is their keyword token (kept for the position)."""
    return staticmethod(lambda children: locate(cls(*children[1:]), children))


class JacTreeBuilder:
    """The inline transformer: one callback per grammar rule (or alias) producing a node."""

    # Rules whose children map onto the node's fields one to one.
    start = _spread(st.Module)
    strings = _spread(st.Strings)
    tuple = _spread(st.TupleExpr)
    list = _spread(st.ListExpr)
    set = _spread(st.SetExpr)
    dict = _spread(st.DictExpr)
    dict_item = _spread(st.DictItem)
    dict_unpack = _spread(st.DictUnpack)
    star_expr = _spread(st.StarExpr)
    number = _spread(st.Number)
    const = _spread(st.Constant)
    name = _spread(st.Name)
    type_ref = _spread(st.TypeRef)
    not_op = _spread(st.Not)
    await_op = _spread(st.Await)
    ifexp = _spread(st.IfExp)
    by_call = _spread(st.ByCall)
    walrus = _spread(st.Walrus)
    kwarg = _spread(st.Keyword)
    slice = _spread(st.Slice)
    dictcomp = _spread(st.DictComp)
    block = _spread(st.Block)
    expr_only = _spread(st.ExprStmt)
    annassign = _spread(st.AnnAssign)
    augassign = _spread(st.AugAssign)
    step_aug = _spread(st.AugAssign)
    return_stmt = _spread_after_keyword(st.Return)
    raise_stmt = _spread_after_keyword(st.Raise)
    assert_stmt = _spread_after_keyword(st.Assert)
    del_stmt = _spread_after_keyword(st.Delete)
    word_stmt = _spread(st.WordStatement)
    while_stmt = _spread_after_keyword(st.While)
    for_to_stmt = _spread_after_keyword(st.ForTo)
    except_clause = _spread(st.ExceptClause)
    with_item = _spread(st.WithItem)
    dotted_name = _spread(st.DottedName)
    import_name = _spread(st.ImportName)
    module_alias = _spread(st.ModuleAlias)
    has_var = _spread(st.HasVar)
    enum_member = _spread(st.EnumMember)
    sem_stmt = _spread(st.SemStmt)
    module_doc = _spread(st.ModuleDoc)
    glob_var = _spread(st.GlobVar)
    glob_stmt = _spread(st.Glob)
    entry_block = _spread(st.EntryBlock)
    test_block = _spread(st.TestBlock)
    pattern_as = _spread(st.PatternAs)
    pattern_star = _spread(st.PatternStar)
    pattern_kwarg = _spread(st.PatternKeyword)
    or_pattern = _spread(st.PatternOr)
    pattern_tuple = _spread(st.PatternSequence)
    pattern_list = _spread(st.PatternSequence)
    pattern_open_seq = _spread(st.PatternSequence)

    # Rules that only wrap their single child.
    def fexpr(self, children: Children) -> Any:
        """The expression of an f-string field."""
        return children[0]

    sem_text = docstring = else_clause = finally_clause = fexpr
    body_block = comp_if = pattern_arg = fexpr
    name_any = fexpr

    def decorators(self, children: Children) -> list:
        """``@a @b``: the decorator expressions."""
        return children

    arguments = subscripts = params = lambda_params = typed_lambda_params = decorators
    comp_clauses = import_names = kwarg_list = decorators

    def arch_kind(self, children: Children) -> Token:
        """``obj``/``node``/...: the keyword token."""
        return children[0]

    legacy_kind = unary_op = event_kind = ref_kind = arch_kind

    def type_params(self, children: Children) -> list:
        """``[T, U]`` of a generic function or archetype."""
        return _present(children)

    edge_conditions = type_params

    # ------------------------------------------------------------ expressions
    def binary_chain(self, children: Children) -> st.Node:
        """``a op b op c``: operands and operator texts (``not in``/``is not`` joined)."""
        operators = [op if isinstance(op, st.Node) else " ".join(str(token) for token in op) for op in children[1::2]]
        return locate(st.BinaryChain(children[0::2], operators), children)

    def binop(self, children: Children) -> list:
        """An operator: its tokens (two for ``not in``/``is not``)."""
        return children

    def unary(self, children: Children) -> st.Node:
        """``-x``."""
        operator, operand = children
        return locate(st.Unary(str(operator), operand), children)

    def power_op(self, children: Children) -> st.Node:
        """``a ** b``."""
        return locate(st.Power(children[0], children[1]), children)

    def await_power(self, children: Children) -> st.Node:
        """``await a ** b``."""
        return locate(st.Power(children[0], children[1], awaited=True), children)

    def listcomp(self, children: Children) -> st.Node:
        """``[x for ...]``."""
        return locate(st.Comprehension("list", children[0], children[1]), children)

    def setcomp(self, children: Children) -> st.Node:
        """``{x for ...}``."""
        return locate(st.Comprehension("set", children[0], children[1]), children)

    def genexp(self, children: Children) -> st.Node:
        """``(x for ...)``."""
        return locate(st.Comprehension("generator", children[0], children[1]), children)

    genexp_arg = genexp

    def comp_for(self, children: Children) -> st.Node:
        """``for target in iterable if ...``."""
        target, iterable, *conditions = children
        return locate(st.CompFor(target, iterable, conditions), children)

    def exprlist(self, children: Children) -> st.Node:
        """Targets separated by commas (the commas are kept to see a trailing one)."""
        present = _present(children)
        items = [child for child in present if not (isinstance(child, Token) and child == ",")]
        trailing = bool(present) and isinstance(present[-1], Token) and present[-1] == ","
        return locate(st.ExprList(items, trailing), items)

    def attribute(self, children: Children) -> st.Node:
        """``a.b``."""
        return locate(st.Attribute(children[0], children[1]), children)

    def safe_attribute(self, children: Children) -> st.Node:
        """``a?.b``."""
        return locate(st.Attribute(children[0], children[1], safe=True), children)

    def call(self, children: Children) -> st.Node:
        """``f(args)``."""
        func, arguments = children
        return locate(st.Call(func, _present(arguments or [])), children)

    def glob_unpack(self, children: Children) -> st.Node:
        """``glob (a, b) = value``."""
        *names, value = _present(children)
        return locate(st.GlobVar(names[0], None, None, value, names), children)

    def assign_compr(self, children: Children) -> st.Node:
        """``items(=a=1, b=2)``."""
        value, assignments = children
        return locate(st.AssignCompr(value, assignments), children)

    def empty_stmt(self, children: Children) -> None:
        """A lone ``;`` (upstream accepts it): nothing."""
        return None

    def pipe_call(self, children: Children) -> st.Node:
        """Upstream's unary pipe ``:> f`` / ``|> f``: a call without arguments."""
        return locate(st.Call(children[-1], []), children)

    def subscript(self, children: Children) -> st.Node:
        """``a[i]``."""
        return locate(st.Subscript(children[0], _present(children[1])), children)

    def safe_subscript(self, children: Children) -> st.Node:
        """``a?[i]``."""
        return locate(st.Subscript(children[0], _present(children[1]), safe=True), children)

    def star_arg(self, children: Children) -> st.Node:
        """``*args`` in a call."""
        return locate(st.StarArg(children[0]), children)

    def kwstar_arg(self, children: Children) -> st.Node:
        """``**kwargs`` in a call."""
        return locate(st.StarArg(children[0], double=True), children)

    def lambdef(self, children: Children) -> st.Node:
        """``lambda x: body``."""
        params, body = children
        return locate(st.Lambda(_present(params or []), body), children)

    def typed_lambdef(self, children: Children) -> st.Node:
        """``lambda x: int : body``."""
        _keyword, params, _returns, body = children
        return locate(st.Lambda(_present(params), body), children)

    def yield_expr(self, children: Children) -> st.Node:
        """``yield value``."""
        return locate(st.Yield(children[1] if len(children) > 1 else None), children)

    def yield_from(self, children: Children) -> st.Node:
        """``yield from value``."""
        return locate(st.Yield(children[1], delegate=True), children)

    # ------------------------------------------------------------ statements
    def assign(self, children: Children) -> st.Node:
        """``a = b = value``."""
        *targets, value = children
        return locate(st.Assign(targets, value), children)

    step_assign = assign

    def yield_stmt(self, children: Children) -> st.Node:
        """``yield x;``."""
        return locate(st.ExprStmt(children[0]), children)

    def let_stmt(self, children: Children) -> st.Node:
        """``let x = 5;``: the assignment (``let`` only declares, as upstream)."""
        *targets, value = children[1:]
        return locate(st.Assign(targets, value), children)

    def check_stmt(self, children: Children) -> st.Node:
        """``check a == b;``."""
        return locate(st.Check(children[1]), children)

    def ignore_stmt(self, children: Children) -> st.Node:
        """``ignore [-->][0];``."""
        return locate(st.Ignore(children[1]), children)

    def flow_expr(self, children: Children) -> st.Node:
        """``flow f(x)``."""
        return locate(st.Concurrent("flow", children[1]), children)

    def wait_expr(self, children: Children) -> st.Node:
        """``wait task``."""
        return locate(st.Concurrent("wait", children[1]), children)

    def global_stmt(self, children: Children) -> st.Node:
        """``global a, b``."""
        return locate(st.Global(children[1:]), children)

    def nonlocal_stmt(self, children: Children) -> st.Node:
        """``nonlocal a, b``."""
        return locate(st.Global(children[1:], nonlocal_=True), children)

    def for_stmt(self, children: Children) -> st.Node:
        """``async for target in iterable { } else { }``."""
        is_async, _keyword, target, iterable, body, orelse = children
        return locate(st.For(is_async, target, iterable, body, orelse), children)

    def if_stmt(self, children: Children) -> st.Node:
        """``if ... elif ... else ...``."""
        _keyword, test, body, *rest = children
        orelse = rest.pop()
        return locate(st.If(test, body, rest, orelse), children)

    def elif_clause(self, children: Children) -> st.Node:
        """``elif test { }``."""
        return locate(st.If(children[0], children[1], [], None), children)

    def try_stmt(self, children: Children) -> st.Node:
        """``try { } except ... else { } finally { }``."""
        _keyword, body, *handlers, orelse, final = children
        return locate(st.Try(body, handlers, orelse, final), children)

    def except_name(self, children: Children) -> st.Node:
        """``except a.b.C``: the class as a dotted expression."""
        return _dotted_expression(children[0])

    def except_tuple(self, children: Children) -> st.Node:
        """``except (A, B)``."""
        return locate(st.TupleExpr(_present(children)), children)

    def with_stmt(self, children: Children) -> st.Node:
        """``with a as b { }``."""
        is_async, _keyword, *items, body = children
        return locate(st.With(is_async, items, body), children)

    def match_stmt(self, children: Children) -> st.Node:
        """``match subject { case ... }``."""
        _keyword, subject, *cases = children
        return locate(st.Match(subject, cases), children)

    def case_clause(self, children: Children) -> st.Node:
        """``case pattern if guard: statements``."""
        pattern, guard, *body = children
        return locate(st.Case(pattern, guard, body), children)

    # ------------------------------------------------------------ imports
    def module_path(self, children: Children) -> st.Node:
        """``..a.b``: the level and the dotted name."""
        level = 0
        name: Optional[str] = None
        for child in children:
            if child is None:
                continue
            if isinstance(child, int):
                level = child
            else:
                name = ".".join(_text(part) for part in child.parts)
        return locate(st.ModulePath(level, name), [child for child in children if isinstance(child, st.Node)])

    def dots(self, children: Children) -> int:
        """Leading dots of a relative import: how many."""
        return sum(len(str(token)) for token in children)

    def import_from(self, children: Children) -> st.Node:
        """``import from m { a, b }``."""
        _keyword, _language, path, names = children
        return locate(st.ImportFrom(path, _present(names)), children)

    def import_from_py(self, children: Children) -> st.Node:
        """``from m import a, b;``."""
        path, names = children
        return locate(st.ImportFrom(path, _present(names)), children)

    def import_modules(self, children: Children) -> st.Node:
        """``import a, b as c;``."""
        return locate(st.Import(children[2:]), children)

    def include_stmt(self, children: Children) -> st.Node:
        """``include m;``: everything from ``m``."""
        path = children[2]
        star = Token("NAME", "*")
        return locate(st.ImportFrom(path, [st.ImportName(star, None)]), children)

    # ------------------------------------------------------------ declarations
    def declaration(self, children: Children) -> st.Node:
        """Decorators, docstring, then the declaration."""
        decorators, docstring, decl = children
        return locate(st.Declaration(decorators or [], docstring, decl), children)

    def signature(self, children: Children) -> st.Node:
        """``(params) -> T`` or ``-> T``."""
        if len(children) == 1:  # `-> T` without parentheses
            params, hint = None, children[0]
        else:
            params, hint = children
        returns, return_sem = (hint[1], hint[0]) if hint is not None else (None, None)
        return locate(st.Signature(_present(params or []), returns, return_sem), children)

    def return_hint(self, children: Children) -> tuple:
        """``-> 'sem': T``: ``(sem, type)``."""
        return children[0], children[1]

    def body_by(self, children: Children) -> st.Node:
        """``by model;``."""
        return locate(st.ByModel(children[0]), children)

    def body_abstract(self, children: Children) -> st.Node:
        """``;`` or ``abs;``."""
        return locate(st.Abstract(children[0] if children else None), children)

    def param_plain(self, children: Children) -> st.Node:
        """``name: 'sem': T = default``."""
        name, sem, type_, default = children
        return locate(st.Param("plain", name, type_, default, sem), children)

    def param_plain_untyped(self, children: Children) -> st.Node:
        """``name = default`` in a lambda."""
        return locate(st.Param("plain", children[0], None, children[1]), children)

    def typed_lambda_param(self, children: Children) -> st.Node:
        """``name: T = default`` in a typed lambda."""
        return locate(st.Param("plain", children[0], children[1], children[2]), children)

    def param_varargs(self, children: Children) -> st.Node:
        """``*args: T``."""
        return locate(st.Param("varargs", children[0], children[1] if len(children) > 1 else None), children)

    def param_kwargs(self, children: Children) -> st.Node:
        """``**kwargs: T``."""
        return locate(st.Param("kwargs", children[0], children[1] if len(children) > 1 else None), children)

    def param_star(self, children: Children) -> st.Node:
        """A bare ``*``."""
        return st.Param("star")

    def param_slash(self, children: Children) -> st.Node:
        """A bare ``/``."""
        return st.Param("slash")

    def archetype(self, children: Children) -> st.Node:
        """``obj Name[T](bases) { members }``."""
        is_async, kind, sem, name, type_params, inherit, members = children
        archetype = st.Archetype(kind, sem, name, type_params, inherit, members, is_async is not None)
        return locate(archetype, children)

    def ability(self, children: Children) -> st.Node:
        """``async override static def name[T](signature) with T entry { body }``."""
        return locate(st.Ability(*children), children)

    def event_clause(self, children: Children) -> st.Node:
        """``with T entry``."""
        types, kind = children
        return locate(st.EventClause(types, kind), children)

    def py_inline(self, children: Children) -> st.Node:
        """``::py:: ... ::py::``."""
        return locate(st.PyInline(children[0]), children)

    # ------------------------------------------------------------ object-spatial
    def connect_out(self, children: Children) -> st.Node:
        """``++>``."""
        return st.ConnectOp("out")

    def connect_in(self, children: Children) -> st.Node:
        """``<++``."""
        return st.ConnectOp("in")

    def connect_both(self, children: Children) -> st.Node:
        """``<++>``."""
        return st.ConnectOp("both")

    def connect_out_typed(self, children: Children) -> st.Node:
        """``+>: Edge : k=v :+>``."""
        return locate(st.ConnectOp("out", children[0], _present(children[1] or [])), children)

    def connect_in_typed(self, children: Children) -> st.Node:
        """``<+: Edge : k=v :<+``."""
        return locate(st.ConnectOp("in", children[0], _present(children[1] or [])), children)

    def connect_both_typed(self, children: Children) -> st.Node:
        """``<+: Edge : k=v :+>``."""
        return locate(st.ConnectOp("both", children[0], _present(children[1] or [])), children)

    def disconnect_op(self, children: Children) -> st.Node:
        """``del -->`` between two nodes."""
        op = children[1]
        return locate(st.ConnectOp(op.direction, disconnect=op), children)

    def edge_out(self, children: Children) -> st.Node:
        """``-->``."""
        return st.EdgeOp("out")

    def edge_in(self, children: Children) -> st.Node:
        """``<--``."""
        return st.EdgeOp("in")

    def edge_both(self, children: Children) -> st.Node:
        """``<-->``."""
        return st.EdgeOp("both")

    def edge_out_typed(self, children: Children) -> st.Node:
        """``->:Edge:cond:->``."""
        return locate(st.EdgeOp("out", children[0], children[1] or []), children)

    def edge_in_typed(self, children: Children) -> st.Node:
        """``<-:Edge:cond:<-``."""
        return locate(st.EdgeOp("in", children[0], children[1] or []), children)

    def edge_both_typed(self, children: Children) -> st.Node:
        """``<-:Edge:cond:->``."""
        return locate(st.EdgeOp("both", children[0], children[1] or []), children)

    def edge_hop(self, children: Children) -> st.Node:
        """One hop with its optional filter."""
        return locate(st.EdgeHop(children[0], children[1]), children)

    def edge_ref(self, children: Children) -> st.Node:
        """``[edge source --> ...]``."""
        kind, source, *hops = children
        return locate(st.EdgeRef(kind is not None and str(kind) == "edge", source, hops), children)

    def filter_plain(self, children: Children) -> st.Node:
        """``(?pop > 100)``: conditions only."""
        return locate(st.Filter([], _present(children)), children)

    def filter_typed(self, children: Children) -> st.Node:
        """``(?:City, Town, pop > 100)``: types first, then conditions."""
        items = _present(children)
        types = [item for item in items if not _is_comparison(item)]
        conditions = [item for item in items if _is_comparison(item)]
        return locate(st.Filter(types, conditions), children)

    def filter_call(self, children: Children) -> st.Node:
        """``items(?:City)``."""
        return locate(st.FilterCall(children[0], children[1]), children)

    def report_stmt(self, children: Children) -> st.Node:
        """``report value``."""
        return locate(st.Report(children[1]), children)

    def visit_stmt(self, children: Children) -> st.Node:
        """``visit :index: target;`` / ``visit target else { }``."""
        _keyword, index, target, *orelse = children  # `;` leaves no child, `else { }` one
        return locate(st.Visit(target, orelse[0] if orelse else None, index), children)

    def disconnect_stmt(self, children: Children) -> st.Node:
        """``del a --> b;``."""
        _keyword, left, op, right = children
        return locate(st.Disconnect(left, op, right), children)

    def switch_stmt(self, children: Children) -> st.Node:
        """``switch subject { cases }``."""
        _keyword, subject, *cases = children
        return locate(st.Switch(subject, cases), children)

    def switch_case(self, children: Children) -> st.Node:
        """``case pattern: statements``."""
        pattern, *body = children
        return locate(st.Case(pattern, None, body), children)

    def switch_default(self, children: Children) -> st.Node:
        """``default: statements``: the wildcard case."""
        wildcard = st.PatternCapture(Token("NAME", "_"))
        return locate(st.Case(wildcard, None, list(children)), children)

    def inherit(self, children: Children) -> st.Node:
        """``(A, B)``."""
        return locate(st.Inherit(_present(children[0] or [])), children)

    def legacy_inherit(self, children: Children) -> st.Node:
        """``:A:B:``."""
        return locate(st.Inherit([], children), children)

    def arch_body(self, children: Children) -> list:
        """The members of an archetype (empty for ``;``)."""
        return _present(children)

    def has_stmt(self, children: Children) -> st.Node:
        """``has a: T, b: U;``."""
        docstring, is_static, *variables = children
        return locate(st.Has(docstring, is_static, variables), children)

    def default_value(self, children: Children) -> tuple:
        """``= value``."""
        return ("value", children[0])

    def default_by(self, children: Children) -> tuple:
        """``by postinit``."""
        return ("by", children[0])

    def has_var(self, children: Children) -> st.Node:
        """``name: 'sem': T = default``."""
        name, sem, type_, default = children
        value = default[1] if default is not None and default[0] == "value" else None
        by_word = default[1] if default is not None and default[0] == "by" else None
        return locate(st.HasVar(name, sem, type_, value, by_word), children)

    def enum_decl(self, children: Children) -> st.Node:
        """``enum Name: T (bases) { A, B; methods }``."""
        sem, name, type_, inherit, body = children
        values, members = body
        return locate(st.Enum(sem, name, type_, inherit, values, members), children)

    def enum_body(self, children: Children) -> tuple:
        """``(values, members)`` of an enum body."""
        present = _present(children)
        if present and isinstance(present[0], _EnumValues):
            return present[0].values, present[1:]
        return [], present

    def enum_members(self, children: Children) -> "_EnumValues":
        """``A, B = 2``."""
        return _EnumValues(_present(children))

    def impl_decl(self, children: Children) -> st.Node:
        """``impl A.b(sig) with T entry { }``."""
        target, signature, event, body = children
        return locate(st.Impl(target.parts, signature, event, body), children)

    def impl_enum(self, children: Children) -> st.Node:
        """``impl Color { RED = 1, GREEN = 2 }``: the values (and other members) of a declared enum."""
        target, _open, values, *members = children
        body = locate(st.Block(_present(members)), members)
        return locate(st.Impl(target.parts, None, None, body, values.values), children)

    def legacy_impl(self, children: Children) -> st.Node:
        """``:obj:A:can:b(sig) { }``."""
        *parts, signature, body = children
        return locate(st.Impl([part[1] for part in parts], signature, None, body), children)

    def legacy_part(self, children: Children) -> tuple:
        """``:kind:name``: ``(kind, name)``."""
        return children[0], children[1]

    # ------------------------------------------------------------ patterns
    def literal_pattern(self, children: Children) -> st.Node:
        """A literal value pattern."""
        return locate(st.PatternValue(children[0]), children)

    def none_pat(self, children: Children) -> st.Node:
        """``None``."""
        return st.PatternSingleton(Token("NONE", "None"))

    def true_pat(self, children: Children) -> st.Node:
        """``True``."""
        return st.PatternSingleton(Token("TRUE", "True"))

    def false_pat(self, children: Children) -> st.Node:
        """``False``."""
        return st.PatternSingleton(Token("FALSE", "False"))

    def signed_number(self, children: Children) -> st.Node:
        """``-1``, ``1+2j``: an arithmetic expression of numbers."""
        node: Optional[st.Node] = None
        sign = ""
        for part in children:
            if part is None:
                continue
            if isinstance(part, Token):
                sign = str(part)
                continue
            if node is None:
                node = locate(st.Unary("-", part), [part]) if sign == "-" else part
            else:
                node = locate(st.BinaryChain([node, part], [sign]), [node, part])
            sign = ""
        assert node is not None
        return locate(node, children) if node.line is None else node

    def pattern_name(self, children: Children) -> st.Node:
        """A dotted name: a capture when it is one name, a value otherwise."""
        dotted = children[0]
        if len(dotted.parts) == 1:
            return locate(st.PatternCapture(dotted.parts[0]), children)
        return locate(st.PatternValue(_dotted_expression(dotted)), children)

    def pattern_class(self, children: Children) -> st.Node:
        """``Cls(args)``."""
        dotted, arguments = children
        return locate(st.PatternClass(_dotted_expression(dotted), _present(arguments or [])), children)

    pattern_args = decorators

    def pattern_mapping(self, children: Children) -> st.Node:
        """``{k: p, **rest}``."""
        items = _present(children[0] or []) if children else []
        rest = next((item.name for item in items if isinstance(item, st.PatternStar)), None)
        pairs = [item for item in items if not isinstance(item, st.PatternStar)]
        return locate(st.PatternMapping(pairs, rest), children)

    mapping_items = decorators

    def mapping_rest(self, children: Children) -> st.Node:
        """``**rest`` (kept as a star pattern until the mapping takes it)."""
        return locate(st.PatternStar(children[0]), children)

    def mapping_item(self, children: Children) -> st.Node:
        """``key: pattern`` (the key a literal or a dotted name)."""
        key, pattern = children
        value = _dotted_expression(key) if isinstance(key, st.DottedName) else key.value
        return locate(st.MappingItem(value, pattern), children)


class _EnumValues:
    """The ``A, B = 2`` list at the start of an enum body (internal to the builder)."""

    line = None

    def __init__(self, values: list) -> None:
        self.values = values


_COMPARISONS = {"<", ">", "==", ">=", "<=", "!=", "in", "not in", "is", "is not"}


def _is_comparison(item: Any) -> bool:
    """Whether a filter item is a condition (a comparison) rather than a type."""
    return isinstance(item, st.BinaryChain) and any(op in _COMPARISONS for op in item.operators)


def _text(token: Token) -> str:
    text = str(token)
    return text[2:] if text.startswith("<>") else text


def _dotted_expression(dotted: st.DottedName) -> st.Node:
    """``a.b.c`` as nested name/attribute nodes."""
    parts = dotted.parts
    node: st.Node = locate(st.Name(parts[0]), [parts[0]])
    for part in parts[1:]:
        node = locate(st.Attribute(node, part), [node, part])
    return node
