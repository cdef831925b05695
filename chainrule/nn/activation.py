"""Activation functions as modules: h = f(z) element-wise."""

from __future__ import annotations

from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class Identity(Module):
    """h = z (a linear output layer, as in the house-price network)."""

    def forward(self, z: Any) -> Tensor:
        return F.identity(z)


class Sigmoid(Module):
    """h = σ(z) = 1 / (1 + e⁻ᶻ);  ∂h/∂z = h(1 − h)."""

    def forward(self, z: Any) -> Tensor:
        return F.sigmoid(z)


class Tanh(Module):
    """h = tanh(z);  ∂h/∂z = 1 − h²."""

    def forward(self, z: Any) -> Tensor:
        return F.tanh(z)


class ReLU(Module):
    """h = max(0, z);  ∂h/∂z = 1 for z > 0, else 0."""

    def forward(self, z: Any) -> Tensor:
        return F.relu(z)


class LeakyReLU(Module):
    """h = z for z > 0, else s·z (s = ``negative_slope``)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, z: Any) -> Tensor:
        return F.leaky_relu(z, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """hᵢ = e^zᵢ / Σⱼ e^zⱼ along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, z: Any) -> Tensor:
        return F.softmax(z, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
