"""The classes of the layer types' own torch modules (``Layer.torch_module``), compiled from
the source text the layer classes hold (imports torch).

Each source is compiled once, with ``torch`` and ``nn`` in scope, as a class of this module:
``cnnspec.torch.own.StochasticDepth`` names the class of the registered layer type whose own
module is ``StochasticDepth``, so built models pickle and unpickle (the registry is looked up
when the name is, so a layer type registered later is found too).
"""

from __future__ import annotations

import linecache

import torch
from torch import nn

_COMPILED: dict = {}


def own_class(own) -> type:
    """The class of a layer's own torch module (an ``OwnModule``), compiled once."""
    key = (own.name, own.source)
    if key not in _COMPILED:
        filename = f"<cnnspec own module {own.name}>"
        linecache.cache[filename] = (len(own.source), None, own.source.splitlines(True), filename)
        namespace = {"torch": torch, "nn": nn, "__name__": __name__}
        exec(compile(own.source, filename, "exec"), namespace)  # noqa: S102 (the layer's own text)
        cls = namespace.get(own.name)
        if not isinstance(cls, type) or not issubclass(cls, nn.Module):
            raise TypeError(f"the source of own module {own.name} defines no nn.Module {own.name}")
        _COMPILED[key] = cls
    return _COMPILED[key]


def owner_of(name: str):
    """The registered layer type whose own module is called ``name``, or None."""
    from cnnspec.layers.registry import own_modules

    return own_modules().get(name)


def __getattr__(name: str) -> type:
    layer = owner_of(name)
    if layer is None:
        raise AttributeError(f"no registered layer type has an own module {name!r}")
    return own_class(layer.torch_module)
