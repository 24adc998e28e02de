"""Jac expression nodes to Python ``ast`` expressions, positions kept."""

from __future__ import annotations

import ast
from typing import Any, Callable

from lark import Token

from jaclang.compiler import syntax_tree as st

from jaclang.compiler.errors import JacSyntaxError, source_line_at

RUNTIME = "__jac__"  # the name generated modules bind jaclang.runtimelib.builtins to

BINARY_OPERATORS: dict[str, type[ast.operator]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div, "//": ast.FloorDiv,
    "%": ast.Mod, "@": ast.MatMult, "<<": ast.LShift, ">>": ast.RShift, "**": ast.Pow,
    "|": ast.BitOr, "^": ast.BitXor, "&": ast.BitAnd,
}
AUGMENTED_OPERATORS = {op + "=": cls for op, cls in BINARY_OPERATORS.items()}
UNARY_OPERATORS: dict[str, type[ast.unaryop]] = {"+": ast.UAdd, "-": ast.USub, "~": ast.Invert}
COMPARISON_OPERATORS: dict[str, type[ast.cmpop]] = {
    "<": ast.Lt, ">": ast.Gt, "==": ast.Eq, ">=": ast.GtE, "<=": ast.LtE, "!=": ast.NotEq,
    "in": ast.In, "not in": ast.NotIn, "is": ast.Is, "is not": ast.IsNot,
}
# Names that mean the running program's graph position: ``root()``, ``here()``, ``visitor()``.
SPATIAL_NAMES = {"root", "here", "visitor"}
# Names a backtick reference takes from ``typing`` (upstream compiles every `` `X `` to ``typing.X``).
_TYPING_NAMES = frozenset(
    {"Any", "Callable", "ClassVar", "Final", "Generic", "Iterable", "Iterator", "Literal", "Mapping",
     "Optional", "Protocol", "Sequence", "Type", "TypeVar", "Union", "Dict", "List", "Set", "Tuple", "FrozenSet"}
)
# Jac's special method names and the Python names they compile to.
SPECIAL_METHODS = {"init": "__init__", "postinit": "__post_init__"}


def node_position(item: Any) -> tuple[int, int, int, int] | None:
    """``(line, col, end_line, end_col)`` of a syntax node or token, 0-based columns, or ``None``."""
    line = getattr(item, "line", None)
    if line is None:
        return None
    end_line = item.end_line or line
    end_column = item.end_column or item.column
    return line, item.column - 1, end_line, end_column - 1


def place(node: Any, item: Any) -> Any:
    """Give ``node``, and every node below it that has no position yet, the source position of ``item``.

    Code generation builds bottom-up and places each construct as it is built, so
    a node that already has a position has a fully located subtree: the descent
    stops there. This replaces a final ``ast.fix_missing_locations`` walk over
    the whole module (a quarter of generation time).
    """
    if getattr(node, "lineno", None) is None:
        position = node_position(item)
        if position is not None:
            fill_position(node, position)
    return node


# Fields that never hold a node with a position (names, flags, contexts and operators).
_LEAF_FIELDS = frozenset(
    {"ctx", "op", "ops", "id", "attr", "arg", "name", "asname", "module", "level", "kind", "conversion",
     "is_async", "simple", "type_comment", "type_ignores"}
)
_CHILD_FIELDS: dict[type, tuple[str, ...]] = {ast.Constant: ()}


def fill_position(node: ast.AST, position: tuple[int, int, int, int]) -> None:
    """Set ``position`` on ``node`` and on its descendants that have none (stopping at located ones)."""
    if node._attributes:
        node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = position
    node_class = type(node)
    fields = _CHILD_FIELDS.get(node_class)
    if fields is None:
        fields = _CHILD_FIELDS[node_class] = tuple(name for name in node._fields if name not in _LEAF_FIELDS)
    for name in fields:
        value = getattr(node, name, None)
        if isinstance(value, list):
            for child in value:
                if isinstance(child, ast.AST) and getattr(child, "lineno", None) is None:
                    fill_position(child, position)
        elif isinstance(value, ast.AST) and getattr(value, "lineno", None) is None:
            fill_position(value, position)


