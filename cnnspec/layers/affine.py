"""A learnable scalar affine map, ``scale * x + bias`` with one scale and one bias for the whole
tensor (timm's HGNetV2 ``LearnableAffineBlock``)."""

from __future__ import annotations

from cnnspec.layers.base import Attr, Layer, OwnModule, TorchCall, float_kind
from cnnspec.layers.registry import register

LEARNABLE_AFFINE = OwnModule("LearnableAffineBlock", '''\
class LearnableAffineBlock(nn.Module):
    """``scale * x + bias`` with a learnable scale and bias of one value each (timm's HGNetV2
    LearnableAffineBlock, the same parameters)."""

    def __init__(self, scale_value: float = 1.0, bias_value: float = 0.0):
        super().__init__()
        self.scale_value, self.bias_value = scale_value, bias_value
        self.scale = nn.Parameter(torch.tensor([scale_value]))
        self.bias = nn.Parameter(torch.tensor([bias_value]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x + self.bias
''')


@register
class ScalarAffine(Layer):
    """``scale * x + bias`` with one learnable scale and one learnable bias for the whole
    tensor (timm's HGNetV2 ``LearnableAffineBlock``, after its convs' activations): the
    parameters ``scale`` and ``bias``, of shape (1,) each, timm's state_dict keys. Two
    operations per element."""

    type_name = "scalar_affine"
    aliases = ("learnable_affine",)
    family = "scale"
    elementwise = True
    ops_per_element = 2
    torch_module = LEARNABLE_AFFINE  # named as timm's, with its parameters
    attrs = (
        Attr("scale_init", float_kind(), default=1.0, shapeless=True,
             doc="the scale's initial value", torch_arg="scale_value"),
        Attr("bias_init", float_kind(), default=0.0, shapeless=True,
             doc="the bias's initial value", torch_arg="bias_value"),
    )

    def params(self, inputs):
        return 2

    @classmethod
    def from_torch(cls, module) -> dict:
        """The initial values are read when the module keeps them (cnnspec's own); timm's
        does not, and its HGNetV2 uses the defaults."""
        settings = {}
        for attr in cls.attrs:
            value = float(getattr(module, attr.torch_arg, attr.default))
            if value != attr.default:
                settings[attr.name] = value
        return settings

    def torch_call(self, inputs):
        kwargs = {}
        if self.scale_init != 1.0:
            kwargs["scale_value"] = self.scale_init
        if self.bias_init != 0.0:
            kwargs["bias_value"] = self.bias_init
        return TorchCall(self.torch_module.name, (), kwargs)
