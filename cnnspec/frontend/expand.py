"""Expansion: layer lists, names, references and layers, into graph nodes.

The :class:`Expander` walks a spec's layer lists and creates one :class:`Node` per layer.
It infers shapes as it goes, so that composites can decide by shape (a residual shortcut that
projects only when the shape changes) and expressions can use ``in_channels``, the channel
count of the item's input. Composite items (sequential, residual, branches, repeat, blocks,
squeeze_excitation) are expanded by :mod:`cnnspec.frontend.composites`; names, scopes and
expression evaluation are in :mod:`cnnspec.frontend.scope`.

Naming: a node's name is its scope's prefix plus its own name — the ``name`` it was given,
or its index in its list — so ``layer1.0.conv1`` is also the module path in the built model.
"""

from __future__ import annotations

from collections import ChainMap

from cnnspec.errors import BudgetError, Position, SpecStructureError, UnknownNameError, did_you_mean
from cnnspec.frontend.composites import COMPOSITES, Item, expand_block
from cnnspec.frontend.listing import GROUP, present
from cnnspec.frontend.scope import (
    MAX_ARGUMENTS,
    MAX_DEPTH,
    MAX_NODES,
    NODE_KEYS,
    Scope,
    is_leaf,
)
from cnnspec.frontend.settings import names_used, read_layer
from cnnspec.frontend.source import LDict
from cnnspec.ir.graph import INPUT, Graph, Node
from cnnspec.ir.infer import node_output
from cnnspec.layers import lookup
from cnnspec.layers.registry import all_names, suggest
from cnnspec.util import dims


