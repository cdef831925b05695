"""Element-wise functions and activations, each derivative written from the forward values.

Activations (subclasses of :class:`Activation`) keep what their derivative needs and multiply
∂L/∂h by that derivative in backward; sigmoid and tanh keep their output, as in the seeds:
σ′(z) = σ(z)(1 − σ(z)) and tanh′(z) = 1 − tanh²(z).  All are finite, with finite gradients,
for inputs as large as ±1e4.  Their names, formulas in text and LaTeX, and modules are
declared once, in :mod:`chainrule.nn.activation` (read through :mod:`chainrule.nn.registry`).
"""

from __future__ import annotations

import functools
import math

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


class Activation(Function):
    """An element-wise activation h = f(z): ``forward`` keeps what f′ needs, ``derivative()`` gives
    f′(z) at the forward values, and ``backward`` multiplies ∂L/∂h by exactly that array:

        ∂L/∂z = ∂L/∂h ⊙ f′(z).

    So the f′ that ``chainrule.explain`` shows (``h.grad_fn.derivative()``) is, by construction,
    the one backpropagation used.  Its backward needs no parents, so ``Sequential`` may run it
    inside its fused node (:class:`chainrule.ops.mlp.MLP`).
    """

    def derivative(self):
        """f′(z) at the forward values, an array of z's shape (or a 0/1 mask, or the number 1)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement derivative")

    def backward(self, grad):
        return (grad * self.derivative(),)


class Tanh(Activation):
    """h = tanh(z);  ∂h/∂z = 1 − h²."""

    def forward(self, z):
        self.out = backend.xp.tanh(z)
        return self.out

    def derivative(self):
        """1 − h²."""
        return backend.constant(1, self.out.dtype) - self.out * self.out


def stable_sigmoid(z):
    """σ(z) = 1 / (1 + e⁻ᶻ), computed as e^(−|z|) terms so that nothing overflows."""
    xp = backend.xp
    e = xp.exp(-xp.abs(z))
    r = 1 / (1 + e)
    return xp.where(z >= 0, r, e * r)


class Sigmoid(Activation):
    """h = σ(z) = 1 / (1 + e⁻ᶻ);  ∂h/∂z = h(1 − h)."""

    def forward(self, z):
        self.out = stable_sigmoid(z)
        return self.out

    def derivative(self):
        """h(1 − h)."""
        return self.out * (backend.constant(1, self.out.dtype) - self.out)


class ReLU(Activation):
    """h = max(0, z);  ∂h/∂z = 1 for z > 0, else 0 (0 at z = 0, as in PyTorch)."""

    def forward(self, z):
        self.out = backend.xp.maximum(z, backend.constant(0, z.dtype))
        return self.out

    def derivative(self):
        """The mask h > 0 (True = 1, False = 0): multiplying by it is cheaper than by a float array."""
        return self.out > backend.constant(0, self.out.dtype)


class LeakyReLU(Activation):
    """h = z for z > 0, else s·z;  ∂h/∂z = 1 for z > 0, else s (s = ``negative_slope``)."""

    def forward(self, z, negative_slope=0.01):
        self.z, self.slope = z, negative_slope
        return backend.xp.where(z > 0, z, z * negative_slope)

    def derivative(self):
        """1 where z > 0, else s."""
        return backend.xp.where(self.z > 0, 1, self.slope).astype(self.z.dtype)


class Identity(Activation):
    """h = z;  ∂h/∂z = 1 (the linear output layer of the seeds)."""

    def forward(self, z):
        return z

    def derivative(self):
        """∂h/∂z = 1."""
        return 1

    def backward(self, grad):
        return (grad,)  # ∂L/∂h · 1, without the multiplication


def erf(a):
    """The error function erf(a) = (2/√π) ∫₀ᵃ e^(−t²) dt, element-wise, in ``a``'s dtype.

    NumPy has no erf: this is SciPy's ``scipy.special.erf`` where SciPy is installed, else
    ``math.erf`` element by element (the same values, correctly rounded to about one unit in the
    last place, but some 20× slower).
    """
    return _erf_function()(a)


@functools.cache
def _erf_function():
    try:
        from scipy.special import erf as scipy_erf
    except ImportError:
        one_by_one = backend.xp.frompyfunc(math.erf, 1, 1)
        return lambda a: backend.xp.asarray(one_by_one(a), dtype=a.dtype)
    return scipy_erf


SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
"""√(2/π), the scale inside GELU's tanh form."""
GELU_CUBIC = 0.044715
"""The cubic coefficient of GELU's tanh form (Hendrycks and Gimpel; PyTorch's kKappa)."""


