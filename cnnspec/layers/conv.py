"""Convolution layers."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

from cnnspec.layers.base import (
    BOOL,
    Attr,
    AttrValueError,
    Layer,
    LayerInputError,
    NotImportable,
    TorchCall,
    Weights,
    Window,
    int_kind,
    padding_kind,
    pair_kind,
    spatial,
    torch_pair,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims


def conv_output_size(size, kernel: int, stride: int, padding: int, dilation: int):
    """⌊(n + 2p − d(k−1) − 1) / s⌋ + 1, or LayerInputError when the window does not fit."""
    span = dilation * (kernel - 1) + 1
    room = size + 2 * padding - span
    if dims.is_true(room >= 0) is False:
        raise LayerInputError(
            f"the {span}-wide kernel window does not fit the padded input "
            f"({dims.fmt(size)} + 2x{padding} = {dims.fmt(size + 2 * padding)})"
        )
    return dims.floordiv(room, stride) + 1


def _conv_settings(m) -> dict:
    """A torch Conv2d / ConvTranspose2d's settings."""
    if m.padding_mode != "zeros":
        raise NotImportable(f"padding_mode={m.padding_mode!r} is not supported")
    settings = {"out": m.out_channels, "kernel": torch_pair(m.kernel_size), "in": m.in_channels}
    if torch_pair(m.stride) != 1:
        settings["stride"] = torch_pair(m.stride)
    padding = m.padding if isinstance(m.padding, str) else torch_pair(m.padding)
    if padding != 0:
        settings["padding"] = padding
    if torch_pair(m.dilation) != 1:
        settings["dilation"] = torch_pair(m.dilation)
    if m.groups != 1:
        settings["groups"] = m.groups
    if m.bias is None:
        settings["bias"] = False
    return settings


def _transposed_gaps(n, k: int, s: int, p: int, d: int, outputs, *, limit: int = 4096) -> bool:
    """Whether some output of a transposed convolution reads no input unit (output o reads
    input i through tap t when o = i·s − p + t·d). True when it cannot be told cheaply."""
    if not (isinstance(n, int) and isinstance(outputs, int)) or max(outputs, n) * k > limit:
        return True
    hit = set()
    for i in range(n):
        for t in range(k):
            hit.add(i * s - p + t * d)
    return any(o not in hit for o in range(outputs))


def compact(pair):
    """A (h, w) pair as torch would print it: one int when both are equal."""
    return pair[0] if pair[0] == pair[1] else tuple(pair)


