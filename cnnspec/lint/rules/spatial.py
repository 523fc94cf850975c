"""Rules about how the feature maps shrink: padding, strides, pooling and border pixels."""

from __future__ import annotations

import math

from cnnspec.ir.graph import INPUT
from cnnspec.lint.context import Context, hw, pct
from cnnspec.lint.rule import Finding, rule


@rule("CNN103", "unpadded-shrink", "warning",
      "Convs without padding shrinking the maps layer after layer", unpadded_run=2)
def unpadded_shrink(ctx: Context):
    runs: dict = {}
    for node in ctx.graph.nodes:
        windows = ctx.windows(node)
        weights = ctx.weights(node)
        if (weights is not None and windows is not None and not weights.transposed
                and all(w.stride == 1 and w.padding == 0 for w in windows)
                and any(w.kernel > 1 for w in windows)):
            runs[node.name] = [*runs.get(node.inputs[0], []), node.name]
        elif ctx.passes_through(node) and node.inputs[0] in runs:
            runs[node.name] = runs[node.inputs[0]]
    extended = {tuple(run[:-1]) for run in runs.values()}
    seen = set()
    for run in runs.values():
        key = tuple(run)
        if key in seen or key in extended or len(run) < ctx.settings["unpadded_run"]:
            continue
        seen.add(key)
        first, last = ctx.graph.node(run[0]), run[-1]
        before, after = ctx.inputs(first)[0], ctx.output(last)
        area = math.prod(before[1:])
        lost = area - math.prod(after[1:])
        yield Finding(
            run[0],
            f"{len(run)} convs without padding in a row ({', '.join(run)}) shrink the map from "
            f"{hw(before)} to {hw(after)}: {pct(lost, area)} of the positions lost at the borders",
            "pad each conv by (kernel - 1) / 2 (padding: 1 for 3x3, or padding: same) to keep the "
            "size, and downsample on purpose with pooling or a stride",
            {"convs": run, "before": list(before[1:]), "after": list(after[1:]), "lost_share": lost / area})


