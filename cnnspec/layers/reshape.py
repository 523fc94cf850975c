"""Views with a new shape: ``reshape`` (``x.view``, ``x.reshape``) and ``expand``
(``x.expand``, ``x.expand_as``). The batch is kept; ``shape`` lists the sizes of one sample."""

from __future__ import annotations

from cnnspec.layers.base import (
    Attr,
    AttrValueError,
    Layer,
    LayerInputError,
    Mixes,
    NotImportable,
    OwnModule,
    TorchCall,
    Window,
    fmt_shape,
)
from cnnspec.layers.dim_kinds import int_list_kind
from cnnspec.layers.registry import register
from cnnspec.util import dims


def _module(name: str, method: str, doc: str) -> OwnModule:
    return OwnModule(name, f'''\
class {name}(nn.Module):
    """{doc}"""

    def __init__(self, shape: tuple):
        super().__init__()
        self.shape = list(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.{method}(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={{self.shape}}"
''')


def _sizes_argument(args: list, kwargs: dict, names: tuple) -> tuple | None:
    """The sizes of ``x.view(B, C, -1)``, ``x.view((B, C, -1))``, ``torch.reshape(x, shape)``
    or ``shape=``; None when they are not all numbers (``x.view(dtype)``)."""
    value = next((kwargs[n] for n in names if n in kwargs), None)
    if value is None:
        value = args[1] if len(args) == 2 else tuple(args[1:])
    sizes = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not sizes or not all(isinstance(s, int) and not isinstance(s, bool) for s in sizes):
        return None
    return sizes


def _compare(a, b) -> int:
    """-1, 0 or 1 as the dim ``a`` is below, equal to or above ``b`` (formulas by their value
    at a large input)."""
    if dims.normalize(a - b) == 0:
        return 0
    return -1 if dims.probe(a) < dims.probe(b) else 1


def _blocks(source: tuple, target: tuple) -> list | None:
    """The runs of input dims and of output dims with equal products, in order, as (input
    dims, output dims); a size-1 dim is a run of its own with nothing on the other side. None
    when the sizes do not pair up so (a formula that does not factor)."""
    i = j = 0
    blocks: list = []
    while i < len(source) or j < len(target):
        if i < len(source) and dims.to_int(source[i]) == 1:
            blocks.append(((i,), ()))
            i += 1
        elif j < len(target) and dims.to_int(target[j]) == 1:
            blocks.append(((), (j,)))
            j += 1
        elif i == len(source) or j == len(target):
            return None
        else:
            run_in, run_out, low, high = [i], [j], source[i], target[j]
            i, j = i + 1, j + 1
            while (order := _compare(low, high)) != 0:
                if (i if order < 0 else j) == (len(source) if order < 0 else len(target)):
                    return None
                if order < 0:
                    low, i = low * source[i], i + 1
                    run_in.append(i - 1)
                else:
                    high, j = high * target[j], j + 1
                    run_out.append(j - 1)
            blocks.append((tuple(run_in), tuple(run_out)))
    return blocks


@register
class Reshape(Layer):
    """A new shape for each sample (``x.view``, ``x.reshape``, ``torch.reshape``; the batch is
    kept): ``shape`` lists the sample's sizes, one of them -1 for the size that makes the
    count of values the input's. The values keep their order (row-major, as PyTorch's).
    A view: no new memory, no parameters and no arithmetic (PyTorch copies the input when
    it is not contiguous, after a permute: the memory figures do not count that copy, as for
    flatten). The receptive-field pass follows
    the positions through dims merged (as a flatten) or cut off as size 1; where a dim other
    than the first is split in several, the fields are approximate from there on."""

    type_name = "reshape"
    aliases = ("view",)
    family = "structural"
    shorthand = "shape"
    view_of_input = True
    torch_module = _module("Reshape", "reshape", "``x.reshape`` of each sample to ``shape`` "
                           "(the batch kept; -1 is the size that fits).")
    emitted_inline = True
    imported_functions = ("torch.reshape",)
    imported_methods = ("view", "reshape")
    attrs = (Attr("shape", int_list_kind(-1, "sizes"), required=True,
                  doc="the sizes of one output sample (the batch is not written); one of them "
                      "may be -1, the size that fits"),)

    def validate(self) -> None:
        if 0 in self.shape:
            raise AttrValueError(f"shape {list(self.shape)} has a size 0", "shape")
        if list(self.shape).count(-1) > 1:
            raise AttrValueError(f"shape {list(self.shape)} has more than one -1: only one "
                                 "size can be inferred", "shape")

    def output_shape(self, inputs):
        (shape,) = inputs
        count = dims.prod(shape)
        known = dims.prod(s for s in self.shape if s != -1)
        if -1 in self.shape:
            if dims.is_symbolic(count):
                inferred = dims.normalize(count / known)
                fits = getattr(inferred, "is_integer", False) or isinstance(inferred, int)
            else:
                inferred, fits = count // known, count % known == 0
            if not fits:
                raise LayerInputError(
                    f"reshape to {list(self.shape)} needs a count of values divisible by "
                    f"{known}, but a {fmt_shape(shape)} sample has {dims.fmt(count)}",
                    hint="choose sizes whose product divides the input's size")
            return tuple(inferred if s == -1 else s for s in self.shape)
        if dims.normalize(count - known) != 0:
            raise LayerInputError(
                f"reshape to {list(self.shape)} holds {known} values, but a {fmt_shape(shape)} "
                f"sample has {dims.fmt(count)}",
                hint="make the sizes multiply to the input's size, or write -1 for one of them")
        return tuple(self.shape)

    def regroup(self, inputs):
        """Per output dim, the input dims whose values it holds: a run merged into one dim (as
        a flatten), or the dim split into it; a new size-1 dim holds none. Where the sizes do
        not pair up, every output dim may hold any input dim."""
        (shape,) = inputs
        out = self.output_shape(inputs)
        blocks = _blocks(shape, out)
        if blocks is None:
            return tuple(tuple(range(len(shape))) for _ in out)
        held = [()] * len(out)
        for run_in, run_out in blocks:
            for j in run_out:
                held[j] = run_in
        return tuple(held)

    def receptive_field(self, inputs):
        """None (it moves values, mixes none), except that a dim past the first split in
        several (or sizes that do not pair up) makes the fields approximate: later windows
        are taken along dims that hold part of an axis."""
        (shape,) = inputs
        blocks = _blocks(shape, self.output_shape(inputs))
        cut = set(range(len(shape))) if blocks is None else {
            d for run_in, run_out in blocks if len(run_out) > 1 for d in run_in}
        cut.discard(0)
        if not cut:
            return None
        why = (f"reshape to {list(self.shape)} splits a dim that can hold positions: the fields "
               "of later windows are not followed across it")
        return [Window(1, approximate=why) if d in cut else None for d in range(1, len(shape))]

    @classmethod
    def from_torch_call(cls, name, args, kwargs, result, is_tensor):
        """The sizes the call asked for, each read from the tensor it returned except a -1,
        which stays -1; the batch must be kept. ``x.view(x.size(0), -1)`` is a flatten."""
        x = args[0]
        asked = _sizes_argument(args, kwargs, ("shape", "size"))
        if asked is None or len(asked) != result.dim():
            raise NotImportable(f"{name} needs its sizes as numbers")
        if result.dim() < 2 or result.shape[0] != x.shape[0]:
            raise NotImportable(f"only a {name} that keeps the batch (dim 0) is supported")
        shape = [-1 if a == -1 else n for a, n in zip(asked[1:], result.shape[1:])]
        if shape == [-1]:
            return [("flatten", {}, [x])]
        return [(cls.type_name, {"shape": shape}, [x])]

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (tuple(self.shape),), arg_names=("shape",))

    def inline_source(self, args):
        (x,) = args
        return f"{x}.reshape({x}.shape[0], {', '.join(str(int(s)) for s in self.shape)})"


