"""Normalisations that compute their statistics from the sample itself, at inference too:
layer norm (channels-last and channels-first) and group norm.

Element-wise work, per element: 5 to normalise (the sum for the mean, the deviation from it,
its square and the sum of squares for the variance, the scaling by 1/σ), plus 1 for the
affine scale and 1 for the shift. The divisions and square roots per normalised group are not
counted. (fvcore counts 4 + 1; PyTorch's FlopCounterMode counts none.)
"""

from __future__ import annotations

from cnnspec.layers.base import (
    BOOL,
    Attr,
    Layer,
    LayerInputError,
    Mixes,
    NotImportable,
    OwnModule,
    TorchCall,
    declared_channels,
    float_kind,
    fmt_shape,
    int_kind,
    spatial,
)
from cnnspec.layers.dim_kinds import int_list_kind
from cnnspec.layers.registry import register
from cnnspec.util import dims

NORMALISE_OPS = 5

LAYER_NORM_2D = OwnModule("LayerNorm2d", '''\
class LayerNorm2d(nn.LayerNorm):
    """Layer norm over the channels at every position of an (N, C, H, W) input: channels-last,
    normalised, channels-first again (torchvision's and timm's ``LayerNorm2d``)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)
''')


class MeanOver(Layer):
    """The linear twin of a normalisation (not a spec layer type): every output reads every
    input along ``dims`` (the statistics), with positive weights; ``cnnspec verify`` runs it in
    the norm's place to measure receptive fields (a norm's own gradient of a constant input
    is 0)."""

    attrs = (Attr("dims", int_list_kind(None), required=True),)
    torch_module = OwnModule("MeanOver", '''\
class MeanOver(nn.Module):
    def __init__(self, dims: tuple):
        super().__init__()
        self.dims = list(dims)

    def forward(self, x):
        return x + x.mean(self.dims, keepdim=True)
''')

    def torch_call(self, inputs):
        return TorchCall("MeanOver", (tuple(self.dims),))


def _affine_ops(affine: bool, bias: bool) -> int:
    return (1 + (1 if bias else 0)) if affine else 0


_EPS = Attr("eps", float_kind(minimum=0.0), default=1e-5, shapeless=True,
            doc="added to the variance")
_BIAS = Attr("bias", BOOL, default=True, doc="a learnable shift too (with `elementwise_affine`)")
_AFFINE = Attr("elementwise_affine", BOOL, default=True, aliases=("affine",),
               doc="a learnable scale per normalised element")


class _LayerNorm(Layer):
    family = "norm"
    normalizes = True

    def _affine_params(self, count):
        return count * _affine_ops(self.elementwise_affine, self.bias)

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) * (NORMALISE_OPS + _affine_ops(self.elementwise_affine, self.bias))

    @staticmethod
    def _settings(module) -> dict:
        settings = {}
        if module.eps != 1e-5:
            settings["eps"] = module.eps
        if not module.elementwise_affine:
            settings["elementwise_affine"] = False
        elif module.bias is None:
            settings["bias"] = False
        return settings

    def _kwargs(self) -> dict:
        kwargs = {}
        if self.eps != 1e-5:
            kwargs["eps"] = self.eps
        if not self.elementwise_affine:
            kwargs["elementwise_affine"] = False
        if not self.bias:
            kwargs["bias"] = False
        return kwargs


@register
class LayerNorm(_LayerNorm):
    """Layer norm over the last dims of each sample (``torch.nn.LayerNorm``): by default the
    last one, so on a channels-last (H, W, C) tensor (after ``permute: [0, 2, 3, 1]``, as in
    ConvNeXt's blocks) it normalises the C channels at every position. ``normalized_shape``
    is inferred from the input's last dim, and checked against the last dims when given.
    Learnable scale and shift per normalised element (``weight``, ``bias``); no buffers."""

    type_name = "layernorm"
    aliases = ("layer_norm",)
    imported_from = ("LayerNorm",)  # torch.nn's, and timm's channels-last subclass
    attrs = (
        Attr("normalized_shape", int_list_kind(1, "sizes"), aliases=("shape",),
             doc="the sizes of the last dims normalised together; inferred as the last dim, "
                 "and checked when given"),
        _EPS, _AFFINE, _BIAS,
    )

    def _shape(self, shape) -> tuple:
        if self.normalized_shape is None:
            return (shape[-1],)
        ns = tuple(self.normalized_shape)
        last = tuple(shape[len(shape) - len(ns):]) if len(ns) <= len(shape) else None
        if last is None or any(dims.normalize(a - b) != 0 for a, b in zip(last, ns)):
            raise LayerInputError(
                f"layernorm normalized_shape {list(ns)} must be the last dims of its input, "
                f"got a {fmt_shape(shape)} sample",
                hint="leave normalized_shape out to normalise the last dim; for channels-first "
                     "(C, H, W) maps use layernorm2d, or permute to channels-last first")
        return ns

    def output_shape(self, inputs):
        (shape,) = inputs
        self._shape(shape)
        return shape

    def params(self, inputs):
        return self._affine_params(dims.prod(self._shape(inputs[0])))

    def receptive_field(self, inputs):
        """Mixes the normalised dims: a channels-last map's channels (no positions), or the
        positions of the dims that hold them."""
        rank = len(inputs[0])
        return Mixes(tuple(range(rank - len(self._shape(inputs[0])), rank)))

    def linear_twin(self, inputs):
        return MeanOver(dims=tuple(range(-len(self._shape(inputs[0])), 0)))

    @classmethod
    def from_torch(cls, module) -> dict:
        shape = list(module.normalized_shape)
        return {"normalized_shape": shape[0] if len(shape) == 1 else shape,
                **cls._settings(module)}

    def torch_call(self, inputs):
        shape = self._shape(inputs[0])
        return TorchCall("LayerNorm", (shape[0] if len(shape) == 1 else tuple(shape),),
                         self._kwargs(), arg_names=("normalized_shape",))


