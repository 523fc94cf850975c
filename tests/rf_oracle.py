"""An independent receptive-field oracle for tests/test_rf_oracle.py.

A *program* is a list of :class:`Op` (a name, a spec layer type, spec attributes, input
names). It is rendered as spec YAML for cnnspec, and translated to PyTorch by this module's
own code (plain ``torch.nn.functional`` calls, not cnnspec's builder, emitter or torch
modules), already linearised: weights and biases positive, activations and batch norm as
identities, max pooling as average pooling, softmax as a positive average along its dim;
biases are positive (1) so that a unit reading only padding is a non-zero constant.
With an all-ones input every path from a pixel to a unit then carries a positive weight, so
a unit depends on a pixel exactly when the pixel's gradient is non-zero.

:func:`measure` returns, for every node and every unit (all of them up to a few hundred per
node, else every border unit and a lattice of inner ones), the first and last input pixel
per axis it depends on, and the pixels the node depends on at all (its reach). A unit of a
(C, H, W) node is a position (i, j), all channels together. An element of a node without
spatial axes belongs to the position it was flattened from, tracked here from the tensors
(a flatten reshapes the positions; a linear or softmax that mixes a dim loses the positions
varying along it, marked -1 = "any unit": the field must not depend on it).

:func:`predict` is the documented meaning of an exact field (docs/conventions.md): unit i's
interval [start + i·jump − (size−1)/2, start + i·jump + (size−1)/2] per axis, cut to the
pixels the node depends on; the unit depends on the first to the last of them, or on
nothing when an axis has none.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import torch
import torch.nn.functional as F

ANY = -1  # a position lost by a layer mixing its dim: any unit index gives the field
CLASH = -2  # elements of different positions combined (a merge of different grids)
ALL_UNITS = 400  # nodes with at most this many units are checked unit by unit


@dataclass
class Op:
    name: str
    kind: str
    inputs: tuple
    args: dict = field(default_factory=dict)


def _yaml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    return str(value)


def render(program: list, input_shape: tuple) -> str:
    """The program as a cnnspec spec."""
    lines = ["name: oracle", f"input: {_yaml_value(list(input_shape))}", "layers:"]
    for op in program:
        items = dict(op.args)
        items["name"] = op.name
        items["from"] = op.inputs[0] if len(op.inputs) == 1 else list(op.inputs)
        body = ", ".join(f"{k}: {_yaml_value(v)}" for k, v in items.items())
        lines.append(f"  - {op.kind}: {{{body}}}")
    return "\n".join(lines) + "\n"


def _pair(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value, value)


def _bias(n: int, like):
    """Positive biases, as a real network has: a unit that reads only padding is a constant,
    and a product with it (a gate) still depends on the other factor."""
    return torch.ones(n, dtype=like.dtype)


def run_op(op: Op, xs: list):
    """The linearised op on batched tensors (float64)."""
    a = op.args
    x = xs[0]
    if op.kind == "conv2d":
        kernel = _pair(a["kernel"])
        w = torch.ones(a["out"], x.shape[1], *kernel, dtype=x.dtype) / (x.shape[1] * kernel[0] * kernel[1])
        padding = a.get("padding", 0)
        padding = padding if isinstance(padding, str) else _pair(padding)
        return F.conv2d(x, w, _bias(a["out"], x), _pair(a.get("stride", 1)), padding,
                        _pair(a.get("dilation", 1)))
    if op.kind == "conv_transpose2d":
        kernel = _pair(a["kernel"])
        w = torch.ones(x.shape[1], a["out"], *kernel, dtype=x.dtype) / (x.shape[1] * kernel[0] * kernel[1])
        return F.conv_transpose2d(x, w, _bias(a["out"], x), _pair(a.get("stride", 1)),
                                  _pair(a.get("padding", 0)), _pair(a.get("output_padding", 0)), 1,
                                  _pair(a.get("dilation", 1)))
    if op.kind in ("maxpool2d", "avgpool2d"):
        kernel, stride = _pair(a["kernel"]), _pair(a.get("stride", a["kernel"]))
        padding, dilation = _pair(a.get("padding", 0)), _pair(a.get("dilation", 1))
        if dilation != (1, 1):  # a dilated window: its averaging (depthwise) convolution
            c = x.shape[1]
            w = torch.ones(c, 1, *kernel, dtype=x.dtype) / (kernel[0] * kernel[1])
            return F.conv2d(x, w, None, stride, padding, dilation, groups=c)
        return F.avg_pool2d(x, kernel, stride, padding, a.get("ceil_mode", False),
                            a.get("count_include_pad", True))
    if op.kind in ("adaptive_avgpool2d", "adaptive_maxpool2d"):
        size = a["output_size"]
        return F.adaptive_avg_pool2d(x, tuple(size) if isinstance(size, list) else size)
    if op.kind in ("global_avgpool", "global_maxpool"):
        return F.adaptive_avg_pool2d(x, 1)
    if op.kind == "upsample":
        kwargs = {"mode": a.get("mode", "nearest")}
        if "size" in a:
            kwargs["size"] = tuple(_pair(a["size"]))
        else:
            kwargs["scale_factor"] = float(a["scale"])
        if kwargs["mode"] == "bilinear":
            kwargs["align_corners"] = a.get("align_corners", False)
        return F.interpolate(x, **kwargs)
    if op.kind == "flatten":
        return torch.flatten(x, a.get("start_dim", 1), a.get("end_dim", -1))
    if op.kind == "linear":
        w = torch.ones(a["out"], x.shape[-1], dtype=x.dtype) / x.shape[-1]
        return x @ w.T + _bias(a["out"], x)
    if op.kind == "softmax":
        return x + x.mean(a.get("dim", 1), keepdim=True)
    if op.kind in ("relu", "sigmoid", "batchnorm2d", "dropout", "identity"):
        return x
    if op.kind == "add":
        out = xs[0]
        for other in xs[1:]:
            out = out + other
        return out
    if op.kind == "mul":
        out = xs[0]
        for other in xs[1:]:
            out = out * other
        return out
    if op.kind == "concat":
        return torch.cat(xs, a.get("dim", 1))
    raise ValueError(op.kind)


def forward(program: list, x, upto: str | None = None) -> dict:
    """Every node's output; with ``upto``, only that node's and its ancestors'."""
    needed = None
    if upto is not None:
        needed, inputs = {upto}, {op.name: op.inputs for op in program}
        for op in reversed(program):
            if op.name in needed:
                needed.update(inputs[op.name])
    values = {"input": x}
    for op in program:
        if needed is None or op.name in needed:
            values[op.name] = run_op(op, [values[s] for s in op.inputs])
    return values