def _read_share(w) -> float:
    """The share of positions along an axis that some tap reads: tap j of every window reads
    positions ≡ j·dilation (mod stride), so it is the number of distinct residues over the
    stride (min(kernel, stride) / stride without dilation). The residues j·dilation repeat
    every stride / gcd(dilation, stride) taps, so there are min(taps, that) of them."""
    return min(w.taps, w.stride // math.gcd(w.dilation, w.stride)) / w.stride


def _skipping(windows) -> bool:
    return any(_read_share(w) < 1 for w in windows)


def _covered_by_sibling(ctx: Context, node, axis_check) -> bool:
    """Does another reader of the same tensor read what this node leaves out? (ResNet's 1x1
    stride-2 projection shortcut beside a main path that reads every pixel.)"""
    for sibling in ctx.siblings(node):
        windows = ctx.windows(sibling)
        if windows is None:
            if sibling.layer.receptive_field(ctx.inputs(sibling)) is None:
                return True  # point-wise: reads every pixel
            continue
        if axis_check(windows):
            return True
    return False


@rule("CNN105", "skipped-pixels", "warning",
      "Pooling or striding that never reads some input pixels (stride > kernel)")
def skipped_pixels(ctx: Context):
    for node in ctx.graph.nodes:
        windows = ctx.windows(node)
        if windows is None or not _skipping(windows):
            continue
        if _covered_by_sibling(ctx, node, lambda ws: not _skipping(ws)):
            continue
        read = 1.0
        for w in windows:
            read *= _read_share(w)
        kernel = "x".join(str(w.taps) for w in windows)
        if any(w.dilation > 1 for w in windows):
            kernel += " (dilation " + "x".join(str(w.dilation) for w in windows) + ")"
        stride = "x".join(str(w.stride) for w in windows)
        shape = ctx.inputs(node)[0]
        yield Finding(
            node.name,
            f"{node.label}: a {kernel} window with stride {stride} never reads "
            f"{pct(1 - read, 1)} of its {hw(shape)} input",
            ("use a dilation that shares no factor with the stride (1 or 3 for stride 2), or put the "
             "stride on a layer without dilation") if any(w.dilation > 1 for w in windows) else
            ("make the kernel at least as large as the stride (for stride 2, a 3x3 window with "
             "padding 1 also keeps its centres on those of other stride-2 paths)"),
            {"kernel": [w.taps for w in windows], "stride": [w.stride for w in windows],
             "dilation": [w.dilation for w in windows], "unread_share": 1 - read})


@rule("CNN106", "aggressive-downsampling", "info",
      "One layer downsamples by more than the largest stride allowed", max_stride=2)
def aggressive_downsampling(ctx: Context):
    limit = ctx.settings["max_stride"]
    for node in ctx.graph.nodes:
        windows = ctx.windows(node)
        if windows is None or all(w.stride <= limit for w in windows):
            continue
        before, after = ctx.inputs(node)[0], ctx.output(node.name)
        if all(w.kernel - w.padding >= size for w, size in zip(windows, before[1:])):
            continue  # its first window reads the whole map: a global pool written as avgpool2d: 7
        factor = 1
        for w in windows:
            factor *= w.stride
        stride = "x".join(str(w.stride) for w in windows)
        yield Finding(
            node.name,
            f"{node.label} downsamples by {stride} in one step ({hw(before)} -> {hw(after)}, "
            f"{factor}x fewer positions); details smaller than the stride alias",
            f"downsample in steps of at most {limit} (e.g. a stride-2 conv, then a stride-2 pool)",
            {"stride": [w.stride for w in windows], "factor": factor})


@rule("CNN107", "spatial-collapse", "warning",
      "Maps shrink below the window of a later layer before the last stage")
def spatial_collapse(ctx: Context):
    offenders = []
    for node in ctx.graph.nodes:
        windows = ctx.windows(node)
        if windows is None:
            continue
        shape = ctx.inputs(node)[0]
        if any(size < w.kernel for size, w in zip(shape[1:], windows)):
            offenders.append(node)
    if not offenders:
        return
    node = offenders[0]
    shape = ctx.inputs(node)[0]
    windows = ctx.windows(node)
    kernel = "x".join(str(w.kernel) for w in windows)
    if any(w.dilation > 1 for w in windows):
        kernel += f" (taps {'x'.join(str(w.taps) for w in windows)} with dilation " \
                  f"{'x'.join(str(w.dilation) for w in windows)})"
    origin = _where_shrunk(ctx, node.inputs[0], shape[1:])
    taps = math.prod(w.taps for w in windows)
    # along an axis of n positions at most (n - 1) // dilation + 1 taps land on the map at once
    real = 1
    for size, w in zip(shape[1:], windows):
        real *= min(w.taps, (size - 1) // w.dilation + 1)
    others = len(offenders) - 1
    more = f"; {others} more layer{'s' if others != 1 else ''} after it too" if others else ""
    where = "" if origin is None else f" (the map became {hw(shape)} at {origin})"
    yield Finding(
        node.name,
        f"{node.label} slides a {kernel} window over a {hw(shape)} map{where}: at most {real} of its "
        f"{taps} taps see the map, the rest read padding{more}",
        "downsample less (drop a pool or a stride), or feed a larger input (cnnspec sizes SPEC "
        "lists the sizes that fit)",
        {"node": node.name, "map": list(shape[1:]), "kernel": [w.kernel for w in windows],
         "layers": [n.name for n in offenders]})


def _where_shrunk(ctx: Context, name: str, size) -> str | None:
    """The first node along the path back whose output already had this size."""
    found = None
    while name != INPUT:
        out = ctx.output(name)
        if len(out) != len(size) + 1 or tuple(out[1:]) != tuple(size):
            break
        found = name
        name = ctx.graph.node(name).inputs[0]
    return found


@rule("CNN109", "dropped-border", "warning",
      "Border pixels silently dropped because a stride does not divide the size exactly")
def dropped_border(ctx: Context):
    for node in ctx.graph.nodes:
        windows = ctx.windows(node)
        if windows is None or any(w.ceil for w in windows):
            continue
        shape = ctx.inputs(node)[0]
        # an axis whose stride exceeds its kernel leaves gaps everywhere, not just at the end:
        # CNN105 reports it, so the rows it cannot reach at the end are not counted twice here
        dropped = [0 if _read_share(w) < 1 else max(0, (n + 2 * w.padding - w.kernel) % w.stride - w.padding)
                   for n, w in zip(shape[1:], windows)]
        if not any(dropped):
            continue
        if _covered_by_sibling(ctx, node, lambda ws, s=shape: _reads_to_edge(ws, s)):
            continue
        names = {1: ("position",), 3: ("frame", "row", "column")}.get(len(windows), ("row", "column"))
        parts = [f"{d} {what}{'s' if d > 1 else ''}" for d, what in zip(dropped, names) if d]
        yield Finding(
            node.name,
            f"{node.label} never reads the last {' and '.join(parts)} of its {hw(shape)} input: "
            f"its stride does not divide the padded size",
            "choose an input size that divides exactly (cnnspec sizes SPEC lists them), pad so that "
            "it does, or use ceil_mode: true on a pooling layer",
            {"dropped": dropped, "input": list(shape[1:])})


def _reads_to_edge(windows, shape) -> bool:
    return all((n + 2 * w.padding - w.kernel) % w.stride <= w.padding and _read_share(w) == 1
               for n, w in zip(shape[1:], windows))
