"""cnnspec: static, exact analysis of CNN architectures written as YAML specs.

    >>> import cnnspec
    >>> graph = cnnspec.load_spec("specs/alexnet.yaml")
    >>> result = cnnspec.analyze(graph)
    >>> result.totals()["params"]
    42319432

torch is imported only by :func:`to_torch`.
"""

__version__ = "0.1.0"

from .analysis import analyze  # noqa: E402
from .errors import CnnspecError, ShapeError, SpecError, UsageError  # noqa: E402
from .graph import Graph, Node  # noqa: E402
from .spec import load_spec, parse_spec  # noqa: E402


def to_torch(graph, input_shape=None):
    """Build the graph as a ``torch.nn.Module`` (imports torch)."""
    from .torch_build import to_torch as build

    return build(graph, input_shape)


__all__ = ["CnnspecError", "Graph", "Node", "ShapeError", "SpecError", "UsageError",
           "__version__", "analyze", "load_spec", "parse_spec", "to_torch"]
