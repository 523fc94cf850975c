"""The graph IR: a DAG of named nodes, each holding one layer object."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnspec.errors import Position
from cnnspec.layers.base import Layer

INPUT = "input"
"""The name by which nodes refer to the network's input tensor."""


@dataclass(frozen=True)
class Node:
    """One layer in the graph.

    ``name`` is dotted and hierarchical (``features.0``, ``layer2.0.conv1``) and is also the
    module path in the built PyTorch model. ``inputs`` names the nodes (or :data:`INPUT`)
    whose outputs it consumes, in order."""

    name: str
    layer: Layer
    inputs: tuple[str, ...]
    trainable: bool = True
    pos: Position = field(default_factory=Position)

    @property
    def type_name(self) -> str:
        return self.layer.type_name

    @property
    def label(self) -> str:
        """How messages name the node: ``fc1 (linear)``, ``layer 5 (maxpool2d)``."""
        leaf = self.name.rsplit(".", 1)[-1]
        prefix = "layer " if leaf.isdigit() else ""
        return f"{prefix}{self.name} ({self.type_name})"


@dataclass
class Graph:
    """A network: its input shape (per sample), its nodes in topological order, its outputs.

    ``output`` is the node whose output the network returns, or with ``outputs`` (a spec's
    ``outputs:``) the first of them: ``outputs`` maps each output's name to its node, in order
    ({} for the one unnamed output); ``outputs_list`` says they were given as a list (the
    built model returns a tuple, else a dict)."""

    name: str
    input_shape: tuple
    nodes: list[Node]
    output: str
    file: str = "<spec>"
    vars: dict = field(default_factory=dict)
    input_pos: Position = field(default_factory=Position)
    #: named groups (dotted name -> (kind, block args)): sequential, repeat, residual,
    #: branches, squeeze_excitation, or a user block's name
    groups: dict = field(default_factory=dict)
    #: the input normalisation the spec declares: {"mean": (...), "std": (...)}, or None
    normalize: dict | None = None
    #: the spec's ``lint:`` section as written, with its position, or None; read (and
    #: validated) only by ``cnnspec check``, so that other commands never depend on it
    lint: tuple | None = None
    outputs: dict = field(default_factory=dict)
    outputs_list: bool = False

    def __post_init__(self) -> None:
        self._by_name = {node.name: node for node in self.nodes}

    def node(self, name: str) -> Node:
        return self._by_name[name]

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def named_outputs(self) -> list[tuple[str, str]]:
        """(output name, node) for every output: ``("output", graph.output)`` for one unnamed."""
        return list(self.outputs.items()) or [("output", self.output)]

    def output_nodes(self) -> list[str]:
        """The nodes whose outputs the network returns, in order."""
        return list(self.outputs.values()) or [self.output]

    def consumers(self) -> dict[str, list[str]]:
        """For every node name (and INPUT), the nodes that read its output."""
        users: dict[str, list[str]] = {INPUT: []}
        for node in self.nodes:
            users.setdefault(node.name, [])
            for src in node.inputs:
                users.setdefault(src, []).append(node.name)
        return users
