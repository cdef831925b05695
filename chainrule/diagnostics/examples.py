"""The worked examples the CLI can explain: seed 001's house-price network, and where its text slips.

Seed 001 (``/work/shared/seeds/001_1eeb1411025d16b8.txt``) predicts a house price from
(size, rooms) with a 2-2-1 network: sigmoid hidden layer, linear output,
L = ½(y − h²₁)², one step of gradient descent with η = 0.2.  :data:`HOUSE_PRICE_CLAIMS` lists
the numbers its text prints; :func:`house_price_slips` compares each with the engine's value, so
the list of slips is computed, not asserted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chainrule import nn
from chainrule.diagnostics.notation import all_names, format_number
from chainrule.diagnostics.render import Heading, Paragraph, Table
from chainrule.diagnostics.walkthrough import Explanation, explain

HOUSE_PRICE_LR = 0.2
"""η of seed 001."""


def house_price() -> tuple[nn.Sequential, nn.HalfSquaredErrorLoss, list[float], list[float]]:
    """Seed 001's network (float64), loss, input (size, rooms) and target price.

    W¹ = [[0.2, 0.15], [0.5, 0.6]], b¹ = [0.1, 0.25], W² = [[0.3, 0.2]], b² = [0.4],
    x = [−0.32, −0.66], y = [−0.54].
    """
    model = nn.Sequential(nn.Linear(2, 2, dtype="float64"), nn.Sigmoid(), nn.Linear(2, 1, dtype="float64"))
    model[0].weight.data[...] = [[0.2, 0.15], [0.5, 0.6]]
    model[0].bias.data[...] = [0.1, 0.25]
    model[2].weight.data[...] = [[0.3, 0.2]]
    model[2].bias.data[...] = [0.4]
    return model, nn.HalfSquaredErrorLoss(), [-0.32, -0.66], [-0.54]


@dataclass(frozen=True)
class Claim:
    """A number the seed's text prints: where (``quote``), which quantity (``key``), and the value printed."""

    quote: str
    key: str
    printed: float
    comment: str = ""


HOUSE_PRICE_CLAIMS = (
    Claim("∂L/∂h21 = −(−0.54 − 0.63) = 1.17", "dL/dh2_1", 1.17),
    Claim("∂z21/∂h21 = (h11) = 0.484", "h1_1", 0.484, "the derivative is ∂z²₁/∂w²₁₁ = h¹₁"),
    Claim("∂L/∂w211 = 1.17∗1∗0.484 = 0.5663", "dL/dw2_11", 0.5663, "the product of the rounded factors"),
    Claim("w211(updated) = 0.3 − (0.2∗0.5663) = 0.1867", "w2_11 updated", 0.1867),
    Claim("∂z21/∂w212 = (h21) = 0.424", "h1_2", 0.424, "h21 is written for h¹₂"),
    Claim("∂L/∂w112 = 1.17∗1∗0.424 = 0.4961", "dL/dw2_12", 0.4961, "labelled w112 for w²₁₂; rounded factors"),
    Claim("w212(updated) = 0.2 − (0.2∗0.4961) = 0.1008", "w2_12 updated", 0.1008),
    Claim("∂L/∂b21 = 1.17∗1∗1 = 1.17", "dL/db2_1", 1.17),
    Claim("b21(updated) = 0.4 − (0.2∗1.17) = 0.166", "b2_1 updated", 0.166),
    Claim("∂h21/∂h11 = w211 = 0.30", "w2_11", 0.30),
    Claim("∂z11/∂w111 = x1 = −0.32", "x1", -0.32),
    Claim("∂L/∂w111 = 1.17∗0.30∗0.484∗(1−0.484)∗(−0.32) = −0.028", "dL/dw1_11", -0.028),
    Claim("w111(updated) = 0.2 − 0.2∗(−0.028) = 0.2056", "w1_11 updated", 0.2056),
    Claim("∂z11/∂w112 = x1 = 0.66", "x2", 0.66, "x1 is written for x2 and the sign is dropped: ∂z¹₁/∂w¹₁₂ = x2"),
    Claim("∂L/∂w112 = 1.17∗0.30∗0.484∗(1−0.484)∗(−0.66) = −0.058", "dL/dw1_12", -0.058),
    Claim("w112(updated) = 0.15 − 0.2∗(−0.058) = 0.1616", "w1_12 updated", 0.1616),
    Claim("∂L/∂b11 = 1.17∗0.30∗0.484∗(1−0.484)∗1 = 0.088", "dL/db1_1", 0.088),
    Claim("b11(updated) = 0.1 − 0.2∗(0.088) = 0.0824", "b1_1 updated", 0.0824, "from the gradient rounded to 0.088"),
    Claim("∂h21/∂h12 = w212 = 0.20", "w2_12", 0.20),
    Claim("∂L/∂w121 = 1.17∗0.20∗0.424∗(1−0.424)∗(−0.32) = −0.018", "dL/dw1_21", -0.018),
    Claim(
        "∂L/∂w122 = 1.17∗0.20∗0.424∗(1−0.424)∗(−0.32) = −0.038",
        "x2",
        -0.32,
        "x1's value −0.32 is written for x2 = −0.66 in the product; −0.038 is the result with −0.66",
    ),
    Claim("∂L/∂w122 = … = −0.038", "dL/dw1_22", -0.038),
    Claim("∂L/∂b12 = 1.17∗0.20∗0.424∗(1−0.424)∗1 = −0.057", "dL/db1_2", -0.057, "the sign: every factor is positive"),
    Claim(
        "w121(updated) = 0.5 − 0.2∗(−0.018) = 0.5036", "w1_21 updated", 0.5036, "from the gradient rounded to −0.018"
    ),
    Claim("w122(updated) = 0.6 − 0.2∗(−0.038) = 0.6076", "w1_22 updated", 0.6076, "0.6 + 0.2 × 0.0377 = 0.6075"),
    Claim(
        "b12(updated) = 0.25 − 0.2∗(−0.57) = 0.2386",
        "dL/db1_2",
        -0.57,
        "both sign and decimal point; the result 0.2386 uses +0.057",
    ),
    Claim("b12(updated) = … = 0.2386", "b1_2 updated", 0.2386),
)
"""Every number seed 001's text prints for the backward pass and the update, in reading order."""

