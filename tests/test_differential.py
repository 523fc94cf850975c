"""Differential tests: every number cnnspec computes for a spec equals what PyTorch measures
on the module the builder makes from the same spec (the oracle)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import cnnspec

from .conftest import SPEC_FILES, SPEC_IDS, SPECS


def measure(graph, batch: int = 2):
    """Per node: output shape (with batch), params, buffers and FLOPs measured in PyTorch."""
    model = cnnspec.to_torch(graph).eval()
    shapes: dict[str, tuple] = {}
    nbytes: dict[str, int] = {}
    hooks = []
    for name, module in model.nodes():
        def hook(mod, args, out, name=name):
            shapes[name] = tuple(out.shape)
            nbytes[name] = out.numel() * out.element_size()

        hooks.append(module.register_forward_hook(hook))
    x = torch.randn(batch, *graph.input_shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(x)
    for h in hooks:
        h.remove()
    counts = counter.get_flop_counts()
    flops = {name: sum(counts.get(f"GraphModule.{name}", {}).values()) for name, _ in model.nodes()}
    # a bare layer's parameter is its parent module's, at the node's key
    params = {name: sum(p.numel() for p in model.node_parameters(name)) for name, _ in model.nodes()}
    buffers = {name: sum(b.numel() for b in m.buffers()) for name, m in model.nodes()}
    return model, out, shapes, nbytes, flops, params, buffers, counter.get_total_flops()


def assert_every_node_matches(graph, batch: int = 2):
    """The analysis of ``graph`` equals what PyTorch measures on the built model, per node
    (output shape, params, buffers, FLOPs = 2 x MACs, activation bytes) and in total (FLOPs,
    params). Returns (the analysis, the built model, its output)."""
    result = cnnspec.analyze(graph, batch=batch)
    model, out, shapes, nbytes, flops, params, buffers, total_flops = measure(graph, batch)
    for node in graph.nodes:
        facts = result.facts[node.name]
        assert (batch, *facts.output) == shapes[node.name], node.name
        assert facts.params == params[node.name], node.name
        assert facts.buffers == buffers[node.name], node.name
        assert facts.flops == flops[node.name] == 2 * facts.macs, node.name
        assert facts.activation_bytes == nbytes[node.name], node.name
    assert result.totals()["flops"] == total_flops
    assert result.totals()["params"] == sum(p.numel() for p in model.parameters())
    return result, model, out


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_every_node_matches_pytorch(path):
    batch = 2
    result, model, out = assert_every_node_matches(cnnspec.load_spec(path), batch)
    totals = result.totals()
    assert totals["trainable_params"] == sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert totals["buffers"] == sum(b.numel() for b in model.buffers())
    assert tuple(out.shape) == (batch, *totals["output_shape"])


@pytest.mark.parametrize(
    "spec, params, macs",
    [
        ("alexnet", 42_319_432, 1_115_202_080),               # the tutorial's AlexNet
        ("alexnet_torchvision", 61_100_840, 714_188_480),     # torchvision: 0.714 GFLOPS
        ("vgg16", 138_357_544, 15_470_264_320),               # torchvision: 15.47 GFLOPS
        ("lenet5", 61_706, 416_520),                          # LeNet-5, 61,706 params
        ("keras_mnist", 34_826, 2_440_960),                   # Keras example: 34,826 params
    ],
)
def test_published_figures(spec, params, macs):
    totals = cnnspec.analyze(cnnspec.load_spec(SPECS / f"{spec}.yaml")).totals()
    assert totals["params"] == params
    assert totals["macs"] == macs


def test_frozen_nodes_are_frozen_in_torch():
    graph = cnnspec.parse_spec("""
input: [3, 16, 16]
layers:
  - sequential:
      name: backbone
      trainable: false
      layers:
        - conv2d: {out: 8, kernel: 3}
        - batchnorm2d
        - relu
  - global_avgpool
  - flatten
  - linear: {out: 10, name: head}
""")
    totals = cnnspec.analyze(graph).totals()
    model = cnnspec.to_torch(graph)
    frozen = sum(p.numel() for p in model.parameters() if not p.requires_grad)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert totals["frozen_params"] == frozen == 8 * 3 * 9 + 8 + 16
    assert totals["trainable_params"] == trainable == 8 * 10 + 10


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_memory_figures_scale_with_batch_and_dtype(batch, dtype):
    graph = cnnspec.load_spec(SPECS / "simple_cnn.yaml")
    result = cnnspec.analyze(graph, batch=batch, dtype=dtype)
    model = cnnspec.to_torch(graph).to(getattr(torch, dtype))
    sizes = {}
    for name, module in model.nodes():
        module.register_forward_hook(
            lambda m, a, out, name=name: sizes.__setitem__(name, out.numel() * out.element_size())
        )
    with torch.no_grad():
        model(torch.zeros(batch, 1, 28, 28, dtype=getattr(torch, dtype)))
    for node in graph.nodes:
        assert result.facts[node.name].activation_bytes == sizes[node.name]
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    assert result.totals()["param_bytes"] == param_bytes
