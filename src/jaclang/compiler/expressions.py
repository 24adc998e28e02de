"""Jac expressions (Lark subtrees) to Python ``ast`` expressions, positions kept."""

from __future__ import annotations

import ast
from typing import Any, Callable

from lark import Token, Tree

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
# Jac's special method names and the Python names they compile to.
SPECIAL_METHODS = {"init": "__init__", "postinit": "__post_init__"}


def _edge_token(tree: Tree, last: bool) -> Token | None:
    """The first (or last) token under ``tree``."""
    item: Tree | Token | None = tree
    while isinstance(item, Tree):
        children = reversed(item.children) if last else iter(item.children)
        found: Tree | Token | None = None
        for child in children:
            if isinstance(child, Token):
                found = child
                break
            if isinstance(child, Tree) and _edge_token(child, last) is not None:
                found = child
                break
        item = found
    return item


def node_position(item: Tree | Token | None) -> tuple[int, int, int, int] | None:
    """``(line, col, end_line, end_col)`` of a parse item, 0-based columns, or ``None``."""
    if isinstance(item, Tree):
        meta = item.meta
        if not getattr(meta, "empty", True):
            return meta.line, meta.column - 1, meta.end_line, meta.end_column - 1
        first, last = _edge_token(item, False), _edge_token(item, True)
        if first is None or last is None or first.line is None:
            return None
        return first.line, first.column - 1, last.end_line or last.line, (last.end_column or last.column) - 1
    if isinstance(item, Token):
        if item.line is None:
            return None
        return item.line, item.column - 1, item.end_line or item.line, (item.end_column or item.column) - 1
    return None


def place(node: Any, item: Tree | Token | None) -> Any:
    """Give ``node`` the source position of ``item`` unless it already has one."""
    position = node_position(item)
    if position is not None and getattr(node, "lineno", None) is None:
        node.lineno, node.col_offset, node.end_lineno, node.end_col_offset = position
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


