"""Weight-standardised convolution (timm's StdConv2d and ScaledStdConv2d, with their
TensorFlow-"SAME" variants): a 2-D convolution whose weight is standardised, per output
channel, to zero mean and unit variance before every use (``F.batch_norm`` over the weight).

Counting: the standardisation works on the weight, once per forward whatever the batch and
the input size (at inference it can be done once and for all), so it is in neither the MACs
nor the per-sample element-wise ops; PyTorch's ``FlopCounterMode`` counts the convolution
alone too."""

from __future__ import annotations

import math
from dataclasses import replace

from cnnspec.layers.base import (
    BOOL,
    Attr,
    AttrValueError,
    LayerInputError,
    NotImportable,
    OwnModule,
    TorchCall,
    Window,
    float_kind,
    spatial,
)
from cnnspec.layers.conv import _Conv, _conv_attrs, _conv_settings
from cnnspec.layers.registry import register
from cnnspec.util import dims

STD_CONV = OwnModule("WeightStdConv2d", '''\
class WeightStdConv2d(nn.Conv2d):
    """A Conv2d whose weight is standardised per output channel before every use (timm's
    StdConv2d); with ``gamma``, scaled by ``gamma / sqrt(fan-in)`` and a learnable ``gain`` per
    output channel (timm's ScaledStdConv2d); with ``same_pad``, padded at run time as
    TensorFlow's 'SAME' (timm's *Same variants)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, eps: float = 1e-6,
                 same_pad: bool = False, gamma: float | None = None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias)
        self.eps, self.same_pad = eps, same_pad
        self.scale = None if gamma is None else gamma * self.weight[0].numel() ** -0.5
        if gamma is not None:
            self.gain = nn.Parameter(torch.ones(out_channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.same_pad:
            pads = []
            for n, k, s, d in zip(x.shape[:1:-1], self.kernel_size[::-1], self.stride[::-1],
                                  self.dilation[::-1]):
                total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
                pads += [total // 2, total - total // 2]
            x = nn.functional.pad(x, pads)
        gain = None if self.scale is None else (self.gain * self.scale).view(-1)
        weight = nn.functional.batch_norm(
            self.weight.reshape(1, self.out_channels, -1), None, None, weight=gain,
            training=True, momentum=0.0, eps=self.eps).reshape_as(self.weight)
        return nn.functional.conv2d(x, weight, self.bias, self.stride, self.padding,
                                    self.dilation, self.groups)
''')


