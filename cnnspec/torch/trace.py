"""Trace a model by running it once (``cnnspec import``; imports torch).

The model runs in eval mode under ``torch.no_grad()`` on one deterministic sample, under a
``TorchFunctionMode`` that sees every torch function and tensor method called, while forward
pre- and post-hooks on every module keep the stack of modules running. Shape reads, asserts
and Python that branches on sizes run as Python: they are fixed at that input.

What is recorded (:class:`Node`):

- a call of a *leaf* module (one a layer type reads, :func:`leaf_reader`) as that layer,
  named by the module's path; nothing it runs inside is recorded;
- a function computing a layer over tensors a module holds (``F.batch_norm(x,
  self.running_mean, …)``, ``Layer.imported_state_functions``) as that layer, named by the
  path of the module holding them, so the state_dict keys stay the model's;
- a function or method computing a layer with a parameter that the module whose forward runs
  it holds itself (``self.layer_scale * x``), or a module inside it that is no leaf (cnnspec's
  built models run every node from their own forward), or a view of such a parameter
  (``Layer.imported_bare_functions`` and ``imported_bare_methods``) as a bare layer named by
  that parameter's key;
- any other call returning a tensor computed from the input: the layer a layer type reads it
  as (``imported_functions``, ``imported_methods``), named after the function in the group
  of the module whose forward runs it (one layer per piece of a ``torch.split``,
  ``Layer.from_torch_call``); or, when no layer reads it, an unsupported node.

A call reading no tensor computed from the input (shapes, a module's own tensors) is a
constant and is not recorded. The ids of every tensor seen are kept alive until the trace
ends, so an id always names one tensor.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional
from torch.overrides import TorchFunctionMode

from cnnspec.errors import UsageError
from cnnspec.layers.base import NotImportable

#: tensor methods that return their input's values unchanged (when dtype, device and shape
#: stay as they are): the output is read as the input itself, no layer
NO_OPS = frozenset({"contiguous", "clone", "detach", "to", "type", "type_as", "float", "cpu",
                    "requires_grad_", "data"})
#: tensor methods that view a module's parameter in another shape (timm's
#: ``self.gamma.reshape(1, -1, 1, 1)``): a bare layer may read the view as the parameter
VIEWS = frozenset({"reshape", "view", "view_as", "unsqueeze"})
#: torch.nn containers: the op a container runs is not the container's
CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
INPUT = 0  # the node id of the model's input


@dataclass
class Node:
    """One recorded operation: a layer (``kind``) or an unsupported one (``problem``)."""

    id: int
    path: tuple  # module-path segments, the last one the node's own name
    inputs: list  # node ids
    kind: str = ""
    attrs: dict = field(default_factory=dict)
    module: str | None = None  # the module it stands for (a leaf call or the state's holder)
    held: str | None = None  # the key of the parameter a bare layer holds (its parent's own)
    problem: tuple | None = None  # (what, where, why) when cnnspec has no layer for it
    shape: tuple = ()  # the per-sample shape of what it computes
    keys: bool = False  # its module has state_dict keys (so its name matters for loading)


def tensors(value) -> list:
    """The tensors in a value (nested in tuples, lists and dicts)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors(v)]
    return []


def own_tensors(module: nn.Module) -> dict:
    """A module's own parameters and persistent buffers (not its children's), by name."""
    held = dict(module.named_parameters(recurse=False))
    held.update((name, b) for name, b in module.named_buffers(recurse=False)
                if name not in module._non_persistent_buffers_set)
    return held


def label(func) -> str:
    """The dotted name of a torch function or tensor method, for messages."""
    name = getattr(func, "__name__", repr(func))
    if name == "__get__" and hasattr(getattr(func, "__self__", None), "__name__"):
        return f"Tensor.{func.__self__.__name__}"  # a property: x.data, x.T
    if getattr(torch.Tensor, name, None) is func:
        return f"Tensor.{name}"
    for prefix, space in (("torch.nn.functional", functional), ("torch", torch)):
        if getattr(space, name, None) is func:
            return f"{prefix}.{name}"
    return f"{getattr(func, '__module__', None) or 'torch'}.{name}"