@register
class LayerNorm2d(_LayerNorm):
    """Layer norm over the channels at every position of a (C, H, W) map, channels-first
    (torchvision's ``torchvision.models.convnext.LayerNorm2d`` and timm's ``LayerNorm2d``:
    an ``nn.LayerNorm`` over C that permutes to channels-last and back). Learnable ``weight``
    and ``bias`` of C values each, the state_dict keys of both; no buffers."""

    type_name = "layernorm2d"
    aliases = ("layer_norm2d",)
    torch_module = LAYER_NORM_2D
    attrs = (
        _EPS, _AFFINE, _BIAS,
        Attr("in", int_kind(1), aliases=("num_channels",), torch_arg="normalized_shape",
             doc="channels; inferred, and checked when given"),
    )

    def output_shape(self, inputs):
        (shape,) = inputs
        spatial(shape, self.type_name)
        return shape

    def declared_mismatch(self, inputs):
        return declared_channels(self.in_, inputs)

    def params(self, inputs):
        return self._affine_params(inputs[0][0])

    def receptive_field(self, inputs):
        """Mixes the channels at each position: point-wise over the positions."""
        return Mixes((0,))

    def linear_twin(self, inputs):
        return MeanOver(dims=(1,))

    @classmethod
    def from_torch(cls, module) -> dict:
        shape = list(module.normalized_shape)
        if len(shape) != 1:
            raise NotImportable(f"normalized_shape {shape} is not one channel count")
        return {**cls._settings(module), "in": shape[0]}

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (inputs[0][0],), self._kwargs(),
                         arg_names=("normalized_shape",))


@register
class GroupNorm(Layer):
    """Group norm (``torch.nn.GroupNorm``): the channels split into ``groups`` groups, each
    normalised over its channels and all positions of the sample; then a learnable scale and
    shift per channel (``affine``). Every output reads every position of the sample (the
    statistics), at inference too. No buffers."""

    type_name = "groupnorm"
    aliases = ("group_norm",)
    family = "norm"
    normalizes = True
    shorthand = "groups"
    imported_from = ("GroupNorm",)
    attrs = (
        Attr("groups", int_kind(1), required=True, aliases=("num_groups",),
             torch_arg="num_groups", doc="number of channel groups; must divide the channels"),
        Attr("eps", float_kind(minimum=0.0), default=1e-5, shapeless=True,
             doc="added to the variance"),
        Attr("affine", BOOL, default=True, doc="learnable scale and shift per channel"),
        Attr("in", int_kind(1), aliases=("num_channels",), torch_arg="num_channels",
             doc="channels; inferred, and checked when given"),
    )

    def output_shape(self, inputs):
        (shape,) = inputs
        if shape[0] % self.groups:
            raise LayerInputError(
                f"groupnorm needs channels divisible by groups={self.groups}, got a "
                f"{fmt_shape(shape)} input ({dims.fmt(shape[0])} channels)",
                hint="choose groups dividing the channels (32 is the usual choice)")
        return shape

    def declared_mismatch(self, inputs):
        return declared_channels(self.in_, inputs)

    def params(self, inputs):
        return 2 * inputs[0][0] if self.affine else 0

    def elementwise_ops(self, inputs, output):
        return dims.prod(output) * (NORMALISE_OPS + (2 if self.affine else 0))

    def receptive_field(self, inputs):
        """Mixes every dim: the statistics of a group cover all of the sample's positions."""
        return Mixes(tuple(range(len(inputs[0]))))

    def linear_twin(self, inputs):
        return MeanOver(dims=tuple(range(1, len(inputs[0]) + 1)))

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = {"groups": module.num_groups, "in": module.num_channels}
        if module.eps != 1e-5:
            settings["eps"] = module.eps
        if not module.affine:
            settings["affine"] = False
        return settings

    def torch_call(self, inputs):
        kwargs = {}
        if self.eps != 1e-5:
            kwargs["eps"] = self.eps
        if not self.affine:
            kwargs["affine"] = False
        return TorchCall("GroupNorm", (self.groups, inputs[0][0]), kwargs,
                         arg_names=("num_groups", "num_channels"))
