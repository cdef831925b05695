"""Activation functions as modules: h = f(z) element-wise."""

from __future__ import annotations

from typing import Any

from chainrule.autograd import Function
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.ops import elementwise
from chainrule.tensor import Tensor, apply_op


class ElementwiseActivation(Module):
    """Base of the element-wise activations: h = f(z), one graph node of ``function``.

    ``function`` is the :mod:`chainrule.ops.elementwise` op and ``options()`` its keyword
    arguments; ``Sequential`` reads both to run a chain of layers as one fused node.
    """

    function: type[Function]

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``function`` (none unless the activation has a parameter)."""
        return {}

    def forward(self, z: Any) -> Tensor:
        return apply_op(self.function, (F._as_tensor(z),), **self.options())


class Identity(ElementwiseActivation):
    """h = z (a linear output layer, as in the house-price network)."""

    function = elementwise.Identity


class Sigmoid(ElementwiseActivation):
    """h = σ(z) = 1 / (1 + e⁻ᶻ);  ∂h/∂z = h(1 − h)."""

    function = elementwise.Sigmoid


class Tanh(ElementwiseActivation):
    """h = tanh(z);  ∂h/∂z = 1 − h²."""

    function = elementwise.Tanh


class ReLU(ElementwiseActivation):
    """h = max(0, z);  ∂h/∂z = 1 for z > 0, else 0."""

    function = elementwise.ReLU


class LeakyReLU(ElementwiseActivation):
    """h = z for z > 0, else s·z (s = ``negative_slope``)."""

    function = elementwise.LeakyReLU

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def options(self) -> dict[str, Any]:
        """``{"negative_slope": s}``."""
        return {"negative_slope": self.negative_slope}

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