def method_key(func, methods: dict) -> tuple[str, bool] | None:
    """For a tensor method: (the name a layer type reads it under, whether its operands are
    swapped). ``add_`` and ``__iadd__`` are ``add``, ``__rsub__`` is ``sub`` swapped."""
    name = getattr(func, "__name__", "")
    if name == "__get__" and hasattr(getattr(func, "__self__", None), "__name__"):
        return func.__self__.__name__, False
    if getattr(torch.Tensor, name, None) is not func:
        return None
    if name.startswith("__") and name.endswith("__"):
        inner = name[2:-2]
        if inner[:1] in ("r", "i") and inner[1:] in methods:
            return inner[1:], inner[0] == "r"
        return name, False
    return (name[:-1] if name.endswith("_") and name[:-1] in methods else name), False


class Recorder(TorchFunctionMode):
    """Records one run of a model (see the module's docstring)."""

    def __init__(self, model: nn.Module, leaves: dict, tables: tuple):
        super().__init__()
        self.leaves = leaves  # module -> (layer class, its path)
        self.functions, self.methods, self.state_functions, *bare = tables
        self.bare_functions, self.bare_methods = bare or ({}, {})
        self.views: dict[int, nn.Parameter] = {}  # id(a view of a held parameter) -> the parameter
        self.nodes: list[Node] = []
        self.source: dict[int, int] = {}  # id(tensor) -> node id
        self.keep: list = []  # every tensor recorded, alive so that its id stays its own
        self.stack: list[tuple[str, nn.Module]] = [("", model)]
        self.inside = 0  # > 0 while a leaf module runs
        self.held = {id(t): (path, name) for path, m in model.named_modules()
                     for name, t in own_tensors(m).items()}
        self.modules = dict(model.named_modules())

    # -- module hooks --------------------------------------------------------------------
    def enter(self, path: str, module: nn.Module):
        def hook(_module, _args, _kwargs):
            if self.inside or module in self.leaves:
                self.inside += 1
            else:
                self.stack.append((path, module))
        return hook

    def leave(self, path: str, module: nn.Module):
        def hook(_module, args, kwargs, output):
            if self.inside > 1 or (self.inside == 1 and module not in self.leaves):
                self.inside -= 1
            elif self.inside == 1:
                self.inside = 0
                self._leaf(path, module, tensors((args, kwargs)), output)
            else:
                self.stack.pop()
        return hook

    def _leaf(self, path: str, module: nn.Module, args: list, output) -> None:
        inputs = [self.source[id(t)] for t in args if id(t) in self.source]
        if not inputs:
            return  # a module run on constants: a constant
        reader = self.leaves[module][0]
        node = Node(len(self.nodes) + 1, tuple(path.split(".")), inputs, module=path)
        try:
            node.kind, node.attrs = reader.type_name, reader.from_torch(module)
        except NotImportable as exc:
            node.problem = (type(module).__name__, path, str(exc))
        weights = list(module.parameters())
        if weights and not any(p.requires_grad for p in weights):
            node.attrs["trainable"] = False
        node.keys = bool(module.state_dict())
        self._add(node, output)

    # -- functions and methods -----------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        if self.inside or not tensors(result):
            return result
        inputs = [self.source[id(t)] for t in tensors((args, kwargs)) if id(t) in self.source]
        if not inputs:
            self._view_of_parameter(func, args, result)
            return result  # computed from shapes or a module's own tensors: a constant
        key = method_key(func, self.methods)
        if key is not None and key[0] in NO_OPS and _unchanged(args[0], result):
            self.source[id(result)] = self.source[id(args[0])]
            self.keep.append(result)
            return result
        args = list(args)
        if key is not None and key[1]:
            args[:2] = args[1::-1]
        for node, value in self._call(func, key, args, kwargs, (inputs, result)):
            self._add(node, value)
        return result

    def _call(self, func, key, args: list, kwargs: dict, ran: tuple) -> list:
        """(node, the tensor it computes) for each tensor the call returns (the pieces of a
        split), or one node for all of them. ``ran``: the traced inputs and the result."""
        inputs, result = ran
        where, module = self.stack[-1]
        name = key[0] if key is not None else getattr(func, "__name__", "op")
        name = name.strip("_") or "op"  # x[:, a:b] is `getitem`: no module can be `__getitem__`
        node = Node(len(self.nodes) + 1, (*(where.split(".") if where else ()), name), inputs)
        try:
            if key is None and func in self.state_functions:
                return [(self._state_call(node, self.state_functions[func], args, kwargs), result)]
            bare = self.bare_methods.get(key[0]) if key is not None else self.bare_functions.get(func)
            if bare is not None and any(self.parameter(t, where) is not None for t in tensors(args)):
                return [(self._bare_call(node, bare, args, kwargs, where), result)]
            reader = self.methods.get(key[0]) if key is not None else self.functions.get(func)
            if reader is None:
                raise NotImportable("")
            read = reader.from_torch_call(name, args, kwargs, result, self.traced)
            values = [result] if isinstance(result, torch.Tensor) else tensors(result)
            if len(values) != len(read):
                if len(read) != 1:
                    raise AssertionError(f"{reader.type_name} read {len(read)} of {len(values)} tensors")
                values = [result]  # several tensors read as one layer: unsupported (``_add``)
            return [(Node(node.id + i, node.path, self._operands(operands), kind, attrs), value)
                    for i, ((kind, attrs, operands), value) in enumerate(zip(read, values))]
        except NotImportable as exc:
            builtin = type(module).__module__.startswith("torch.nn.") and not isinstance(module, CONTAINERS)
            what = type(module).__name__ if builtin else label(func)  # nn.LayerNorm, not F.layer_norm
            node.problem = (what, where, str(exc))
        return [(node, result)]

    def traced(self, value) -> bool:
        """Whether ``value`` is a tensor computed from the input."""
        return isinstance(value, torch.Tensor) and id(value) in self.source

    def _view_of_parameter(self, func, args, result) -> None:
        """Remember ``result`` when it is a view of a module's own parameter (``VIEWS``)."""
        key = method_key(func, self.methods)
        if key is None or key[0] not in VIEWS or not isinstance(result, torch.Tensor):
            return
        base = self.views.get(id(args[0]), args[0])
        if isinstance(base, nn.Parameter) and id(base) in self.held:
            self.views[id(result)] = base
            self.keep.append(result)

    def parameter(self, value, where: str) -> nn.Parameter | None:
        """The parameter that ``value`` is or views, when the module at ``where`` or a module
        inside it that is no leaf holds it itself; else None."""
        base = self.views.get(id(value), value) if isinstance(value, torch.Tensor) else None
        path = self.held.get(id(base), (None,))[0]
        if path is None or not isinstance(base, nn.Parameter) or self.modules[path] in self.leaves:
            return None
        return base if path == where or not where or path.startswith(where + ".") else None

    def _bare_call(self, node: Node, reader, args: list, kwargs: dict, where: str) -> Node:
        """A bare layer (``Layer.from_torch_bare_call``), named by its parameter's key."""
        settings, operands, scale = reader.from_torch_bare_call(
            args, kwargs, self.traced, lambda value: self.parameter(value, where))
        node.inputs = self._operands(operands)
        parameter = self.parameter(scale, where)
        node.held = ".".join(part for part in self.held[id(parameter)] if part)
        node.kind, node.attrs, node.path = reader.type_name, settings, tuple(node.held.split("."))
        if not parameter.requires_grad:
            node.attrs["trainable"] = False
        return node

    def _operands(self, operands: list) -> list:
        flat = tensors(operands)
        if len(flat) != len(operands) or any(id(t) not in self.source for t in flat):
            raise NotImportable("an operand is not computed from the input (a constant or a "
                                "module's own tensor)")
        return [self.source[id(t)] for t in flat]

    def _state_call(self, node: Node, reader, args: list, kwargs: dict) -> Node:
        settings, operands, state = reader.from_torch_state_call(args, kwargs)
        node.inputs = self._operands(operands)
        holders = {self.held.get(id(t), (None, None))[0] for t in state.values() if t is not None}
        path = holders.pop() if len(holders) == 1 else None
        if path is None or any(t is not None and self.held.get(id(t)) != (path, key)
                               for key, t in state.items()):
            raise NotImportable("its weights are not the tensors of one module under the "
                                f"names {reader.type_name} gives them ({', '.join(state)})")
        module = self.modules[path]
        if set(own_tensors(module)) != set(state):
            raise NotImportable(f"{path} holds {', '.join(own_tensors(module))}, a "
                                f"{reader.type_name} has {', '.join(state)}")
        node.kind, node.attrs, node.module = reader.type_name, settings, path
        node.path = tuple(path.split(".")) if path else node.path
        weights = [t for t in own_tensors(module).values() if isinstance(t, nn.Parameter)]
        if weights and not any(p.requires_grad for p in weights):
            node.attrs["trainable"] = False
        node.keys = True
        return node

    def _add(self, node: Node, result) -> None:
        if node.problem is None and not isinstance(result, torch.Tensor):
            node.problem = (node.kind, ".".join(node.path[:-1]), "it returns several tensors")
        if isinstance(result, torch.Tensor):
            node.shape = tuple(result.shape[1:])
        self.nodes.append(node)
        for t in tensors(result):
            self.source[id(t)] = node.id  # an in-place op: the tensor's values are the new node's
            self.keep.append(t)


