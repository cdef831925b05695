"""Activation functions as modules, h = f(z) element-wise, each declared once in the registry.

Each element-wise activation is an :class:`ElementwiseActivation` whose ``function`` is its graph
op (:mod:`chainrule.ops.elementwise`) and whose ``@activation(...)`` decorator declares its name,
formulas (terminal text and LaTeX, the seeds' notation) and whether ``Sequential`` may fuse it
(:mod:`chainrule.nn.registry`).  A new activation is its op plus a class here: the command line,
checkpoints, ``chainrule.explain``, the health statistics and the page read the declaration.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from chainrule.autograd import Function
from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.nn.registry import Formula, activation
from chainrule.ops import elementwise
from chainrule.tensor import Tensor, apply_op

__all__ = [
    "ELU",
    "GELU",
    "ElementwiseActivation",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Softplus",
    "Tanh",
]

_REAL = (int, float)


class ElementwiseActivation(Module):
    """Base of the element-wise activations: h = f(z), one graph node of ``function``.

    ``function`` is the :mod:`chainrule.ops.elementwise` op; ``arguments`` names the constructor
    arguments (each kept as an attribute of that name and passed to the op, with the JSON types a
    checkpoint may store); ``options()`` gives their values.  ``Sequential`` reads both to run a
    chain of layers as one fused node.
    """

    function: ClassVar[type[Function]]
    arguments: ClassVar[dict[str, tuple[type, ...]]] = {}

    def options(self) -> dict[str, Any]:
        """The keyword arguments of ``function``: ``{name: value}`` for each of ``arguments``."""
        return {name: getattr(self, name) for name in self.arguments}

    def forward(self, z: Any) -> Tensor:
        return apply_op(self.function, (F._as_tensor(z),), **self.options())

    def extra_repr(self) -> str:
        return ", ".join(f"{name}={value!r}" for name, value in self.options().items())


def _finite(name: str, value: Any, positive: bool = False) -> float:
    """``value`` as a float, checked to be a finite (and, if asked, positive) number."""
    if isinstance(value, bool) or not isinstance(value, _REAL) or not math.isfinite(value) or (positive and value <= 0):
        kind = "a positive number" if positive else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return value


@activation(
    "identity",
    call=Formula("{z}", "{z}"),
    definition=Formula("z", "z"),
    derivative=Formula("1 (linear: h = z)", r"1 \ (h = z)"),
    numbers=None,
    constant=True,
    label="linear",
    note="linear",
)
class Identity(ElementwiseActivation):
    """h = z (a linear output layer, as in the house-price network);  ∂h/∂z = 1."""

    function = elementwise.Identity


@activation(
    "sigmoid",
    call=Formula("σ({z})", r"\sigma({z})"),
    definition=Formula("1 / (1 + e⁻ᶻ)", r"\frac{1}{1 + e^{-z}}"),
    derivative=Formula("σ({z})(1 − σ({z})) = {h}(1 − {h})", r"\sigma({z})(1 - \sigma({z})) = {h}(1 - {h})"),
    numbers=Formula("{h_factor} × (1 − {h_factor})"),
)
class Sigmoid(ElementwiseActivation):
    """h = σ(z) = 1 / (1 + e⁻ᶻ);  ∂h/∂z = h(1 − h)."""

    function = elementwise.Sigmoid


@activation(
    "tanh",
    call=Formula("tanh({z})", r"\mathrm{tanh}({z})"),
    definition=Formula("(eᶻ − e⁻ᶻ) / (eᶻ + e⁻ᶻ)", r"\frac{e^{z} - e^{-z}}{e^{z} + e^{-z}}"),
    derivative=Formula("1 − {h}²", "1 - ({h})^2"),
    numbers=Formula("1 − {h_factor}²", "1 - {h_factor}^2"),
)
class Tanh(ElementwiseActivation):
    """h = tanh(z);  ∂h/∂z = 1 − h²."""

    function = elementwise.Tanh


@activation(
    "relu",
    call=Formula("ReLU({z})", r"\mathrm{ReLU}({z})"),
    definition=Formula("max(0, z)", r"\max(0, z)"),
    derivative=Formula("(1 if {z} > 0, else 0)", r"\begin{cases} 1 & {z} > 0 \\ 0 & {z} \le 0 \end{cases}"),
    numbers=Formula("[{z} = {z_value} {z_vs_0}]"),
)
class ReLU(ElementwiseActivation):
    """h = max(0, z);  ∂h/∂z = 1 for z > 0, else 0."""

    function = elementwise.ReLU


@activation(
    "leaky-relu",
    call=Formula("LeakyReLU({z})", r"\mathrm{LeakyReLU}({z})"),
    definition=Formula(
        "z if z > 0, else s·z (s = {negative_slope})", r"z \text{ if } z > 0, \text{ else } {negative_slope}\,z"
    ),
    derivative=Formula(
        "(1 if {z} > 0, else {negative_slope})",
        r"\begin{cases} 1 & {z} > 0 \\ {negative_slope} & {z} \le 0 \end{cases}",
    ),
    numbers=Formula("[{z} = {z_value} {z_vs_0}]"),
)
class LeakyReLU(ElementwiseActivation):
    """h = z for z > 0, else s·z (s = ``negative_slope``);  ∂h/∂z = 1 for z > 0, else s."""

    function = elementwise.LeakyReLU
    arguments: ClassVar[dict[str, tuple[type, ...]]] = {"negative_slope": _REAL}

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = _finite("LeakyReLU: negative_slope", negative_slope)


@activation(
    "gelu-tanh",
    options={"approximate": "tanh"},
    call=Formula("GELU({z})", r"\mathrm{GELU}({z})"),
    definition=Formula(
        "½ z (1 + tanh(√(2/π) (z + 0.044715 z³)))",
        r"\tfrac{1}{2} z \left(1 + \tanh\left(\sqrt{2/\pi}\,(z + 0.044715 z^3)\right)\right)",
    ),
    derivative=Formula(
        "½(1 + t) + ½ {z} (1 − t²) √(2/π) (1 + 0.134145 {z}²), t = tanh(√(2/π) ({z} + 0.044715 {z}³))",
        r"\tfrac{1}{2}(1 + t) + \tfrac{1}{2} {z} (1 - t^2) \sqrt{2/\pi}\,(1 + 0.134145\,({z})^2),\ "
        r"t = \tanh\left(\sqrt{2/\pi}\,({z} + 0.044715\,({z})^3)\right)",
    ),
    numbers=None,
)
@activation(
    "gelu",
    options={"approximate": "none"},
    call=Formula("GELU({z})", r"\mathrm{GELU}({z})"),
    definition=Formula(
        "z Φ(z), Φ(z) = ½(1 + erf(z/√2))",
        r"z\,\Phi(z),\ \Phi(z) = \tfrac{1}{2}\left(1 + \mathrm{erf}(z/\sqrt{2})\right)",
    ),
    derivative=Formula("Φ({z}) + {z} φ({z})", r"\Phi({z}) + {z}\,\varphi({z})"),
    numbers=Formula("Φ({z_value}) + {z_factor} φ({z_value})", r"\Phi({z_value}) + {z_factor}\,\varphi({z_value})"),
)
class GELU(ElementwiseActivation):
    """Gaussian error linear unit, as ``torch.nn.GELU(approximate=...)``:

    ``"none"``: h = z Φ(z), Φ the standard normal CDF;  ∂h/∂z = Φ(z) + z φ(z), φ its density.
    ``"tanh"``: h = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))) (and its derivative, see
    :class:`chainrule.ops.elementwise.GELU`).

    The exact form needs erf: SciPy's when installed, else Python's ``math.erf`` per element.
    """

    function = elementwise.GELU
    arguments: ClassVar[dict[str, tuple[type, ...]]] = {"approximate": (str,)}

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' (exact) or 'tanh', got {approximate!r}")
        self.approximate = approximate


@activation(
    "silu",
    call=Formula("SiLU({z})", r"\mathrm{SiLU}({z})"),
    definition=Formula("z σ(z)", r"z\,\sigma(z)"),
    derivative=Formula("σ({z})(1 + {z}(1 − σ({z})))", r"\sigma({z})\left(1 + {z}(1 - \sigma({z}))\right)"),
    numbers=Formula(
        "σ({z_value})(1 + {z_factor}(1 − σ({z_value})))",
        r"\sigma({z_value})\left(1 + {z_factor}(1 - \sigma({z_value}))\right)",
    ),
)
class SiLU(ElementwiseActivation):
    """Sigmoid linear unit (swish), as ``torch.nn.SiLU``:  h = z σ(z);  ∂h/∂z = σ(z)(1 + z(1 − σ(z)))."""

    function = elementwise.SiLU


@activation(
    "softplus",
    call=Formula("softplus({z})", r"\mathrm{softplus}({z})"),
    definition=Formula(
        "(1/β) ln(1 + e^(βz)), or z where βz > {threshold} (β = {beta})",
        r"\tfrac{1}{\beta} \ln(1 + e^{\beta z}) \text{, or } z \text{ where } \beta z > {threshold}\ (\beta = {beta})",
    ),
    derivative=Formula("σ({beta} {z})", r"\sigma({beta}\, {z})"),
    numbers=Formula("σ({beta} × {z_factor})", r"\sigma({beta} \times {z_factor})"),
)
class Softplus(ElementwiseActivation):
    """h = (1/β) ln(1 + e^(βz)), and h = z where βz > ``threshold``, as ``torch.nn.Softplus``;
    ∂h/∂z = σ(βz) (1 in the linear part)."""

    function = elementwise.Softplus
    arguments: ClassVar[dict[str, tuple[type, ...]]] = {"beta": _REAL, "threshold": _REAL}

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = _finite("Softplus: beta", beta, positive=True)
        self.threshold = _finite("Softplus: threshold", threshold)


@activation(
    "elu",
    call=Formula("ELU({z})", r"\mathrm{ELU}({z})"),
    definition=Formula(
        "z if z > 0, else α(eᶻ − 1) (α = {alpha})", r"z \text{ if } z > 0, \text{ else } {alpha}(e^z - 1)"
    ),
    derivative=Formula(
        "(1 if {z} > 0, else {alpha} exp({z}))",
        r"\begin{cases} 1 & {z} > 0 \\ {alpha}\, e^{{z}} & {z} \le 0 \end{cases}",
    ),
    numbers=Formula("[{z} = {z_value} {z_vs_0}]"),
)
class ELU(ElementwiseActivation):
    """Exponential linear unit, as ``torch.nn.ELU``:  h = z for z > 0, else α(eᶻ − 1);
    ∂h/∂z = 1 for z > 0, else α eᶻ."""

    function = elementwise.ELU
    arguments: ClassVar[dict[str, tuple[type, ...]]] = {"alpha": _REAL}

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = _finite("ELU: alpha", alpha)


class Softmax(Module):
    """hᵢ = e^zᵢ / Σⱼ e^zⱼ along ``dim`` (not element-wise: each output depends on every input)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, z: Any) -> Tensor:
        return F.softmax(z, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
