r"""The chain-rule derivation of one weight or bias as data — its factors, symbols, values,
per-sample terms and update — and the JSON schema of derivations (this one's and a whole step's,
:class:`chainrule.diagnostics.step.Derivation`), ready to be laid out
(:mod:`~chainrule.diagnostics.layout`), rendered (:mod:`~chainrule.diagnostics.render`) or sent
as JSON.

For layers l = 1..L with zˡ = Wˡ hˡ⁻¹ + bˡ, hˡ = f(zˡ) and h⁰ = x, backpropagation is

    δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),   δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ),   ∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ,   ∂L/∂bˡ = δˡ,

one element at a time  ∂L/∂wˡ_kj = ∂L/∂hˡ_k · ∂hˡ_k/∂zˡ_k · ∂zˡ_k/∂wˡ_kj  with
∂L/∂hˡ_k = Σ_m δˡ⁺¹_m wˡ⁺¹_mk, and the update  w ← w − η ∂L/∂w.  For a batch the loss is the
mean (or sum) of the per-sample losses ℓ_n, so its gradient is the mean (or sum) of theirs
(seed 002).  Every number is read from the engine (:mod:`~chainrule.diagnostics.trace`); every
formula is spelled from the registry's declarations (:mod:`chainrule.nn.registry`).

:func:`derive_parameter` is the cheap path for one weight of a live model (the page shows it on
hover while training): one traced forward and backward pass and that element's factors.

JSON (``step.Derivation.to_dict()``, ``ParameterDerivation.to_dict()``; schema ``chainrule.derivation``,
version 1).  A *formula* is ``{"text", "latex", "html"}`` (LaTeX without ``$``).  A *factor* is
``{"symbol": formula, "forms": [formula, …], "value": number | array, "display": formula | null,
"note": str}``: the symbol equals each form in turn (symbolic, then with the numbers) and then the
value; ``display`` is the value as written with the chosen decimals (null when a form already
states it, as for a linear unit's ∂h/∂z = 1).  Arrays are nested lists (one row per sample where
there are samples); numbers that are not finite are null.  A *parameter* is::

    {"name": "0.weight[1, 0]", "tensor": "0.weight", "index": [1, 0], "seed_name": "w1_21",
     "layer": 1, "kind": "weight", "symbol": formula, "loss": L, "value": θ before the step,
     "gradient": ∂L/∂θ,
     "third": factor ∂zˡ_k/∂θ,
     "chain": [factor ∂L/∂hˡ_k, factor ∂hˡ_k/∂zˡ_k, factor ∂zˡ_k/∂θ] (one sample; [] for a batch),
     "chain_equation": [formula, …] | null,      # ∂L/∂θ = product of symbols = of numbers = value
     "path": [factor, …] | null, "path_equation": [formula, …] | null,   # the one path from L
     "samples": null | {"combine": "mean" | "sum", "count": N, "symbols": [4 formulas],
                        "grad_h": [N], "derivative": [N], "input": [N], "gradient": [N],
                        "equation": [formula, …]},     # ∂ℓ_n/∂hˡ_k, ∂hˡ_k/∂zˡ_k, ∂zˡ_k/∂θ, ∂ℓ_n/∂θ
     "update": null | {"lr": η, "before": θ, "after": θ − η ∂L/∂θ, "equation": [formula, …]}}

A whole step (``step.Derivation.to_dict()``) is::

    {"schema": "chainrule.derivation", "version": 1, "decimals": 4,
     "network": {"inputs": n, "layers": [{"number": l, "name": "0", "inputs": n, "units": m,
                 "bias": bool, "activation": {"name", "label", "module", "options", "call",
                 "definition", "derivative"}}], "loss": {"name": str | null, "module": str,
                 "reduction": "mean" | "sum", "divisor": count, "formula": formula}},
     "samples": N, "x": [[…]], "y": [[…]] (or [labels]), "output": [[…]], "loss": L,
     "forward": null | [{"layer": l, "units": [{"z": factor, "h": factor}], "vectors":
                 null | {"z": factor, "h": factor}}],          # one sample only
     "loss_equation": factor | null,                             # one sample only
     "backward": null | [{"layer": l, "unit": k, "grad_h": factor, "derivative": factor,
                 "delta": factor}],                              # one sample, small layers
     "sample_losses": null | [ℓ_1, …] (at most 8), "loss_combination": null | [formula, formula],
     "chosen": null | str,   # why the derived parameter was chosen when none was named
     "parameters": [parameter, …],
     "matrix": [{"layer": l, "grad_h": factor | null, "delta": factor, "grad_weight": factor,
                 "grad_bias": factor | null}],
     "update": null | {"lr": η, "loss_after": L, "parameters": [{"name": "0.weight",
                 "seed_name": "W1", "before": array, "after": array}]}}

The keys are stable within a version; new keys may be added, none removed or changed in meaning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chainrule import backend, nn
from chainrule.diagnostics.factors import (
    Factor,
    L,
    activation_factor,
    backprop_factor,
    combination,
    h_symbol,
    loss_factor,
    plain,
    third_factor,
    update_equation,
    w_symbol,
    z_symbol,
)
from chainrule.diagnostics.notation import Math, ParamRef, number, partial, product, resolve, symbol
from chainrule.diagnostics.trace import Trace, trace

SCHEMA = "chainrule.derivation"
"""The ``schema`` key of the JSON form."""
VERSION = 1
"""The ``version`` key of the JSON form (raised when a key is removed or changes meaning)."""


@dataclass(frozen=True)
class SampleTerms:
    """The per-sample terms of one element's gradient over a batch (seed 002): for each sample n,
    ∂ℓ_n/∂hˡ_k, ∂hˡ_k/∂zˡ_k, ∂zˡ_k/∂θ and their product ∂ℓ_n/∂θ (arrays of N), and how they
    combine into ∂L/∂θ (``"mean"`` or ``"sum"``)."""

    combine: str
    symbols: tuple[Math, ...]
    grad_h: Any
    derivative: Any
    inputs: Any
    gradients: Any
    equation: tuple[Math, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "combine": self.combine,
            "count": len(self.gradients),
            "symbols": [s.to_dict() for s in self.symbols],
            "grad_h": plain(self.grad_h),
            "derivative": plain(self.derivative),
            "input": plain(self.inputs),
            "gradient": plain(self.gradients),
            "equation": [part.to_dict() for part in self.equation],
        }


@dataclass(frozen=True)
class Update:
    """θ ← θ − η ∂L/∂θ for one element: the learning rate, the values before and after, and the equation."""

    lr: float
    before: float
    after: float
    equation: tuple[Math, ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "lr": plain(self.lr),
            "before": plain(self.before),
            "after": plain(self.after),
            "equation": [part.to_dict() for part in self.equation],
        }


@dataclass(frozen=True)
class ParameterDerivation:
    """The derivation of ∂L/∂θ for one weight or bias θ (an element of a parameter).

    Attributes
    ----------
    ref : ParamRef
        θ: its PyTorch name (``ref.name``, ``"0.weight[1, 0]"``), seed name (``ref.seed_name``,
        ``"w1_21"``) and symbol.
    value, gradient : float
        θ before the step and ∂L/∂θ as autograd computed it.
    third : Factor
        ∂zˡ_k/∂θ = hˡ⁻¹_j (or 1 for a bias).
    chain : list of Factor
        One sample: ∂L/∂hˡ_k, ∂hˡ_k/∂zˡ_k, ∂zˡ_k/∂θ, whose product is ``gradient`` ([] for a batch).
    path : list of Factor or None
        The same gradient as one product along the only path from L, when every layer above has
        one unit (as in the seeds): ∂L/∂hᴸ₁ · ∂hᴸ₁/∂zᴸ₁ · ∂zᴸ₁/∂hᴸ⁻¹ · … · ∂zˡ_k/∂θ.
    samples : SampleTerms or None
        A batch: the per-sample terms and their mean or sum.
    update : Update or None
        With a learning rate: θ ← θ − η ∂L/∂θ.
    loss : float
        L of the pass the gradient comes from.
    decimals : int
        Decimals of the numbers written in the formulas.
    """

    ref: ParamRef
    loss: float
    value: float
    gradient: float
    third: Factor
    chain: list[Factor]
    path: list[Factor] | None
    samples: SampleTerms | None
    update: Update | None
    decimals: int = 4

    def product_equation(self, factors: list[Factor]) -> list[Math]:
        """∂L/∂θ = factor · factor · … = number × number × … = value."""
        return [
            partial(L, self.ref.symbol),
            product([f.symbol for f in factors], "·"),
            product([number(f.value, self.decimals, True) for f in factors]),
            number(self.gradient, self.decimals),
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        ref, d = self.ref, self.decimals
        return {
            "name": ref.name,
            "tensor": ref.tensor_name,
            "index": list(ref.index),
            "seed_name": ref.seed_name,
            "layer": ref.layer.number,
            "kind": ref.kind,
            "symbol": ref.symbol.to_dict(),
            "loss": plain(self.loss),
            "value": plain(self.value),
            "gradient": plain(self.gradient),
            "third": self.third.to_dict(d),
            "chain": [f.to_dict(d) for f in self.chain],
            "chain_equation": [m.to_dict() for m in self.product_equation(self.chain)] if self.chain else None,
            "path": None if self.path is None else [f.to_dict(d) for f in self.path],
            "path_equation": None if self.path is None else [m.to_dict() for m in self.product_equation(self.path)],
            "samples": None if self.samples is None else self.samples.to_dict(),
            "update": None if self.update is None else self.update.to_dict(),
        }


def _chain(trace_: Trace, ref: ParamRef, decimals: int) -> list[Factor]:
    ell, k = ref.layer.number, ref.index[0]
    lt = trace_.layers[ell - 1]
    top = len(trace_.layers)
    first = loss_factor(trace_, k, decimals) if ell == top else backprop_factor(trace_, ell, k, decimals)
    return [first, activation_factor(lt, k, decimals), third_factor(trace_, ref)]


def _path(trace_: Trace, ref: ParamRef) -> list[Factor] | None:
    ell, k = ref.layer.number, ref.index[0]
    layers = [lt.layer for lt in trace_.layers]
    top = len(layers)
    if ell == top or any(layer.units != 1 for layer in layers[ell:]):
        return None
    last = trace_.layers[-1]
    factors = [
        Factor(partial(L, h_symbol(top, 0)), (), float(last.grad_h[0, 0])),
        Factor(partial(h_symbol(top, 0), z_symbol(top, 0)), (), float(last.derivative[0, 0])),
    ]
    for m in range(top, ell, -1):
        below = k if m - 1 == ell else 0
        weight = float(trace_.layers[m - 1].weight.data[0, below])
        factors.append(Factor(partial(z_symbol(m, 0), h_symbol(m - 1, below)), (w_symbol(m, 0, below),), weight))
        derivative = float(trace_.layers[m - 2].derivative[0, below])
        factors.append(Factor(partial(h_symbol(m - 1, below), z_symbol(m - 1, below)), (), derivative))
    factors.append(third_factor(trace_, ref))
    return factors


def _sample_terms(trace_: Trace, ref: ParamRef, gradient: float, decimals: int) -> SampleTerms:
    """Per-sample terms from the batch's own pass: row n of ∂L/∂· times N (mean) or 1 (sum)."""
    ell, k = ref.layer.number, ref.index[0]
    lt = trace_.layers[ell - 1]
    scale = trace_.per_sample_scale
    inputs = lt.inputs[:, ref.index[1]] if ref.kind == "weight" else backend.xp.ones_like(lt.delta[:, k])
    gradients = (scale * lt.delta[:, k]) * inputs
    combine = "sum" if trace_.reduction == "sum" else "mean"
    ell_n = symbol("ℓ_n")
    symbols = (
        partial(ell_n, h_symbol(ell, k)),
        partial(h_symbol(ell, k), z_symbol(ell, k)),
        partial(z_symbol(ell, k), ref.symbol),
        partial(ell_n, ref.symbol),
    )
    values = gradients.tolist()
    equation = (
        partial(L, ref.symbol),
        *combination(f"∂ℓ_n/∂{ref.symbol.text}", values, len(values), combine, decimals),
        number(gradient, decimals),
    )
    return SampleTerms(combine, symbols, scale * lt.grad_h[:, k], lt.derivative[:, k], inputs, gradients, equation)


