"""What a layer maps to in torch: the constructor call of a ``torch.nn`` class, or a module
the layer type brings itself (both are imported from ``cnnspec.layers.base`` too)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TorchCall:
    """The module constructor a layer maps to: class name and positional and keyword args.
    The class is the layer's own module when ``cls`` is its name (``Layer.torch_module``),
    else the ``torch.nn`` class of that name.

    The builder calls it; the emitter writes it out as source, so the two cannot drift."""

    cls: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    #: the constructor's names for ``args`` (the emitter names the ones that vary)
    arg_names: tuple = ()
    #: keyword arguments the emitted class templates always spell out, with the constructor's
    #: defaults (so instances that differ only there share one class)
    defaults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OwnModule:
    """A torch module a layer type brings itself: its class name and its class source as text
    (so the layer module stays torch-free). The builder compiles ``source`` once with ``torch``
    and ``nn`` (``from torch import nn``) in scope; the emitter pastes it into the generated
    file, which imports both; ``cnnspec import`` reads a module of class ``name`` as the layer.
    Own-module names are unique among the registered layer types."""

    name: str
    source: str
