"""Pooling layers: max and average with a fixed window, adaptive and global."""

from __future__ import annotations

from cnnspec.layers.base import (
    BOOL,
    GLOBAL,
    Attr,
    AttrValueError,
    Layer,
    LayerInputError,
    NotImportable,
    TorchCall,
    Window,
    int_kind,
    output_size_kind,
    pair_kind,
    spatial,
    torch_pair,
)
from cnnspec.layers.bins import adaptive_bins as adaptive_bins  # re-exported
from cnnspec.layers.bins import adaptive_widths, ratio
from cnnspec.layers.conv import Conv2d, compact
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
    """Shared rules of max and average pooling with a fixed window."""

    family = "pool"
    shorthand = "kernel"

    def _dilation(self):
        return (1, 1)

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
        size = spatial(shape, self.type_name)
        return (shape[0],) + tuple(
            pool_output_size(n, k, s, p, d, self.ceil_mode)
            for n, k, s, p, d in zip(size, self.kernel, self._stride(), self.padding, self._dilation())
        )

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) * self.kernel[0] * self.kernel[1]

    def receptive_field(self, inputs):
        return [
            Window(d * (k - 1) + 1, s, p, ceil=self.ceil_mode, dilation=d)
            for k, s, p, d in zip(self.kernel, self._stride(), self.padding, self._dilation())
        ]

    def _common_kwargs(self) -> dict:
        kwargs = {"kernel_size": compact(self.kernel)}
        if self.stride is not None and self.stride != self.kernel:
            kwargs["stride"] = compact(self.stride)
        if self.padding != (0, 0):
            kwargs["padding"] = compact(self.padding)
        return kwargs


_POOL_ATTRS = (
    Attr("kernel", pair_kind(1), required=True, aliases=("kernel_size",), torch_arg="kernel_size"),
    Attr("stride", pair_kind(1), default=None, doc="defaults to the kernel size"),
    Attr("padding", pair_kind(0), default=(0, 0)),
)


@register
class MaxPool2d(_Pool):
    """2-D max pooling (``torch.nn.MaxPool2d``)."""

    type_name = "maxpool2d"
    aliases = ("maxpool",)
    imported_from = ("MaxPool2d",)
    attrs = (
        *_POOL_ATTRS,
        Attr("dilation", pair_kind(1), default=(1, 1)),
        Attr("ceil_mode", BOOL, default=False),
    )

    def _dilation(self):
        return self.dilation

    def linear_twin(self, inputs):
        """Average pooling over the same windows; a dilated window's averaging (depthwise)
        convolution."""
        if self.dilation != (1, 1):
            channels = inputs[0][0]
            return Conv2d(out=channels, kernel=self.kernel, stride=self._stride(), padding=self.padding,
                          dilation=self.dilation, groups=channels, bias=False)
        return AvgPool2d(kernel=self.kernel, stride=self.stride, padding=self.padding,
                         ceil_mode=self.ceil_mode)

    @classmethod
    def from_torch(cls, module) -> dict:
        if module.return_indices:
            raise NotImportable("MaxPool2d(return_indices=True) is not supported")
        settings = _pool_settings(module)
        if torch_pair(module.dilation) != 1:
            settings["dilation"] = torch_pair(module.dilation)
        return settings

    def torch_call(self, inputs):
        kwargs = self._common_kwargs()
        if self.dilation != (1, 1):
            kwargs["dilation"] = compact(self.dilation)
        if self.ceil_mode:
            kwargs["ceil_mode"] = True
        return TorchCall("MaxPool2d", (), kwargs, defaults={"padding": 0})


@register
class AvgPool2d(_Pool):
    """2-D average pooling (``torch.nn.AvgPool2d``)."""

    type_name = "avgpool2d"
    aliases = ("avgpool",)
    imported_from = ("AvgPool2d",)
    attrs = (
        *_POOL_ATTRS,
        Attr("ceil_mode", BOOL, default=False),
        Attr("count_include_pad", BOOL, default=True),
        Attr("divisor_override", int_kind(1), default=None),
    )

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = _pool_settings(module)
        if not module.count_include_pad:
            settings["count_include_pad"] = False
        if module.divisor_override is not None:
            settings["divisor_override"] = module.divisor_override
        return settings

    def torch_call(self, inputs):
        kwargs = self._common_kwargs()
        if self.ceil_mode:
            kwargs["ceil_mode"] = True
        if not self.count_include_pad:
            kwargs["count_include_pad"] = False
        if self.divisor_override is not None:
            kwargs["divisor_override"] = self.divisor_override
        return TorchCall("AvgPool2d", (), kwargs, defaults={"padding": 0})


def _pool_settings(m) -> dict:
    """A torch MaxPool2d / AvgPool2d's window settings."""
    settings = {"kernel": torch_pair(m.kernel_size)}
    if m.stride is not None and torch_pair(m.stride) != torch_pair(m.kernel_size):
        settings["stride"] = torch_pair(m.stride)
    if torch_pair(m.padding) != 0:
        settings["padding"] = torch_pair(m.padding)
    if m.ceil_mode:
        settings["ceil_mode"] = True
    return settings


class _Adaptive(Layer):
    family = "pool"
    shorthand = "output_size"
    torch_class = ""

    def _targets(self, shape):
        return tuple(n if o is None else o for n, o in zip(spatial(shape, self.type_name), self.output_size))

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
            size = list(size) if size[0] != size[1] or size[0] is None else size[0]
        return {"output_size": size}

    def torch_call(self, inputs):
        size = self.output_size
        arg = size[0] if size[0] == size[1] and size[0] is not None else tuple(size)
        return TorchCall(self.torch_class, (arg,), {}, arg_names=("output_size",))


@register
class AdaptiveAvgPool2d(_Adaptive):
    """Adaptive average pooling to a fixed output size (``torch.nn.AdaptiveAvgPool2d``)."""

    type_name = "adaptive_avgpool2d"
    imported_from = ("AdaptiveAvgPool2d",)
    imported_functions = ("torch.nn.functional.adaptive_avg_pool2d",)
    aliases = ("adaptive_avgpool",)
    torch_class = "AdaptiveAvgPool2d"
    attrs = (Attr("output_size", output_size_kind(), required=True),)


@register
class AdaptiveMaxPool2d(_Adaptive):
    """Adaptive max pooling to a fixed output size (``torch.nn.AdaptiveMaxPool2d``)."""

    type_name = "adaptive_maxpool2d"
    imported_from = ("AdaptiveMaxPool2d",)
    imported_functions = ("torch.nn.functional.adaptive_max_pool2d",)
    aliases = ("adaptive_maxpool",)
    torch_class = "AdaptiveMaxPool2d"
    attrs = (Attr("output_size", output_size_kind(), required=True),)

    def linear_twin(self, inputs):
        return AdaptiveAvgPool2d(output_size=self.output_size)


@register
class GlobalAvgPool(_Adaptive):
    """Global average pooling: every channel to 1x1 (``torch.nn.AdaptiveAvgPool2d(1)``)."""

    type_name = "global_avgpool"
    aliases = ("gap",)
    shorthand = None
    torch_class = "AdaptiveAvgPool2d"
    output_size = (1, 1)


@register
class GlobalMaxPool(_Adaptive):
    """Global max pooling: every channel to 1x1 (``torch.nn.AdaptiveMaxPool2d(1)``)."""

    type_name = "global_maxpool"
    shorthand = None
    torch_class = "AdaptiveMaxPool2d"
    output_size = (1, 1)

    def linear_twin(self, inputs):
        return AdaptiveAvgPool2d(output_size=self.output_size)

