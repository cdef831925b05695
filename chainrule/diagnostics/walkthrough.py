r"""``chainrule.explain``: the chain-rule walk-through of one gradient-descent step, with the numbers.

For layers ell = 1..L with zˡ = Wˡ hˡ⁻¹ + bˡ, hˡ = f(zˡ) and h⁰ = x, backpropagation is

    δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),   δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ),   ∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ,   ∂L/∂bˡ = δˡ,

one element at a time  ∂L/∂wˡ_kj = ∂L/∂hˡ_k · ∂hˡ_k/∂zˡ_k · ∂zˡ_k/∂wˡ_kj  with
∂L/∂hˡ_k = Σ_m δˡ⁺¹_m wˡ⁺¹_mk, and the update  w ← w − η ∂L/∂w.  For a batch the loss is the
mean (or sum) of the per-sample losses ℓ_n, so its gradient is the mean (or sum) of theirs
(seed 002).  Every number shown is read from the engine (see :mod:`chainrule.diagnostics.trace`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chainrule import backend, nn, optim
from chainrule.autograd import no_grad
from chainrule.diagnostics import render
from chainrule.diagnostics.notation import (
    Layer,
    Math,
    ParamRef,
    all_names,
    array,
    format_number,
    join,
    number,
    partial,
    product,
    raw,
    resolve,
    symbol,
)
from chainrule.diagnostics.render import Equation, Heading, Paragraph, Table
from chainrule.diagnostics.trace import Trace, trace

SMALL_PARAMETERS = 64
"""Networks with at most this many parameters get every gradient derived when no ``param`` is named."""
SMALL_WIDTH = 8
"""Layers with at most this many units and inputs are written unit by unit."""
SMALL_ARRAY = 64
"""Matrices with at most this many entries are printed in the matrix form; larger ones by shape."""
SMALL_BATCH = 8
"""Batches of at most this many samples get per-sample tables."""

L = symbol("L")


@dataclass(frozen=True)
class Factor:
    """One factor of a chain-rule product: the derivative, its symbolic form, and its value."""

    derivative: Math
    formula: Math | None
    value: float


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


# ---------------------------------------------------------------------- activations and losses

_ACTIVATION_FORMS = {
    "sigmoid": ("σ", "σ(z)(1 − σ(z)) = h(1 − h)"),
    "tanh": ("tanh", "1 − tanh²(z) = 1 − h²"),
    "relu": ("ReLU", "1 if z > 0, else 0"),
    "leakyrelu": ("LeakyReLU", "1 if z > 0, else the negative slope"),
    "linear": ("", "1 (linear: h = z)"),
}


def _activation_text(layer: Layer) -> str:
    name = layer.activation_name
    return "linear" if name == "linear" else name


def _derivative_parts(layer: Layer, unit: int, h: float, z: float, value: float, decimals: int) -> list[Math]:
    """∂hˡ_k/∂zˡ_k = symbolic form = (numbers) = value."""
    hs, zs = _h(layer.number, unit), _z(layer.number, unit)
    parts = [partial(hs, zs)]
    name = layer.activation_name
    hv = number(h, decimals, wrap=True)
    if name == "sigmoid":
        parts += [
            Math(
                f"σ({zs.text})(1 − σ({zs.text})) = {hs.text}(1 − {hs.text})",
                rf"\sigma({zs.latex})(1 - \sigma({zs.latex})) = {hs.latex}(1 - {hs.latex})",
                f"σ({zs.html})(1 − σ({zs.html})) = {hs.html}(1 − {hs.html})",
            ),
            hv + " × (1 − " + hv + ")",
        ]
    elif name == "tanh":
        parts += [
            Math(f"1 − {hs.text}²", f"1 - ({hs.latex})^2", f"1 − ({hs.html})<sup>2</sup>"),
            raw(f"1 − {hv.text}²", f"1 - {hv.latex}^2"),
        ]
    elif name == "linear":
        parts.append(raw("1 (linear: h = z)", r"1 \ (h = z)"))
        return parts
    elif name in ("relu", "leakyrelu"):
        condition = "> 0" if z > 0 else "≤ 0"
        parts.append(raw(f"[{zs.text} = {format_number(z, decimals)} {condition}]"))
    parts.append(number(value, decimals))
    return parts


def _loss_scale(trace: Trace) -> tuple[str, int]:
    """The loss's reduction and the count its mean divides by (samples or elements)."""
    loss_fn = trace.loss_fn
    reduction = getattr(loss_fn, "reduction", "mean")
    samples, elements = trace.output.shape[0], trace.output.size
    per_element = isinstance(loss_fn, (nn.MSELoss, nn.BCEWithLogitsLoss, nn.L1Loss, nn.HuberLoss))
    return reduction, (elements if per_element else samples) if reduction == "mean" else 1


