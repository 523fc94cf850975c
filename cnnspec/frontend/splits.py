"""Items with several outputs: ``split`` and ``chunk`` cut the channels into pieces, as
``torch.split`` and ``torch.chunk`` do, and the items after them read a piece by its index or
name (``from: parts.0``, ``from: parts.left``). Each piece is one ``slice`` node of a group
named for the item; the group itself has no single output, so an item must say which piece
it reads."""

from __future__ import annotations

from cnnspec.errors import SpecStructureError
from cnnspec.frontend.items import Item, named_scope, one_source, settings
from cnnspec.frontend.scope import evaluate, is_leaf
from cnnspec.frontend.source import LList
from cnnspec.layers import lookup
from cnnspec.util import dims


def expand_split(ex, item: Item) -> str:
    """``split: {sizes: 58}`` (pieces of 58 channels, the last one smaller if need be) or
    ``split: {sizes: [24, 40]}`` (pieces of these sizes, which add up to the channels)."""
    body = settings(item.body, item, "split", ("sizes", "names"), ("sizes",))
    source = one_source(item.sources, "split", item.pos)
    channels = _channels(ex, source, item, "split")
    raw = body["sizes"]
    at = body.value_position("sizes").at(f"{item.pos.path}.split.sizes")
    if isinstance(raw, list):
        sizes = [_count(ex, item, v, at, "sizes") for v in raw]
        if not sizes or sum(sizes) != channels:
            raise SpecStructureError(
                f"split sizes {sizes} add up to {sum(sizes)}, but the input has {channels} channels", at,
                hint="give sizes that add up to the channels, or one size for equal pieces")
    else:
        size = _count(ex, item, raw, at, "sizes")
        sizes = [min(size, channels - start) for start in range(0, channels, size)]
    return _pieces(ex, item, body, source, sizes, "split")


def expand_chunk(ex, item: Item) -> str:
    """``chunk: {chunks: 2}``: as ``torch.chunk``, pieces of ceil(C / chunks) channels, the
    last one smaller (so there may be fewer than ``chunks`` pieces)."""
    body = settings(item.body, item, "chunk", ("chunks", "names"), ("chunks",))
    source = one_source(item.sources, "chunk", item.pos)
    channels = _channels(ex, source, item, "chunk")
    at = body.value_position("chunks").at(f"{item.pos.path}.chunk.chunks")
    chunks = _count(ex, item, body["chunks"], at, "chunks")
    size = -(-channels // chunks)
    sizes = [min(size, channels - start) for start in range(0, channels, size)]
    return _pieces(ex, item, body, source, sizes, "chunk")


def _channels(ex, source: str, item: Item, kind: str) -> int:
    shape = ex.shapes[source]
    if len(shape) < 2 or not isinstance(dims.to_int(shape[0]), int):
        raise SpecStructureError(
            f"{kind} cuts the channels of a (C, …) feature map, got shape "
            f"{'x'.join(map(dims.fmt, shape))}", item.pos)
    return dims.to_int(shape[0])


def _count(ex, item: Item, raw, at, key: str) -> int:
    value = evaluate(raw, ex.item_values(item.scope, item.sources), at) if isinstance(raw, str) else raw
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecStructureError(f"{key} must be positive integers, got {value!r}", at)
    return value


def _pieces(ex, item: Item, body, source: str, sizes: list, kind: str) -> str:
    names = _names(body, len(sizes), item, kind)
    group = named_scope(item.scope, item.leaf, item.pos, item.trainable, ex=ex, kind=kind)
    pieces, start = [], 0
    for name, size in zip(names, sizes):
        layer = lookup("slice")(start=start, stop=start + size)
        pieces.append(ex.add_node(group.claim(name, item.pos), layer, [source], group.trainable,
                                  item.pos))
        start += size
    full = group.prefix[:-1]
    ex.multi[full] = pieces
    return full


def _names(body, count: int, item: Item, kind: str) -> list[str]:
    if "names" not in body:
        return [str(i) for i in range(count)]
    names = body["names"]
    at = body.value_position("names").at(f"{item.pos.path}.{kind}.names")
    if not isinstance(names, LList) or len(names) != count or not all(is_leaf(n) for n in names):
        raise SpecStructureError(
            f"{kind} gives {count} pieces, so names must be a list of {count} node names, got "
            f"{names!r}", at, hint=f"e.g. names: [{', '.join(f'part{i}' for i in range(count))}]")
    return list(names)
