"""``cnnspec import``: trace an ``nn.Module`` with torch.fx and write the spec for it (imports
torch).

Every module call becomes a layer named by its module path (``layer1.0.conv1``), nested in
``sequential`` groups that follow the module tree, so a model built from the spec has the same
state_dict keys. Tensor operations between modules (``x + y``, ``torch.cat``, ``torch.flatten``,
functional activations) become layers of their own. A node reading anything but the previous
item says so with ``from``. Anything cnnspec has no layer for is an error naming it.
"""

from __future__ import annotations

import importlib
import operator
import re
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import fx, nn

from .errors import UsageError


def _pair(value):
    return list(value) if isinstance(value, (tuple, list)) and value[0] != value[1] else (
        value[0] if isinstance(value, (tuple, list)) else value)


def _conv(m: nn.Conv2d) -> tuple[str, dict]:
    if m.padding_mode != "zeros":
        raise UsageError(f"Conv2d with padding_mode={m.padding_mode!r} is not supported")
    attrs = {"out": m.out_channels, "kernel": _pair(m.kernel_size), "in": m.in_channels}
    if _pair(m.stride) != 1:
        attrs["stride"] = _pair(m.stride)
    padding = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    if padding != 0:
        attrs["padding"] = padding
    if _pair(m.dilation) != 1:
        attrs["dilation"] = _pair(m.dilation)
    if m.groups != 1:
        attrs["groups"] = m.groups
    if m.bias is None:
        attrs["bias"] = False
    if isinstance(m, nn.ConvTranspose2d):
        if _pair(m.output_padding) != 0:
            attrs["output_padding"] = _pair(m.output_padding)
        return "conv_transpose2d", attrs
    return "conv2d", attrs


def _pool(m) -> tuple[str, dict]:
    attrs = {"kernel": _pair(m.kernel_size)}
    if m.stride is not None and _pair(m.stride) != _pair(m.kernel_size):
        attrs["stride"] = _pair(m.stride)
    if _pair(m.padding) != 0:
        attrs["padding"] = _pair(m.padding)
    if m.ceil_mode:
        attrs["ceil_mode"] = True
    if isinstance(m, nn.MaxPool2d):
        if m.return_indices:
            raise UsageError("MaxPool2d(return_indices=True) is not supported")
        if _pair(m.dilation) != 1:
            attrs["dilation"] = _pair(m.dilation)
        return "maxpool2d", attrs
    if not m.count_include_pad:
        attrs["count_include_pad"] = False
    if m.divisor_override is not None:
        attrs["divisor_override"] = m.divisor_override
    return "avgpool2d", attrs


def _batchnorm(m: nn.BatchNorm2d) -> tuple[str, dict]:
    if m.momentum is None:
        raise UsageError("BatchNorm2d(momentum=None) is not supported")
    attrs = {"in": m.num_features}
    if m.eps != 1e-5:
        attrs["eps"] = m.eps
    if m.momentum != 0.1:
        attrs["momentum"] = m.momentum
    if not m.affine:
        attrs["affine"] = False
    if not m.track_running_stats:
        attrs["track_running_stats"] = False
    return "batchnorm2d", attrs


def _adaptive(kind: str):
    def convert(m) -> tuple[str, dict]:
        size = m.output_size
        if isinstance(size, (tuple, list)):
            size = list(size) if size[0] != size[1] or size[0] is None else size[0]
        return kind, {"output_size": size}
    return convert


def _upsample(m: nn.Upsample) -> tuple[str, dict]:
    attrs: dict = {}
    if m.size is not None:
        attrs["size"] = _pair(m.size) if isinstance(m.size, (tuple, list)) else m.size
    else:
        factor = m.scale_factor
        if isinstance(factor, (tuple, list)):
            if factor[0] != factor[1]:
                raise UsageError("Upsample with different scales per axis is not supported")
            factor = factor[0]
        attrs["scale"] = int(factor) if float(factor).is_integer() else float(factor)
    if m.mode != "nearest":
        attrs["mode"] = m.mode
    if m.align_corners is not None:
        attrs["align_corners"] = m.align_corners
    return "upsample", attrs


def _simple(kind: str, **fields):
    def convert(m) -> tuple[str, dict]:
        attrs = {}
        for attr, (source, default) in fields.items():
            value = getattr(m, source)
            if value != default:
                attrs[attr] = value
        return kind, attrs
    return convert


