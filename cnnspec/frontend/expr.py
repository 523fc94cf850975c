"""A small, safe arithmetic evaluator for expressions in specs.

Expressions such as ``width * 2`` or ``make_divisible(c * w, 8)`` are parsed with Python's
``ast`` module and evaluated by walking the tree ourselves: only numbers, variable names,
``+ - * / // %`` and ``**`` (with a small exponent), unary minus, parentheses and a fixed set of
functions are accepted. Nothing is ever passed to ``eval`` or ``exec``, attribute access and
subscripts are refused, and size limits keep every evaluation fast.
"""

from __future__ import annotations

import ast
import functools
import math
import operator
from collections.abc import Callable, Mapping

from cnnspec.errors import did_you_mean

MAX_LENGTH = 500
MAX_NODES = 200
MAX_MAGNITUDE = 2**62
#: the largest ``ndigits`` of round() in size (10**-ndigits is computed: keep it small)
MAX_ROUND_DIGITS = 64


class ExprError(Exception):
    """Raised by :func:`evaluate`; the caller attaches the spec position."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to a multiple of ``divisor`` as torchvision and the MobileNet papers do:
    to the nearest multiple, never below ``min_value`` (default ``divisor``) and never more than
    10% below ``value``."""
    divisor = int(divisor)
    if divisor <= 0:
        raise ExprError("make_divisible needs a positive divisor")
    if min_value is None:
        min_value = divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def _round(value, ndigits=None):
    if ndigits is None:
        return round(value)
    ndigits = int(ndigits)
    if abs(ndigits) > MAX_ROUND_DIGITS:
        raise ValueError(f"ndigits {ndigits} is out of range (at most {MAX_ROUND_DIGITS} in size)")
    return round(value, ndigits)


FUNCTIONS: dict[str, Callable] = {
    "min": min,
    "max": max,
    "abs": abs,
    "round": _round,
    "ceil": math.ceil,
    "floor": math.floor,
    "int": int,
    "make_divisible": make_divisible,
}

_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
}
_SYMBOLS = {
    ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
    ast.Pow: "**",
}


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> ast.expr:
    """Parse an expression, refusing anything but the safe subset (cached: the same text
    recurs in every instance of a block)."""
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is {len(text)} characters long; at most {MAX_LENGTH}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        hint = None
        if text.count("(") > text.count(")"):
            hint = ("YAML cuts a {flow: mapping} at every comma: quote an expression that "
                    "contains one, e.g. out: \"make_divisible(c * w, 8)\"")
        raise ExprError(f"cannot parse expression '{text}': {exc.msg}", hint) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(f"cannot parse expression '{text}'") from None
    for count, node in enumerate(ast.walk(tree), 1):
        if count > MAX_NODES:
            raise ExprError(f"expression '{text}' is too long (more than {MAX_NODES} terms)")
        _check_node(node, text)
    return tree.body


def _check_node(node: ast.AST, text: str) -> None:
    allowed = (
        ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call, ast.Load,
        ast.USub, ast.UAdd, *_BINARY, ast.Compare, *_COMPARE, ast.BoolOp, ast.And, ast.Or,
        ast.Not, ast.IfExp, ast.Subscript,
    )
    if not isinstance(node, allowed):
        what = type(node).__name__
        raise ExprError(
            f"'{text}': {what} is not allowed in expressions",
            hint="expressions may use numbers, variables, + - * / // % **, comparisons, and/or/"
            "not, 'a if condition else b', parentheses and "
            + ", ".join(sorted(FUNCTIONS)),
        )
    if isinstance(node, ast.Constant) and (
        isinstance(node.value, bool) or not isinstance(node.value, (int, float))
    ):
        raise ExprError(f"'{text}': only numbers may appear as literals")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            name = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
            raise ExprError(
                f"'{text}': '{name}' is not a function expressions may call",
                hint=did_you_mean(name, FUNCTIONS) or "functions: " + ", ".join(sorted(FUNCTIONS)),
            )
        if node.keywords:
            raise ExprError(f"'{text}': keyword arguments are not supported")


def evaluate(text: str, names: Mapping[str, object]):
    """Evaluate ``text`` with variable values from ``names``; returns an int or a float."""
    return _eval(parse(text), names, text)


@functools.lru_cache(maxsize=4096)
def free_names(text: str) -> frozenset[str]:
    """The variable names an expression refers to."""
    return frozenset(
        n.id for n in ast.walk(parse(text))
        if isinstance(n, ast.Name) and n.id not in FUNCTIONS
    )


