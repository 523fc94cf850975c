"""What every composite item shares: the :class:`Item` the expander hands over (the item's
settings, where it stands, its scope, name, inputs and whether it trains), the checks of its
settings, the scopes a composite opens, and the merge node that ends residuals and branches."""

from __future__ import annotations

from dataclasses import dataclass

from cnnspec.errors import Position, SpecStructureError, did_you_mean
from cnnspec.frontend.scope import NAME, NODE_KEYS, Scope, check_keys
from cnnspec.frontend.source import LDict
from cnnspec.layers import lookup


@dataclass(frozen=True, slots=True)
class Item:
    """One composite item of a layer list, as the expander read it: its settings (``body``,
    at ``body_pos``), its position in the list, the scope it is expanded in, its own name
    (``leaf``), the nodes it reads and whether it trains."""

    body: object
    body_pos: Position
    pos: Position
    scope: Scope
    leaf: str
    sources: list
    trainable: bool


def settings(body, item: Item, kind: str, keys: tuple, required=()) -> LDict:
    """The item's settings, checked: a mapping with only ``keys`` (and the node keys), and
    every ``required`` one."""
    here = f"{item.pos.path}.{kind}"
    if not isinstance(body, LDict):
        raise SpecStructureError(f"{kind} takes a mapping of settings", item.body_pos.at(here),
                                 hint=f"see docs/spec.md, '{kind}'")
    check_keys(body, (*keys, *NODE_KEYS), here, kind)
    for key in required:
        if key not in body:
            raise SpecStructureError(f"{kind} needs '{key}'", item.body_pos.at(here))
    return body


def one_source(sources: list[str], kind: str, pos: Position) -> str:
    if len(sources) != 1:
        raise SpecStructureError(f"{kind} takes one input, 'from' names {len(sources)}", pos)
    return sources[0]


def scope_for(item: Item, body: LDict, ex=None, kind: str = "") -> Scope:
    """A named composite opens a scope; an unnamed residual or branches names its nodes in
    the enclosing scope (so a block whose body is one residual reads ``layer1.0.conv1``)."""
    scope = item.scope
    if "name" in body:
        return named_scope(scope, item.leaf, item.pos, item.trainable, ex=ex, kind=kind)
    return Scope(scope.prefix, scope.values, scope.trainable and item.trainable, scope.parent,
                 scope.depth + 1, scope.used, scope.heads)


def named_scope(scope: Scope, leaf: str, pos: Position, trainable: bool, values=None, *,
                ex=None, kind: str = "", args: dict | None = None) -> Scope:
    """A scope named ``leaf``; with ``ex``, the group is recorded for the emitter (its kind:
    a composite or a block name, and a block's evaluated arguments)."""
    full = scope.claim(leaf, pos)
    if ex is not None:
        ex.groups[full] = (kind, dict(args or {}))
    return scope.child(leaf, values, trainable)


def choice(body: LDict, key: str, choices: tuple, default: str, pos: Position) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise SpecStructureError(
            f"{key} must be one of {', '.join(choices)}, got {value!r}",
            body.value_position(key).at(f"{pos.path}.{key}"),
            hint=did_you_mean(str(value), choices),
        )
    return value


def leaf_setting(body: LDict, key: str, default: str, pos: Position) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not NAME.match(value):
        raise SpecStructureError(f"{key} must be a name, got {value!r}",
                                 body.value_position(key).at(f"{pos.path}.{key}"))
    return value


def merge_node(ex, merge: str, scope: Scope, leaf: str, sources: list[str], pos: Position) -> str:
    return ex.add_node(scope.claim(leaf, pos), lookup(merge)(), sources, scope.trainable, pos)
