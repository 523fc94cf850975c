"""Rules about what the layers hold: where the parameters are, kernel sizes, biases,
normalisation and channel counts."""

from __future__ import annotations

from cnnspec.ir.graph import INPUT
from cnnspec.lint.context import Context, pct
from cnnspec.lint.rule import Finding, rule
from cnnspec.util.dims import prod, to_int
from cnnspec.util.units import count, ops


@rule("CNN101", "fc-params", "warning",
      "Fully-connected layers hold most of the parameters", fc_share=0.5)
def fc_params(ctx: Context):
    facts = ctx.analysis.facts
    if not any(ctx.is_conv(n) for n in ctx.graph.nodes):
        return  # a multi-layer perceptron: its parameters are all fully-connected by definition
    total = to_int(ctx.totals["params"]) or 0
    # a linear layer over every position of a map (ConvNeXt's channels-last blocks) is a 1x1 conv
    linears = [n for n in ctx.graph.nodes if n.layer.fully_connected and len(facts[n.name].inputs[0]) == 1]
    held = sum(to_int(facts[n.name].params) or 0 for n in linears)
    if not total or held / total < ctx.settings["fc_share"] or not linears:
        return
    biggest = max(linears, key=lambda n: to_int(facts[n.name].params) or 0)
    message = (f"fully-connected layers hold {pct(held, total)} of the parameters "
               f"({count(held)} of {count(total)}); {biggest.label} alone holds "
               f"{count(facts[biggest.name].params)}")
    data = {"fc_params": held, "params": total, "share": held / total, "largest": biggest.name}
    flat = next(((n, m) for n in linears if (m := _flattened_map(ctx, n)) is not None), None)
    outputs = ctx.to_output
    if flat is None and all(n.name in outputs for n in linears):
        return  # one classifier over pooled features: its size is the task's, nothing to trade
    if flat is None:
        yield Finding(biggest.name, message + ".",
                      "use fewer or narrower fully-connected layers, or end with a 1x1 conv and "
                      "global average pooling", data)
        return
    node, (channels, sizes) = flat
    weights = ctx.weights(node)
    saved = (weights.in_channels - channels) * weights.out_channels
    data.update({"flattened_node": node.name, "flattened_map": [channels, *sizes],
                 "gap_saving": saved})
    reader = "it" if node is biggest else node.label
    message += (f"; {reader} reads a flattened {'x'.join(map(str, (channels, *sizes)))} map "
                f"({weights.in_channels:,} inputs).")
    fix = (f"global average pooling before it (global_avgpool, then flatten) gives {node.label} "
           f"{channels:,} inputs instead of {weights.in_channels:,}: {count(saved)} fewer parameters "
           f"({pct(saved, total)} of the model)")
    yield Finding(node.name, message, fix, data)


def _flattened_map(ctx: Context, node):
    """(channels, spatial sizes) when the linear reads a flattened C x H x W map (H·W > 1; or
    C x L, C x D x H x W), through activations, dropout and other pass-through layers."""
    name = node.inputs[0]
    while name != INPUT:
        current = ctx.graph.node(name)
        inputs = ctx.inputs(current)
        out = ctx.output(name)
        if len(inputs) == 1 and 2 <= len(inputs[0]) <= 4 and len(out) == 1 and prod(inputs[0]) == out[0]:
            channels, *sizes = inputs[0]
            positions = prod(sizes)
            return (channels, tuple(sizes)) if isinstance(positions, int) and positions > 1 else None
        if not ctx.passes_through(current):
            return None
        name = current.inputs[0]
    return None


@rule("CNN102", "large-kernel", "warning",
      "A large kernel where stacked 3x3 convs see as far for fewer parameters", kernel_saving=0.25)
