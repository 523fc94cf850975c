"""Shared checks for the layer-type tests: a spec's every number against PyTorch, its emitted
code against the built model, verify, and a torch model imported back."""

from __future__ import annotations

import torch

import cnnspec
from cnnspec.emit.emitter import emit
from cnnspec.emit.names import camel
from cnnspec.torch.importer import import_model
from cnnspec.torch.verify import verify

from .test_differential import assert_every_node_matches
from .test_emit import load_source


def randomized(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator))
    return model.eval()


def check_against_torch(text: str, batch: int = 2):
    """Per node: shape, params, buffers, FLOPs (FlopCounterMode) and activation bytes
    measured in PyTorch equal the analysis; the emitted code loads the built model's
    state_dict strictly and computes the same; ``verify`` finds no mismatch. Returns the
    analysis."""
    graph = cnnspec.parse_spec(text)
    result, model, _ = assert_every_node_matches(graph, batch)
    built = randomized(model)
    emitted = getattr(load_source(emit(graph)), camel(graph.name, "Model"))().eval()
    assert list(emitted.state_dict()) == list(built.state_dict())
    emitted.load_state_dict(built.state_dict(), strict=True)
    x = torch.randn(batch, *graph.input_shape)
    with torch.no_grad():
        assert torch.equal(emitted(x), built(x))
    report = verify(graph)
    assert report.mismatches == 0, [(n.name, c) for n in report.nodes for c in n.checks if c.ok is False]
    return result


def import_back(model: torch.nn.Module, input_shape: tuple):
    """``model`` imported as a spec and built again: the graph, with the rebuilt model
    checked to load ``model``'s state_dict strictly and to compute what it computes."""
    model = randomized(model)
    graph = cnnspec.parse_spec(import_model(model, input_shape, "imported").text)
    rebuilt = cnnspec.to_torch(graph).eval()
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, *input_shape)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), model(x))
    return graph
