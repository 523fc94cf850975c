"""The tutorials' own models (tests/tutorial_models.py, transcribed as the tutorials write them)
against the specs of the same names: the tutorial's class loads the state_dict of the model
cnnspec builds, both from the library (cnnspec.to_torch) and from the emitted source
(cnnspec build), strictly and both ways; the keys and shapes are the same; with the same
weights the outputs are the same; cnnspec's parameter count and MACs are the tutorial class's,
measured in PyTorch (MACs = FlopCounterMode FLOPs / 2 at the tutorial's input), and the
figures of the table in issue 10."""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch.utils.flop_counter import FlopCounterMode

import cnnspec
from cnnspec.cli.main import main

from . import tutorial_models as tm
from .conftest import SPECS


@dataclass
class Case:
    spec: str
    tutorial: Callable[[], torch.nn.Module]
    params: int
    macs: int
    output: tuple
    overrides: dict = field(default_factory=dict)
    trainable: int | None = None  # when part of the model is frozen

    @property
    def id(self) -> str:
        return self.spec + "".join(f"-{k}={v}" for k, v in self.overrides.items())


CASES = [
    Case("alexnet", tm.AlexNet, 42_319_432, 1_115_202_080, (200,)),
    Case("convnet", lambda: tm.ConvNet(num_classes=10), 128_714, 7_486_464, (10,)),
    Case("simple_cnn", lambda: tm.SimpleCNN(num_classes=10), 421_642, 4_241_152, (10,)),
    Case("mnist_sequential", lambda: tm.mnist_sequential(1, 10), 206_922, 1_218_048, (10,)),
    Case("tinyvgg", lambda: tm.TinyVGG(input_channels=3, hidden_units=64, num_classes=10),
         342_090, 96_223_232, (10,)),
    # the class's default width, by --set
    Case("tinyvgg", lambda: tm.TinyVGG(), 19_440, 2_593_280, (10,), overrides={"hidden_units": 10}),
    Case("deep_cnn", lambda: tm.DeepCNN(3, 64, 10), 262_218, 96_142_592, (10,)),
    Case("resnet18_transfer", lambda: tm.resnet18_transfer(num_classes=10), 11_181_642,
         1_813_566_464, (10,), trainable=5_130),
    # the torchaudio tutorial's M5(n_input=1, n_output=35) at 1x8000 (one second at 8 kHz);
    # its output is log_softmax(fc1(...), dim=2), 1x35 per clip
    Case("m5", lambda: tm.M5(n_input=1, n_output=35), 26_915, 1_880_256, (1, 35)),
]


def build_emitted(path, overrides: dict, tmp_path) -> torch.nn.Module:
    """The model class that `cnnspec build` writes, imported from the written file."""
    out = tmp_path / "model.py"
    sets = [a for k, v in overrides.items() for a in ("--set", f"{k}={v}")]
    result = CliRunner().invoke(main, ["build", str(path), *sets, "-o", str(out),
                                       "--class-name", "Emitted"])
    assert result.exit_code == 0, result.output
    module = types.ModuleType("emitted_" + path.stem)
    exec(compile(out.read_text(), str(out), "exec"), module.__dict__)  # our own generated code
    return module.Emitted()


def shapes(model: torch.nn.Module) -> dict:
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def randomise(model: torch.nn.Module) -> None:
    """Weights and batch-norm statistics away from their initial values, so that a swapped or
    missing tensor changes the output."""
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0)
            else:
                tensor.normal_(0.0, 0.05)


def measured_macs(model: torch.nn.Module, input_shape) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.randn(1, *input_shape))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_tutorial_class_loads_the_built_model(case, tmp_path):
    path = SPECS / f"{case.spec}.yaml"
    graph = cnnspec.load_spec(path, overrides=case.overrides or None)
    torch.manual_seed(0)
    tutorial = case.tutorial().eval()
    built = cnnspec.to_torch(graph).eval()
    emitted = build_emitted(path, case.overrides, tmp_path).eval()

    # the same keys, in the same order, with the same shapes
    assert list(built.state_dict()) == list(tutorial.state_dict())
    assert shapes(built) == shapes(tutorial) == shapes(emitted)
    # strict loading both ways
    tutorial.load_state_dict(built.state_dict(), strict=True)
    tutorial.load_state_dict(emitted.state_dict(), strict=True)
    randomise(tutorial)
    built.load_state_dict(tutorial.state_dict(), strict=True)
    emitted.load_state_dict(tutorial.state_dict(), strict=True)
    # the same function
    x = torch.randn(2, *graph.input_shape)
    with torch.no_grad():
        expected = tutorial(x)
        assert tuple(expected.shape) == (2, *case.output)
        torch.testing.assert_close(built(x), expected, rtol=0, atol=0)
        torch.testing.assert_close(emitted(x), expected, rtol=0, atol=0)
    # in training mode too: the same dropout masks (same seed) only if the dropouts sit where
    # the tutorial's do, on tensors of the same shape; batch norm uses the batch's statistics
    train_outputs = []
    for model in (tutorial, built, emitted):
        torch.manual_seed(1)
        with torch.no_grad():
            train_outputs.append(model.train()(x))
    torch.testing.assert_close(train_outputs[1], train_outputs[0], rtol=0, atol=0)
    torch.testing.assert_close(train_outputs[2], train_outputs[0], rtol=0, atol=0)
    # the same parameters train
    grads = {k: p.requires_grad for k, p in tutorial.named_parameters()}
    assert {k: p.requires_grad for k, p in built.named_parameters()} == grads
    assert {k: p.requires_grad for k, p in emitted.named_parameters()} == grads


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_counts_are_the_tutorial_class_counts(case):
    graph = cnnspec.load_spec(SPECS / f"{case.spec}.yaml", overrides=case.overrides or None)
    totals = cnnspec.analyze(graph).totals()
    tutorial = case.tutorial().eval()
    assert totals["params"] == sum(p.numel() for p in tutorial.parameters()) == case.params
    assert totals["macs"] == measured_macs(tutorial, graph.input_shape) == case.macs
    assert tuple(totals["output_shape"]) == case.output
    if case.trainable is not None:
        trainable = sum(p.numel() for p in tutorial.parameters() if p.requires_grad)
        assert totals["trainable_params"] == trainable == case.trainable
        assert totals["frozen_params"] == case.params - case.trainable
    else:
        assert totals["trainable_params"] == case.params


