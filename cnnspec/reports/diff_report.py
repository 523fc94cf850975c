"""Renderings of a :class:`~cnnspec.diff.SpecDiff`: a terminal table, GitHub Markdown (a pull
request comment) and JSON (layout in docs/diff.md)."""

from __future__ import annotations

import json
import re

from cnnspec.errors import printable
from cnnspec.reports.json_report import rf_json
from cnnspec.solvers.diff import (
    TOTALS,
    RowDiff,
    Source,
    SpecDiff,
    delta,
    percent,
    rf_sizes,
    same,
)
from cnnspec.util import dims, units
from cnnspec.version import SCHEMA_VERSION, __version__

HEADERS = ("status", "name", "type", "output shape", "params", "MACs", "RF", "activations")
ALIGN = ("left", "left", "left", "left", "right", "right", "right", "right")
#: Markdown puts the per-layer table in a collapsed <details> block beyond this many rows.
FOLD_ROWS = 20
_HUMAN = {"params": units.exact, "trainable_params": units.exact, "nodes": units.exact,
          "macs": lambda v: units.ops(v, "MACs"), "flops": lambda v: units.ops(v, "FLOPs"),
          "peak_activation_bytes": units.nbytes, "param_bytes": units.nbytes}


# --- text pieces ---------------------------------------------------------------------------


def signed(value, human=units.exact) -> str:
    """+1,234 / -1,234 / ±0; a formula as it is, with a + unless it starts with -."""
    as_int = dims.to_int(value)
    if as_int is None:
        text = human(value)
        return text if text.startswith("-") else "+" + text
    if as_int == 0:
        return "±0"
    return ("+" if as_int > 0 else "-") + human(abs(as_int))


def percent_text(value: float | None) -> str:
    if value is None:
        return ""
    if value == 0 or abs(value) >= 0.1:
        return f"{value:+.1f}%"
    return f"{value:+.2g}%"


def _change(before, after, human, with_delta: bool) -> str:
    """``a -> b (+d, +p%)``; ``a`` when the two are the same."""
    if same(before, after):
        return human(before)
    text = f"{human(before)} -> {human(after)}"
    if with_delta:
        pct = percent_text(percent(before, after))
        text += f" ({signed(delta(before, after), human)}{', ' + pct if pct else ''})"
    return text


def _join(values) -> str:
    """3x224x224; formulas joined with spaces around the x, so each stays readable."""
    texts = [dims.fmt(v) for v in values]
    return ("x" if all(t.isalnum() for t in texts) else " x ").join(texts)


def _shape(analysis, shape) -> str:
    return _join((analysis.batch, *shape))


def _rf(sizes) -> str:
    """Sizes per axis; ``~`` in front of an approximate (inexact) field."""
    if not sizes:
        return "-"
    mark = "" if getattr(sizes, "exact", True) else "~"
    return mark + (dims.fmt(sizes[0]) if len({dims.fmt(s) for s in sizes}) == 1 else _join(sizes))


def _params(facts) -> str:
    return units.exact(facts.params) + ("" if facts.trainable else " (frozen)")


def _cells(diff: SpecDiff, row: RowDiff) -> list[str]:
    old, new = row.before, row.after
    if old is None or new is None:
        facts, analysis = (new, diff.after) if old is None else (old, diff.before)
        return [row.status, row.name, facts.type, _shape(analysis, facts.output), _params(facts),
                units.count(facts.macs), _rf(rf_sizes(facts)), units.nbytes(facts.activation_bytes)]
    params = _change(old.params, new.params, units.exact, True)
    if old.trainable != new.trainable:
        params += " (trainable -> frozen)" if old.trainable else " (frozen -> trainable)"
    elif not new.trainable:
        params += " (frozen)"
    shapes = (_shape(diff.before, old.output), _shape(diff.after, new.output))
    kind = _change(old.type, new.type, str, False)
    if row.settings:
        kind += " (" + ", ".join(f"{key} {_setting(a)} -> {_setting(b)}"
                                 for key, (a, b) in row.settings.items()) + ")"
    return [
        row.status, row.name, kind,
        shapes[0] if shapes[0] == shapes[1] else f"{shapes[0]} -> {shapes[1]}",
        params, _change(old.macs, new.macs, units.count, True),
        _change(rf_sizes(old), rf_sizes(new), _rf, False),
        _change(old.activation_bytes, new.activation_bytes, units.nbytes, False),
    ]


def _setting(value) -> str:
    if isinstance(value, tuple) and len(set(value)) == 1:
        value = value[0]
    return str(value).lower() if isinstance(value, bool) else str(value)


def _rows(diff: SpecDiff, show_all: bool) -> list[list[str]]:
    return [_cells(diff, row) for row in diff.rows if show_all or row.status != "unchanged"]


