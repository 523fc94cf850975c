"""The analysis as JSON (a versioned, documented schema: see docs/output.md)."""

from __future__ import annotations

import json

from cnnspec.ir.facts import CONVENTIONS, SCHEMA_VERSION, Analysis
from cnnspec.passes.rf_geometry import axis_names
from cnnspec.util import dims
from cnnspec.version import __version__


def _shape(analysis: Analysis, shape) -> list:
    return [analysis.batch, *(dims.to_json(d) for d in shape)]


def rf_json(facts) -> dict | None:
    """A node's receptive field for JSON: size, jump and start as per-axis lists, whether it
    is exact (docs/conventions.md says what that promises) and, when not, why."""
    if not facts.rf:
        return None
    axes = [rf.to_json() for rf in facts.rf]
    field = {key: [axis[key] for axis in axes] for key in ("size", "jump", "start")}
    field["exact"] = all(axis["exact"] for axis in axes)
    field["reason"] = rf_reason(facts.rf)
    return field


def rf_reason(fields) -> str | None:
    """Why a field is not exact: the first cause on each axis (once when they agree)."""
    reasons = [(axis, rf.reason) for axis, rf in zip(axis_names(len(fields)), fields) if not rf.exact]
    distinct = list(dict.fromkeys(r for _, r in reasons))
    if not distinct:
        return None
    if len(distinct) == 1:
        return distinct[0]
    return "; ".join(f"{axis}: {reason}" for axis, reason in reasons)


def analysis_to_dict(analysis: Analysis) -> dict:
    graph = analysis.graph
    totals = analysis.totals()
    layers = []
    for node in graph.nodes:
        f = analysis.facts[node.name]
        layers.append({
            "name": node.name,
            "type": node.type_name,
            "inputs": list(node.inputs),
            "output_shape": _shape(analysis, f.output),
            "params": dims.to_json(f.params),
            "trainable": f.trainable,
            "buffers": dims.to_json(f.buffers),
            "macs": dims.to_json(f.macs),
            "flops": dims.to_json(f.flops),
            "elementwise_ops": dims.to_json(f.elementwise_ops),
            "activation_bytes": dims.to_json(f.activation_bytes),
            "receptive_field": rf_json(f),
            "line": node.pos.line,
        })
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": f"cnnspec {__version__}",
        "spec": {"name": graph.name, "file": graph.file},
        "input": [dims.to_json(d) for d in analysis.input_shape],
        "batch": analysis.batch,
        "dtype": analysis.dtype,
        "vars": graph.vars,
        "conventions": CONVENTIONS,
        "layers": layers,
        "totals": {
            **{k: dims.to_json(v) for k, v in totals.items() if k != "output_shape"},
            "output_shape": _shape(analysis, totals["output_shape"]),
            **_outputs(analysis),
            "peak_at": analysis.peak_node,
        },
        "merge_alignment": analysis.merge_alignment,
        "assumptions": analysis.assumptions,
    }


def _outputs(analysis: Analysis) -> dict:
    """``outputs``, only for a spec naming its outputs: each one's node and shape."""
    if not analysis.graph.outputs:
        return {}
    return {"outputs": {name: {"node": node, "shape": _shape(analysis, shape)}
                        for name, node, shape in analysis.output_shapes()}}


def render_json(analysis: Analysis) -> str:
    return json.dumps(analysis_to_dict(analysis), indent=2, default=str) + "\n"
