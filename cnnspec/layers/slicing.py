"""Selecting part of a tensor: ``slice``, one piece of the channels. The ``split`` and
``chunk`` items of a spec (:mod:`cnnspec.frontend.splits`) are one ``slice`` node per piece,
as ``torch.split`` and ``torch.chunk`` return one view per piece; ``cnnspec import`` reads
those calls as the same slices."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    Layer,
    LayerInputError,
    NotImportable,
    OwnModule,
    TorchCall,
    int_kind,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims

#: the module the builder runs for a slice (the emitted file writes ``x[:, a:b]`` instead)
SLICE = OwnModule("Slice", '''\
class Slice(nn.Module):
    """Channels ``start`` to ``stop`` (exclusive) of the input: a view, as ``x[:, start:stop]``."""

    def __init__(self, start: int, stop: int):
        super().__init__()
        self.start = start
        self.stop = stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.start:self.stop]

    def extra_repr(self) -> str:
        return f"start={self.start}, stop={self.stop}"
''')


@register
class Slice(Layer):
    """Channels ``start`` to ``stop`` (exclusive, as in Python) of a (C, …) input:
    ``x[:, start:stop]``, a view of the input (no new memory, no work). Every output reads the
    input at its own position, so the receptive field is the input's."""

    type_name = "slice"
    family = "structural"
    view_of_input = True
    torch_module = SLICE
    emitted_inline = True
    imported_functions = ("torch.split", "torch.chunk")
    imported_methods = ("__getitem__", "split", "chunk")
    attrs = (
        Attr("start", int_kind(0), default=0, doc="the first channel taken"),
        Attr("stop", int_kind(1), required=True, doc="one past the last channel taken"),
    )

    def output_shape(self, inputs):
        (shape,) = inputs
        if len(shape) < 2:
            raise LayerInputError(
                f"slice takes channels of a (C, …) input with spatial dims, got shape "
                f"{'x'.join(map(dims.fmt, shape)) or 'scalar'}",
                hint="slice a feature map before flatten")
        channels = shape[0]
        if not self.start < self.stop <= channels:
            raise LayerInputError(
                f"channels {self.start}:{self.stop} are not a non-empty part of the input's "
                f"{dims.fmt(channels)} channels",
                hint=f"use 0 <= start < stop <= {dims.fmt(channels)}")
        return (self.stop - self.start, *shape[1:])

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``x[:, a:b]`` (GhostNet, DPN, ReXNet): channels ``a`` to ``b`` of the input; the
        input is a real tensor here (``cnnspec import`` runs the model), so an open or
        negative bound is read against its channels."""
        x, index = args[0], args[1]
        if not isinstance(index, tuple):
            index = (index,)
        while index and index[-1] in (Ellipsis, slice(None)):
            index = index[:-1]
        if index in ((), (slice(None),)):  # x[...], x[:, :, :]: all of it
            index = (slice(None), slice(None))
        if len(index) != 2 or index[0] != slice(None) or not isinstance(index[1], slice):
            raise NotImportable("only channel slices x[:, a:b] are supported")
        start, stop, step = index[1].indices(x.shape[1])
        if step != 1 or not start < stop:
            raise NotImportable("only non-empty channel slices with step 1 are supported")
        return cls.type_name, {"start": start, "stop": stop}, [x]

    @classmethod
    def from_torch_call(cls, name, args, kwargs, result, is_tensor):
        """``torch.split`` and ``torch.chunk`` (of the channels): one slice per piece, which is
        what a spec's ``split`` and ``chunk`` items are; the pieces' sizes are read from the
        tensors the call returned."""
        if name not in ("split", "chunk"):
            return super().from_torch_call(name, args, kwargs, result, is_tensor)
        x = args[0]
        dim = kwargs.get("dim", args[2] if len(args) > 2 else 0)
        if not isinstance(dim, int) or x.dim() < 3 or dim % x.dim() != 1:
            raise NotImportable(f"only {name}s of the channels (dim 1) of a feature map are supported")
        pieces, start = [], 0
        for piece in result:
            stop = start + piece.shape[1]
            pieces.append((cls.type_name, {"start": start, "stop": stop}, [x]))
            start = stop
        return pieces

    def torch_call(self, inputs):
        return TorchCall(SLICE.name, (self.start, self.stop), arg_names=("start", "stop"))

    def inline_source(self, args):
        (x,) = args
        return f"{x}[:, {int(self.start)}:{int(self.stop)}]"
