"""Tensor operations that reorder or reduce dims: permute, mean, sum."""

from __future__ import annotations

from cnnspec.layers.base import (
    BOOL,
    Attr,
    Layer,
    LayerInputError,
    Mixes,
    NotImportable,
    OwnModule,
    TorchCall,
    Window,
    fmt_shape,
)
from cnnspec.layers.dim_kinds import int_list_kind, sample_dims
from cnnspec.layers.registry import register
from cnnspec.util import dims as dimensions


def _dims_argument(args: list, kwargs: dict, name: str = "dim"):
    """The dims of ``torch.op(x, dims)``, ``x.op(dims)``, ``x.op(*dims)`` or ``dim=``."""
    if name in kwargs:
        value = kwargs[name]
    elif len(args) > 1:
        value = args[1]
    else:
        return None
    if isinstance(value, int) and len(args) > 2 and all(isinstance(a, int) for a in args[1:]):
        return tuple(args[1:])  # x.permute(0, 2, 3, 1)
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


#: the per-sample orders that keep the dims of a 3-D sample in cyclic order
_ROTATIONS = ((0, 1, 2), (1, 2, 0), (2, 0, 1))

PERMUTE = OwnModule("Permute", '''\
class Permute(nn.Module):
    """``torch.permute`` of the input to ``dims`` (a view), as torchvision's ``Permute``."""

    def __init__(self, dims: tuple):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"
''')


@register
class Permute(Layer):
    """Reorders the dims (``torch.permute``; ``dims`` in PyTorch's numbering with the batch
    fixed as dim 0: ``[0, 2, 3, 1]`` makes a (C, H, W) sample channels-last (H, W, C), and
    ``[0, 3, 1, 2]`` makes it channels-first again, as ConvNeXt's blocks do; ``cnnspec import``
    reads ``x.transpose(1, 2)`` as the permutation swapping the two). A view: no new
    memory and no arithmetic. The receptive-field pass follows the positions into their new
    dims (a layer norm or linear over a channels-last tensor mixes no positions). A window
    layer (conv, pooling) slides over dims 1 and 2, so put the height and width back there
    before one; a permutation that swaps them makes the field approximate from there on."""

    type_name = "permute"
    family = "structural"
    shorthand = "dims"
    view_of_input = True
    torch_module = PERMUTE
    imported_functions = ("torch.permute", "torch.transpose")
    imported_methods = ("permute", "transpose")
    attrs = (Attr("dims", int_list_kind(None), required=True,
                  doc="the new order of the dims, PyTorch's numbering (0 is the batch and stays "
                      "first); negative counts from the end"),)

    def _order(self, shape) -> tuple:
        rank = len(shape) + 1
        if len(self.dims) != rank:
            raise LayerInputError(
                f"permute dims {list(self.dims)} name {len(self.dims)} dims, but the input is "
                f"{rank}-D (batch included, a {fmt_shape(shape)} sample)",
                hint=f"list all {rank} dims, the batch (0) first")
        if self.dims[0] % rank != 0:
            raise LayerInputError(f"permute must keep the batch first: dims {list(self.dims)} "
                                  f"start with {self.dims[0]}", hint="start dims with 0")
        return sample_dims(self, shape, self.dims[1:], "dims")

    def output_shape(self, inputs):
        (shape,) = inputs
        return tuple(shape[d] for d in self._order(shape))

    def regroup(self, inputs):
        """Each output dim is one input dim: the positions move with their dims."""
        return tuple((d,) for d in self._order(inputs[0]))

    def receptive_field(self, inputs):
        """None (it moves values, mixes none) for a rotation of a 3-D sample's dims (to
        channels-last and back); a permutation that swaps the order of two dims of a 3-D
        sample (height and width) marks the field approximate, since the windows of later
        layers are taken along dims 1 and 2 as the height and width they held before."""
        order = self._order(inputs[0])
        if len(order) != 3 or order in _ROTATIONS:
            return None
        why = (f"permute {list(self.dims)} swaps two dims: the fields of later windows "
               "(conv, pooling) are not followed across it")
        return [Window(1, approximate=why), Window(1, approximate=why)]

    @classmethod
    def from_torch(cls, module) -> dict:
        return {"dims": list(module.dims)}

    @classmethod
    def from_torch_call(cls, name, args, kwargs, result, is_tensor):
        """``x.permute(dims)``; ``x.transpose(a, b)`` is the permutation swapping a and b."""
        if name != "transpose":
            return super().from_torch_call(name, args, kwargs, result, is_tensor)
        x, rank = args[0], args[0].dim()
        swapped = [kwargs.get(k, args[i] if len(args) > i else None) for i, k in ((1, "dim0"), (2, "dim1"))]
        if not all(isinstance(d, int) and -rank <= d < rank for d in swapped):
            raise NotImportable("transpose needs its two dims as numbers")
        order = list(range(rank))
        a, b = (d % rank for d in swapped)
        order[a], order[b] = order[b], order[a]
        return [(cls.type_name, {"dims": order}, [x])]

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        order = _dims_argument(args, kwargs, "dims")
        if order is None or not all(isinstance(d, int) for d in order):
            raise NotImportable("permute needs its dims as numbers")
        return cls.type_name, {"dims": list(order)}, list(args[:1])

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (tuple(self.dims),), arg_names=("dims",))