def _totals(diff: SpecDiff) -> list[list[str]]:
    totals = diff.totals()
    lines = []
    for key, label in (("input", "input"), *TOTALS):
        before, after = totals[key]
        if key == "input" and same(before, after):
            continue
        if key in _HUMAN:
            human = _HUMAN[key]
            pct = percent_text(percent(before, after))
            change = "" if same(before, after) else signed(delta(before, after), human)
            change += f" ({pct})" if pct and change else ""
            lines.append([label, human(before), human(after), change])
            continue
        if key == "receptive_field":
            texts = (_rf(before), _rf(after))
            change = ""
            if before and after and len(before) == len(after) and not same(before, after):
                texts_delta = [signed(delta(a, b)) for a, b in zip(before, after)]
                change = texts_delta[0] if len(set(texts_delta)) == 1 else " x ".join(texts_delta)
        elif key == "output_shape":
            texts = _shape(diff.before, before), _shape(diff.after, after)
            change = "" if same(before, after) else "changed"
        else:  # the input, per sample
            texts = _join(before), _join(after)
            change = "changed"
        lines.append([label, *texts, change])
    return lines


def _symbolic(diff: SpecDiff) -> bool:
    return diff.before.symbolic or diff.after.symbolic


def summary(diff: SpecDiff) -> str:
    """``3 changed, 1 added, 0 removed; params +1,234 (+0.5%), MACs +1.2 MMACs (+0.8%)``"""
    (p0, p1), (m0, m1) = diff.totals()["params"], diff.totals()["macs"]
    if not diff.differs:
        return (f"no changes: both sides analyse identically ({units.exact(len(diff.after.graph.nodes))} "
                f"nodes, {units.exact(p1)} params, {units.ops(m1, 'MACs')})")
    parts = []
    for key, before, after, human in (("params", p0, p1, units.exact),
                                      ("MACs", m0, m1, lambda v: units.ops(v, "MACs"))):
        if dims.to_int(delta(before, after)) is None:
            continue  # a formula: the totals show it
        pct = percent_text(percent(before, after)) if not same(before, after) else ""
        parts.append(f"{key} {signed(delta(before, after), human)}" + (f" ({pct})" if pct else ""))
    counts = [f"{diff.count(s)} {s}" for s in ("changed", "added", "removed")]
    rf_only = sum(1 for row in diff.rows if row.changes == ("receptive_field",))
    if rf_only:
        counts[0] += (" (receptive field only)" if rf_only == diff.count("changed")
                      else f" ({rf_only} in receptive field only)")
    return f"{', '.join(counts)}; {', '.join(parts)}"


def _side(source: Source, analysis) -> str:
    where = source.file
    if source.revision is not None:
        where += f" at {source.revision}" + (f", commit {source.commit[:12]}" if source.commit else "")
    return f"{analysis.graph.name} ({where})"


def _header(diff: SpecDiff) -> list[str]:
    a, b = diff.before, diff.after
    inputs = _join(a.input_shape), _join(b.input_shape)
    shape = inputs[0] if inputs[0] == inputs[1] else f"{inputs[0]} -> {inputs[1]}"
    return [f"before: {_side(diff.before_source, a)}", f"after:  {_side(diff.after_source, b)}",
            f"input {shape}, batch {a.batch}, {a.dtype}"]


# --- the three formats ---------------------------------------------------------------------


def render_table(diff: SpecDiff, show_all: bool = False) -> str:
    """The changed rows (every row with ``show_all``), the totals and the summary line."""
    from tabulate import tabulate  # imported when a table is drawn

    parts = _header(diff)
    rows = _rows(diff, show_all)
    if rows:
        parts += ["", tabulate(rows, headers=HEADERS, tablefmt="simple", colalign=ALIGN,
                               disable_numparse=True)]
    if diff.differs and _symbolic(diff):
        parts.append("")
        for label, before, after, change in _totals(diff):
            parts += [label] + [f"  {k}: {v}" for k, v in (("before", before), ("after", after),
                                                            ("delta", change)) if v]
    elif diff.differs:
        parts += ["", tabulate(_totals(diff), headers=("total", "before", "after", "delta"),
                               tablefmt="simple", colalign=("left", "right", "right", "right"),
                               disable_numparse=True)]
    parts += ["", summary(diff), *(f"changed: {c}" for c in diff.spec_changes),
              *(f"note: {n}" for n in diff.notes)]
    return "\n".join(parts) + "\n"


# --- Markdown: nothing from a spec is read as Markdown -------------------------------------

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


