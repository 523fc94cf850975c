"""Transposed ("up") convolutions over 1, 2 or 3 spatial axes."""

from __future__ import annotations

from fractions import Fraction
from typing import ClassVar

from cnnspec.layers.base import (
    BOOL,
    Attr,
    AttrValueError,
    Layer,
    LayerInputError,
    TorchCall,
    Weights,
    Window,
    declared_channels,
    int_kind,
    spatial,
)
from cnnspec.layers.conv import _conv_settings, _mean_centre, _transposed_gaps
from cnnspec.layers.ndim import AXIS_NAMES, axes_kind, compact, torch_tuple
from cnnspec.layers.registry import register
from cnnspec.util import dims


def _transposed_attrs(rank: int) -> tuple:
    ones, zeros = (1,) * rank, (0,) * rank
    doc = "" if rank == 2 else "[" + ", ".join(AXIS_NAMES[rank]) + "] or one int for all; "
    return (
        Attr("out", int_kind(1), required=True, aliases=("out_channels",), torch_arg="out_channels",
             doc="" if rank == 2 else "output channels"),
        Attr("kernel", axes_kind(rank, 1), required=True, aliases=("kernel_size",),
             torch_arg="kernel_size", doc=doc and doc + "kernel size"),
        Attr("stride", axes_kind(rank, 1), default=ones, doc=doc and doc + "upsampling factor"),
        Attr("padding", axes_kind(rank, 0), default=zeros,
             doc=doc and doc + "removed from each side of the output"),
        Attr("output_padding", axes_kind(rank, 0), default=zeros,
             doc=doc and doc + "added to one side of the output; smaller than the stride or the "
                               "dilation"),
        Attr("dilation", axes_kind(rank, 1), default=ones, doc=doc and doc + "spacing of kernel taps"),
        Attr("groups", int_kind(1), default=1, doc="" if rank == 2 else "grouped transposed convolution"),
        Attr("bias", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("in_channels",), torch_arg="in_channels",
             doc="" if rank == 2 else "input channels; inferred, and checked when given"),
    )


class _ConvTranspose(Layer):
    """Transposed ("up") convolution over ``rank`` spatial axes:
    output = (n − 1)·s − 2p + d(k − 1) + output_padding + 1. MACs follow FlopCounterMode:
    every input position meets every kernel tap, in·(out/groups)·(kernel volume) per input
    position. Receptive field: an output unit reads ⌊d(k−1)/s⌋ + 1 input units per axis at
    most, and the jump shrinks by the stride."""

    family = "conv"
    rank: ClassVar[int] = 2

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
        size = spatial(shape, self.type_name, self.rank)
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
        return declared_channels(self.in_, inputs)

    def params(self, inputs):
        weight = self._in_channels(inputs) * (self.out // self.groups) * dims.prod(self.kernel)
        return weight + (self.out if self.bias else 0)

    def macs(self, inputs, output):
        per_input = (self.out // self.groups) * dims.prod(self.kernel)
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
        if torch_tuple(module.output_padding) != 0:
            settings["output_padding"] = torch_tuple(module.output_padding)
        return settings

    def torch_call(self, inputs):
        kwargs = {"kernel_size": compact(self.kernel)}
        for name, default in (("stride", 1), ("padding", 0), ("output_padding", 0), ("dilation", 1)):
            value = getattr(self, name)
            if any(v != default for v in value):
                kwargs[name] = compact(value)
        if self.groups != 1:
            kwargs["groups"] = self.groups
        if not self.bias:
            kwargs["bias"] = False
        return TorchCall(f"ConvTranspose{self.rank}d", (self._in_channels(inputs), self.out), kwargs,
                         arg_names=("in_channels", "out_channels"),
                         defaults={"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1,
                                   "groups": 1})


@register
class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution (``torch.nn.ConvTranspose1d``), the rules of
    ``conv_transpose2d`` along one axis."""

    type_name = "conv_transpose1d"
    rank = 1
    imported_from = ("ConvTranspose1d",)
    attrs = _transposed_attrs(1)


@register
class ConvTranspose2d(_ConvTranspose):
    """Transposed ("up") convolution (``torch.nn.ConvTranspose2d``):
    output = (n − 1)·s − 2p + d(k − 1) + output_padding + 1. MACs follow FlopCounterMode:
    every input position meets every kernel tap, in·(out/groups)·k_h·k_w per input pixel.
    Receptive field: an output unit reads ⌊d(k−1)/s⌋ + 1 input units per axis at most, and the
    jump shrinks by the stride."""

    type_name = "conv_transpose2d"
    aliases = ("deconv", "conv_transpose")
    imported_from = ("ConvTranspose2d",)
    attrs = _transposed_attrs(2)


@register
class ConvTranspose3d(_ConvTranspose):
    """3-D transposed convolution (``torch.nn.ConvTranspose3d``), the rules of
    ``conv_transpose2d`` along depth, height and width."""

    type_name = "conv_transpose3d"
    rank = 3
    imported_from = ("ConvTranspose3d",)
    attrs = _transposed_attrs(3)
