"""Layer types. Importing this package registers every one of them."""

from . import activation, conv, linear, norm, pool, structural  # noqa: F401  (registration)
from .base import GLOBAL, Attr, Layer, LayerInputError, TorchCall, Window
from .registry import LAYERS, lookup

__all__ = ["GLOBAL", "LAYERS", "Attr", "Layer", "LayerInputError", "TorchCall", "Window", "lookup"]
