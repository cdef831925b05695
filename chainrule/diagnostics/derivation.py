r"""The chain-rule derivation of one gradient-descent step as data: factors, symbols, values,
per-sample terms and the update, ready to be laid out (:mod:`~chainrule.diagnostics.layout`),
rendered (:mod:`~chainrule.diagnostics.render`) or sent as JSON (:meth:`Derivation.to_dict`).

For layers l = 1..L with zˡ = Wˡ hˡ⁻¹ + bˡ, hˡ = f(zˡ) and h⁰ = x, backpropagation is

    δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),   δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ),   ∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ,   ∂L/∂bˡ = δˡ,

one element at a time  ∂L/∂wˡ_kj = ∂L/∂hˡ_k · ∂hˡ_k/∂zˡ_k · ∂zˡ_k/∂wˡ_kj  with
∂L/∂hˡ_k = Σ_m δˡ⁺¹_m wˡ⁺¹_mk, and the update  w ← w − η ∂L/∂w.  For a batch the loss is the
mean (or sum) of the per-sample losses ℓ_n, so its gradient is the mean (or sum) of theirs
(seed 002).  Every number is read from the engine (:mod:`~chainrule.diagnostics.trace`); every
formula is spelled from the registry's declarations (:mod:`chainrule.nn.registry`).

:func:`derive_parameter` is the cheap path for one weight of a live model (the page shows it on
hover while training): one traced forward and backward pass and that element's factors.

JSON (``Derivation.to_dict()``, ``ParameterDerivation.to_dict()``; schema ``chainrule.derivation``,
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

A whole step (``Derivation.to_dict()``) is::

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

from chainrule import backend, nn, optim
from chainrule.autograd import no_grad
from chainrule.diagnostics.notation import (
    Layer,
    Math,
    ParamRef,
    all_names,
    array,
    fill,
    format_number,
    join,
    number,
    partial,
    product,
    raw,
    resolve,
    symbol,
)
from chainrule.diagnostics.trace import LayerTrace, Trace, trace, working_copy
from chainrule.nn import registry

SCHEMA = "chainrule.derivation"
"""The ``schema`` key of the JSON form."""
VERSION = 1
"""The ``version`` key of the JSON form (raised when a key is removed or changes meaning)."""
SMALL_PARAMETERS = 64
"""Networks with at most this many parameters get every gradient derived when no ``param`` is named."""
SMALL_WIDTH = 8
"""Layers with at most this many units and inputs are written unit by unit."""
SMALL_BATCH = 8
"""Batches of at most this many samples get every gradient derived per sample; tables show at
most this many samples."""

L = symbol("L")


def _h(layer: int, unit: int | None = None) -> Math:
    """hˡ_k, written x_k for the input layer as in the seeds."""
    index = () if unit is None else (unit + 1,)
    return symbol("x", None, index) if layer == 0 else symbol("h", layer, index)


def _z(layer: int, unit: int | None = None) -> Math:
    return symbol("z", layer, () if unit is None else (unit + 1,))


def _w(layer: int, k: int, j: int) -> Math:
    return symbol("w", layer, (k + 1, j + 1))


def _b(layer: int, k: int) -> Math:
    return symbol("b", layer, (k + 1,))


def _y(unit: int) -> Math:
    return symbol("y", None, (unit + 1,))


def _sup(n: int) -> str:
    return symbol("", n).text


def plain(value: Any) -> Any:
    """A number or array as JSON data: floats and nested lists, non-finite numbers as None."""
    if getattr(value, "ndim", 0):
        if backend.xp.isfinite(value).all():
            return value.astype(backend.float64).tolist()
        return [plain(v) for v in value]
    value = float(value)
    return value if math.isfinite(value) else None


def _value_math(value: Any, decimals: int) -> Math:
    return array(value, decimals) if getattr(value, "ndim", 0) else number(value, decimals)


def _number_values(name: str, value: float, decimals: int) -> dict[str, str]:
    """``{name}_value`` (the number) and ``{name}_factor`` (in parentheses if negative) for a template."""
    return {f"{name}_value": format_number(value, decimals), f"{name}_factor": number(value, decimals, wrap=True).text}


def _option_values(options: dict[str, Any], decimals: int) -> dict[str, str]:
    return {
        key: format_number(value, decimals) if isinstance(value, (int, float)) else str(value)
        for key, value in options.items()
    }


# ---------------------------------------------------------------------- factors


@dataclass(frozen=True)
class Factor:
    """One quantity of the derivation: its ``symbol``, the ``forms`` it equals (symbolic, then with
    the numbers) and its ``value`` (a number, or an array for a vector or matrix).

    ``constant`` marks a quantity whose last form states the value (a linear unit's ∂h/∂z = 1);
    ``note`` is a remark shown after it ("linear").
    """

    symbol: Math
    forms: tuple[Math, ...] = ()
    value: Any = 0.0
    constant: bool = False
    note: str = ""

    def parts(self, decimals: int) -> list[Math]:
        """symbol, forms…, value: the equation this factor is."""
        return [self.symbol, *self.forms, *([] if self.constant else [_value_math(self.value, decimals)])]

    def to_dict(self, decimals: int) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "symbol": self.symbol.to_dict(),
            "forms": [form.to_dict() for form in self.forms],
            "value": plain(self.value),
            "display": None if self.constant else _value_math(self.value, decimals).to_dict(),
            "note": self.note,
        }


def loss_entry(trace_: Trace) -> registry.LossEntry | None:
    """The registry's entry of the trace's loss (None for a loss it does not declare)."""
    return registry.loss_entry(trace_.loss_fn)


def loss_divisor(trace_: Trace) -> int:
    """The count a mean loss divides by (samples or elements, as the registry says), 1 for a sum."""
    if trace_.reduction != "mean":
        return 1
    entry = loss_entry(trace_)
    return trace_.output.size if entry is not None and entry.mean_over == "elements" else trace_.samples


def _loss_options(trace_: Trace, entry: registry.LossEntry, decimals: int = 4) -> dict[str, str]:
    return _option_values({name: getattr(trace_.loss_fn, name) for name in entry.arguments}, decimals)


def loss_formula(trace_: Trace) -> Math:
    """The loss as a formula of the outputs hᴸ and targets y (the registry's, with the mean's 1/n)."""
    last = len(trace_.layers)
    entry = loss_entry(trace_)
    if entry is None:
        return raw(f"{type(trace_.loss_fn).__name__}({_h(last).text}, {symbol('y').text})")
    count = loss_divisor(trace_)
    over = Math("", "", "") if count == 1 else Math(f"(1/{count}) ", rf"\frac{{1}}{{{count}}} ", f"(1/{count}) ")
    return over + fill(entry.formula, {"h": _h(last)}, _loss_options(trace_, entry))


def loss_factor(trace_: Trace, unit: int, decimals: int, n: int = 0) -> Factor:
    """∂L/∂hᴸ_k of sample ``n``: the registry's derivative in symbols and in numbers, then the value."""
    last = len(trace_.layers)
    hs = _h(last, unit)
    value = float(trace_.layers[-1].grad_h[n, unit])
    entry = loss_entry(trace_)
    if entry is None:
        return Factor(partial(L, hs), (), value)
    count = loss_divisor(trace_)
    over = "" if count == 1 else f" / {count}"
    h = float(trace_.output.data[n, unit])
    target = trace_.y.data[n] if trace_.y.ndim == 1 else trace_.y.data[n, unit]
    values = {
        **_number_values("h", h, decimals),
        **_number_values("y", float(target), decimals),
        **_loss_options(trace_, entry, decimals),
        "k": str(unit + 1),
        "c": str(int(target) + 1) if trace_.y.ndim == 1 else "",
    }
    symbols = {"h": hs, "y": _y(unit), "output": _h(last)}
    forms = [fill(entry.derivative, symbols, values) + over]
    if entry.numbers is not None:
        forms.append(fill(entry.numbers, symbols, values) + over)
    return Factor(partial(L, hs), tuple(forms), value)


def loss_substitution(trace_: Trace, decimals: int) -> list[Math]:
    """A sum of squares over the outputs written out for one sample, in symbols and in numbers
    (empty for other losses and for more than :data:`SMALL_WIDTH` outputs)."""
    entry = loss_entry(trace_)
    last = len(trace_.layers)
    units = range(trace_.layers[-1].layer.units)
    if entry is None or entry.term is None or len(units) > SMALL_WIDTH:
        return []
    h, y = trace_.output.data[0], trace_.y.data[0]
    count = loss_divisor(trace_)
    over = Math("", "", "") if count == 1 else Math(f"(1/{count}) ", rf"\frac{{1}}{{{count}}} ", f"(1/{count}) ")
    prefix = over if entry.term_scale is None else over + fill(entry.term_scale, {})
    symbols = join([fill(entry.term, {"h": _h(last, k), "y": _y(k)}) for k in units], " + ")
    values = join(
        [
            fill(entry.term_numbers, {}, {**_number_values("h", h[k], decimals), **_number_values("y", y[k], decimals)})
            for k in units
        ],
        " + ",
    )
    if prefix.text and len(units) > 1:  # ½ [(y₁ − h₁)² + (y₂ − h₂)²]: the factor takes the whole sum
        symbols, values = (raw("[") + symbols + "]", raw("[") + values + "]")
    return [prefix + symbols, prefix + values]


def activation_factor(lt: LayerTrace, unit: int, decimals: int, n: int = 0) -> Factor:
    """∂hˡ_k/∂zˡ_k of sample ``n``: the registry's derivative in symbols and numbers, then the value
    the activation's node computed (the one its backward multiplied by)."""
    layer, ell = lt.layer, lt.layer.number
    entry = layer.activation_entry
    hs, zs = _h(ell, unit), _z(ell, unit)
    z = float(lt.z.data[n, unit])
    options = layer.activation.options() if layer.activation is not None else {}
    values = {
        **_number_values("z", z, decimals),
        **_number_values("h", float(lt.h.data[n, unit]), decimals),
        **_option_values(options, decimals),
        "z_vs_0": "> 0" if z > 0 else "≤ 0",
    }
    forms = [fill(entry.derivative, {"z": zs, "h": hs}, values)]
    if entry.numbers is not None:
        forms.append(fill(entry.numbers, {"z": zs, "h": hs}, values))
    return Factor(partial(hs, zs), tuple(forms), float(lt.derivative[n, unit]), constant=entry.constant)


def backprop_factor(trace_: Trace, ell: int, unit: int, decimals: int) -> Factor:
    """∂L/∂hˡ_k = Σ_m δˡ⁺¹_m wˡ⁺¹_mk for a hidden layer (one sample), written out when the layer
    above has at most :data:`SMALL_WIDTH` units."""
    above = trace_.layers[ell]
    value = float(trace_.layers[ell - 1].grad_h[0, unit])
    units = range(above.layer.units)
    if len(units) > SMALL_WIDTH:
        return Factor(partial(L, _h(ell, unit)), (), value)
    weight = above.weight.data
    forms = (
        raw(
            f"Σ_m δ{_sup(ell + 1)}_m w{_sup(ell + 1)}_m{unit + 1}",
            rf"\sum_m \delta^{{{ell + 1}}}_m w^{{{ell + 1}}}_{{m{unit + 1}}}",
        ),
        join([symbol("δ", ell + 1, (m + 1,)) + " " + _w(ell + 1, m, unit) for m in units], " + "),
        join(
            [
                number(above.delta[0, m], decimals, True) + " × " + number(weight[m, unit], decimals, True)
                for m in units
            ],
            " + ",
        ),
    )
    return Factor(partial(L, _h(ell, unit)), forms, value)


def delta_factor(lt: LayerTrace, unit: int, decimals: int) -> Factor:
    """δˡ_k = ∂L/∂hˡ_k · ∂hˡ_k/∂zˡ_k (one sample)."""
    ell = lt.layer.number
    forms = (
        product([partial(L, _h(ell, unit)), partial(_h(ell, unit), _z(ell, unit))], "·"),
        product([number(lt.grad_h[0, unit], decimals, True), number(lt.derivative[0, unit], decimals, True)]),
    )
    return Factor(symbol("δ", ell, (unit + 1,)), forms, float(lt.delta[0, unit]))


def third_factor(trace_: Trace, ref: ParamRef, n: int = 0) -> Factor:
    """∂zˡ_k/∂wˡ_kj = hˡ⁻¹_j (x_j in layer 1), or ∂zˡ_k/∂bˡ_k = 1."""
    ell, k = ref.layer.number, ref.index[0]
    if ref.kind == "bias":
        return Factor(partial(_z(ell, k), ref.symbol), (), 1.0)
    j = ref.index[1]
    return Factor(partial(_z(ell, k), ref.symbol), (_h(ell - 1, j),), float(trace_.layers[ell - 1].inputs[n, j]))


# ---------------------------------------------------------------------- one parameter


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


def combination(term: str, values: list[float], count: int, combine: str, decimals: int) -> tuple[Math, Math]:
    """``(1/N) Σ_n term`` and ``(v₁ + v₂ + … ) / N`` (or ``Σ_n term`` and ``v₁ + …``), the first
    :data:`SMALL_BATCH` values written out."""
    shown = [number(v, decimals, True) for v in values[:SMALL_BATCH]]
    total = join(shown + (["…"] if count > SMALL_BATCH else []), " + ")
    if combine == "mean":
        return raw(f"(1/{count}) Σ_n {term}"), raw("(") + total + f") / {count}"
    return raw(f"Σ_n {term}"), total


def update_equation(ref: ParamRef, before: float, after: float, lr: float, gradient: float, decimals: int) -> tuple:
    """``θ ← θ − η ∂L/∂θ = before − η × gradient = after``."""
    s, d = ref.symbol, partial(L, ref.symbol)
    old, rate, grad = number(before, decimals), number(lr, decimals), number(gradient, decimals, True)
    return (
        raw(f"{s.text} ← {s.text} − η {d.text}", rf"{s.latex} \leftarrow {s.latex} - \eta {d.latex}"),
        raw(f"{old.text} − {rate.text} × {grad.text}", rf"{old.latex} - {rate.latex} \times {grad.latex}"),
        number(after, decimals),
    )


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
        Factor(partial(L, _h(top, 0)), (), float(last.grad_h[0, 0])),
        Factor(partial(_h(top, 0), _z(top, 0)), (), float(last.derivative[0, 0])),
    ]
    for m in range(top, ell, -1):
        below = k if m - 1 == ell else 0
        weight = float(trace_.layers[m - 1].weight.data[0, below])
        factors.append(Factor(partial(_z(m, 0), _h(m - 1, below)), (_w(m, 0, below),), weight))
        derivative = float(trace_.layers[m - 2].derivative[0, below])
        factors.append(Factor(partial(_h(m - 1, below), _z(m - 1, below)), (), derivative))
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
        partial(ell_n, _h(ell, k)),
        partial(_h(ell, k), _z(ell, k)),
        partial(_z(ell, k), ref.symbol),
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


