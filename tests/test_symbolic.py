"""A symbolic input gives formulas that equal the concrete analysis at every size."""

from __future__ import annotations

import pytest
import sympy

import cnnspec
from cnnspec.layers.ndim import axis_letters
from cnnspec.util import dims

from .conftest import SPEC_FILES, SPEC_IDS


def _at(value, subs):
    return int(sympy.sympify(value).subs(subs)) if dims.is_symbolic(value) else value


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_formulas_equal_concrete_values(path):
    graph = cnnspec.load_spec(path)
    channels, *spatial = graph.input_shape
    letters = axis_letters(len(spatial))  # one symbol per axis: L, or H and W, or D, H and W
    symbolic = cnnspec.analyze(graph, (channels, *letters), batch=2)
    symbols = [dims.symbol(letter) for letter in letters]
    grown = [n + step for n, step in zip(spatial, (37, 5, 3))]
    doubled = [2 * n + (i == 0) for i, n in enumerate(spatial)]
    for sizes in (spatial, grown, doubled):
        try:
            concrete = cnnspec.analyze(graph, (channels, *sizes), batch=2)
        except cnnspec.ShapeError:
            continue  # a declared size holds only at some inputs (alexnet's fc1)
        subs = dict(zip(symbols, sizes))
        for node in graph.nodes:
            s, c = symbolic.facts[node.name], concrete.facts[node.name]
            assert tuple(_at(d, subs) for d in s.output) == c.output, node.name
            for field in ("params", "macs", "flops", "elementwise_ops", "activation_bytes"):
                assert _at(getattr(s, field), subs) == getattr(c, field), (node.name, field)
            if c.rf:
                assert [_at(r.size, subs) for r in s.rf] == [r.size for r in c.rf], node.name
        for key in ("macs", "activation_bytes", "peak_activation_bytes"):
            assert _at(symbolic.totals()[key], subs) == concrete.totals()[key], key


def test_formulas_are_readable():
    graph = cnnspec.load_spec(SPEC_FILES[SPEC_IDS.index("alexnet")])
    result = cnnspec.analyze(graph, "3xHxW")
    assert dims.fmt(result.facts["feature_extraction.0"].output[1]) == "floor((H - 11)/4) + 1"
    # nested floors collapse: conv (k11 s4) then pool (k3 s2) is one floor
    assert dims.fmt(result.facts["feature_extraction.2"].output[1]) == "floor((H - 19)/8) + 1"
    assert result.totals()["params"] == 42_319_432  # declared fc1 keeps params concrete
    assert any("fc1" in note for note in result.assumptions)