def _same_total(n, k: int, s: int, d: int, what: str):
    """TensorFlow 'SAME' padding of one axis: max((⌈n/s⌉ − 1)·s + d(k − 1) + 1 − n, 0)."""
    if s == 1:
        return d * (k - 1)
    size = dims.to_int(n)
    if size is None:
        raise LayerInputError(
            f"{what} with tf_same and stride {s} pads by an amount that depends on the input "
            f"size ({dims.fmt(n)} modulo {s}); give the input a concrete size",
            hint="analyse at a concrete size (cnnspec sizes lists them), or use padding instead")
    return max((-(-size // s) - 1) * s + d * (k - 1) + 1 - size, 0)


def _gamma_of(module, fan_in: int) -> float:
    """The ``gamma`` a ScaledStdConv2d was made with, from its ``scale`` (gamma / √fan-in):
    the shortest decimal near scale · √fan-in (within a few units in the last place) that
    gives that scale back exactly."""
    estimate = module.scale * math.sqrt(fan_in)
    lower = upper = estimate
    near = [estimate]
    for _ in range(4):
        lower, upper = math.nextafter(lower, -math.inf), math.nextafter(upper, math.inf)
        near += [lower, upper]
    for digits in range(1, 18):
        for gamma in near:
            candidate = float(f"{gamma:.{digits}g}")
            if candidate * fan_in ** -0.5 == module.scale:
                return candidate
    raise NotImportable(f"its scale {module.scale!r} is no gamma * fan_in ** -0.5")


@register
class StdConv2d(_Conv):
    """2-D convolution with weight standardisation (timm's ``StdConv2d``, BiT's and the NF
    nets' convs): before every use the weight is normalised per output channel to zero mean
    and unit variance (``F.batch_norm`` over the weight, ``eps``). ``scaled: true`` is timm's
    ``ScaledStdConv2d``: the standardised weight is also multiplied by ``gamma / √fan-in`` and
    by a learnable ``gain`` per output channel (a parameter of shape (out, 1, 1, 1)).
    ``tf_same: true`` pads at run time as TensorFlow's 'SAME' (timm's ``StdConv2dSame``,
    ``ScaledStdConv2dSame``): ⌈H/s⌉ outputs, the odd padding pixel after the input. The
    state_dict keys are timm's: ``weight``, ``bias`` (when ``bias``), ``gain`` (when
    ``scaled``)."""

    type_name = "std_conv2d"
    aliases = ("std_conv",)
    imported_from = ("StdConv2d", "StdConv2dSame", "ScaledStdConv2d", "ScaledStdConv2dSame")
    torch_module = STD_CONV
    attrs = (*(replace(a, doc="grouped convolution; `groups` equal to the channels is "
                                 "depthwise") if a.name == "groups" else a for a in _conv_attrs(2)),
             Attr("eps", float_kind(minimum=0.0), default=1e-6, shapeless=True,
                  doc="added to the weight's variance"),
             Attr("scaled", BOOL, default=False,
                  doc="scale the standardised weight by `gamma / √fan-in` and a learnable "
                      "`gain` per output channel (timm's ScaledStdConv2d)"),
             Attr("gamma", float_kind(), default=1.0, shapeless=True,
                  doc="with `scaled`: the weight's scale times √fan-in"),
             Attr("tf_same", BOOL, default=False,
                  doc="pad at run time as TensorFlow's 'SAME' (⌈size/stride⌉ outputs, the odd "
                      "pixel after); `padding` must then be 0"))

    def validate(self) -> None:
        super().validate()
        if self.tf_same and (self.padding in ("same", "valid") or any(self.padding)):
            raise AttrValueError("tf_same pads by itself: leave padding out (0)", "padding")
        if self.gamma != 1.0 and not self.scaled:
            raise AttrValueError("gamma scales the weight of a scaled std_conv2d only: add "
                                 "scaled: true or leave gamma out", "gamma")

    def _totals(self, size) -> list:
        return [_same_total(n, k, s, d, self.type_name)
                for n, k, s, d in zip(size, self.kernel, self.stride, self.dilation)]

    def output_shape(self, inputs):
        if not self.tf_same:
            return super().output_shape(inputs)
        size = spatial(inputs[0], self.type_name)
        super().output_shape([(inputs[0][0], *(n + t for n, t in zip(size, self._totals(size))))])
        return (self.out, *(dims.ceildiv(n, s) for n, s in zip(size, self.stride)))

    def params(self, inputs):
        return super().params(inputs) + (self.out if self.scaled else 0)

    def receptive_field(self, inputs):
        if not self.tf_same:
            return super().receptive_field(inputs)
        totals = self._totals(spatial(inputs[0], self.type_name))
        return [Window(d * (k - 1) + 1, s, t // 2, dilation=d)
                for k, s, d, t in zip(self.kernel, self.stride, self.dilation, totals)]

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = _conv_settings(module)
        if module.eps != 1e-6:
            settings["eps"] = float(module.eps)
        if getattr(module, "same_pad", False):
            settings["tf_same"] = True
        if getattr(module, "scale", None) is not None:
            settings["scaled"] = True
            gamma = _gamma_of(module, module.weight[0].numel())
            if gamma != 1.0:
                settings["gamma"] = gamma
        return settings

    def torch_call(self, inputs):
        call = super().torch_call(inputs)
        kwargs = dict(call.kwargs)
        if self.eps != 1e-6:
            kwargs["eps"] = self.eps
        if self.tf_same:
            kwargs["same_pad"] = True
        if self.scaled:
            kwargs["gamma"] = self.gamma
        return TorchCall(self.torch_module.name, call.args, kwargs, arg_names=call.arg_names,
                         defaults=call.defaults)
