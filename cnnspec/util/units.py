"""Numbers for people: exact with separators, or in human units (61.1 M, 0.714 GMACs, 2.31 MB).

Human units are decimal (k = 10^3, M = 10^6, G = 10^9), like torchvision's GFLOPS and
torchinfo's MB. A formula (symbolic input) is printed as it is."""

from __future__ import annotations

from decimal import Decimal

from cnnspec.util import dims


def _scaled(value: int, factor: int) -> str:
    """value / factor to 3 significant digits, for ints of any size (a float overflows past
    1e308)."""
    if abs(value) < 10**300:
        return f"{value / factor:.3g}"
    return f"{Decimal(value) / factor:.3g}"


def exact(value) -> str:
    as_int = dims.to_int(value)
    return f"{as_int:,}" if as_int is not None else dims.fmt(value)


def count(value) -> str:
    """61.1 M"""
    as_int = dims.to_int(value)
    if as_int is None:
        return dims.fmt(value)
    for factor, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(as_int) >= factor:
            return f"{_scaled(as_int, factor)} {suffix}"
    return str(as_int)


def ops(value, unit: str = "MACs") -> str:
    """0.714 GMACs (G from 10^8 up, so AlexNet reads 0.714 GMACs like torchvision's table)."""
    as_int = dims.to_int(value)
    if as_int is None:
        return dims.fmt(value)
    for factor, threshold, prefix in ((10**9, 10**8, "G"), (10**6, 10**5, "M"), (10**3, 10**2, "k")):
        if abs(as_int) >= threshold:
            return f"{_scaled(as_int, factor)} {prefix}{unit}"
    return f"{as_int} {unit}"


def nbytes(value) -> str:
    """2.31 MB"""
    as_int = dims.to_int(value)
    if as_int is None:
        return dims.fmt(value)
    for factor, suffix in ((10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if abs(as_int) >= factor:
            return f"{_scaled(as_int, factor)} {suffix}"
    return f"{as_int} B"
