"""Analyse one spec at two input resolutions with the library API and compare the costs.

    python examples/compare_resolutions.py specs/vgg16.yaml 224 448
"""

from __future__ import annotations

import sys
from pathlib import Path

import cnnspec
from cnnspec.util import units

ROOT = Path(__file__).resolve().parent.parent


def compare(spec_path: str, low: int, high: int) -> str:
    graph = cnnspec.load_spec(spec_path)
    channels = graph.input_shape[0]
    results = {size: cnnspec.analyze(graph, (channels, size, size)) for size in (low, high)}
    lines = [f"{graph.name}: {low}x{low} vs {high}x{high}"]
    rows = [
        ("params", "params", units.count),
        ("MACs", "macs", lambda v: units.ops(v, "MACs")),
        ("peak activations", "peak_activation_bytes", units.nbytes),
    ]
    for label, key, fmt in rows:
        a, b = (results[s].totals()[key] for s in (low, high))
        ratio = f"x{b / a:.2f}" if a else "-"
        lines.append(f"  {label:<17} {fmt(a):>12} -> {fmt(b):>12}  {ratio}")
    last = graph.output
    shape_a, shape_b = (results[s].facts[last].output for s in (low, high))
    lines.append(f"  output shape      {shape_a} -> {shape_b}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    spec = argv[1] if len(argv) > 1 else str(ROOT / "specs" / "vgg16.yaml")
    low = int(argv[2]) if len(argv) > 2 else 224
    high = int(argv[3]) if len(argv) > 3 else 448
    try:
        print(compare(spec, low, high))
    except cnnspec.CnnspecError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
