"""Element-wise activation functions and softmax."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    Layer,
    LayerInputError,
    Mixes,
    NotImportable,
    OwnModule,
    TorchCall,
    choice_kind,
    float_kind,
    int_kind,
)
from cnnspec.layers.registry import register


class _Activation(Layer):
    """A parameter-free element-wise function: one operation per element."""

    family = "activation"
    ops_per_element = 1
    elementwise = True
    torch_class = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.imported_from = (cls.torch_class,) if cls.torch_class else ()  # its own module

    def torch_call(self, inputs):
        kwargs = {}
        for attr in self.attrs:
            value = getattr(self, attr.field)
            if value != attr.default:
                kwargs[attr.name] = value
        return TorchCall(self.torch_class, (), kwargs)


@register
class ReLU(_Activation):
    """max(0, x) (``torch.nn.ReLU``)."""

    type_name = "relu"
    torch_class = "ReLU"
    se_activation = 1
    imported_functions = ("torch.nn.functional.relu", "torch.relu")
    imported_methods = ("relu",)


@register
class SiLU(_Activation):
    """x·sigmoid(x), also called swish (``torch.nn.SiLU``)."""

    type_name = "silu"
    aliases = ("swish",)
    torch_class = "SiLU"
    se_activation = 2
    imported_functions = ("torch.nn.functional.silu",)


@register
class Sigmoid(_Activation):
    """1 / (1 + e^−x) (``torch.nn.Sigmoid``)."""

    type_name = "sigmoid"
    torch_class = "Sigmoid"
    imported_functions = ("torch.sigmoid", "torch.nn.functional.sigmoid")
    imported_methods = ("sigmoid",)


@register
class Tanh(_Activation):
    """Hyperbolic tangent (``torch.nn.Tanh``)."""

    type_name = "tanh"
    torch_class = "Tanh"
    imported_functions = ("torch.tanh",)


@register
class Hardswish(_Activation):
    """x·ReLU6(x + 3) / 6 (``torch.nn.Hardswish``)."""

    type_name = "hardswish"
    torch_class = "Hardswish"
    se_activation = 4
    imported_functions = ("torch.nn.functional.hardswish",)


@register
class LeakyReLU(_Activation):
    """max(0, x) + slope·min(0, x) (``torch.nn.LeakyReLU``)."""

    type_name = "leaky_relu"
    aliases = ("leakyrelu",)
    shorthand = "negative_slope"
    torch_class = "LeakyReLU"
    attrs = (Attr("negative_slope", float_kind(), default=0.01, shapeless=True),)


@register
class ELU(_Activation):
    """Exponential linear unit (``torch.nn.ELU``)."""

    type_name = "elu"
    shorthand = "alpha"
    torch_class = "ELU"
    attrs = (Attr("alpha", float_kind(), default=1.0, shapeless=True),)


@register
class GELU(_Activation):
    """Gaussian error linear unit, exact or tanh-approximated (``torch.nn.GELU``)."""

    type_name = "gelu"
    shorthand = "approximate"
    torch_class = "GELU"
    se_activation = 3
    imported_functions = ("torch.nn.functional.gelu",)
    attrs = (Attr("approximate", choice_kind("none", "tanh"), default="none"),)


@register
class Softmax(_Activation):
    """Softmax along ``dim`` (PyTorch numbering, batch is dim 0; default 1, the channels or
    features). Counted as three operations per element: exponent, sum, division."""

    type_name = "softmax"
    shorthand = "dim"
    ops_per_element = 3
    elementwise = False  # every output along ``dim`` reads every input along it
    torch_class = "Softmax"
    imported_functions = ("torch.nn.functional.softmax", "torch.softmax")
    imported_methods = ("softmax",)
    attrs = (Attr("dim", int_kind(None), default=1),)

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``F.softmax(x, dim)``, ``torch.softmax(x, dim)``, ``x.softmax(dim)``."""
        dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if not isinstance(dim, int) or kwargs.get("dtype") is not None or \
                not all(isinstance(a, int) for a in args[2:]):  # F.softmax's _stacklevel
            raise NotImportable("only a softmax along a dim given, without a dtype, is supported")
        return cls.type_name, {} if dim == 1 else {"dim": dim}, list(args[:1])

    def output_shape(self, inputs):
        (shape,) = inputs
        rank = len(shape) + 1
        if not -rank <= self.dim < rank:
            raise LayerInputError(
                f"dim {self.dim} is out of range for a {rank}-D tensor (batch included)",
                hint=f"use a dim from {-rank} to {rank - 1}",
            )
        return shape

    def receptive_field(self, inputs):
        """Mixes all of ``dim``: a spatial axis, or after a flatten the positions flattened
        into the features; point-wise over space along the channels (or the batch)."""
        rank = len(inputs[0])
        axis = self.dim % (rank + 1)
        if axis == 0 or (rank == 3 and axis == 1):  # the batch, or the channels of a map
            return None
        return Mixes((axis - 1,))

    def linear_twin(self, inputs):
        return _MixAlong(dim=self.dim)

    def torch_call(self, inputs):
        return TorchCall(self.torch_class, (), {"dim": self.dim})


@register
class LogSoftmax(Softmax):
    """The logarithm of a softmax along ``dim``, computed as x − log Σ exp(x)
    (``torch.nn.LogSoftmax``, ``F.log_softmax``: classifiers trained with ``nll_loss``).
    Counted like softmax: three operations per element (exponent, sum, subtraction)."""

    type_name = "log_softmax"
    aliases = ("logsoftmax",)
    torch_class = "LogSoftmax"
    imported_functions = ("torch.nn.functional.log_softmax", "torch.log_softmax")
    imported_methods = ("log_softmax",)
    attrs = (Attr("dim", int_kind(None), default=1,
                  doc="dimension in PyTorch's numbering, batch included (0 is the batch, 1 the "
                      "channels or features); negative counts from the end"),)

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``F.log_softmax(x, dim)`` or ``x.log_softmax(dim)``; a ``dtype`` is refused."""
        if kwargs.get("dtype") is not None or len(args) > 3 or (len(args) == 3 and args[2] is not None):
            raise NotImportable("log_softmax with a dtype")
        dim = kwargs.get("dim", args[1] if len(args) > 1 else None)
        if not isinstance(dim, int):
            raise NotImportable("log_softmax without an integer dim")
        return cls.type_name, {"dim": dim}, list(args[:1])


class _MixAlong(Layer):
    """The linear twin of a softmax (not a spec layer type): every output along ``dim`` reads
    every input along it, with positive weights (a softmax's own gradient sums to 0 over its
    outputs)."""

    attrs = (Attr("dim", int_kind(None), default=1),)
    torch_module = OwnModule("MixAlong", '''\
class MixAlong(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x + x.mean(self.dim, keepdim=True)
''')

    def torch_call(self, inputs):
        return TorchCall("MixAlong", (self.dim,))


@register
class ReLU6(_Activation):
    """min(max(0, x), 6) (``torch.nn.ReLU6``), as in MobileNetV2."""

    type_name = "relu6"
    torch_class = "ReLU6"
    se_activation = 5
    imported_functions = ("torch.nn.functional.relu6",)


@register
class Hardsigmoid(_Activation):
    """ReLU6(x + 3) / 6 (``torch.nn.Hardsigmoid``), the gate of MobileNetV3's squeeze-excitation."""

    type_name = "hardsigmoid"
    torch_class = "Hardsigmoid"