class Expander:
    """Creates the nodes of one graph."""

    def __init__(self, input_shape: tuple, blocks: dict, file: str):
        self.input_shape = input_shape
        self.symbolic = any(dims.is_symbolic(d) for d in input_shape)
        self.blocks = blocks
        self.file = file
        self.nodes: list[Node] = []
        self.shapes: dict[str, tuple] = {INPUT: input_shape}
        #: group and block names, which references may use for their output node
        self.aliases: dict[str, str] = {}
        #: every named group: its kind (a composite, or the block's name) and a block's args
        self.groups: dict[str, tuple[str, dict]] = {}
        self.active_blocks: list[str] = []
        #: items with several outputs (split, chunk): the group's name -> its pieces' nodes
        self.multi: dict[str, list[str]] = {}
        #: block and repeat arguments evaluated so far (bounded by MAX_ARGUMENTS)
        self.arguments = 0
        #: layers already read, by _layer_key; the names each settings mapping's expressions use
        self._layers: dict = {}
        self._free_names: dict = {}

    def count_arguments(self, count: int, pos: Position, what: str) -> None:
        """Charge ``count`` argument evaluations to the spec's budget."""
        self.arguments += count
        if self.arguments > MAX_ARGUMENTS:
            raise BudgetError(
                f"{what}: the spec evaluates more than {MAX_ARGUMENTS:,} block and repeat arguments "
                "in all (every instance of a block evaluates each of its arguments)", pos,
                hint="give blocks fewer arguments, or use fewer instances")

    # ------------------------------------------------------------------ lists and items
    def expand_list(self, items, scope: Scope, source: str, path: str,
                    default_name=str) -> str:
        """Expand the items of a list in order, each reading the previous one's output (or
        what its ``from`` names); returns the last output. An item whose ``if`` is false is
        left out (it takes no index), and a ``group``'s items stand in the list in its place."""
        if scope.depth > MAX_DEPTH:
            raise BudgetError(f"composites are nested more than {MAX_DEPTH} deep", items.pos.at(path))
        outputs: list[str] = []
        prev = source

        def current() -> str:
            return outputs[-1] if outputs else source

        for pos, kind, body, body_pos in present(self, items, path, scope, current):
            settings = body if isinstance(body, LDict) else None
            sources = self.sources(settings, scope, outputs, source, prev, pos)
            name = self.leaf_name(settings, default_name(len(outputs)), pos)
            if settings is not None and "name" in settings:
                scope.check_free(name, settings.value_position("name").at(pos.path + ".name"))
            trainable = self.trainable(settings, pos, kind)
            item = Item(body, body_pos, pos, scope, name, sources, trainable)
            if kind in COMPOSITES:
                out = COMPOSITES[kind](self, item)
            elif kind in self.blocks:
                out = expand_block(self, kind, item)
            else:
                out = self.add_layer(kind, item)
            full = scope.prefix + name
            if full != out and scope.used.get(name) is not None:
                self.aliases[full] = out
            outputs.append(out)
            prev = out
        return prev

    def leaf_name(self, settings, default: str, pos: Position) -> str:
        """The node's own name: its ``name`` (an identifier, or a number as in torchvision's
        ``features.0``), else ``default`` (its index in the list)."""
        if settings is None or "name" not in settings:
            return default
        name = settings["name"]
        if isinstance(name, int) and not isinstance(name, bool) and name >= 0:
            return str(name)
        if not is_leaf(name) or name == INPUT:
            raise SpecStructureError(
                f"'{name}' cannot be a node name", settings.value_position("name").at(pos.path + ".name"),
                hint="use letters, digits, _ and single hyphens between them (conv1, 0, block1-0); "
                     "'input' is reserved",
            )
        return name

    def trainable(self, settings, pos: Position, kind: str = "") -> bool:
        if settings is None or "trainable" not in settings:
            return True
        value = settings["trainable"]
        if not isinstance(value, bool):
            path = f"{pos.path}.{kind}.trainable" if kind else f"{pos.path}.trainable"
            raise SpecStructureError("trainable must be true or false",
                                     settings.value_position("trainable").at(path))
        return value

    # ------------------------------------------------------------------ references
    def sources(self, settings, scope: Scope, outputs: list, list_input: str, prev: str,
                pos: Position) -> list[str]:
        """The inputs of an item: the previous output, or the nodes its ``from`` names."""
        if settings is None or "from" not in settings:
            self.check_single(prev, pos)
            return [prev]
        raw = settings["from"]
        at = settings.value_position("from").at(pos.path + ".from")
        refs = raw if isinstance(raw, list) else [raw]
        if not refs:
            raise SpecStructureError("from must name at least one node", at)
        return [self.resolve(ref, scope, outputs, list_input, at) for ref in refs]

    def resolve(self, ref, scope: Scope, outputs: list, list_input: str, pos: Position) -> str:
        """A reference: a negative int counts back in the current list (-1 = previous item);
        a name is looked up in the current scope, then the enclosing ones; ``input`` is the
        network's input."""
        if isinstance(ref, int) and not isinstance(ref, bool):
            index = len(outputs) + ref
            if ref >= 0 or index < -1:
                raise SpecStructureError(
                    f"from: {ref} does not point at an earlier item of this list "
                    f"(-1 is the previous item; at most -{len(outputs) + 1} reaches this list's input)",
                    pos,
                )
            found = list_input if index == -1 else outputs[index]
            self.check_single(found, pos, str(ref))
            return found
        if not isinstance(ref, str):
            raise SpecStructureError(f"from: {ref!r} is not a node name or a negative index", pos)
        if ref == INPUT:
            return INPUT
        for level in scope.chain():
            full = level.prefix + ref
            self.check_single(full, pos, ref)
            if full in self.shapes:
                return full
            if full in self.aliases:
                return self.aliases[full]
        visible = {n[len(scope.prefix):] if n.startswith(scope.prefix) else n
                   for n in (*self.shapes, *self.aliases)}
        raise UnknownNameError(
            f"from: no earlier node is named '{ref}'", pos,
            hint=did_you_mean(ref, visible)
            or "a node can only read nodes defined before it, so a graph cannot have cycles",
        )

    def check_single(self, name: str, pos: Position, ref: str | None = None) -> None:
        """An item reads one tensor: a split or chunk (several outputs) is read one piece at a
        time."""
        pieces = self.multi.get(name)
        if pieces is None:
            return
        leaf = (ref or name).rsplit(".", 1)[-1]
        shown = ", ".join(f"{ref or leaf}.{p.rsplit('.', 1)[-1]}" for p in pieces)
        raise SpecStructureError(
            f"{'from: ' + ref if ref else 'the previous item'} is {name!r}, which has "
            f"{len(pieces)} outputs; an item reads one of them", pos,
            hint=f"name the piece with from: {shown}")

    # ------------------------------------------------------------------ layers and nodes
    def item_values(self, scope: Scope, sources: list[str]):
        """The variables an item's settings see: its scope's, plus ``in_channels``."""
        shape = self.shapes.get(sources[0]) if sources else None
        if shape:
            return ChainMap({"in_channels": dims.normalize(shape[0])}, scope.values)
        return scope.values

    def add_layer(self, type_name: str, item: Item) -> str:
        """A node for a layer item (``- conv2d: {...}``)."""
        body, pos, scope, sources = item.body, item.pos, item.scope, item.sources
        cls = lookup(type_name)
        if cls is None:
            known = [*all_names(), *COMPOSITES, GROUP, *self.blocks]
            raise UnknownNameError(
                f"unknown layer type '{type_name}'", pos,
                hint=suggest(type_name) or did_you_mean(type_name, known)
                or "layer types: " + ", ".join(sorted(known)),
            )
        layer = self.make_layer(cls, type_name, body, item.body_pos, pos, self.item_values(scope, sources))
        self.check_arity(cls, type_name, sources, pos)
        return self.add_node(scope.claim(item.leaf, pos), layer, sources,
                             scope.trainable and item.trainable, pos)

    def check_arity(self, cls, type_name: str, sources: list[str], pos: Position) -> None:
        if cls.arity == 1 and len(sources) != 1:
            raise SpecStructureError(f"{type_name} takes one input, 'from' names {len(sources)}", pos)
        if cls.arity != 1 and len(sources) < cls.arity[0]:
            raise SpecStructureError(
                f"{type_name} merges {cls.arity[0]} or more inputs; name them with 'from'", pos,
                hint=f"e.g. '- {type_name}: {{from: [-1, skip]}}'",
            )

    def make_layer(self, cls, type_name: str, body, body_pos: Position, pos: Position, values):
        """The layer an item describes. An item read again with the same values for the names
        its settings use (a block's instances, a repeat) gets the same, immutable layer: its
        settings are read and checked once."""
        key = self._layer_key(cls, body, values)
        layer = self._layers.get(key) if key is not None else None
        if layer is None:
            layer = read_layer(cls, type_name, body, body_pos, pos, values)
            if key is not None:
                self._layers[key] = layer
        return layer

    def _layer_key(self, cls, body, values):
        """(class, the settings mapping, the values its expressions use), or None when the
        item cannot be told apart that way (shorthand settings, values that do not hash)."""
        if body is not None and not isinstance(body, LDict):
            return None
        if id(body) not in self._free_names:  # (the body is kept, so that its id stays its own)
            # a node's name, inputs and trainable flag are not the layer's: they do not count
            texts = _texts([v for k, v in body.items() if k not in NODE_KEYS]) if body else []
            self._free_names[id(body)] = (body, names_used(texts))
        names = self._free_names[id(body)][1]
        if names is None:
            return None
        if not names:
            return cls, id(body)
        # the type too: 3 and 3.0 are equal keys, but a kernel of 3.0 is refused; a name that
        # is no variable here (a choice such as padding: same) counts as absent
        key = (cls, id(body), tuple((type(v), v) for v in (values.get(n, _ABSENT) for n in names)))
        try:
            hash(key)
        except TypeError:
            return None
        return key

    def add_node(self, name: str, layer, sources: list[str], trainable: bool, pos: Position) -> str:
        node = Node(name, layer, tuple(sources), trainable, pos)
        self.nodes.append(node)
        if len(self.nodes) > MAX_NODES:
            raise BudgetError(f"the spec expands to more than {MAX_NODES:,} layers", pos,
                              hint="check repeats and YAML aliases that multiply the network")
        output = node_output(node, [self.shapes[s] for s in sources], self.input_shape,
                             self.symbolic, self.graph_so_far)
        self.shapes[name] = output
        return name

    def graph_so_far(self) -> Graph:
        """The nodes made so far as a graph (for the size hint of a shape error)."""
        return Graph("partial", self.input_shape, list(self.nodes), self.nodes[-1].name, self.file)


class _Absent:
    """A name with no value in the item's scope (in a layer-sharing key)."""


_ABSENT = _Absent()


def _texts(values: list) -> list:
    """Every string among settings' values, inside lists and mappings too (``kernel: [k, k]``
    evaluates each entry)."""
    found, stack = [], list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
    return found

