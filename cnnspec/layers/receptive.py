"""What a layer reports about where its outputs read: the sliding :class:`Window` of each
spatial axis, :data:`GLOBAL` and :class:`Mixes` for layers that mix whole dims, and the
:class:`Weights` of convolutions and fully-connected layers."""

from __future__ import annotations

from typing import NamedTuple


class Window(NamedTuple):
    """A sliding window along one axis: effective kernel, stride and padding before it.
    ``outputs`` is the number of output units when the layer fixes it (adaptive pooling)."""

    kernel: object
    stride: object = 1
    padding: object = 0
    outputs: object = None
    ceil: bool = False  # ceil_mode: the last window may overhang instead of dropping pixels
    #: the spacing of the taps inside the window: ``kernel`` spans (taps - 1)·dilation + 1
    dilation: int = 1
    #: why the window only approximates the layer (units not on one evenly spaced grid of
    #: equal windows: upsampling, a strided transposed convolution, uneven adaptive bins);
    #: None when it describes every output unit exactly
    approximate: str | None = None
    #: an approximate window whose output units may read no input unit at all (a transposed
    #: convolution's outputs between the strided taps); for exact windows the pass finds them
    gaps: bool = False
    #: the first output unit reads the first input unit and the last the last, so the union
    #: of all the units' fields is the input's (adaptive pooling, enlarging upsampling)
    keeps_union: bool = False

    @property
    def taps(self) -> int:
        """How many input positions the window reads along the axis."""
        return (self.kernel - 1) // self.dilation + 1


#: The layer mixes every position of its input (global pooling).
GLOBAL = "global"


class Mixes(NamedTuple):
    """The layer mixes every position along these dims of its (per-sample) input: 0 is the
    channels of a (C, H, W) input or the features of a flattened one (``linear`` mixes its
    last dim, ``softmax`` its ``dim``). The receptive-field pass maps the dims to the spatial
    axes they hold (after a flatten, one dim can hold both)."""

    dims: tuple


class Weights(NamedTuple):
    """The weight tensor of a convolution or fully-connected layer, for the rules that reason
    about its shape (the linter): channels in and out, groups, kernel and dilation per axis,
    whether it has a bias, and whether it is a transposed convolution."""

    in_channels: object
    out_channels: object
    groups: int = 1
    kernel: tuple = (1, 1)
    dilation: tuple = (1, 1)
    bias: bool = True
    transposed: bool = False