HOUSE_PRICE_NOTATION_SLIPS = (
    ("∂z21/∂w211 = ∂/∂w211 ½(b21 + w211 h11 + w212 h12)", "no ½: z²₁ = b²₁ + w²₁₁ h¹₁ + w²₁₂ h¹₂"),
    ("∂z12/∂b21 = 1", "z²₁, not z12"),
    ("∂z11/∂w111 = ∂/∂w111 (b21 + w111 x1 + w112 x2)", "b¹₁, not b21"),
    ("Similarly, ∂L/∂w212 = … ∂h11/∂w112", "the hidden-layer weight is w¹₁₂"),
    ("gradient of L with respect to b112; ∂s11/∂b11", "b¹₁ and z¹₁"),
    ("∂z12/∂w121 = ∂/∂w121 (b21 + w121 x1 + w122 x2)", "b¹₂, not b21"),
    ("∂L/∂w121 = ∂L/∂h21 ∂h21/∂h11 [∂h11/∂z11 ∂z12/∂w121]", "unit 2's path is ∂h²₁/∂h¹₂ [∂h¹₂/∂z¹₂ ∂z¹₂/∂w¹₂₁]"),
    ("w111(updated) = w121 − η∂L/∂w121", "the left side is w¹₂₁"),
    ("w1(updated) = [w111 w111; w121 w122], w2(updated) = [w222 w212]", "w¹₁₂ and w²₁₁"),
)
"""Slips of notation in seed 001 that change no number."""


def engine_values(explanation: Explanation) -> dict[str, float]:
    """The quantities :data:`HOUSE_PRICE_CLAIMS` refer to, read from ``explanation`` (engine values)."""
    t = explanation.trace
    values = {f"x{j + 1}": float(t.x.data[0, j]) for j in range(t.x.shape[1])}
    for lt in t.layers:
        ell = lt.layer.number
        for k in range(lt.layer.units):
            values[f"h{ell}_{k + 1}"] = float(lt.h.data[0, k])
            values[f"dL/dh{ell}_{k + 1}"] = float(lt.grad_h[0, k])
            values[f"dh{ell}_{k + 1}/dz{ell}_{k + 1}"] = float(lt.derivative[0, k])
    gradients = explanation.gradients
    for ref in all_names(explanation.layers):
        values[ref.seed_name] = float(ref.parameter.data[ref.index])
        values[f"dL/d{ref.seed_name}"] = float(gradients[ref.tensor_name][ref.index])
        if explanation.updated is not None:
            values[f"{ref.seed_name} updated"] = float(explanation.updated[ref.tensor_name][ref.index])
    return values


def _decimals(value: float) -> int:
    text = f"{value}"
    return len(text.split(".")[1]) if "." in text else 0


def house_price_slips(explanation: Explanation) -> list[tuple[Claim, float]]:
    """The claims whose printed value differs from the engine's value rounded to the printed decimals."""
    values = engine_values(explanation)
    slips = []
    for claim in HOUSE_PRICE_CLAIMS:
        actual = values[claim.key]
        if round(actual, _decimals(claim.printed)) != round(claim.printed, _decimals(claim.printed)):
            slips.append((claim, actual))
    return slips


def house_price_explanation(param: str | None = None) -> Explanation:
    """``explain`` of seed 001's network for one step with η = 0.2."""
    model, loss_fn, x, y = house_price()
    return explain(model, loss_fn, x, y, param=param, lr=HOUSE_PRICE_LR)


def house_price_blocks(explanation: Explanation) -> list:
    """The walk-through of seed 001 followed by the section on where its text slips."""
    slips = house_price_slips(explanation)
    agree = len(HOUSE_PRICE_CLAIMS) - len(slips)
    rows = [[claim.quote, format_number(actual), claim.comment] for claim, actual in slips]
    return [
        *explanation.blocks,
        Heading("Where the original text (seed 001) slips"),
        Paragraph(
            f"Of the {len(HOUSE_PRICE_CLAIMS)} numbers the text prints for the backward pass and the update, "
            f"{agree} agree with the engine to the digits printed; these {len(slips)} do not:"
        ),
        Table(["the text says", "the engine says", "why"], rows),
        Paragraph("Slips of notation that change no number:"),
        Table(["the text says", "correct"], [list(pair) for pair in HOUSE_PRICE_NOTATION_SLIPS]),
        Paragraph(
            f"The loss falls from {format_number(explanation.loss)} to {format_number(explanation.loss_after)} "
            "after the step; the text's final updated values agree with the engine up to rounding in the last digit."
        ),
    ]


def example_names() -> dict[str, Any]:
    """Name → function returning (model, loss_fn, x, y, lr) for ``chainrule explain --example``."""
    return {"house-price": lambda: (*house_price(), HOUSE_PRICE_LR)}
