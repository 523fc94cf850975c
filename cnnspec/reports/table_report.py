"""The analysis as a text table (terminal) or Markdown, with a totals block in human units."""

from __future__ import annotations

from cnnspec.ir.facts import Analysis
from cnnspec.util import dims, units
from cnnspec.util.names import prefix_groups

HEADERS = ("name", "type", "output shape", "params", "MACs", "RF", "activations")


def _rf_text(facts) -> str:
    """The field's size; ``~`` in front when it is not exact (an approximation)."""
    if not facts.rf:
        return "-"
    sizes = [dims.fmt(rf.size) for rf in facts.rf]  # per spatial axis (one, two or three)
    mark = "" if all(rf.exact for rf in facts.rf) else "~"
    return mark + (sizes[0] if len(set(sizes)) == 1 else "x".join(sizes))


#: With no --depth, blocks are collapsed until the table has at most this many rows.
AUTO_ROWS = 60


def groups(analysis: Analysis, depth: int | None) -> list[tuple[str, list]]:
    """Consecutive nodes sharing the first ``depth`` parts of their dotted names, as (name,
    nodes). ``depth`` 0 keeps every node; None picks the deepest view with at most
    AUTO_ROWS rows (so ResNet-152 reads as its 50 blocks, not its 500 layers)."""
    nodes = analysis.graph.nodes
    if depth is None:
        deepest = max((n.name.count(".") + 1 for n in nodes), default=1)
        depth = 0
        for candidate in range(deepest, 0, -1):
            if len(groups(analysis, candidate)) <= AUTO_ROWS:
                depth = candidate
                break
        else:
            depth = 1
        if depth == deepest:
            depth = 0
    return prefix_groups(nodes, depth, lambda node: node.name)


def _rows(analysis: Analysis, depth: int | None = 0) -> list[list[str]]:
    rows = []
    for key, members in groups(analysis, depth):
        facts = [analysis.facts[n.name] for n in members]
        last = facts[-1]
        params = sum((f.params for f in facts), 0)
        text = units.exact(params)
        frozen = sum((f.params for f in facts if not f.trainable), 0)
        if frozen:
            text += " (frozen)" if frozen == params else f" ({units.exact(frozen)} frozen)"
        kind = members[0].type_name if len(members) == 1 else f"{len(members)} layers"
        rows.append([
            key,
            kind,
            "x".join(dims.fmt(d) for d in (analysis.batch, *last.output)),
            text,
            units.exact(sum((f.macs for f in facts), 0)),
            _rf_text(last),
            units.nbytes(last.activation_bytes),
        ])
    return rows


def _totals(analysis: Analysis) -> list[tuple[str, str]]:
    t = analysis.totals()

    def both(value, human):
        text = units.exact(value)
        return f"{text} ({human})" if dims.to_int(value) is not None and text != human else text

    lines = [
        ("params", both(t["params"], units.count(t["params"]))),
        ("  trainable", units.exact(t["trainable_params"])),
        ("  frozen", units.exact(t["frozen_params"])),
        ("buffers", units.exact(t["buffers"])),
        ("MACs", both(t["macs"], units.ops(t["macs"], "MACs"))),
        ("FLOPs", both(t["flops"], units.ops(t["flops"], "FLOPs"))),
        ("element-wise ops", both(t["elementwise_ops"], units.ops(t["elementwise_ops"], "ops"))),
        ("param memory", f"{units.nbytes(t['param_bytes'])} ({analysis.dtype})"),
        ("activations", f"{units.nbytes(t['activation_bytes'])} (batch {analysis.batch})"),
        ("peak activations", f"{units.nbytes(t['peak_activation_bytes'])} at {_peak_label(analysis)}"),
    ]
    if analysis.graph.outputs:  # a spec naming its outputs: each one's shape and node
        lines += [(f"output {name}", "x".join(dims.fmt(d) for d in (analysis.batch, *shape))
                   + f" ({node})") for name, node, shape in analysis.output_shapes()]
    return lines


def _peak_label(analysis: Analysis) -> str:
    if analysis.peak_node in analysis.graph:
        return analysis.graph.node(analysis.peak_node).label
    return analysis.peak_node


def _header(analysis: Analysis) -> str:
    shape = "x".join(dims.fmt(d) for d in analysis.input_shape)
    return (f"{analysis.graph.name}: input {shape}, batch {analysis.batch}, {analysis.dtype}"
            f" ({analysis.graph.file})")


def _notes(analysis: Analysis) -> list[str]:
    notes = [f"note: {text}" for text in analysis.assumptions]
    inexact = [f for f in analysis.layers() if f.rf and not all(rf.exact for rf in f.rf)]
    if inexact:
        from cnnspec.reports.json_report import rf_reason

        notes.append(f"note: ~ marks an approximate receptive field ({len(inexact)} "
                     f"node{'s' if len(inexact) != 1 else ''}; first cause {rf_reason(inexact[0].rf)}; "
                     "--format json gives each node's reason)")
    for item in analysis.merge_alignment:
        starts = ", ".join(map(str, item["starts"]))
        jumps = ", ".join(map(str, item["jumps"]))
        gap = f"{item['offset']} input pixels apart" if item["offset"] is not None else "apart"
        notes.append(f"note: the inputs of {item['node']} are misaligned along {item['axis']}: the "
                     f"centres of their first units are {gap} ({starts}; jumps {jumps})")
    return notes


def render_table(analysis: Analysis, depth: int | None = None) -> str:
    """The per-layer table (blocks deeper than ``depth`` collapsed into one row each) and
    the totals."""
    from tabulate import tabulate  # imported when a table is drawn

    table = tabulate(_rows(analysis, depth), headers=HEADERS, tablefmt="simple",
                     colalign=("left", "left", "left", "right", "right", "right", "right"),
                     disable_numparse=True)
    width = max(len(label) for label, _ in _totals(analysis))
    totals = "\n".join(f"{label.ljust(width)}  {value}" for label, value in _totals(analysis))
    parts = [_header(analysis), "", table, "", totals, *_notes(analysis)]
    return "\n".join(parts) + "\n"


def render_markdown(analysis: Analysis, depth: int | None = None) -> str:
    """The table and totals as GitHub Markdown, the notes as block quotes (``analyze --format
    markdown`` adds the graph: :func:`cnnspec.reports.md_graph.render_markdown`)."""
    from tabulate import tabulate  # imported when a table is drawn

    table = tabulate(_rows(analysis, depth), headers=HEADERS, tablefmt="github",
                     colalign=("left", "left", "left", "right", "right", "right", "right"),
                     disable_numparse=True)
    totals = "\n".join(f"| {label.strip()} | {value} |" for label, value in _totals(analysis))
    notes = "\n".join(f"> {n}" for n in _notes(analysis))
    text = f"### {_header(analysis)}\n\n{table}\n\n| total | value |\n|---|---|\n{totals}\n"
    return text + (f"\n{notes}\n" if notes else "")
