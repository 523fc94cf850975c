"""The text of a :class:`~cnnspec.solvers.diff.SpecDiff`, shared by its renderings: per-layer rows,
totals, the header lines and the summary line."""

from __future__ import annotations

from cnnspec.solvers.diff import TOTALS, RowDiff, Source, SpecDiff, delta, percent, rf_sizes, same
from cnnspec.util import dims, units

HEADERS = ("status", "name", "type", "output shape", "params", "MACs", "RF", "activations")
ALIGN = ("left", "left", "left", "left", "right", "right", "right", "right")
_HUMAN = {"params": units.exact, "trainable_params": units.exact, "nodes": units.exact,
          "macs": lambda v: units.ops(v, "MACs"), "flops": lambda v: units.ops(v, "FLOPs"),
          "peak_activation_bytes": units.nbytes, "param_bytes": units.nbytes}


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


def join_dims(values) -> str:
    """3x224x224; formulas joined with spaces around the x, so each stays readable."""
    texts = [dims.fmt(v) for v in values]
    return ("x" if all(t.isalnum() for t in texts) else " x ").join(texts)


def _shape(analysis, shape) -> str:
    return join_dims((analysis.batch, *shape))


def _rf(sizes) -> str:
    """Sizes per axis; ``~`` in front of an approximate (inexact) field."""
    if not sizes:
        return "-"
    mark = "" if getattr(sizes, "exact", True) else "~"
    return mark + (dims.fmt(sizes[0]) if len({dims.fmt(s) for s in sizes}) == 1 else join_dims(sizes))


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


def layer_rows(diff: SpecDiff, show_all: bool) -> list[list[str]]:
    return [_cells(diff, row) for row in diff.rows if show_all or row.status != "unchanged"]


def totals_rows(diff: SpecDiff) -> list[list[str]]:
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
            texts = join_dims(before), join_dims(after)
            change = "changed"
        lines.append([label, *texts, change])
    return lines


def symbolic(diff: SpecDiff) -> bool:
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


def header(diff: SpecDiff) -> list[str]:
    a, b = diff.before, diff.after
    inputs = join_dims(a.input_shape), join_dims(b.input_shape)
    shape = inputs[0] if inputs[0] == inputs[1] else f"{inputs[0]} -> {inputs[1]}"
    return [f"before: {_side(diff.before_source, a)}", f"after:  {_side(diff.after_source, b)}",
            f"input {shape}, batch {a.batch}, {a.dtype}"]