def copy_position(node: Any, source: ast.AST) -> Any:
    """Like :func:`ast.copy_location`, and also locate ``node``'s unlocated descendants."""
    if getattr(source, "lineno", None) is not None and getattr(node, "lineno", None) is None:
        fill_position(node, (source.lineno, source.col_offset, source.end_lineno, source.end_col_offset))
    return node


class _RuntimeUse:
    """Counts ``runtime()`` references, so modules that use no helper skip importing them."""

    count = 0


def runtime_uses() -> int:
    """How many runtime helper references have been generated so far (in this process)."""
    return _RuntimeUse.count


def runtime(name: str) -> ast.Attribute:
    """``__jac__.<name>``: a helper from :mod:`jaclang.runtimelib.builtins`."""
    _RuntimeUse.count += 1
    return ast.Attribute(value=ast.Name(id=RUNTIME, ctx=ast.Load()), attr=name, ctx=ast.Load())


def token_text(token: Token) -> str:
    """The identifier a name token stands for (``<>name`` escapes a keyword)."""
    text = str(token)
    return text[2:] if text.startswith("<>") else text


def set_context(node: ast.expr, ctx: ast.expr_context, generator: "ExpressionGenerator", item: Any) -> ast.expr:
    """Mark ``node`` as an assignment (or ``del``) target, rejecting what cannot be one."""
    if isinstance(node, (ast.Name, ast.Attribute, ast.Subscript)):
        node.ctx = ctx
        return node
    if isinstance(node, (ast.Tuple, ast.List)):
        node.ctx = ctx
        for element in node.elts:
            set_context(element, ctx, generator, item)
        return node
    if isinstance(node, ast.Starred):
        node.ctx = ctx
        set_context(node.value, ctx, generator, item)
        return node
    raise generator.error(f"cannot assign to {describe_expression(node)}", item)


def describe_expression(node: ast.expr) -> str:
    """A short phrase naming an expression kind, for error messages."""
    names = {
        ast.Call: "a function call", ast.Constant: "a literal", ast.BinOp: "an expression",
        ast.Compare: "a comparison", ast.Lambda: "a lambda", ast.BoolOp: "an expression",
        ast.UnaryOp: "an expression", ast.IfExp: "a conditional expression",
        ast.JoinedStr: "an f-string", ast.Dict: "a dict literal", ast.Set: "a set literal",
    }
    return names.get(type(node), "this expression")


