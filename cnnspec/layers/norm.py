"""Normalisation layers."""

from __future__ import annotations

from cnnspec.layers.base import (
    BOOL,
    Attr,
    Layer,
    LayerInputError,
    NotImportable,
    TorchCall,
    float_kind,
    int_kind,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims


@register
class BatchNorm2d(Layer):
    """Batch normalisation over channels (``torch.nn.BatchNorm2d``). Its affine weight and bias
    are parameters; running mean, running variance and the batch counter are buffers."""

    type_name = "batchnorm2d"
    aliases = ("bn", "batchnorm")
    family = "norm"
    elementwise = True  # at inference: a per-channel scale and shift
    normalizes = True
    imported_from = ("BatchNorm2d",)
    imported_state_functions = ("torch.nn.functional.batch_norm",)
    absorbs_bias = True  # in training it subtracts the batch mean; at inference the running mean
    attrs = (
        Attr("eps", float_kind(minimum=0.0), default=1e-5, shapeless=True),
        Attr("momentum", float_kind(minimum=0.0, maximum=1.0), default=0.1, shapeless=True),
        Attr("affine", BOOL, default=True),
        Attr("track_running_stats", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("num_features",),
             doc="channels; inferred, and checked when given", torch_arg="num_features"),
    )

    def output_shape(self, inputs):
        (shape,) = inputs
        if len(shape) != 3:
            raise LayerInputError(
                f"batchnorm2d needs a (channels, height, width) input, got {len(shape)}-D",
            )
        return shape

    @classmethod
    def from_torch(cls, module) -> dict:
        if module.momentum is None:
            raise NotImportable("BatchNorm2d(momentum=None) is not supported")
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
        if self.in_ is not None and self.in_ != inputs[0][0]:
            return self.in_, inputs[0][0]
        return None

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
        return TorchCall("BatchNorm2d", (inputs[0][0],), kwargs, arg_names=("num_features",))
