"""The graph section of a Markdown report: the Mermaid flowchart of
:mod:`cnnspec.reports.draw_mermaid` (GitHub renders a ```mermaid block) in a collapsed
``<details>`` block, so a pull request comment stays short. ``cnnspec analyze --format
markdown`` (:func:`render_markdown`) draws its spec after the table, blocks collapsed to the
table's ``--depth``; ``cnnspec diff --format markdown``
(:mod:`cnnspec.reports.diff_markdown`) draws the after side with its changes highlighted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from cnnspec.ir.facts import Analysis
from cnnspec.reports.draw_graph import Drawing, build_drawing
from cnnspec.reports.draw_mermaid import render_mermaid
from cnnspec.reports.table_report import render_markdown as render_table_markdown

__all__ = ["graph_section", "render_markdown"]


def graph_section(drawing: Drawing, classes: Mapping[str, tuple[str, Sequence[str]]] | None = None,
                  legend: Sequence[str] = ()) -> str:
    """``drawing`` as a Mermaid block (``classes`` as :func:`render_mermaid` takes them) in a
    collapsed ``<details>`` block titled Graph, after the Markdown lines of ``legend``."""
    chart = render_mermaid(drawing, classes).rstrip("\n")
    body = "\n".join([*legend, *([""] if legend else []), "```mermaid", chart, "```"])
    return f"<details><summary>Graph</summary>\n\n{body}\n\n</details>"


def render_markdown(analysis: Analysis, depth: int | None = None, graph: bool = True) -> str:
    """``analyze``'s Markdown: the table and totals, then (unless not ``graph``) the graph,
    its blocks collapsed as the table's rows (``depth``; None: as deep as fits in 60)."""
    text = render_table_markdown(analysis, depth)
    if graph:
        text += f"\n{graph_section(build_drawing(analysis, depth))}\n"
    return text
