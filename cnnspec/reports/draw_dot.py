"""A drawing (:mod:`cnnspec.reports.draw_graph`) as Graphviz DOT, and as SVG through the
Graphviz ``dot`` program.

Every text that comes from the spec is written as a DOT quoted string by :func:`quote`:
control and invisible characters become visible escapes, a backslash is doubled (so it
cannot start one of DOT's label escapes such as ``\\N`` or ``\\l``) and a double quote is
escaped, so a name cannot end its string. Ids are ours (``input``, ``n0``, ``cluster_0``)."""

from __future__ import annotations

from cnnspec.errors import UsageError, printable
from cnnspec.reports.draw_graph import DARK, Drawing, DrawNode, cluster_title, node_lines

__all__ = ["INSTALL", "quote", "render_dot", "render_svg"]

#: how to get what SVG needs
INSTALL = 'apt-get install graphviz (or brew install graphviz) and pip install "cnnspec[draw]"'

HEADER = ('  graph [rankdir=TB, fontname="Helvetica", fontsize=10];',
          '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica", '
          'fontsize=10];',
          '  edge [arrowsize=0.7];')


def quote(text: str) -> str:
    """``text`` as a DOT quoted string (one line of a label)."""
    return '"' + printable(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _label(lines: list[str]) -> str:
    """Lines joined by DOT's centred line break, ``\\n``, inside one quoted string."""
    return '"' + "\\n".join(quote(line)[1:-1] for line in lines) + '"'


def _node(node: DrawNode, drawing: Drawing, indent: str) -> str:
    attrs = [f"label={_label(node_lines(node))}"]
    if node.is_input:
        attrs.append("shape=ellipse")
    if node.is_output:
        attrs.append("penwidth=2")
    fill = drawing.fills.get(node.id)
    if fill:
        attrs.append(f'fillcolor="{fill}"')
        if fill in DARK:
            attrs.append('fontcolor="#ffffff"')
    return f"{indent}{node.id} [{', '.join(attrs)}];"


def _items(drawing: Drawing, parent: str | None, depth: int, counter: list[int]) -> list[str]:
    indent = "  " * depth
    lines = []
    for kind, key in drawing.items[parent]:
        if kind == "node":
            lines.append(_node(drawing.node(key), drawing, indent))
            continue
        counter[0] += 1
        lines.append(f"{indent}subgraph cluster_{counter[0] - 1} {{")
        lines.append(f"{indent}  label={quote(cluster_title(key, drawing.cluster_kinds[key]))};")
        lines.append(f'{indent}  style="rounded,dashed"; color="#888888";')
        lines.extend(_items(drawing, key, depth + 1, counter))
        lines.append(f"{indent}}}")
    return lines


def render_dot(drawing: Drawing) -> str:
    """The drawing as a DOT digraph: clusters for blocks, dashed edges for shortcuts, the
    output node with a thick border, the fill legend (if any) as the graph's label."""
    lines = [f"digraph {quote(drawing.name)} {{", *HEADER]
    if drawing.legend:
        lines.append(f"  label={quote(drawing.legend)}; labelloc=b;")
    lines.extend(_items(drawing, None, 1, [0]))
    for edge in drawing.edges:
        style = " [style=dashed]" if edge.shortcut else ""
        lines.append(f"  {edge.src} -> {edge.dst}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(drawing: Drawing) -> str:
    """The drawing laid out by Graphviz's ``dot`` as SVG text. Needs the ``graphviz`` Python
    package and the ``dot`` program; without either, a UsageError that says how to install it."""
    try:
        import graphviz
    except ImportError:
        raise UsageError("--format svg needs the graphviz Python package, which is not installed",
                         hint=f"install it with: {INSTALL}; --format dot and mermaid need "
                              "nothing") from None
    try:
        svg = graphviz.Source(render_dot(drawing)).pipe(format="svg", engine="dot")
    except graphviz.ExecutableNotFound:
        raise UsageError("--format svg needs the Graphviz 'dot' program, which is not on the PATH",
                         hint=f"install it with: {INSTALL}; --format dot and mermaid need "
                              "nothing") from None
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr
        raise UsageError(f"Graphviz's dot failed: {printable((stderr or '').strip())}") from None
    return svg.decode("utf-8")
