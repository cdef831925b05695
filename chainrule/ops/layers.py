"""Fused layer operations: one graph node each for the common layer patterns.

A fused node computes what a chain of primitive nodes would (the same values and gradients, up to
the order of rounding) with fewer temporaries and less bookkeeping per step.  Matrix products go
through :func:`product` (``dot`` for small results, ``matmul`` for large ones); sums over the
samples are products with a vector of ones (:func:`column_sums`).
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd import Function


def product(a, b):
    """The matrix product a b: ``dot`` for small operands (its fixed cost is about half of
    ``matmul``'s), ``matmul`` when they hold more than :data:`PRODUCT_SPLIT` numbers together
    (``dot`` zero-fills its result before BLAS overwrites it, a pass over memory that costs 2–10 %
    on large products).  Decided on the operands' sizes, which costs next to nothing per call."""
    if a.size + b.size <= PRODUCT_SPLIT:
        return a.dot(b)
    return backend.xp.matmul(a, b)


PRODUCT_SPLIT = 1 << 15
"""Largest number of operand entries, together, that :func:`product` multiplies with ``dot``."""


def affine(x, weight, bias=None):
    """z = x Wᵀ + b (:func:`product`, then the bias added in place).

    For one sample, z of shape (1, out), b is added as a (1, out) view: a same-shape addition
    costs about a third of broadcasting (out,) over the rows.
    """
    z = product(x, weight.T)
    if bias is not None:
        z += bias[None] if z.ndim == 2 and len(z) == 1 else bias
    return z


def column_sums(grad):
    """Σ over the rows of a 2-D ``grad``: the product 1ᵀ G, one BLAS call, several times faster
    than ``grad.sum(axis=0)`` on small and medium arrays (a reduction across rows); for one row,
    the row itself, copied (the same numbers for less than half the cost)."""
    if len(grad) == 1:
        return grad[0].copy()
    return backend.constant(1, grad.dtype, grad.shape[:1]).dot(grad)


class Linear(Function):
    """The affine layer  z = x Wᵀ + b,  i.e. z_k = Σ_j w_kj x_j + b_k for each sample.

    ``W`` has shape (out, in), so ``W[k, j]`` is the seed's w_kj, the weight from input j to
    unit k.  With G = ∂L/∂z (one row per sample):

        ∂L/∂x = G W,    ∂L/∂W = Gᵀ x,    ∂L/∂b = Σ_samples G = 1ᵀ G.

    Input gradients are computed only for parents that require them (the data never does).
    """

    saved_for = (("x", 1), ("weight", 0))

    def forward(self, x, weight, bias=None):
        self.x, self.weight, self.has_bias = x, weight, bias is not None
        return affine(x, weight, bias)

    def gradients(self, grad, needs_input: bool) -> tuple:
        """(∂L/∂x, ∂L/∂W, ∂L/∂b) given ∂L/∂z = ``grad``; ∂L/∂x only if ``needs_input``, ∂L/∂b only with a bias."""
        x, weight = self.x, self.weight
        grad_x = product(grad, weight) if needs_input else None
        if x.ndim == 1:
            grad_w = grad[:, None] * x[None, :]
            grad_b = grad
        else:  # Gᵀ x reads G through a transposed view: BLAS takes it as is, with no copy
            grad_rows = grad if grad.ndim == 2 else grad.reshape(-1, grad.shape[-1])
            grad_w = product(grad_rows.T, x if x.ndim == 2 else x.reshape(-1, x.shape[-1]))
            grad_b = column_sums(grad_rows) if self.has_bias else None
        return grad_x, grad_w, grad_b

    def backward(self, grad):
        grad_x, grad_w, grad_b = self.gradients(grad, self.parents[0].requires_grad)
        return (grad_x, grad_w, grad_b) if self.has_bias else (grad_x, grad_w)


class Softmax(Function):
    """sᵢ = e^(aᵢ − max a) / Σⱼ e^(aⱼ − max a) along ``axis``;  ∂L/∂a = s ⊙ (G − Σⱼ Gⱼ sⱼ)."""

    def forward(self, a, axis=-1):
        self.axis = axis
        e = backend.xp.exp(a - a.max(axis=axis, keepdims=True))
        self.out = e / e.sum(axis=axis, keepdims=True)
        return self.out

    def backward(self, grad):
        s = self.out
        return (s * (grad - (grad * s).sum(axis=self.axis, keepdims=True)),)


def log_softmax(a, axis=-1):
    """ln softmax(a) = a − max a − ln Σⱼ e^(aⱼ − max a): finite for any finite input."""
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - backend.xp.log(backend.xp.exp(shifted).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    """out = ln softmax(a) along ``axis``;  ∂L/∂a = G − softmax(a) Σⱼ Gⱼ."""

    def forward(self, a, axis=-1):
        self.axis = axis
        self.out = log_softmax(a, axis)
        return self.out

    def backward(self, grad):
        return (grad - backend.xp.exp(self.out) * grad.sum(axis=self.axis, keepdims=True),)