def _loss_formula(trace: Trace) -> Math:
    """The loss as a formula of the outputs hᴸ and targets y."""
    last = len(trace.layers)
    hs, ys = _h(last, None), symbol("y")
    _, count = _loss_scale(trace)
    over = "" if count == 1 else f"(1/{count}) "
    over_latex = "" if count == 1 else rf"\frac{{1}}{{{count}}} "
    loss_fn = trace.loss_fn
    if isinstance(loss_fn, nn.HalfSquaredErrorLoss):
        return raw(f"{over}½ Σ_k (y_k − {hs.text}_k)²", rf"{over_latex}\frac{{1}}{{2}} \sum_k (y_k - h^{{{last}}}_k)^2")
    if isinstance(loss_fn, (nn.SumSquaredErrorLoss, nn.MSELoss)):
        return raw(f"{over}Σ_k ({hs.text}_k − y_k)²", rf"{over_latex}\sum_k (h^{{{last}}}_k - y_k)^2")
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        return raw(f"{over}−ln softmax({hs.text})_y", rf"{over_latex}-\ln \mathrm{{softmax}}(h^{{{last}}})_y")
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        return raw(
            f"{over}Σ_k −[y_k ln σ({hs.text}_k) + (1 − y_k) ln(1 − σ({hs.text}_k))]",
            rf"{over_latex}\sum_k -[y_k \ln\sigma(h^{{{last}}}_k) + (1 - y_k)\ln(1 - \sigma(h^{{{last}}}_k))]",
        )
    if isinstance(loss_fn, nn.L1Loss):
        return raw(f"{over}Σ_k |{hs.text}_k − y_k|", rf"{over_latex}\sum_k |h^{{{last}}}_k - y_k|")
    if isinstance(loss_fn, nn.HuberLoss):
        d = format_number(loss_fn.delta)
        return raw(
            f"{over}Σ_k H({hs.text}_k − y_k)   [H(r) = ½r² for |r| < {d}, else {d}(|r| − {d}/2)]",
            rf"{over_latex}\sum_k H(h^{{{last}}}_k - y_k) \quad \left[H(r) = \tfrac{{1}}{{2}} r^2"
            rf" \text{{ for }} |r| < {d}, \text{{ else }} {d}(|r| - {d}/2)\right]",
        )
    return raw(f"{type(loss_fn).__name__}({hs.text}, {ys.text})")


def _loss_derivative_parts(trace: Trace, unit: int, decimals: int) -> list[Math]:
    """∂L/∂hᴸ_k = symbolic form = (numbers) = value (one sample)."""
    last = len(trace.layers)
    hs, ys = _h(last, unit), _y(unit)
    h = float(trace.output.data[0, unit])
    value = float(trace.layers[-1].grad_h[0, unit])
    _, count = _loss_scale(trace)
    over = "" if count == 1 else f" / {count}"
    parts = [partial(L, hs)]
    loss_fn = trace.loss_fn
    if isinstance(loss_fn, nn.HalfSquaredErrorLoss):
        parts += [
            raw(
                f"−({ys.text} − {hs.text}){over}",
                f"-({ys.latex} - {hs.latex}){over}",
                f"−({ys.html} − {hs.html}){over}",
            )
        ]
        y = number(float(trace.y.data[0, unit]), decimals)
        parts.append(raw(f"−({y.text} − {number(h, decimals, wrap=True).text}){over}"))
    elif isinstance(loss_fn, (nn.SumSquaredErrorLoss, nn.MSELoss)):
        y = number(float(trace.y.data[0, unit]), decimals, wrap=True)
        parts += [
            raw(
                f"2({hs.text} − {ys.text}){over}",
                f"2({hs.latex} - {ys.latex}){over}",
                f"2({hs.html} − {ys.html}){over}",
            )
        ]
        parts.append(raw(f"2 × ({number(h, decimals, wrap=True).text} − {y.text}){over}"))
    elif isinstance(loss_fn, nn.CrossEntropyLoss):
        target = int(trace.y.data[0])
        parts.append(raw(f"softmax({_h(last).text})_{unit + 1} − [{unit + 1} = class {target + 1}]{over}"))
    elif isinstance(loss_fn, nn.BCEWithLogitsLoss):
        parts.append(raw(f"σ({hs.text}) − {ys.text}{over}", rf"\sigma({hs.latex}) - {ys.latex}{over}"))
    elif isinstance(loss_fn, nn.L1Loss):
        parts.append(
            raw(f"sign({hs.text} − {ys.text}){over}", rf"\operatorname{{sign}}({hs.latex} - {ys.latex}){over}")
        )
    elif isinstance(loss_fn, nn.HuberLoss):
        d = format_number(loss_fn.delta)
        parts.append(
            raw(
                f"clip({hs.text} − {ys.text}, −{d}, {d}){over}",
                rf"\operatorname{{clip}}({hs.latex} - {ys.latex}, -{d}, {d}){over}",
            )
        )
    parts.append(number(value, decimals))
    return parts


