"""The library entry points: load a spec, analyse its graph, or only its shapes.

This is the boundary where a shape error gets its size hint ("inputs from 227 to 258 give
9216"): the expander and the passes say what they would ask (a ``SizeQuestion``), and
:func:`cnnspec.solvers.size_hints.size_hints` asks the sizes solver."""

from __future__ import annotations

from cnnspec.frontend import spec as _spec
from cnnspec.ir.facts import Analysis
from cnnspec.ir.graph import Graph
from cnnspec.passes import run as _run
from cnnspec.solvers.size_hints import size_hints
from cnnspec.util.names import parse_input_shape, parse_overrides

__all__ = ["analyze", "load_spec", "parse_input_shape", "parse_overrides",
           "parse_spec", "shapes_only"]


def load_spec(path, overrides: dict | None = None, input_shape=None,
              only_defined: bool = False) -> Graph:
    """Read a spec file and expand it into a :class:`Graph`.

    ``overrides`` replaces vars (like ``--set``); ``input_shape`` replaces the declared input."""
    with size_hints():
        return _spec.load_spec(path, overrides, input_shape, only_defined)


def parse_spec(text: str, file: str = "<string>", overrides: dict | None = None,
               input_shape=None) -> Graph:
    """Like :func:`load_spec`, from YAML text (``file`` names it in messages)."""
    with size_hints():
        return _spec.parse_spec(text, file, overrides, input_shape)


def analyze(graph: Graph, input_shape=None, batch: int = 1, dtype: str = "float32") -> Analysis:
    """Shapes, parameters, MACs/FLOPs, memory and receptive fields of every node.

    ``input_shape`` (per sample, e.g. ``(3, 224, 224)`` or ``"3xHxW"``) defaults to the
    spec's; names in it make the results formulas."""
    with size_hints():
        return _run.analyze(graph, input_shape, batch, dtype)


def shapes_only(graph: Graph, input_shape: tuple, strict: bool = False) -> Analysis:
    """Only shape inference (fast); in lenient mode declared-size mismatches are collected."""
    with size_hints():
        return _run.shapes_only(graph, input_shape, strict)
