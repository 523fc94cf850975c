"""Budgets as text: ``25M`` parameters, ``4G`` or ``8 GFLOPs`` MACs, ``2GiB`` of memory."""

from __future__ import annotations

import re

__all__ = ["MAX_QUANTITY_LENGTH", "parse_quantity"]

_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
#: A budget is a number, then an optional prefix and unit word, each token matched on its own
#: (no two adjacent optional whitespace runs, so matching is linear in the text's length).
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?")
_PREFIX = re.compile(r"[kKMGT]i?")
_WORD = re.compile(r"B|MACs?|FLOPs?")
#: the longest budget text read (longer text is refused before matching)
MAX_QUANTITY_LENGTH = 64


#: the unit words each budget accepts after the number, and what one of them is worth
_UNIT_WORDS = {"max_params": {"": 1}, "max_macs": {"": 1, "MAC": 1, "MACs": 1, "FLOP": 0.5, "FLOPs": 0.5},
               "max_memory": {"": 1, "B": 1}, "budget": {"": 1, "B": 1, "MAC": 1, "MACs": 1}}


def _quantity_parts(text: str) -> tuple[str, str, str] | None:
    """(number, prefix, unit word) of ``25 M``, ``2GiB``, ``8 GFLOPs``; None if it is not one."""
    text = text.strip()
    if len(text) > MAX_QUANTITY_LENGTH:
        return None
    number = _NUMBER.match(text)
    if number is None:
        return None
    rest = text[number.end():].lstrip()
    prefix = _PREFIX.match(rest)
    if prefix is not None:
        rest = rest[prefix.end():].lstrip()
    word = _WORD.fullmatch(rest) if rest else None
    if rest and word is None:
        return None
    return number.group(), prefix.group() if prefix else "", word.group() if word else ""


def parse_quantity(value, what: str = "budget") -> int:
    """``25M`` → 25,000,000; ``2GiB`` → 2,147,483,648; ``4G`` → 4·10⁹; plain numbers too.
    Decimal prefixes (k, M, G, T) and binary ones (Ki, Mi, Gi, Ti). A unit word may follow
    where it fits ``what``: B for max_memory, MACs or FLOPs for max_macs (8 GFLOPs is 4 GMACs:
    a MAC is two FLOPs), none for max_params."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number with an optional unit, got {value!r}")
    if isinstance(value, (int, float)):
        number, factor = value, 1
    else:
        parts = _quantity_parts(str(value))
        if parts is None:
            shown = repr(value) if len(str(value)) <= MAX_QUANTITY_LENGTH else \
                f"{str(value)[:MAX_QUANTITY_LENGTH]!r}… ({len(str(value))} characters)"
            raise ValueError(f"cannot read {what.replace('_', '-')} {shown}: write a number with an "
                             "optional unit, "
                             "e.g. 25M, 4G, 2GiB")
        number, prefix, word = parts
        number, factor = float(number), _UNITS[prefix]
        words = _UNIT_WORDS.get(what, _UNIT_WORDS["budget"])
        if word not in words:
            raise ValueError(f"{what.replace('_', '-')} does not take '{word}': write "
                             + ("a count, e.g. 25M" if what == "max_params" else
                                "MACs or FLOPs, e.g. 4G or 8GFLOPs" if what == "max_macs" else
                                "bytes, e.g. 2GiB or 500MB"))
        factor *= words[word]
    result = number * factor
    if result < 0 or result != result or result == float("inf"):
        raise ValueError(f"{what} must be a positive number, got {value!r}")
    return int(round(result))
