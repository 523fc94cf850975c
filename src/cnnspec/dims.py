"""Dimension arithmetic that works on ints and, when the input is symbolic, on sympy.

Layers write their shape and cost rules once with these helpers. On the fast path every dim
is a Python int and sympy is never imported; an input written with names (``[3, H, W]``)
makes dims sympy expressions, and the same rules then yield formulas. sympy is imported
lazily, the first time a symbol is created.
"""

from __future__ import annotations

import gc
import math
import re
from contextlib import contextmanager

Dim = object  # an int, or a sympy expression when the input is symbolic

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_symbolic(value) -> bool:
    return not isinstance(value, int)


def symbol(name: str):
    """A positive integer sympy symbol (imports sympy)."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def is_symbol_name(text: str) -> bool:
    return bool(_NAME.match(text))


def floordiv(num, den: int):
    """⌊num / den⌋ for a positive int ``den``.

    For a symbolic ``num`` of the form ⌊a⌋ + c with an integer c, nested floors are collapsed
    with ⌊(⌊a⌋ + c) / d⌋ = ⌊(a + c) / d⌋, so a stack of strided layers stays one readable
    ⌊(H − k) / s⌋ instead of a tower of floors.
    """
    if isinstance(num, int):
        return num // den
    import sympy

    const, terms = sympy.sympify(num).as_coeff_add()
    if len(terms) == 1 and isinstance(terms[0], sympy.floor) and const.is_integer:
        return sympy.floor((terms[0].args[0] + const) / den)
    return sympy.floor(sympy.sympify(num) / den)


def ceildiv(num, den: int):
    """⌈num / den⌉ for a positive int ``den``."""
    if isinstance(num, int):
        return -(-num // den)
    import sympy

    return sympy.ceiling(sympy.sympify(num) / den)


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while building large, acyclic-by-design structures
    (a parsed spec, a graph, an analysis): its repeated full scans would otherwise dominate,
    doubling the time of a 10,000-layer spec. Restored (and never left off) on exit."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def prod(values) -> Dim:
    result = 1
    for v in values:
        result = result * v
    return result


def is_true(condition) -> bool | None:
    """Decide a comparison: True/False for ints, None when a symbolic one cannot be decided."""
    if isinstance(condition, bool):
        return condition
    import sympy

    if condition in (sympy.true, sympy.false):
        return bool(condition)
    return None


def probe(value, size: int = 1024):
    """A number to compare formulas by: the value with every symbol set to ``size`` (a large
    input, where the biggest maps dominate)."""
    if isinstance(value, (int, float)) or not hasattr(value, "free_symbols"):
        return value
    return value.subs({s: size for s in value.free_symbols})


def to_int(value) -> int | None:
    """The int value of a dim, or None if it is a formula."""
    if type(value) is int:
        return value
    if isinstance(value, int):
        return value
    if getattr(value, "is_Integer", False):
        return int(value)
    return None


def normalize(value) -> Dim:
    """Turn sympy integers back into ints so fast-path code keeps working."""
    if type(value) is int:
        return value
    as_int = to_int(value)
    return value if as_int is None else as_int


def fmt(value) -> str:
    """A dim as text: digits, or a readable formula such as ``floor((H - 67)/32) + 1``."""
    as_int = to_int(value)
    if as_int is not None:
        return str(as_int)
    if not hasattr(value, "free_symbols"):  # a Fraction or a float: no need for sympy
        return str(value)
    return _printer().doprint(value)


_PRINTER = None


def _printer():
    """A sympy printer that writes floor/ceiling arguments over a common denominator."""
    global _PRINTER
    if _PRINTER is None:
        import sympy
        from sympy.printing.str import StrPrinter

        class _Printer(StrPrinter):
            def _print_floor(self, expr):
                return f"floor({self._print(sympy.together(expr.args[0]))})"

            def _print_ceiling(self, expr):
                return f"ceil({self._print(sympy.together(expr.args[0]))})"

        _PRINTER = _Printer()
    return _PRINTER


def to_json(value):
    """A dim for JSON: an int, or the formula as a string."""
    as_int = to_int(value)
    return as_int if as_int is not None else fmt(value)


def isqrt_exact(value: int) -> int | None:
    root = math.isqrt(value)
    return root if root * root == value else None
