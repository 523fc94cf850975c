"""The few modules the builder needs that ``torch.nn`` lacks: merges and stochastic depth.
(Imports torch; the emitter writes these as plain tensor operations instead.)"""

from __future__ import annotations

import torch
from torch import nn


class Add(nn.Module):
    """Sum of the inputs (a residual merge)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out + x
        return out


class Mul(nn.Module):
    """Product of the inputs, broadcasting (a squeeze-excitation gate)."""

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        out = inputs[0]
        for x in inputs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """``torch.cat`` of the inputs along ``dim``."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class StochasticDepth(nn.Module):
    """Drops the whole input of a sample with probability ``p`` while training, scaling the
    rest by 1 / (1 − p); the identity at inference (torchvision's ``StochasticDepth``, "row")."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty((x.shape[0],) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
        mask.bernoulli_(keep)
        return x * mask.div_(keep) if keep > 0 else x * 0

    def extra_repr(self) -> str:
        return f"p={self.p}"


MODULES = {"Add": Add, "Mul": Mul, "Concat": Concat, "StochasticDepth": StochasticDepth}
