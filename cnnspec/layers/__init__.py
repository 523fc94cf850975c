"""Layer types. Importing this package registers every one of them."""

from cnnspec.layers import (  # noqa: F401
    activation,
    adaptive_pool,
    affine,
    blur_pool,
    conv,
    conv_transpose,
    grn,
    linear,
    merge,
    norm,
    norm_layer,
    pad,
    pool,
    resample,
    reshape,
    scale,
    slicing,
    stack,
    std_conv,
    structural,
    tensor,
)
from cnnspec.layers.base import GLOBAL, Attr, Layer, LayerInputError, TorchCall, Window
from cnnspec.layers.registry import LAYERS, lookup

__all__ = ["GLOBAL", "LAYERS", "Attr", "Layer", "LayerInputError", "TorchCall", "Window", "lookup"]
