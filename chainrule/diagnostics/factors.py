"""The factors of the chain rule, read from a traced pass and spelled from the registry.

Each :class:`Factor` is one quantity of a derivation — ∂L/∂hᴸ_k, ∂hˡ_k/∂zˡ_k, δˡ_k, ∂zˡ_k/∂θ, … —
with its symbol, the forms it equals (symbolic, then with the numbers; the activation's and the
loss's formulas come from :mod:`chainrule.nn.registry`) and its value, which is always the
engine's (:mod:`~chainrule.diagnostics.trace`).  :mod:`~chainrule.diagnostics.derivation` (one
parameter) and :mod:`~chainrule.diagnostics.step` (a whole step) are made of these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chainrule import backend
from chainrule.diagnostics.notation import (
    Math,
    ParamRef,
    array,
    fill,
    format_number,
    join,
    number,
    partial,
    product,
    raw,
    symbol,
)
from chainrule.diagnostics.trace import LayerTrace, Trace
from chainrule.nn import registry

SMALL_WIDTH = 8
"""Layers with at most this many units and inputs are written unit by unit."""
SMALL_BATCH = 8
"""Batches of at most this many samples get every gradient derived per sample; tables show at
most this many samples."""

L = symbol("L")
"""The loss's symbol."""


def h_symbol(layer: int, unit: int | None = None) -> Math:
    """hˡ_k, written x_k for the input layer as in the seeds."""
    index = () if unit is None else (unit + 1,)
    return symbol("x", None, index) if layer == 0 else symbol("h", layer, index)


def z_symbol(layer: int, unit: int | None = None) -> Math:
    """zˡ_k (zˡ without a unit)."""
    return symbol("z", layer, () if unit is None else (unit + 1,))


def w_symbol(layer: int, k: int, j: int) -> Math:
    """wˡ_kj (0-based k, j)."""
    return symbol("w", layer, (k + 1, j + 1))


def b_symbol(layer: int, k: int) -> Math:
    """bˡ_k (0-based k)."""
    return symbol("b", layer, (k + 1,))


def y_symbol(unit: int) -> Math:
    """y_k (0-based k)."""
    return symbol("y", None, (unit + 1,))


def superscript(n: int) -> str:
    """``n`` as a superscript: 2 → ²."""
    return symbol("", n).text


def plain(value: Any) -> Any:
    """A number or array as JSON data: floats and nested lists, non-finite numbers as None."""
    if getattr(value, "ndim", 0):
        if backend.xp.isfinite(value).all():
            return value.astype(backend.float64).tolist()
        return [plain(v) for v in value]
    value = float(value)
    return value if math.isfinite(value) else None


def value_math(value: Any, decimals: int) -> Math:
    """A number, or a vector or matrix (:func:`~chainrule.diagnostics.notation.array`), as a formula."""
    return array(value, decimals) if getattr(value, "ndim", 0) else number(value, decimals)


def number_values(name: str, value: float, decimals: int) -> dict[str, str]:
    """``{name}_value`` (the number) and ``{name}_factor`` (in parentheses if negative) for a template."""
    return {f"{name}_value": format_number(value, decimals), f"{name}_factor": number(value, decimals, wrap=True).text}


