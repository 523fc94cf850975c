"""Build a graph as a ``torch.nn.Module`` (the in-memory builder; imports torch).

Every node becomes the module its layer class names (``Layer.torch_call``): a ``torch.nn``
class, or the layer type's own module (``Layer.torch_module``). It is registered under the
node's dotted name, so ``features.0`` is ``model.features[0]`` and the state_dict keys follow
the spec's names. A layer that is no module (``Layer.bare_parameter``) has its parameter
registered on its parent under the node's own name, and runs as a :class:`HeldParameter`
that reads it there. ``forward`` runs the nodes in order, passing each the outputs of its
inputs, and drops every tensor after its last reader; it returns the output, or a dict (a
tuple) of the outputs a spec's ``outputs:`` names (lists).
"""

from __future__ import annotations

import torch
from torch import nn

from cnnspec.api import shapes_only
from cnnspec.errors import SpecStructureError
from cnnspec.ir.graph import INPUT, Graph
from cnnspec.torch.own import own_class

_EXPRESSIONS: dict = {}


def _expression(text: str):
    """A bare layer's expression (``BareParameter.expression``) as a function of the input and
    the parameter, compiled once, with ``torch`` and ``nn`` in scope as in the generated file."""
    if text not in _EXPRESSIONS:
        source = "lambda x, parameter: " + text.format(x="x", parameter="parameter")
        code = compile(source, "<cnnspec bare layer>", "eval")
        _EXPRESSIONS[text] = eval(code, {"torch": torch, "nn": nn})  # noqa: S307 (the layer's own text)
    return _EXPRESSIONS[text]


class HeldParameter(nn.Module):
    """A bare layer as the builder runs it: its expression over its input and the parameter
    ``owner`` holds as ``name`` (looked up at each call, so ``.to()`` and loading a state_dict
    are seen). It is not registered in the model: the parameter is."""

    def __init__(self, owner: nn.Module, name: str, expression: str):
        super().__init__()
        object.__setattr__(self, "owner", owner)  # a reference, not a child module
        self.name, self.expression = name, expression

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _expression(self.expression)(x, getattr(self.owner, self.name))

    def extra_repr(self) -> str:
        return f"{self.name!r}, {self.expression!r}"


def factory_of(layer, call):
    """The constructor a TorchCall names: the layer's own module (``Layer.torch_module``) when
    the call names it, else the ``torch.nn`` class."""
    own = layer.own_module_for(call)
    return own_class(own) if own is not None else getattr(nn, call.cls)


class GraphModule(nn.Module):
    """A network built from a cnnspec graph."""

    def __init__(self, graph: Graph, input_shape=None):
        super().__init__()
        shape = tuple(input_shape or graph.input_shape)
        facts = shapes_only(graph, shape, strict=True).facts
        self.spec_name = graph.name
        self._plan: list[tuple[str, nn.Module, tuple[str, ...]]] = []
        self._held: set[str] = set()  # the nodes whose parameter their parent holds
        for node in graph.nodes:
            bare = node.layer.bare_parameter(facts[node.name].inputs)
            if bare is not None:
                module = self._hold(node, bare)
            else:
                call = node.layer.torch_call(facts[node.name].inputs)
                module = factory_of(node.layer, call)(*call.args, **call.kwargs)
                self._attach(node, module)
            if not node.trainable:
                module.requires_grad_(False)
            self._plan.append((node.name, module, node.inputs))
        last_use = {}
        for step, (name, _, inputs) in enumerate(self._plan):
            last_use[name] = step  # an output nothing reads is dropped at once
            for src in inputs:
                last_use[src] = step
        self._release = [
            tuple(src for src in dict.fromkeys((*inputs, name)) if last_use[src] == step)
            for step, (name, _, inputs) in enumerate(self._plan)
        ]
        self._output = graph.output
        self._outputs = dict(graph.outputs)  # name -> node; {} for the one unnamed output
        self._as_tuple = graph.outputs_list
        self._kept = set(graph.output_nodes())

    def _hold(self, node, bare) -> HeldParameter:
        """Register a bare layer's parameter on its parent, under the node's own name."""
        owner, leaf = self._parent(node)
        parameter = nn.Parameter(torch.full(tuple(bare.shape), float(bare.init)),
                                 requires_grad=node.trainable)
        owner.register_parameter(leaf, parameter)
        self._held.add(node.name)
        return HeldParameter(owner, leaf, bare.expression)

    def _attach(self, node, module: nn.Module) -> None:
        owner, leaf = self._parent(node)
        owner._modules.pop(leaf, None)
        owner.add_module(leaf, module)

    def _parent(self, node) -> tuple[nn.Module, str]:
        """The module holding the node (made, as ``nn.Sequential``, where missing) and the
        node's own name in it, checked to be free."""
        name = node if isinstance(node, str) else node.name
        *parents, leaf = name.split(".")
        owner: nn.Module = self

        def check(part: str) -> None:
            if part not in owner._modules and hasattr(owner, part):  # a name this torch has taken
                raise SpecStructureError(
                    f"node name '{name}': '{part}' is an attribute of {type(owner).__name__} in this "
                    "PyTorch, so it cannot name a module", getattr(node, "pos", None),
                    hint=f"rename it, e.g. '{part.strip('_') or 'layer'}_'")

        for part in parents:
            check(part)
            child = owner._modules.get(part)
            if child is None:
                child = nn.Sequential()
                owner.add_module(part, child)
            owner = child
        check(leaf)
        return owner, leaf

    def forward(self, x: torch.Tensor):
        """The output tensor; with named outputs a dict of them by name (as torchvision's
        segmentation models return), with listed ones a tuple."""
        values = {INPUT: x}
        for (name, module, inputs), release in zip(self._plan, self._release):
            values[name] = module(*(values[src] for src in inputs))
            for src in release:
                if src not in self._kept:
                    del values[src]
        if not self._outputs:
            return values[self._output]
        if self._as_tuple:
            return tuple(values[node] for node in self._outputs.values())
        return {name: values[node] for name, node in self._outputs.items()}

    def nodes(self):
        """(node name, module) in execution order."""
        return [(name, module) for name, module, _ in self._plan]

    def node_parameters(self, name: str) -> list:
        """The parameters of node ``name``: its module's, or a bare layer's, which its parent
        module holds at the node's key."""
        if name in self._held:
            return [self.get_parameter(name)]
        return list(next(module for node, module, _ in self._plan if node == name).parameters())

    def replace_node(self, name: str, module: nn.Module) -> None:
        """Run ``module`` in place of node ``name`` (e.g. to linearise a model for measuring
        receptive fields)."""
        index = next(i for i, (node, _, _) in enumerate(self._plan) if node == name)
        self._plan[index] = (name, module, self._plan[index][2])
        if name not in self._held:  # a bare layer's parameter stays where it is
            self._attach(name, module)


def to_torch(graph: Graph, input_shape=None) -> GraphModule:
    """The graph as an ``nn.Module`` whose module names are the node names."""
    return GraphModule(graph, input_shape)