def _unchanged(before, after) -> bool:
    return (isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor)
            and before.shape == after.shape and before.dtype == after.dtype
            and before.device == after.device)


def run(model: nn.Module, input_shape: tuple, leaves: dict, tables: tuple):
    """Run ``model`` once on a deterministic sample of ``input_shape`` (batch 1) and return
    (the Recorder, the output node ids: :func:`returned`)."""
    recorder = Recorder(model, leaves, tables)
    weight = next(iter(model.parameters()), None)
    dtype, device = (weight.dtype, weight.device) if weight is not None else (torch.float32, "cpu")
    sample = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(0)).to(dtype=dtype,
                                                                                       device=device)
    recorder.source[id(sample)] = INPUT
    handles = []
    for path, module in list(model.named_modules())[1:]:  # the model's forward is traced
        handles.append(module.register_forward_pre_hook(recorder.enter(path, module), with_kwargs=True))
        handles.append(module.register_forward_hook(recorder.leave(path, module), with_kwargs=True))
    try:
        with torch.no_grad(), recorder:
            output = model(sample)
    except Exception as exc:  # the model's own error at that input
        at = "x".join(map(str, sample.shape))
        raise UsageError(f"the model fails at input {at}: {type(exc).__name__}: {exc}",
                         hint="give the --input size the model takes") from exc
    finally:
        for handle in handles:
            handle.remove()
    return recorder, returned(recorder, output)


def returned(recorder: Recorder, output):
    """The node ids of what the model returned: an id for a tensor, {key: id} for a dict of
    tensors (torchvision's segmentation models' {"out": …, "aux": …}), [ids] for a tuple or
    list of them; None for a tensor not computed from the input, or anything else."""
    if isinstance(output, torch.Tensor):
        return recorder.source.get(id(output))
    if isinstance(output, dict) and output:
        ids = {key: returned(recorder, value) for key, value in output.items()}
    elif isinstance(output, (tuple, list)) and output:
        ids = [returned(recorder, value) for value in output]
    else:
        return None
    values = ids.values() if isinstance(ids, dict) else ids
    return ids if all(isinstance(i, int) for i in values) else None