def _eval(node: ast.expr, names: Mapping[str, object], text: str):
    if isinstance(node, ast.Constant):
        return _bounded(node.value, text)
    if isinstance(node, ast.Name):
        if node.id not in names:
            raise ExprError(
                f"'{text}': unknown variable '{node.id}'",
                hint=did_you_mean(node.id, names) or _known(names),
            )
        return names[node.id]
    if isinstance(node, (ast.UnaryOp, ast.Compare, ast.BoolOp, ast.IfExp, ast.Subscript)):
        return _eval_other(node, names, text)
    if isinstance(node, ast.BinOp):
        left = _eval(node.left, names, text)
        right = _eval(node.right, names, text)
        op = type(node.op)
        if op is ast.Pow and _is_number(right) and _is_number(left) and abs(right) > 64:
            raise ExprError(f"'{text}': exponent {right} is too large")
        if op in (ast.Div, ast.FloorDiv, ast.Mod) and _is_number(right) and right == 0:
            raise ExprError(f"'{text}': division by zero ({_SYMBOLS[op]} 0)")
        try:
            return _bounded(_BINARY[op](left, right), text)
        except (OverflowError, ZeroDivisionError, TypeError) as exc:
            raise ExprError(f"'{text}': {exc}") from None
    if isinstance(node, ast.Call):
        args = [_eval(a, names, text) for a in node.args]
        try:
            return _bounded(FUNCTIONS[node.func.id](*args), text)
        except ExprError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExprError(f"'{text}': {node.func.id}(): {exc}") from None
    raise ExprError(f"'{text}': cannot evaluate")  # unreachable after parse()


def _eval_other(node, names: Mapping[str, object], text: str):
    """Signs and ``not``, comparisons (chained as in Python), ``and``/``or`` (short-circuit,
    giving a bool), ``a if condition else b`` and ``kernel[0]``."""
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, names, text)
        if isinstance(node.op, ast.Not):
            return not _truth(value, text)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.Subscript):
        return _item(_eval(node.value, names, text), _eval(node.slice, names, text), text)
    if isinstance(node, ast.IfExp):
        branch = node.body if _truth(_eval(node.test, names, text), text) else node.orelse
        return _eval(branch, names, text)
    if isinstance(node, ast.BoolOp):
        want = isinstance(node.op, ast.Or)
        for operand in node.values:
            if _truth(_eval(operand, names, text), text) == want:
                return want
        return not want
    left = _eval(node.left, names, text)
    for op, right_node in zip(node.ops, node.comparators):
        right = _eval(right_node, names, text)
        if not (_is_number(left) and _is_number(right)):
            raise ExprError(f"'{text}': only numbers can be compared")
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True


def _item(sequence, index, text: str):
    """``kernel[0]``: an entry of a list argument, by an integer index (negative from the end)."""
    if not isinstance(sequence, tuple):
        raise ExprError(f"'{text}': only a list argument can be indexed, not {sequence!r}")
    if not isinstance(index, int) or isinstance(index, bool) or not -len(sequence) <= index < len(sequence):
        raise ExprError(f"'{text}': index {index!r} is not one of the list's {len(sequence)} entries")
    return sequence[index]


def _truth(value, text: str) -> bool:
    """A condition: true/false, or a comparison's result (numbers are not conditions)."""
    if not isinstance(value, bool):
        raise ExprError(f"'{text}': a condition must be true or false, got {value!r}",
                        hint="compare it, e.g. 'stride == 1' or 't != 1'")
    return value


def _is_number(value) -> bool:
    return isinstance(value, (int, float))


def _bounded(value, text: str):
    if _is_number(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise ExprError(f"'{text}': the result is not a finite number")
        if abs(value) > MAX_MAGNITUDE:
            size = f"{value:.3g}" if isinstance(value, float) else \
                f"(a {len(str(abs(value))) if value.bit_length() < 10_000 else 'many'}-digit number)"
            raise ExprError(f"'{text}': the result {size} is too large (at most 2^62 in size)")
    elif isinstance(value, complex):
        raise ExprError(f"'{text}': the result is not a real number",
                        hint="a negative number to a fractional power is complex")
    return value


def _known(names: Mapping[str, object]) -> str | None:
    if not names:
        return "this spec defines no variables; add them under 'vars:'"
    known = sorted(names)
    more = f", … ({len(known) - 20} more)" if len(known) > 20 else ""
    return "known variables: " + ", ".join(known[:20]) + more
