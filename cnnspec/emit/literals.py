"""Python source text for values: literals, string literals as ruff format writes them, and
docstrings wrapped to the line length."""

from __future__ import annotations

import textwrap

from cnnspec.emit.pyformat import LINE_LENGTH


def literal(value) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, (bool, float)) or value is None:
        return repr(value)
    return str(int(value))


def quoted(text: str) -> str:
    """A string literal in double quotes, as ruff format writes it (the names and settings a
    spec can hold have no quotes; one that had would keep repr's quotes)."""
    text = str(text)
    return repr(text) if '"' in text or "'" in text else '"' + repr(text)[1:-1] + '"'


def docstring(paragraphs: list[str], indent: str) -> str:
    """A docstring at ``indent``: the paragraphs wrapped to the line length, the closing quotes
    on a line of their own when there is more than one line."""
    width = LINE_LENGTH - len(indent)
    lines = []
    for paragraph in paragraphs:
        if lines:
            lines.append("")
        first = 3 if not lines else 0  # the opening quotes
        lines += textwrap.wrap(" " * first + paragraph, width, break_long_words=False,
                               break_on_hyphens=False)
    lines[0] = lines[0][3:]
    if len(lines) == 1 and len(lines[0]) + 6 <= width:
        return f'{indent}"""{lines[0]}"""\n'
    body = "\n".join(f"{indent}{line}" if line and i else line for i, line in enumerate(lines))
    return f'{indent}"""{body}\n{indent}"""\n'
