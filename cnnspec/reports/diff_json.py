"""A :class:`~cnnspec.solvers.diff.SpecDiff` as JSON (layout in docs/diff.md)."""

from __future__ import annotations

import json

from cnnspec.reports.json_report import rf_json
from cnnspec.solvers.diff import RowDiff, Source, SpecDiff, delta, percent, same
from cnnspec.util import dims
from cnnspec.version import SCHEMA_VERSION, __version__


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
