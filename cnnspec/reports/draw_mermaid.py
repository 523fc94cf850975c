"""A drawing (:mod:`cnnspec.reports.draw_graph`) as a Mermaid flowchart, which GitHub,
GitLab and many Markdown viewers render from a ```mermaid block.

Every text that comes from the spec goes through :func:`escape`: control and invisible
characters become visible escapes, and each character that Mermaid reads as syntax in a
label (quotes, brackets, ``#``, ``&``, ``<``, ``>``, ``|``, the backtick) is written as its
Mermaid entity code (``#34;``), so a name can neither end its label nor inject HTML. Node
ids are ours (``input``, ``n0``), subgraph ids ``c0``, ``c1``…, class names fixed identifiers
(``output``, and those a caller passes, such as ``added`` and ``changed`` of a diff)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from cnnspec.errors import printable
from cnnspec.reports.draw_graph import DARK, Drawing, DrawNode, cluster_title, node_lines

__all__ = ["SYNTAX", "escape", "render_mermaid"]

#: the characters written as entity codes in labels
SYNTAX = frozenset('"#&<>[](){}|`')


def escape(text: str) -> str:
    """``text`` safe inside a Mermaid ``"…"`` label."""
    return "".join(f"#{ord(c)};" if c in SYNTAX else c for c in printable(text))


def _label(lines: list[str]) -> str:
    return '"' + "<br>".join(escape(line) for line in lines) + '"'


def _node(node: DrawNode, indent: str) -> str:
    label = _label(node_lines(node))
    return f"{indent}{node.id}([{label}])" if node.is_input else f"{indent}{node.id}[{label}]"


def _items(drawing: Drawing, parent: str | None, depth: int, counter: list[int]) -> list[str]:
    indent = "  " * depth
    lines = []
    for kind, key in drawing.items[parent]:
        if kind == "node":
            lines.append(_node(drawing.node(key), indent))
            continue
        counter[0] += 1
        title = escape(cluster_title(key, drawing.cluster_kinds[key]))
        lines.append(f'{indent}subgraph c{counter[0] - 1}["{title}"]')
        lines.extend(_items(drawing, key, depth + 1, counter))
        lines.append(f"{indent}end")
    return lines


#: what a class name must be: ours, never from a spec
CLASS_NAME = re.compile(r"[a-z][a-z_]*")


def _styles(drawing: Drawing, classes: Mapping[str, tuple[str, Sequence[str]]]) -> list[str]:
    lines = []
    for node in drawing.nodes:
        fill = drawing.fills.get(node.id)
        if fill:
            text = ",color:#ffffff" if fill in DARK else ""
            lines.append(f"  style {node.id} fill:{fill}{text}")
    outputs = [n.id for n in drawing.nodes if n.is_output]
    if outputs:
        lines.append("  classDef output stroke-width:3px")
        lines.append(f"  class {','.join(outputs)} output")
    for name, (style, ids) in classes.items():
        if not CLASS_NAME.fullmatch(name) or name in ("output", "default"):
            raise ValueError(f"not a class name of ours: {name!r}")
        if ids:
            lines.append(f"  classDef {name} {style}")
            lines.append(f"  class {','.join(ids)} {name}")
    return lines


def render_mermaid(drawing: Drawing, classes: Mapping[str, tuple[str, Sequence[str]]] | None = None) -> str:
    """The drawing as a top-down flowchart: subgraphs for blocks, dotted arrows for shortcuts,
    the output node with a thick border; the fill legend (if any) in a comment. ``classes``:
    class name -> (its Mermaid style, the ids of the nodes it marks), e.g. a diff's changes."""
    lines = ["flowchart TB", f"  %% {escape(drawing.name)}"]
    if drawing.legend:
        lines.append(f"  %% {escape(drawing.legend)}")
    lines.extend(_items(drawing, None, 1, [0]))
    lines.extend(f"  {e.src} {'-.->' if e.shortcut else '-->'} {e.dst}" for e in drawing.edges)
    lines.extend(_styles(drawing, classes or {}))
    return "\n".join(lines) + "\n"