@register
class Expand(Layer):
    """The input repeated along its size-1 dims (``x.expand``, ``x.expand_as``; the batch is
    kept), as a gate of shape (C, 1, 1) is expanded to the (C, H, W) map it scales:
    ``shape`` lists the sample's sizes, -1 for a size kept. A view of the input: no new
    memory, no parameters and no arithmetic. Every output along an expanded dim reads the one
    input value there."""

    type_name = "expand"
    family = "structural"
    shorthand = "shape"
    view_of_input = True
    torch_module = _module("Expand", "expand", "``x.expand`` of each sample to ``shape`` (the "
                           "batch kept; -1 keeps a size).")
    emitted_inline = True
    imported_methods = ("expand", "expand_as")
    attrs = (Attr("shape", int_list_kind(-1, "sizes"), required=True,
                  doc="the sizes of one output sample (the batch is not written): a size-1 dim "
                      "of the input may take any size, -1 keeps the input's"),)

    def validate(self) -> None:
        if 0 in self.shape:
            raise AttrValueError(f"shape {list(self.shape)} has a size 0", "shape")

    def output_shape(self, inputs):
        (shape,) = inputs
        if len(self.shape) != len(shape):
            raise LayerInputError(
                f"expand to {list(self.shape)} names {len(self.shape)} sizes, but the input is "
                f"a {fmt_shape(shape)} sample ({len(shape)} dims)",
                hint=f"list {len(shape)} sizes, -1 for each one kept")
        out = []
        for axis, (size, asked) in enumerate(zip(shape, self.shape)):
            if asked != -1 and dims.to_int(size) != 1 and dims.normalize(size - asked) != 0:
                raise LayerInputError(
                    f"expand can only repeat size-1 dims, but dim {axis + 1} of the "
                    f"{fmt_shape(shape)} sample has {dims.fmt(size)}, not {asked}",
                    hint="write -1 for a dim kept")
            out.append(size if asked == -1 else asked)
        return tuple(out)

    def receptive_field(self, inputs):
        """Every output along an expanded dim reads the one input there: all of it."""
        (shape,) = inputs
        grown = tuple(d for d, (size, out) in enumerate(zip(shape, self.output_shape(inputs)))
                      if dims.normalize(out - size) != 0)
        return Mixes(grown) if grown else None

    @classmethod
    def from_torch_call(cls, name, args, kwargs, result, is_tensor):
        """The sizes of the tensor it returned, -1 where they are the input's; the batch must
        be kept and no dim added."""
        x = args[0]
        if name == "expand" and _sizes_argument(args, kwargs, ("size",)) is None:
            raise NotImportable("expand needs its sizes as numbers")
        if result.dim() != x.dim() or result.dim() < 2 or result.shape[0] != x.shape[0]:
            raise NotImportable(f"only an {name} that keeps the batch and adds no dim is supported")
        shape = [-1 if n == m else n for n, m in zip(result.shape[1:], x.shape[1:])]
        if all(s == -1 for s in shape):
            return [("identity", {}, [x])]
        return [(cls.type_name, {"shape": shape}, [x])]

    def torch_call(self, inputs):
        return TorchCall(self.torch_module.name, (tuple(self.shape),), arg_names=("shape",))

    def inline_source(self, args):
        (x,) = args
        return f"{x}.expand({x}.shape[0], {', '.join(str(int(s)) for s in self.shape)})"
