"""log_softmax: shapes, counts and outputs against PyTorch (nn.LogSoftmax, F.log_softmax), the
emitted code, verify, and import of the module, the function and the tensor method."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnspec

from .layer_checks import check_against_torch, import_back


@pytest.mark.parametrize("body, shape", [
    ("log_softmax", (3, 4, 5)),
    ("log_softmax: -1", (3, 4, 5)),
    ("log_softmax: {dim: 2}", (3, 4, 5)),
])
def test_log_softmax_matches_pytorch(body, shape):
    result = check_against_torch(f"name: ls\ninput: [3, 4, 5]\nlayers:\n  - {body}\n  - relu\n")
    assert result.facts["0"].output == shape
    assert result.facts["0"].elementwise_ops == 2 * 3 * (3 * 4 * 5)  # batch 2; exp, sum, subtract


def test_log_softmax_computes_torchs_log_softmax():
    graph = cnnspec.parse_spec("input: [6]\nlayers: [{linear: 4}, {log_softmax: 1}]\n")
    model = cnnspec.to_torch(graph).eval()
    x = torch.randn(3, 6)
    with torch.no_grad():
        expected = F.log_softmax(model.get_submodule("0")(x), dim=1)
        torch.testing.assert_close(model(x), expected, rtol=0, atol=0)
    assert isinstance(model.get_submodule("1"), nn.LogSoftmax)


class _Functional(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        x = self.fc(x.permute(0, 2, 1))
        return F.log_softmax(x, dim=2) + x.log_softmax(-1)


@pytest.mark.parametrize("model, shape, dims", [
    (nn.Sequential(nn.Conv1d(3, 5, 3), nn.LogSoftmax(dim=1)), (3, 10), [1]),
    (_Functional(), (5, 7), [2, -1]),
])
def test_import_reads_log_softmax(model, shape, dims):
    graph = import_back(model, shape)
    found = [node.layer.dim for node in graph.nodes if node.layer.type_name == "log_softmax"]
    assert found == dims


def test_a_dim_out_of_range_is_refused():
    with pytest.raises(cnnspec.SpecError, match="dim 3 is out of range for a 3-D tensor"):
        cnnspec.analyze(cnnspec.parse_spec("input: [4, 5]\nlayers: [{log_softmax: 3}]\n"))
