"""Composite items: groups of layers written as one item of a layer list.

- ``sequential``: a named group of layers in a row (an ``nn.Sequential``).
- ``residual``: a main path plus a shortcut (identity, explicit, or an automatic 1x1 conv +
  batch norm projection when the shape changes), merged by add (or concat, mul).
- ``branches``: parallel paths from one input, merged by concat (or add, mul): Inception.
- ``repeat``: a block or a layer list repeated, with per-repeat arguments (``first:`` for the
  first repeat only; ``i`` is the repeat index).
- user ``blocks``: parameterised layer lists defined once under ``blocks:``.
- ``squeeze_excitation``: torchvision's SqueezeExcitation (avgpool, fc1, activation, fc2,
  gate, and the product with the input).

Each function expands one item and returns the name of its output node.
"""

from __future__ import annotations

import re
from collections import ChainMap

from cnnspec.errors import BudgetError, Position, SpecStructureError, UnknownNameError, did_you_mean
from cnnspec.frontend.scope import (
    MAX_NODES,
    NAME,
    NODE_KEYS,
    Scope,
    check_keys,
    evaluate,
    evaluate_mapping,
    is_leaf,
)
from cnnspec.frontend.source import LDict, LList
from cnnspec.layers import LAYERS, lookup
from cnnspec.util import dims

MERGES = ("add", "concat", "mul")
SHORTCUTS = ("auto", "identity", "projection", "if_same")


def _settings(body, body_pos: Position, pos: Position, kind: str, keys: tuple, required=()) -> LDict:
    here = f"{pos.path}.{kind}"
    if not isinstance(body, LDict):
        raise SpecStructureError(f"{kind} takes a mapping of settings", body_pos.at(here),
                                 hint=f"see docs/spec.md, '{kind}'")
    check_keys(body, (*keys, *NODE_KEYS), here, kind)
    for key in required:
        if key not in body:
            raise SpecStructureError(f"{kind} needs '{key}'", body_pos.at(here))
    return body


def _one_source(sources: list[str], kind: str, pos: Position) -> str:
    if len(sources) != 1:
        raise SpecStructureError(f"{kind} takes one input, 'from' names {len(sources)}", pos)
    return sources[0]


def _scope_for(scope: Scope, body: LDict, leaf: str, pos: Position, trainable: bool,
               ex=None, kind: str = "") -> Scope:
    """A named composite opens a scope; an unnamed residual or branches names its nodes in
    the enclosing scope (so a block whose body is one residual reads ``layer1.0.conv1``)."""
    if "name" in body:
        return _named_scope(scope, leaf, pos, trainable, ex=ex, kind=kind)
    return Scope(scope.prefix, scope.values, scope.trainable and trainable, scope.parent,
                 scope.depth + 1, scope.used, scope.heads)


def _named_scope(scope: Scope, leaf: str, pos: Position, trainable: bool, values=None,
                 ex=None, kind: str = "", args: dict | None = None) -> Scope:
    """A scope named ``leaf``; with ``ex``, the group is recorded for the emitter (its kind:
    a composite or a block name, and a block's evaluated arguments)."""
    full = scope.claim(leaf, pos)
    if ex is not None:
        ex.groups[full] = (kind, dict(args or {}))
    return scope.child(leaf, values, trainable)


def _choice(body: LDict, key: str, choices: tuple, default: str, pos: Position) -> str:
    value = body.get(key, default)
    if value not in choices:
        raise SpecStructureError(
            f"{key} must be one of {', '.join(choices)}, got {value!r}",
            body.value_position(key).at(f"{pos.path}.{key}"),
            hint=did_you_mean(str(value), choices),
        )
    return value


def _leaf(body: LDict, key: str, default: str, pos: Position) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not NAME.match(value):
        raise SpecStructureError(f"{key} must be a name, got {value!r}",
                                 body.value_position(key).at(f"{pos.path}.{key}"))
    return value


def _merge(ex, merge: str, scope: Scope, leaf: str, sources: list[str], pos: Position) -> str:
    return ex.add_node(scope.claim(leaf, pos), lookup(merge)(), sources, scope.trainable, pos)


# --------------------------------------------------------------------------- sequential


def expand_sequential(ex, body, body_pos, pos, scope, leaf, sources, trainable) -> str:
    body = _settings(body, body_pos, pos, "sequential", ("layers",), ("layers",))
    child = _named_scope(scope, leaf, pos, trainable, ex=ex, kind="sequential")
    return ex.expand_list(body["layers"], child, _one_source(sources, "sequential", pos),
                          f"{pos.path}.sequential.layers")


