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
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from torch import fx, nn

from cnnspec.errors import UsageError
from cnnspec.layers import LAYERS
from cnnspec.layers.base import NotImportable
from cnnspec.util.names import is_identifier


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


@dataclass
class Dropped:
    """Part of the model that the spec does not have: a module the forward never calls (or the
    tensors a calling container holds itself), with what it holds."""

    name: str
    type: str
    params: int
    keys: list = field(default_factory=list)  # its state_dict keys

    def describe(self) -> str:
        return f"{self.name} ({'' if self.type == 'tensor' else self.type + ', '}{_count(self.params)})"


def _count(params: int) -> str:
    return f"{params:,} param{'' if params == 1 else 's'}"


@dataclass
class Imported:
    """What ``cnnspec import`` makes of a model: the spec text and what it leaves out."""

    text: str
    dropped: list
    params: int  # the model's, all of them
    keys: int  # the model's state_dict keys

    def note(self) -> str | None:
        """One sentence naming what was left out, or None."""
        if not self.dropped:
            return None
        modules = [d for d in self.dropped if d.type != "tensor"]
        tensors = [d for d in self.dropped if d.type == "tensor"]
        parts = []
        if modules:
            parts.append(f"{len(modules)} module{'s' if len(modules) != 1 else ''} the traced forward "
                         f"never calls (in eval mode): {', '.join(d.describe() for d in modules)}")
        if tensors:
            parts.append(f"{len(tensors)} tensor{'s' if len(tensors) != 1 else ''} no layer holds: "
                         f"{', '.join(d.describe() for d in tensors)}")
        params = sum(d.params for d in self.dropped)
        keys = sum(len(d.keys) for d in self.dropped)
        return (f"not in the spec: {'; and '.join(parts)}. That is {params:,} of {self.params:,} "
                f"params and {keys} of {self.keys} state_dict keys")


def to_spec(model: nn.Module, input_shape: tuple, name: str = "imported") -> str:
    """The spec text for ``model`` at per-sample ``input_shape``."""
    return import_model(model, input_shape, name).text


def dropped_modules(model: nn.Module, called: set) -> list[Dropped]:
    """The parts of ``model`` no called module covers: every uncalled module with no called
    module inside it (the topmost of them), and the tensors an uncalled container holds
    directly. A module that is also registered under a called name is not dropped."""
    objects = {id(m) for path, m in model.named_modules(remove_duplicate=False) if path in called}
    inside = {path.rsplit(".", i)[0] for path in called for i in range(path.count(".") + 1)} | {""}

    def covered(path: str) -> bool:  # called, or inside a called module
        parts = path.split(".")
        return any(".".join(parts[:i]) in called for i in range(1, len(parts) + 1))

    dropped: dict[str, Dropped] = {}
    modules = dict(model.named_modules(remove_duplicate=False))
    keys = list(model.state_dict(keep_vars=True))
    for key in keys:
        owner = key.rpartition(".")[0]
        if covered(owner) or id(modules.get(owner)) in objects:
            continue
        parts = owner.split(".") if owner else []
        top = next((".".join(parts[:i]) for i in range(1, len(parts) + 1)
                    if ".".join(parts[:i]) not in inside), None)
        if top is not None and id(modules[top]) in objects:
            continue
        if top is None:  # a container that calls modules holds this tensor itself
            entry = dropped.setdefault(key, Dropped(key, "tensor", 0))
            tensor = model.get_parameter(key) if key in dict(model.named_parameters()) else None
            entry.params = tensor.numel() if tensor is not None else 0
        else:
            module = modules[top]
            entry = dropped.setdefault(top, Dropped(top, type(module).__name__,
                                                    sum(p.numel() for p in module.parameters())))
        entry.keys.append(key)
    return list(dropped.values())


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
    result.text = _write(items, input_shape, name, result.note())
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


def _yaml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, str):
        plain = is_identifier(value) and value.lower() not in _YAML_WORDS
        return value if plain else repr(value)
    return repr(value)


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _write(items, input_shape: tuple, name: str, note: str | None = None) -> str:
    """Nest the items in sequential groups along their dotted names."""
    lines = ["# Imported by cnnspec from a PyTorch module (torch.fx trace)."]
    if note:  # never lost silently: what the spec does not have, in its header
        lines += ["#"] + [f"# {line}" for line in textwrap.wrap(note[:1].upper() + note[1:] + ".", 92)]
    lines += [
             f"name: {_yaml(name) if is_identifier(name) else 'imported'}",
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
    return f'"{value}"' if not is_identifier(value) else value
