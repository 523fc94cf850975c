"""Composite items: groups of layers written as one item of a layer list.

- ``sequential``: a named group of layers in a row (an ``nn.Sequential``).
- ``residual``: a main path plus a shortcut (identity, explicit, or an automatic 1x1 conv +
  batch norm projection when the shape changes), merged by add (or concat, mul).
- ``branches``: parallel paths from one input, merged by concat (or add, mul): Inception.
- ``repeat`` and user ``blocks`` (:mod:`cnnspec.frontend.blocks`): a block or a layer list
  repeated, and parameterised layer lists defined once under ``blocks:``.
- ``squeeze_excitation``: torchvision's SqueezeExcitation (avgpool, fc1, activation, fc2,
  gate, and the product with the input).

Each function expands one :class:`~cnnspec.frontend.items.Item` and returns the name of its
output node.
"""

from __future__ import annotations

from cnnspec.errors import Position, SpecStructureError, did_you_mean
from cnnspec.frontend.blocks import expand_block as expand_block  # re-exported
from cnnspec.frontend.blocks import expand_repeat
from cnnspec.frontend.blocks import instantiate as instantiate  # re-exported
from cnnspec.frontend.items import Item as Item  # re-exported
from cnnspec.frontend.items import (
    choice,
    leaf_setting,
    merge_node,
    named_scope,
    one_source,
    scope_for,
    settings,
)
from cnnspec.frontend.scope import Scope, evaluate
from cnnspec.frontend.source import LDict, LList
from cnnspec.frontend.splits import expand_chunk, expand_split
from cnnspec.layers import LAYERS, lookup
from cnnspec.util import dims

MERGES = ("add", "concat", "mul")
SHORTCUTS = ("auto", "identity", "projection", "if_same")


# --------------------------------------------------------------------------- sequential


def expand_sequential(ex, item: Item) -> str:
    body = settings(item.body, item, "sequential", ("layers",), ("layers",))
    pos = item.pos
    child = named_scope(item.scope, item.leaf, pos, item.trainable, ex=ex, kind="sequential")
    return ex.expand_list(body["layers"], child, one_source(item.sources, "sequential", pos),
                          f"{pos.path}.sequential.layers")


# --------------------------------------------------------------------------- residual


def expand_residual(ex, item: Item) -> str:
    keys = ("layers", "shortcut", "shortcut_name", "merge", "merge_name", "after")
    body = settings(item.body, item, "residual", keys, ("layers",))
    pos = item.pos
    here = f"{pos.path}.residual"
    inner = scope_for(item, body, ex, "residual")
    source = one_source(item.sources, "residual", pos)
    main = ex.expand_list(body["layers"], inner, source, f"{here}.layers")
    merge = choice(body, "merge", MERGES, "add", pos)
    shortcut_name = leaf_setting(body, "shortcut_name", "downsample", pos)
    shortcut = body.get("shortcut", "auto")
    at = body.value_position("shortcut").at(f"{here}.shortcut") if "shortcut" in body else pos
    if isinstance(shortcut, LList):
        side_scope = named_scope(inner, shortcut_name, at, True, ex=ex, kind="sequential")
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
        side = _projection(ex, inner, shortcut_name, source, main, at)
    out = main
    if side is not None:
        out = merge_node(ex, merge, inner, leaf_setting(body, "merge_name", merge, pos), [side, main], pos)
    if "after" in body:
        count = len(body["layers"])
        out = ex.expand_list(body["after"], inner, out, f"{here}.after",
                             default_name=lambda i: str(count + i))
    return out


