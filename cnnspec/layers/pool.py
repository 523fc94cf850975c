"""Pooling layers with a fixed window: max and average, over 1, 2 or 3 spatial axes
(adaptive and global pooling: ``cnnspec.layers.adaptive_pool``)."""

from __future__ import annotations

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
    Window,
    int_kind,
    pair_kind,
    spatial,
)
from cnnspec.layers.bins import adaptive_bins as adaptive_bins  # re-exported
from cnnspec.layers.bins import adaptive_widths as adaptive_widths  # re-exported
from cnnspec.layers.conv import Conv1d, Conv2d, Conv3d
from cnnspec.layers.ndim import AXIS_NAMES, axes_kind, compact, torch_tuple
from cnnspec.layers.registry import register
from cnnspec.util import dims


def pool_output_size(size, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool):
    """PyTorch's pooling_output_shape: floor (or ceil) division, and with ceil_mode the last
    window must start inside the input or the left padding. Raises LayerInputError when the
    output would be empty."""
    span = dilation * (kernel - 1) + 1
    numerator = size + 2 * padding - span
    concrete = isinstance(size, int)  # with a formula sympy cannot decide either test, slowly
    if ceil_mode:
        out = dims.ceildiv(numerator, stride) + 1
        if concrete and (out - 1) * stride >= size + padding:
            out = out - 1
    else:
        out = dims.floordiv(numerator, stride) + 1
    if concrete and out < 1:
        raise LayerInputError(
            f"a {span}-wide window with stride {stride} and padding {padding} leaves no output "
            f"on an input of {dims.fmt(size)} (output size {dims.fmt(out)})"
        )
    return out


class _Pool(Layer):
    """Shared rules of max and average pooling with a fixed window over ``rank`` axes."""

    family = "pool"
    shorthand = "kernel"
    rank: ClassVar[int] = 2

    def _dilation(self):
        return (1,) * self.rank

    def _stride(self):
        return self.kernel if self.stride is None else self.stride

    def _check_padding(self) -> None:
        """PyTorch: 'pad should be smaller than or equal to half of kernel size' — the kernel
        size itself, not the dilated window."""
        for p, k in zip(self.padding, self.kernel):
            if p > k // 2:
                raise AttrValueError(
                    f"padding {p} is more than half of the kernel size {k} (PyTorch refuses it)",
                    "padding",
                )

    def validate(self) -> None:
        self._check_padding()

    def output_shape(self, inputs):
        (shape,) = inputs
        size = spatial(shape, self.type_name, self.rank)
        return (shape[0],) + tuple(
            pool_output_size(n, k, s, p, d, self.ceil_mode)
            for n, k, s, p, d in zip(size, self.kernel, self._stride(), self.padding, self._dilation())
        )

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) * dims.prod(self.kernel)

    def receptive_field(self, inputs):
        return [
            Window(d * (k - 1) + 1, s, p, ceil=self.ceil_mode, dilation=d)
            for k, s, p, d in zip(self.kernel, self._stride(), self.padding, self._dilation())
        ]

    def _common_kwargs(self) -> dict:
        kwargs = {"kernel_size": compact(self.kernel)}
        if self.stride is not None and self.stride != self.kernel:
            kwargs["stride"] = compact(self.stride)
        if any(self.padding):
            kwargs["padding"] = compact(self.padding)
        return kwargs


def _pool_attrs(rank: int) -> tuple:
    if rank == 2:
        return (
            Attr("kernel", pair_kind(1), required=True, aliases=("kernel_size",),
                 torch_arg="kernel_size"),
            Attr("stride", pair_kind(1), default=None, doc="defaults to the kernel size"),
            Attr("padding", pair_kind(0), default=(0, 0)),
        )
    listing = "[" + ", ".join(AXIS_NAMES[rank]) + "]"
    return (
        Attr("kernel", axes_kind(rank, 1), required=True, aliases=("kernel_size",),
             torch_arg="kernel_size", doc=f"window size: int or {listing}"),
        Attr("stride", axes_kind(rank, 1), default=None, doc="defaults to the kernel size"),
        Attr("padding", axes_kind(rank, 0), default=(0,) * rank, doc="padding on each side"),
    )


def _max_attrs(rank: int) -> tuple:
    return (*_pool_attrs(rank), Attr("dilation", axes_kind(rank, 1), default=(1,) * rank,
                                     doc="" if rank == 2 else "spacing of window taps"),
            Attr("ceil_mode", BOOL, default=False))


def _avg_attrs(rank: int) -> tuple:
    doc = rank != 2
    attrs = (*_pool_attrs(rank), Attr("ceil_mode", BOOL, default=False),
             Attr("count_include_pad", BOOL, default=True,
                  doc="count padding zeros in the divisor" if doc else ""))
    if rank == 1:  # AvgPool1d has no divisor_override
        return attrs
    return (*attrs, Attr("divisor_override", int_kind(1), default=None,
                         doc="divide by this instead of the window size" if doc else ""))