def parameter_derivation(
    trace_: Trace,
    ref: ParamRef,
    decimals: int = 4,
    lr: float | None = None,
    after: float | None = None,
) -> ParameterDerivation:
    """The derivation of the element ``ref`` in ``trace_``; with ``lr``, its update to ``after``
    (or, without it, θ − η ∂L/∂θ computed in the parameter's dtype)."""
    gradient_array = trace_.gradient(ref.layer, ref.kind)
    gradient = float(gradient_array[ref.index])
    parameter = ref.parameter.data
    value = float(parameter[ref.index])
    single = trace_.samples == 1
    update = None
    if lr is not None:
        if after is None:
            after = float(parameter[ref.index] - lr * gradient_array[ref.index])
        update = Update(lr, value, after, update_equation(ref, value, after, lr, gradient, decimals))
    return ParameterDerivation(
        ref,
        float(trace_.loss.item()),
        value,
        gradient,
        third_factor(trace_, ref),
        _chain(trace_, ref, decimals) if single else [],
        _path(trace_, ref) if single else None,
        None if single else _sample_terms(trace_, ref, gradient, decimals),
        update,
        decimals,
    )


def check_lr(lr: Any) -> None:
    """Raise ``ValueError`` unless ``lr`` is None or a positive finite number."""
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"explain: the learning rate must be a positive number, got lr={lr!r}")


