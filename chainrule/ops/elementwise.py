"""Element-wise functions and activations, each derivative written from the forward values.

Activations keep their output and use it for the derivative, as in the seeds:
σ′(z) = σ(z)(1 − σ(z)) and tanh′(z) = 1 − tanh²(z).  All are finite, with finite gradients,
for inputs as large as ±1e4.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd import Function


class Exp(Function):
    """out = eᵃ;  ∂out/∂a = eᵃ = out."""

    def forward(self, a):
        self.out = backend.xp.exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    """out = ln a;  ∂out/∂a = 1/a."""

    def forward(self, a):
        self.a = a
        return backend.xp.log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Function):
    """out = √a;  ∂out/∂a = 1/(2√a) = 1/(2·out)."""

    def forward(self, a):
        self.out = backend.xp.sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Function):
    """out = |a|;  ∂out/∂a = sign(a) (0 at a = 0, as in PyTorch)."""

    def forward(self, a):
        self.a = a
        return backend.xp.abs(a)

    def backward(self, grad):
        return (grad * backend.xp.sign(self.a),)


class Clip(Function):
    """out = min(max(a, low), high);  ∂out/∂a = 1 where low ≤ a ≤ high, else 0."""

    def forward(self, a, low=None, high=None):
        self.inside = True
        if low is not None:
            self.inside = a >= low
        if high is not None:
            self.inside = self.inside & (a <= high)
        return backend.xp.clip(a, low, high)

    def backward(self, grad):
        return (grad * self.inside,)


class Tanh(Function):
    """h = tanh(z);  ∂h/∂z = 1 − h²."""

    def forward(self, z):
        self.out = backend.xp.tanh(z)
        return self.out

    def derivative(self):
        """∂h/∂z at the forward values."""
        return backend.constant(1, self.out.dtype) - self.out * self.out

    def backward(self, grad):
        return (grad * self.derivative(),)


def stable_sigmoid(z):
    """σ(z) = 1 / (1 + e⁻ᶻ), computed as e^(−|z|) terms so that nothing overflows."""
    xp = backend.xp
    e = xp.exp(-xp.abs(z))
    r = 1 / (1 + e)
    return xp.where(z >= 0, r, e * r)


class Sigmoid(Function):
    """h = σ(z) = 1 / (1 + e⁻ᶻ);  ∂h/∂z = h(1 − h)."""

    def forward(self, z):
        self.out = stable_sigmoid(z)
        return self.out

    def derivative(self):
        """∂h/∂z at the forward values."""
        return self.out * (backend.constant(1, self.out.dtype) - self.out)

    def backward(self, grad):
        return (grad * self.derivative(),)


class ReLU(Function):
    """h = max(0, z);  ∂h/∂z = 1 for z > 0, else 0."""

    def forward(self, z):
        self.out = backend.xp.maximum(z, backend.constant(0, z.dtype))
        return self.out

    def derivative(self):
        """∂h/∂z at the forward values."""
        return (self.out > backend.constant(0, self.out.dtype)).astype(self.out.dtype)

    def backward(self, grad):
        return (grad * (self.out > backend.constant(0, self.out.dtype)),)


class LeakyReLU(Function):
    """h = z for z > 0, else s·z;  ∂h/∂z = 1 for z > 0, else s (s = ``negative_slope``)."""

    def forward(self, z, negative_slope=0.01):
        self.z, self.slope = z, negative_slope
        return backend.xp.where(z > 0, z, z * negative_slope)

    def derivative(self):
        """∂h/∂z at the forward values."""
        return backend.xp.where(self.z > 0, 1, self.slope).astype(self.z.dtype)

    def backward(self, grad):
        return (grad * self.derivative(),)


class Identity(Function):
    """h = z;  ∂h/∂z = 1 (the linear output layer of the seeds)."""

    def forward(self, z):
        return z

    def derivative(self):
        """∂h/∂z = 1."""
        return 1

    def backward(self, grad):
        return (grad,)


class Cast(Function):
    """out = a converted to another dtype;  ∂L/∂a is ∂L/∂out converted back."""

    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.dtype),)