class _AvgPool(_Pool):
    _CALL = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad",
             "divisor_override")
    _DEFAULTS = {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                 "divisor_override": None}

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``F.avg_pool2d(x, kernel_size, stride, padding, ...)``, as Inception's blocks call it."""
        return cls.type_name, cls.from_torch(_call_module(cls, args, kwargs)), list(args[:1])
    @classmethod
    def from_torch(cls, module) -> dict:
        settings = _pool_settings(module)
        if not module.count_include_pad:
            settings["count_include_pad"] = False
        if getattr(module, "divisor_override", None) is not None:
            settings["divisor_override"] = module.divisor_override
        return settings

    def torch_call(self, inputs):
        kwargs = self._common_kwargs()
        if self.ceil_mode:
            kwargs["ceil_mode"] = True
        if not self.count_include_pad:
            kwargs["count_include_pad"] = False
        if getattr(self, "divisor_override", None) is not None:
            kwargs["divisor_override"] = self.divisor_override
        return TorchCall(f"AvgPool{self.rank}d", (), kwargs, defaults={"padding": 0})


@register
class AvgPool1d(_AvgPool):
    """1-D average pooling (``torch.nn.AvgPool1d``) over a (channels, length) input."""

    type_name = "avgpool1d"
    rank = 1
    imported_from = ("AvgPool1d",)
    imported_functions = ("torch.nn.functional.avg_pool1d",)
    attrs = _avg_attrs(1)


@register
class AvgPool2d(_AvgPool):
    """2-D average pooling (``torch.nn.AvgPool2d``)."""

    type_name = "avgpool2d"
    aliases = ("avgpool",)
    imported_from = ("AvgPool2d",)
    imported_functions = ("torch.nn.functional.avg_pool2d",)
    attrs = _avg_attrs(2)


@register
class AvgPool3d(_AvgPool):
    """3-D average pooling (``torch.nn.AvgPool3d``) over a (channels, depth, height, width)
    input."""

    type_name = "avgpool3d"
    rank = 3
    imported_from = ("AvgPool3d",)
    imported_functions = ("torch.nn.functional.avg_pool3d",)
    attrs = _avg_attrs(3)


_AVG = {1: AvgPool1d, 2: AvgPool2d, 3: AvgPool3d}
_CONV = {1: Conv1d, 2: Conv2d, 3: Conv3d}


class _MaxPool(_Pool):
    _CALL = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
    _DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False,
                 "return_indices": False}

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``F.max_pool2d(x, kernel_size, stride, padding, ...)``."""
        return cls.type_name, cls.from_torch(_call_module(cls, args, kwargs)), list(args[:1])
    def _dilation(self):
        return self.dilation

    def linear_twin(self, inputs):
        """Average pooling over the same windows; a dilated window's averaging (depthwise)
        convolution."""
        if any(d != 1 for d in self.dilation):
            channels = inputs[0][0]
            return _CONV[self.rank](out=channels, kernel=self.kernel, stride=self._stride(),
                                    padding=self.padding, dilation=self.dilation, groups=channels,
                                    bias=False)
        return _AVG[self.rank](kernel=self.kernel, stride=self.stride, padding=self.padding,
                               ceil_mode=self.ceil_mode)

    @classmethod
    def from_torch(cls, module) -> dict:
        if module.return_indices:
            raise NotImportable(f"{type(module).__name__}(return_indices=True) is not supported")
        settings = _pool_settings(module)
        if torch_tuple(module.dilation) != 1:
            settings["dilation"] = torch_tuple(module.dilation)
        return settings

    def torch_call(self, inputs):
        kwargs = self._common_kwargs()
        if any(d != 1 for d in self.dilation):
            kwargs["dilation"] = compact(self.dilation)
        if self.ceil_mode:
            kwargs["ceil_mode"] = True
        return TorchCall(f"MaxPool{self.rank}d", (), kwargs, defaults={"padding": 0})


@register
class MaxPool1d(_MaxPool):
    """1-D max pooling (``torch.nn.MaxPool1d``) over a (channels, length) input."""

    type_name = "maxpool1d"
    rank = 1
    imported_from = ("MaxPool1d",)
    imported_functions = ("torch.nn.functional.max_pool1d",)
    attrs = _max_attrs(1)


@register
class MaxPool2d(_MaxPool):
    """2-D max pooling (``torch.nn.MaxPool2d``)."""

    type_name = "maxpool2d"
    aliases = ("maxpool",)
    imported_from = ("MaxPool2d",)
    imported_functions = ("torch.nn.functional.max_pool2d",)
    attrs = _max_attrs(2)


@register
class MaxPool3d(_MaxPool):
    """3-D max pooling (``torch.nn.MaxPool3d``) over a (channels, depth, height, width) input."""

    type_name = "maxpool3d"
    rank = 3
    imported_from = ("MaxPool3d",)
    imported_functions = ("torch.nn.functional.max_pool3d",)
    attrs = _max_attrs(3)


def _call_module(cls, args: list, kwargs: dict):
    """A functional pooling call's arguments, read like the module's attributes."""
    call = {**cls._DEFAULTS, **dict(zip(cls._CALL, args)), **kwargs}
    if call["stride"] in (None, [], ()):
        call["stride"] = None
    return SimpleNamespace(**{k: v for k, v in call.items() if k != "input"})


def _pool_settings(m) -> dict:
    """A torch max or average pooling module's window settings."""
    settings = {"kernel": torch_tuple(m.kernel_size)}
    if m.stride is not None and torch_tuple(m.stride) != torch_tuple(m.kernel_size):
        settings["stride"] = torch_tuple(m.stride)
    if torch_tuple(m.padding) != 0:
        settings["padding"] = torch_tuple(m.padding)
    if m.ceil_mode:
        settings["ceil_mode"] = True
    return settings