# --------------------------------------------------------------------------- positions


def _natural(shape: tuple) -> tuple:
    c, h, w = shape
    rows = torch.arange(h).view(1, h, 1).expand(c, h, w)
    cols = torch.arange(w).view(1, 1, w).expand(c, h, w)
    return rows.clone(), cols.clone()


def _lose(maps: tuple, dim: int) -> tuple:
    """Positions varying along ``dim`` (per-sample) are lost: every element there is ANY."""
    out = []
    for m in maps:
        varies = (m != m.select(dim, 0).unsqueeze(dim)).any()
        out.append(torch.full_like(m, ANY) if varies else m)
    return tuple(out)


def positions(program: list, shapes: dict, input_shape: tuple) -> dict:
    """{node: (rows, cols)}: per element of the node's per-sample output, the unit it belongs to."""
    maps = {"input": _natural(input_shape)}
    for op in program:
        shape = shapes[op.name]
        ins = [maps[s] for s in op.inputs]
        a = op.args
        if len(shape) == 3 and op.kind not in ("softmax", "linear", "add", "mul", "concat"):
            maps[op.name] = _natural(shape)
        elif op.kind == "flatten":
            start, end = a.get("start_dim", 1), a.get("end_dim", -1)
            maps[op.name] = tuple(torch.flatten(m.unsqueeze(0), start, end)[0] for m in ins[0])
        elif op.kind == "linear":
            last = len(shape) - 1
            lost = _lose(ins[0], last)
            maps[op.name] = tuple(m.select(last, 0).unsqueeze(last).expand(*shape).clone() for m in lost)
        elif op.kind == "softmax":
            dim = a.get("dim", 1) % (len(shape) + 1) - 1
            maps[op.name] = ins[0] if dim < 0 else _lose(ins[0], dim)
        elif op.kind in ("add", "mul"):
            joined = []
            for axis in (0, 1):  # an element combines the elements at its index: one position,
                parts = torch.broadcast_tensors(*(m[axis] for m in ins))  # or ANY with one, or a clash
                out = parts[0]
                for p in parts[1:]:
                    mixed = torch.where(out == ANY, p, torch.where(p == ANY, out, out))
                    clash = (out != p) & (out != ANY) & (p != ANY)
                    out = torch.where(clash, torch.full_like(out, CLASH), mixed)
                joined.append(out)
            if len(shape) == 3:  # a (C, H, W) merge: its own grid (the inputs' agree or broadcast)
                joined = list(_natural(shape))
            maps[op.name] = tuple(joined)
        elif op.kind == "concat":
            dim = a.get("dim", 1) % (len(shape) + 1) - 1
            if len(shape) == 3:
                maps[op.name] = _natural(shape)
            else:
                maps[op.name] = tuple(torch.cat([m[axis] for m in ins], dim) for axis in (0, 1))
        else:  # point-wise
            maps[op.name] = ins[0]
    return maps


