"""Batch normalisation (1-D, 2-D and 3-D): at inference a per-channel scale and shift."""

from __future__ import annotations

from dataclasses import replace

from cnnspec.layers.base import (
    BOOL,
    Attr,
    Layer,
    LayerInputError,
    NotImportable,
    TorchCall,
    declared_channels,
    float_kind,
    fmt_shape,
    int_kind,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims


class _BatchNorm(Layer):
    """Batch normalisation over the channels (dim 1) of inputs of the ranks ``shapes`` names.
    Its affine weight and bias are parameters; running mean, running variance and the batch
    counter are buffers."""

    family = "norm"
    elementwise = True  # at inference: a per-channel scale and shift
    normalizes = True
    absorbs_bias = True  # in training it subtracts the batch mean; at inference the running mean
    #: the torch.nn class, and the per-sample shapes it takes: {rank: how it is written}
    torch_class = ""
    shapes: dict = {}
    attrs = (
        Attr("eps", float_kind(minimum=0.0), default=1e-5, shapeless=True),
        Attr("momentum", float_kind(minimum=0.0, maximum=1.0), default=0.1, shapeless=True),
        Attr("affine", BOOL, default=True),
        Attr("track_running_stats", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("num_features",),
             doc="channels; inferred, and checked when given", torch_arg="num_features"),
    )

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.imported_from = (cls.torch_class,)

    def output_shape(self, inputs):
        (shape,) = inputs
        if len(shape) not in self.shapes:
            takes = " or ".join(self.shapes.values())
            raise LayerInputError(
                f"{self.type_name} needs a {takes} input, got {len(shape)}-D ({fmt_shape(shape)})",
                hint=self.rank_hint(len(shape)),
            )
        return shape

    @staticmethod
    def rank_hint(rank: int) -> str | None:
        """Which batch norm takes a sample of that rank."""
        name = {1: "batchnorm1d", 2: "batchnorm1d", 3: "batchnorm2d", 4: "batchnorm3d"}.get(rank)
        return f"use {name} for a {rank}-D sample" if name else None

    @classmethod
    def from_torch(cls, module) -> dict:
        if module.momentum is None:
            raise NotImportable(f"{cls.torch_class}(momentum=None) is not supported")
        settings = {"in": module.num_features}
        for name in ("eps", "momentum", "affine", "track_running_stats"):
            default = next(a.default for a in cls.attrs if a.name == name)
            if getattr(module, name) != default:
                settings[name] = getattr(module, name)
        return settings

    @classmethod
    def from_torch_state_call(cls, args, kwargs):
        """``F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)``
        over a module's tensors, at inference (normalising with the running statistics)."""
        names = ("input", "running_mean", "running_var", "weight", "bias", "training", "momentum", "eps")
        call = {"weight": None, "bias": None, "training": False, "momentum": 0.1, "eps": 1e-5,
                **dict(zip(names, args)), **kwargs}
        if call["training"] or call["running_mean"] is None or call["running_var"] is None:
            raise NotImportable("batch norm with the batch's own statistics is not supported")
        if (call["weight"] is None) != (call["bias"] is None):
            raise NotImportable("batch norm with a weight but no bias (or a bias but no weight)")
        settings = {"in": call["running_mean"].shape[0]}
        for name, default in (("eps", 1e-5), ("momentum", 0.1)):
            if call[name] != default:
                settings[name] = call[name]
        state = {key: call[key] for key in ("weight", "bias", "running_mean", "running_var")
                 if call[key] is not None}
        if call["weight"] is None:
            settings["affine"] = False
        return settings, [call["input"]], {**state, "num_batches_tracked": None}

    def declared_mismatch(self, inputs):
        return declared_channels(self.in_, inputs)

    def params(self, inputs):
        return 2 * inputs[0][0] if self.affine else 0

    def buffers(self, inputs):
        """running_mean and running_var (C each) and num_batches_tracked (1)."""
        return 2 * inputs[0][0] + 1 if self.track_running_stats else 0

    def elementwise_ops(self, inputs, output):
        """Normalise and scale, folded into one multiply and one add per element."""
        return 2 * dims.prod(output)

    def torch_call(self, inputs):
        kwargs = {}
        if self.eps != 1e-5:
            kwargs["eps"] = self.eps
        if self.momentum != 0.1:
            kwargs["momentum"] = self.momentum
        if not self.affine:
            kwargs["affine"] = False
        if not self.track_running_stats:
            kwargs["track_running_stats"] = False
        return TorchCall(self.torch_class, (inputs[0][0],), kwargs, arg_names=("num_features",))


#: the settings' meanings, for the 1-D and 3-D types (the layer reference has batchnorm2d's)
_DOCUMENTED = tuple(replace(attr, doc=attr.doc or doc) for attr, doc in zip(_BatchNorm.attrs, (
    "added to the variance", "running-statistics momentum", "learnable scale and shift",
    "keep running mean and variance", "")))


@register
class BatchNorm2d(_BatchNorm):
    """Batch normalisation over the channels of a (C, H, W) map (``torch.nn.BatchNorm2d``).
    Its affine weight and bias are parameters; running mean, running variance and the batch
    counter are buffers."""

    type_name = "batchnorm2d"
    aliases = ("bn", "batchnorm")
    torch_class = "BatchNorm2d"
    shapes = {3: "(channels, height, width)"}
    imported_state_functions = ("torch.nn.functional.batch_norm",)


@register
class BatchNorm1d(_BatchNorm):
    """Batch normalisation over the features of a (C,) sample or the channels of a (C, L)
    sequence (``torch.nn.BatchNorm1d``). Parameters and buffers as ``batchnorm2d``'s."""

    type_name = "batchnorm1d"
    aliases = ("bn1d",)
    torch_class = "BatchNorm1d"
    shapes = {1: "(features,)", 2: "(channels, length)"}
    attrs = _DOCUMENTED


@register
class BatchNorm3d(_BatchNorm):
    """Batch normalisation over the channels of a (C, D, H, W) volume
    (``torch.nn.BatchNorm3d``). Parameters and buffers as ``batchnorm2d``'s."""

    type_name = "batchnorm3d"
    aliases = ("bn3d",)
    torch_class = "BatchNorm3d"
    shapes = {4: "(channels, depth, height, width)"}
    attrs = _DOCUMENTED
