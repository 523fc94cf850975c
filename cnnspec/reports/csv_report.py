"""The per-layer analysis as CSV, one row per node, for spreadsheets."""

from __future__ import annotations

import csv
import io

from cnnspec.reports.json_report import analysis_to_dict

COLUMNS = ("name", "type", "output_shape", "params", "trainable", "buffers", "macs", "flops",
           "elementwise_ops", "activation_bytes", "rf_size", "rf_jump", "rf_start", "rf_exact")


def render_csv(analysis) -> str:
    data = analysis_to_dict(analysis)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for layer in data["layers"]:
        rf = layer["receptive_field"] or {}
        writer.writerow([
            layer["name"], layer["type"], "x".join(map(str, layer["output_shape"])),
            layer["params"], str(layer["trainable"]).lower(), layer["buffers"], layer["macs"],
            layer["flops"], layer["elementwise_ops"], layer["activation_bytes"],
            *("x".join(map(str, rf[key])) if rf else "" for key in ("size", "jump", "start")),
            str(rf["exact"]).lower() if rf else "",
        ])
    return out.getvalue()