class ExpressionGenerator:
    """Builds Python expression nodes from Jac expression nodes."""

    def __init__(self, source: str, filename: str) -> None:
        self.source = source
        self.filename = filename
        self.lambda_counter = 0

    # ------------------------------------------------------------------ helpers
    def error(self, message: str, item: Any) -> JacSyntaxError:
        """A :class:`JacSyntaxError` located at ``item``."""
        position = node_position(item)
        line, column = (position[0], position[1] + 1) if position else (1, 1)
        return JacSyntaxError(message, self.filename, line, column, source_line_at(self.source, line))

    def error_at(self, message: str, line: int, column: int) -> JacSyntaxError:
        """A :class:`JacSyntaxError` at ``line``:``column`` (1-based)."""
        return JacSyntaxError(message, self.filename, line, column, source_line_at(self.source, line))

    def expr(self, item: st.Expr) -> ast.expr:
        """Translate one expression node."""
        if isinstance(item, Token):
            if item.type in ("NAME", "KWESC_NAME"):
                return place(ast.Name(id=token_text(item), ctx=ast.Load()), item)
            raise self.error(f"unexpected token {item!s}", item)
        handler: Callable[[Any], ast.expr] | None = getattr(self, "_expr_" + type(item).__name__, None)
        if handler is None:
            raise self.error(f"unsupported expression ({type(item).__name__})", item)
        return place(handler(item), item)

    def target(self, item: st.Expr, ctx: ast.expr_context | None = None) -> ast.expr:
        """Translate an assignment target."""
        return set_context(self.expr(item), ctx or ast.Store(), self, item)

    # ------------------------------------------------------------------ atoms
    def _expr_Name(self, node: st.Name) -> ast.expr:
        name = token_text(node.token)
        if name in SPATIAL_NAMES and not node.token.startswith("<>"):
            return ast.Call(func=runtime(name), args=[], keywords=[])
        if name == "Root" and not node.token.startswith("<>"):
            return runtime("Root")
        return ast.Name(id=name, ctx=ast.Load())

    def _expr_TypeRef(self, node: st.TypeRef) -> ast.expr:
        """`` `root `` is the Root type; `` `Any `` a name of ``typing`` (as upstream); other names the type itself."""
        name = str(node.token)[1:]
        if name == "root":
            return runtime("Root")
        if name in _TYPING_NAMES:
            typing_module = ast.Call(func=ast.Name(id="__import__", ctx=ast.Load()), args=[ast.Constant(value="typing")], keywords=[])
            return ast.Attribute(value=typing_module, attr=name, ctx=ast.Load())
        return self._expr_Name(st.Name(Token("NAME", name)))

    def _expr_Number(self, node: st.Number) -> ast.expr:
        token = node.token
        text = str(token)
        if token.type == "DEC_NUMBER" and (text == "0" or text[0] != "0") and "_" not in text:
            try:
                return ast.Constant(value=int(text))
            except ValueError:  # longer than Python's integer string limit
                raise self.error(f"integer literal too long ({len(text)} digits)", token) from None
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            raise self.error(f"invalid number literal {token!s}", token) from None
        return ast.Constant(value=value)

    def _expr_Constant(self, node: st.Constant) -> ast.expr:
        return ast.Constant(value=_CONSTANTS[str(node.token)])

    def _expr_Strings(self, node: st.Strings) -> ast.expr:
        from jaclang.compiler.fstrings import fstring_values, string_value

        tokens = node.tokens
        if all(token.type == "STRING" for token in tokens):
            values = [string_value(self, token) for token in tokens]
            if len({type(value) for value in values}) > 1:
                raise self.error("cannot mix bytes and str literals", node)
            return ast.Constant(value=values[0] if len(values) == 1 else values[0][:0].join(values))
        parts: list[ast.expr] = []
        for token in tokens:
            if token.type == "STRING":
                value = string_value(self, token)
                if isinstance(value, bytes):
                    raise self.error("cannot mix bytes and f-strings", token)
                parts.append(place(ast.Constant(value=value), token))
            else:
                parts.extend(fstring_values(self, token))
        return ast.JoinedStr(values=_merge_constants(parts))

    # ------------------------------------------------------------------ collections
    def _expr_TupleExpr(self, node: st.TupleExpr) -> ast.expr:
        if not any(isinstance(child, (st.Keyword, st.StarArg)) for child in node.items):
            return ast.Tuple(elts=[self.expr(child) for child in node.items], ctx=ast.Load())
        # Upstream's keyword tuple `(a, x=3)`: a KeywordTuple value; piped into a call, its arguments.
        args, keywords = self.call_arguments(node.items)
        names = ast.Dict(
            keys=[ast.Constant(value=keyword.arg) if keyword.arg else None for keyword in keywords],
            values=[keyword.value for keyword in keywords],
        )
        value = ast.Call(func=runtime("KeywordTuple"), args=[ast.Tuple(elts=args, ctx=ast.Load()), names], keywords=[])
        value.jac_pipe_arguments = (args, keywords)  # type: ignore[attr-defined]
        return value

    def _expr_ListExpr(self, node: st.ListExpr) -> ast.expr:
        return ast.List(elts=[self.expr(child) for child in node.items], ctx=ast.Load())

    def _expr_SetExpr(self, node: st.SetExpr) -> ast.expr:
        return ast.Set(elts=[self.expr(child) for child in node.items])

    def _expr_DictExpr(self, node: st.DictExpr) -> ast.expr:
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for item in node.items:
            if isinstance(item, st.DictUnpack):
                keys.append(None)
            else:
                keys.append(self.expr(item.key))
            values.append(self.expr(item.value))
        return ast.Dict(keys=keys, values=values)

    def comprehensions(self, clauses: list[st.CompFor]) -> list[ast.comprehension]:
        """The ``for ... in ... if ...`` clauses of a comprehension."""
        return [
            ast.comprehension(
                target=self.exprlist_target(clause.target),
                iter=self.expr(clause.iterable),
                ifs=[self.expr(condition) for condition in clause.conditions],
                is_async=0,
            )
            for clause in clauses
        ]

    def _expr_Comprehension(self, node: st.Comprehension) -> ast.expr:
        node_class = _COMPREHENSIONS[node.kind]
        return node_class(elt=self.expr(node.element), generators=self.comprehensions(node.clauses))

    def _expr_DictComp(self, node: st.DictComp) -> ast.expr:
        return ast.DictComp(key=self.expr(node.key), value=self.expr(node.value), generators=self.comprehensions(node.clauses))

    def exprlist_target(self, node: st.ExprList) -> ast.expr:
        """A ``for`` target: one name or an unpacking tuple."""
        items = node.items
        if len(items) == 1 and not node.trailing_comma:
            return self.target(items[0])
        return place(
            set_context(ast.Tuple(elts=[self.expr(item) for item in items], ctx=ast.Load()), ast.Store(), self, node),
            node,
        )

    def _expr_StarExpr(self, node: st.StarExpr) -> ast.expr:
        return ast.Starred(value=self.expr(node.value), ctx=ast.Load())

    # ------------------------------------------------------------------ operators
    def _expr_BinaryChain(self, node: st.BinaryChain) -> ast.expr:
        """A flat ``a op b op c ...`` list: ``or`` < ``and`` < ``not`` < comparisons < the rest."""
        items, operators = _sign_over_tight_operators(node.operands, node.operators)
        or_groups: list[list[ast.expr]] = [[]]
        start = 0
        for index, operator in enumerate(operators + ["or"]):
            if operator in ("and", "or"):
                or_groups[-1].append(self._negated_comparison(items[start: index + 1], operators[start:index]))
                if operator == "or":
                    or_groups.append([])
                start = index + 1
        or_groups.pop()
        conjunctions = [
            group[0] if len(group) == 1 else _spanning(ast.BoolOp(op=ast.And(), values=group), group)
            for group in or_groups
        ]
        if len(conjunctions) == 1:
            return conjunctions[0]
        return ast.BoolOp(op=ast.Or(), values=conjunctions)

    def _negated_comparison(self, items: list[st.Expr], operators: list[str]) -> ast.expr:
        """One operand of ``and``/``or``: leading ``not``s apply to the whole comparison."""
        negations = 0
        first = items[0]
        while isinstance(first, st.Not):
            negations += 1
            first = first.operand
        for item in items[1:]:
            self._reject_not(item)
        operands = [self.expr(first)] + [self.expr(item) for item in items[1:]]
        result = self._comparison(operands, operators)
        for _ in range(negations):
            result = _spanning(ast.UnaryOp(op=ast.Not(), operand=result), [result])
        return place(result, items[0]) if negations else result

    def _comparison(self, operands: list[ast.expr], operators: list[str]) -> ast.expr:
        """Group arithmetic by precedence, then chain the comparisons."""
        segments: list[ast.expr] = []
        comparisons: list[str] = []
        start = 0
        for index, operator in enumerate(operators + [""]):
            if operator in COMPARISON_OPERATORS or operator == "":
                segments.append(_group(operands[start: index + 1], operators[start:index], self.combine))
                if operator:
                    comparisons.append(operator)
                start = index + 1
        if not comparisons:
            return segments[0]
        node = ast.Compare(
            left=segments[0],
            ops=[COMPARISON_OPERATORS[op]() for op in comparisons],
            comparators=segments[1:],
        )
        return _spanning(node, segments)

    def combine(self, operator: Any, left: ast.expr, right: ast.expr) -> ast.expr:
        """One binary operation; pipes become calls (``x |> f``, ``f <| x``, ``x :> f``, ``f <: x``)."""
        if operator in ("|>", ":>"):
            node: ast.expr = ast.Call(func=right, args=[left], keywords=[])
            node.args, node.keywords = _pipe_arguments(left)
        elif operator in ("<|", "<:"):
            node = ast.Call(func=left, args=[right], keywords=[])
            node.args, node.keywords = _pipe_arguments(right)
        else:
            node = ast.BinOp(left=left, op=BINARY_OPERATORS[operator](), right=right)
        return _spanning(node, [left, right])

    def _expr_Power(self, node: st.Power) -> ast.expr:
        self._reject_not(node.exponent)
        base = self.expr(node.base)
        if node.awaited:
            base = place(ast.Await(value=base), node.base)
        return ast.BinOp(left=base, op=ast.Pow(), right=self.expr(node.exponent))

    def _reject_not(self, operand: st.Expr) -> None:
        """``not`` only starts an operand of ``and``/``or`` (as in Python)."""
        if isinstance(operand, st.Not):
            raise self.error("'not' must start an operand of 'and'/'or'; add parentheses", operand)

    def _expr_Unary(self, node: st.Unary) -> ast.expr:
        self._reject_not(node.operand)
        return ast.UnaryOp(op=UNARY_OPERATORS[node.operator](), operand=self.expr(node.operand))

    def _expr_Not(self, node: st.Not) -> ast.expr:
        return ast.UnaryOp(op=ast.Not(), operand=self.expr(node.operand))

    def _expr_Await(self, node: st.Await) -> ast.expr:
        return ast.Await(value=self.expr(node.value))

    def _expr_IfExp(self, node: st.IfExp) -> ast.expr:
        return ast.IfExp(test=self.expr(node.test), body=self.expr(node.body), orelse=self.expr(node.orelse))

    def _expr_Concurrent(self, node: st.Concurrent) -> ast.expr:
        """``flow x`` is ``__jac__.flow(lambda: x)`` (a future); ``wait t`` is ``__jac__.wait(t)``."""
        value = self.expr(node.value)
        if node.word == "wait":
            return ast.Call(func=runtime("wait"), args=[value], keywords=[])
        arguments = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
        return ast.Call(func=runtime("flow"), args=[place(ast.Lambda(args=arguments, body=value), node.value)], keywords=[])

    def _expr_Walrus(self, node: st.Walrus) -> ast.expr:
        target = place(ast.Name(id=token_text(node.name), ctx=ast.Store()), node.name)
        return ast.NamedExpr(target=target, value=self.expr(node.value))

    # ------------------------------------------------------------------ postfix chains
    def _expr_Attribute(self, node: st.Attribute) -> ast.expr:
        return self.chain(node)

    _expr_Call = _expr_Subscript = _expr_Attribute

    def chain(self, node: st.Node) -> ast.expr:
        """A postfix chain (``a.b(c)[d]?.e``); ``?.``/``?[`` short-circuit the rest of the chain to ``None``."""
        steps: list[st.Node] = []
        base: st.Expr = node
        while isinstance(base, _CHAIN_STEPS):
            steps.append(base)
            base = base.func if isinstance(base, st.Call) else base.value
        steps.reverse()
        return self._apply_steps(self.expr(base), steps, 0)

    def _apply_steps(self, current: ast.expr, steps: list[st.Node], start: int) -> ast.expr:
        for index in range(start, len(steps)):
            step = steps[index]
            if getattr(step, "safe", False):
                self.lambda_counter += 1
                parameter = f"__jac_value_{self.lambda_counter}"
                rest = self._apply_steps(place(self._step(ast.Name(id=parameter, ctx=ast.Load()), step), step), steps, index + 1)
                function = ast.Lambda(args=_arguments([ast.arg(arg=parameter)]), body=rest)
                return place(ast.Call(func=runtime("null_safe"), args=[current, function], keywords=[]), step)
            current = place(self._step(current, step), step)
        return current

    def _step(self, current: ast.expr, step: st.Node) -> ast.expr:
        if isinstance(step, st.Attribute):
            name = token_text(step.name)
            if isinstance(current, ast.Name) and current.id == "super":
                current = place(ast.Call(func=current, args=[], keywords=[]), step.value)
                name = SPECIAL_METHODS.get(name, name)
            return ast.Attribute(value=current, attr=name, ctx=ast.Load())
        if isinstance(step, st.Call):
            arguments, model = self._split_construction_model(step.arguments)
            args, keywords = self.call_arguments(arguments)
            if model is not None:
                return self._construct_by_llm(current, args, keywords, model)
            return ast.Call(func=current, args=args, keywords=keywords)
        return ast.Subscript(value=current, slice=self.subscripts(step.index, step), ctx=ast.Load())

    def _split_construction_model(self, arguments: list[st.Expr]) -> tuple[list[st.Expr], st.Expr | None]:
        """Find ``value by model`` among a call's arguments where ``value`` is not itself a call.

        That is the legacy object-initialisation form ``Person(name="Ada" by llm())``:
        the arguments come back with the plain values, plus the model node.
        """
        model: st.Expr | None = None
        result: list[st.Expr] = []
        for argument in arguments:
            value = argument.value if isinstance(argument, st.Keyword) else argument
            if isinstance(value, st.ByCall) and not isinstance(value.call, st.Call):
                model = model if model is not None else value.model
                if isinstance(argument, st.Keyword):
                    argument = st.Keyword(argument.name, value.call)
                else:
                    argument = value.call
            result.append(argument)
        return result, model

    def _construct_by_llm(
        self, cls: ast.expr, args: list[ast.expr], keywords: list[ast.keyword], model: st.Expr
    ) -> ast.expr:
        named = ast.Dict(
            keys=[ast.Constant(value=keyword.arg) if keyword.arg is not None else None for keyword in keywords],
            values=[keyword.value for keyword in keywords],
        )
        return ast.Call(
            func=runtime("construct_by_llm"),
            args=[self.model_expression(model), cls, ast.Tuple(elts=args, ctx=ast.Load()), named],
            keywords=[],
        )

    def call_arguments(self, arguments: list[st.Expr]) -> tuple[list[ast.expr], list[ast.keyword]]:
        """Positional and keyword arguments of a call."""
        args: list[ast.expr] = []
        keywords: list[ast.keyword] = []
        for argument in arguments:
            if isinstance(argument, st.Keyword):
                keywords.append(place(ast.keyword(arg=token_text(argument.name), value=self.expr(argument.value)), argument))
            elif isinstance(argument, st.StarArg) and argument.double:
                keywords.append(place(ast.keyword(arg=None, value=self.expr(argument.value)), argument))
            elif isinstance(argument, st.StarArg):
                args.append(place(ast.Starred(value=self.expr(argument.value), ctx=ast.Load()), argument))
            else:
                value = self.expr(argument)
                if keywords and not isinstance(value, ast.Starred):
                    raise self.error("positional argument follows keyword argument", argument)
                args.append(value)
        return args, keywords

    def subscripts(self, items: list[st.Expr], where: st.Node) -> ast.expr:
        """The index of a subscript: one item, or a tuple of items."""
        translated = [self.subscript_item(child) for child in items]
        if len(translated) == 1:
            return translated[0]
        return place(ast.Tuple(elts=translated, ctx=ast.Load()), where)

    def subscript_item(self, item: st.Expr) -> ast.expr:
        """One index item: an expression or a slice."""
        if isinstance(item, st.Slice):
            lower, upper, step = (self.expr(part) if part is not None else None for part in (item.lower, item.upper, item.step))
            return place(ast.Slice(lower=lower, upper=upper, step=step), item)
        return self.expr(item)

    # ------------------------------------------------------------------ lambdas and by
    def _expr_Lambda(self, node: st.Lambda) -> ast.expr:
        from jaclang.compiler.signatures import build_arguments

        arguments = build_arguments(self, node.params, annotate=False)
        return ast.Lambda(args=arguments, body=self.expr(node.body))

    def _expr_ByCall(self, node: st.ByCall) -> ast.expr:
        """``f(x) by model``: the model answers this one call."""
        call = self.expr(node.call)
        if not isinstance(call, ast.Call):
            raise self.error("'by' after an expression needs a function call on its left", node)
        positional: list[ast.expr] = list(call.args)
        named_keys: list[ast.expr | None] = []
        named_values: list[ast.expr] = []
        for keyword in call.keywords:
            named_keys.append(ast.Constant(value=keyword.arg) if keyword.arg is not None else None)
            named_values.append(keyword.value)
        return ast.Call(
            func=runtime("call_by_llm"),
            args=[
                self.model_expression(node.model),
                call.func,
                ast.Tuple(elts=positional, ctx=ast.Load()),
                ast.Dict(keys=named_keys, values=named_values),
            ],
            keywords=[],
        )

    def model_expression(self, node: st.Expr) -> ast.expr:
        """The expression after ``by``, with legacy ``incl_info=(a, b)`` turned into a dict."""
        model = self.expr(node)
        if isinstance(model, ast.Call):
            for keyword in model.keywords:
                if keyword.arg == "incl_info":
                    keyword.value = _names_to_dict(keyword.value)
        return model

    def _expr_Yield(self, node: st.Yield) -> ast.expr:
        if node.delegate:
            return ast.YieldFrom(value=self.expr(node.value))
        return ast.Yield(value=self.expr(node.value) if node.value is not None else None)


