"""Padding with a constant: ``pad`` (``torch.nn.ConstantPad1d/2d/3d``, ``F.pad``), as timm's
TensorFlow-ported models pad before a convolution ("same" padding, often one more pixel after
than before)."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    AttrValueError,
    Kind,
    Layer,
    LayerInputError,
    NotImportable,
    TorchCall,
    Window,
    float_kind,
    fmt_shape,
)
from cnnspec.layers.registry import register


def _pads(value, resolve):
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise AttrValueError(f"padding must be >= 0, got {value}")
        return value  # every side of every spatial dim, as ConstantPad2d(1)
    if not isinstance(value, list) or not value or len(value) % 2 or len(value) > 6:
        raise AttrValueError("padding is a list of 2, 4 or 6 sizes: [left, right, top, bottom, …]")
    pads = tuple(resolve(v) if isinstance(v, str) else v for v in value)
    if not all(isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in pads):
        raise AttrValueError(f"padding sizes must be integers >= 0, got {list(pads)}")
    return pads


PADS = Kind("an integer >= 0 (every side), or a list [left, right, top, bottom, …] of them "
            "(F.pad's order: the last dim first)",
            _pads, {"anyOf": [{"type": "integer", "minimum": 0}, {
                "type": "array", "minItems": 2, "maxItems": 6,
                "items": {"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}]}}]})


@register
class Pad(Layer):
    """Pads the last spatial dims with ``value`` (``torch.nn.ConstantPad{1,2,3}d``,
    ``F.pad(x, padding, value=…)``): ``padding`` lists the sizes before and after the last dim,
    then the one before it (F.pad's order), so ``[0, 1, 0, 1]`` adds a column on the right and
    a row at the bottom. No parameters and no arithmetic; a new tensor."""

    type_name = "pad"
    family = "structural"
    shorthand = "padding"
    imported_from = ("ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d",
                     "ZeroPad3d")
    imported_functions = ("torch.nn.functional.pad",)
    attrs = (
        Attr("padding", PADS, required=True, doc="sizes [left, right, top, bottom, …]"),
        Attr("value", float_kind(), default=0.0, shapeless=True, doc="the padding's value"),
    )

    def _rank(self, shape) -> int:
        rank = len(shape) - 1
        if rank < 1 or (isinstance(self.padding, tuple) and len(self.padding) // 2 > rank):
            raise LayerInputError(
                f"pad pads {len(self.padding) // 2 if isinstance(self.padding, tuple) else 'all'} "
                f"spatial dims, the input {fmt_shape(shape)} has "
                f"{max(rank, 0)}", hint="pad a (C, …) feature map, two sizes per padded dim")
        return rank

    def per_axis(self, shape) -> list:
        """(before, after) per spatial axis, first axis first (unpadded axes: (0, 0))."""
        rank = self._rank(shape)
        if isinstance(self.padding, int):
            return [(self.padding, self.padding)] * rank
        pairs = [tuple(self.padding[i:i + 2]) for i in range(0, len(self.padding), 2)][::-1]
        return [(0, 0)] * (rank - len(pairs)) + pairs

    def output_shape(self, inputs):
        (shape,) = inputs
        return (shape[0], *(n + a + b for n, (a, b) in zip(shape[1:], self.per_axis(shape))))

    def receptive_field(self, inputs):
        return [Window(1, 1, before) for before, _ in self.per_axis(inputs[0])]

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = {"padding": list(module.padding)}
        if getattr(module, "value", 0.0) != 0.0:
            settings["value"] = float(module.value)
        return settings

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        names = ("input", "pad", "mode", "value")
        call = {"mode": "constant", "value": None, **dict(zip(names, args)), **kwargs}
        if call["mode"] != "constant":
            raise NotImportable(f"only constant padding is supported, not mode {call['mode']!r}")
        settings = {"padding": [int(p) for p in call["pad"]]}
        if call["value"]:
            settings["value"] = float(call["value"])
        return cls.type_name, settings, [call["input"]]

    def torch_call(self, inputs):
        rank = self._rank(inputs[0])
        full = tuple(p for before, after in reversed(self.per_axis(inputs[0])) for p in (before, after))
        return TorchCall(f"ConstantPad{rank}d", (full, float(self.value)), arg_names=("padding", "value"))
