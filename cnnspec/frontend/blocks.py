"""User blocks and ``repeat``: an instance of a block defined under ``blocks:`` (its arguments
evaluated, its layers named under the item's name), and a block or a layer list repeated,
with per-repeat arguments (``first:`` for the first repeat only; ``i`` is the repeat index)
and names from a template."""

from __future__ import annotations

import re
from collections import ChainMap

from cnnspec.errors import BudgetError, Position, SpecStructureError, UnknownNameError, did_you_mean
from cnnspec.frontend.items import Item, named_scope, one_source, scope_for, settings
from cnnspec.frontend.scope import (
    MAX_NODES,
    NODE_KEYS,
    argument,
    evaluate,
    evaluate_mapping,
    is_leaf,
)
from cnnspec.frontend.source import LDict, LList
from cnnspec.util import dims

_TEMPLATE = re.compile(r"\{([^{}]*)\}")
#: The longest ``names`` template of a repeat (it is filled in for every repeat).
MAX_TEMPLATE = 200
_REPEAT_KEYS = ("times", "block", "layers", "args", "first", "names")


# --------------------------------------------------------------------------- repeat


def expand_repeat(ex, item: Item) -> str:
    body = settings(item.body, item, "repeat", _REPEAT_KEYS, ("times",))
    here = f"{item.pos.path}.repeat"
    if ("block" in body) == ("layers" in body):
        raise SpecStructureError("repeat needs either 'block' (a block name) or 'layers'",
                                 item.body_pos.at(here))
    times_pos = body.value_position("times").at(f"{here}.times")
    times = _times(body["times"], ex.item_values(item.scope, item.sources), times_pos)
    _check_template(body, here)
    _check_repeated(ex, body, here)
    if "name" in body or "names" not in body:
        group = named_scope(item.scope, item.leaf, item.pos, item.trainable, ex=ex, kind="repeat")
    else:  # unnamed, with a names template: the repeats are named in the enclosing scope
        group = scope_for(item, body)
    prev = one_source(item.sources, "repeat", item.pos)
    start = len(ex.nodes)
    for i in range(times):
        prev = _one_repeat(ex, item, body, group, i, prev)
        if i == 0 and len(ex.nodes) + (len(ex.nodes) - start) * (times - 1) > MAX_NODES:
            raise BudgetError(
                f"repeat of {times:,} x {len(ex.nodes) - start} layers exceeds {MAX_NODES:,} layers",
                times_pos)
    return prev


def _times(times, values, at: Position) -> int:
    """How many repeats: a positive integer, or an expression giving one."""
    times = evaluate(times, values, at) if isinstance(times, str) else times
    if isinstance(times, float) and times.is_integer():
        times = int(times)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise SpecStructureError(f"times must be a positive integer, got {times!r}", at)
    return times


def _check_template(body: LDict, here: str) -> None:
    template = body.get("names", "{i}")
    if not isinstance(template, str):
        raise SpecStructureError("names must be a template such as 'denselayer{i + 1}'",
                                 body.value_position("names").at(f"{here}.names"))
    if len(template) > MAX_TEMPLATE:
        raise SpecStructureError(f"names is {len(template):,} characters long; a names template "
                                 f"has at most {MAX_TEMPLATE}",
                                 body.value_position("names").at(f"{here}.names"),
                                 hint="e.g. names: 'denselayer{i + 1}'")


def _check_repeated(ex, body: LDict, here: str) -> None:
    """``args`` and ``first`` are mappings; ``block`` names a block."""
    for key in ("args", "first"):
        if key in body and not isinstance(body[key], LDict):
            raise SpecStructureError(f"{key} must be a mapping of names to values",
                                     body.value_position(key).at(f"{here}.{key}"))
    if "block" in body and not isinstance(body["block"], str):
        raise SpecStructureError(
            f"block must be the name of a block, got a {_what(body['block'])}",
            body.value_position("block").at(f"{here}.block"),
            hint="repeat a list of layers with 'layers: [...]', or name a block defined under 'blocks:'")
    if "block" in body and body["block"] not in ex.blocks:
        raise UnknownNameError(
            f"repeat: no block named {body['block']!r}", body.value_position("block").at(f"{here}.block"),
            hint=did_you_mean(str(body["block"]), ex.blocks) or "define it under 'blocks:'",
        )


