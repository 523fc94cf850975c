"""Chains of traced operations that are one layer of cnnspec (``cnnspec import``): a layer type
names the chain of layer types it is computed by (``Layer.imported_chain``: a channel shuffle
is a reshape, a permute and a reshape, as torchvision's ShuffleNet and timm write it) and
reads the chain's settings and shapes itself (``Layer.from_torch_chain``). A chain is folded
when each of its operations reads only the one before it and nothing else reads them."""

from __future__ import annotations

from collections import Counter

from cnnspec.layers import LAYERS
from cnnspec.layers.base import NotImportable
from cnnspec.torch.trace import INPUT


def fold_chains(nodes: list, input_shape: tuple) -> list:
    """The nodes with every chain a layer type reads replaced by that layer: the chain's last
    node (whose id the nodes after it read) becomes the layer, named after its type in the
    group of the chain's first node."""
    chains = [cls for cls in LAYERS.values() if cls.imported_chain]
    if not chains:
        return nodes
    readers = Counter(i for n in nodes for i in n.inputs)
    by_id = {n.id: n for n in nodes}
    shapes = {INPUT: tuple(input_shape)} | {n.id: n.shape for n in nodes}
    folded: set = set()
    for cls in chains:
        for last in nodes:
            chain = _chain(last, cls.imported_chain, by_id, readers)
            if chain is None or folded & {n.id for n in chain}:
                continue
            try:
                settings = cls.from_torch_chain([n.attrs for n in chain],
                                                [shapes[chain[0].inputs[0]], *(n.shape for n in chain)])
            except NotImportable:
                continue
            folded |= {n.id for n in chain[:-1]}
            last.kind, last.attrs, last.inputs = cls.type_name, settings, list(chain[0].inputs)
            last.path = (*chain[0].path[:-1], cls.type_name)
    return [n for n in nodes if n.id not in folded]


def _chain(last, kinds: tuple, by_id: dict, readers: Counter) -> list | None:
    """The nodes of ``kinds`` that end at ``last``, each but the last read only by the next
    one, all of them operations between modules; None when there is no such chain."""
    chain = [last]
    for kind in reversed(kinds[:-1]):
        if len(chain[0].inputs) != 1:
            return None
        node = by_id.get(chain[0].inputs[0])
        if node is None or node.kind != kind or readers[node.id] != 1:
            return None
        chain.insert(0, node)
    if last.kind != kinds[-1] or any(n.problem is not None or n.module is not None for n in chain):
        return None
    return chain if len(chain[0].inputs) == 1 else None
