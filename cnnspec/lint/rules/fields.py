"""Rules about what the network sees: receptive-field coverage, aligned merges, and the
input's normalisation."""

from __future__ import annotations

import math

from cnnspec.ir.facts import to_number
from cnnspec.ir.graph import INPUT
from cnnspec.lint.context import Context
from cnnspec.lint.rule import Finding, rule
from cnnspec.passes.receptive_field import local_fields


def _share(size: int, target: int) -> float:
    """min(1, size / target), for sizes of any magnitude (no float overflow)."""
    return 1.0 if size >= target else size / target


@rule("CNN108", "rf-coverage", "warning",
      "The final receptive field does not cover the input (or a declared object size)",
      object_size=(0, 0), rf_coverage=1.0)
def rf_coverage(ctx: Context):
    """Over every spatial axis of the input: (L), (H, W) or (D, H, W). A declared object size
    of one number holds for every axis; a [height, width] one, over a (C, D, H, W) input, for
    the last two (the depth is the input's)."""
    axes = len(ctx.analysis.input_shape) - 1
    if axes < 1:
        return
    declared = any(ctx.settings["object_size"])
    target = _target(tuple(ctx.settings["object_size"]), tuple(ctx.analysis.input_shape[1:]))
    if target is None:
        return
    best = None  # the node whose units see the most, before positions are mixed
    for name, rf in local_fields(ctx.graph, ctx.analysis).items():
        if not all(isinstance(a.size, int) and a.jump != 0 for a in rf):
            continue
        if best is None or math.prod(a.size for a in rf) > math.prod(a.size for a in best[1]):
            best = (ctx.graph.node(name), rf)
    if best is None:
        return
    node, rf = best
    sizes = tuple(a.size for a in rf)
    exact = all(a.exact for a in rf)
    covered = math.prod(_share(size, t) for size, t in zip(sizes, target))
    if covered >= ctx.settings["rf_coverage"]:
        return
    shown = "x".join(map(str, target))
    what = f"the declared object size {shown}" if declared else f"the {shown} input"
    yield Finding(
        node.name,
        f"the largest receptive field, at {node.label}, is {'' if exact else '~'}{'x'.join(map(str, sizes))}"
        f"{'' if exact else ' (an approximation)'}: no unit sees all of {what} (it covers "
        f"{100 * covered:.0f}% of its {'area' if axes == 2 else 'extent' if axes == 1 else 'volume'})",
        "add layers or downsampling before the head (a 3x3 conv adds 2 x the jump to the field, a "
        "stride multiplies the jump), or declare the objects' size: lint: {thresholds: {object_size: N}}",
        {"rf": list(sizes), "target": list(target), "node": node.name, "declared": declared,
         "covered": covered, "exact": exact})


def _target(declared: tuple, extent: tuple) -> tuple | None:
    """What the field should cover per axis: the declared object size or the input."""
    if not any(declared):
        return extent
    if len(set(declared)) == 1:
        return (declared[0],) * len(extent)
    if len(declared) == len(extent):
        return declared
    if len(extent) == 3:  # [height, width] of a (D, H, W) input
        return (extent[0], *declared)
    return None  # [height, width] over a (C, L) input: not this input's axes


@rule("CNN112", "misaligned-merge", "warning",
      "A merge of inputs whose receptive fields have different centres or jumps", merge_offset=0.0)
def misaligned_merge(ctx: Context):
    """Offsets are judged in units of the merged map (input pixels / jump): half a unit is the
    same half-position whatever the stage's stride."""
    by_node: dict = {}
    tolerance = ctx.settings["merge_offset"]
    for item in ctx.analysis.merge_alignment:
        jumps, offset = item["jumps"], item["offset"]
        units = offset / jumps[0] if offset is not None and jumps[0] else None
        if len(set(jumps)) > 1 or units is None or units > tolerance:
            by_node.setdefault(item["node"], []).append({**item, "units": units})
    for name, items in by_node.items():
        node = ctx.graph.node(name)
        axes = "".join(i["axis"] for i in items)
        first = items[0]
        jumps, offset, units = first["jumps"], first["offset"], first["units"]
        detail = []
        if len(set(jumps)) > 1:
            detail.append(f"jumps {' vs '.join(map(str, jumps))}")
        elif offset:
            pixels = "pixel" if offset == 1 else "pixels"
            detail.append(f"centres {offset:g} input {pixels} apart ({units:g} of a unit at jump {jumps[0]})")
        exact = all(axis.exact for src in node.inputs
                    for axis in (ctx.analysis.facts[src].rf or ()) if src in ctx.analysis.facts)
        yield Finding(
            name,
            f"{node.label} merges inputs ({', '.join(node.inputs)}) whose receptive fields are "
            f"misaligned on {' and '.join(axes)}: {', '.join(detail) or 'different positions'}"
            + ("" if exact else " (an upsampling path makes the positions approximate)"),
            "give every path the same total stride and windows centred alike (odd kernels with "
            "padding (k - 1) / 2 on every path); where a small offset is accepted (ResNet-D's "
            "average-pooled shortcut is a quarter unit off), set thresholds: {merge_offset: 0.25}",
            {"axes": list(axes), "jumps": jumps, "starts": first["starts"], "offset": offset,
             "offset_units": units})


@rule("CNN114", "no-input-normalization", "warning", "No input normalisation declared")
def no_input_normalization(ctx: Context):
    if ctx.graph.normalize is not None:
        return
    channels = ctx.analysis.input_shape[0]
    first = [n for n in ctx.graph.nodes if INPUT in n.inputs]
    if first and all(n.layer.normalizes for n in first):
        return  # the network normalises its input itself
    example = ("{mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}  # ImageNet"
               if channels == 3 else "{mean: [0.1307], std: [0.3081]}  # MNIST"
               if channels == 1 else "{mean: [...], std: [...]}")
    what = "channel" if len(ctx.analysis.input_shape) >= 2 else "feature"
    yield Finding(
        None,
        f"the spec declares no input normalisation for its {to_number(channels)}-{what} input: "
        + ("raw pixel values (0-255, or 0-1) slow training and make the first layer's scale arbitrary"
           if what == "channel" else
           "unscaled inputs slow training and make the first layer's scale arbitrary"),
        f"declare the per-channel mean and standard deviation the inputs are normalised with: "
        f"normalize: {example}", {"channels": to_number(channels)})
