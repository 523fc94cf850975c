"""With torchvision installed: torchvision's own models' weights load strictly into the
models cnnspec builds and emits from the mirroring specs, and both give the same outputs.
(Skipped without torchvision; the reference figures in tests/data cover keys and shapes.)"""

from __future__ import annotations

import types

import pytest
import torch

import cnnspec
from cnnspec.emit.emitter import camel, emit

from .conftest import SPECS, TV_ENTRIES, TV_MIRRORS

torchvision = pytest.importorskip("torchvision")


def _reference(model_name: str):
    """torchvision's model of an entry; "constructor" is a dotted path for sub-modules
    of torchvision.models (video.r3d_18)."""
    entry = TV_ENTRIES[model_name]
    build = torchvision.models
    for part in entry.get("constructor", model_name).split("."):
        build = getattr(build, part)
    return build(weights=None, **entry["kwargs"]).eval()


@pytest.mark.parametrize("spec, model_name", TV_MIRRORS.items())
def test_torchvision_weights_load_and_outputs_agree(spec, model_name):
    torch.manual_seed(0)
    reference = _reference(model_name)
    graph = cnnspec.load_spec(SPECS / f"{spec}.yaml")
    built = cnnspec.to_torch(graph).eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    module = types.ModuleType(spec)
    exec(compile(emit(graph), spec, "exec"), module.__dict__)  # our own generated code
    emitted = getattr(module, camel(graph.name))().eval()
    emitted.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, *TV_ENTRIES[model_name]["input"])
    with torch.no_grad():
        expected = reference(x)
        torch.testing.assert_close(built(x), expected, atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(emitted(x), expected, atol=1e-5, rtol=1e-4)
