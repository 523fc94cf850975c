"""Where names are made and expressions are evaluated while a spec expands: the
:class:`Scope`, the rules for a node's own name, the evaluation of expressions and of
mappings of them (vars, block arguments), the reading of one list item, and the limits of an
expansion. The expander and the composites both build on it; it knows neither."""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field

from cnnspec.errors import ExpressionError, Position, SpecStructureError, UnknownNameError, did_you_mean
from cnnspec.frontend import expr
from cnnspec.frontend.source import LDict
from cnnspec.layers.registry import lookup
from cnnspec.util.names import IDENTIFIER as NAME
from cnnspec.util.names import is_node_name, taken_by_torch

NODE_KEYS = ("name", "trainable", "from", "if")

#: The most nodes a spec may expand to: more than twice the deepest published CNNs (ResNet-1202
#: has about 4,000 layers), and where analysing, checking and sizing still take about a second.
MAX_NODES = 10_000
#: The deepest nesting of composites and blocks.
MAX_DEPTH = 64
#: The most block and repeat arguments evaluated while expanding one spec (each instance of a
#: block evaluates all of its arguments).
MAX_ARGUMENTS = 50_000


@dataclass
class Scope:
    """Where names are made and expressions evaluated: a name prefix, the names taken in it,
    the variables visible, and whether its nodes train."""

    prefix: str
    values: dict
    trainable: bool = True
    parent: Scope | None = None
    depth: int = 0
    used: dict = field(default_factory=dict)
    #: first parts of the dotted names used here ("0" for "0.1"), which plain names must avoid
    heads: set = field(default_factory=set)

    def child(self, name: str, values: dict | None = None, trainable: bool = True) -> Scope:
        return Scope(f"{self.prefix}{name}.", self.values if values is None else values,
                     self.trainable and trainable, self, self.depth + 1)

    def claim(self, leaf: str, pos: Position) -> str:
        self.check_free(leaf, pos)
        self.used[leaf] = pos
        if "." in leaf:
            self.heads.add(leaf.split(".", 1)[0])
        return self.prefix + leaf

    def check_free(self, leaf: str, pos: Position) -> None:
        for part in leaf.split("."):
            if taken_by_torch(part):
                what = ("a Python special name" if part.startswith("__") else
                        "an attribute of torch.nn.Module or of the containers holding the layers")
                raise SpecStructureError(
                    f"node name '{self.prefix}{leaf}': '{part}' is {what}, so PyTorch cannot "
                    "register a module by that name", pos,
                    hint=f"rename it, e.g. '{part.strip('_') or 'layer'}_'")
        head = leaf.split(".", 1)[0]
        clash = None
        if "." in leaf and head in self.used:
            clash = head
        elif leaf in self.heads:
            clash = next(u for u in self.used if u.startswith(leaf + "."))
        if clash is not None:
            raise SpecStructureError(
                f"node name '{self.prefix}{leaf}' clashes with '{self.prefix}{clash}': one would "
                "be a module inside the other", pos, hint="give one of them another 'name'")
        if leaf in self.used:
            first = self.used[leaf]
            raise SpecStructureError(
                f"duplicate node name '{self.prefix}{leaf}' (first made at line {first.line})", pos,
                hint="give one of them another 'name'",
            )

    def chain(self):
        scope = self
        while scope is not None:
            yield scope
            scope = scope.parent


def is_leaf(name) -> bool:
    """A node's own name: a PyTorch module name segment (``conv1``, ``0``, ``block1-0``)."""
    return is_node_name(name)


class LayerType(str):
    """A block or repeat argument that names a layer type (``activation: hardswish``): items
    written with the argument's name as their type are that layer (``- activation``)."""


def argument(raw, values, pos: Position):
    """A block or repeat argument's value: a number or true/false as written; an expression
    evaluated; the name of a layer type that is no variable as a :class:`LayerType`; a list of
    numbers or expressions (``kernel: [1, 7]``) as a tuple of their values."""
    if isinstance(raw, LayerType):
        return raw
    if isinstance(raw, str):
        name = raw.strip()
        if name not in values and lookup(name) is not None:
            return LayerType(name)
        return evaluate(raw, values, pos)
    if isinstance(raw, (list, tuple)):
        if not raw or not all(isinstance(v, (str, int, float)) and not isinstance(v, LayerType)
                              for v in raw):
            raise SpecStructureError("a list argument holds numbers or expressions, e.g. [1, 7]", pos)
        return tuple(evaluate(v, values, pos) if isinstance(v, str) else v for v in raw)
    return raw


def evaluate(text: str, values, pos: Position):
    try:
        return expr.evaluate(text, values)
    except expr.ExprError as exc:
        raise ExpressionError(exc.message, pos, exc.hint) from None


