"""Interpolation (``torch.nn.Upsample`` / ``torch.nn.functional.interpolate``) to a size or
by a scale, over 1, 2 or 3 spatial axes."""

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
    int_kind,
    spatial_rank,
)
from cnnspec.layers.ndim import compact, per_axis, per_axis_kind, torch_tuple
from cnnspec.layers.registry import register
from cnnspec.util import dims

#: input positions read per axis by each mode, and the spatial axes the mode takes (None: any)
_TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "bicubic": 4, "trilinear": 2}
_RANK = {"nearest": None, "linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}

_SCALE = float_kind(minimum=0.0)
_SIZE = int_kind(1)


@register
class Upsample(Layer):
    """Resize by ``scale`` (output = ⌊n·scale⌋ per axis, as PyTorch computes it) or to ``size``
    (``torch.nn.Upsample``, ``F.interpolate``) over the spatial axes of a (C, L), (C, H, W) or
    (C, D, H, W) input: nearest, or linear (1-D), bilinear or bicubic (2-D), trilinear (3-D)
    interpolation. No parameters and no MACs; the interpolating modes cost one operation per
    input value read per output element (linear 2, bilinear 4, trilinear 8, bicubic 16).
    Receptive field: nearest keeps it and divides the jump by the scale; the others read 2
    (bicubic 4) neighbours per axis (the first unit's centre is approximate)."""

    type_name = "upsample"
    aliases = ("interpolate",)
    family = "resample"
    imported_from = ("Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d")
    imported_functions = ("torch.nn.functional.interpolate", "torch.nn.functional.upsample")
    shorthand = "scale"
    attrs = (
        Attr("scale", per_axis_kind("a number", _SCALE.parse, _SCALE.schema),
             aliases=("scale_factor",), doc="multiplier of every spatial size, or one per axis"),
        Attr("size", per_axis_kind("an integer >= 1", _SIZE.parse, _SIZE.schema),
             doc="output size instead of a scale: one for every axis, or one per axis"),
        Attr("mode", choice_kind(*_TAPS), default="nearest"),
        Attr("align_corners", BOOL, default=None,
             doc="the interpolating modes only (linear, bilinear, bicubic, trilinear)"),
        Attr("recompute_scale_factor", BOOL, default=None,
             doc="with scale: interpolate at the ratio of the sizes instead of at the scale"),
    )

    def validate(self) -> None:
        if (self.scale is None) == (self.size is None):
            raise AttrValueError("give exactly one of scale and size", "scale")
        if self.scale is not None and any(s <= 0 for s in per_axis(self.scale, 1)):
            raise AttrValueError("scale must be positive", "scale")
        if self.align_corners is not None and self.mode == "nearest":
            raise AttrValueError("align_corners applies to the interpolating modes only (PyTorch "
                                 "refuses it with nearest)", "align_corners")
        if self.recompute_scale_factor is not None and self.scale is None:
            raise AttrValueError("recompute_scale_factor applies with scale only", "recompute_scale_factor")

    @classmethod
    def from_torch(cls, module) -> dict:
        return _settings(module.size, module.scale_factor, module.mode, module.align_corners,
                         getattr(module, "recompute_scale_factor", None))

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        names = ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor",
                 "antialias")
        given = {**dict(zip(names, args)), **kwargs}
        defaults = {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None,
                    "recompute_scale_factor": None, "antialias": False}
        values = {name: given.get(name, default) for name, default in defaults.items()}
        for name in ("size", "scale_factor"):
            value = values[name]
            parts = value if isinstance(value, (tuple, list)) else (value,)
            if any(is_tensor(v) for v in parts):
                raise NotImportable(f"interpolate's {name} is computed from a tensor (its shape); "
                                    "the spec needs it as numbers")
        if values["antialias"]:
            raise NotImportable("interpolate(antialias=True) is not supported")
        return cls.type_name, _settings(values["size"], values["scale_factor"], values["mode"],
                                        values["align_corners"], values["recompute_scale_factor"]), \
            [given["input"]]

    # -- rules ---------------------------------------------------------------------------
    def _rank(self, shape) -> int:
        rank = spatial_rank(shape, "upsample")
        wanted = _RANK[self.mode]
        if wanted is not None and wanted != rank:
            raise LayerInputError(
                f"{self.mode} interpolation needs {wanted} spatial axes, the input has {rank} "
                f"(PyTorch refuses it)",
                hint="use linear for (C, L), bilinear or bicubic for (C, H, W), trilinear for "
                     "(C, D, H, W) inputs; nearest for any")
        for name in ("size", "scale"):
            value = getattr(self, name)
            if isinstance(value, tuple) and len(value) != rank:
                raise LayerInputError(f"{len(value)} {name} values for {rank} spatial axes")
        return rank

    def output_shape(self, inputs):
        (shape,) = inputs
        rank = self._rank(shape)
        if self.size is not None:
            return (shape[0], *per_axis(self.size, rank))
        return (shape[0], *(_scaled(n, s) for n, s in zip(shape[1:], per_axis(self.scale, rank))))

    def elementwise_ops(self, inputs, output):
        taps = _TAPS[self.mode]
        if taps == 1:
            return 0
        return taps ** (len(output) - 1) * dims.prod(output)

    def _jump(self, n, o, scale):
        """Input units per output unit, as PyTorch samples: (n − 1)/(o − 1) with align_corners,
        1/scale when a scale is given and not recomputed, else n/o."""
        exact = isinstance(n, int) and isinstance(o, int)
        if self.align_corners and self.mode != "nearest":
            if exact and o > 1 and n > 1:
                return Fraction(n - 1, o - 1)
        elif scale is not None and not self.recompute_scale_factor:
            return 1 / Fraction(scale).limit_denominator(10 ** 6)
        return Fraction(n, o) if exact else n / o

    def receptive_field(self, inputs):
        """Jump as :meth:`_jump`. Nearest reads one input per output (source ⌊o·jump⌋), the
        others 2 (bicubic 4) around the source; the first unit's centre is the least-squares
        line through the unit centres: −(b − 1)/(2b) input units for nearest (b the
        denominator of the jump), jump/2 − 1/2 for the others (0 with align_corners)."""
        (shape,) = inputs
        out = self.output_shape(inputs)
        scales = per_axis(self.scale, len(out) - 1)
        windows = []
        for n, o, scale in zip(shape[1:], out[1:], scales):
            jump = self._jump(n, o, scale)
            if jump == 1:  # nothing moves: every output copies (or is) its input
                windows.append(None)
                continue
            grows = dims.is_true(o >= n) is True  # the first and last outputs read the input's
            why = (f"{self.mode} upsampling from {dims.fmt(n)} to {dims.fmt(o)} units: output "
                   "units lie between the input units, start is a least-squares fit")
            taps = _TAPS[self.mode]
            if self.mode == "nearest":
                shift = -Fraction(jump.denominator - 1, 2 * jump.denominator) \
                    if isinstance(jump, Fraction) else 0
            elif self.align_corners:
                shift = 0
            else:
                shift = jump / 2 - Fraction(1, 2)
            windows.append(Window(taps, jump, Fraction(taps - 1, 2) - shift, outputs=o,
                                  approximate=why, keeps_union=grows))
        return windows

    def torch_call(self, inputs):
        kwargs: dict = {}
        if self.size is not None:
            kwargs["size"] = compact(self.size) if isinstance(self.size, tuple) else self.size
        elif isinstance(self.scale, tuple):
            kwargs["scale_factor"] = tuple(float(s) for s in self.scale)
        else:
            kwargs["scale_factor"] = float(self.scale)
        if self.mode != "nearest":
            kwargs["mode"] = self.mode
        if self.align_corners is not None:
            kwargs["align_corners"] = self.align_corners
        if self.recompute_scale_factor is not None:
            kwargs["recompute_scale_factor"] = self.recompute_scale_factor
        return TorchCall("Upsample", (), kwargs)


