"""The output of ``cnnspec sizes``: valid, exact and declared-size ranges per axis."""

from __future__ import annotations

import json

from cnnspec.ir.facts import SCHEMA_VERSION
from cnnspec.ir.graph import Graph
from cnnspec.solvers import sizes as solver


def _near(axis: solver.AxisSizes, target: int) -> dict:
    def best(n: int) -> bool:
        return axis.is_exact(n) and axis.satisfies(n)

    return {
        "valid": solver.nearest(axis, target, axis.is_valid),
        "exact": solver.nearest(axis, target, axis.is_exact),
        "satisfies_declared": solver.nearest(axis, target, axis.satisfies),
        "exact_and_declared": solver.nearest(axis, target, best),
    }


def sizes_to_dict(graph: Graph, near: int | None, progress=solver.no_progress) -> dict:
    axes = solver.solve(graph, progress=progress)
    data = {
        "schema_version": SCHEMA_VERSION,
        "spec": {"name": graph.name, "file": graph.file},
        "input": list(graph.input_shape),
        "axes": [],
    }
    for axis in axes:
        entry = {
            "axis": axis.axis,
            "fixed": axis.fixed,
            "min_valid": axis.min_valid,
            "valid": ({"first": axis.min_valid, "period": axis.period, "residues": axis.valid_residues}
                      if axis.valid_residues is not None
                      else {"first": axis.min_valid, "period": 1, "residues": [0]} if axis.valid_checked
                      else {"first": axis.min_valid, "period": None, "residues": None}),
            "exact": {"first": axis.min_valid, "period": None if axis.unchecked else axis.period,
                      "residues": axis.exact_residues},
            "declared": [
                {"node": c.node, "type": c.type, "declared": c.declared, "min": c.low,
                 "max": None if c.high is None or c.high >= solver.LIMIT else c.high}
                for c in axis.constraints
            ],
            "text": solver.describe_axis(axis),
        }
        if near is not None:
            entry["near"] = {"target": near, **_near(axis, near)}
        data["axes"].append(entry)
    return data


#: the line under the title, by the input's rank
_VARIED = {2: "the length is varied",
           3: "each axis is varied with the other held at the size above",
           4: "each axis is varied with the others held at the sizes above"}


def _join(values: list[int]) -> str:
    return " or ".join(map(str, values)) if values else "none"


def render_sizes(graph: Graph, near: int | None, fmt: str = "text", progress=solver.no_progress) -> str:
    """The text or JSON report; ``progress(done, total, what)`` as :func:`solver.solve` takes it."""
    from tabulate import tabulate  # imported when a table is drawn

    data = sizes_to_dict(graph, near, progress)
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    shape = "x".join(map(str, graph.input_shape))
    lines = [f"{graph.name}: input {shape} ({graph.file})", _VARIED[len(graph.input_shape)], ""]
    keys: list[str] = []
    for axis in data["axes"]:
        for key in axis["text"]:
            if key not in keys:
                keys.append(key)
    headers = ["axis", *("exact (no border pixel dropped)" if k == "exact" else k for k in keys)]
    rows = []
    for axis in data["axes"]:
        fixed = ", ".join(f"{k} = {v}" for k, v in axis["fixed"].items())
        label = f"{axis['axis']} ({fixed})" if fixed else axis["axis"]
        rows.append([label, *(axis["text"].get(k, "-") for k in keys)])
    lines.append(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
    if near is not None:
        lines.append("")
        for axis in data["axes"]:
            found = axis["near"]
            lines.append(
                f"{axis['axis']} near {near}: valid {_join(found['valid'])}; "
                f"exact {_join(found['exact'])}; meets every declared size "
                f"{_join(found['satisfies_declared'])}; exact and meets them "
                f"{_join(found['exact_and_declared'])}"
            )
    return "\n".join(lines) + "\n"