def render_markdown(diff: SpecDiff, show_all: bool = False) -> str:
    """A GitHub-flavoured Markdown comment: summary, totals table, per-layer table (folded
    into a <details> block when it is long). Names, files and revisions are code spans and
    every other cell is escaped, so no text of a spec acts as Markdown on the page."""
    from tabulate import tabulate  # imported when a table is drawn

    a, b = diff.before.graph.name, diff.after.graph.name
    title = md_code(a) if a == b else f"{md_code(a)} → {md_code(b)}"
    inputs = _join(diff.before.input_shape), _join(diff.after.input_shape)
    shape = inputs[0] if inputs[0] == inputs[1] else f"{inputs[0]} -> {inputs[1]}"
    header = [f"before: {_md_side(diff.before_source, diff.before)}",
              f"after:  {_md_side(diff.after_source, diff.after)}",
              md_text(f"input {shape}, batch {diff.before.batch}, {diff.before.dtype}")]
    parts = [f"### cnnspec diff: {title}", "", *(f"{line}  " for line in header), "",
             f"**{md_text(summary(diff))}**"]
    if diff.differs and _symbolic(diff):  # formulas: a list, a table would be too wide to read
        parts.append("")
        for label, before, after, change in _totals(diff):
            text = md_code(before) if before == after else f"{md_code(before)} → {md_code(after)}"
            delta_text = f" (delta {md_code(change)})" if change else ""
            parts.append(f"- **{md_text(label)}**: {text}{delta_text}")
    elif diff.differs:
        totals = [[_md_cell(cell, False) for cell in row] for row in _totals(diff)]
        parts += ["", tabulate(totals, headers=("total", "before", "after", "delta"),
                               tablefmt="github", colalign=("left", "right", "right", "right"),
                               disable_numparse=True)]
    rows = [[_md_cell(cell, k == 1) for k, cell in enumerate(row)] for row in _rows(diff, show_all)]
    if rows:
        table = tabulate(rows, headers=HEADERS, tablefmt="github", colalign=ALIGN, disable_numparse=True)
        if len(rows) > FOLD_ROWS:
            table = f"<details><summary>{len(rows)} layers</summary>\n\n{table}\n\n</details>"
        parts += ["", table]
    parts += [f"\n- changed: {md_text(c)}" for c in diff.spec_changes]
    parts += [f"\n> note: {md_text(n)}" for n in diff.notes]
    return "\n".join(parts) + "\n"


def _num(value):
    """A JSON number, or a formula as text."""
    return None if value is None else dims.to_json(value)


def _facts_json(analysis, facts) -> dict | None:
    if facts is None:
        return None
    return {"type": facts.type, "output_shape": [analysis.batch, *map(_num, facts.output)],
            "params": _num(facts.params), "trainable": facts.trainable, "macs": _num(facts.macs),
            "activation_bytes": _num(facts.activation_bytes), "receptive_field": rf_json(facts)}


def _row_json(diff: SpecDiff, row: RowDiff) -> dict:
    changes = {}
    for key in ("params", "macs", "activation_bytes"):
        old = getattr(row.before, key) if row.before else None
        new = getattr(row.after, key) if row.after else None
        changes[key] = {"delta": _num(delta(old, new)), "delta_pct": _round(percent(old, new))}
    return {"name": row.name, "status": row.status, "changes": list(row.changes),
            "settings": {key: {"before": _plain(a), "after": _plain(b)}
                         for key, (a, b) in row.settings.items()},
            "before": _facts_json(diff.before, row.before), "after": _facts_json(diff.after, row.after),
            "delta": changes}


def _plain(value):
    """A layer setting for JSON: tuples as lists, the rest as they are."""
    return list(value) if isinstance(value, tuple) else value


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def diff_to_dict(diff: SpecDiff, show_all: bool = False) -> dict:
    totals = {}
    for key, (before, after) in diff.totals().items():
        if key == "output_shape":
            totals[key] = {"before": [diff.before.batch, *map(_num, before)],
                           "after": [diff.after.batch, *map(_num, after)], "same": same(before, after)}
        elif key == "input":
            totals[key] = {"before": list(map(_num, before)), "after": list(map(_num, after)),
                           "same": same(before, after)}
        elif key == "receptive_field":  # of the output node
            totals[key] = {"before": rf_json(diff.before.facts[diff.before.graph.output]),
                           "after": rf_json(diff.after.facts[diff.after.graph.output]),
                           "same": same(before, after)}
        else:
            totals[key] = {"before": _num(before), "after": _num(after), "delta": _num(delta(before, after)),
                           "delta_pct": _round(percent(before, after))}

    def side(source: Source, analysis) -> dict:
        return {"file": source.file, "revision": source.revision, "commit": source.commit,
                "name": analysis.graph.name}

    return {
        "schema_version": SCHEMA_VERSION,
        "tool": f"cnnspec {__version__}",
        "before": side(diff.before_source, diff.before),
        "after": side(diff.after_source, diff.after),
        "batch": diff.after.batch,
        "dtype": diff.after.dtype,
        "differs": diff.differs,
        "summary": {s: diff.count(s) for s in ("changed", "added", "removed", "unchanged")},
        "rows": [_row_json(diff, r) for r in diff.rows if show_all or r.status != "unchanged"],
        "totals": totals,
        "notes": list(diff.notes),
        "spec_changes": list(diff.spec_changes),
    }


def render_json(diff: SpecDiff, show_all: bool = False) -> str:
    return json.dumps(diff_to_dict(diff, show_all), indent=2) + "\n"


FORMATS = {"table": render_table, "markdown": render_markdown, "json": render_json}
