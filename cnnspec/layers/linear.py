"""Fully-connected layers."""

from __future__ import annotations

from cnnspec.layers.base import BOOL, Attr, Layer, Mixes, NotImportable, TorchCall, Weights, int_kind
from cnnspec.layers.registry import register
from cnnspec.util import dims


@register
class Linear(Layer):
    """Fully-connected layer over the last dimension, at any rank (``torch.nn.Linear``): after
    a flatten the features, on a channels-last (H, W, C) tensor the channels at every position.
    Input features are inferred; a declared ``in`` is checked against them, which catches a
    flatten of the wrong size together with the input sizes that would give the declared one."""

    type_name = "linear"
    aliases = ("fc", "dense")
    family = "linear"
    fully_connected = True
    imported_from = ("Linear",)
    imported_state_functions = ("torch.nn.functional.linear",)
    shorthand = "out"
    declared_what = "inputs"
    attrs = (
        Attr("out", int_kind(1), required=True, aliases=("out_features",), doc="output features",
             torch_arg="out_features"),
        Attr("bias", BOOL, default=True),
        Attr("in", int_kind(1), aliases=("in_features",),
             doc="input features; inferred, and checked when given", torch_arg="in_features"),
    )

    def output_shape(self, inputs):
        (shape,) = inputs
        return (*shape[:-1], self.out)

    def declared_mismatch(self, inputs):
        if self.in_ is not None and self.in_ != inputs[0][-1]:
            return self.in_, inputs[0][-1]
        return None

    def _in_features(self, inputs):
        return inputs[0][-1] if self.in_ is None else self.in_

    def params(self, inputs):
        return self._in_features(inputs) * self.out + (self.out if self.bias else 0)

    def macs(self, inputs, output):
        return dims.prod(output) * self._in_features(inputs)

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) if self.bias else 0

    def receptive_field(self, inputs):
        """Every output feature sees every input feature of its last dim: after a flatten,
        the positions flattened into it (the whole map); on a (C, H, W) input the width."""
        return Mixes((len(inputs[0]) - 1,))

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = {"out": module.out_features, "in": module.in_features}
        if module.bias is None:
            settings["bias"] = False
        return settings

    @classmethod
    def from_torch_state_call(cls, args, kwargs):
        """``F.linear(x, weight, bias)`` over a module's weight and bias."""
        call = {"bias": None, **dict(zip(("input", "weight", "bias"), args)), **kwargs}
        if len(call["weight"].shape) != 2:
            raise NotImportable("a linear layer's weight is 2-D")
        out, features = call["weight"].shape
        state = {"weight": call["weight"], **({} if call["bias"] is None else {"bias": call["bias"]})}
        return {"out": out, "in": features, **({} if "bias" in state else {"bias": False})}, \
            [call["input"]], state

    def weights(self, inputs):
        return Weights(self._in_features(inputs), self.out, bias=self.bias)

    def torch_call(self, inputs):
        kwargs = {} if self.bias else {"bias": False}
        return TorchCall("Linear", (self._in_features(inputs), self.out), kwargs,
                         arg_names=("in_features", "out_features"))
