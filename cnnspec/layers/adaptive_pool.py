"""Adaptive pooling to a fixed output size, and global pooling, over 1, 2 or 3 spatial axes."""

from __future__ import annotations

from typing import ClassVar

from cnnspec.layers.base import (
    GLOBAL,
    Attr,
    Layer,
    TorchCall,
    Window,
    spatial,
    spatial_rank,
)
from cnnspec.layers.bins import adaptive_widths, ratio
from cnnspec.layers.ndim import axes_output_size_kind
from cnnspec.layers.registry import register
from cnnspec.util import dims


class _Adaptive(Layer):
    family = "pool"
    shorthand = "output_size"
    rank: ClassVar[int] = 2
    #: "Avg" or "Max": the torch class is Adaptive{kind}Pool{rank}d
    kind: ClassVar[str] = "Avg"

    def __init_subclass__(cls, kind: str = "", rank: int = 0, **kwargs):
        """``kind`` (avg, max) and ``rank`` given: the type adaptive_{kind}pool{rank}d, read
        from ``torch.nn.Adaptive{Kind}Pool{rank}d`` and ``F.adaptive_{kind}_pool{rank}d``."""
        if kind:
            name = f"Adaptive{kind.capitalize()}Pool{rank}d"
            cls.type_name, cls.rank, cls.kind = f"adaptive_{kind}pool{rank}d", rank, kind.capitalize()
            cls.imported_from = (name,)
            cls.imported_functions = (f"torch.nn.functional.adaptive_{kind}_pool{rank}d",)
            cls.aliases = (f"adaptive_{kind}pool",) if rank == 2 else ()
            cls.attrs = (Attr("output_size", axes_output_size_kind(rank), required=True, doc=(
                "" if rank == 2 else "output size per axis; an int for every axis"
                + (", and in a list `null` keeps that axis's input size" if rank > 1 else ""))),)
        super().__init_subclass__(**kwargs)

    def _size(self, shape) -> tuple:
        """The output size per spatial axis (None: keep the input's)."""
        spatial(shape, self.type_name, self.rank)
        return self.output_size

    def _targets(self, shape):
        return tuple(n if o is None else o for n, o in zip(shape[1:], self._size(shape)))

    def output_shape(self, inputs):
        (shape,) = inputs
        return (shape[0], *self._targets(shape))

    def elementwise_ops(self, inputs, output):
        """Every input element of every bin is read once (bins overlap when o does not divide n):
        per axis the bins' widths add up to n + o − gcd(n, o)."""
        (shape,) = inputs
        total = shape[0]
        for n, o in zip(shape[1:], self._targets(shape)):
            total = total * adaptive_widths(n, o)[2]
        return total

    def receptive_field(self, inputs):
        """When o divides n the bins form a plain window (k = s = n/o); with o = 1 the layer is
        global. Otherwise bins of varying width or spacing are described as one approximate
        window: the widest bin, a stride spacing the first and last bins' centres exactly
        ((n − first width) / (o − 1), the first and last bins being equally wide) and a padding
        centring the first bin; the union of all the units' fields is the input's."""
        (shape,) = inputs
        windows = []
        for n, o in zip(shape[1:], self._targets(shape)):
            if o == 1:  # one unit over everything: the same field as any later broadcast of it
                windows.append(GLOBAL)
                continue
            if not isinstance(n, int):
                windows.append(self._symbolic_window(n, o))
                continue
            first, widest, _ = adaptive_widths(n, o)
            if n % o <= 1:  # one grid of equal windows: n = o·q or o·q + 1 (7 to 3: k 3, s 2)
                windows.append(Window(first, n // o, 0, outputs=o))
                continue
            windows.append(Window(widest, ratio(n - first, o - 1), ratio(widest - first, 2),
                                  outputs=o, keeps_union=True,
                                  approximate=f"adaptive pooling of {n} units to {o} bins: the "
                                              "bins differ in width or spacing"))
        return windows

    def _symbolic_window(self, n, o: int):
        """A formula size: the bins are even only for some sizes (where o divides n)."""
        return Window(dims.ceildiv(n, o), ratio(n - dims.ceildiv(n, o), o - 1), 0, outputs=o,
                      keeps_union=True,
                      approximate=f"adaptive pooling of {dims.fmt(n)} units to {o} bins: even bins "
                                  f"only where {o} divides {dims.fmt(n)}")

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        size = kwargs.get("output_size", args[1] if len(args) > 1 else None)
        return cls.type_name, {"output_size": list(size) if isinstance(size, (tuple, list)) else size}, \
            list(args[:1])

    @classmethod
    def from_torch(cls, module) -> dict:
        size = module.output_size
        if isinstance(size, (tuple, list)):
            size = list(size) if any(v != size[0] for v in size) or size[0] is None else size[0]
        return {"output_size": size}

    def torch_call(self, inputs):
        size = self._size(inputs[0])
        arg = size[0] if all(v == size[0] for v in size) and size[0] is not None else tuple(size)
        rank = len(size)
        return TorchCall(f"Adaptive{self.kind}Pool{rank}d", (arg,), {}, arg_names=("output_size",))


@register
class AdaptiveAvgPool1d(_Adaptive, kind="avg", rank=1):
    """Adaptive average pooling of a (channels, length) input (``torch.nn.AdaptiveAvgPool1d``)."""


@register
class AdaptiveAvgPool2d(_Adaptive, kind="avg", rank=2):
    """Adaptive average pooling to a fixed output size (``torch.nn.AdaptiveAvgPool2d``)."""


@register
class AdaptiveAvgPool3d(_Adaptive, kind="avg", rank=3):
    """Adaptive average pooling of a (channels, depth, height, width) input
    (``torch.nn.AdaptiveAvgPool3d``)."""


@register
class AdaptiveMaxPool1d(_Adaptive, kind="max", rank=1):
    """Adaptive max pooling of a (channels, length) input (``torch.nn.AdaptiveMaxPool1d``)."""

    def linear_twin(self, inputs):
        return AdaptiveAvgPool1d(output_size=self.output_size)


@register
class AdaptiveMaxPool2d(_Adaptive, kind="max", rank=2):
    """Adaptive max pooling to a fixed output size (``torch.nn.AdaptiveMaxPool2d``)."""

    def linear_twin(self, inputs):
        return AdaptiveAvgPool2d(output_size=self.output_size)


@register
class AdaptiveMaxPool3d(_Adaptive, kind="max", rank=3):
    """Adaptive max pooling of a (channels, depth, height, width) input
    (``torch.nn.AdaptiveMaxPool3d``)."""

    def linear_twin(self, inputs):
        return AdaptiveAvgPool3d(output_size=self.output_size)


class _Global(_Adaptive):
    """Pooling of every channel to one value, over the spatial axes of a (C, L), (C, H, W) or
    (C, D, H, W) input: adaptive pooling to 1 on every axis."""

    shorthand = None

    def _size(self, shape) -> tuple:
        return (1,) * spatial_rank(shape, self.type_name)


@register
class GlobalAvgPool(_Global):
    """Global average pooling: every channel to 1x1 (``torch.nn.AdaptiveAvgPool2d(1)``; over a
    (C, L) or (C, D, H, W) input ``AdaptiveAvgPool1d(1)`` or ``AdaptiveAvgPool3d(1)``)."""

    type_name = "global_avgpool"
    aliases = ("gap",)


@register
class GlobalMaxPool(_Global):
    """Global max pooling: every channel to 1x1 (``torch.nn.AdaptiveMaxPool2d(1)``; over a
    (C, L) or (C, D, H, W) input ``AdaptiveMaxPool1d(1)`` or ``AdaptiveMaxPool3d(1)``)."""

    type_name = "global_maxpool"
    kind = "Max"

    def linear_twin(self, inputs):
        return GlobalAvgPool()
