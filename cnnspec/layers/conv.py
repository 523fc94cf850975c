"""Convolution layers."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace
from typing import ClassVar

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
    declared_channels,
    int_kind,
    spatial,
)
from cnnspec.layers.ndim import AXIS_NAMES, axes_kind, axes_padding_kind, torch_tuple
from cnnspec.layers.ndim import compact as compact  # re-exported
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
    settings = {"out": m.out_channels, "kernel": torch_tuple(m.kernel_size), "in": m.in_channels}
    if torch_tuple(m.stride) != 1:
        settings["stride"] = torch_tuple(m.stride)
    padding = m.padding if isinstance(m.padding, str) else torch_tuple(m.padding)
    if padding != 0:
        settings["padding"] = padding
    if torch_tuple(m.dilation) != 1:
        settings["dilation"] = torch_tuple(m.dilation)
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


def _conv_attrs(rank: int) -> tuple:
    listing = "[" + ", ".join(AXIS_NAMES[rank]) + "]"
    ones, zeros = (1,) * rank, (0,) * rank
    return (
        Attr("out", int_kind(1), required=True, aliases=("out_channels",),
             doc="output channels", torch_arg="out_channels"),
        Attr("kernel", axes_kind(rank, 1), required=True, aliases=("kernel_size",),
             doc=f"kernel size: int or {listing}", torch_arg="kernel_size"),
        Attr("stride", axes_kind(rank, 1), default=ones),
        Attr("padding", axes_padding_kind(rank), default=zeros,
             doc=f"int, {listing}, 'same' (stride 1 only) or 'valid'"),
        Attr("dilation", axes_kind(rank, 1), default=ones),
        Attr("groups", int_kind(1), default=1, doc="" if rank == 2 else
             "grouped convolution; `groups` equal to the channels is depthwise"),
        Attr("bias", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("in_channels",),
             doc="input channels; inferred, and checked when given", torch_arg="in_channels"),
    )


class _Conv(Layer):
    """The rules of a convolution over ``rank`` spatial axes (conv1d, conv2d, conv3d)."""

    family = "conv"
    rank: ClassVar[int] = 2

    def validate(self) -> None:
        if self.out % self.groups:
            raise AttrValueError(
                f"out ({self.out}) must be divisible by groups ({self.groups})", "groups"
            )
        if self.padding == "same" and any(s != 1 for s in self.stride):
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
            return (0,) * self.rank
        if self.padding == "same":
            return tuple(d * (k - 1) // 2 for k, d in zip(self.kernel, self.dilation))
        return self.padding

    def output_shape(self, inputs):
        (shape,) = inputs
        size = spatial(shape, self.type_name, self.rank)
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
        return declared_channels(self.in_, inputs)

    def _in_channels(self, inputs):
        return inputs[0][0] if self.in_ is None else self.in_

    def params(self, inputs):
        weight = self.out * (self._in_channels(inputs) // self.groups) * dims.prod(self.kernel)
        return weight + (self.out if self.bias else 0)

    def macs(self, inputs, output):
        per_output = (self._in_channels(inputs) // self.groups) * dims.prod(self.kernel)
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
        """``F.conv1d/2d/3d(x, weight, bias, stride, padding, dilation, groups)`` over a
        module's weight and bias."""
        names = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
        call = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1,
                **dict(zip(names, args)), **kwargs}
        if len(call["weight"].shape) != cls.rank + 2:
            raise NotImportable(f"a weight of {len(call['weight'].shape)} dims is no conv{cls.rank}d weight")
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
        if any(s != 1 for s in self.stride):
            kwargs["stride"] = compact(self.stride)
        if self.padding in ("same", "valid"):
            kwargs["padding"] = self.padding
        elif any(self.padding):
            kwargs["padding"] = compact(self.padding)
        if any(d != 1 for d in self.dilation):
            kwargs["dilation"] = compact(self.dilation)
        if self.groups != 1:
            kwargs["groups"] = self.groups
        if not self.bias:
            kwargs["bias"] = False
        return TorchCall(f"Conv{self.rank}d", (self._in_channels(inputs), self.out), kwargs,
                         arg_names=("in_channels", "out_channels"),
                         defaults={"stride": 1, "padding": 0, "dilation": 1, "groups": 1})


@register
class Conv1d(_Conv):
    """1-D convolution (``torch.nn.Conv1d``) over a (channels, length) input: time series,
    audio, spectrogram frames. Input channels are inferred; a declared ``in`` is checked."""

    type_name = "conv1d"
    rank = 1
    imported_from = ("Conv1d",)
    imported_state_functions = ("torch.nn.functional.conv1d",)
    attrs = _conv_attrs(1)


@register
class Conv2d(_Conv):
    """2-D convolution (``torch.nn.Conv2d``). Input channels are inferred from the previous
    node; a declared ``in`` is checked against them."""

    type_name = "conv2d"
    aliases = ("conv",)
    imported_from = ("Conv2d",)
    imported_state_functions = ("torch.nn.functional.conv2d",)
    attrs = _conv_attrs(2)


@register
class Conv3d(_Conv):
    """3-D convolution (``torch.nn.Conv3d``) over a (channels, depth, height, width) input:
    video clips (depth = frames), volumes. Input channels are inferred; a declared ``in`` is
    checked."""

    type_name = "conv3d"
    rank = 3
    imported_from = ("Conv3d",)
    imported_state_functions = ("torch.nn.functional.conv3d",)
    attrs = _conv_attrs(3)


def _mean_centre(reach: int, p: int, s: int) -> Fraction:
    """The mean over one period of s outputs j of (centre(j) − j/s), where output j reads the
    inputs ⌈(j + p − reach)/s⌉ … ⌊(j + p)/s⌋: in closed form, by Hermite's identity
    (Σ_j ⌊(m + j)/s⌋ = m over j < s), (2p − reach) / 2s (no loop over a stride of 10⁹)."""
    return Fraction(2 * p - reach, 2 * s)
