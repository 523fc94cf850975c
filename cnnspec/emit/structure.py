"""The module tree of a generated file: groups of nodes (boxes) as the node names nest them,
and the generated classes with their instances."""

from __future__ import annotations

from dataclasses import dataclass, field

from cnnspec.emit import code
from cnnspec.emit.names import identifier
from cnnspec.ir.graph import Node

#: group kinds that are composites, not user blocks
COMPOSITE_KINDS = ("", "sequential", "repeat", "residual", "branches", "squeeze_excitation")


@dataclass
class Box:
    """A group of the module tree: its children (boxes or nodes) and every node below it."""

    name: str
    leaf: str
    children: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)
    callable: bool = False


@dataclass
class Instance:
    """One use of a class: its numeric slots, its child instances, and what it stands for."""

    cls: ClassSpec
    slots: list  # (value, origin, variable name or None)
    children: list  # child Instances, referenced by ChildRef(j) in the class structure
    args: dict
    in_channels: object
    params_values: list = field(default_factory=list)


@dataclass
class ClassSpec:
    """A generated class: the statements of its ``__init__`` (with slots and child references)
    and ``forward``, its instances, and once resolved its parameters and the expression each
    slot of the first instance (then each parameter of its children) is bound to."""

    name: str
    init: tuple
    forward: tuple
    chain: bool
    instances: list = field(default_factory=list)
    params: list = field(default_factory=list)
    bound: list = field(default_factory=list)
    children_names: set = field(default_factory=set)
    base: str = ""


class ModuleTree:
    """How the nodes group into boxes, which boxes run as a chain, and in what order a box's
    children run (a mixin of the Emitter: ``graph``, ``users``, ``index``)."""

    def tree(self) -> Box:
        root = Box("", "")
        boxes = {"": root}
        for node in self.graph.nodes:
            parts = node.name.split(".")
            box = root
            root.nodes.append(node)
            for i, part in enumerate(parts[:-1]):
                full = ".".join(parts[: i + 1])
                if full not in boxes:
                    boxes[full] = box.children[part] = Box(full, part)
                box = boxes[full]
                box.nodes.append(node)
            box.children[parts[-1]] = node
        returned = self.graph.output_nodes()
        for box in boxes.values():
            inside = {n.name for n in box.nodes}
            box.inputs = list(dict.fromkeys(s for n in box.nodes for s in n.inputs if s not in inside))
            box.outputs = [n.name for n in box.nodes if n.name in returned
                           or any(u not in inside for u in self.users[n.name])]
            steps = [self.index[n.name] for n in box.nodes]
            box.callable = (steps == list(range(steps[0], steps[0] + len(steps)))
                            and box.outputs == [box.nodes[-1].name] and len(box.inputs) == 1
                            and (box is root or not self.holds_no_module(box)))
        if self.graph.outputs:  # the model returns its named outputs, whichever node is last
            root.outputs = returned
            root.callable = len(root.inputs) == 1
        return root

    @staticmethod
    def is_inline(node: Node) -> bool:
        """Written as an expression in its parent's forward, with no module (merges)."""
        return node.layer.emitted_inline

    def bare(self, child):
        """A node's parameter when its parent holds it (``Layer.bare_parameter``): the parent's
        ``__init__`` registers it and its ``forward`` computes the layer; else None."""
        return child.layer.bare_parameter(self.facts[child.name].inputs) if isinstance(child, Node) else None

    def holds_no_module(self, child) -> bool:
        """An inline node, or a group of inline nodes only (a split's slices): its parent's
        ``__init__`` registers nothing for it."""
        if isinstance(child, Node):
            return self.is_inline(child)
        return all(self.holds_no_module(c) for c in child.children.values())

    def is_chain(self, box: Box) -> bool:
        """Its children run one after another, each reading the previous one's output (and
        the last one's is what it returns: not a model returning named outputs)."""
        if not box.callable or (box.name == "" and self.graph.outputs):
            return False
        previous = box.inputs[0]
        for child in box.children.values():
            if isinstance(child, Node):
                if self.is_inline(child) or self.bare(child) or list(child.inputs) != [previous]:
                    return False
                previous = child.name
            elif not child.callable or child.inputs != [previous]:
                return False
            else:
                previous = child.outputs[0]
        return True

    def is_block(self, box: Box) -> bool:
        kind, _ = self.graph.groups.get(box.name, ("", {}))
        return kind not in COMPOSITE_KINDS

    def steps(self, box: Box):
        """(attribute path, child) in execution order; a non-callable group's nodes one by one."""
        for name, child in sorted(box.children.items(), key=lambda kv: self.index[
                (kv[1] if isinstance(kv[1], Node) else kv[1].nodes[0]).name]):
            if isinstance(child, Node) or child.callable:
                yield [name], child
            else:
                yield from self.leaves(child, [name])

    def leaves(self, box: Box, path: list):
        """The steps of a non-callable group: its nodes, and its callable groups as one step
        each (a chain is an ``nn.Sequential``, which is called, never indexed by name)."""
        for name, child in box.children.items():
            if isinstance(child, Node) or child.callable:
                yield [*path, name], child
            else:
                yield from self.leaves(child, [*path, name])

    def readers(self, box: Box, name: str) -> int:
        inside = {n.name for n in box.nodes}
        return sum(1 for u in self.users[name] if u in inside)

    @staticmethod
    def access(path: list):
        """The child module at ``path``: ``self.a.b``, ``getattr(self, "0")``, ``self.a["b"]``."""
        node = code.SELF
        for i, part in enumerate(path):
            if identifier(part):
                node = code.Attribute(node, part)
            elif i == 0:
                node = code.Call(code.Name("getattr"), (code.SELF, code.Const(part)))
            else:  # inside an nn.ModuleDict holder
                node = code.Subscript(node, code.Const(part))
        return node
