"""Blur pooling (timm's BlurPool2d, "Making Convolutional Networks Shift-Invariant Again"): a
fixed binomial low-pass filter per channel, then subsampling by the stride."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    AttrValueError,
    Layer,
    LayerInputError,
    OwnModule,
    TorchCall,
    Window,
    choice_kind,
    declared_channels,
    fmt_shape,
    int_kind,
    spatial,
)
from cnnspec.layers.conv import conv_output_size
from cnnspec.layers.registry import register
from cnnspec.util import dims

BLUR_POOL = OwnModule("BlurPool2d", '''\
class BlurPool2d(nn.Module):
    """Blur, then subsample: a fixed binomial filter of ``filt_size`` taps per axis on every
    channel (the buffer ``filt``, not in the state_dict), after padding the input with
    ``pad_mode`` (timm's BlurPool2d)."""

    def __init__(self, channels: int, filt_size: int = 3, stride: int = 2,
                 pad_mode: str = "reflect"):
        super().__init__()
        self.channels, self.filt_size, self.stride, self.pad_mode = (channels, filt_size, stride,
                                                                     pad_mode)
        self.padding = [((stride - 1) + (filt_size - 1)) // 2] * 4
        row = [1]
        for _ in range(filt_size - 1):
            row = [a + b for a, b in zip([0, *row], [*row, 0])]
        coeffs = torch.tensor(row, dtype=torch.float32) / (2 ** (filt_size - 1))
        filt = (coeffs[:, None] * coeffs[None, :])[None, None, :, :].repeat(channels, 1, 1, 1)
        self.register_buffer("filt", filt, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(x, self.padding, mode=self.pad_mode)
        return nn.functional.conv2d(x, self.filt, stride=self.stride, groups=self.channels)

    def extra_repr(self) -> str:
        return f"{self.channels}, filt_size={self.filt_size}, stride={self.stride}"
''')


@register
class BlurPool2d(Layer):
    """Blur pooling (timm's ``BlurPool2d``, the anti-aliased downsampling of ResNet-blur): the
    input is padded by ⌊(s − 1 + k − 1)/2⌋ on every side with ``pad_mode``, then every
    channel is convolved with a fixed k×k binomial filter (the outer product of the row
    C(k−1, i)/2^(k−1), summing to 1) at stride s. The filter is the non-persistent buffer
    ``filt`` (C·k² values): it is in no state_dict, and the layer has no parameters."""

    type_name = "blur_pool2d"
    aliases = ("blurpool",)
    family = "pool"
    imported_from = ("BlurPool2d",)  # timm's; cnnspec's own module has the same name and attributes
    torch_module = BLUR_POOL
    attrs = (
        Attr("filt_size", int_kind(2), default=3, aliases=("kernel",),
             doc="the binomial filter's taps per axis"),
        Attr("stride", int_kind(1), default=2),
        Attr("pad_mode", choice_kind("reflect", "constant", "replicate", "circular"),
             default="reflect", doc="how the input is padded (`F.pad`'s mode; `constant` pads "
                                    "zeros, timm's `blurpc`)"),
        Attr("in", int_kind(1), aliases=("channels",),
             doc="input channels; inferred, and checked when given", torch_arg="channels"),
    )

    def _pad(self) -> int:
        return (self.stride - 1 + self.filt_size - 1) // 2

    def validate(self) -> None:
        if self.pad_mode == "circular" and self._pad() == 0:
            raise AttrValueError("nothing to pad circularly at this filt_size and stride", "pad_mode")

    def output_shape(self, inputs):
        (shape,) = inputs
        size = spatial(shape, self.type_name)
        pad = self._pad()
        if self.pad_mode in ("reflect", "circular") and any(
                dims.is_true(n > pad) is False for n in size):
            raise LayerInputError(
                f"blur_pool2d's {self.pad_mode} padding of {pad} needs more than {pad} rows and "
                f"columns, got a {fmt_shape(shape)} input",
                hint="give a larger input, or pad_mode: constant")
        return (shape[0], *(conv_output_size(n, self.filt_size, self.stride, pad, 1) for n in size))

    def declared_mismatch(self, inputs):
        return declared_channels(self.in_, inputs)

    def buffers(self, inputs):
        return inputs[0][0] * self.filt_size ** 2

    def macs(self, inputs, output):
        """A depthwise convolution with a fixed filter: k² per output element, as
        ``FlopCounterMode`` counts it."""
        return dims.prod(output) * self.filt_size ** 2

    def receptive_field(self, inputs):
        return [Window(self.filt_size, self.stride, self._pad())] * 2

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = {"filt_size": module.filt_size, "stride": module.stride,
                    "pad_mode": module.pad_mode}
        settings = {k: v for k, v in settings.items()
                    if v != next(a.default for a in cls.attrs if a.name == k)}
        if module.channels is not None:
            settings["in"] = module.channels
        return settings

    def torch_call(self, inputs):
        kwargs = {}
        if self.filt_size != 3:
            kwargs["filt_size"] = self.filt_size
        if self.stride != 2:
            kwargs["stride"] = self.stride
        if self.pad_mode != "reflect":
            kwargs["pad_mode"] = self.pad_mode
        return TorchCall(self.torch_module.name, (inputs[0][0],), kwargs, arg_names=("channels",))
