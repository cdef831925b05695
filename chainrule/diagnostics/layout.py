"""A :class:`~chainrule.diagnostics.step.Derivation` laid out as a walk-through: the list of
blocks (headings, paragraphs, equations, tables) that :mod:`~chainrule.diagnostics.render` turns
into terminal text, Markdown with LaTeX or HTML.

Nothing is computed here: every formula and number comes from the derivation; this module only
decides the order and the words around them.
"""

from __future__ import annotations

from chainrule.diagnostics.derivation import ParameterDerivation
from chainrule.diagnostics.factors import SMALL_BATCH, L, h_symbol, loss_formula
from chainrule.diagnostics.notation import array, format_number, number, partial, raw, symbol
from chainrule.diagnostics.render import Block, Equation, Heading, Paragraph, Table
from chainrule.diagnostics.step import Derivation


def blocks(derivation: Derivation) -> list[Block]:
    """The walk-through: network, forward pass, backward pass, gradients (or the batch's
    per-sample gradients), matrix form, and the update with the loss after it."""
    out: list[Block] = [Heading("Chain-rule walk-through", 1), *network_blocks(derivation)]
    if derivation.trace.samples == 1:
        out += forward_blocks(derivation)
        if derivation.backward is not None:
            out += backward_blocks(derivation)
        out += gradient_blocks(derivation)
    else:
        out += batch_blocks(derivation)
    out += matrix_blocks(derivation)
    if derivation.updated is not None:
        out += update_blocks(derivation)
    return out


def network_blocks(derivation: Derivation) -> list[Block]:
    """The architecture, the loss and the notation."""
    layers = derivation.layers
    widths = [f"{layers[0].linear.in_features} inputs"]
    widths += [
        f"layer {layer.number}: {layer.units} {layer.activation_name} unit{'s' if layer.units > 1 else ''}"
        for layer in layers
    ]
    t = derivation.trace
    return [
        Paragraph("Network: " + " → ".join(widths)),
        Paragraph(f"Loss: {type(t.loss_fn).__name__}, L = {loss_formula(t).text}"),
        Paragraph(
            "Layer l computes zˡ = Wˡ hˡ⁻¹ + bˡ and hˡ = f(zˡ), with h⁰ = x; wˡ_kj is "
            "weight[k−1, j−1] of the l-th Linear (from unit j of layer l−1 to unit k of layer l)."
        ),
    ]


def forward_blocks(derivation: Derivation) -> list[Block]:
    """One sample: x, y, then zˡ_k and hˡ_k unit by unit (or as vectors for wide layers), then L."""
    d, t = derivation.decimals, derivation.trace
    out: list[Block] = [Heading("Forward pass")]
    out.append(Equation([symbol("x"), array(t.x.data[0], d)]))
    out.append(Equation([symbol("y"), array(t.y.data[0], d)]))
    for layer in derivation.forward or []:
        pairs = [layer.vectors] if layer.vectors is not None else layer.units
        for z, h in pairs:
            out.append(Equation(z.parts(d), z.note))
            out.append(Equation(h.parts(d), h.note))
    out.append(Equation(derivation.loss_equation.parts(d)))
    return out


def backward_blocks(derivation: Derivation) -> list[Block]:
    """One sample: ∂L/∂hˡ_k, ∂hˡ_k/∂zˡ_k and δˡ_k for every unit, top layer first."""
    d = derivation.decimals
    out: list[Block] = [Heading("Backward pass: the errors δˡ_k = ∂L/∂zˡ_k")]
    for unit in derivation.backward or []:
        out += [Equation(unit.grad_h.parts(d)), Equation(unit.derivative.parts(d)), Equation(unit.delta.parts(d))]
    return out


def _title(p: ParameterDerivation) -> Paragraph:
    return Paragraph(f"{partial(L, p.ref.symbol).text}   ({p.ref.name}, seed name {p.ref.seed_name})")


def _chosen(derivation: Derivation) -> list[Block]:
    return [] if derivation.chosen is None else [Paragraph(derivation.chosen)]