# --------------------------------------------------------------------------- residual


def expand_residual(ex, body, body_pos, pos, scope, leaf, sources, trainable) -> str:
    keys = ("layers", "shortcut", "shortcut_name", "merge", "merge_name", "after")
    body = _settings(body, body_pos, pos, "residual", keys, ("layers",))
    here = f"{pos.path}.residual"
    inner = _scope_for(scope, body, leaf, pos, trainable, ex, "residual")
    source = _one_source(sources, "residual", pos)
    first_node = len(ex.nodes)
    main = ex.expand_list(body["layers"], inner, source, f"{here}.layers")
    main_nodes = ex.nodes[first_node:]
    merge = _choice(body, "merge", MERGES, "add", pos)
    shortcut_name = _leaf(body, "shortcut_name", "downsample", pos)
    shortcut = body.get("shortcut", "auto")
    at = body.value_position("shortcut").at(f"{here}.shortcut") if "shortcut" in body else pos
    if isinstance(shortcut, LList):
        side_scope = _named_scope(inner, shortcut_name, at, True, ex=ex, kind="sequential")
        side = ex.expand_list(shortcut, side_scope, source,
                              f"{here}.shortcut")
    elif shortcut not in SHORTCUTS:
        raise SpecStructureError(
            f"shortcut must be a list of layers or one of {', '.join(SHORTCUTS)}, got {shortcut!r}", at,
            hint=did_you_mean(str(shortcut), SHORTCUTS),
        )
    elif shortcut == "identity" or (shortcut != "projection" and ex.shapes[source] == ex.shapes[main]):
        side = source
    elif shortcut == "if_same":
        side = None
    else:
        side = _projection(ex, inner, shortcut_name, source, main, main_nodes, at)
    out = main if side is None else _merge(ex, merge, inner, _leaf(body, "merge_name", merge, pos),
                                           [side, main], pos)
    if "after" in body:
        count = len(body["layers"])
        out = ex.expand_list(body["after"], inner, out, f"{here}.after",
                             default_name=lambda i: str(count + i))
    return out


def _projection(ex, scope: Scope, name: str, source: str, main: str, main_nodes,
                pos: Position) -> str:
    """1x1 conv + batch norm to the main path's channels, with the stride that maps the
    input's size onto the main path's output size (per axis: the smallest s with
    ⌊(n − 1)/s⌋ + 1 = m)."""
    target, start = ex.shapes[main], ex.shapes[source]
    if len(target) != 3 or len(start) != 3:
        raise SpecStructureError("a projection shortcut needs (C, H, W) tensors on both sides", pos)
    stride = []
    for n, m in zip(start[1:], target[1:]):
        step = _stride_between(n, m)
        if step is None:
            raise SpecStructureError(
                f"no 1x1 convolution stride maps the shortcut's size {dims.fmt(n)} onto the main "
                f"path's {dims.fmt(m)}", pos, hint="give the shortcut layers explicitly")
        stride.append(step)
    side = _named_scope(scope, name, pos, True, ex=ex, kind="sequential")
    conv = lookup("conv2d")(out=target[0], kernel=(1, 1), stride=tuple(stride), bias=False)
    norm = lookup("batchnorm2d")()
    x = ex.add_node(side.claim("0", pos), conv, [source], side.trainable, pos)
    return ex.add_node(side.claim("1", pos), norm, [x], side.trainable, pos)


def _stride_between(n, m):
    """The smallest stride s with ⌊(n − 1)/s⌋ + 1 = m (formulas: the ratio, if it is one)."""
    if isinstance(n, int) and isinstance(m, int):
        if m == n:
            return 1
        if m < 1 or m > n:
            return None
        step = (n - 1) // m + 1
        return step if (n - 1) // step + 1 == m else None
    for s in range(1, 65):
        if dims.is_true(dims.floordiv(n - 1, s) + 1 - m == 0) or dims.normalize(
                dims.floordiv(n - 1, s) + 1 - m) == 0:
            return s
    return None


# --------------------------------------------------------------------------- branches