def _reduction_module(name: str, method: str) -> OwnModule:
    return OwnModule(name, f'''\
class {name}(nn.Module):
    """``x.{method}(dims, keepdim)``: the {method} over the dims given."""

    def __init__(self, dims: tuple, keepdim: bool = False):
        super().__init__()
        self.dims = list(dims)
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.{method}(self.dims, keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"dims={{self.dims}}, keepdim={{self.keepdim}}"
''')


class _Reduction(Layer):
    """A reduction over ``dims``: fewer dims out (size 1 with ``keepdim``)."""

    family = "structural"
    shorthand = "dims"
    attrs = (
        Attr("dims", int_list_kind(None), required=True, aliases=("dim",),
             doc="the dims reduced, PyTorch's numbering (1 is the channels, 2 and 3 the height "
                 "and width); the batch (0) is refused"),
        Attr("keepdim", BOOL, default=False, doc="keep the reduced dims, with size 1"),
    )

    def _axes(self, shape) -> tuple:
        axes = sample_dims(self, shape, self.dims, "reduce")
        if len(axes) == len(shape) and not self.keepdim:
            raise LayerInputError(
                f"{self.type_name} over every dim of a {fmt_shape(shape)} sample leaves no dim",
                hint="set keepdim: true, or keep a dim (flatten after keepdim gives the features)")
        return axes

    def output_shape(self, inputs):
        (shape,) = inputs
        axes = self._axes(shape)
        if self.keepdim:
            return tuple(1 if d in axes else n for d, n in enumerate(shape))
        return tuple(n for d, n in enumerate(shape) if d not in axes)

    def regroup(self, inputs):
        """The dims kept, in order (with ``keepdim`` every dim stays where it was)."""
        axes = self._axes(inputs[0])
        return None if self.keepdim else tuple((d,) for d in range(len(inputs[0])) if d not in axes)

    def receptive_field(self, inputs):
        """Every output reads every position along the reduced dims."""
        return Mixes(self._axes(inputs[0]))

    def elementwise_ops(self, inputs, output):
        """One addition per input element (the sum)."""
        return dimensions.prod(inputs[0])

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = {"dims": list(module.dims)}
        if module.keepdim:
            settings["keepdim"] = True
        return settings

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        if kwargs.get("dtype") is not None:
            raise NotImportable(f"{cls.type_name} with a dtype is not supported")
        axes = _dims_argument(args[:2], kwargs)
        if axes is None or None in axes:
            raise NotImportable(f"a {cls.type_name} over every dim (the batch too) is not supported")
        keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
        settings = {"dims": list(axes)}
        if keepdim:
            settings["keepdim"] = True
        return cls.type_name, settings, list(args[:1])

    def torch_call(self, inputs):
        kwargs = {"keepdim": True} if self.keepdim else {}
        return TorchCall(self.torch_module.name, (tuple(self.dims),), kwargs, arg_names=("dims",))


@register
class Mean(_Reduction):
    """The mean over ``dims`` (``torch.mean``, ``x.mean([2, 3])`` as squeeze-and-excitation
    blocks and MNASNet pool). No parameters; one addition per input element (the division per
    output is not counted)."""

    type_name = "mean"
    torch_module = _reduction_module("Mean", "mean")
    imported_functions = ("torch.mean",)
    imported_methods = ("mean",)


@register
class Sum(_Reduction):
    """The sum over ``dims`` (``torch.sum``, ``x.sum(1)``). No parameters; one addition per
    input element."""

    type_name = "sum"
    torch_module = _reduction_module("Sum", "sum")
    imported_functions = ("torch.sum",)
    imported_methods = ("sum",)
