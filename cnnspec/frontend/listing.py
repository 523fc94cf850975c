"""Which items of a layer list are there: ``if:`` leaves an item out (it takes no index),
``group`` puts its items in place of itself (no naming level of its own), and an item written
with the name of a layer-type argument (``- act``) is a layer of that type."""

from __future__ import annotations

from cnnspec.errors import BudgetError, Position, SpecStructureError
from cnnspec.frontend.composites import COMPOSITES
from cnnspec.frontend.scope import MAX_DEPTH, LayerType, Scope, check_keys, evaluate, split_item
from cnnspec.frontend.source import LDict, LList
from cnnspec.layers import lookup

#: the item whose layers stand in the enclosing list in its place (no naming level of its own)
GROUP = "group"


def present(ex, items, path: str, scope: Scope, current):
    """(position, type, settings, settings' position) of each item that is there: items
    whose ``if`` holds (read with ``in_channels`` of ``current()``, the output so far),
    with the items of a ``group`` in its place; a type named by a layer-type argument
    (``- activation``) is that type."""
    lists = [_indexed(items, path, ex.file)]
    while lists:
        entry = next(lists[-1], None)
        if entry is None:
            lists.pop()
            continue
        item, pos = entry
        kind, body, body_pos = split_item(item, pos)
        if isinstance(body, LDict) and "if" in body and not holds(ex, body, scope, current(), pos):
            continue
        if kind == GROUP:
            if len(lists) > MAX_DEPTH:
                raise BudgetError(f"groups are nested more than {MAX_DEPTH} deep", pos)
            lists.append(_indexed(group_layers(body, body_pos, pos), f"{pos.path}.group.layers",
                                  ex.file))
            continue
        typed = kind in COMPOSITES or kind in ex.blocks or lookup(kind) is not None
        chosen = None if typed else scope.values.get(kind)
        yield pos, (str(chosen) if isinstance(chosen, LayerType) else kind), body, body_pos

def holds(ex, body: LDict, scope: Scope, prev: str, pos: Position) -> bool:
    """An item's ``if``: true/false, or an expression giving one."""
    raw, at = body["if"], body.value_position("if").at(pos.path + ".if")
    value = evaluate(raw, ex.item_values(scope, [prev]), at) if isinstance(raw, str) else raw
    if not isinstance(value, bool):
        raise SpecStructureError(f"if must be true or false, got {value!r}", at,
                                 hint="a condition such as 'stride == 1' or 'se_ratio > 0'")
    return value


def _indexed(items, path: str, file: str):
    """(item, position) of a non-empty layer list."""
    if not isinstance(items, LList) or not items:
        pos = getattr(items, "pos", Position(file)).at(path)
        raise SpecStructureError(f"{path} must be a non-empty list of layers", pos)
    for index, item in enumerate(items):
        yield item, items.position(index).at(f"{path}[{index}]")


def group_layers(body, body_pos: Position, pos: Position):
    """A ``group``'s layer list (its only setting besides ``if``)."""
    here = f"{pos.path}.{GROUP}"
    if not isinstance(body, LDict) or "layers" not in body:
        raise SpecStructureError(f"{GROUP} takes a mapping with 'layers'", body_pos.at(here),
                                 hint="e.g. '- group: {if: \"t != 1\", layers: [conv2d: {out: 8}, relu]}'")
    check_keys(body, ("layers", "if"), here, GROUP)
    return body["layers"]