def expand_branches(ex, body, body_pos, pos, scope, leaf, sources, trainable) -> str:
    body = _settings(body, body_pos, pos, "branches", ("paths", "merge", "merge_name"), ("paths",))
    here = f"{pos.path}.branches"
    paths = body["paths"]
    if not isinstance(paths, LList) or len(paths) < 2:
        raise SpecStructureError("branches needs a list of two or more paths",
                                 body.value_position("paths").at(f"{here}.paths"))
    inner = _scope_for(scope, body, leaf, pos, trainable, ex, "branches")
    source = _one_source(sources, "branches", pos)
    outs = []
    # unnamed paths nest under their index, and under the item's own index when the branches
    # themselves are unnamed (their nodes then live in the enclosing scope)
    base = "" if "name" in body else f"{leaf}."
    for j, path in enumerate(paths):
        at = paths.position(j).at(f"{here}.paths[{j}]")
        if isinstance(path, LList):
            outs.append(ex.expand_list(path, inner, source, at.path,
                                       default_name=lambda i, j=j: f"{base}{j}.{i}"))
        else:
            outs.append(ex.expand_list(_as_list(path, at), inner, source, at.path,
                                       default_name=lambda i, j=j: f"{base}{j}"))
    merge = _choice(body, "merge", MERGES, "concat", pos)
    return _merge(ex, merge, inner, _leaf(body, "merge_name", merge, pos), outs, pos)


def _as_list(item, pos: Position) -> LList:
    return LList.of([item], pos)


# --------------------------------------------------------------------------- repeat and blocks

_TEMPLATE = re.compile(r"\{([^{}]*)\}")
#: The longest ``names`` template of a repeat (it is filled in for every repeat).
MAX_TEMPLATE = 200


def expand_repeat(ex, body, body_pos, pos, scope, leaf, sources, trainable) -> str:
    keys = ("times", "block", "layers", "args", "first", "names")
    body = _settings(body, body_pos, pos, "repeat", keys, ("times",))
    here = f"{pos.path}.repeat"
    if ("block" in body) == ("layers" in body):
        raise SpecStructureError("repeat needs either 'block' (a block name) or 'layers'", body_pos.at(here))
    outer = ex.item_values(scope, sources)
    times_pos = body.value_position("times").at(f"{here}.times")
    times = body["times"]
    times = evaluate(times, outer, times_pos) if isinstance(times, str) else times
    if isinstance(times, float) and times.is_integer():
        times = int(times)
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise SpecStructureError(f"times must be a positive integer, got {times!r}", times_pos)
    template = body.get("names", "{i}")
    if not isinstance(template, str):
        raise SpecStructureError("names must be a template such as 'denselayer{i + 1}'",
                                 body.value_position("names").at(f"{here}.names"))
    if len(template) > MAX_TEMPLATE:
        raise SpecStructureError(f"names is {len(template):,} characters long; a names template "
                                 f"has at most {MAX_TEMPLATE}",
                                 body.value_position("names").at(f"{here}.names"),
                                 hint="e.g. names: 'denselayer{i + 1}'")
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
    if "name" in body or "names" not in body:
        group = _named_scope(scope, leaf, pos, trainable, ex=ex, kind="repeat")
    else:  # unnamed, with a names template: the repeats are named in the enclosing scope
        group = _scope_for(scope, body, leaf, pos, trainable)
    prev = _one_source(sources, "repeat", pos)
    start = len(ex.nodes)
    for i in range(times):
        values = ChainMap({"i": i}, ex.item_values(scope, [prev]))
        given, given_pos = {}, {}
        for key in ("args",) + (("first",) if i == 0 else ()):
            ex.count_arguments(len(body.get(key, ())), pos, f"repeat {key}")
            for name, raw in body.get(key, {}).items():
                at = body[key].value_position(name).at(f"{here}.{key}.{name}")
                given[name] = evaluate(raw, values, at) if isinstance(raw, str) else raw
                given_pos[name] = at
        name = _repeat_name(template, values, i, body, pos)
        if "block" in body:
            prev = instantiate(ex, body["block"], given, given_pos, group, name, prev, True, pos)
        else:
            child = _named_scope(group, name, pos, True, ChainMap(given, values), ex=ex,
                                 kind="sequential", args=given)
            prev = ex.expand_list(body["layers"], child, prev, f"{here}.layers")
        if i == 0 and len(ex.nodes) + (len(ex.nodes) - start) * (times - 1) > MAX_NODES:
            raise BudgetError(
                f"repeat of {times:,} x {len(ex.nodes) - start} layers exceeds {MAX_NODES:,} layers",
                times_pos)
    return prev


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


