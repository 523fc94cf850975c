"""The one exception hierarchy of cnnspec.

Every error a user can cause is a :class:`CnnspecError`. Errors about a spec carry where in
the spec they come from (file, line, column, key path), so the CLI can print them as
``file:line:col: error: message`` and exit with code 2 — never a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

#: characters that would break a message out of its line or change the terminal: C0 and C1
#: controls (newline, escape, …), DEL, line and paragraph separators, and the invisible
#: format characters (bidirectional overrides, zero-width spaces, byte order mark)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text) -> str:
    """``text`` on one line, every control or invisible character written as its escape
    (``\\n``, ``\\x1b``, ``\\u202e``), as ``repr`` would: a message quoting a spec cannot
    start a new line (a fake ``::error`` in a CI log), move the cursor or colour the terminal."""
    def escape(match) -> str:
        c = match.group()
        return _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")

    return _UNPRINTABLE.sub(escape, str(text))


class Position(NamedTuple):
    """A place in a spec file: 1-based line and column, and the key path to the value."""

    file: str = "<spec>"
    line: int = 0
    column: int = 0
    path: str = ""

    def at(self, path: str) -> Position:
        return Position(self.file, self.line, self.column, path)

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.column}"
        return self.file


class CnnspecError(Exception):
    """Base of every error cnnspec raises on purpose."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        text = f"error: {printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text


class UsageError(CnnspecError):
    """A bad option or argument given to the API or the command line."""


class SpecError(CnnspecError):
    """Something wrong in a spec, with its position."""

    def __init__(self, message: str, pos: Position | None = None, hint: str | None = None):
        super().__init__(message, hint)
        self.pos = pos or Position()

    def render(self) -> str:
        where = printable(self.pos)
        path = f" [{printable(self.pos.path)}]" if self.pos.path else ""
        text = f"{where}: error{path}: {printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint)}"
        return text


class SpecSyntaxError(SpecError):
    """The file is not valid YAML."""


class SpecStructureError(SpecError):
    """Valid YAML, but not a valid spec: wrong type, missing or duplicate key, bad value."""


class NotASpecError(SpecStructureError):
    """A YAML document that is not a spec at all (neither ``input`` nor ``layers``), such as a
    CI workflow; ``cnnspec check --skip-non-specs`` passes over such files."""


class UnknownNameError(SpecError):
    """An unknown layer type, attribute, variable or node name."""


class ExpressionError(SpecError):
    """An arithmetic expression that cannot be parsed or evaluated."""


class ShapeError(SpecError):
    """A layer cannot take the tensor it receives (too small, wrong width, …)."""

    #: what the sizes solver could tell about the inputs that work (a
    #: ``cnnspec.ir.infer.SizeQuestion``); :mod:`cnnspec.api` turns its answer into the hint
    sizes = None


class BudgetError(SpecError):
    """A spec that would expand beyond what cnnspec is willing to build."""


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A 'did you mean …?' hint for a misspelt name, or None."""
    if len(str(name)) > 100:  # no suggestion for a long text (difflib is quadratic in it)
        return None
    import difflib  # only when an error is being explained (it costs a millisecond to import)

    matches = difflib.get_close_matches(str(name), [str(c) for c in candidates], n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"'{m}'" for m in matches) + "?"