class GELU(Activation):
    """Gaussian error linear unit, PyTorch's two forms (``approximate="none"`` or ``"tanh"``).

    Exact:   h = z Φ(z),  Φ(z) = ½(1 + erf(z/√2)) the standard normal CDF;
             ∂h/∂z = Φ(z) + z φ(z),  φ(z) = e^(−z²/2) / √(2π).
    Tanh:    h = ½ z (1 + t),  t = tanh(u),  u = √(2/π) (z + 0.044715 z³);
             ∂h/∂z = ½(1 + t) + ½ z (1 − t²) √(2/π) (1 + 3 · 0.044715 z²).
    """

    def forward(self, z, approximate="none"):
        self.z, self.tanh_form = z, approximate == "tanh"
        if self.tanh_form:
            self.t = backend.xp.tanh(SQRT_2_OVER_PI * (z + GELU_CUBIC * (z * z * z)))
            return 0.5 * z * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(z * math.sqrt(0.5)))
        return z * self.cdf

    def derivative(self):
        """Φ(z) + z φ(z), or the tanh form's ½(1 + t) + ½ z (1 − t²) √(2/π) (1 + 0.134145 z²)."""
        z = self.z
        if self.tanh_form:
            t = self.t
            slope = SQRT_2_OVER_PI * (1 + 3 * GELU_CUBIC * (z * z))
            return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * slope
        density = backend.xp.exp(-0.5 * (z * z)) * (1 / math.sqrt(2 * math.pi))
        return self.cdf + z * density


class SiLU(Activation):
    """Sigmoid linear unit (swish):  h = z σ(z);  ∂h/∂z = σ(z)(1 + z(1 − σ(z)))."""

    def forward(self, z):
        self.z, self.s = z, stable_sigmoid(z)
        return z * self.s

    def derivative(self):
        """σ(z)(1 + z(1 − σ(z)))."""
        s = self.s
        return s * (1 + self.z * (1 - s))


class Softplus(Activation):
    """h = (1/β) ln(1 + e^(βz)), and h = z where βz > ``threshold`` (PyTorch's rule);
    ∂h/∂z = e^(βz) / (1 + e^(βz)) = σ(βz), and 1 where βz > ``threshold``."""

    def forward(self, z, beta=1.0, threshold=20.0):
        xp = backend.xp
        scaled = z * beta
        self.linear = scaled > threshold
        self.e = xp.exp(xp.minimum(scaled, threshold))  # e^(βz); the linear part needs none
        return xp.where(self.linear, z, xp.log1p(self.e) / beta)

    def derivative(self):
        """e^(βz) / (e^(βz) + 1), or 1 where βz > threshold."""
        return backend.xp.where(self.linear, 1, self.e / (self.e + 1)).astype(self.e.dtype)


class ELU(Activation):
    """Exponential linear unit:  h = z for z > 0, else α(eᶻ − 1);  ∂h/∂z = 1 for z > 0, else α eᶻ."""

    def forward(self, z, alpha=1.0):
        xp = backend.xp
        self.positive, self.alpha = z > 0, alpha
        self.e = xp.exp(xp.minimum(z, 0))  # eᶻ where z ≤ 0 (1 elsewhere, unused)
        return xp.where(self.positive, z, alpha * xp.expm1(xp.minimum(z, 0)))

    def derivative(self):
        """1 where z > 0, else α eᶻ."""
        return backend.xp.where(self.positive, 1, self.alpha * self.e).astype(self.e.dtype)


class Cast(Function):
    """out = a converted to another dtype;  ∂L/∂a is ∂L/∂out converted back."""

    def forward(self, a, dtype=None):
        self.dtype = a.dtype
        return a.astype(dtype)

    def backward(self, grad):
        return (grad.astype(self.dtype),)
