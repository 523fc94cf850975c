"""Lay out generated Python source the way ``ruff format`` (and black) would, so that a file
``cnnspec build`` writes passes ``ruff format --check`` as it is.

The renderer (:mod:`cnnspec.emit.render`) writes each statement of the generated file on one
line and :func:`layout` splits it by black's rules, for the small part of Python the emitter
writes (calls, tuples, lists, dicts, names, numbers and plain strings); :func:`reflow` does
the same for every statement of a whole source text (a layer type's own module, pasted):

- a statement that fits in the line length, and has no magic trailing comma (a comma right
  before a closing bracket), stays on one line;
- otherwise it is split at its last closing bracket: the text up to the opening bracket, the
  bracket's contents indented one level, the closing bracket and what follows it;
- the contents stay on one line when they fit and had no magic trailing comma; else they are
  one item per line, each with a trailing comma; a single item is split the same way, again.

Docstrings and comments are left as they are. torch is not imported here.
"""

from __future__ import annotations

import io
import tokenize

#: ``line-length`` of ``[tool.ruff]`` in pyproject.toml, which the emitted files follow
LINE_LENGTH = 110
INDENT = "    "
_OPEN, _CLOSE = "([{", ")]}"


def reflow(source: str, width: int = LINE_LENGTH) -> str:
    """``source`` with every statement laid out as ruff format does."""
    lines = source.splitlines()
    out: list[str] = []
    done = 0  # physical lines (0-based) already copied
    start = None  # the first physical line (0-based) of the statement being read
    plain = True  # no comment and no string over several lines in it
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.INDENT, tokenize.DEDENT, tokenize.NL, tokenize.ENDMARKER):
            continue
        if start is None:
            if tok.type == tokenize.COMMENT:  # a line holding only a comment
                continue
            start, plain = tok.start[0] - 1, True
        if tok.type == tokenize.COMMENT or (tok.type == tokenize.STRING and tok.start[0] != tok.end[0]):
            plain = False
        if tok.type == tokenize.NEWLINE:
            end = tok.end[0]  # 1-based: the statement's last physical line
            out.extend(lines[done:start])
            chunk = lines[start:end]
            if plain:
                indent = chunk[0][: len(chunk[0]) - len(chunk[0].lstrip())]
                out.extend(layout(join(chunk), indent, width))
            else:
                out.extend(chunk)
            done, start = end, None
    out.extend(lines[done:])
    return "\n".join(out) + ("\n" if source.endswith("\n") else "")


def join(chunk: list[str]) -> str:
    """The physical lines of one statement as one line."""
    text = ""
    for piece in (line.strip() for line in chunk):
        if text and not (text[-1] in _OPEN or piece[:1] in _CLOSE):
            text += " "
        text += piece
    return text


def layout(text: str, indent: str, width: int = LINE_LENGTH) -> list[str]:
    """One statement (or item), flat in ``text``, as the lines ruff format gives it."""
    if len(indent) + len(text) <= width and not _has_magic_comma(text):
        return [indent + text]
    split = _last_bracket(text)
    if split is None:
        return [indent + text]
    head, body, tail = split
    inner = indent + INDENT
    items, trailing = _items(body)
    lines = [indent + head]
    # a call's arguments stay on one line when they fit; a tuple, list or dict of several
    # items is always split one item per line
    literal = _is_literal(head) and len(items) > 1
    if not trailing and not literal and len(inner) + len(body) <= width and not _has_magic_comma(body):
        lines.append(inner + body)
    elif len(items) == 1 and not trailing:
        lines += layout(items[0], inner, width)
    else:
        for item in items:
            lines += layout(item + ",", inner, width)
    lines.append(indent + tail)
    return lines


def _scan(text: str):
    """(index, character, depth before it) of every character outside string literals; a
    string literal is one ``"S"`` at its opening quote."""
    depth = 0
    quote = None
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
            yield i, "S", depth
        else:
            if c in _CLOSE:
                depth -= 1
            yield i, c, depth
            if c in _OPEN:
                depth += 1
        i += 1


def _matching(text: str) -> dict[int, int]:
    """Closing bracket index -> its opening bracket's index."""
    stack, pairs = [], {}
    for i, c, _ in _scan(text):
        if c in _OPEN:
            stack.append(i)
        elif c in _CLOSE and stack:
            pairs[i] = stack.pop()
    return pairs


def _last_bracket(text: str):
    """(head ending with the opening bracket, contents, tail from the closing bracket) for the
    last closing bracket with something inside; None when there is none."""
    for close, opening in sorted(_matching(text).items(), reverse=True):
        if text[opening + 1:close].strip():
            return text[: opening + 1], text[opening + 1:close].strip(), text[close:]
    return None


def _items(body: str) -> tuple[list[str], bool]:
    """The contents of a bracket split at its top-level commas, and whether it ended with one."""
    items, start = [], 0
    for i, c, depth in _scan(body):
        if c == "," and depth == 0:
            items.append(body[start:i].strip())
            start = i + 1
    rest = body[start:].strip()
    if rest:
        items.append(rest)
    return items, not rest and bool(items)


def _is_literal(head: str) -> bool:
    """Whether the bracket ``head`` ends with opens a tuple, list or dict (not a call or an
    index): nothing that could be called or indexed comes right before it."""
    before = head[:-1].rstrip()[-1:]
    return not (before.isalnum() or (before and before in "_)]\"'"))


def _has_magic_comma(text: str) -> bool:
    """A comma right before a closing bracket, other than a one-item tuple's ``(x,)``."""
    pairs = _matching(text)
    last = None  # the previous character outside strings and spaces
    for i, c, _ in _scan(text):
        if c == " ":
            continue
        if c in _CLOSE and last == "," and i in pairs:
            opening = pairs[i]
            before = text[:opening].rstrip()[-1:]
            is_tuple = c == ")" and not (before.isalnum() or (before and before in "_)]"))
            if not (is_tuple and len(_items(text[opening + 1:i])[0]) == 1):
                return True
        last = c
    return False
