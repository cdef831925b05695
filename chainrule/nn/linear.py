"""``Linear``: the affine layer z = x Wᵀ + b."""

from __future__ import annotations

import math
from typing import Any

from chainrule import backend
from chainrule.nn import functional as F
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


class Linear(Module):
    """Fully connected layer:  z_k = Σ_j w_kj x_j + b_k,  i.e. z = x Wᵀ + b.

    Parameters
    ----------
    in_features : int
        Size of each input sample (j = 1 … in).
    out_features : int
        Number of units (k = 1 … out).
    bias : bool
        Whether to add b; ``bias=False`` gives the seeds' networks without biases.
    dtype : dtype, optional
        Parameter dtype (float32 by default).

    Attributes
    ----------
    weight : Parameter, shape (out_features, in_features)
        ``weight[k, j]`` is the seed's w_kj (from input j to unit k).  Initialised, as in PyTorch,
        from U(−1/√in, 1/√in).
    bias : Parameter, shape (out_features,), or None
        Initialised from U(−1/√in, 1/√in).

    Shape
    -----
    Input (*, in_features) → output (*, out_features).

    Examples
    --------
    >>> layer = nn.Linear(2, 2)
    >>> layer.weight.data[:] = [[0.2, 0.15], [0.5, 0.6]]   # the seed's weights, one line
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        dtype = backend.resolve_dtype(dtype or backend.default_dtype)
        bound = 1 / math.sqrt(in_features) if in_features else 0.0
        rng = backend.generator()
        self.weight = Parameter(rng.uniform(-bound, bound, (out_features, in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, out_features).astype(dtype)) if bias else None

    def forward(self, x: Any) -> Tensor:
        self.check_input(x)
        return F.linear(x, self.weight, self.bias)

    def check_input(self, x: Any) -> None:
        """Raise ``ValueError`` unless the last axis of ``x`` has ``in_features`` entries."""
        shape = x.shape
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r} expects inputs whose last axis has {self.in_features} features, got "
                f"input of shape {tuple(shape)} (weight shape {tuple(self.weight.shape)})"
            )

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