def option_values(options: dict[str, Any], decimals: int) -> dict[str, str]:
    """A module's options as template values (numbers with ``decimals``; text as it is)."""
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
        return [self.symbol, *self.forms, *([] if self.constant else [value_math(self.value, decimals)])]

    def to_dict(self, decimals: int) -> dict[str, Any]:
        """The JSON form (see the module docstring)."""
        return {
            "symbol": self.symbol.to_dict(),
            "forms": [form.to_dict() for form in self.forms],
            "value": plain(self.value),
            "display": None if self.constant else value_math(self.value, decimals).to_dict(),
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
    return option_values({name: getattr(trace_.loss_fn, name) for name in entry.arguments}, decimals)


def loss_formula(trace_: Trace) -> Math:
    """The loss as a formula of the outputs hᴸ and targets y (the registry's, with the mean's 1/n)."""
    last = len(trace_.layers)
    entry = loss_entry(trace_)
    if entry is None:
        return raw(f"{type(trace_.loss_fn).__name__}({h_symbol(last).text}, {symbol('y').text})")
    count = loss_divisor(trace_)
    over = Math("", "", "") if count == 1 else Math(f"(1/{count}) ", rf"\frac{{1}}{{{count}}} ", f"(1/{count}) ")
    return over + fill(entry.formula, {"h": h_symbol(last)}, _loss_options(trace_, entry))


def loss_factor(trace_: Trace, unit: int, decimals: int, n: int = 0) -> Factor:
    """∂L/∂hᴸ_k of sample ``n``: the registry's derivative in symbols and in numbers, then the value."""
    last = len(trace_.layers)
    hs = h_symbol(last, unit)
    value = float(trace_.layers[-1].grad_h[n, unit])
    entry = loss_entry(trace_)
    if entry is None:
        return Factor(partial(L, hs), (), value)
    count = loss_divisor(trace_)
    over = "" if count == 1 else f" / {count}"
    h = float(trace_.output.data[n, unit])
    target = trace_.y.data[n] if trace_.y.ndim == 1 else trace_.y.data[n, unit]
    values = {
        **number_values("h", h, decimals),
        **number_values("y", float(target), decimals),
        **_loss_options(trace_, entry, decimals),
        "k": str(unit + 1),
        "c": str(int(target) + 1) if trace_.y.ndim == 1 else "",
    }
    symbols = {"h": hs, "y": y_symbol(unit), "output": h_symbol(last)}
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
    symbols = join([fill(entry.term, {"h": h_symbol(last, k), "y": y_symbol(k)}) for k in units], " + ")
    values = join(
        [
            fill(entry.term_numbers, {}, {**number_values("h", h[k], decimals), **number_values("y", y[k], decimals)})
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
    hs, zs = h_symbol(ell, unit), z_symbol(ell, unit)
    z = float(lt.z.data[n, unit])
    options = layer.activation.options() if layer.activation is not None else {}
    values = {
        **number_values("z", z, decimals),
        **number_values("h", float(lt.h.data[n, unit]), decimals),
        **option_values(options, decimals),
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
        return Factor(partial(L, h_symbol(ell, unit)), (), value)
    weight = above.weight.data
    forms = (
        raw(
            f"Σ_m δ{superscript(ell + 1)}_m w{superscript(ell + 1)}_m{unit + 1}",
            rf"\sum_m \delta^{{{ell + 1}}}_m w^{{{ell + 1}}}_{{m{unit + 1}}}",
        ),
        join([symbol("δ", ell + 1, (m + 1,)) + " " + w_symbol(ell + 1, m, unit) for m in units], " + "),
        join(
            [
                number(above.delta[0, m], decimals, True) + " × " + number(weight[m, unit], decimals, True)
                for m in units
            ],
            " + ",
        ),
    )
    return Factor(partial(L, h_symbol(ell, unit)), forms, value)


def delta_factor(lt: LayerTrace, unit: int, decimals: int) -> Factor:
    """δˡ_k = ∂L/∂hˡ_k · ∂hˡ_k/∂zˡ_k (one sample)."""
    ell = lt.layer.number
    forms = (
        product([partial(L, h_symbol(ell, unit)), partial(h_symbol(ell, unit), z_symbol(ell, unit))], "·"),
        product([number(lt.grad_h[0, unit], decimals, True), number(lt.derivative[0, unit], decimals, True)]),
    )
    return Factor(symbol("δ", ell, (unit + 1,)), forms, float(lt.delta[0, unit]))


def third_factor(trace_: Trace, ref: ParamRef, n: int = 0) -> Factor:
    """∂zˡ_k/∂wˡ_kj = hˡ⁻¹_j (x_j in layer 1), or ∂zˡ_k/∂bˡ_k = 1."""
    ell, k = ref.layer.number, ref.index[0]
    if ref.kind == "bias":
        return Factor(partial(z_symbol(ell, k), ref.symbol), (), 1.0)
    j = ref.index[1]
    value = float(trace_.layers[ell - 1].inputs[n, j])
    return Factor(partial(z_symbol(ell, k), ref.symbol), (h_symbol(ell - 1, j),), value)


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