# ---------------------------------------------------------------------- the explanation


class Explanation:
    """The walk-through of one forward pass, backward pass and (optionally) gradient-descent step.

    Attributes
    ----------
    trace : Trace
        The engine's values (per-layer z, h and their gradients; the loss; the parameters' grads).
    param : ParamRef or None
        The named parameter (or element).
    value : float, ndarray or None
        ∂L/∂param as autograd computed it.
    chain : list of Factor
        For a named element and one sample: ∂L/∂hˡ_k, ∂hˡ_k/∂zˡ_k and ∂zˡ_k/∂param, whose product
        is ``value``.
    path : list of Factor or None
        The same gradient as one product along the only path from the loss (when every layer
        above has one unit, as in the seeds): ∂L/∂hᴸ₁ · ∂hᴸ₁/∂zᴸ₁ · ∂zᴸ₁/∂hᴸ⁻¹ · … · ∂zˡ_k/∂param.
    per_sample : list of float
        For a named element and a batch: ∂ℓ_n/∂param for each sample n (each from its own pass).
    updated : dict or None
        With ``lr``: every parameter after one step of ``optim.SGD`` (w ← w − η ∂L/∂w).
    loss_after : float or None
        With ``lr``: the loss after that step.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Any,
        x: Any,
        y: Any,
        param: str | None = None,
        lr: float | None = None,
        decimals: int = 4,
    ) -> None:
        self.trace = trace(model, loss_fn, x, y)
        self.decimals = decimals
        self.lr = lr
        self.layers = [layer_trace.layer for layer_trace in self.trace.layers]
        self.param: ParamRef | None = None if param is None else resolve(param, self.layers)
        self.samples = self.trace.x.shape[0]
        self.value = None if self.param is None else self._gradient(self.trace, self.param)
        self.chain: list[Factor] = []
        self.path: list[Factor] | None = None
        self.per_sample: list[float] = []
        self.sample_traces: list[Trace] = []
        if self.samples > 1:
            reduction = getattr(loss_fn, "reduction", "mean")
            if isinstance(loss_fn, nn.CrossEntropyLoss) and loss_fn.weight is not None:
                raise ValueError(
                    "explain: a batch with class-weighted CrossEntropyLoss is not a mean of per-sample losses; "
                    "explain one sample at a time or drop weight="
                )
            self.combine = "sum" if reduction == "sum" else "mean"
            self.sample_traces = [
                trace(model, loss_fn, self.trace.x.data[n : n + 1], self.trace.y.data[n : n + 1])
                for n in range(self.samples)
            ]
            if self.param is not None and self.param.index is not None:
                self.per_sample = [float(self._gradient(t, self.param)) for t in self.sample_traces]
        elif self.param is not None and self.param.index is not None:
            self.chain = self._chain(self.param)
            self.path = self._path(self.param)
        self.updated: dict[str, Any] | None = None
        self.loss_after: float | None = None
        if lr is not None:
            self._step(lr)
        self.blocks = self._blocks()

    # -------------------------------------------------------------- values
    @property
    def loss(self) -> float:
        """L before the step."""
        return float(self.trace.loss.item())

    @property
    def forward(self) -> list[tuple[Any, Any]]:
        """(zˡ, hˡ) arrays of each layer, one row per sample."""
        return [(t.z.data, t.h.data) for t in self.trace.layers]

    @property
    def gradients(self) -> dict[str, Any]:
        """``name → ∂L/∂parameter`` for every parameter, as autograd computed it."""
        return {name: p.grad for name, p in self.trace.model.named_parameters()}

    @staticmethod
    def _gradient(trace_: Trace, ref: ParamRef) -> Any:
        grad = trace_.gradient(ref.layer, ref.kind)
        return grad.copy() if ref.index is None else float(grad[ref.index])

    def _third_factor(self, ref: ParamRef, t: Trace, n: int = 0) -> Factor:
        """∂zˡ_k/∂wˡ_kj = hˡ⁻¹_j (x_j in layer 1), or ∂zˡ_k/∂bˡ_k = 1."""
        ell, k = ref.layer.number, ref.index[0]
        if ref.kind == "bias":
            return Factor(partial(_z(ell, k), ref.symbol), None, 1.0)
        j = ref.index[1]
        return Factor(partial(_z(ell, k), ref.symbol), _h(ell - 1, j), float(t.layers[ell - 1].inputs[n, j]))

    def _chain(self, ref: ParamRef) -> list[Factor]:
        ell, k = ref.layer.number, ref.index[0]
        lt = self.trace.layers[ell - 1]
        return [
            Factor(partial(L, _h(ell, k)), None, float(lt.grad_h[0, k])),
            Factor(partial(_h(ell, k), _z(ell, k)), None, float(lt.derivative[0, k])),
            self._third_factor(ref, self.trace),
        ]

    def _path(self, ref: ParamRef) -> list[Factor] | None:
        ell, k = ref.layer.number, ref.index[0]
        top = len(self.layers)
        if ell == top or any(layer.units != 1 for layer in self.layers[ell:]):
            return None
        last = self.trace.layers[-1]
        factors = [
            Factor(partial(L, _h(top, 0)), None, float(last.grad_h[0, 0])),
            Factor(partial(_h(top, 0), _z(top, 0)), None, float(last.derivative[0, 0])),
        ]
        for m in range(top, ell, -1):
            below = k if m - 1 == ell else 0
            weight = float(self.layers[m - 1].linear.weight.data[0, below])
            factors.append(Factor(partial(_z(m, 0), _h(m - 1, below)), _w(m, 0, below), weight))
            derivative = float(self.trace.layers[m - 2].derivative[0, below])
            factors.append(Factor(partial(_h(m - 1, below), _z(m - 1, below)), None, derivative))
        factors.append(self._third_factor(ref, self.trace))
        return factors

    def _step(self, lr: float) -> None:
        """One ``optim.SGD`` step on the traced copy (its ``.grad`` are the gradients shown), then L again."""
        model = self.trace.model
        before = {name: p.data.copy() for name, p in model.named_parameters()}
        with backend.xp.errstate(over="ignore", invalid="ignore"):  # a step out of range is refused below
            optim.SGD(model.parameters(), lr=lr).step()
            self.updated = {name: p.data.copy() for name, p in model.named_parameters()}
            with no_grad():
                self.loss_after = float(self.trace.loss_fn(model(self.trace.x), self.trace.y).item())
        for name, p in model.named_parameters():
            p.data = before[name]
        if not (math.isfinite(self.loss_after) and all(backend.xp.isfinite(a).all() for a in self.updated.values())):
            raise ValueError(
                f"explain: one step with lr={lr:g} takes the weights or the loss out of range (loss after the step: "
                f"{self.loss_after:g}); take a smaller lr"
            )

    # -------------------------------------------------------------- blocks
    def _n(self, value: float, wrap: bool = False) -> Math:
        return number(value, self.decimals, wrap)

    def _small(self) -> bool:
        return sum(p.size for p in self.trace.model.parameters()) <= SMALL_PARAMETERS

    def _blocks(self) -> list[render.Block]:
        blocks: list[render.Block] = [Heading("Chain-rule walk-through", 1)]
        blocks += self._network_blocks()
        if self.samples == 1:
            blocks += self._forward_blocks()
            if all(max(t.layer.units, t.layer.linear.in_features) <= SMALL_WIDTH for t in self.trace.layers):
                blocks += self._backward_blocks()
            blocks += self._gradient_blocks()
        else:
            blocks += self._batch_blocks()
        blocks += self._matrix_blocks()
        if self.lr is not None:
            blocks += self._update_blocks()
        return blocks

    def _network_blocks(self) -> list[render.Block]:
        widths = [f"{self.layers[0].linear.in_features} inputs"]
        widths += [
            f"layer {layer.number}: {layer.units} {_activation_text(layer)} unit{'s' if layer.units > 1 else ''}"
            for layer in self.layers
        ]
        return [
            Paragraph("Network: " + " → ".join(widths)),
            Paragraph(f"Loss: {type(self.trace.loss_fn).__name__}, L = {_loss_formula(self.trace).text}"),
            Paragraph(
                "Layer l computes zˡ = Wˡ hˡ⁻¹ + bˡ and hˡ = f(zˡ), with h⁰ = x; wˡ_kj is "
                "weight[k−1, j−1] of the l-th Linear (from unit j of layer l−1 to unit k of layer l)."
            ),
        ]

    def _forward_blocks(self) -> list[render.Block]:
        blocks: list[render.Block] = [Heading("Forward pass")]
        x, y = self.trace.x.data[0], self.trace.y.data[0]
        blocks.append(Equation([symbol("x"), array(x, self.decimals)]))
        blocks.append(Equation([symbol("y"), array(y, self.decimals)]))
        for lt in self.trace.layers:
            layer, ell = lt.layer, lt.layer.number
            if max(layer.units, layer.linear.in_features) > SMALL_WIDTH:
                blocks.append(
                    Equation([_z(ell), raw(f"W{ell} {_h(ell - 1).text} + b{ell}"), self._vector(lt.z.data[0])])
                )
                blocks.append(Equation([_h(ell), raw(f"f({_z(ell).text})"), self._vector(lt.h.data[0])]))
                continue
            weight = layer.linear.weight.data
            bias = layer.linear.bias
            for k in range(layer.units):
                terms = [_w(ell, k, j) + " " + _h(ell - 1, j) for j in range(layer.linear.in_features)]
                values = [
                    product([self._n(weight[k, j], True), self._n(lt.inputs[0, j], True)])
                    for j in range(layer.linear.in_features)
                ]
                if bias is not None:
                    terms.append(_b(ell, k))
                    values.append(self._n(bias.data[k], True))
                blocks.append(Equation([_z(ell, k), join(terms, " + "), join(values, " + "), self._n(lt.z.data[0, k])]))
                name = layer.activation_name
                if name == "linear":
                    blocks.append(Equation([_h(ell, k), _z(ell, k), self._n(lt.h.data[0, k])], "linear"))
                else:
                    symbol_ = _ACTIVATION_FORMS[name][0]
                    blocks.append(
                        Equation(
                            [
                                _h(ell, k),
                                raw(
                                    f"{symbol_}({_z(ell, k).text})",
                                    rf"\mathrm{{{symbol_}}}({_z(ell, k).latex})"
                                    if name != "sigmoid"
                                    else rf"\sigma({_z(ell, k).latex})",
                                ),
                                self._n(lt.h.data[0, k]),
                            ]
                        )
                    )
        blocks.append(Equation([L, _loss_formula(self.trace), *self._loss_substitution(), self._n(self.loss)]))
        return blocks

    def _loss_substitution(self) -> list[Math]:
        """The squared-error losses of one sample written out with the numbers (empty for other losses)."""
        loss_fn, last = self.trace.loss_fn, len(self.layers)
        units = range(self.layers[-1].units)
        if len(units) > SMALL_WIDTH or not isinstance(
            loss_fn, (nn.HalfSquaredErrorLoss, nn.SumSquaredErrorLoss, nn.MSELoss)
        ):
            return []
        h, y = self.trace.output.data[0], self.trace.y.data[0]
        _, count = _loss_scale(self.trace)
        half = "½ " if isinstance(loss_fn, nn.HalfSquaredErrorLoss) else ""
        half_latex = r"\frac{1}{2} " if half else ""
        over, over_latex = ("", "") if count == 1 else (f"(1/{count}) ", rf"\frac{{1}}{{{count}}} ")
        y_first = bool(half)  # the seeds write ½(y − h)²; MSELoss is mean((h − y)²)

        def square(a: Math, b: Math) -> Math:
            return Math(f"({a.text} − {b.text})²", f"({a.latex} - {b.latex})^2", f"({a.html} − {b.html})<sup>2</sup>")

        def ordered(output: Any, target: Any) -> tuple[Any, Any]:
            return (target, output) if y_first else (output, target)

        symbols = join([square(*ordered(_h(last, k), _y(k))) for k in units], " + ")
        values = []
        for k in units:
            a, b = ordered(h[k], y[k])
            values.append(square(self._n(a), self._n(b, True)))
        prefix = Math(over + half, over_latex + half_latex, over + half)
        return [prefix + symbols, prefix + join(values, " + ")]

    def _vector(self, values: Any) -> Math:
        return array(values, self.decimals) if values.size <= SMALL_ARRAY else raw(f"({values.size} values)")

    def _backward_blocks(self) -> list[render.Block]:
        blocks: list[render.Block] = [Heading("Backward pass: the errors δˡ_k = ∂L/∂zˡ_k")]
        top = len(self.layers)
        for lt in reversed(self.trace.layers):
            layer, ell = lt.layer, lt.layer.number
            for k in range(layer.units):
                if ell == top:
                    blocks.append(Equation(_loss_derivative_parts(self.trace, k, self.decimals)))
                else:
                    above = self.trace.layers[ell]
                    units = range(above.layer.units)
                    weight = above.layer.linear.weight.data
                    blocks.append(
                        Equation(
                            [
                                partial(L, _h(ell, k)),
                                raw(
                                    f"Σ_m δ{_sup(ell + 1)}_m w{_sup(ell + 1)}_m{k + 1}",
                                    rf"\sum_m \delta^{{{ell + 1}}}_m w^{{{ell + 1}}}_{{m{k + 1}}}",
                                ),
                                join([symbol("δ", ell + 1, (m + 1,)) + " " + _w(ell + 1, m, k) for m in units], " + "),
                                join(
                                    [
                                        self._n(above.delta[0, m], True) + " × " + self._n(weight[m, k], True)
                                        for m in units
                                    ],
                                    " + ",
                                ),
                                self._n(lt.grad_h[0, k]),
                            ]
                        )
                    )
                blocks.append(
                    Equation(
                        _derivative_parts(
                            layer,
                            k,
                            float(lt.h.data[0, k]),
                            float(lt.z.data[0, k]),
                            float(lt.derivative[0, k]),
                            self.decimals,
                        )
                    )
                )
                blocks.append(
                    Equation(
                        [
                            symbol("δ", ell, (k + 1,)),
                            product([partial(L, _h(ell, k)), partial(_h(ell, k), _z(ell, k))], "·"),
                            product([self._n(lt.grad_h[0, k], True), self._n(lt.derivative[0, k], True)]),
                            self._n(lt.delta[0, k]),
                        ]
                    )
                )
        return blocks

    def _element_blocks(
        self, ref: ParamRef, chain: list[Factor], path: list[Factor] | None, value: float
    ) -> list[render.Block]:
        blocks: list[render.Block] = [
            Paragraph(f"{partial(L, ref.symbol).text}   ({ref.name}, seed name {ref.seed_name})")
        ]
        third = chain[-1]
        blocks.append(
            Equation([third.derivative, *([third.formula] if third.formula else []), self._n(third.value)], indent=1)
        )
        for factors, note in ((chain, ""), (path, "one path from L")):
            if factors is not None:
                blocks.append(self._chain_equation(ref, factors, value, note))
        if self.updated is not None:
            blocks.append(self._update_equation(ref, value))
        return blocks

    def _chain_equation(self, ref: ParamRef, factors: list[Factor], value: float, note: str) -> Equation:
        """∂L/∂param = factor · factor · … = number × number × … = value."""
        terms = [
            partial(L, ref.symbol),
            product([f.derivative for f in factors], "·"),
            product([self._n(f.value, True) for f in factors]),
            self._n(value),
        ]
        return Equation(terms, note, indent=1)

    def _update_equation(self, ref: ParamRef, value: float) -> Equation:
        old = float(ref.parameter.data[ref.index])
        new = float(self.updated[ref.tensor_name][ref.index])
        return Equation(
            [
                raw(
                    f"{ref.symbol.text} ← {ref.symbol.text} − η {partial(L, ref.symbol).text}",
                    rf"{ref.symbol.latex} \leftarrow {ref.symbol.latex} - \eta {partial(L, ref.symbol).latex}",
                ),
                raw(
                    f"{self._n(old).text} − {self._n(self.lr).text} × {self._n(value, True).text}",
                    rf"{self._n(old).latex} - {self._n(self.lr).latex} \times {self._n(value, True).latex}",
                ),
                self._n(new),
            ],
            indent=1,
        )

    def _refs(self) -> list[ParamRef]:
        if self.param is not None:
            return (
                [self.param]
                if self.param.index is not None
                else [ParamRef(self.param.layer, self.param.kind, i) for i in _indices(self.param)]
            )
        if not self._small():
            return []
        order = {
            (ref.layer.number, ref.index[0], ref.kind == "bias", ref.index[1:]): ref for ref in all_names(self.layers)
        }
        return [order[key] for key in sorted(order, key=lambda key: (-key[0], *key[1:]))]

    def _gradient_blocks(self) -> list[render.Block]:
        blocks: list[render.Block] = [Heading("Gradients, by the chain rule")]
        refs = self._refs()
        if not refs:
            return [*blocks, Paragraph("Name a parameter (param='0.weight[0, 0]' or 'w1_11') for its derivation.")]
        for ref in refs:
            chain = self.chain if ref == self.param else self._chain(ref)
            path = self.path if ref == self.param else self._path(ref)
            blocks += self._element_blocks(ref, chain, path, self._gradient(self.trace, ref))
        return blocks

    def _batch_blocks(self) -> list[render.Block]:
        n_samples = self.samples
        blocks: list[render.Block] = [Heading(f"Forward pass: a batch of {n_samples} samples")]
        shown = self.sample_traces[:SMALL_BATCH]
        blocks.append(
            Table(
                ["n", "x", "y", _h(len(self.layers)).text, "ℓ_n"],
                [
                    [
                        str(n + 1),
                        self._vector(t.x.data[0]),
                        array(t.y.data[0], self.decimals),
                        self._vector(t.output.data[0]),
                        self._n(t.loss.item()),
                    ]
                    for n, t in enumerate(shown)
                ],
            )
        )
        losses = [t.loss.item() for t in self.sample_traces]
        blocks.append(Equation([L, self._combination("ℓ_n", losses), self._n(self.loss)]))
        refs = self._refs() if n_samples <= SMALL_BATCH else ([self.param] if self.param and self.param.index else [])
        blocks.append(Heading(f"Gradients: per sample, then their {self.combine} (seed 002)"))
        for ref in refs:
            per_sample = (
                self.per_sample if ref == self.param else [float(self._gradient(t, ref)) for t in self.sample_traces]
            )
            rows = []
            for n, t in enumerate(shown):
                lt = t.layers[ref.layer.number - 1]
                k = ref.index[0]
                third = self._third_factor(ref, t)
                rows.append(
                    [
                        str(n + 1),
                        self._n(lt.grad_h[0, k]),
                        self._n(lt.derivative[0, k]),
                        self._n(third.value),
                        self._n(per_sample[n]),
                    ]
                )
            ell, k = ref.layer.number, ref.index[0]
            blocks.append(Paragraph(f"{partial(L, ref.symbol).text}   ({ref.name}, seed name {ref.seed_name})"))
            blocks.append(
                Table(
                    [
                        "n",
                        partial(symbol("ℓ_n"), _h(ell, k)).text,
                        partial(_h(ell, k), _z(ell, k)).text,
                        partial(_z(ell, k), ref.symbol).text,
                        partial(symbol("ℓ_n"), ref.symbol).text,
                    ],
                    rows,
                )
            )
            value = self._gradient(self.trace, ref)
            blocks.append(
                Equation(
                    [partial(L, ref.symbol), self._combination(f"∂ℓ_n/∂{ref.symbol.text}", per_sample), self._n(value)],
                    indent=1,
                )
            )
            if self.updated is not None:
                blocks.append(self._update_equation(ref, value))
        return blocks

    def _combination(self, term: str, values: list[float]) -> Math:
        total = join(
            [self._n(v, True) for v in values[:SMALL_BATCH]] + (["…"] if len(values) > SMALL_BATCH else []), " + "
        )
        count = len(values)
        if self.combine == "mean":
            return raw(f"(1/{count}) Σ_n {term}") + " = (" + total + f") / {count}"
        return raw(f"Σ_n {term}") + " = " + total

    def _matrix_blocks(self) -> list[render.Block]:
        blocks: list[render.Block] = [Heading("Matrix form")]
        one = self.samples == 1
        blocks.append(
            Paragraph(
                "δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),  δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ),  ∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ,  ∂L/∂bˡ = δˡ"
                if one
                else "Rows are samples: Δᴸ = ∂L/∂Hᴸ ⊙ f′(Zᴸ),  Δˡ = (Δˡ⁺¹ Wˡ⁺¹) ⊙ f′(Zˡ),  "
                "∂L/∂Wˡ = (Δˡ)ᵀ Hˡ⁻¹,  ∂L/∂bˡ = Σ_n Δˡ_n"
            )
        )
        top = len(self.layers)

        def show(values: Any) -> Math:
            values = values[0] if one else values
            return (
                array(values, self.decimals)
                if values.size <= SMALL_ARRAY
                else raw(f"(shape {'×'.join(map(str, values.shape))})")
            )

        for lt in reversed(self.trace.layers):
            ell = lt.layer.number
            d = symbol("δ" if one else "Δ", ell)
            fprime = raw(f"f′({_z(ell).text})", rf"f'({_z(ell).latex})")
            if ell != top:
                back = f"(W{_sup(ell + 1)})ᵀ δ{_sup(ell + 1)}" if one else f"Δ{_sup(ell + 1)} W{_sup(ell + 1)}"
                blocks.append(Equation([partial(L, _h(ell)), raw(back), show(lt.grad_h)]))
            blocks.append(
                Equation(
                    [
                        d,
                        raw(
                            f"{partial(L, _h(ell)).text} ⊙ {fprime.text}",
                            rf"{partial(L, _h(ell)).latex} \odot {fprime.latex}",
                        ),
                        raw(
                            f"{show(lt.grad_h).text} ⊙ {show(lt.derivative).text}",
                            rf"{show(lt.grad_h).latex} \odot {show(lt.derivative).latex}",
                        ),
                        show(lt.delta),
                    ]
                )
            )
            grad_w = lt.layer.linear.weight.grad
            previous = _h(ell - 1) if ell > 1 else symbol("x")
            form = (
                f"δ{_sup(ell)} ({previous.text})ᵀ"
                if one
                else f"(Δ{_sup(ell)})ᵀ {'X' if ell == 1 else 'H' + _sup(ell - 1)}"
            )
            blocks.append(
                Equation(
                    [
                        partial(L, symbol("W", ell)),
                        raw(form),
                        array(grad_w, self.decimals)
                        if grad_w.size <= SMALL_ARRAY
                        else raw(f"(shape {grad_w.shape[0]}×{grad_w.shape[1]})"),
                    ]
                )
            )
            if lt.layer.linear.bias is not None:
                grad_b = lt.layer.linear.bias.grad
                blocks.append(
                    Equation(
                        [
                            partial(L, symbol("b", ell)),
                            raw(f"δ{_sup(ell)}" if one else f"Σ_n Δ{_sup(ell)}_n"),
                            self._vector(grad_b),
                        ]
                    )
                )
        return blocks

    def _update_blocks(self) -> list[render.Block]:
        blocks: list[render.Block] = [
            Heading(f"One gradient-descent step, η = {format_number(self.lr, self.decimals)}")
        ]
        blocks.append(Paragraph("w ← w − η ∂L/∂w for every weight and bias (optim.SGD)."))
        rows = [
            [name, array(p.data, self.decimals), array(self.updated[name], self.decimals)]
            for name, p in self.trace.model.named_parameters()
            if p.size <= SMALL_ARRAY
        ]
        blocks.append(Table(["parameter", "before", "after the step"], rows))
        blocks.append(
            Equation(
                [raw("L after the step"), self._n(self.loss_after)],
                f"before: {format_number(self.loss, self.decimals)}",
            )
        )
        return blocks

    # -------------------------------------------------------------- renderings
    def __str__(self) -> str:
        return render.to_text(self.blocks)

    def to_text(self) -> str:
        """The terminal rendering (same as ``str``)."""
        return render.to_text(self.blocks)

    def to_markdown(self) -> str:
        """Markdown with LaTeX maths."""
        return render.to_markdown(self.blocks)

    def _repr_html_(self) -> str:
        return render.to_html(self.blocks)

    def __repr__(self) -> str:
        target = (
            ""
            if self.param is None
            else f", ∂L/∂{self.param.name} = {self.value if self.param.index is None else format_number(self.value, 6)}"
        )
        return f"<Explanation loss={format_number(self.loss, 6)}{target}>"


def _sup(n: int) -> str:
    return symbol("", n).text


def _indices(ref: ParamRef) -> list[tuple[int, ...]]:
    shape = ref.parameter.shape
    return (
        [(k, j) for k in range(shape[0]) for j in range(shape[1])]
        if len(shape) == 2
        else [(k,) for k in range(shape[0])]
    )


def explain(
    model: nn.Module, loss_fn: Any, x: Any, y: Any, param: str | None = None, lr: float | None = None, decimals: int = 4
) -> Explanation:
    """The chain-rule walk-through of ``loss_fn(model(x), y)``: forward pass, backward pass, gradients, step.

    Parameters
    ----------
    model : Sequential
        ``Linear`` layers, each followed by at most one element-wise activation; layer l is the
        l-th ``Linear``.  It is copied, never changed, and its ``.grad`` are left alone.
    loss_fn : callable
        A loss module (``HalfSquaredErrorLoss``, ``MSELoss``, ``SumSquaredErrorLoss``,
        ``CrossEntropyLoss``, ``BCEWithLogitsLoss`` are written out symbolically; any other gives
        its value from autograd) with ``reduction`` ``"mean"`` or ``"sum"``.
    x, y : array_like or Tensor
        One sample (a vector) or a batch (one row per sample).
    param : str, optional
        ``"0.weight[1,0]"``, ``"w1_21"`` (w¹₂₁), ``"b2_1"``, or a whole tensor (``"0.weight"``,
        ``"W1"``).  Without it, every gradient of a small network (≤ 64 parameters) is derived.
    lr : float, optional
        The learning rate η: adds the update w ← w − η ∂L/∂w and the loss after the step.
    decimals : int
        Decimals shown.

    Returns
    -------
    Explanation
        ``str()`` for the terminal, ``.to_markdown()``, ``._repr_html_()``; ``.value`` is ∂L/∂param.

    Examples
    --------
    >>> e = chainrule.explain(model, nn.HalfSquaredErrorLoss(), [-0.32, -0.66], [-0.54], param="w2_11", lr=0.2)
    >>> round(e.value, 4)
    0.5666
    """
    if lr is not None and not (isinstance(lr, (int, float)) and lr > 0 and math.isfinite(lr)):
        raise ValueError(f"explain: the learning rate must be a positive number, got lr={lr!r}")
    return Explanation(model, loss_fn, x, y, param=param, lr=lr, decimals=decimals)