def gradient_blocks(derivation: Derivation) -> list[Block]:
    """One sample: each derived element's ∂z/∂θ, its chain-rule product (and the one path from L
    where there is one) and its update."""
    d = derivation.decimals
    out: list[Block] = [Heading("Gradients, by the chain rule"), *_chosen(derivation)]
    for p in derivation.parameters:
        out.append(_title(p))
        out.append(Equation(p.third.parts(d), indent=1))
        out.append(Equation(p.product_equation(p.chain), indent=1))
        if p.path is not None:
            out.append(Equation(p.product_equation(p.path), "one path from L", indent=1))
        if p.update is not None:
            out.append(Equation(list(p.update.equation), indent=1))
    return out


def batch_blocks(derivation: Derivation) -> list[Block]:
    """A batch: each sample's input, target, output and loss, L as their mean or sum, then each
    derived element's per-sample terms and their mean or sum (seed 002)."""
    d, t = derivation.decimals, derivation.trace
    out: list[Block] = [Heading(f"Forward pass: a batch of {t.samples} samples")]
    shown = range(min(t.samples, SMALL_BATCH))
    losses = derivation.sample_losses or []
    y = t.y.data
    out.append(
        Table(
            ["n", "x", "y", h_symbol(len(derivation.layers)).text, "ℓ_n"],
            [
                [str(n + 1), array(t.x.data[n], d), array(y[n], d), array(t.output.data[n], d), number(losses[n], d)]
                for n in shown
            ],
        )
    )
    if t.samples > SMALL_BATCH:
        out.append(Paragraph(f"(the first {SMALL_BATCH} of {t.samples} samples)"))
    out.append(Equation([L, *derivation.loss_combination(), number(derivation.loss, d)]))
    out.append(Heading(f"Gradients: per sample, then their {derivation.combine} (seed 002)"))
    out += _chosen(derivation)
    for p in derivation.parameters:
        terms = p.samples
        rows = [
            [
                str(n + 1),
                number(terms.grad_h[n], d),
                number(terms.derivative[n], d),
                number(terms.inputs[n], d),
                number(terms.gradients[n], d),
            ]
            for n in shown
        ]
        out.append(_title(p))
        out.append(Table(["n", *(s.text for s in terms.symbols)], rows))
        out.append(Equation(list(terms.equation), indent=1))
        if p.update is not None:
            out.append(Equation(list(p.update.equation), indent=1))
    return out


def matrix_blocks(derivation: Derivation) -> list[Block]:
    """The same backward pass in matrix form, layer by layer from the top."""
    d = derivation.decimals
    one = derivation.trace.samples == 1
    out: list[Block] = [
        Heading("Matrix form"),
        Paragraph(
            "δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),  δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ f′(zˡ),  ∂L/∂Wˡ = δˡ (hˡ⁻¹)ᵀ,  ∂L/∂bˡ = δˡ"
            if one
            else "Rows are samples: Δᴸ = ∂L/∂Hᴸ ⊙ f′(Zᴸ),  Δˡ = (Δˡ⁺¹ Wˡ⁺¹) ⊙ f′(Zˡ),  "
            "∂L/∂Wˡ = (Δˡ)ᵀ Hˡ⁻¹,  ∂L/∂bˡ = Σ_n Δˡ_n"
        ),
    ]
    for layer in derivation.matrix:
        if layer.grad_h is not None:
            out.append(Equation(layer.grad_h.parts(d)))
        out.append(Equation(layer.delta.parts(d)))
        out.append(Equation(layer.grad_weight.parts(d)))
        if layer.grad_bias is not None:
            out.append(Equation(layer.grad_bias.parts(d)))
    return out


def update_blocks(derivation: Derivation) -> list[Block]:
    """Every parameter before and after the step (all of them), and the loss after it."""
    d = derivation.decimals
    out: list[Block] = [Heading(f"One gradient-descent step, η = {format_number(derivation.lr, d)}")]
    out.append(Paragraph("w ← w − η ∂L/∂w for every weight and bias (optim.SGD)."))
    rows = [
        [name, array(p.data, d), array(derivation.updated[name], d)]
        for name, p in derivation.trace.model.named_parameters()
    ]
    out.append(Table(["parameter", "before", "after the step"], rows))
    out.append(
        Equation(
            [raw("L after the step"), number(derivation.loss_after, d)], f"before: {format_number(derivation.loss, d)}"
        )
    )
    return out