def _projection(ex, scope: Scope, name: str, source: str, main: str, pos: Position) -> str:
    """1x1 conv + batch norm to the main path's channels, with the stride that maps the
    input's size onto the main path's output size (per axis: the smallest s with
    ⌊(n − 1)/s⌋ + 1 = m); conv1d/2d/3d and batchnorm1d/2d/3d by the number of spatial axes."""
    target, start = ex.shapes[main], ex.shapes[source]
    rank = len(target) - 1
    if len(start) != len(target) or rank not in (1, 2, 3):
        raise SpecStructureError(
            "a projection shortcut needs (C, L), (C, H, W) or (C, D, H, W) tensors of the same "
            f"rank on both sides, got {_fmt_shape(start)} and {_fmt_shape(target)}", pos,
            hint="give the shortcut layers explicitly")
    stride = []
    for n, m in zip(start[1:], target[1:]):
        step = _stride_between(n, m)
        if step is None:
            raise SpecStructureError(
                f"no 1x1 convolution stride maps the shortcut's size {dims.fmt(n)} onto the main "
                f"path's {dims.fmt(m)}", pos, hint="give the shortcut layers explicitly")
        stride.append(step)
    side = named_scope(scope, name, pos, True, ex=ex, kind="sequential")
    conv = lookup(f"conv{rank}d")(out=target[0], kernel=(1,) * rank, stride=tuple(stride), bias=False)
    norm = lookup(f"batchnorm{rank}d")()
    x = ex.add_node(side.claim("0", pos), conv, [source], side.trainable, pos)
    return ex.add_node(side.claim("1", pos), norm, [x], side.trainable, pos)


def _fmt_shape(shape) -> str:
    return "x".join(dims.fmt(size) for size in shape)


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


def expand_branches(ex, item: Item) -> str:
    body = settings(item.body, item, "branches", ("paths", "merge", "merge_name"), ("paths",))
    pos = item.pos
    here = f"{pos.path}.branches"
    paths = body["paths"]
    if not isinstance(paths, LList) or len(paths) < 2:
        raise SpecStructureError("branches needs a list of two or more paths",
                                 body.value_position("paths").at(f"{here}.paths"))
    inner = scope_for(item, body, ex, "branches")
    source = one_source(item.sources, "branches", pos)
    outs = []
    # unnamed paths nest under their index, and under the item's own index when the branches
    # themselves are unnamed (their nodes then live in the enclosing scope)
    base = "" if "name" in body else f"{item.leaf}."
    for j, path in enumerate(paths):
        at = paths.position(j).at(f"{here}.paths[{j}]")
        if isinstance(path, LList):
            outs.append(ex.expand_list(path, inner, source, at.path,
                                       default_name=lambda i, j=j: f"{base}{j}.{i}"))
        else:
            outs.append(ex.expand_list(_as_list(path, at), inner, source, at.path,
                                       default_name=lambda i, j=j: f"{base}{j}"))
    merge = choice(body, "merge", MERGES, "concat", pos)
    return merge_node(ex, merge, inner, leaf_setting(body, "merge_name", merge, pos), outs, pos)


def _as_list(item, pos: Position) -> LList:
    return LList.of([item], pos)


# --------------------------------------------------------------------------- squeeze-excitation

def se_activations() -> tuple[str, ...]:
    """The layer types that can be squeeze-excitation's inner activation (``se_activation``),
    from the registry as it is now, in the order they declare."""
    ranked = sorted((cls.se_activation, i, name) for i, (name, cls) in enumerate(LAYERS.items())
                    if cls.se_activation is not None)
    return tuple(name for _, _, name in ranked)


SE_GATES = ("sigmoid", "hardsigmoid")


def expand_squeeze_excitation(ex, item: Item) -> str:
    """torchvision's SqueezeExcitation: avgpool -> fc1 (1x1 conv) -> activation -> fc2 ->
    scale_activation, times the input. Module names match torchvision's."""
    body = item.body
    if body is None:
        body = LDict.at(item.body_pos)
    keys = ("squeeze", "reduction", "activation", "gate")
    body = settings(body, item, "squeeze_excitation", keys)
    pos = item.pos
    here = f"{pos.path}.squeeze_excitation"
    source = one_source(item.sources, "squeeze_excitation", pos)
    channels = ex.shapes[source][0]
    values = ex.item_values(item.scope, [source])
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
    activation = choice(body, "activation", se_activations(), "relu", pos)
    gate = choice(body, "gate", SE_GATES, "sigmoid", pos)
    inner = named_scope(item.scope, item.leaf, pos, item.trainable, ex=ex, kind="squeeze_excitation")
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
    "split": expand_split,
    "chunk": expand_chunk,
}
