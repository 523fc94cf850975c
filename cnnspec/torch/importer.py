"""``cnnspec import``: trace an ``nn.Module`` by running it once and write the spec for it
(imports torch).

The model runs once in eval mode on one sample of the given shape (``cnnspec.torch.trace``).
Every call of a module a layer type reads becomes a layer named by its module path
(``layer1.0.conv1``), nested in ``sequential`` groups that follow the module tree, so a model
built from the spec has the same state_dict keys; so does a function computing a layer over a
module's own tensors (``F.batch_norm(x, self.running_mean, …)``: the layer takes that
module's path). Tensor operations between modules (``x + y``, ``torch.cat``,
``torch.flatten``, functional activations) become layers of their own, in the group of the
module whose forward runs them. A node reading anything but the previous item says so with
``from``. Shape reads and code branching on sizes are fixed at that input: the spec holds
there (its header says so).

Every operation cnnspec has no layer for is collected; if there are any, one
:class:`UnsupportedOperations` error lists them all (what, where, how many calls), as data in
its ``unsupported``.

Modules the traced forward never calls (GoogLeNet's auxiliary heads, which run only while
training) cannot be layers of the spec; they are never dropped silently: :func:`import_model`
lists them with their parameters and state_dict keys, the spec's header comment names them
and ``cnnspec import`` prints a note.
"""

from __future__ import annotations

import importlib
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from cnnspec.errors import UsageError, printable
from cnnspec.layers import LAYERS
from cnnspec.torch.arrange import arrange, fold_into_layers, names
from cnnspec.torch.dropped import Dropped, Imported, dropped_modules
from cnnspec.torch.folds import fold_chains
from cnnspec.torch.spec_writer import write_spec
from cnnspec.torch.trace import INPUT, own_tensors, run
from cnnspec.util.names import is_identifier

__all__ = ["Dropped", "Imported", "Unsupported", "UnsupportedOperations", "dropped_modules",
           "import_model", "leaf_reader", "load_factory", "operations", "readers", "to_spec"]


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


def operations() -> tuple[dict, dict, dict, dict, dict]:
    """(function -> layer type, tensor method name -> layer type, function over a module's
    tensors -> layer type, and function and method name computing a bare layer with a
    parameter of the calling module -> layer type), from the registry as it is now
    (``imported_functions``, ``imported_methods``, ``imported_state_functions``,
    ``imported_bare_functions``, ``imported_bare_methods``)."""
    tables: tuple = ({}, {}, {}, {}, {})
    functions, methods, states, bare_functions, bare_methods = tables
    for cls in LAYERS.values():
        for table, keys in ((functions, map(_resolve, cls.imported_functions)),
                            (methods, cls.imported_methods),
                            (states, map(_resolve, cls.imported_state_functions)),
                            (bare_functions, map(_resolve, cls.imported_bare_functions)),
                            (bare_methods, cls.imported_bare_methods)):
            for key in keys:
                if key in table and table[key] is not cls:
                    raise AssertionError(f"{key} is read by both {table[key].type_name} and {cls.type_name}")
                table[key] = cls
    return tables


def leaf_reader(cls: type, table: dict):
    """The layer type that reads a module of class ``cls`` as one layer, or None (its forward
    is traced into): the layer type reading the class by name, or else the one reading its
    nearest base class, when neither ``cls`` nor a class between them overrides ``forward``
    or a ``_helper`` of that base (timm's BatchNormAct2d is a BatchNorm2d whose forward adds
    an activation: it is traced)."""
    for i, base in enumerate(cls.__mro__):
        if base is nn.Module:
            return None
        if base.__name__ in table:
            helpers = {"forward"} | {k for k in vars(base) if k[:1] == "_" and k[:2] != "__"}
            if any(helpers & set(vars(sub)) for sub in cls.__mro__[:i]):
                return None
            return table[base.__name__]
    return None


@dataclass(frozen=True)
class Unsupported:
    """An operation of the model that cnnspec has no layer for: the op or module class, the
    module path where it runs ("" for the model's own forward), how many calls, and why."""

    what: str
    where: str
    count: int
    why: str = ""

    def place(self) -> str:
        return f"{self.where or 'the model'}{f' ({self.count} calls)' if self.count > 1 else ''}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


