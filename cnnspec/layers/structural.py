"""Layers that move or pass tensors without computing: flatten, identity, dropout."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    Layer,
    LayerInputError,
    NotImportable,
    OwnModule,
    TorchCall,
    float_kind,
    int_kind,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims

#: drop path's torch module (torchvision's ``StochasticDepth``, mode "row"), as the builder
#: runs it and ``cnnspec build`` writes it
STOCHASTIC_DEPTH = OwnModule("StochasticDepth", '''\
class StochasticDepth(nn.Module):
    """Drops the whole input of a sample with probability ``p`` while training, scaling the
    rest by 1 / (1 − p); the identity at inference (torchvision's ``StochasticDepth``, "row")."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        mask.bernoulli_(keep)
        return x * mask.div_(keep) if keep > 0 else x * 0

    def extra_repr(self) -> str:
        return f"p={self.p}"
''')


@register
class Flatten(Layer):
    """Merge dims ``start_dim``…``end_dim`` into one (``torch.nn.Flatten``; PyTorch numbering,
    batch is dim 0, so the default 1…−1 flattens each sample). Returns a view: no new memory."""

    type_name = "flatten"
    imported_from = ("Flatten",)
    imported_functions = ("torch.flatten",)
    imported_methods = ("flatten",)
    family = "structural"
    view_of_input = True
    attrs = (
        Attr("start_dim", int_kind(None), default=1),
        Attr("end_dim", int_kind(None), default=-1),
    )

    def _span(self, shape):
        rank = len(shape) + 1
        start, end = self.start_dim, self.end_dim
        for name, dim in (("start_dim", start), ("end_dim", end)):
            if not -rank <= dim < rank:
                raise LayerInputError(
                    f"{name} {dim} is out of range for a {rank}-D tensor (batch included)"
                )
        start, end = start % rank, end % rank
        if start == 0 or end == 0:
            raise LayerInputError("flatten must not merge the batch dimension (dim 0)")
        if start > end:
            raise LayerInputError(f"start_dim ({self.start_dim}) comes after end_dim ({self.end_dim})")
        return start - 1, end - 1

    def output_shape(self, inputs):
        (shape,) = inputs
        start, end = self._span(shape)
        return (*shape[:start], dims.prod(shape[start : end + 1]), *shape[end + 1 :])

    def regroup(self, inputs):
        (shape,) = inputs
        start, end = self._span(shape)
        return (*((d,) for d in range(start)), tuple(range(start, end + 1)),
                *((d,) for d in range(end + 1, len(shape))))

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        start = kwargs.get("start_dim", args[1] if len(args) > 1 else 0)
        if start == 0:
            raise NotImportable("flattening the batch dimension is not supported")
        return cls.type_name, {} if start == 1 else {"start_dim": start}, list(args[:1])

    def torch_call(self, inputs):
        kwargs = {}
        if self.start_dim != 1:
            kwargs["start_dim"] = self.start_dim
        if self.end_dim != -1:
            kwargs["end_dim"] = self.end_dim
        return TorchCall("Flatten", (), kwargs)


@register
class Identity(Layer):
    """Passes its input through unchanged (``torch.nn.Identity``)."""

    type_name = "identity"
    imported_from = ("Identity",)
    family = "structural"
    view_of_input = True

    def torch_call(self, inputs):
        return TorchCall("Identity")


@register
class Dropout(Layer):
    """Zeroes elements with probability ``p`` while training (``torch.nn.Dropout``). At
    inference it returns its input: no work, no memory."""

    type_name = "dropout"
    imported_from = ("Dropout",)
    imported_functions = ("torch.nn.functional.dropout",)
    family = "dropout"
    shorthand = "p"
    view_of_input = True
    elementwise = True
    attrs = (Attr("p", float_kind(0.0, 1.0), default=0.5, shapeless=True),)

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        return cls.type_name, {"p": kwargs.get("p", args[1] if len(args) > 1 else 0.5)}, list(args[:1])

    def torch_call(self, inputs):
        return TorchCall("Dropout", (), {} if self.p == 0.5 else {"p": self.p})


@register
class Dropout2d(Dropout):
    """Zeroes whole channels with probability ``p`` while training (``torch.nn.Dropout2d``)."""

    type_name = "dropout2d"
    imported_from = ("Dropout2d",)
    imported_functions = ()

    def output_shape(self, inputs):
        (shape,) = inputs
        if len(shape) != 3:
            raise LayerInputError(
                f"dropout2d drops whole channels of a (C, H, W) input, got {len(shape)}-D",
                hint="use dropout after flatten or linear",
            )
        return shape

    def torch_call(self, inputs):
        return TorchCall("Dropout2d", (), {} if self.p == 0.5 else {"p": self.p})


@register
class DropPath(Dropout):
    """Stochastic depth: while training, drops the whole residual branch of a sample with
    probability ``p`` (torchvision's ``StochasticDepth(p, "row")``). At inference it returns
    its input: no parameters, no work, no memory."""

    type_name = "drop_path"
    imported_from = ("StochasticDepth",)  # torchvision.ops and cnnspec's own
    imported_functions = ()
    torch_module = STOCHASTIC_DEPTH
    aliases = ("stochastic_depth",)
    attrs = (Attr("p", float_kind(0.0, 1.0), default=0.0, shapeless=True),)

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (self.p,), arg_names=("p",))


@register
class ChannelShuffle(Layer):
    """Interleaves the channels of ``groups`` groups (``torch.nn.ChannelShuffle``, ShuffleNet).
    A permutation: no parameters and no arithmetic. ``cnnspec import`` also reads it from
    the view, transpose and view back that torchvision's ShuffleNet and timm compute it by."""

    type_name = "channel_shuffle"
    imported_from = ("ChannelShuffle",)
    imported_chain = ("reshape", "permute", "reshape")
    family = "structural"
    shorthand = "groups"
    attrs = (Attr("groups", int_kind(1), required=True),)

    def output_shape(self, inputs):
        (shape,) = inputs
        if len(shape) != 3 or shape[0] % self.groups:
            raise LayerInputError(
                f"channel_shuffle needs (C, H, W) with C divisible by groups={self.groups}, "
                f"got {'x'.join(map(dims.fmt, shape))}"
            )
        return shape

    @classmethod
    def from_torch_chain(cls, layers, shapes):
        """A (C, H, W) map viewed as (groups, C / groups, H, W), its first two dims swapped,
        and viewed back as (C, H, W)."""
        source, split, _, back = shapes
        if len(source) != 3 or back != source or len(split) != 4 or split[2:] != source[1:] \
                or list(layers[1]["dims"]) != [0, 2, 1, 3, 4]:
            raise NotImportable("not a channel shuffle")
        return {"groups": split[0]}

    def torch_call(self, inputs):
        return TorchCall("ChannelShuffle", (self.groups,), arg_names=("groups",))