# ---------------------------------------------------------------------- a whole step


@dataclass(frozen=True)
class ForwardLayer:
    """Layer l of a one-sample forward pass: (zˡ_k, hˡ_k) per unit, or zˡ and hˡ as vectors for a
    layer wider than :data:`SMALL_WIDTH`."""

    layer: int
    units: list[tuple[Factor, Factor]]
    vectors: tuple[Factor, Factor] | None = None

    def to_dict(self, decimals: int) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "layer": self.layer,
            "units": [{"z": z.to_dict(decimals), "h": h.to_dict(decimals)} for z, h in self.units],
            "vectors": None
            if self.vectors is None
            else {"z": self.vectors[0].to_dict(decimals), "h": self.vectors[1].to_dict(decimals)},
        }


@dataclass(frozen=True)
class BackwardUnit:
    """Unit k of layer l in a one-sample backward pass: ∂L/∂hˡ_k, ∂hˡ_k/∂zˡ_k and δˡ_k."""

    layer: int
    unit: int
    grad_h: Factor
    derivative: Factor
    delta: Factor

    def to_dict(self, decimals: int) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "layer": self.layer,
            "unit": self.unit + 1,
            "grad_h": self.grad_h.to_dict(decimals),
            "derivative": self.derivative.to_dict(decimals),
            "delta": self.delta.to_dict(decimals),
        }