MODULES = {
    nn.Conv2d: _conv, nn.ConvTranspose2d: _conv,
    nn.MaxPool2d: _pool, nn.AvgPool2d: _pool, nn.BatchNorm2d: _batchnorm,
    nn.AdaptiveAvgPool2d: _adaptive("adaptive_avgpool2d"),
    nn.AdaptiveMaxPool2d: _adaptive("adaptive_maxpool2d"),
    nn.Linear: lambda m: ("linear", {"out": m.out_features, "in": m.in_features,
                                     **({} if m.bias is not None else {"bias": False})}),
    nn.ReLU: _simple("relu"), nn.ReLU6: _simple("relu6"), nn.SiLU: _simple("silu"),
    nn.Sigmoid: _simple("sigmoid"), nn.Tanh: _simple("tanh"), nn.Hardswish: _simple("hardswish"),
    nn.Hardsigmoid: _simple("hardsigmoid"),
    nn.LeakyReLU: _simple("leaky_relu", negative_slope=("negative_slope", 0.01)),
    nn.ELU: _simple("elu", alpha=("alpha", 1.0)),
    nn.GELU: _simple("gelu", approximate=("approximate", "none")),
    nn.Softmax: _simple("softmax", dim=("dim", 1)),
    nn.Dropout: _simple("dropout", p=("p", 0.5)), nn.Dropout2d: _simple("dropout2d", p=("p", 0.5)),
    nn.Flatten: _simple("flatten", start_dim=("start_dim", 1), end_dim=("end_dim", -1)),
    nn.Identity: _simple("identity"), nn.Upsample: _upsample,
    nn.ChannelShuffle: _simple("channel_shuffle", groups=("groups", None)),
}
#: modules known by class name (cnnspec's own merges, torchvision's StochasticDepth)
BY_NAME = {
    "Add": lambda m: ("add", {}), "Mul": lambda m: ("mul", {}),
    "Concat": lambda m: ("concat", {} if m.dim == 1 else {"dim": m.dim}),
    "StochasticDepth": lambda m: ("drop_path", {"p": m.p}),
}
FUNCTIONS = {
    operator.add: "add", torch.add: "add", operator.mul: "mul", torch.mul: "mul",
    F.relu: "relu", torch.relu: "relu", F.silu: "silu", torch.sigmoid: "sigmoid", F.sigmoid: "sigmoid",
    torch.tanh: "tanh", F.hardswish: "hardswish", F.relu6: "relu6", F.gelu: "gelu",
    F.dropout: "dropout", torch.flatten: "flatten", torch.cat: "concat",
    F.adaptive_avg_pool2d: "adaptive_avgpool2d", F.adaptive_max_pool2d: "adaptive_maxpool2d",
}
METHODS = {"add": "add", "mul": "mul", "relu": "relu", "sigmoid": "sigmoid", "flatten": "flatten"}


class _Tracer(fx.Tracer):
    """Also keeps cnnspec's merge modules and stochastic depth as single calls."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return super().is_leaf_module(m, qualname) or type(m).__name__ in BY_NAME


def load_factory(target: str):
    """``package.module:factory`` -> the nn.Module the factory returns (the module is imported:
    its code runs, as with ``python -c``)."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"cannot read {target!r}",
                         hint="write MODULE:FACTORY, e.g. torchvision.models:resnet18")
    if "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"cannot import {module_name!r}: {exc}") from None
    factory = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise UsageError(f"{module_name} has no {attr!r}")
    model = factory() if callable(factory) and not isinstance(factory, nn.Module) else factory
    if not isinstance(model, nn.Module):
        raise UsageError(f"{target} did not give an nn.Module")
    return model


def to_spec(model: nn.Module, input_shape: tuple, name: str = "imported") -> str:
    """The spec text for ``model`` at per-sample ``input_shape``."""
    model = model.eval()
    try:
        traced = fx.GraphModule(model, _Tracer().trace(model))
    except Exception as exc:  # fx raises many kinds; all mean "cannot trace"
        raise UsageError(f"torch.fx cannot trace the model: {type(exc).__name__}: {exc}") from None
    modules = dict(traced.named_modules())
    items: list[tuple[str, str, dict, list[str]]] = []  # (dotted name, type, attrs, inputs)
    names: dict[fx.Node, str] = {}
    taken: set[str] = set()
    order = list(traced.graph.nodes)
    module_after = {}
    following = ""
    for node in reversed(order):  # the next module call after each node
        module_after[node] = following
        if node.op == "call_module":
            following = node.target
    for node in order:
        if node.op == "placeholder":
            names[node] = "input"
            continue
        if node.op == "output":
            if names.get(node.args[0]) != items[-1][0]:
                raise UsageError("the model's output must be its last operation")
            continue
        if node.op == "get_attr":
            raise UsageError(f"the model reads the tensor {node.target!r} directly; cnnspec layers "
                             "hold their own parameters")
        kind, attrs, args, dotted = _convert(node, modules)
        inputs = [a for a in args if isinstance(a, fx.Node)]
        if not inputs:
            raise UsageError(f"{node.name}: the operation has no tensor input")
        if node.op != "call_module" and items:  # a tensor operation joins the group it runs in:
            parent = _common(items[-1][0], module_after[node])  # around its neighbours
            dotted = f"{parent}.{dotted}" if parent else dotted
        dotted = _unique(dotted, taken)
        names[node] = dotted
        items.append((dotted, kind, attrs, [names[a] for a in inputs]))
    return _write(items, input_shape, name)