@register
class Conv2d(Layer):
    """2-D convolution (``torch.nn.Conv2d``). Input channels are inferred from the previous
    node; a declared ``in`` is checked against them."""

    type_name = "conv2d"
    aliases = ("conv",)
    family = "conv"
    imported_from = ("Conv2d",)
    imported_state_functions = ("torch.nn.functional.conv2d",)
    attrs = (
        Attr("out", int_kind(1), required=True, aliases=("out_channels",),
             doc="output channels", torch_arg="out_channels"),
        Attr("kernel", pair_kind(1), required=True, aliases=("kernel_size",),
             doc="kernel size: int or [height, width]", torch_arg="kernel_size"),
        Attr("stride", pair_kind(1), default=(1, 1)),
        Attr("padding", padding_kind(), default=(0, 0),
             doc="int, [height, width], 'same' (stride 1 only) or 'valid'"),
        Attr("dilation", pair_kind(1), default=(1, 1)),
        Attr("groups", int_kind(1), default=1),
        Attr("bias", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("in_channels",),
             doc="input channels; inferred, and checked when given", torch_arg="in_channels"),
    )

    def validate(self) -> None:
        if self.out % self.groups:
            raise AttrValueError(
                f"out ({self.out}) must be divisible by groups ({self.groups})", "groups"
            )
        if self.padding == "same" and self.stride != (1, 1):
            raise AttrValueError(
                "'same' padding is only defined for stride 1 (PyTorch refuses it for strided "
                "convs)", "padding"
            )
        if self.in_ is not None and self.in_ % self.groups:
            raise AttrValueError(
                f"in ({self.in_}) must be divisible by groups ({self.groups})", "groups"
            )

    def pads(self) -> tuple:
        """Padding before the input on each axis (for 'same', the smaller, left half)."""
        if self.padding == "valid":
            return (0, 0)
        if self.padding == "same":
            return tuple(d * (k - 1) // 2 for k, d in zip(self.kernel, self.dilation))
        return self.padding

    def output_shape(self, inputs):
        (shape,) = inputs
        size = spatial(shape, "conv2d")
        channels = shape[0]
        if channels % self.groups:
            raise LayerInputError(
                f"{channels} input channels are not divisible by groups={self.groups}"
            )
        if self.padding == "same":
            return (self.out, *size)
        pads = self.pads()
        return (self.out,) + tuple(
            conv_output_size(n, k, s, p, d)
            for n, k, s, p, d in zip(size, self.kernel, self.stride, pads, self.dilation)
        )

    def declared_mismatch(self, inputs):
        if self.in_ is not None and self.in_ != inputs[0][0]:
            return self.in_, inputs[0][0]
        return None

    def _in_channels(self, inputs):
        return inputs[0][0] if self.in_ is None else self.in_

    def params(self, inputs):
        weight = self.out * (self._in_channels(inputs) // self.groups) * self.kernel[0] * self.kernel[1]
        return weight + (self.out if self.bias else 0)

    def macs(self, inputs, output):
        per_output = (self._in_channels(inputs) // self.groups) * self.kernel[0] * self.kernel[1]
        return dims.prod(output) * per_output

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) if self.bias else 0

    def receptive_field(self, inputs):
        return [
            Window(d * (k - 1) + 1, s, p, dilation=d)
            for k, s, p, d in zip(self.kernel, self.stride, self.pads(), self.dilation)
        ]

    def weights(self, inputs):
        return Weights(self._in_channels(inputs), self.out, self.groups, self.kernel, self.dilation,
                       self.bias)

    @classmethod
    def from_torch(cls, module) -> dict:
        return _conv_settings(module)

    @classmethod
    def from_torch_state_call(cls, args, kwargs):
        """``F.conv2d(x, weight, bias, stride, padding, dilation, groups)`` over a module's
        weight and bias."""
        names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
        call = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1,
                **dict(zip(names, args)), **kwargs}
        if len(call["weight"].shape) != 4:
            raise NotImportable("only 2-D convolutions are supported")
        out, per_group, *kernel = call["weight"].shape
        settings = _conv_settings(SimpleNamespace(
            padding_mode="zeros", out_channels=out, in_channels=per_group * call["groups"],
            kernel_size=tuple(kernel), **{k: call[k] for k in names[2:]}))
        state = {"weight": call["weight"], **({} if call["bias"] is None else {"bias": call["bias"]})}
        return settings, [call["input"]], state

    def padding_skew(self):
        if self.padding != "same":
            return ()
        return tuple(d * (k - 1) % 2 for k, d in zip(self.kernel, self.dilation))

    def torch_call(self, inputs):
        kwargs = {"kernel_size": compact(self.kernel)}
        if self.stride != (1, 1):
            kwargs["stride"] = compact(self.stride)
        if self.padding in ("same", "valid"):
            kwargs["padding"] = self.padding
        elif self.padding != (0, 0):
            kwargs["padding"] = compact(self.padding)
        if self.dilation != (1, 1):
            kwargs["dilation"] = compact(self.dilation)
        if self.groups != 1:
            kwargs["groups"] = self.groups
        if not self.bias:
            kwargs["bias"] = False
        return TorchCall("Conv2d", (self._in_channels(inputs), self.out), kwargs,
                         arg_names=("in_channels", "out_channels"),
                         defaults={"stride": 1, "padding": 0, "dilation": 1, "groups": 1})


def _mean_centre(reach: int, p: int, s: int) -> Fraction:
    """The mean over one period of s outputs j of (centre(j) − j/s), where output j reads the
    inputs ⌈(j + p − reach)/s⌉ … ⌊(j + p)/s⌋: in closed form, by Hermite's identity
    (Σ_j ⌊(m + j)/s⌋ = m over j < s), (2p − reach) / 2s (no loop over a stride of 10⁹)."""
    return Fraction(2 * p - reach, 2 * s)


@register
class ConvTranspose2d(Layer):
    """Transposed ("up") convolution (``torch.nn.ConvTranspose2d``):
    output = (n − 1)·s − 2p + d(k − 1) + output_padding + 1. MACs follow FlopCounterMode:
    every input position meets every kernel tap, in·(out/groups)·k_h·k_w per input pixel.
    Receptive field: an output unit reads ⌊d(k−1)/s⌋ + 1 input units per axis at most, and the
    jump shrinks by the stride."""

    type_name = "conv_transpose2d"
    aliases = ("deconv", "conv_transpose")
    family = "conv"
    imported_from = ("ConvTranspose2d",)
    attrs = (
        Attr("out", int_kind(1), required=True, aliases=("out_channels",), torch_arg="out_channels"),
        Attr("kernel", pair_kind(1), required=True, aliases=("kernel_size",), torch_arg="kernel_size"),
        Attr("stride", pair_kind(1), default=(1, 1)),
        Attr("padding", pair_kind(0), default=(0, 0)),
        Attr("output_padding", pair_kind(0), default=(0, 0)),
        Attr("dilation", pair_kind(1), default=(1, 1)),
        Attr("groups", int_kind(1), default=1),
        Attr("bias", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("in_channels",), torch_arg="in_channels"),
    )

    def validate(self) -> None:
        if self.out % self.groups:
            raise AttrValueError(f"out ({self.out}) must be divisible by groups ({self.groups})", "groups")
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= s and op >= d:
                raise AttrValueError(
                    f"output_padding {op} must be smaller than the stride ({s}) or the dilation ({d})",
                    "output_padding",
                )

    def _in_channels(self, inputs):
        return inputs[0][0] if self.in_ is None else self.in_

    def output_shape(self, inputs):
        (shape,) = inputs
        size = spatial(shape, "conv_transpose2d")
        if shape[0] % self.groups:
            raise LayerInputError(f"{shape[0]} input channels are not divisible by groups={self.groups}")
        out = []
        for n, k, s, p, op, d in zip(size, self.kernel, self.stride, self.padding,
                                     self.output_padding, self.dilation):
            value = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
            if dims.is_true(value >= 1) is False:
                raise LayerInputError(f"the padding {p} leaves no output from an input of {dims.fmt(n)}")
            out.append(value)
        return (self.out, *out)

    def declared_mismatch(self, inputs):
        if self.in_ is not None and self.in_ != inputs[0][0]:
            return self.in_, inputs[0][0]
        return None

    def params(self, inputs):
        weight = self._in_channels(inputs) * (self.out // self.groups) * self.kernel[0] * self.kernel[1]
        return weight + (self.out if self.bias else 0)

    def macs(self, inputs, output):
        per_input = (self.out // self.groups) * self.kernel[0] * self.kernel[1]
        return dims.prod(inputs[0]) * per_input

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) if self.bias else 0

    def receptive_field(self, inputs):
        """Output o reads the inputs i with i·s ∈ [o + p − d(k−1), o + p]: at most
        ⌊d(k−1)/s⌋ + 1 of them. Unit centres repeat in steps of s outputs, so ``start`` is
        their least-squares line: the mean over one period of (centre(o) − o/s)."""
        windows = []
        for n, k, s, p, d, o in zip(inputs[0][1:], self.kernel, self.stride, self.padding,
                                    self.dilation, self.output_shape(inputs)[1:]):
            reach = d * (k - 1)
            if s == 1:  # a plain convolution over the input padded by reach − p on each side
                windows.append(Window(reach + 1, 1, reach - p, outputs=o, dilation=d))
                continue
            width = reach // s + 1
            centre = _mean_centre(reach, p, s)
            windows.append(Window(width, Fraction(1, s), Fraction(width - 1, 2) - centre, outputs=o,
                                  gaps=_transposed_gaps(n, k, s, p, d, o),
                                  approximate=f"transposed convolution with stride {s}: output "
                                              "units lie between the input units, start is a "
                                              "least-squares fit"))
        return windows

    def weights(self, inputs):
        return Weights(self._in_channels(inputs), self.out, self.groups, self.kernel, self.dilation,
                       self.bias, transposed=True)

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = _conv_settings(module)
        if torch_pair(module.output_padding) != 0:
            settings["output_padding"] = torch_pair(module.output_padding)
        return settings

    def torch_call(self, inputs):
        kwargs = {"kernel_size": compact(self.kernel)}
        for name, default in (("stride", (1, 1)), ("padding", (0, 0)), ("output_padding", (0, 0)),
                              ("dilation", (1, 1))):
            value = getattr(self, name)
            if value != default:
                kwargs[name] = compact(value)
        if self.groups != 1:
            kwargs["groups"] = self.groups
        if not self.bias:
            kwargs["bias"] = False
        return TorchCall("ConvTranspose2d", (self._in_channels(inputs), self.out), kwargs,
                         arg_names=("in_channels", "out_channels"),
                         defaults={"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1,
                                   "groups": 1})
