"""``cnnspec import``: trace an ``nn.Module`` with torch.fx and write the spec for it (imports
torch).

Every module call becomes a layer named by its module path (``layer1.0.conv1``), nested in
``sequential`` groups that follow the module tree, so a model built from the spec has the same
state_dict keys. Tensor operations between modules (``x + y``, ``torch.cat``, ``torch.flatten``,
functional activations) become layers of their own. A node reading anything but the previous
item says so with ``from``. Anything cnnspec has no layer for is an error naming it.

Modules the traced forward never calls (GoogLeNet's auxiliary heads, which run only while
training) cannot be layers of the spec; they are never dropped silently: :func:`import_model`
lists them with their parameters and state_dict keys, the spec's header comment names them
and ``cnnspec import`` prints a note.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from torch import fx, nn

from cnnspec.errors import UsageError
from cnnspec.layers import LAYERS
from cnnspec.layers.base import NotImportable
from cnnspec.torch.dropped import Dropped, Imported, dropped_modules
from cnnspec.torch.spec_writer import write_spec

__all__ = ["Dropped", "Imported", "dropped_modules", "import_model", "load_factory", "operations",
           "readers", "to_spec"]


def readers() -> dict:
    """Torch module class name -> the layer type that reads it, from the registry as it is now
    (each layer class names what it is imported from, its own module among them, and reads
    its settings itself)."""
    table = {}
    for cls in LAYERS.values():
        for name in cls.imported_from:
            if name in table:
                raise AssertionError(f"{name} is read by both {table[name].type_name} and {cls.type_name}")
            table[name] = cls
    return table


def __getattr__(name: str):
    if name == "READERS":  # the table as of now (layer types may be registered later)
        return readers()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _resolve(dotted: str):
    """``torch.nn.functional.relu`` -> the function."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def operations() -> tuple[dict, dict]:
    """(function -> layer type, tensor method name -> layer type) for the operations between
    modules, from the registry as it is now (``imported_functions``, ``imported_methods``)."""
    functions: dict = {}
    methods: dict = {}
    for cls in LAYERS.values():
        for table, keys in ((functions, map(_resolve, cls.imported_functions)),
                            (methods, cls.imported_methods)):
            for key in keys:
                if key in table and table[key] is not cls:
                    raise AssertionError(f"{key} is read by both {table[key].type_name} and {cls.type_name}")
                table[key] = cls
    return functions, methods


class _Tracer(fx.Tracer):
    """Also keeps every module a layer type reads (the layers' own modules: merges, stochastic
    depth) as single calls."""

    def __init__(self, readers: dict):
        super().__init__()
        self.readers = readers

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return super().is_leaf_module(m, qualname) or type(m).__name__ in self.readers


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
    return import_model(model, input_shape, name).text


def import_model(model: nn.Module, input_shape: tuple, name: str = "imported") -> Imported:
    """Trace ``model`` (in eval mode) into a spec at per-sample ``input_shape``, and list what
    the spec cannot hold (modules the forward never calls)."""
    model = model.eval()
    table = readers()
    functions, methods = operations()
    try:
        traced = fx.GraphModule(model, _Tracer(table).trace(model))
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
        kind, attrs, args, dotted = _convert(node, modules, table, functions, methods)
        inputs = [a for a in args if isinstance(a, fx.Node)]
        if not inputs:
            raise UsageError(f"{node.name}: the operation has no tensor input")
        if node.op != "call_module" and items:  # a tensor operation joins the group it runs in:
            parent = _common(items[-1][0], module_after[node])  # around its neighbours
            dotted = f"{parent}.{dotted}" if parent else dotted
        dotted = _unique(dotted, taken)
        names[node] = dotted
        items.append((dotted, kind, attrs, [names[a] for a in inputs]))
    called = {node.target for node in order if node.op == "call_module"}
    dropped = dropped_modules(model, called)
    result = Imported("", dropped, sum(p.numel() for p in model.parameters()), len(model.state_dict()))
    result.text = write_spec(items, input_shape, name, result.note())
    return result


def _convert(node: fx.Node, modules: dict, table: dict, functions: dict, methods: dict):
    if node.op == "call_module":
        return _module_call(node, modules[node.target], table)
    reader = None
    if node.op == "call_function":
        reader = functions.get(node.target)
    elif node.op == "call_method":
        reader = methods.get(node.target)
    if reader is None:
        what = getattr(node.target, "__name__", str(node.target))
        raise UsageError(f"{node.name}: cnnspec has no layer for the operation {what!r}",
                         hint="supported: module calls of the layer types, +, *, torch.cat, torch.flatten "
                              "and functional activations")
    try:
        kind, attrs, args = reader.from_torch_function(list(node.args), dict(node.kwargs),
                                                       lambda a: isinstance(a, fx.Node))
    except NotImportable as exc:
        raise UsageError(f"{node.name}: {exc}") from None
    return kind, attrs, args, node.name


def _module_call(node: fx.Node, module: nn.Module, table: dict):
    reader = table.get(type(module).__name__)
    if reader is None:
        raise UsageError(f"{node.target}: cnnspec has no layer for {type(module).__name__}",
                         hint="see docs/spec.md for the layer types")
    try:
        kind, attrs = reader.type_name, reader.from_torch(module)
    except NotImportable as exc:
        raise UsageError(f"{node.target}: {type(module).__name__}: {exc}") from None
    weights = list(module.parameters())
    if weights and not any(p.requires_grad for p in weights):
        attrs["trainable"] = False
    return kind, attrs, list(node.args), node.target


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