class UnsupportedOperations(UsageError):
    """The model has operations cnnspec has no layer for; ``unsupported`` lists them all
    (:class:`Unsupported`, one per operation and module path). The message groups them by
    operation, with every place it runs."""

    def __init__(self, unsupported: list, input_shape: tuple):
        self.unsupported = unsupported
        groups: dict = {}
        for entry in unsupported:
            groups.setdefault((entry.what, entry.why), []).append(entry)
        calls = sum(u.count for u in unsupported)
        lines = [f"cnnspec has no layer for {_plural(len(groups), 'operation')} of the model "
                 f"({_plural(calls, 'call')}, traced at input {'x'.join(map(str, (1, *input_shape)))}):"]
        for (what, why), entries in groups.items():
            places = ", ".join(e.place() for e in entries)
            total = sum(e.count for e in entries)
            lines.append(f"  {what} ({_plural(total, 'call')}{f'; {why}' if why else ''}) at {places}")
        self.lines = lines
        super().__init__("\n".join(lines), hint="see docs/spec.md for the layer types")

    def render(self) -> str:
        """One line per operation (each line printable: module paths are the model's text)."""
        lines = [f"error: {printable(self.lines[0])}", *map(printable, self.lines[1:])]
        return "\n".join([*lines, f"  hint: {printable(self.hint)}"])


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
    """Run ``model`` once (in eval mode) at per-sample ``input_shape`` and write its spec;
    list what the spec cannot hold (modules the forward never calls). Raises
    :class:`UnsupportedOperations` naming every operation cnnspec has no layer for."""
    model = model.eval()
    table = readers()
    leaves = {module: (reader, path) for path, module in list(model.named_modules())[1:]
              if (reader := leaf_reader(type(module), table)) is not None}
    recorder, output = run(model, tuple(input_shape), leaves, operations())
    outputs = _outputs(output)
    nodes = _live(recorder.nodes, list(outputs.values()))
    problems = _problems(nodes, dict(model.named_modules()))
    if problems:
        raise UnsupportedOperations(problems, tuple(input_shape))
    nodes = fold_chains(nodes, tuple(input_shape))
    fold_into_layers(nodes)
    nodes = arrange(nodes, output if isinstance(output, int) else None)
    named = names(nodes) | {INPUT: "input"}
    items = [(named[n.id], n.kind, n.attrs, [named[i] for i in n.inputs]) for n in nodes]
    called = {n.module for n in nodes if n.module is not None}
    held = {n.held for n in nodes if n.held is not None}
    result = Imported("", dropped_modules(model, called, held), sum(p.numel() for p in model.parameters()),
                      len(model.state_dict()))
    returns = None  # one tensor: the spec's last node
    if isinstance(output, dict):
        returns = {key: named[i] for key, i in outputs.items()}
    elif isinstance(output, list):
        returns = [named[i] for i in outputs.values()]
    result.text = write_spec(items, input_shape, name, result.note(), returns)
    return result


def _outputs(output) -> dict:
    """What the model returned (``trace.returned``) as {output name: node id}: "output" for
    one tensor, the keys of a dict, the positions of a tuple."""
    what = "one tensor, or a dict or tuple of tensors, computed from its input"
    if output is None:
        raise UsageError(f"the model must return {what}")
    ids = {"output": output} if isinstance(output, int) else (
        dict(output) if isinstance(output, dict) else {str(i): v for i, v in enumerate(output)})
    for key, node in ids.items():
        if node == INPUT:
            raise UsageError(f"the model returns its input{'' if key == 'output' else f' as {key!r}'}",
                             hint=f"a model imported by cnnspec returns {what}")
        if isinstance(output, dict) and not is_identifier(key):
            raise UsageError(f"the model returns a dict with key {key!r}, which cannot name an output",
                             hint="cnnspec names outputs with letters, digits and _ (out, aux)")
    if len(set(ids.values())) != len(ids):
        raise UsageError("the model returns the same tensor twice",
                         hint="a spec returns each node once (outputs: names each node once)")
    return ids


def _live(nodes: list, outputs: list) -> list:
    """The nodes the outputs are computed from, in execution order (what nothing reads goes)."""
    by_id = {n.id: n for n in nodes}
    live, todo = set(), list(outputs)
    while todo:
        node = by_id.get(todo.pop())
        if node is not None and node.id not in live:
            live.add(node.id)
            todo.extend(node.inputs)
    return [n for n in nodes if n.id in live]


def _problems(nodes: list, modules: dict) -> list:
    """Every unsupported operation, counted by (what, where, why); and every module with
    tensors called more than once, and every parameter that bare layers read more than once
    (cnnspec layers do not share weights)."""
    counts = Counter(n.problem for n in nodes if n.problem is not None)
    for key, count in Counter(n.held for n in nodes if n.held is not None).items():
        if count > 1:
            counts[("parameter", key, "read more than once: cnnspec layers do not share weights")] += count
    calls = Counter(n.module for n in nodes if n.module is not None)
    for path, count in calls.items():
        module = modules[path]
        if count > 1 and (own_tensors(module) or any(True for _ in module.parameters())):
            counts[(type(module).__name__, path, "called more than once: cnnspec layers do not "
                    "share weights")] += count
    return [Unsupported(what, where, count, why) for (what, where, why), count in counts.items()]