def expand_block(ex, kind, body, body_pos, pos, scope, leaf, sources, trainable) -> str:
    here = f"{pos.path}.{kind}"
    if body is not None and not isinstance(body, LDict):
        raise SpecStructureError(f"block {kind} takes a mapping of its arguments", body_pos.at(here))
    source = _one_source(sources, kind, pos)
    values = ex.item_values(scope, [source])
    given, given_pos = {}, {}
    for name, raw in (body or {}).items():
        if name in NODE_KEYS:
            continue
        at = body.value_position(name).at(f"{here}.{name}")
        given[name] = evaluate(raw, values, at) if isinstance(raw, str) else raw
        given_pos[name] = at
    return instantiate(ex, kind, given, given_pos, scope, leaf, source, trainable, pos)


def instantiate(ex, kind: str, given: dict, given_pos: dict, scope: Scope, leaf: str,
                source: str, trainable: bool, pos: Position) -> str:
    """One instance of a user block: its args (defaults, then the given values) evaluated with
    the global vars and ``in_channels``, its layers named under ``leaf``."""
    block = ex.blocks[kind]
    args: LDict = block["args"]
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
    shape = ex.shapes[source]
    base = ChainMap({"in_channels": dims.normalize(shape[0])}, ex.global_vars)
    values = evaluate_mapping(args, base, given, f"blocks.{kind}.args", given_pos)
    child = _named_scope(scope, leaf, pos, trainable, ChainMap(values, base), ex=ex, kind=kind,
                         args=values)
    ex.active_blocks.append(kind)
    try:
        return ex.expand_list(block["layers"], child, source, f"blocks.{kind}.layers")
    finally:
        ex.active_blocks.pop()


# --------------------------------------------------------------------------- squeeze-excitation

def se_activations() -> tuple[str, ...]:
    """The layer types that can be squeeze-excitation's inner activation (``se_activation``),
    from the registry as it is now, in the order they declare."""
    ranked = sorted((cls.se_activation, i, name) for i, (name, cls) in enumerate(LAYERS.items())
                    if cls.se_activation is not None)
    return tuple(name for _, _, name in ranked)


SE_GATES = ("sigmoid", "hardsigmoid")


def expand_squeeze_excitation(ex, body, body_pos, pos, scope, leaf, sources, trainable) -> str:
    """torchvision's SqueezeExcitation: avgpool -> fc1 (1x1 conv) -> activation -> fc2 ->
    scale_activation, times the input. Module names match torchvision's."""
    if body is None:
        body = LDict.at(body_pos)
    keys = ("squeeze", "reduction", "activation", "gate")
    body = _settings(body, body_pos, pos, "squeeze_excitation", keys)
    here = f"{pos.path}.squeeze_excitation"
    source = _one_source(sources, "squeeze_excitation", pos)
    channels = ex.shapes[source][0]
    values = ex.item_values(scope, [source])
    if "squeeze" in body:
        raw, key = body["squeeze"], "squeeze"
    else:
        raw, key = body.get("reduction", 4), "reduction"
    at = body.value_position(key).at(f"{here}.{key}") if key in body else pos
    number = evaluate(raw, values, at) if isinstance(raw, str) else raw
    if isinstance(number, float) and number.is_integer():
        number = int(number)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        raise SpecStructureError(f"{key} must be a positive integer, got {number!r}", at)
    squeeze = number if key == "squeeze" else max(1, channels // number)
    activation = _choice(body, "activation", se_activations(), "relu", pos)
    gate = _choice(body, "gate", SE_GATES, "sigmoid", pos)
    inner = _named_scope(scope, leaf, pos, trainable, ex=ex, kind="squeeze_excitation")
    t = inner.trainable
    x = ex.add_node(inner.claim("avgpool", pos), lookup("adaptive_avgpool2d")(output_size=(1, 1)),
                    [source], t, pos)
    x = ex.add_node(inner.claim("fc1", pos), lookup("conv2d")(out=squeeze, kernel=(1, 1)), [x], t, pos)
    x = ex.add_node(inner.claim("activation", pos), lookup(activation)(), [x], t, pos)
    x = ex.add_node(inner.claim("fc2", pos), lookup("conv2d")(out=channels, kernel=(1, 1)), [x], t, pos)
    x = ex.add_node(inner.claim("scale_activation", pos), lookup(gate)(), [x], t, pos)
    return ex.add_node(inner.claim("scale", pos), lookup("mul")(), [x, source], t, pos)


COMPOSITES = {
    "sequential": expand_sequential,
    "residual": expand_residual,
    "branches": expand_branches,
    "repeat": expand_repeat,
    "squeeze_excitation": expand_squeeze_excitation,
}