@dataclass(frozen=True)
class MatrixLayer:
    """Layer l in matrix form: ∂L/∂hˡ (below the top), δˡ, ∂L/∂Wˡ and ∂L/∂bˡ."""

    layer: int
    grad_h: Factor | None
    delta: Factor
    grad_weight: Factor
    grad_bias: Factor | None

    def to_dict(self, decimals: int) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "layer": self.layer,
            "grad_h": None if self.grad_h is None else self.grad_h.to_dict(decimals),
            "delta": self.delta.to_dict(decimals),
            "grad_weight": self.grad_weight.to_dict(decimals),
            "grad_bias": None if self.grad_bias is None else self.grad_bias.to_dict(decimals),
        }


class Derivation:
    """Everything a walk-through of one step shows, computed once (see the module docstring).

    Attributes
    ----------
    trace : Trace
        The engine's values.
    layers : list of Layer
        Layers 1..L.
    param : ParamRef or None
        The parameter named, or chosen (``chosen`` says why), or None when every gradient is derived.
    chosen : str or None
        Why ``param`` was chosen when none was named (the network or batch is too big to derive
        every gradient, or the named tensor too big to derive each entry).
    parameters : list of ParameterDerivation
        The elements derived.
    forward, loss_equation, backward
        The one-sample forward pass unit by unit, the loss, and the backward pass (None for a
        batch; ``backward`` also None for layers wider than :data:`SMALL_WIDTH`).
    sample_losses : list of float or None
        A batch: ℓ_n of the first :data:`SMALL_BATCH` samples.
    matrix : list of MatrixLayer
        The matrix form, top layer first.
    updated : dict or None
        With ``lr``: every parameter after one step of ``optim.SGD`` (w ← w − η ∂L/∂w).
    loss_after : float or None
        With ``lr``: the loss after that step.
    """

    def __init__(self, trace_: Trace, param: str | None = None, lr: float | None = None, decimals: int = 4) -> None:
        check_lr(lr)
        check_batch(trace_)
        self.trace = t = trace_
        self.param_name, self.lr, self.decimals = param, lr, decimals
        self.layers = [lt.layer for lt in t.layers]
        self.param: ParamRef | None = None
        self.chosen: str | None = None
        self.updated: dict[str, Any] | None = None
        self.loss_after: float | None = None
        if self.lr is not None:
            self._step(self.lr)
        refs = self._refs()
        self.parameters = [
            parameter_derivation(
                t,
                ref,
                self.decimals,
                self.lr,
                None if self.updated is None else float(self.updated[ref.tensor_name][ref.index]),
            )
            for ref in refs
        ]
        d = self.decimals
        single = t.samples == 1
        self.forward = self._forward() if single else None
        self.loss_equation = (
            Factor(L, (loss_formula(t), *loss_substitution(t, d)), float(t.loss.item())) if single else None
        )
        small = all(max(lt.layer.units, lt.layer.linear.in_features) <= SMALL_WIDTH for lt in t.layers)
        self.backward = self._backward() if single and small else None
        self.sample_losses = None if single else t.sample_losses(SMALL_BATCH)
        self.matrix = self._matrix()

    # -------------------------------------------------------------- what is derived
    @property
    def loss(self) -> float:
        """L before the step."""
        return float(self.trace.loss.item())

    @property
    def combine(self) -> str:
        """How a batch's per-sample gradients combine: ``"mean"`` or ``"sum"``."""
        return "sum" if self.trace.reduction == "sum" else "mean"

    def parameter_count(self) -> int:
        """The number of weights and biases."""
        return sum(lt.weight.data.size + (0 if lt.bias is None else lt.bias.data.size) for lt in self.trace.layers)

    def _largest(self, refs: list[ParamRef]) -> ParamRef:
        return max(refs, key=lambda ref: abs(float(self.trace.gradient(ref.layer, ref.kind)[ref.index])))

    def _largest_element(self, tensors: list[ParamRef]) -> ParamRef:
        """The element with the largest |∂L/∂θ| among the given tensors (the first one on a tie)."""
        best = []
        for ref in tensors:
            grad = abs(self.trace.gradient(ref.layer, ref.kind))
            index = tuple(int(i) for i in backend.xp.unravel_index(int(grad.argmax()), grad.shape))
            best.append(ParamRef(ref.layer, ref.kind, index))
        return self._largest(best)

    def _say_chosen(self, ref: ParamRef, why: str) -> str:
        value = format_number(float(self.trace.gradient(ref.layer, ref.kind)[ref.index]), self.decimals)
        return (
            f"{why}, so the one with the largest gradient is derived: {ref.name} = {ref.seed_name}, "
            f"{partial(L, ref.symbol).text} = {value}. Name another with param= (chainrule explain --param)."
        )

    def _refs(self) -> list[ParamRef]:
        """The elements to derive: the named one (every entry of a named tensor that is small
        enough), or every one of a small network and batch, or else the largest gradient's."""
        t = self.trace
        if self.param_name is not None:
            ref = resolve(self.param_name, self.layers)
            self.param = ref
            if ref.index is not None:
                return [ref]
            if ref.parameter.size <= SMALL_PARAMETERS:
                return [ParamRef(ref.layer, ref.kind, index) for index in _indices(ref)]
            chosen = self._largest_element([ref])
            self.chosen = self._say_chosen(
                chosen, f"{ref.tensor_name} has {ref.parameter.size} entries (more than {SMALL_PARAMETERS} to derive)"
            )
            return [chosen]
        count = self.parameter_count()
        if count <= SMALL_PARAMETERS and t.samples <= SMALL_BATCH:
            order = {
                (ref.layer.number, ref.index[0], ref.kind == "bias", ref.index[1:]): ref
                for ref in all_names(self.layers)
            }
            return [order[key] for key in sorted(order, key=lambda key: (-key[0], *key[1:]))]
        tensors = [
            ParamRef(layer, kind, None) for layer in self.layers for kind in ("weight", "bias")
            if getattr(layer.linear, kind) is not None
        ]  # fmt: skip
        self.param = self._largest_element(tensors)
        why = (
            f"No parameter was named and the network has {count} parameters (more than {SMALL_PARAMETERS} to derive)"
            if count > SMALL_PARAMETERS
            else f"No parameter was named and the batch has {t.samples} samples (more than {SMALL_BATCH} to derive "
            "every gradient per sample)"
        )
        self.chosen = self._say_chosen(self.param, why)
        return [self.param]

    def _step(self, lr: float) -> None:
        """One ``optim.SGD`` step on a copy of the model whose ``.grad`` are the traced gradients, then L again."""
        t = self.trace
        clone = working_copy(t.model)
        gradients = t.gradients()
        for name, p in clone.named_parameters():
            p.grad = gradients[name].copy()
        with backend.xp.errstate(over="ignore", invalid="ignore"):  # a step out of range is refused below
            optim.SGD(clone.parameters(), lr=lr).step()
            self.updated = {name: p.data.copy() for name, p in clone.named_parameters()}
            with no_grad():
                self.loss_after = float(t.loss_fn(clone(t.x), t.y).item())
        if not (math.isfinite(self.loss_after) and all(backend.xp.isfinite(a).all() for a in self.updated.values())):
            raise ValueError(
                f"explain: one step with lr={lr:g} takes the weights or the loss out of range (loss after the step: "
                f"{self.loss_after:g}); take a smaller lr"
            )

    def _forward(self) -> list[ForwardLayer]:
        d, out = self.decimals, []
        for lt in self.trace.layers:
            layer, ell = lt.layer, lt.layer.number
            entry = layer.activation_entry
            if max(layer.units, layer.linear.in_features) > SMALL_WIDTH:
                bias = f" + b{ell}" if layer.linear.bias is not None else ""
                z = Factor(_z(ell), (raw(f"W{ell} {_h(ell - 1).text}{bias}"),), lt.z.data[0])
                h = Factor(_h(ell), (raw(f"f({_z(ell).text})"),), lt.h.data[0])
                out.append(ForwardLayer(ell, [], (z, h)))
                continue
            weight, bias = lt.weight.data, lt.bias
            units = []
            for k in range(layer.units):
                terms = [_w(ell, k, j) + " " + _h(ell - 1, j) for j in range(layer.linear.in_features)]
                values = [
                    product([number(weight[k, j], d, True), number(lt.inputs[0, j], d, True)])
                    for j in range(layer.linear.in_features)
                ]
                if bias is not None:
                    terms.append(_b(ell, k))
                    values.append(number(bias.data[k], d, True))
                z = Factor(_z(ell, k), (join(terms, " + "), join(values, " + ")), float(lt.z.data[0, k]))
                call = fill(entry.call, {"z": _z(ell, k)})
                h = Factor(_h(ell, k), (call,), float(lt.h.data[0, k]), note=entry.note)
                units.append((z, h))
            out.append(ForwardLayer(ell, units))
        return out

    def _backward(self) -> list[BackwardUnit]:
        t, d, out = self.trace, self.decimals, []
        top = len(self.layers)
        for lt in reversed(t.layers):
            ell = lt.layer.number
            for k in range(lt.layer.units):
                grad_h = loss_factor(t, k, d) if ell == top else backprop_factor(t, ell, k, d)
                out.append(BackwardUnit(ell, k, grad_h, activation_factor(lt, k, d), delta_factor(lt, k, d)))
        return out

    def _matrix(self) -> list[MatrixLayer]:
        t = self.trace
        one = t.samples == 1
        top = len(self.layers)
        out = []

        def rows(values: Any) -> Any:
            return values[0] if one else values

        for lt in reversed(t.layers):
            ell = lt.layer.number
            grad_h = None
            if ell != top:
                back = f"(W{_sup(ell + 1)})ᵀ δ{_sup(ell + 1)}" if one else f"Δ{_sup(ell + 1)} W{_sup(ell + 1)}"
                grad_h = Factor(partial(L, _h(ell)), (raw(back),), rows(lt.grad_h))
            fprime = raw(f"f′({_z(ell).text})", rf"f'({_z(ell).latex})")
            delta = Factor(
                symbol("δ" if one else "Δ", ell),
                (
                    raw(
                        f"{partial(L, _h(ell)).text} ⊙ {fprime.text}",
                        rf"{partial(L, _h(ell)).latex} \odot {fprime.latex}",
                    ),
                    join([array(rows(lt.grad_h), self.decimals), array(rows(lt.derivative), self.decimals)], " ⊙ ",
                         r" \odot ", " ⊙ "),
                ),
                rows(lt.delta),
            )  # fmt: skip
            previous = _h(ell - 1) if ell > 1 else symbol("x")
            form = (
                f"δ{_sup(ell)} ({previous.text})ᵀ"
                if one
                else f"(Δ{_sup(ell)})ᵀ {'X' if ell == 1 else 'H' + _sup(ell - 1)}"
            )
            grad_weight = Factor(partial(L, symbol("W", ell)), (raw(form),), lt.weight_grad)
            grad_bias = None
            if lt.bias is not None:
                grad_bias = Factor(
                    partial(L, symbol("b", ell)),
                    (raw(f"δ{_sup(ell)}" if one else f"Σ_n Δ{_sup(ell)}_n"),),
                    lt.bias_grad,
                )
            out.append(MatrixLayer(ell, grad_h, delta, grad_weight, grad_bias))
        return out

    # -------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The whole derivation as JSON data (see the module docstring for the schema)."""
        t, d = self.trace, self.decimals
        entry = loss_entry(t)
        generic = {"z": raw("z"), "h": raw("h")}
        layers = []
        for lt in t.layers:
            layer = lt.layer
            activation = layer.activation_entry
            options = layer.activation.options() if layer.activation is not None else {}
            values = _option_values(options, d)
            layers.append(
                {
                    "number": layer.number,
                    "name": layer.name,
                    "inputs": layer.linear.in_features,
                    "units": layer.units,
                    "bias": layer.linear.bias is not None,
                    "activation": {
                        "name": activation.name,
                        "label": activation.unit_label,
                        "module": activation.module.__name__,
                        "options": {k: plain(v) if isinstance(v, (int, float)) else v for k, v in options.items()},
                        "call": fill(activation.call, generic, values).to_dict(),
                        "definition": fill(activation.definition, generic, values).to_dict(),
                        "derivative": fill(activation.derivative, generic, values).to_dict(),
                    },
                }
            )
        update = None
        if self.updated is not None:
            update = {
                "lr": plain(self.lr),
                "loss_after": plain(self.loss_after),
                "parameters": [
                    {
                        "name": name,
                        "seed_name": _tensor_seed_name(name, self.layers),
                        "before": plain(p.data),
                        "after": plain(self.updated[name]),
                    }
                    for name, p in _named_parameters(self.layers)
                ],
            }
        return {
            "schema": SCHEMA,
            "version": VERSION,
            "decimals": d,
            "network": {
                "inputs": self.layers[0].linear.in_features,
                "layers": layers,
                "loss": {
                    "name": None if entry is None else entry.name,
                    "module": type(t.loss_fn).__name__,
                    "reduction": t.reduction,
                    "divisor": loss_divisor(t),
                    "formula": loss_formula(t).to_dict(),
                },
            },
            "samples": t.samples,
            "x": plain(t.x.data),
            "y": plain(t.y.data),
            "output": plain(t.output.data),
            "loss": plain(self.loss),
            "forward": None if self.forward is None else [layer.to_dict(d) for layer in self.forward],
            "loss_equation": None if self.loss_equation is None else self.loss_equation.to_dict(d),
            "backward": None if self.backward is None else [unit.to_dict(d) for unit in self.backward],
            "sample_losses": self.sample_losses,
            "loss_combination": None
            if self.sample_losses is None
            else [part.to_dict() for part in self.loss_combination()],
            "chosen": self.chosen,
            "parameters": [p.to_dict() for p in self.parameters],
            "matrix": [layer.to_dict(d) for layer in self.matrix],
            "update": update,
        }

    def loss_combination(self) -> tuple[Math, Math]:
        """A batch: (1/N) Σ_n ℓ_n and (ℓ₁ + … ) / N, what L equals (the first :data:`SMALL_BATCH` written out)."""
        return combination("ℓ_n", self.sample_losses or [], self.trace.samples, self.combine, self.decimals)


def _named_parameters(layers: list[Layer]) -> list[tuple[str, Any]]:
    out = []
    for layer in layers:
        for kind in ("weight", "bias"):
            parameter = getattr(layer.linear, kind)
            if parameter is not None:
                out.append((ParamRef(layer, kind, None).tensor_name, parameter))
    return out


def _tensor_seed_name(name: str, layers: list[Layer]) -> str:
    return resolve(name, layers).seed_name


def _indices(ref: ParamRef) -> list[tuple[int, ...]]:
    shape = ref.parameter.shape
    return (
        [(k, j) for k in range(shape[0]) for j in range(shape[1])]
        if len(shape) == 2
        else [(k,) for k in range(shape[0])]
    )