def evaluate_mapping(raw: LDict, base, overrides: dict, path: str, given_pos: dict | None = None) -> dict:
    """Evaluate a mapping of names to numbers or expressions (vars, block args), each name
    after the names its expression uses, whatever their order. ``overrides`` replace raw values
    (already numbers, or expression text); ``base`` holds the names visible besides."""
    return _MappingEvaluation(raw, base, overrides, path, given_pos).run()


class _MappingEvaluation:
    """One evaluation of a mapping (:func:`evaluate_mapping`): the values found so far, seen
    from the expressions through ``scope`` (before ``base``)."""

    __slots__ = ("raw", "overrides", "path", "given_pos", "names", "values", "scope")

    def __init__(self, raw: LDict, base, overrides: dict, path: str, given_pos: dict | None):
        self.raw, self.overrides, self.path, self.given_pos = raw, overrides, path, given_pos
        self.names = set(raw)
        self.values: dict = {}
        self.scope = ChainMap(self.values, base)

    def run(self) -> dict:
        raw, values = self.raw, self.values
        for name in raw:
            if not isinstance(name, str) or not NAME.match(name) or name in expr.FUNCTIONS:
                raise SpecStructureError(
                    f"'{name}' cannot be a variable name", raw.position(name).at(f"{self.path}.{name}"),
                    hint="use letters, digits and _, not starting with a digit, and no function name",
                )
        for name in raw:
            if name not in values:
                self.resolve(name)
        return {name: values[name] for name in raw}

    def where(self, name: str) -> Position:
        return (self.given_pos or {}).get(name) or self.raw.value_position(name).at(f"{self.path}.{name}")

    def first_visit(self, name: str) -> list:
        """Check a name's value; the names of this mapping its expression uses."""
        value = self.overrides[name] if name in self.overrides else self.raw[name]
        if isinstance(value, (LayerType, tuple)) or (isinstance(value, str) and _names_type(value)):
            return []
        if isinstance(value, list):
            return sorted(set().union(*(_free(v, self.where(name)) for v in value)) & self.names)
        if isinstance(value, str):
            try:
                used = expr.free_names(value)
            except expr.ExprError as exc:
                raise ExpressionError(exc.message, self.where(name), exc.hint) from None
            return sorted((used & self.names) - {name})
        if not isinstance(value, (bool, int, float)):
            raise SpecStructureError(
                f"'{name}' must be a number, true/false or an expression, got {type(value).__name__}",
                self.where(name))
        return []

    def resolve(self, start: str) -> None:
        """Evaluate ``start`` after the names it uses, depth first, without recursion (a chain
        of 20,000 vars is as fine as a short one), in time linear in the number of names."""
        values, overrides, raw = self.values, self.overrides, self.raw
        stack, on_stack, pending = [start], {start}, {}
        while stack:
            name = stack[-1]
            if name not in pending:
                pending[name] = iter(self.first_visit(name))
            for other in pending[name]:
                if other in values:
                    continue
                if other in on_stack:
                    cycle = " -> ".join([*stack[stack.index(other):], other])
                    raise ExpressionError(f"{self.path} refer to each other in a cycle: {cycle}",
                                          raw.value_position(stack[0]).at(f"{self.path}.{stack[0]}"))
                stack.append(other)
                on_stack.add(other)
                break
            else:
                value = overrides[name] if name in overrides else raw[name]
                values[name] = argument(value, self.scope, self.where(name))
                stack.pop()
                on_stack.discard(name)


def _names_type(text: str) -> bool:
    return lookup(text.strip()) is not None


def _free(value, pos: Position) -> frozenset:
    if not isinstance(value, str):
        return frozenset()
    try:
        return expr.free_names(value)
    except expr.ExprError as exc:
        raise ExpressionError(exc.message, pos, exc.hint) from None


def split_item(item, pos: Position):
    """A list item is ``type`` or ``{type: settings}``; returns (type, settings, position)."""
    if isinstance(item, str):
        return item, None, pos
    if isinstance(item, LDict) and len(item) == 1:
        (type_name,) = item
        return str(type_name), item[type_name], item.value_position(type_name)
    if isinstance(item, LDict) and len(item) > 1:
        keys = ", ".join(map(str, item))
        raise SpecStructureError(
            f"a layer is written as one key, its type; this item has {len(item)} ({keys})", pos,
            hint="put settings under the type: '- conv2d: {out: 64, kernel: 3, name: conv1}'",
        )
    raise SpecStructureError(
        f"a layer must be a type name or a one-key mapping, got {type(item).__name__}", pos,
        hint="e.g. '- relu' or '- conv2d: {out: 64, kernel: 3}'",
    )


def check_keys(mapping: LDict, allowed, path: str, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise UnknownNameError(
                f"{what} has no setting '{key}'", mapping.position(key).at(f"{path}.{key}"),
                hint=did_you_mean(str(key), allowed) or f"{what} settings: " + ", ".join(allowed),
            )