def _scaled(n, scale):
    """⌊n·scale⌋ as PyTorch computes it (in floating point), a formula for a formula size."""
    if isinstance(scale, int) or float(scale).is_integer():
        return n * int(scale)
    if isinstance(n, int):
        out = math.floor(n * scale)
        if out < 1:
            raise LayerInputError(f"scale {scale:g} leaves no output from a size of {n} "
                                  f"(floor({n} x {scale:g}) = {out})")
        return out
    import sympy

    return sympy.floor(n * sympy.nsimplify(scale))


def _number(value):
    return int(value) if float(value).is_integer() else float(value)


def _settings(size, scale, mode, align_corners, recompute) -> dict:
    """The spec settings of an nn.Upsample or an F.interpolate call."""
    settings: dict = {}
    if size is not None:
        settings["size"] = torch_tuple(size)
    elif scale is not None:
        settings["scale"] = ([_number(s) for s in scale] if isinstance(scale, (tuple, list))
                             and any(s != scale[0] for s in scale) else _number(torch_tuple(scale)))
    if mode not in _TAPS:
        raise NotImportable(f"interpolation mode {mode!r} is not supported")
    if mode != "nearest":
        settings["mode"] = mode
    if align_corners is not None and mode != "nearest":
        settings["align_corners"] = align_corners
    if recompute is not None and scale is not None:
        settings["recompute_scale_factor"] = recompute
    return settings
