"""``split`` and ``chunk``: items with several outputs, read one piece at a time. Every figure
is compared with PyTorch running the built model, and the pieces with torch.split/chunk."""

from __future__ import annotations

import pytest
import torch

import cnnspec
from cnnspec.emit.emitter import emit
from cnnspec.torch.verify import verify

from .test_differential import assert_every_node_matches
from .test_emit import load_source
from .test_emit_properties import ruff_clean

SHUFFLE = """
name: shuffle_unit
input: [24, 8, 8]
layers:
  - chunk: {chunks: 2, name: halves}
  - sequential:
      name: branch2
      from: halves.1
      layers:
        - conv2d: {out: 12, kernel: 1, bias: false}
        - batchnorm2d
        - relu
        - conv2d: {out: 12, kernel: 3, padding: 1, groups: 12, bias: false}
  - concat: {from: [halves.0, branch2]}
  - channel_shuffle: 2
  - split: {sizes: [10, 14], names: [a, b], name: parts}
  - conv2d: {out: 6, kernel: 3, from: parts.b, name: head}
"""


def _graph(text=SHUFFLE):
    return cnnspec.parse_spec(text)


def test_pieces_match_torch_chunk_and_split():
    x = torch.randn(1, 24, 8, 8)
    graph = _graph()
    model = cnnspec.to_torch(graph).eval()
    names = [n.name for n in graph.nodes]
    assert names[:2] == ["halves.0", "halves.1"] and "parts.a" in names and "parts.b" in names
    for piece, expected in zip(("halves.0", "halves.1"), torch.chunk(x, 2, dim=1)):
        assert torch.equal(model.get_submodule(piece)(x), expected)


def test_every_figure_matches_pytorch():
    result, model, out = assert_every_node_matches(_graph(), 2)
    assert result.facts["parts.b"].output == (14, 8, 8)
    assert result.facts["halves.0"].params == 0 and result.facts["halves.0"].macs == 0
    assert tuple(out.shape) == (2, 6, 6, 6)


def test_emitted_source_slices_inline_and_equals_the_built_model():
    graph = _graph()
    source = emit(graph, class_name="Net")
    assert "x[:, 0:12]" in source and "x[:, 10:24]" in source
    assert "ModuleDict" not in source  # a group of slices registers no module
    ruff_clean(source)
    built = cnnspec.to_torch(graph).eval()
    emitted = load_source(source).Net().eval()
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(2, 24, 8, 8)
    with torch.no_grad():
        assert torch.equal(emitted(x), built(x))


def test_verify_agrees():
    report = verify(_graph())
    assert report.mismatches == 0


@pytest.mark.parametrize("channels, chunks", [(4, 3), (5, 2), (7, 7), (6, 4)])
def test_chunk_gives_what_torch_chunk_gives(channels, chunks):
    """torch.chunk may give fewer pieces than asked (4 channels in 3 chunks: 2 pieces)."""
    text = (f"input: [{channels}, 2, 2]\nlayers:\n  - chunk: {{chunks: {chunks}, name: c}}\n"
            "  - relu: {from: c.0}\n")
    graph = _graph(text)
    sizes = [graph.node(n.name).layer.stop - graph.node(n.name).layer.start
             for n in graph.nodes if n.name.startswith("c.")]
    expected = [t.shape[1] for t in torch.chunk(torch.zeros(1, channels, 2, 2), chunks, dim=1)]
    assert sizes == expected


def test_split_by_one_size_gives_what_torch_split_gives():
    graph = _graph("input: [10, 2, 2]\nlayers:\n  - split: {sizes: 4, name: s}\n  - relu: {from: s.2}\n")
    pieces = [n.layer for n in graph.nodes if n.name.startswith("s.")]
    assert [(p.start, p.stop) for p in pieces] == [(0, 4), (4, 8), (8, 10)]
    assert cnnspec.analyze(graph).facts["1"].output == (2, 2, 2)


@pytest.mark.parametrize("text, message, line", [
    ("  - chunk: {chunks: 2}\n  - relu\n", "the previous item is '0', which has 2 outputs", 4),
    ("  - chunk: {chunks: 2, name: c}\n  - relu: {from: c}\n", "from: c is 'c', which has 2", 4),
    ("  - chunk: {chunks: 2}\n", "the network ends in '0', which has several outputs", 3),
    ("  - split: {sizes: [3, 3]}\n  - relu: {from: 0.0}\n", "add up to 6, but the input has 8", 3),
    ("  - split: {sizes: [4, 4], names: [a]}\n  - relu: {from: 0.a}\n", "names must be a list of 2", 3),
    ("  - chunk: {chunks: 0}\n  - relu: {from: 0.0}\n", "chunks must be positive", 3),
])
def test_mistakes_are_clear_errors(text, message, line):
    with pytest.raises(cnnspec.SpecError, match=message) as info:
        _graph("input: [8, 4, 4]\nlayers:\n" + text)
    assert info.value.pos.line == line
    if "outputs; an item" in info.value.message:
        assert "from:" in info.value.hint