# --------------------------------------------------------------------------- measuring


def _units(shape: tuple, maps: tuple) -> list:
    """[(unit key (row, col), element mask)] for one node."""
    if len(shape) == 3:
        _, h, w = shape
        keys = [(i, j) for i in range(h) for j in range(w)]
        if len(keys) > ALL_UNITS:  # every border unit, and inner ones on a lattice
            keys = [(i, j) for i, j in keys
                    if i in (0, 1, h - 2, h - 1) or j in (0, 1, w - 2, w - 1) or (i % 3 == 1 and j % 3 == 1)]
        units = []
        for i, j in keys:
            mask = torch.zeros(shape, dtype=torch.float64)
            mask[:, i, j] = 1
            units.append(((i, j), mask))
        return units
    rows, cols = maps
    keys = sorted(set(zip(rows.flatten().tolist(), cols.flatten().tolist())))
    return [((r, c), ((rows == r) & (cols == c)).to(torch.float64)) for r, c in keys]


def measure(program: list, input_shape: tuple, names: list) -> dict:
    """{node: {"units": [(key, box or None)], "reach": [set of pixels per axis]}}, measured
    from gradients: per node one batched backward pass, one sample per unit and one for the
    node's reach."""
    shapes = {n: tuple(v.shape[1:]) for n, v in
              forward(program, torch.ones(1, *input_shape, dtype=torch.float64)).items()}
    maps = positions(program, shapes, input_shape)
    result = {}
    for name in names:  # one batch per node, through its ancestors only
        plan = [(None, torch.ones(shapes[name], dtype=torch.float64))]  # first: the reach
        plan.extend(_units(shapes[name], maps[name]))
        x = torch.ones(len(plan), *input_shape, dtype=torch.float64, requires_grad=True)
        out = forward(program, x, upto=name)[name]
        (out * torch.stack([mask for _, mask in plan])).sum().backward()
        grad = x.grad.abs().sum(1) > 0  # (samples, H, W): the pixels each sample's unit depends on
        spans = []
        for axis in (0, 1):  # per sample, the first and last row (column) with such a pixel
            lines = grad.any(2 - axis)  # (samples, rows) or (samples, columns)
            count = lines.shape[1]
            first = lines.int().argmax(1)
            last = count - 1 - lines.flip(1).int().argmax(1)
            spans.append((first.tolist(), last.tolist(), lines.any(1).tolist()))
        found = {"units": [], "reach": None, "shape": shapes[name]}
        for k, (key, _) in enumerate(plan):
            if key is None:
                found["reach"] = [set(grad[k].any(1 - a).nonzero().flatten().tolist()) for a in (0, 1)]
            elif not spans[0][2][k]:
                found["units"].append((key, None))
            else:
                found["units"].append((key, tuple((spans[a][0][k], spans[a][1][k]) for a in (0, 1))))
        result[name] = found
    return result


class Predictor:
    """:func:`predict` for every unit of one node, each axis's answer worked out once."""

    def __init__(self, rf, reach: list):
        self.rf, self.reach = rf, reach
        self.cache: dict = {}

    def __call__(self, key: tuple, pixels: bool = False):
        box = []
        for axis, index in enumerate(key):
            answer = self.cache.get((axis, index, pixels))
            if answer is None:
                answer = _axis(self.rf[axis], index, self.reach[axis], pixels)
                self.cache[(axis, index, pixels)] = answer
            if answer == ():
                return None
            box.append(answer)
        return tuple(box)


def _axis(r, index, reach: set, pixels: bool):
    """predict() along one axis: (first, last), or () for none."""
    if index == ANY:
        index = 0
    centre = Fraction(r.start) + index * Fraction(r.jump)
    half = Fraction(r.size - 1, 2)
    low, high = math.ceil(centre - half), math.floor(centre + half)
    if not reach:
        return ()
    if pixels:
        inside = [p for p in reach if low <= p <= high]
        return (min(inside), max(inside)) if inside else ()
    low, high = max(low, min(reach)), min(high, max(reach))
    return (low, high) if low <= high else ()


def predict(rf, key: tuple, reach: list, pixels: bool = False):
    """The field an exact ``rf`` promises for the unit ``key``: per axis its interval cut to
    the span of pixels the node depends on at all (first to last); None when an axis has no
    pixel left (the unit depends on nothing). With ``pixels``, cut to those pixels themselves
    (the same for an exact field, where the interval's ends inside the span are always read)."""
    return Predictor(rf, reach)(key, pixels)
