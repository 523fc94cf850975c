"""Settings that list dims or sizes (``dims: [0, 2, 3, 1]``, ``normalized_shape: [7, 7]``),
and dims in PyTorch's numbering turned into per-sample dims."""

from __future__ import annotations

from cnnspec.layers.base import AttrValueError, Kind, Layer, LayerInputError, fmt_shape, int_kind


def int_list_kind(minimum: int | None = None, what: str = "dims") -> Kind:
    """One integer or a list of them (dims in PyTorch's numbering, a shape), read as a tuple."""
    one = int_kind(minimum)

    def parse(value, resolve):
        if isinstance(value, (list, tuple)):
            if not value:
                raise AttrValueError(f"expected at least one of the {what}, got []")
            return tuple(one.parse(v, resolve) for v in value)
        return (one.parse(value, resolve),)

    name = "integer or list of integers" + (f" >= {minimum}" if minimum is not None else "")
    return Kind(name, parse, {"anyOf": [one.schema, {"type": "array", "items": one.schema,
                                                      "minItems": 1}]})


def sample_dims(layer: Layer, shape: tuple, dims: tuple, what: str) -> tuple:
    """``dims`` (PyTorch numbering, batch 0, negatives from the end) as per-sample dims of a
    sample of ``shape``; the batch and repeated dims are refused."""
    rank = len(shape) + 1
    out = []
    for dim in dims:
        if not -rank <= dim < rank:
            raise LayerInputError(
                f"{layer.type_name} {what} {dim} is out of range for the {rank}-D tensor "
                f"(batch included) of a {fmt_shape(shape)} sample",
                hint=f"use dims from {-rank} to {rank - 1}; 0 is the batch")
        out.append(dim % rank - 1)
    if -1 in out:
        raise LayerInputError(f"{layer.type_name} must not {what} the batch dimension (dim 0)",
                              hint="dims count the batch as 0: the channels are 1")
    if len(set(out)) != len(out):
        raise LayerInputError(f"{layer.type_name} {what} {list(dims)} names a dim twice")
    return tuple(out)