def _one_repeat(ex, item: Item, body: LDict, group, i: int, prev: str) -> str:
    """Repeat ``i``, reading ``prev``: its arguments, its name, then its block or layers."""
    values = ChainMap({"i": i}, ex.item_values(item.scope, [prev]))
    given, given_pos = _repeat_args(ex, body, values, i, item.pos)
    name = _repeat_name(body.get("names", "{i}"), values, i, body, item.pos)
    if "block" in body:
        instance = Item(item.body, item.body_pos, item.pos, group, name, [prev], True)
        return instantiate(ex, body["block"], given, given_pos, instance)
    child = named_scope(group, name, item.pos, True, ChainMap(given, values), ex=ex,
                        kind="sequential", args=given)
    return ex.expand_list(body["layers"], child, prev, f"{item.pos.path}.repeat.layers")


def _repeat_args(ex, body: LDict, values, i: int, pos: Position) -> tuple[dict, dict]:
    """The arguments of repeat ``i`` (``args``, and ``first`` for the first), evaluated, and
    their positions."""
    given, given_pos = {}, {}
    for key in ("args",) + (("first",) if i == 0 else ()):
        ex.count_arguments(len(body.get(key, ())), pos, f"repeat {key}")
        for name, raw in body.get(key, {}).items():
            at = body[key].value_position(name).at(f"{pos.path}.repeat.{key}.{name}")
            given[name] = argument(raw, values, at)
            given_pos[name] = at
    return given, given_pos


def _what(value) -> str:
    return {LList: "list", LDict: "mapping"}.get(type(value), type(value).__name__)


def _repeat_name(template: str, values, i: int, body: LDict, pos: Position) -> str:
    """The name of repeat ``i`` from a template whose ``{…}`` parts are expressions of ``i``
    (from 0), ``n`` (from 1) and the vars: ``{i}``, ``denselayer{n}``, ``{i + 4}``."""
    at = body.value_position("names").at(f"{pos.path}.repeat.names") if "names" in body else pos

    def part(match) -> str:
        value = evaluate(match.group(1), ChainMap({"n": i + 1}, values), at)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value)

    name = _TEMPLATE.sub(part, template)
    if not is_leaf(name):
        raise SpecStructureError(
            f"names template {template!r} gives {name!r}, which cannot be a node name", at,
            hint="{i} is the repeat index from 0, {n} from 1; e.g. 'layer{n}' or '{i + 4}'",
        )
    return name


# --------------------------------------------------------------------------- blocks


def expand_block(ex, kind: str, item: Item) -> str:
    """An item naming a user block: ``- kind: {argument: value, ...}``."""
    here = f"{item.pos.path}.{kind}"
    body = item.body
    if body is not None and not isinstance(body, LDict):
        raise SpecStructureError(f"block {kind} takes a mapping of its arguments", item.body_pos.at(here))
    source = one_source(item.sources, kind, item.pos)
    values = ex.item_values(item.scope, [source])
    given, given_pos = {}, {}
    for name, raw in (body or {}).items():
        if name in NODE_KEYS:
            continue
        at = body.value_position(name).at(f"{here}.{name}")
        given[name] = argument(raw, values, at)
        given_pos[name] = at
    return instantiate(ex, kind, given, given_pos, item)


def instantiate(ex, kind: str, given: dict, given_pos: dict, item: Item) -> str:
    """One instance of a user block, reading the item's one source: its args (defaults, then
    the given values) evaluated with the global vars and ``in_channels``, its layers named
    under the item's name."""
    block = ex.blocks[kind]
    args: LDict = block["args"]
    pos = item.pos
    for name, at in given_pos.items():
        if name not in args:
            raise UnknownNameError(
                f"block {kind} has no argument '{name}'", at,
                hint=did_you_mean(name, args) or "arguments: " + (", ".join(map(str, args)) or "none"),
            )
    if kind in ex.active_blocks:
        chain = " -> ".join([*ex.active_blocks, kind])
        raise SpecStructureError(f"block {kind} contains itself ({chain})", pos)
    ex.count_arguments(len(args) + len(given), pos, f"block {kind}")
    source = item.sources[0]
    base = ChainMap({"in_channels": dims.normalize(ex.shapes[source][0])}, ex.global_vars)
    values = evaluate_mapping(args, base, given, f"blocks.{kind}.args", given_pos)
    child = named_scope(item.scope, item.leaf, pos, item.trainable, ChainMap(values, base), ex=ex,
                        kind=kind, args=values)
    ex.active_blocks.append(kind)
    try:
        return ex.expand_list(block["layers"], child, source, f"blocks.{kind}.layers")
    finally:
        ex.active_blocks.pop()
