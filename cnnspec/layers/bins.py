"""Adaptive pooling's bins: where each output's bin lies on an input axis, and how wide the
bins are, for integer sizes and for formulas."""

from __future__ import annotations

import math
from fractions import Fraction

from cnnspec.util import dims


def adaptive_bins(size, out: int) -> list[tuple]:
    """PyTorch's adaptive pooling bins: [⌊i·n/o⌋, ⌈(i+1)·n/o⌉) for i < o (formulas when n is)."""
    return [(dims.floordiv(i * size, out), dims.ceildiv((i + 1) * size, out)) for i in range(out)]


def adaptive_widths(size, out: int) -> tuple:
    """(first bin's width, widest bin's width, sum of all widths) of adaptive pooling from
    ``size`` to ``out`` bins, without listing the bins when ``size`` is an int: with g =
    gcd(n, o), bin i starts at ⌊i·n/o⌋ and is ⌈(r + n)/o⌉ wide where r = i·n mod o runs over
    the multiples of g below o, so the first is ⌈n/o⌉ wide, the widest ⌈(n + o − g)/o⌉, and
    the widths add up to n + o − g."""
    if isinstance(size, int):
        g = math.gcd(size, out)
        return -(-size // out), -(-(size + out - g) // out), size + out - g
    g = _gcd(size, out)
    return dims.ceildiv(size, out), dims.ceildiv(size + out - g, out), size + out - g


def _gcd(size, out: int):
    """gcd(n, o) as a formula in n: the sum of φ(d) over the divisors d of o that divide n,
    where [d | n] = ⌊n/d⌋ − ⌊(n − 1)/d⌋."""
    import sympy

    return sum((sympy.totient(d) * (dims.floordiv(size, d) - dims.floordiv(size - 1, d))
                for d in sympy.divisors(out)), sympy.Integer(0))


def ratio(num, den: int):
    """num / den exactly: an int, a Fraction, or a formula."""
    if isinstance(num, int):
        value = Fraction(num, den)
        return int(value) if value.denominator == 1 else value
    return num / den