# Binding strength of the non-comparison binary operators (higher binds tighter); connect
# operators (``++>`` ..., syntax nodes rather than strings) bind at CONNECT_PRECEDENCE.
BINARY_PRECEDENCE = {
    "|>": 1, "<|": 2, "|": 3, "^": 4, "&": 5, "<<": 6, ">>": 6,
    "+": 7, "-": 7, "*": 8, "/": 8, "//": 8, "%": 8, "@": 8,
    ":>": 10, "<:": 11, "spawn": 12,
}
CONNECT_PRECEDENCE = 9
RIGHT_ASSOCIATIVE = {"<|", "<:"}


def _pipe_arguments(value: ast.expr) -> tuple[list[ast.expr], list[ast.keyword]]:
    """The arguments a piped value gives the call, as upstream: a tuple written out is spread
    (``(a, b) |> f`` is ``f(a, b)``, ``(a, k=v) |> f`` is ``f(a, k=v)``); any other value is one argument."""
    if isinstance(value, ast.Tuple):
        return value.elts, []
    spread = getattr(value, "jac_pipe_arguments", None)
    if spread is not None:
        return spread
    return [value], []


def _spanning(node: ast.expr, parts: list[ast.expr]) -> ast.expr:
    """Give ``node`` the source span from its first part to its last."""
    first, last = parts[0], parts[-1]
    if getattr(node, "lineno", None) is None and getattr(first, "lineno", None) is not None and getattr(last, "end_lineno", None) is not None:
        fill_position(node, (first.lineno, first.col_offset, last.end_lineno, last.end_col_offset))
        return node
    for attribute, source in (("lineno", first), ("col_offset", first), ("end_lineno", last), ("end_col_offset", last)):
        value = getattr(source, attribute, None)
        if value is not None:
            setattr(node, attribute, value)
    return node


