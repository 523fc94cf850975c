"""Merges: nodes with several inputs (residual sums, concatenation, gating products), and the
product of one input with a number (``scalar_mul``), which ``cnnspec import`` reads from the
same ``x * number`` calls."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    Layer,
    LayerInputError,
    NotImportable,
    OwnModule,
    TorchCall,
    float_kind,
    fmt_shape,
    int_kind,
)
from cnnspec.layers.registry import register
from cnnspec.util import dims

# The merges' torch modules, as the builder runs them (``cnnspec build`` writes merges as
# tensor expressions instead: ``inline_source``).
ADD = OwnModule("Add", '''\
class Add(nn.Module):
    """Sum of the inputs (a residual merge)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out
''')
MUL = OwnModule("Mul", '''\
class Mul(nn.Module):
    """Product of the inputs, broadcasting (a squeeze-excitation gate)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out
''')
SCALAR_MUL = OwnModule("ScalarMul", '''\
class ScalarMul(nn.Module):
    """The input times a fixed number (timm's NF nets' ``x * self.beta``)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor

    def extra_repr(self) -> str:
        return f"factor={self.factor}"
''')
CONCAT = OwnModule("Concat", '''\
class Concat(nn.Module):
    """``torch.cat`` of the inputs along ``dim``."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
''')


def differ(a, b) -> bool:
    """Definitely different sizes (a formula that might equal the other is not: see
    ``assumptions``)."""
    difference = dims.normalize(a - b)
    return isinstance(difference, int) and difference != 0


def open_equalities(shapes: list, skip_axis: int | None = None) -> list[str]:
    """Dims of several inputs given by different formulas: equal only for some inputs."""
    notes = []
    for axis in range(min(len(s) for s in shapes)):
        if axis == skip_axis:
            continue
        sizes = {s[axis] for s in shapes} - {1}  # a size of 1 broadcasts
        if len(sizes) > 1 and any(dims.is_symbolic(d) for d in sizes):
            notes.append(" = ".join(sorted(dims.fmt(d) for d in sizes)))
    return notes


def broadcast(shapes: list, what: str) -> tuple:
    """PyTorch's broadcasting of per-sample shapes of one rank (the batch dim is shared).

    Inputs of different ranks are refused: PyTorch aligns shapes from the last dim, so with
    the batch dim in front the smaller input's batch dim would meet one of the larger
    input's dims. That works at batch 1 only; at a larger batch PyTorch refuses it, or, when
    the sizes happen to agree, combines one sample's values with another sample's."""
    ranks = [len(s) for s in shapes]
    if len(set(ranks)) > 1:
        small = min(range(len(shapes)), key=lambda i: ranks[i])
        large = max(range(len(shapes)), key=lambda i: ranks[i])
        meets = ranks[large] - ranks[small]  # the larger input's dim (1-based) the batch meets
        listed = ", ".join(f"input {i} is {fmt_shape(s)}" for i, s in enumerate(shapes, 1))
        raise LayerInputError(
            f"{what} needs inputs with the same number of dims: {listed} per sample, so with "
            f"the batch dim in front input {small + 1}'s batch would meet dim {meets} (size "
            f"{dims.fmt(shapes[large][meets - 1])}) of input {large + 1}: PyTorch refuses that at "
            "batch > 1, or combines different samples",
            hint="give both inputs the same rank: flatten both, or keep a gate's (C, 1, 1) shape "
                 "(no flatten before it)",
        )
    rank = ranks[0]
    out = []
    for axis in range(rank):
        sizes = [s[axis - rank + len(s)] if axis - rank + len(s) >= 0 else 1 for s in shapes]
        distinct = [d for d in dict.fromkeys(sizes) if dims.to_int(d) != 1]
        if any(differ(a, b) for a in distinct for b in distinct):
            listed = ", ".join(f"input {i} is {'x'.join(dims.fmt(d) for d in s)}"
                               for i, s in enumerate(shapes, 1))
            raise LayerInputError(
                f"{what} needs equal (or broadcastable) shapes; they differ in dim {axis + 1}: "
                f"{listed}",
                hint="match the channels and strides of the paths, or add a projection",
            )
        out.append(distinct[0] if distinct else 1)
    return tuple(out)


class _Merge(Layer):
    family = "merge"
    arity = (2, None)
    emitted_inline = True

    def assumptions(self, inputs):
        return open_equalities(inputs) if len({len(s) for s in inputs}) == 1 else []


class _Broadcasting(_Merge):
    """An element-wise operation over broadcast inputs: one operation per output element per
    extra input, written ``a {operator} b``."""

    operator = ""
    #: the number that leaves the other operand as it is (``x + 0``, ``x * 1``): imported as
    #: an identity
    neutral: object = None

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``a op b`` of two tensors; of a tensor and a number, see ``_with_number``."""
        if kwargs or len(args) != 2:
            raise NotImportable(f"only {cls.type_name}s of two operands without keywords are "
                                "supported")
        traced = [is_tensor(a) for a in args]
        if all(traced):
            return cls.type_name, {}, list(args)
        numbers = [a for a in args if _is_number(a)]
        if any(traced) and len(numbers) == 1:
            return cls._with_number(numbers[0], args[traced.index(True)])
        other = next((a for a in args if not is_tensor(a)), None)
        why = ("; the other operand is a tensor not computed from the input (a module's own "
               "parameter or buffer)" if any(traced) and hasattr(other, "shape") else "")
        raise NotImportable(f"only {cls.type_name}s of two tensors, or of a tensor and a Python "
                            f"number, are supported{why}")

    @classmethod
    def _with_number(cls, number, tensor) -> tuple:
        """A tensor and a number: the neutral number is an identity."""
        if number == cls.neutral:
            return "identity", {}, [tensor]
        raise NotImportable(f"a {cls.type_name} by the number {number!r} is not supported")

    def output_shape(self, inputs):
        return broadcast(inputs, self.type_name)

    def elementwise_ops(self, inputs, output):
        return (len(inputs) - 1) * dims.prod(output)

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name)

    def inline_source(self, args):
        return f" {self.operator} ".join(args)