def token_text(token: Token | Tree) -> str:
    """The identifier a name token stands for (``<>name`` escapes a keyword)."""
    if isinstance(token, Tree):  # name_any wraps one token
        token = token.children[0]
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
    """Builds Python expression nodes from Jac expression subtrees."""

    def __init__(self, source: str, filename: str) -> None:
        self.source = source
        self.filename = filename
        self.lambda_counter = 0
        self._lines: list[str] | None = None

    # ------------------------------------------------------------------ helpers
    def error(self, message: str, item: Tree | Token | None) -> JacSyntaxError:
        """A :class:`JacSyntaxError` located at ``item``."""
        position = node_position(item)
        line, column = (position[0], position[1] + 1) if position else (1, 1)
        return JacSyntaxError(message, self.filename, line, column, source_line_at(self.source, line))

    def expr(self, item: Tree | Token) -> ast.expr:
        """Translate one expression subtree."""
        if isinstance(item, Token):
            if item.type in ("NAME", "KWESC_NAME"):
                return place(ast.Name(id=token_text(item), ctx=ast.Load()), item)
            raise self.error(f"unexpected token {item!s}", item)
        handler: Callable[[Tree], ast.expr] | None = getattr(self, "_expr_" + str(item.data), None)
        if handler is None:
            raise self.error(f"unsupported expression ({item.data})", item)
        return place(handler(item), item)

    def target(self, item: Tree | Token, ctx: ast.expr_context | None = None) -> ast.expr:
        """Translate an assignment target."""
        return set_context(self.expr(item), ctx or ast.Store(), self, item)

    # ------------------------------------------------------------------ atoms
    def _expr_name(self, tree: Tree) -> ast.expr:
        return ast.Name(id=token_text(tree.children[0]), ctx=ast.Load())

    def _expr_number(self, tree: Tree) -> ast.expr:
        token = tree.children[0]
        text = str(token)
        if token.type == "DEC_NUMBER" and (text == "0" or text[0] != "0"):
            return ast.Constant(value=int(text))
        try:
            value = ast.literal_eval(text)
        except (SyntaxError, ValueError):
            raise self.error(f"invalid number literal {token!s}", token) from None
        return ast.Constant(value=value)

    def _expr_const_none(self, tree: Tree) -> ast.expr:
        return ast.Constant(value=None)

    def _expr_const_true(self, tree: Tree) -> ast.expr:
        return ast.Constant(value=True)

    def _expr_const_false(self, tree: Tree) -> ast.expr:
        return ast.Constant(value=False)

    def _expr_const_ellipsis(self, tree: Tree) -> ast.expr:
        return ast.Constant(value=...)

    def _expr_strings(self, tree: Tree) -> ast.expr:
        from jaclang.compiler.fstrings import fstring_values, string_value

        tokens = tree.children
        if all(token.type == "STRING" for token in tokens):
            values = [string_value(self, token) for token in tokens]
            if len({type(value) for value in values}) > 1:
                raise self.error("cannot mix bytes and str literals", tree)
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
    def _expr_tuple(self, tree: Tree) -> ast.expr:
        return ast.Tuple(elts=[self.expr(child) for child in tree.children if child is not None], ctx=ast.Load())

    def _expr_list(self, tree: Tree) -> ast.expr:
        return ast.List(elts=[self.expr(child) for child in tree.children if child is not None], ctx=ast.Load())

    def _expr_set(self, tree: Tree) -> ast.expr:
        return ast.Set(elts=[self.expr(child) for child in tree.children if child is not None])

    def _expr_dict(self, tree: Tree) -> ast.expr:
        keys: list[ast.expr | None] = []
        values: list[ast.expr] = []
        for item in tree.children:
            if item is None:
                continue
            if item.data == "dict_unpack":
                keys.append(None)
                values.append(self.expr(item.children[0]))
            else:
                keys.append(self.expr(item.children[0]))
                values.append(self.expr(item.children[1]))
        return ast.Dict(keys=keys, values=values)

    def comprehensions(self, tree: Tree) -> list[ast.comprehension]:
        """The ``for ... in ... if ...`` clauses of a comprehension."""
        result = []
        for clause in tree.children:
            target_tree, iterable, *conditions = clause.children
            result.append(
                ast.comprehension(
                    target=self.exprlist_target(target_tree),
                    iter=self.expr(iterable),
                    ifs=[self.expr(condition.children[0]) for condition in conditions],
                    is_async=0,
                )
            )
        return result

    def _expr_listcomp(self, tree: Tree) -> ast.expr:
        return ast.ListComp(elt=self.expr(tree.children[0]), generators=self.comprehensions(tree.children[1]))

    def _expr_setcomp(self, tree: Tree) -> ast.expr:
        return ast.SetComp(elt=self.expr(tree.children[0]), generators=self.comprehensions(tree.children[1]))

    def _expr_genexp(self, tree: Tree) -> ast.expr:
        return ast.GeneratorExp(elt=self.expr(tree.children[0]), generators=self.comprehensions(tree.children[1]))

    def _expr_genexp_arg(self, tree: Tree) -> ast.expr:
        return self._expr_genexp(tree)

    def _expr_dictcomp(self, tree: Tree) -> ast.expr:
        key, value, clauses = tree.children
        return ast.DictComp(key=self.expr(key), value=self.expr(value), generators=self.comprehensions(clauses))

    def exprlist_target(self, tree: Tree) -> ast.expr:
        """A ``for`` target: one name or an unpacking tuple."""
        items = [child for child in tree.children if child is not None]
        has_trailing_comma = len(items) == 1 and self._ends_with_comma(tree)
        if len(items) == 1 and not has_trailing_comma:
            return self.target(items[0])
        return place(
            set_context(ast.Tuple(elts=[self.expr(item) for item in items], ctx=ast.Load()), ast.Store(), self, tree),
            tree,
        )

    def _ends_with_comma(self, tree: Tree) -> bool:
        position = node_position(tree)
        if position is None:
            return False
        if self._lines is None:
            self._lines = self.source.splitlines()
        lines = self._lines
        line = lines[position[2] - 1] if 0 < position[2] <= len(lines) else ""
        return line[: position[3]].rstrip().endswith(",")

    def _expr_star_expr(self, tree: Tree) -> ast.expr:
        return ast.Starred(value=self.expr(tree.children[0]), ctx=ast.Load())

    # ------------------------------------------------------------------ operators
    def _expr_binary_chain(self, tree: Tree) -> ast.expr:
        """A flat ``a op b op c ...`` list: ``or`` < ``and`` < ``not`` < comparisons < the rest."""
        items = tree.children[0::2]
        operators = [" ".join(str(token) for token in op.children) for op in tree.children[1::2]]
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

    def _negated_comparison(self, items: list[Tree | Token], operators: list[str]) -> ast.expr:
        """One operand of ``and``/``or``: leading ``not``s apply to the whole comparison."""
        negations = 0
        first = items[0]
        while isinstance(first, Tree) and first.data == "not_op":
            negations += 1
            first = first.children[0]
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
                segments.append(_group(operands[start: index + 1], operators[start:index]))
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

    def _expr_power_op(self, tree: Tree) -> ast.expr:
        left, right = tree.children
        self._reject_not(right)
        return ast.BinOp(left=self.expr(left), op=ast.Pow(), right=self.expr(right))

    def _reject_not(self, operand: Tree | Token) -> None:
        """``not`` only starts an operand of ``and``/``or`` (as in Python)."""
        if isinstance(operand, Tree) and operand.data == "not_op":
            raise self.error("'not' must start an operand of 'and'/'or'; add parentheses", operand)

    def _expr_unary(self, tree: Tree) -> ast.expr:
        operator, operand = tree.children
        self._reject_not(operand)
        return ast.UnaryOp(op=UNARY_OPERATORS[str(operator.children[0])](), operand=self.expr(operand))

    def _expr_not_op(self, tree: Tree) -> ast.expr:
        return ast.UnaryOp(op=ast.Not(), operand=self.expr(tree.children[0]))

    def _expr_await_op(self, tree: Tree) -> ast.expr:
        return ast.Await(value=self.expr(tree.children[0]))

    def _expr_await_power(self, tree: Tree) -> ast.expr:
        base, exponent = tree.children
        self._reject_not(exponent)
        awaited = place(ast.Await(value=self.expr(base)), base)
        return ast.BinOp(left=awaited, op=ast.Pow(), right=self.expr(exponent))

    def _expr_ifexp(self, tree: Tree) -> ast.expr:
        body, test, orelse = tree.children
        return ast.IfExp(test=self.expr(test), body=self.expr(body), orelse=self.expr(orelse))

    def _expr_walrus(self, tree: Tree) -> ast.expr:
        name, value = tree.children
        return ast.NamedExpr(target=place(ast.Name(id=token_text(name), ctx=ast.Store()), name), value=self.expr(value))

    # ------------------------------------------------------------------ postfix chains
    def _expr_attribute(self, tree: Tree) -> ast.expr:
        return self.chain(tree)

    def _expr_safe_attribute(self, tree: Tree) -> ast.expr:
        return self.chain(tree)

    def _expr_call(self, tree: Tree) -> ast.expr:
        return self.chain(tree)

    def _expr_subscript(self, tree: Tree) -> ast.expr:
        return self.chain(tree)

    def _expr_safe_subscript(self, tree: Tree) -> ast.expr:
        return self.chain(tree)

    def chain(self, tree: Tree) -> ast.expr:
        """A postfix chain (``a.b(c)[d]?.e``); ``?.``/``?[`` short-circuit the rest of the chain to ``None``."""
        steps: list[Tree] = []
        base: Tree | Token = tree
        while isinstance(base, Tree) and base.data in _CHAIN_STEPS:
            steps.append(base)
            base = base.children[0]
        steps.reverse()
        return self._apply_steps(self.expr(base), steps)

    def _apply_steps(self, current: ast.expr, steps: list[Tree]) -> ast.expr:
        for index, step in enumerate(steps):
            if step.data in _SAFE_STEPS:
                self.lambda_counter += 1
                parameter = f"__jac_value_{self.lambda_counter}"
                unsafe = Tree(_SAFE_STEPS[step.data], step.children, step.meta)
                rest = self._apply_steps(ast.Name(id=parameter, ctx=ast.Load()), [unsafe, *steps[index + 1:]])
                function = ast.Lambda(args=_arguments([ast.arg(arg=parameter)]), body=rest)
                return place(ast.Call(func=runtime("null_safe"), args=[current, function], keywords=[]), step)
            current = place(self._step(current, step), step)
        return current

    def _step(self, current: ast.expr, step: Tree) -> ast.expr:
        kind = step.data
        if kind == "attribute":
            name = token_text(step.children[1])
            if isinstance(current, ast.Name) and current.id == "super":
                current = place(ast.Call(func=current, args=[], keywords=[]), step.children[0])
                name = SPECIAL_METHODS.get(name, name)
            return ast.Attribute(value=current, attr=name, ctx=ast.Load())
        if kind == "call":
            arguments, model = self._split_construction_model(step.children[1])
            args, keywords = self.call_arguments(arguments)
            if model is not None:
                return self._construct_by_llm(current, args, keywords, model)
            return ast.Call(func=current, args=args, keywords=keywords)
        return ast.Subscript(value=current, slice=self.subscripts(step.children[1]), ctx=ast.Load())

    def _split_construction_model(self, arguments: Tree | None) -> tuple[Tree | None, Tree | Token | None]:
        """Find ``value by model`` among a call's arguments where ``value`` is not itself a call.

        That is the legacy object-initialisation form ``Person(name="Ada" by llm())``:
        the arguments come back with the plain values, plus the model subtree.
        """
        if arguments is None:
            return None, None
        model: Tree | Token | None = None
        children = []
        for argument in arguments.children:
            value_index = 1 if isinstance(argument, Tree) and argument.data == "kwarg" else None
            value = argument.children[value_index] if value_index is not None else argument
            if isinstance(value, Tree) and value.data == "by_call" and not _is_call(value.children[0]):
                model = model if model is not None else value.children[1]
                if value_index is not None:
                    argument = Tree("kwarg", [argument.children[0], value.children[0]], argument.meta)
                else:
                    argument = value.children[0]
            children.append(argument)
        return Tree(arguments.data, children, arguments.meta), model

    def _construct_by_llm(
        self, cls: ast.expr, args: list[ast.expr], keywords: list[ast.keyword], model: Tree | Token
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

    def call_arguments(self, arguments: Tree | None) -> tuple[list[ast.expr], list[ast.keyword]]:
        """Positional and keyword arguments of a call."""
        args: list[ast.expr] = []
        keywords: list[ast.keyword] = []
        if arguments is None:
            return args, keywords
        for argument in arguments.children:
            if argument is None:
                continue
            kind = argument.data if isinstance(argument, Tree) else None
            if kind == "kwarg":
                name, value = argument.children
                keywords.append(place(ast.keyword(arg=token_text(name), value=self.expr(value)), argument))
            elif kind == "star_arg":
                args.append(place(ast.Starred(value=self.expr(argument.children[0]), ctx=ast.Load()), argument))
            elif kind == "kwstar_arg":
                keywords.append(place(ast.keyword(arg=None, value=self.expr(argument.children[0])), argument))
            else:
                value = self.expr(argument)
                if keywords and not isinstance(value, ast.Starred):
                    raise self.error("positional argument follows keyword argument", argument)
                args.append(value)
        return args, keywords

    def subscripts(self, tree: Tree) -> ast.expr:
        """The index of a subscript: one item, or a tuple of items."""
        items = [self.subscript_item(child) for child in tree.children if child is not None]
        if len(items) == 1:
            return items[0]
        return place(ast.Tuple(elts=items, ctx=ast.Load()), tree)

    def subscript_item(self, item: Tree | Token) -> ast.expr:
        """One index item: an expression or a slice."""
        if isinstance(item, Tree) and item.data == "slice":
            lower, upper, step = (self.expr(part) if part is not None else None for part in item.children)
            return place(ast.Slice(lower=lower, upper=upper, step=step), item)
        return self.expr(item)

    # ------------------------------------------------------------------ lambdas and by
    def _expr_lambdef(self, tree: Tree) -> ast.expr:
        params, body = tree.children
        from jaclang.compiler.signatures import build_arguments

        arguments = build_arguments(self, params.children if params is not None else [], annotate=False)
        return ast.Lambda(args=arguments, body=self.expr(body))

    def _expr_typed_lambdef(self, tree: Tree) -> ast.expr:
        _keyword, params, _returns, body = tree.children
        from jaclang.compiler.signatures import build_arguments

        arguments = build_arguments(self, params.children, annotate=False)
        return ast.Lambda(args=arguments, body=self.expr(body))

    def _expr_by_call(self, tree: Tree) -> ast.expr:
        """``f(x) by model``: the model answers this one call."""
        call_tree, model_tree = tree.children
        call = self.expr(call_tree)
        if not isinstance(call, ast.Call):
            raise self.error("'by' after an expression needs a function call on its left", tree)
        positional: list[ast.expr] = list(call.args)
        named_keys: list[ast.expr | None] = []
        named_values: list[ast.expr] = []
        for keyword in call.keywords:
            named_keys.append(ast.Constant(value=keyword.arg) if keyword.arg is not None else None)
            named_values.append(keyword.value)
        return ast.Call(
            func=runtime("call_by_llm"),
            args=[
                self.model_expression(model_tree),
                call.func,
                ast.Tuple(elts=positional, ctx=ast.Load()),
                ast.Dict(keys=named_keys, values=named_values),
            ],
            keywords=[],
        )

    def model_expression(self, tree: Tree | Token) -> ast.expr:
        """The expression after ``by``, with legacy ``incl_info=(a, b)`` turned into a dict."""
        model = self.expr(tree)
        if isinstance(model, ast.Call):
            for keyword in model.keywords:
                if keyword.arg == "incl_info":
                    keyword.value = _names_to_dict(keyword.value)
        return model

    def _expr_yield_expr(self, tree: Tree) -> ast.expr:
        value = tree.children[0] if tree.children else None
        return ast.Yield(value=self.expr(value) if value is not None else None)

    def _expr_yield_from(self, tree: Tree) -> ast.expr:
        return ast.YieldFrom(value=self.expr(tree.children[0]))

    def _expr_fexpr(self, tree: Tree) -> ast.expr:
        return self.expr(tree.children[0])


# Binding strength of the non-comparison binary operators (higher binds tighter).
BINARY_PRECEDENCE = {
    "|>": 1, "<|": 2, "|": 3, "^": 4, "&": 5, "<<": 6, ">>": 6,
    "+": 7, "-": 7, "*": 8, "/": 8, "//": 8, "%": 8, "@": 8,
}
RIGHT_ASSOCIATIVE = {"<|"}


def _spanning(node: ast.expr, parts: list[ast.expr]) -> ast.expr:
    """Give ``node`` the source span from its first part to its last."""
    first, last = parts[0], parts[-1]
    for attribute, source in (("lineno", first), ("col_offset", first), ("end_lineno", last), ("end_col_offset", last)):
        value = getattr(source, attribute, None)
        if value is not None:
            setattr(node, attribute, value)
    return node


def _combine(operator: str, left: ast.expr, right: ast.expr) -> ast.expr:
    """One binary operation; pipes become calls (``x |> f`` and ``f <| x`` are ``f(x)``)."""
    if operator == "|>":
        node: ast.expr = ast.Call(func=right, args=[left], keywords=[])
    elif operator == "<|":
        node = ast.Call(func=left, args=[right], keywords=[])
    else:
        node = ast.BinOp(left=left, op=BINARY_OPERATORS[operator](), right=right)
    return _spanning(node, [left, right])


def _group(operands: list[ast.expr], operators: list[str]) -> ast.expr:
    """Group ``operands[0] op operands[1] op ...`` by precedence climbing."""

    def climb(position: int, minimum: int) -> tuple[ast.expr, int]:
        left = operands[position]
        while position < len(operators) and BINARY_PRECEDENCE[operators[position]] >= minimum:
            operator = operators[position]
            strength = BINARY_PRECEDENCE[operator]
            right, next_position = climb(position + 1, strength if operator in RIGHT_ASSOCIATIVE else strength + 1)
            left = _combine(operator, left, right)
            position = next_position
        return left, position

    return climb(0, 0)[0]


_CHAIN_STEPS = ("attribute", "safe_attribute", "call", "subscript", "safe_subscript")
_SAFE_STEPS = {"safe_attribute": "attribute", "safe_subscript": "subscript"}


def _is_call(item: Tree | Token) -> bool:
    return isinstance(item, Tree) and item.data == "call"


def _names_to_dict(value: ast.expr) -> ast.expr:
    """``(a, b)`` or ``(a)`` of plain names to ``{"a": a, "b": b}``; anything else unchanged."""
    names = value.elts if isinstance(value, ast.Tuple) else [value]
    if not names or not all(isinstance(name, ast.Name) for name in names):
        return value
    keys: list[ast.expr | None] = [ast.Constant(value=name.id) for name in names]  # type: ignore[attr-defined]
    return ast.copy_location(ast.Dict(keys=keys, values=list(names)), value)


def _merge_constants(parts: list[ast.expr]) -> list[ast.expr]:
    """Join neighbouring string constants of an f-string."""
    merged: list[ast.expr] = []
    for part in parts:
        if (
            merged
            and isinstance(part, ast.Constant)
            and isinstance(merged[-1], ast.Constant)
        ):
            merged[-1] = ast.copy_location(ast.Constant(value=merged[-1].value + part.value), merged[-1])
        else:
            merged.append(part)
    return merged


def _arguments(args: list[ast.arg]) -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=args, vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
