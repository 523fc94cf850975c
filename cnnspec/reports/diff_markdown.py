"""A :class:`~cnnspec.solvers.diff.SpecDiff` as GitHub-flavoured Markdown (a pull request comment), in
which nothing from a spec is read as Markdown."""

from __future__ import annotations

import re

from cnnspec.errors import printable
from cnnspec.reports.diff_text import ALIGN, HEADERS, join_dims, layer_rows, summary, symbolic, totals_rows
from cnnspec.solvers.diff import Source, SpecDiff

#: Markdown puts the per-layer table in a collapsed <details> block beyond this many rows.
FOLD_ROWS = 20
#: what could start emphasis, code, a link or image, HTML, an entity or end a table cell
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<|&!#~])")


def md_text(text) -> str:
    """Text for a Markdown line or table cell: control characters escaped (one line), and
    every character Markdown could act on backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", printable(text))


def md_code(text) -> str:
    """Free text from a spec or the command line (a spec's name, a file, a revision) as a code
    span: no heading, @mention, #reference, link, image, HTML comment or tag in it is read as
    such. The fence is longer than any run of backticks inside."""
    text = printable(text)
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") or not text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_side(source: Source, analysis) -> str:
    where = md_code(source.file)
    if source.revision is not None:
        where += f" at {md_code(source.revision)}" + (f", commit {md_text(source.commit[:12])}"
                                                      if source.commit else "")
    return f"{md_code(analysis.graph.name)} ({where})"


def _md_cell(cell: str, name: bool) -> str:
    if "*" in cell and not name:  # a formula: code, or GitHub reads its '*' as emphasis
        return md_code(cell).replace("|", "\\|")
    return md_text(cell)


def render_markdown(diff: SpecDiff, show_all: bool = False, graph: bool = True,
                    depth: int | None = None) -> str:
    """A GitHub-flavoured Markdown comment: summary, totals table, per-layer table (folded
    into a <details> block when it is long), then unless not ``graph`` the after side's graph
    (blocks collapsed as ``depth``) with the changes highlighted, folded too. Names, files
    and revisions are code spans and every other cell is escaped, so no text of a spec acts
    as Markdown on the page."""
    from tabulate import tabulate  # imported when a table is drawn

    a, b = diff.before.graph.name, diff.after.graph.name
    title = md_code(a) if a == b else f"{md_code(a)} → {md_code(b)}"
    inputs = join_dims(diff.before.input_shape), join_dims(diff.after.input_shape)
    shape = inputs[0] if inputs[0] == inputs[1] else f"{inputs[0]} -> {inputs[1]}"
    header = [f"before: {_md_side(diff.before_source, diff.before)}",
              f"after:  {_md_side(diff.after_source, diff.after)}",
              md_text(f"input {shape}, batch {diff.before.batch}, {diff.before.dtype}")]
    parts = [f"### cnnspec diff: {title}", "", *(f"{line}  " for line in header), "",
             f"**{md_text(summary(diff))}**"]
    if diff.differs and symbolic(diff):  # formulas: a list, a table would be too wide to read
        parts.append("")
        for label, before, after, change in totals_rows(diff):
            text = md_code(before) if before == after else f"{md_code(before)} → {md_code(after)}"
            delta_text = f" (delta {md_code(change)})" if change else ""
            parts.append(f"- **{md_text(label)}**: {text}{delta_text}")
    elif diff.differs:
        totals = [[_md_cell(cell, False) for cell in row] for row in totals_rows(diff)]
        parts += ["", tabulate(totals, headers=("total", "before", "after", "delta"),
                               tablefmt="github", colalign=("left", "right", "right", "right"),
                               disable_numparse=True)]
    rows = [[_md_cell(cell, k == 1) for k, cell in enumerate(row)] for row in layer_rows(diff, show_all)]
    if rows:
        table = tabulate(rows, headers=HEADERS, tablefmt="github", colalign=ALIGN, disable_numparse=True)
        if len(rows) > FOLD_ROWS:
            table = f"<details><summary>{len(rows)} layers</summary>\n\n{table}\n\n</details>"
        parts += ["", table]
    parts += [f"\n- changed: {md_text(c)}" for c in diff.spec_changes]
    parts += [f"\n> note: {md_text(n)}" for n in diff.notes]
    if graph:
        parts += ["", diff_graph(diff, depth)]
    return "\n".join(parts) + "\n"


#: diff status -> the Mermaid style of its class in the graph (the class is named as the status)
HIGHLIGHT = {"added": "fill:#ccebc5,stroke:#1a7f37,stroke-width:2px",
             "changed": "fill:#fee8a0,stroke:#b08800,stroke-width:2px"}
GRAPH_LEGEND = ("The after side's graph: green nodes are added, amber nodes changed (for a collapsed "
                "block: a layer in it was added, removed or changed).")
#: at most this many removed names are listed under the graph's legend
MAX_REMOVED = 20


def node_status(node, statuses: dict[str, str], removed: list[str]) -> str | None:
    """A drawn node's highlight: ``added`` when every layer it draws is new, ``changed`` when
    any was added or changed or a removed layer sat in the block it collapses; else None."""
    if node.is_input:
        return None
    seen = {statuses.get(name, "unchanged") for name in node.members}
    if seen == {"added"}:
        return "added"
    inside = node.collapsed and any(name.startswith(node.name + ".") for name in removed)
    return "changed" if seen - {"unchanged"} or inside else None


def diff_graph(diff: SpecDiff, depth: int | None = None) -> str:
    """The after side's graph, collapsed and folded (:mod:`cnnspec.reports.md_graph`), the
    added and changed nodes in the classes ``added`` and ``changed``, the removed layers named
    under the legend (they are not in the after graph)."""
    from cnnspec.reports.draw_graph import build_drawing
    from cnnspec.reports.md_graph import graph_section

    statuses = {row.name: row.status for row in diff.rows}
    removed = [row.name for row in diff.rows if row.status == "removed"]
    drawing = build_drawing(diff.after, depth)
    marked: dict[str, list[str]] = {status: [] for status in HIGHLIGHT}
    for node in drawing.nodes:
        status = node_status(node, statuses, removed)
        if status:
            marked[status].append(node.id)
    legend = [GRAPH_LEGEND]
    if removed:
        more = f" and {len(removed) - MAX_REMOVED} more" if len(removed) > MAX_REMOVED else ""
        names = ", ".join(md_code(name) for name in removed[:MAX_REMOVED])
        legend += ["", f"Removed (not in the after graph): {names}{more}."]
    return graph_section(drawing, {s: (HIGHLIGHT[s], ids) for s, ids in marked.items()}, legend)
