"""YAML scalars as cnnspec reads them: plain scalars resolved like PyYAML's safe loader (a
fast path for the common cases, PyYAML's own resolver and constructor for the rest), quoted
ones kept as text, and the values refused (tags that are not plain data, numbers YAML 1.1
reads in surprising bases, numbers too large, infinities)."""

from __future__ import annotations

import re

import yaml

from cnnspec.errors import SpecStructureError, SpecSyntaxError

#: The largest integer (in absolute value) a spec may write; the same bound as expressions'.
MAX_INT = 2**62

STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
#: plain scalars that are not text, by their text
PLAIN = {
    "": None, "~": None, "null": None, "Null": None, "NULL": None,
    "true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False,
    "yes": True, "Yes": True, "YES": True, "no": False, "No": False, "NO": False,
    "on": True, "On": True, "ON": True, "off": False, "Off": False, "OFF": False,
}
_CORE_TAGS = {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null")}
_SEXAGESIMAL = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")
_INF = float("inf")


class Refused(Exception):
    """A value the loader refuses; raised while building, turned into a positioned SpecError
    (with the key path) by the builder."""

    def __init__(self, message: str, hint: str | None = None, cls=SpecStructureError):
        super().__init__(message)
        self.message, self.hint, self.cls = message, hint, cls


def check_int(text: str, value: int) -> int:
    """A YAML integer as cnnspec accepts it: decimal, and of a size that keeps arithmetic
    cheap (YAML 1.1 also reads 0x1F, 017, 0b101 and 1:30 as numbers: refused, as surprises)."""
    digits = text.lstrip("+-").replace("_", "")
    base = ("hexadecimal" if digits[:2] in ("0x", "0X") else "binary" if digits[:2] in ("0b", "0B")
            else "sexagesimal (base 60)" if ":" in digits
            else "octal" if len(digits) > 1 and digits[0] == "0" else None)
    if base is not None:
        article = "an" if base[0] == "o" else "a"
        raise Refused(f"{text!r} is {article} {base} number in YAML 1.1 (it reads as {value})",
                      hint=f"write numbers in decimal ({value}), or quote the text")
    if abs(value) > MAX_INT:
        raise Refused(f"the number {digits[:12]}… ({len(digits)} digits) is too large; "
                      f"cnnspec takes integers up to 2^62 in size", hint="use a smaller value")
    return value


def check_float(text: str, value: float) -> float:
    if value != value or value in (_INF, -_INF):
        raise Refused(f"{text!r} is not a finite number", hint="give a finite number")
    if _SEXAGESIMAL.fullmatch(text):
        raise Refused(f"{text!r} is a sexagesimal (base 60) number in YAML 1.1 (it reads as {value:g})",
                      hint="write numbers in decimal, or quote the text")
    return value


class ScalarReader:
    """The value of one scalar event (raises :class:`Refused`). The value of a plain, untagged
    scalar depends on its text only."""

    def __init__(self):
        self.resolver = yaml.resolver.Resolver()
        self._constructor = yaml.constructor.SafeConstructor()

    def read(self, event):
        value, tag = event.value, event.tag
        if tag is None or tag == "!":
            if event.style:  # quoted or block scalar: text
                return value
            if value in PLAIN:
                return PLAIN[value]
            if value.isascii() and value.isdigit() and len(value) < 19 and (value[0] != "0" or value == "0"):
                return int(value)
            tag = self.resolver.resolve(yaml.ScalarNode, value, (True, False))
            if tag == STR_TAG:
                return value
        elif tag not in _CORE_TAGS:
            raise Refused(f"YAML tag {tag!r} is not supported in specs",
                          hint="specs hold plain numbers, text, lists and mappings", cls=SpecSyntaxError)
        elif tag == STR_TAG:
            return value
        return self._construct(event, tag)

    def _construct(self, event, tag: str):
        """A non-text scalar through PyYAML's safe constructor, then cnnspec's checks."""
        value = event.value
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
        kind = tag.rsplit(":", 1)[-1]
        if kind == "int" and len(value) > 40:
            raise Refused(f"the number {value[:12]}… ({len(value)} characters) is too large; "
                          "cnnspec takes integers up to 2^62 in size", hint="use a smaller value")
        try:
            result = self._constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise Refused(f"invalid {kind}: {value!r} ({exc})", cls=SpecSyntaxError) from None
        if kind == "int":
            return check_int(value, result)
        if kind == "float":
            return check_float(value, result)
        return result