def _precedence(operator: Any) -> int:
    return BINARY_PRECEDENCE[operator] if isinstance(operator, str) else CONNECT_PRECEDENCE


def _binds_tighter_than_sign(operator: Any) -> bool:
    """Connects, ``:>``, ``<:`` and ``spawn``: upstream's grammar puts them below a unary sign."""
    return not isinstance(operator, str) or BINARY_PRECEDENCE.get(operator, 0) >= CONNECT_PRECEDENCE


def _sign_over_tight_operators(items: list[st.Expr], operators: list[Any]) -> tuple[list[st.Expr], list[Any]]:
    """Regroup as upstream does: a leading ``-``, ``+`` or ``~`` applies to the connect (``:>``,
    ``spawn``) chain that follows its operand, so ``-a ++> b`` is ``-(a ++> b)``."""
    from jaclang.compiler.tree_builder import locate

    index = 0
    while index < len(operators):
        item = items[index]
        if isinstance(item, st.Unary) and _binds_tighter_than_sign(operators[index]):
            end = index
            while end < len(operators) and _binds_tighter_than_sign(operators[end]):
                end += 1
            chained = [item.operand, *items[index + 1: end + 1]]
            inner = locate(st.BinaryChain(chained, operators[index:end]), chained)
            signed = locate(st.Unary(item.operator, inner), [item, inner])
            items = [*items[:index], signed, *items[end + 1:]]
            operators = [*operators[:index], *operators[end:]]
        index += 1
    return items, operators


