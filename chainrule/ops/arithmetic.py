"""Arithmetic: ``a + b``, ``a − b``, ``a · b``, ``a / b``, ``aᵖ``, ``−a``, ``a @ b``, ``where``."""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd import Function


class Add(Function):
    """out = a + b;  ∂out/∂a = 1,  ∂out/∂b = 1."""

    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """out = a − b;  ∂out/∂a = 1,  ∂out/∂b = −1."""

    def forward(self, a, b):
        return a - b

    def backward(self, grad):
        return grad, -grad


class Mul(Function):
    """out = a · b;  ∂out/∂a = b,  ∂out/∂b = a."""

    saved_for = (("a", 1), ("b", 0))

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        return grad * self.b, grad * self.a


class Div(Function):
    """out = a / b;  ∂out/∂a = 1/b,  ∂out/∂b = −a/b²."""

    saved_for = (("a", 1),)

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, grad):
        grad_a = grad / self.b
        return grad_a, -grad_a * self.a / self.b


class Neg(Function):
    """out = −a;  ∂out/∂a = −1."""

    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)


class Pow(Function):
    """out = aᵇ;  ∂out/∂a = b·aᵇ⁻¹,  ∂out/∂b = aᵇ·ln a, with PyTorch's rules where these are 0/0:

    * ∂out/∂a = 0 where b = 0 (a⁰ = 1 is constant in a, even at a = 0 where 0·0⁻¹ is NaN);
    * ∂out/∂b = 0 where a = 0 and b ≥ 0 (0ᵇ is constant for b > 0, and PyTorch takes 0 at b = 0
      too, where 1·ln 0 is −∞).

    Elsewhere the formulas hold as they are: a negative base gives ∂out/∂b = NaN (ln a is not
    real), 0 to a negative power ∞ or −∞.  ∂out/∂b is computed only when b needs a gradient
    (``x ** 2`` takes no logarithm).
    """

    saved_for = (("out", 1),)

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    def backward(self, grad):
        xp, a, b = backend.xp, self.a, self.b
        zero = backend.constant(0, grad.dtype)
        with xp.errstate(divide="ignore", invalid="ignore"):
            grad_a = xp.where(b == 0, zero, grad * (b * a ** (b - 1)))
            grad_b = None
            if self.parents[1].requires_grad:
                grad_b = grad * xp.where((a == 0) & (b >= 0), zero, self.out * xp.log(a))
        return grad_a, grad_b


def _matmul_shapes_error(a, b) -> ValueError:
    return ValueError(
        f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} do not fit: the last axis of the "
        f"first ({a.shape[-1]}) must equal the "
        f"{'only' if b.ndim == 1 else 'second-to-last'} axis of the second "
        f"({b.shape[0] if b.ndim == 1 else b.shape[-2]})"
    )


class MatMul(Function):
    """out = a @ b, for 1-D, 2-D and batched operands (NumPy's ``matmul`` rules).

    For 2-D operands, with G = ∂L/∂out:  ∂L/∂a = G bᵀ,  ∂L/∂b = aᵀ G.  A 1-D operand is treated
    as a row (first) or column (second) vector and the added axis removed again.
    """

    saved_for = (("a", 1), ("b", 0))

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("matmul: both operands need at least one axis; use * for scalars")
        if a.shape[-1] != (b.shape[0] if b.ndim == 1 else b.shape[-2]):
            raise _matmul_shapes_error(a, b)
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        a, b = self.a, self.b
        if a.ndim == 1 and b.ndim == 1:
            return grad * b, grad * a
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1:
            grad = grad[..., None, :]
        if b.ndim == 1:
            grad = grad[..., None]
        grad_a = grad @ b2.swapaxes(-1, -2)
        grad_b = a2.swapaxes(-1, -2) @ grad
        if a.ndim == 1:
            grad_a = grad_a.reshape(grad_a.shape[:-2] + grad_a.shape[-1:])
        if b.ndim == 1:
            grad_b = grad_b.reshape(grad_b.shape[:-1])
        return grad_a, grad_b


class Where(Function):
    """out = a where condition else b;  ∂out/∂a = [condition],  ∂out/∂b = [not condition].

    The condition is a boolean array, not a parent: it receives no gradient.
    """

    def forward(self, a, b, condition=None):
        self.condition = condition
        return backend.xp.where(condition, a, b)

    def backward(self, grad):
        zero = grad.dtype.type(0)
        return backend.xp.where(self.condition, grad, zero), backend.xp.where(self.condition, zero, grad)