def _convert(node: fx.Node, modules: dict):
    if node.op == "call_module":
        module = modules[node.target]
        convert = MODULES.get(type(module)) or BY_NAME.get(type(module).__name__)
        if convert is None:
            raise UsageError(f"{node.target}: cnnspec has no layer for {type(module).__name__}",
                             hint="see docs/spec.md for the layer types")
        kind, attrs = convert(module)
        weights = list(module.parameters())
        if weights and not any(p.requires_grad for p in weights):
            attrs["trainable"] = False
        return kind, attrs, list(node.args), node.target
    if node.op == "call_function" and node.target in FUNCTIONS:
        kind = FUNCTIONS[node.target]
        return _functional(kind, node)
    if node.op == "call_method" and node.target in METHODS:
        return _functional(METHODS[node.target], node)
    what = getattr(node.target, "__name__", str(node.target))
    raise UsageError(f"{node.name}: cnnspec has no layer for the operation {what!r}",
                     hint="supported: module calls of the layer types, +, *, torch.cat, torch.flatten "
                          "and functional activations")


def _functional(kind: str, node: fx.Node):
    args = list(node.args)
    attrs: dict = {}
    if kind == "concat":
        tensors = list(args[0])
        dim = node.kwargs.get("dim", args[1] if len(args) > 1 else 0)
        if dim != 1:
            attrs["dim"] = dim
        return kind, attrs, tensors, node.name
    if kind == "flatten":
        start = node.kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
        if start == 0:
            raise UsageError(f"{node.name}: flattening the batch dimension is not supported")
        if start != 1:
            attrs["start_dim"] = start
        return kind, attrs, args[:1], node.name
    if kind in ("adaptive_avgpool2d", "adaptive_maxpool2d"):
        size = node.kwargs.get("output_size", args[1] if len(args) > 1 else None)
        attrs["output_size"] = list(size) if isinstance(size, (tuple, list)) else size
        return kind, attrs, args[:1], node.name
    if kind == "dropout":
        attrs["p"] = node.kwargs.get("p", args[1] if len(args) > 1 else 0.5)
        return kind, attrs, args[:1], node.name
    if kind in ("add", "mul"):
        if not all(isinstance(a, fx.Node) for a in args[:2]) or node.kwargs:
            raise UsageError(f"{node.name}: only tensor {kind}s of two tensors are supported")
        return kind, attrs, args[:2], node.name
    return kind, attrs, args[:1], node.name


def _common(before: str, after: str) -> str:
    """The deepest group holding both module paths."""
    a, b = before.split(".")[:-1], after.split(".")[:-1]
    shared = []
    for x, y in zip(a, b):
        if x != y:
            break
        shared.append(x)
    return ".".join(shared)


def _unique(name: str, taken: set) -> str:
    """Module paths are unique, but a module called twice (a shared ReLU) needs a new name."""
    if name not in taken:
        taken.add(name)
        return name
    head, _, leaf = name.rpartition(".")
    count = 1
    while f"{name}_{count}" in taken:
        count += 1
    taken.add(f"{name}_{count}")
    return f"{head + '.' if head else ''}{leaf}_{count}"


def _yaml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, str):
        plain = re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value) and value.lower() not in _YAML_WORDS
        return value if plain else repr(value)
    return repr(value)


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _write(items, input_shape: tuple, name: str) -> str:
    """Nest the items in sequential groups along their dotted names."""
    lines = ["# Imported by cnnspec from a PyTorch module (torch.fx trace).",
             f"name: {_yaml(name) if re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', name) else 'imported'}",
             f"input: {_yaml(list(input_shape))}", "layers:"]
    stack: list[str] = []  # open group paths
    previous = "input"
    opened: set[str] = set()
    for dotted, kind, attrs, inputs in items:
        parts = dotted.split(".")
        groups, leaf = parts[:-1], parts[-1]
        common = 0
        while common < min(len(stack), len(groups)) and stack[common] == groups[common]:
            common += 1
        del stack[common:]
        for part in groups[common:]:
            path = ".".join([*stack, part])
            if path in opened:
                raise UsageError(f"module {path!r} runs in two separate stretches; cnnspec groups "
                                 "must be contiguous")
            opened.add(path)
            indent = "  " * (2 * len(stack) + 1)
            lines.append(f"{indent}- sequential:")
            lines.append(f"{indent}    name: {_yaml(part) if not part.isdigit() else part}")
            lines.append(f"{indent}    layers:")
            stack.append(part)
        settings = dict(attrs)
        settings["name"] = int(leaf) if leaf.isdigit() else leaf
        if inputs != [previous]:
            refs = [ref for ref in inputs]
            settings["from"] = refs[0] if len(refs) == 1 else refs
        body = ", ".join(f"{k}: {_ref(v) if k == 'from' else _yaml(v)}" for k, v in settings.items())
        lines.append(f"{'  ' * (2 * len(stack) + 1)}- {kind}: {{{body}}}")
        previous = dotted
    return "\n".join(lines) + "\n"


def _ref(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_ref(v) for v in value) + "]"
    return f'"{value}"' if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value) else value
