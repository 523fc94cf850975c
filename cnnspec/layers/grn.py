"""Global response normalisation (ConvNeXt-V2; timm's GlobalResponseNorm): every channel's L2
norm over the positions, divided by its mean over the channels, gates the input, with a
learnable scale and shift per channel and the input added back.

Element-wise work, per element: 2 for the norm (the square and the sum), 1 for the product
with the normalised norm, 1 for the scale, 1 for the shift and 1 for the residual sum: 6. The
square roots, means and divisions per channel are not counted (as for the other norms);
PyTorch's ``FlopCounterMode`` counts none of it."""

from __future__ import annotations

from cnnspec.layers.base import (
    BOOL,
    Attr,
    Layer,
    LayerInputError,
    Mixes,
    OwnModule,
    TorchCall,
    declared_channels,
    float_kind,
    fmt_shape,
    int_kind,
)
from cnnspec.layers.norm_layer import MeanOver
from cnnspec.layers.registry import register
from cnnspec.util import dims

GRN_OPS = 6

GRN = OwnModule("GlobalResponseNorm", '''\
class GlobalResponseNorm(nn.Module):
    """Global response normalisation of ConvNeXt-V2 (timm's GlobalResponseNorm): the L2 norm of
    every channel over the positions, divided by its mean over the channels (plus ``eps``),
    gates the input; a learnable ``weight`` and ``bias`` per channel; the input added back.
    Channels-last (N, H, W, C) input, or channels-first (N, C, H, W) with
    ``channels_last=False``."""

    def __init__(self, dim: int, eps: float = 1e-6, channels_last: bool = True):
        super().__init__()
        self.eps = eps
        if channels_last:
            self.spatial_dim, self.channel_dim, self.wb_shape = (1, 2), -1, (1, 1, 1, -1)
        else:
            self.spatial_dim, self.channel_dim, self.wb_shape = (2, 3), 1, (1, -1, 1, 1)
        self.weight = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_g = x.norm(p=2, dim=self.spatial_dim, keepdim=True)
        x_n = x_g / (x_g.mean(dim=self.channel_dim, keepdim=True) + self.eps)
        return x + torch.addcmul(self.bias.view(self.wb_shape), self.weight.view(self.wb_shape),
                                 x * x_n)
''')


@register
class GlobalResponseNorm(Layer):
    """Global response normalisation (ConvNeXt-V2's GRN; timm's ``GlobalResponseNorm``): per
    sample, the L2 norm Gc of every channel over all positions, Nc = Gc / (mean over the
    channels of G + ``eps``), and x + (weight · (x · N) + bias), with ``weight`` and ``bias``
    learnable per channel (initialised to 0: the identity). On a channels-last (H, W, C)
    tensor by default, as in timm's ConvNeXt-V2 MLP; ``channels_last: false`` for a
    (C, H, W) map. The state_dict keys are timm's: ``weight`` and ``bias``."""

    type_name = "grn"
    aliases = ("global_response_norm",)
    family = "norm"
    normalizes = True
    torch_module = GRN  # named as timm's, with its attributes
    attrs = (
        Attr("eps", float_kind(minimum=0.0), default=1e-6, shapeless=True,
             doc="added to the mean of the norms"),
        Attr("channels_last", BOOL, default=True,
             doc="the input is channels-last (H, W, C); false: channels-first (C, H, W)"),
        Attr("in", int_kind(1), aliases=("dim",), torch_arg="dim",
             doc="channels; inferred, and checked when given"),
    )

    def _channels(self, shape):
        if len(shape) != 3:
            layout = "(height, width, channels)" if self.channels_last else "(channels, height, width)"
            raise LayerInputError(f"grn needs a {layout} input, got shape {fmt_shape(shape)}",
                                  hint="channels_last: true after permute: [0, 2, 3, 1]; "
                                       "false on a (C, H, W) map")
        return shape[-1] if self.channels_last else shape[0]

    def output_shape(self, inputs):
        (shape,) = inputs
        self._channels(shape)
        return shape

    def declared_mismatch(self, inputs):
        received = self._channels(inputs[0])
        return declared_channels(self.in_, [(received,)])

    def params(self, inputs):
        return 2 * self._channels(inputs[0])

    def elementwise_ops(self, inputs, output):
        return GRN_OPS * dims.prod(output)

    def receptive_field(self, inputs):
        """Mixes every dim: each channel's norm covers all positions, and the mean over the
        channels every channel."""
        return Mixes(tuple(range(len(inputs[0]))))

    def linear_twin(self, inputs):
        return MeanOver(dims=tuple(range(1, len(inputs[0]) + 1)))

    @classmethod
    def from_torch(cls, module) -> dict:
        settings = {"in": module.weight.shape[0]}
        if module.channel_dim != -1:
            settings["channels_last"] = False
        if module.eps != 1e-6:
            settings["eps"] = float(module.eps)
        return settings

    def torch_call(self, inputs):
        kwargs = {}
        if self.eps != 1e-6:
            kwargs["eps"] = self.eps
        if not self.channels_last:
            kwargs["channels_last"] = False
        return TorchCall(self.torch_module.name, (self._channels(inputs[0]),), kwargs,
                         arg_names=("dim",))