def large_kernel(ctx: Context):
    """Over 1-D inputs stacked 3-wide convs never save weights (3·(k−1)/2 > k): only 2-D and
    3-D kernels are found."""
    for node in ctx.graph.nodes:
        weights = ctx.weights(node)
        windows = ctx.windows(node)
        if (weights is None or windows is None or weights.transposed or not ctx.is_conv(node)
                or any(d != 1 for d in weights.dilation) or any(w.stride != 1 for w in windows)):
            continue
        k, rank = weights.kernel[0], len(weights.kernel)
        if any(other != k for other in weights.kernel) or k < 5 or k % 2 == 0:
            continue
        cin, cout, groups = weights.in_channels, weights.out_channels, weights.groups
        if groups > 1 and groups == cin:
            continue  # depthwise: cheap, and large depthwise kernels are a deliberate choice
        n = (k - 1) // 2
        wide = max(cin, cout)  # the stack never narrows below the wider end (no bottleneck)
        if cin <= cout:
            widths = [(cin, cout)] + [(cout, cout)] * (n - 1)
        else:
            widths = [(cin, cin)] * (n - 1) + [(cin, cout)]
        stacked = sum(3 ** rank * a * b // groups for a, b in widths)
        single = k ** rank * cin * cout // groups
        saving = 1 - stacked / single
        if saving < ctx.settings["kernel_saving"]:
            continue
        out = ctx.output(node.name)
        positions = prod(out[1:])
        chain = ", ".join(f"{a}->{b}" for a, b in widths)
        big, small = "x".join([str(k)] * rank), "x".join(["3"] * rank)
        yield Finding(
            node.name,
            f"{node.label}: a {big} conv ({cin}->{cout}{f', groups {groups}' if groups > 1 else ''}) "
            f"has {single:,} weights; {n} stacked {small} convs see the same {big} field with "
            f"{stacked:,} ({pct(single - stacked, single)} fewer) and {ops(positions * (single - stacked))} "
            f"fewer at its {'x'.join(map(str, out[1:]))} output",
            f"replace it with {n} {small} convs ({chain}, padding 1, with an activation between them), "
            f"which also adds depth; channels stay at least {wide} wide",
            {"kernel": k, "weights": single, "stacked_weights": stacked, "saving": saving,
             "macs_saved": positions * (single - stacked), "stack": [list(w) for w in widths]})


@rule("CNN104", "no-normalization", "warning",
      "A deep stack of convs with no normalisation between them", max_convs_without_norm=5)
def no_normalization(ctx: Context):
    runs = {INPUT: (0, None, None)}  # node -> (convs since the last norm, first conv, last conv)
    longest = (0, None, None)
    for node in ctx.graph.nodes:
        run = max((runs[s] for s in node.inputs), key=lambda r: r[0])
        if node.layer.normalizes:
            run = (0, None, None)
        elif ctx.is_conv(node):
            run = (run[0] + 1, run[1] or node.name, node.name)
        runs[node.name] = run
        if run[0] > longest[0]:
            longest = run
    limit = ctx.settings["max_convs_without_norm"]
    if longest[0] > limit:
        depth, first, last = longest
        yield Finding(
            first,
            f"{depth} convs in a row without normalisation ({first} ... {last}); deep stacks "
            "without it train slowly and need careful initialisation and learning rates",
            "add batchnorm2d after each conv (and give the conv bias: false), as VGG-16-BN and "
            "the ResNets do",
            {"convs": depth, "first": first, "last": last, "limit": limit})


@rule("CNN110", "bias-before-norm", "warning",
      "A conv or linear bias cancelled by the batch norm that follows")
def bias_before_norm(ctx: Context):
    for node in ctx.graph.nodes:
        weights = ctx.weights(node)
        readers = ctx.consumers.get(node.name, [])
        if weights is None or not weights.bias or not readers or node.name in ctx.graph.output_nodes():
            continue  # an output's bias is not cancelled in what the network returns
        norms = [ctx.graph.node(r) for r in readers]
        if all(r.layer.absorbs_bias for r in norms):
            channels = weights.out_channels
            yield Finding(
                node.name,
                f"{node.label} has a bias ({channels:,} parameters) that {norms[0].name} "
                f"({norms[0].type_name}) cancels: it subtracts the per-channel mean",
                "set bias: false on the layer", {"wasted_params": channels, "norm": norms[0].name})


@rule("CNN111", "even-kernel-same", "warning",
      "An even kernel with 'same' padding pads one side more than the other")
def even_kernel_same(ctx: Context):
    for node in ctx.graph.nodes:
        skew = node.layer.padding_skew()
        if any(skew):
            weights = ctx.weights(node)
            kernel = "x".join(map(str, weights.kernel)) if weights else "even"
            yield Finding(
                node.name,
                f"{node.label}: a {kernel} kernel with padding 'same' pads one pixel more after the "
                "input than before it, so its output is shifted by half a pixel",
                "use an odd kernel (3 or 5) with padding (k - 1) / 2, or give the padding explicitly",
                {"skew": list(skew)})


@rule("CNN113", "channel-alignment", "info",
      "Channel counts that are not multiples of 8 (tensor-core unfriendly)",
      channel_multiple=8, min_macs_share=0.01)
def channel_alignment(ctx: Context):
    multiple = ctx.settings["channel_multiple"]
    total = to_int(ctx.totals["macs"]) or 0
    for node in ctx.graph.nodes:
        weights = ctx.weights(node)
        if weights is None or multiple <= 1:
            continue
        macs = to_int(ctx.analysis.facts[node.name].macs) or 0
        if not total or macs / total < ctx.settings["min_macs_share"]:
            continue
        unit = "features" if node.layer.fully_connected else "channels"
        odd = []
        if node.inputs[0] not in ctx.from_input and weights.in_channels % multiple:
            odd.append(f"{weights.in_channels} input")
        if node.name not in ctx.to_output and weights.out_channels % multiple:
            odd.append(f"{weights.out_channels} output")
        counts = f"{' and '.join(odd)} {unit}" if odd else ""
        per_group = weights.in_channels // weights.groups
        if 1 < weights.groups < weights.in_channels and per_group % multiple:
            counts += (" and " if counts else "") + f"{per_group} {unit} per group"
        if counts:
            yield Finding(
                node.name,
                f"{node.label} has {counts}, not multiples of {multiple} "
                f"({pct(macs, total)} of the MACs); tensor cores (fp16, bf16) pad such matrices",
                f"round them to multiples of {multiple}",
                {"in": weights.in_channels, "out": weights.out_channels, "groups": weights.groups,
                 "macs_share": macs / total})
