"""cnnspec: static, exact analysis of CNN architectures written as YAML specs.

    >>> import cnnspec
    >>> graph = cnnspec.load_spec("specs/alexnet.yaml")
    >>> result = cnnspec.analyze(graph)
    >>> result.totals()["params"]
    42319432

torch is imported only by :func:`to_torch`. The names below are imported when first used, so
``import cnnspec`` itself is cheap (the pytest plugin, registered by entry point, imports it in
every pytest run).
"""

from cnnspec.version import __version__

_LAZY = {
    "analyze": ("api", "analyze"),
    "CnnspecError": ("errors", "CnnspecError"),
    "ShapeError": ("errors", "ShapeError"),
    "SpecError": ("errors", "SpecError"),
    "UsageError": ("errors", "UsageError"),
    "Graph": ("ir.graph", "Graph"),
    "Node": ("ir.graph", "Node"),
    "load_spec": ("api", "load_spec"),
    "parse_spec": ("api", "parse_spec"),
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        module, attr = _LAZY[name]
        value = getattr(import_module(f"{__name__}.{module}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cnnspec' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *_LAZY])


def to_torch(graph, input_shape=None):
    """Build the graph as a ``torch.nn.Module`` (imports torch)."""
    from cnnspec.torch.builder import to_torch as build

    return build(graph, input_shape)


__all__ = ["CnnspecError", "Graph", "Node", "ShapeError", "SpecError", "UsageError",
           "__version__", "analyze", "load_spec", "parse_spec", "to_torch"]
