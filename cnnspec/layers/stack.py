"""``stack``: inputs of one shape side by side along a new dim (``torch.stack``), as timm's
selective-kernel blocks stack the outputs of their paths before weighing them."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    Layer,
    LayerInputError,
    NotImportable,
    OwnModule,
    TorchCall,
    fmt_shape,
    int_kind,
)
from cnnspec.layers.merge import differ, open_equalities
from cnnspec.layers.registry import register

STACK = OwnModule("Stack", '''\
class Stack(nn.Module):
    """``torch.stack`` of the inputs along a new dim ``dim``."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
''')


@register
class Stack(Layer):
    """Two or more inputs of the same shape side by side along a new dim ``dim`` (PyTorch
    numbering of the output, batch 0; default 1, before the channels): two (C, H, W) inputs
    make a (2, C, H, W) sample. It copies, and computes nothing; every output reads one
    input at its own position."""

    type_name = "stack"
    family = "merge"
    arity = (2, None)
    emitted_inline = True
    torch_module = STACK
    imported_functions = ("torch.stack",)
    attrs = (Attr("dim", int_kind(None), default=1,
                  doc="where the new dim goes in the output, PyTorch's numbering (0 is the batch "
                      "and is refused)"),)

    def _axis(self, inputs) -> int:
        """The new dim's place in the output sample."""
        rank = len(inputs[0]) + 2  # the output's dims, batch included
        if not -rank <= self.dim < rank or self.dim % rank == 0:
            raise LayerInputError(
                f"stack cannot put a new dim at {self.dim} of a {rank}-D output (batch included)",
                hint=f"use a dim from 1 to {rank - 1} (0 is the batch)")
        return self.dim % rank - 1

    def output_shape(self, inputs):
        first = inputs[0]
        for i, shape in enumerate(inputs[1:], 2):
            if len(shape) != len(first) or any(differ(a, b) for a, b in zip(first, shape)):
                raise LayerInputError(
                    f"stack needs inputs of one shape: input 1 is {fmt_shape(first)}, input {i} "
                    f"is {fmt_shape(shape)}", hint="match the paths' channels and sizes")
        axis = self._axis(inputs)
        return (*first[:axis], len(inputs), *first[axis:])

    def assumptions(self, inputs):
        return open_equalities(inputs) if len({len(s) for s in inputs}) == 1 else []

    def regroup(self, inputs):
        """The new dim holds no input dim; the others are the input's, in order."""
        axis = self._axis(inputs)
        kept = [(d,) for d in range(len(inputs[0]))]
        return (*kept[:axis], (), *kept[axis:])

    @classmethod
    def from_torch_function(cls, args, kwargs, is_tensor):
        """``torch.stack(tensors, dim)``."""
        tensors = list(args[0])
        dim = kwargs.get("dim", args[1] if len(args) > 1 else 0)
        if len(tensors) < 2:
            raise NotImportable("a stack of one tensor is not supported")
        return cls.type_name, {} if dim == 1 else {"dim": dim}, tensors

    def torch_call(self, inputs):
        return TorchCall(STACK.name, (), {} if self.dim == 1 else {"dim": self.dim})

    def inline_source(self, args):
        return f"torch.stack([{', '.join(args)}], dim={int(self.dim)})"