def test_resnet18_transcription_is_torchvisions(tv_reference):
    """The transcribed resnet18 has torchvision's state_dict, parameters and MACs (measured with
    torchvision itself), and the transfer model differs from it only in the new fc."""
    ref = tv_reference["resnet18"]
    model = tm.resnet18().eval()
    assert {k: list(s) for k, s in shapes(model).items()} == ref["state_dict"]
    assert list(model.state_dict()) == list(ref["state_dict"])
    assert sum(p.numel() for p in model.parameters()) == ref["params"]
    assert measured_macs(model, ref["input"]) == ref["macs"]
    transfer = {k: list(s) for k, s in shapes(tm.resnet18_transfer(10)).items()}
    assert transfer == {**ref["state_dict"], "fc.weight": [10, 512], "fc.bias": [10]}


def test_numpy_simple_cnn_computes_what_the_built_model_computes(tmp_path):
    """The NumPy SimpleCNN with its weights copied into the built model (and into the model
    `cnnspec build` writes) gives the same 16x7x7 output."""
    path = SPECS / "simple_cnn_numpy.yaml"
    graph = cnnspec.load_spec(path)
    np.random.seed(42)
    cnn = tm.SimpleCNNNumpy()
    convs = {"conv1": cnn.conv1, "conv2": cnn.conv2}
    for conv in convs.values():  # the tutorial starts with zero biases; make them count
        conv.bias = np.random.uniform(-0.5, 0.5, conv.bias.shape)
    numpy_params = sum(c.weights.size + c.bias.size for c in convs.values())
    totals = cnnspec.analyze(graph).totals()
    assert totals["params"] == numpy_params == 1_248
    assert tuple(totals["output_shape"]) == (16, 7, 7)

    input_image = np.random.randn(2, 1, 28, 28)  # 2 samples, 1 channel, 28x28 image
    expected = cnn.forward(input_image)
    assert expected.shape == (2, 16, 7, 7)
    state = {}
    for name, conv in convs.items():
        state[f"{name}.weight"] = torch.from_numpy(conv.weights)
        state[f"{name}.bias"] = torch.from_numpy(conv.bias)
    for model in (cnnspec.to_torch(graph), build_emitted(path, {}, tmp_path)):
        assert shapes(model) == {k: tuple(v.shape) for k, v in state.items()}
        model = model.double().eval()  # NumPy computes in float64 (outputs reach ~100)
        model.load_state_dict(state, strict=True)
        with torch.no_grad():
            out = model(torch.from_numpy(input_image)).numpy()
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)


TUTORIALS = {  # spec: (the tutorial's title, the class or model its header comment names)
    "alexnet": ("A comprehensive guide to CNNs: architecture, forward pass, backpropagation, "
                "and practical implementations", "class AlexNet"),
    "convnet": ("Convolutional Neural Networks: Architecture and Components", "class ConvNet"),
    "simple_cnn_numpy": ("Convolutional Neural Networks: Architecture and Components",
                         "SimpleCNN"),
    "simple_cnn": ("Convolutional Neural Networks (CNNs)", "class SimpleCNN"),
    "resnet18_transfer": ("Convolutional Neural Networks (CNNs)", "models.resnet18"),
    "mnist_sequential": ("Convolutional Neural Networks", "nn.Sequential"),
    "tinyvgg": ("Convolutional Neural Networks", "class TinyVGG"),
    "deep_cnn": ("Convolutional Neural Networks", "DeepCNN("),
    "m5": ("Speech Command Classification with torchaudio", "class M5"),
}


@pytest.mark.parametrize("spec", TUTORIALS)
def test_each_tutorial_spec_names_its_tutorial_and_class(spec):
    """The header comment says where the spec comes from: the tutorial's title, quoted, and
    its class (CASES and the test above cover every one of these specs)."""
    lines = (SPECS / f"{spec}.yaml").read_text().splitlines()
    header = " ".join(line.lstrip("# ") for line in lines[: next(
        i for i, line in enumerate(lines) if not line.startswith("#"))])
    title, cls = TUTORIALS[spec]
    assert f'"{title}"' in header and cls in header, header
    assert spec in {c.spec for c in CASES} | {"simple_cnn_numpy"}


def test_the_tutorials_m5_imports_as_the_spec():
    """`cnnspec import` reads the tutorial's M5 whole, its F.log_softmax(x, dim=2) as
    log_softmax, with the spec's counts (its F.avg_pool1d(x, x.shape[-1]) is traced at 1x8000,
    where the length left is 1)."""
    from cnnspec.torch.importer import import_model

    graph = cnnspec.load_spec(SPECS / "m5.yaml")
    imported = cnnspec.parse_spec(import_model(tm.M5(), graph.input_shape, "m5").text)
    assert imported.nodes[-1].layer.type_name == "log_softmax" and imported.nodes[-1].layer.dim == 2
    ours, theirs = cnnspec.analyze(graph).totals(), cnnspec.analyze(imported).totals()
    for key in ("params", "macs", "flops", "elementwise_ops", "output_shape"):
        assert theirs[key] == ours[key], key
