"""Layer scale: a learnable scale per channel (ConvNeXt, CaiT)."""

from __future__ import annotations

import struct

from cnnspec.layers.base import (
    BOOL,
    Attr,
    AttrValueError,
    BareParameter,
    Kind,
    Layer,
    LayerInputError,
    NotImportable,
    OwnModule,
    TorchCall,
    float_kind,
    fmt_shape,
    int_kind,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims
from cnnspec.util.names import taken_by_torch

#: the own module's attributes, which its parameter cannot be called
_OWN_ATTRIBUTES = ("dim", "init", "param")


def _parse_param(value, resolve):
    if not isinstance(value, str) or not value.isidentifier():
        raise AttrValueError(f"expected a parameter name (an identifier), got {value!r}")
    if value in _OWN_ATTRIBUTES or taken_by_torch(value) or value.startswith("_"):
        raise AttrValueError(f"'{value}' is an attribute of the module (of torch.nn.Module or "
                             "of LayerScale); choose another parameter name")
    return value


_PARAM = Kind("parameter name", _parse_param, {"type": "string", "pattern": "^[A-Za-z][A-Za-z0-9_]*$"})

LAYER_SCALE = OwnModule("LayerScale", '''\
class LayerScale(nn.Module):
    """x times a learnable scale per channel along ``dim``. The scale has ``shape`` (``(C,)``,
    or ``(C, 1, 1)`` as torchvision's ConvNeXt holds it) and is the parameter ``param``."""

    def __init__(self, shape: tuple, dim: int = 1, init: float = 1e-6, param: str = "gamma"):
        super().__init__()
        self.dim, self.init, self.param = dim, init, param
        self.register_parameter(param, nn.Parameter(torch.full(tuple(shape), init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = getattr(self, self.param)
        return x * scale.view(-1, *(1,) * (x.dim() - 1 - self.dim % x.dim()))

    def extra_repr(self) -> str:
        return f"dim={self.dim}, init={self.init}, param={self.param!r}"
''')


@register
class LayerScale(Layer):
    """x times a learnable scale per channel (``gamma``, C parameters), as ConvNeXt's blocks
    end: channels-first (``dim: 1``, ``x * gamma.view(1, -1, 1, 1)``; timm's ``LayerScale2d``
    and ConvNeXt block ``gamma``) or channels-last (``dim: -1``; timm's ``LayerScale``).
    torchvision's ConvNeXt block holds its scale itself, as its parameter ``layer_scale`` of
    shape (C, 1, 1) (``self.layer_scale * self.block(x)``): ``bare: true`` makes the layer no
    module, its parameter held by the parent at the node's own key (a node named
    ``layer_scale`` in ``features.1.0`` has the key ``features.1.0.layer_scale``), and
    ``broadcast: true`` gives it that shape. ``scalar: true`` is one scale for every element, a
    0-d parameter (timm's NFNet blocks: ``out.mul_(self.skipinit_gain)``). One multiply per
    element."""

    type_name = "layer_scale"
    aliases = ("layerscale",)
    family = "scale"
    elementwise = True  # each output is its input times its channel's scale
    ops_per_element = 1
    torch_module = LAYER_SCALE
    imported_from = ("LayerScale2d",)  # timm's; LayerScale (timm's channels-last, cnnspec's own)
    # x times a parameter of the module running it: torchvision's ConvNeXt block, timm's
    imported_bare_functions = ("operator.mul", "torch.mul")
    imported_bare_methods = ("mul",)
    attrs = (
        Attr("init", float_kind(), default=1e-6, shapeless=True,
             doc="the scales' initial value (ConvNeXt: 1e-6)"),
        Attr("dim", int_kind(None), default=1,
             doc="the channel dim, PyTorch's numbering (1: channels-first; -1: the last dim, "
                 "channels-last)"),
        Attr("param", _PARAM, default="gamma",
             doc="the parameter's name, the last part of its state_dict key (`gamma` as timm); "
                 "with `bare` the node's name is the key's last part instead"),
        Attr("broadcast", BOOL, default=False,
             doc="the scale has the shape (C, 1, …, 1) that broadcasts against the sample "
                 "(torchvision's ConvNeXt: (C, 1, 1)) instead of (C,)"),
        Attr("scalar", BOOL, default=False,
             doc="one scale for every element, a 0-d parameter (shape `[]`; timm's NFNet "
                 "block `skipinit_gain`) instead of one per channel; `dim` is then unused"),
        Attr("bare", BOOL, default=False,
             doc="no module: the parent module holds the parameter itself, at the node's key "
                 "(torchvision's ConvNeXt block: `name: layer_scale`); `param` is then unused"),
    )

    def validate(self) -> None:
        if self.bare and self.param != "gamma":
            raise AttrValueError("a bare layer scale's parameter is named by the node (its key is "
                                 "the node's); leave param out and set name instead", "param")
        if self.scalar and self.broadcast:
            raise AttrValueError("a scalar layer scale has one 0-d parameter, which has no shape "
                                 "to broadcast; leave broadcast out", "broadcast")

    def _channel(self, shape) -> int:
        rank = len(shape) + 1
        if not -rank <= self.dim < rank or self.dim % rank == 0:
            raise LayerInputError(
                f"layer_scale dim {self.dim} is not a channel dim of a {fmt_shape(shape)} sample "
                f"({rank}-D with the batch)", hint=f"use a dim from 1 to {rank - 1}, or -1")
        return self.dim % rank - 1

    def output_shape(self, inputs):
        (shape,) = inputs
        if not self.scalar:
            self._channel(shape)
        return shape

    def param_shape(self, shape) -> tuple:
        if self.scalar:
            return ()
        channel = self._channel(shape)
        ones = len(shape) - 1 - channel if self.broadcast else 0
        return (shape[channel], *(1,) * ones)

    def params(self, inputs):
        return dims.prod(self.param_shape(inputs[0]))

    @classmethod
    def from_torch(cls, module) -> dict:
        name = type(module).__name__
        if name == "LayerScale2d":  # timm's, channels-first
            settings = {"dim": 1}
        elif hasattr(module, "param"):  # cnnspec's own
            settings = {"dim": module.dim, "param": module.param}
            scale = getattr(module, module.param)
            if scale.dim() > 1:
                settings["broadcast"] = True
            settings["scalar"] = scale.dim() == 0
        else:  # timm's LayerScale, channels-last
            settings = {"dim": -1}
        if getattr(module, "inplace", False):
            raise NotImportable("an in-place layer scale is not supported")
        init = getattr(module, "init_values", getattr(module, "init", 1e-6))
        if init != 1e-6:
            settings["init"] = init
        return cls._changed(settings)

    def bare_parameter(self, inputs):
        if not self.bare:
            return None
        (shape,) = inputs
        if self.scalar:
            return BareParameter((), self.init, "{x} * {parameter}")  # timm's NFNet order
        channel = self._channel(shape)
        ones = len(shape) - 1 - channel
        if self.broadcast or not ones:  # (C, 1, 1) broadcasts as it is; so does (C,) on the last dim
            expression = "{parameter} * {x}"  # torchvision's order
        else:
            expression = "{x} * {parameter}.view(-1%s)" % (", 1" * ones)
        return BareParameter(self.param_shape(shape), self.init, expression)

    @classmethod
    def from_torch_bare_call(cls, args, kwargs, is_tensor, parameter):
        """``x * p``, ``p * x`` or ``torch.mul``, where ``p`` is (a view of) a parameter of the
        calling module with one size per channel of ``x`` along one dim and 1 along the others:
        (C, 1, 1) (torchvision's ConvNeXt), (C,) channels-last, or (C,) viewed as (1, C, 1, 1)
        (timm's ConvNeXt)."""
        held = [parameter(a) for a in args[:2]]
        if kwargs or len(args) != 2 or sum(h is not None for h in held) != 1:
            raise NotImportable("a layer scale multiplies a tensor by one parameter")
        scale, x = args if held[0] is not None else args[::-1]
        own = held[0] if held[0] is not None else held[1]
        if not is_tensor(x):
            raise NotImportable("a layer scale multiplies a tensor computed from the input")
        if own.dim() == 0 and scale.numel() == 1 and scale.dim() <= x.dim():  # timm's NFNet
            settings = {"bare": True, "scalar": True, "init": _constant([own.item()])}
            return cls._changed(settings), [x], scale
        rank, applied = x.dim(), list(scale.shape)
        padded = [1] * (rank - len(applied)) + applied
        sized = [d for d, n in enumerate(padded) if n != 1]
        if len(padded) != rank or len(sized) != 1 or sized[0] == 0 or padded[sized[0]] != x.shape[sized[0]]:
            raise NotImportable(f"a parameter of shape {tuple(scale.shape)} is not one scale per "
                                f"channel of a {tuple(x.shape)} tensor")
        dim = sized[0] if sized[0] == 1 or sized[0] < rank - 1 else -1
        ones = rank - 1 - sized[0]
        if tuple(own.shape) not in ((padded[sized[0]],), (padded[sized[0]], *(1,) * ones)):
            raise NotImportable(f"a layer scale holds (C,) or (C, 1, …, 1), not {tuple(own.shape)}")
        settings = {"bare": True, "broadcast": own.dim() > 1 and ones > 0, "dim": dim,
                    "init": _constant(own.detach().flatten().tolist())}
        return cls._changed(settings), [x], scale

    @classmethod
    def _changed(cls, settings: dict) -> dict:
        return {k: v for k, v in settings.items()
                if v is not None and v != next(a.default for a in cls.attrs if a.name == k)}

    def torch_call(self, inputs):
        kwargs = {}
        if self.dim != 1:
            kwargs["dim"] = self.dim
        if self.init != 1e-6:
            kwargs["init"] = self.init
        if self.param != "gamma":
            kwargs["param"] = self.param
        if self.scalar:
            kwargs.pop("dim", None)
        return TorchCall(self.torch_module.name, (self.param_shape(inputs[0]),), kwargs,
                         arg_names=("shape",))


def _constant(values: list) -> float | None:
    """The value every element of a float32 parameter has, as the shortest decimal that is that
    float32 (1e-06, not 9.999999974752427e-07); None when they differ."""
    if not values or any(v != values[0] for v in values):
        return None
    try:
        exact = struct.pack("f", values[0])
    except OverflowError:  # no float32 value
        return values[0]
    return next(float(text) for digits in range(1, 18)
                if struct.pack("f", float(text := f"{values[0]:.{digits}g}")) == exact)