def _group(operands: list[ast.expr], operators: list[Any], combine: Callable[[Any, ast.expr, ast.expr], ast.expr]) -> ast.expr:
    """Group ``operands[0] op operands[1] op ...`` by precedence climbing."""

    def climb(position: int, minimum: int) -> tuple[ast.expr, int]:
        left = operands[position]
        while position < len(operators) and _precedence(operators[position]) >= minimum:
            operator = operators[position]
            strength = _precedence(operator)
            right, next_position = climb(position + 1, strength if operator in RIGHT_ASSOCIATIVE else strength + 1)
            left = combine(operator, left, right)
            position = next_position
        return left, position

    return climb(0, 0)[0]


_CHAIN_STEPS = (st.Attribute, st.Call, st.Subscript)
_CONSTANTS: dict[str, Any] = {"None": None, "True": True, "False": False, "...": ...}
_COMPREHENSIONS: dict[str, Any] = {"list": ast.ListComp, "set": ast.SetComp, "generator": ast.GeneratorExp}


def _names_to_dict(value: ast.expr) -> ast.expr:
    """``(a, b)`` or ``(a)`` of plain names to ``{"a": a, "b": b}``; anything else unchanged."""
    names = value.elts if isinstance(value, ast.Tuple) else [value]
    if not names or not all(isinstance(name, ast.Name) for name in names):
        return value
    keys: list[ast.expr | None] = [ast.Constant(value=name.id) for name in names]  # type: ignore[attr-defined]
    return copy_position(ast.Dict(keys=keys, values=list(names)), value)


def _merge_constants(parts: list[ast.expr]) -> list[ast.expr]:
    """Join neighbouring string constants of an f-string."""
    merged: list[ast.expr] = []
    for part in parts:
        if (
            merged
            and isinstance(part, ast.Constant)
            and isinstance(merged[-1], ast.Constant)
        ):
            merged[-1] = copy_position(ast.Constant(value=merged[-1].value + part.value), merged[-1])
        else:
            merged.append(part)
    return merged


def _arguments(args: list[ast.arg]) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=args, vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
