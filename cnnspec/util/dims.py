"""Dimension arithmetic that works on ints and, when the input is symbolic, on sympy.

Layers write their shape and cost rules once with these helpers. On the fast path every dim
is a Python int and sympy is never imported; an input written with names (``[3, H, W]``)
makes dims sympy expressions, and the same rules then yield formulas. sympy is imported
lazily, the first time a symbol is created.
"""

from __future__ import annotations

import gc
import math
from contextlib import contextmanager

from cnnspec.util.names import IDENTIFIER

_NAME = IDENTIFIER


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

    const, terms = sympy.sympify(num).as_coeff_add()
    if len(terms) == 1 and isinstance(terms[0], sympy.ceiling) and const.is_integer:
        return sympy.ceiling((terms[0].args[0] + const) / den)  # ⌈(⌈a⌉ + c)/d⌉ = ⌈(a + c)/d⌉
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


def prod(values):
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
    return value.xreplace({s: size for s in value.free_symbols})


def total(values):
    """The sum of dims: an int, or one sympy sum made at once (adding formulas one by one
    rebuilds the growing sum every time, quadratic in the number of terms)."""
    whole, terms = 0, []
    for value in values:
        if isinstance(value, int):
            whole += value
        else:
            terms.append(value)
    if not terms:
        return whole
    import sympy

    return normalize(sympy.Add(whole, *terms))


#: With a symbolic input, the largest formula (in syntax-tree nodes) a dim may grow to; past it
#: the analysis stops and asks for a concrete input (sympy's cost grows fast with the size).
MAX_FORMULA_NODES = 100


def formula_size(value) -> int:
    """How many syntax-tree nodes a dim's formula has (1 for an int), counting at most
    MAX_FORMULA_NODES + 1."""
    if not hasattr(value, "args"):
        return 1
    count, todo = 0, [value]
    while todo and count <= MAX_FORMULA_NODES:
        node = todo.pop()
        count += 1
        todo.extend(node.args)
    return count


def to_int(value) -> int | None:
    """The int value of a dim, or None if it is a formula."""
    if type(value) is int:
        return value
    if isinstance(value, int):
        return value
    if getattr(value, "is_Integer", False):
        return int(value)
    return None


def normalize(value):
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
            #: floor/ceil texts already written: nested floors recur in every later layer's
            #: formula, and each would otherwise be rewritten (and re-``together``-ed) anew
            cache: dict = {}

            def _print_floor(self, expr):
                return self._rounding("floor", expr)

            def _print_ceiling(self, expr):
                return self._rounding("ceil", expr)

            def _rounding(self, name, expr):
                text = self.cache.get(expr)
                if text is None:
                    if len(self.cache) > 10_000:
                        self.cache.clear()
                    arg = expr.args[0]
                    if formula_size(arg) <= MAX_FORMULA_NODES:  # a big one is printed as it is
                        arg = sympy.together(arg)
                    text = self.cache[expr] = f"{name}({self._print(arg)})"
                return text

        _PRINTER = _Printer()
    return _PRINTER


def to_json(value):
    """A dim for JSON: an int, or the formula as a string."""
    as_int = to_int(value)
    return as_int if as_int is not None else fmt(value)


def isqrt_exact(value: int) -> int | None:
    root = math.isqrt(value)
    return root if root * root == value else None
