"""``Flatten``: the axes of each sample merged into one, e.g. 28×28 images into rows of 784."""

from __future__ import annotations

from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class Flatten(Module):
    """Merge axes ``start_dim`` … ``end_dim`` into one, as ``torch.nn.Flatten``.

    With the defaults (``start_dim=1``, ``end_dim=-1``) the sample axis stays and every other is
    merged: an input of shape (N, C, H, W) gives (N, C·H·W), out[n, (c·H + h)·W + w] = x[n, c, h, w]
    (row-major order).  No value changes, so ∂L/∂x is ∂L/∂out reshaped back.

    Shape
    -----
    Input (*, S_start, …, S_end, *); output (*, ∏ S_i, *).

    Examples
    --------
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
    >>> model(chainrule.zeros(64, 28, 28)).shape
    (64, 10)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Any) -> Tensor:
        return F._as_tensor(x).flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
