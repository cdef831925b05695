"""``Dropout``: randomly zero activations while training (inverted dropout)."""

from __future__ import annotations

from typing import Any

from chainrule import backend
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.tensor import Tensor


class Dropout(Module):
    """Zero each element with probability p while training, scaling the survivors by 1/(1 − p).

    out = x ⊙ m / (1 − p),  m_i ~ Bernoulli(1 − p),  so E[out] = x;  ∂out/∂x = m / (1 − p).

    In evaluation mode (``model.eval()``) it is the identity.  The masks come from the global
    generator (:func:`chainrule.manual_seed`) unless ``generator`` (a seed or a NumPy
    ``Generator``) is given.

    Parameters
    ----------
    p : float
        The probability of zeroing an element, in [0, 1].
    generator : int or numpy.random.Generator, optional
        The source of the masks.  A seed makes one generator here, drawn from at every call: each
        forward pass gets a new mask, and two modules made with the same seed draw the same masks.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 1))
    """

    def __init__(self, p: float = 0.5, generator: Any = None) -> None:
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: p is a probability and must lie in [0, 1], got {p}")
        self.p = p
        self.generator = None if generator is None else backend.generator(generator)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