@register
class Add(_Broadcasting):
    """Element-wise sum of two or more inputs, with broadcasting (``a + b``): the merge of a
    residual connection."""

    type_name = "add"
    imported_functions = ("operator.add", "torch.add")
    imported_methods = ("add",)
    torch_module = ADD
    operator = "+"
    neutral = 0


@register
class Mul(_Broadcasting):
    """Element-wise product with broadcasting (``a * b``), e.g. the channel gate of
    squeeze-and-excitation ((C, 1, 1) times (C, H, W))."""

    type_name = "mul"
    imported_functions = ("operator.mul", "torch.mul")
    imported_methods = ("mul",)
    torch_module = MUL
    operator = "*"
    neutral = 1

    @classmethod
    def _with_number(cls, number, tensor) -> tuple:
        """``x * 1`` is an identity, ``x * 0.2`` a ``scalar_mul``."""
        if number == cls.neutral:
            return "identity", {}, [tensor]
        return ScalarMul.type_name, {"factor": float(number)}, [tensor]


def _is_number(value) -> bool:
    """A Python int or float (not a bool: ``x * True`` is a mask)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@register
class ScalarMul(Layer):
    """The input times a fixed number (``x * 0.2``), as timm's NF nets scale a block's input by
    ``beta`` and its residual by ``alpha``, and Inception-ResNet its branches by ``scale``. No
    parameters; one multiply per element. ``cnnspec import`` reads ``x * number``
    (``Tensor.mul``, ``operator.mul``, ``torch.mul``) as it, and ``x * 1`` (and ``x + 0``) as an
    identity."""

    type_name = "scalar_mul"
    family = "scale"
    shorthand = "factor"
    elementwise = True
    ops_per_element = 1
    torch_module = SCALAR_MUL
    emitted_inline = True
    attrs = (Attr("factor", float_kind(), required=True, shapeless=True,
                  doc="the number the input is multiplied by"),)

    @classmethod
    def from_torch(cls, module) -> dict:
        return {"factor": float(module.factor)}

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (self.factor,), arg_names=("factor",))

    def inline_source(self, args):
        (x,) = args
        return f"{x} * {self.factor!r}"


@register
class Concat(_Merge):
    """Concatenation along ``dim`` (``torch.cat``; PyTorch numbering, default 1 = channels).
    Every other dimension must agree. It copies, and computes nothing."""

    type_name = "concat"
    imported_functions = ("torch.cat",)
    torch_module = CONCAT
    aliases = ("cat",)
    attrs = (Attr("dim", int_kind(None), default=1),)

    def output_shape(self, inputs):
        ranks = {len(s) for s in inputs}
        if len(ranks) != 1:
            raise LayerInputError("concat inputs must have the same number of dims")
        rank = ranks.pop() + 1
        if not -rank <= self.dim < rank or self.dim % rank == 0:
            raise LayerInputError(f"cannot concatenate along dim {self.dim} of a {rank}-D tensor")
        axis = self.dim % rank - 1
        first = inputs[0]
        for i, shape in enumerate(inputs[1:], 2):
            for a, (d0, d) in enumerate(zip(first, shape)):
                if a != axis and differ(d0, d):
                    name = ("channels", "height", "width")[a] if rank == 4 else f"dim {a + 1}"
                    raise LayerInputError(
                        f"concat along dim {self.dim} needs equal {name}: input 1 is "
                        f"{'x'.join(map(dims.fmt, first))}, input {i} is {'x'.join(map(dims.fmt, shape))}",
                        hint="crop or pad the skip connection, or choose an input size at which "
                             "both paths agree (cnnspec sizes)",
                    )
        return (*first[:axis], sum((s[axis] for s in inputs), 0), *first[axis + 1:])

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``torch.cat(tensors, dim)``; of one tensor (DenseNet's first layer) it is a copy."""
        tensors = list(args[0])
        dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
        if len(tensors) == 1:
            return "identity", {}, tensors
        return cls.type_name, {} if dim == 1 else {"dim": dim}, tensors

    def assumptions(self, inputs):
        return open_equalities(inputs, self.dim % (len(inputs[0]) + 1) - 1)

    def stack_dim(self, inputs):
        return self.dim % (len(inputs[0]) + 1) - 1

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (), {} if self.dim == 1 else {"dim": self.dim})

    def inline_source(self, args):
        return f"torch.cat([{', '.join(args)}], dim={int(self.dim)})"
