"""The derivation of a whole gradient-descent step: the forward pass unit by unit, the loss, the
backward pass, every derived parameter (or the one with the largest gradient), the matrix form and
the update with the loss after it — what ``chainrule.explain`` lays out.  Its JSON form
(:meth:`Derivation.to_dict`) is documented with the one parameter's in
:mod:`chainrule.diagnostics.derivation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from chainrule import backend, optim
from chainrule.autograd import no_grad
from chainrule.diagnostics.derivation import (
    SCHEMA,
    VERSION,
    check_batch,
    check_lr,
    parameter_derivation,
)
from chainrule.diagnostics.factors import (
    SMALL_BATCH,
    SMALL_WIDTH,
    Factor,
    L,
    activation_factor,
    b_symbol,
    backprop_factor,
    combination,
    delta_factor,
    h_symbol,
    loss_divisor,
    loss_entry,
    loss_factor,
    loss_formula,
    loss_substitution,
    option_values,
    plain,
    superscript,
    w_symbol,
    z_symbol,
)
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
from chainrule.diagnostics.trace import Trace, working_copy

SMALL_PARAMETERS = 64
"""Networks with at most this many parameters get every gradient derived when no ``param`` is named."""


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
                z = Factor(z_symbol(ell), (raw(f"W{ell} {h_symbol(ell - 1).text}{bias}"),), lt.z.data[0])
                h = Factor(h_symbol(ell), (raw(f"f({z_symbol(ell).text})"),), lt.h.data[0])
                out.append(ForwardLayer(ell, [], (z, h)))
                continue
            weight, bias = lt.weight.data, lt.bias
            units = []
            for k in range(layer.units):
                terms = [w_symbol(ell, k, j) + " " + h_symbol(ell - 1, j) for j in range(layer.linear.in_features)]
                values = [
                    product([number(weight[k, j], d, True), number(lt.inputs[0, j], d, True)])
                    for j in range(layer.linear.in_features)
                ]
                if bias is not None:
                    terms.append(b_symbol(ell, k))
                    values.append(number(bias.data[k], d, True))
                z = Factor(z_symbol(ell, k), (join(terms, " + "), join(values, " + ")), float(lt.z.data[0, k]))
                call = fill(entry.call, {"z": z_symbol(ell, k)})
                h = Factor(h_symbol(ell, k), (call,), float(lt.h.data[0, k]), note=entry.note)
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
                above = superscript(ell + 1)
                back = f"(W{above})ᵀ δ{above}" if one else f"Δ{above} W{above}"
                grad_h = Factor(partial(L, h_symbol(ell)), (raw(back),), rows(lt.grad_h))
            fprime = raw(f"f′({z_symbol(ell).text})", rf"f'({z_symbol(ell).latex})")
            delta = Factor(
                symbol("δ" if one else "Δ", ell),
                (
                    raw(
                        f"{partial(L, h_symbol(ell)).text} ⊙ {fprime.text}",
                        rf"{partial(L, h_symbol(ell)).latex} \odot {fprime.latex}",
                    ),
                    join([array(rows(lt.grad_h), self.decimals), array(rows(lt.derivative), self.decimals)], " ⊙ ",
                         r" \odot ", " ⊙ "),
                ),
                rows(lt.delta),
            )  # fmt: skip
            previous = h_symbol(ell - 1) if ell > 1 else symbol("x")
            form = (
                f"δ{superscript(ell)} ({previous.text})ᵀ"
                if one
                else f"(Δ{superscript(ell)})ᵀ {'X' if ell == 1 else 'H' + superscript(ell - 1)}"
            )
            grad_weight = Factor(partial(L, symbol("W", ell)), (raw(form),), lt.weight_grad)
            grad_bias = None
            if lt.bias is not None:
                grad_bias = Factor(
                    partial(L, symbol("b", ell)),
                    (raw(f"δ{superscript(ell)}" if one else f"Σ_n Δ{superscript(ell)}_n"),),
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
            values = option_values(options, d)
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
