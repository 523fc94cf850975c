"""Renderings of a :class:`~cnnspec.solvers.diff.SpecDiff`: a terminal table, GitHub Markdown (a pull
request comment, :mod:`cnnspec.reports.diff_markdown`) and JSON (:mod:`cnnspec.reports.diff_json`;
layout in docs/diff.md). The text they share is in :mod:`cnnspec.reports.diff_text`."""

from __future__ import annotations

from cnnspec.reports.diff_json import render_json
from cnnspec.reports.diff_markdown import render_markdown
from cnnspec.reports.diff_text import ALIGN, HEADERS, header, layer_rows, summary, symbolic, totals_rows
from cnnspec.solvers.diff import SpecDiff


def render_table(diff: SpecDiff, show_all: bool = False) -> str:
    """The changed rows (every row with ``show_all``), the totals and the summary line."""
    from tabulate import tabulate  # imported when a table is drawn

    parts = header(diff)
    rows = layer_rows(diff, show_all)
    if rows:
        parts += ["", tabulate(rows, headers=HEADERS, tablefmt="simple", colalign=ALIGN,
                               disable_numparse=True)]
    if diff.differs and symbolic(diff):
        parts.append("")
        for label, before, after, change in totals_rows(diff):
            parts += [label] + [f"  {k}: {v}" for k, v in (("before", before), ("after", after),
                                                            ("delta", change)) if v]
    elif diff.differs:
        parts += ["", tabulate(totals_rows(diff), headers=("total", "before", "after", "delta"),
                               tablefmt="simple", colalign=("left", "right", "right", "right"),
                               disable_numparse=True)]
    parts += ["", summary(diff), *(f"changed: {c}" for c in diff.spec_changes),
              *(f"note: {n}" for n in diff.notes)]
    return "\n".join(parts) + "\n"


FORMATS = {"table": render_table, "markdown": render_markdown, "json": render_json}