def check_batch(trace_: Trace) -> None:
    """Raise ``ValueError`` for a batch whose loss is not a mean or sum of per-sample losses."""
    weight = getattr(trace_.loss_fn, "weight", None)
    if trace_.samples > 1 and weight is not None and isinstance(trace_.loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
        raise ValueError(
            "explain: a batch with a class-weighted loss is not a mean of per-sample losses; "
            "explain one sample at a time or drop weight="
        )


def derive_parameter(
    model: nn.Module, loss_fn: Any, x: Any, y: Any, param: str, lr: float | None = None, decimals: int = 4
) -> ParameterDerivation:
    """The derivation of one weight or bias of ``model`` on (x, y), and nothing else: the cheap
    path for a live model (one traced forward and backward pass; the model is not copied and its
    ``.grad`` are left alone).

    Parameters
    ----------
    model, loss_fn, x, y, lr, decimals
        As for :func:`chainrule.explain`; with ``lr`` the update θ − η ∂L/∂θ is included.
    param : str
        One element: ``"0.weight[1, 0]"`` (PyTorch, from 0) or ``"w1_21"``, ``"b2_1"`` (seeds, from 1).

    Returns
    -------
    ParameterDerivation
        ``.gradient`` is ∂L/∂θ, ``.chain``/``.samples`` its factors, ``.to_dict()`` the JSON form.

    Examples
    --------
    >>> d = derive_parameter(model, nn.HalfSquaredErrorLoss(), [-0.32, -0.66], [-0.54], "w2_11", lr=0.2)
    >>> round(d.gradient, 4), round(d.update.after, 4)
    (0.5666, 0.1867)
    """
    check_lr(lr)
    trace_ = trace(model, loss_fn, x, y)
    check_batch(trace_)
    ref = resolve(param, [lt.layer for lt in trace_.layers])
    if ref.index is None:
        raise ValueError(
            f"derive_parameter: {param!r} names a whole tensor; name one element, e.g. "
            f"{ref.tensor_name}[{', '.join('0' for _ in ref.parameter.shape)}]"
        )
    return parameter_derivation(trace_, ref, decimals, lr)
