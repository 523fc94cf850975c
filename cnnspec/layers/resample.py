"""Upsampling: nearest and bilinear interpolation."""

from __future__ import annotations

import math
from fractions import Fraction

from cnnspec.layers.base import (
    BOOL,
    Attr,
    AttrValueError,
    Layer,
    LayerInputError,
    NotImportable,
    TorchCall,
    Window,
    choice_kind,
    float_kind,
    pair_kind,
    spatial,
    torch_pair,
)
from cnnspec.layers.conv import compact
from cnnspec.layers.registry import register
from cnnspec.util import dims


@register
class Upsample(Layer):
    """Resize by ``scale`` (output = ⌊n·scale⌋) or to ``size`` (``torch.nn.Upsample``), with
    nearest or bilinear interpolation. No parameters and no MACs; bilinear costs 4 operations
    per output element. Receptive field: nearest keeps it and divides the jump by the scale;
    bilinear reads two neighbours per axis (the first unit's centre is approximate)."""

    type_name = "upsample"
    family = "resample"
    imported_from = ("Upsample",)
    shorthand = "scale"
    attrs = (
        Attr("scale", float_kind(minimum=0.0), aliases=("scale_factor",),
             doc="multiplier of height and width"),
        Attr("size", pair_kind(1), doc="output [height, width] instead of a scale"),
        Attr("mode", choice_kind("nearest", "bilinear"), default="nearest"),
        Attr("align_corners", BOOL, default=None, doc="bilinear only"),
    )

    def validate(self) -> None:
        if (self.scale is None) == (self.size is None):
            raise AttrValueError("give exactly one of scale and size", "scale")
        if self.scale is not None and self.scale <= 0:
            raise AttrValueError("scale must be positive", "scale")
        if self.align_corners is not None and self.mode == "nearest":
            raise AttrValueError("align_corners applies to bilinear only (PyTorch refuses it)",
                                 "align_corners")

    @classmethod
    def from_torch(cls, module) -> dict:
        settings: dict = {}
        if module.size is not None:
            settings["size"] = torch_pair(module.size)
        else:
            factor = module.scale_factor
            if isinstance(factor, (tuple, list)):
                if factor[0] != factor[1]:
                    raise NotImportable("Upsample with different scales per axis is not supported")
                factor = factor[0]
            settings["scale"] = int(factor) if float(factor).is_integer() else float(factor)
        if module.mode != "nearest":
            settings["mode"] = module.mode
        if module.align_corners is not None:
            settings["align_corners"] = module.align_corners
        return settings

    def _scale_int(self):
        return int(self.scale) if self.scale is not None and float(self.scale).is_integer() else None

    def output_shape(self, inputs):
        (shape,) = inputs
        size = spatial(shape, "upsample")
        if self.size is not None:
            return (shape[0], *self.size)
        factor = self._scale_int()
        if factor is not None:
            return (shape[0], *(n * factor for n in size))
        return (shape[0], *(self._scaled(n) for n in size))

    def _scaled(self, n):
        if isinstance(n, int):
            out = math.floor(n * self.scale)
            if out < 1:
                raise LayerInputError(f"scale {self.scale:g} leaves no output from a size of {n} "
                                      f"(floor({n} x {self.scale:g}) = {out})")
            return out
        import sympy

        return sympy.floor(n * sympy.nsimplify(self.scale))

    def elementwise_ops(self, inputs, output):
        return 4 * dims.prod(output) if self.mode == "bilinear" else 0

    def receptive_field(self, inputs):
        """Jump n/o. Nearest reads one input per output (source ⌊o·n/o'⌋), bilinear two; the
        first unit's centre is the least-squares line through the unit centres: −(b − 1)/(2b)
        input units for nearest (b the denominator of n/o), 1/2·n/o − 1/2 for bilinear."""
        (shape,) = inputs
        out = self.output_shape(inputs)
        windows = []
        for n, o in zip(shape[1:], out[1:]):
            exact = isinstance(n, int) and isinstance(o, int)
            if exact and n == o:  # nothing moves: every output copies (or is) its input
                windows.append(None)
                continue
            jump = Fraction(n, o) if exact else n / o
            grows = dims.is_true(o >= n) is True  # the first and last outputs read the input's
            why = (f"{self.mode} upsampling from {dims.fmt(n)} to {dims.fmt(o)} units: output "
                   "units lie between the input units, start is a least-squares fit")
            if self.mode == "nearest":
                shift = -Fraction(jump.denominator - 1, 2 * jump.denominator) if exact else 0
                windows.append(Window(1, jump, -shift, outputs=o, approximate=why, keeps_union=grows))
            else:
                shift = jump / 2 - Fraction(1, 2)
                windows.append(Window(2, jump, Fraction(1, 2) - shift, outputs=o, approximate=why,
                                      keeps_union=grows))
        return windows

    def torch_call(self, inputs):
        kwargs: dict = {}
        if self.size is not None:
            kwargs["size"] = compact(self.size)
        else:
            factor = self._scale_int()
            kwargs["scale_factor"] = float(factor if factor is not None else self.scale)
        if self.mode != "nearest":
            kwargs["mode"] = self.mode
        if self.align_corners is not None:
            kwargs["align_corners"] = self.align_corners
        return TorchCall("Upsample", (), kwargs)
