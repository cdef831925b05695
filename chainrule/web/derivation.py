"""The page's one door to ``chainrule.explain``: a walk-through as JSON the page typesets with KaTeX.

The page never derives anything: it shows what :func:`chainrule.diagnostics.explain` computed,
block by block, with each formula's LaTeX (for KaTeX) and terminal text (for tests and for a
screen reader's ``aria-label``).  The JSON is

``{"param": "0.weight[1, 0]", "seed_name": "w1_21", "symbol": LaTeX, "value": w, "gradient": ∂L/∂w,
"updated": w − η ∂L/∂w or None, "lr": η, "loss": L, "loss_after": L after the SGD step,
"samples": n, "sections": [{"title": str, "blocks": [block, …]}, …]}``

where a block is ``{"kind": "paragraph", "text": str}``, ``{"kind": "equation", "parts": [{"latex":
str, "text": str}, …], "note": str, "indent": int}`` (parts joined by "=") or ``{"kind": "table",
"header": [str, …], "rows": [[{"latex": str, "text": str} | {"text": str}, …], …]}``.
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.diagnostics import explain
from chainrule.diagnostics.notation import Math
from chainrule.diagnostics.render import Equation, Heading, Paragraph, Table


def _math(part: Math | str) -> dict[str, str]:
    if isinstance(part, str):
        return {"text": part}
    return {"latex": part.latex, "text": part.text}


def _block(block: Any) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return {"kind": "paragraph", "text": block.text}
    if isinstance(block, Equation):
        return {
            "kind": "equation",
            "parts": [_math(part) for part in block.parts],
            "note": block.note,
            "indent": block.indent,
        }
    if isinstance(block, Table):
        return {"kind": "table", "header": list(block.header), "rows": [[_math(c) for c in row] for row in block.rows]}
    raise TypeError(f"unknown walk-through block {type(block).__name__}")


def _sections(blocks: list[Any]) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = []
    for block in blocks:
        if isinstance(block, Heading):
            if block.level > 1:
                sections.append({"title": block.title, "blocks": []})
        elif sections:
            sections[-1]["blocks"].append(_block(block))
        else:
            sections.append({"title": "", "blocks": [_block(block)]})
    return sections


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def derivation(model: Any, loss_fn: Any, x: Any, y: Any, param: str | None, lr: float | None) -> dict[str, Any]:
    """``chainrule.explain(model, loss_fn, x, y, param, lr)`` as the JSON described in the module docstring.

    ``param`` names one element (``"0.weight[1,0]"``, ``"w1_21"``) or nothing (then ``param``,
    ``value`` and ``gradient`` are None and the sections hold the whole step).
    """
    e = explain(model, loss_fn, x, y, param=param, lr=lr)
    ref = e.param
    single = ref is not None and ref.index is not None
    return {
        "param": None if ref is None else ref.name,
        "seed_name": None if ref is None else ref.seed_name,
        "symbol": None if ref is None else ref.symbol.latex,
        "value": _number(ref.parameter.data[ref.index]) if single else None,
        "gradient": _number(e.value) if single else None,
        "updated": _number(e.updated[ref.tensor_name][ref.index]) if single and e.updated is not None else None,
        "lr": lr,
        "loss": _number(e.loss),
        "loss_after": None if e.loss_after is None else _number(e.loss_after),
        "samples": e.samples,
        "sections": _sections(e.blocks),
    }


def walkthrough_markdown(model: Any, loss_fn: Any, x: Any, y: Any, param: str | None, lr: float | None) -> str:
    """The same walk-through as Markdown with LaTeX (the page's "export walk-through")."""
    return explain(model, loss_fn, x, y, param=param, lr=lr).to_markdown()


def step_values(model: Any, loss_fn: Any, x: Any, y: Any, lr: float) -> dict[str, Any]:
    """The numbers of one step's three phases, as ``chainrule.explain`` computed them on (x, y).

    ``forward``: per layer l, zˡ and hˡ of the first sample; ``backward``: per layer ∂L/∂hˡ and
    δˡ = ∂L/∂zˡ of the first sample, and ∂L/∂(every parameter) of the batch; ``loss``: L of
    the batch; ``updated``: every parameter after the SGD step w ← w − η ∂L/∂w, and ``loss_after``.
    """
    e = explain(model, loss_fn, x, y, lr=lr)
    layers = e.trace.layers
    return {
        "loss": _number(e.loss),
        "loss_after": None if e.loss_after is None else _number(e.loss_after),
        "z": [lt.z.data[0].tolist() for lt in layers],
        "h": [lt.h.data[0].tolist() for lt in layers],
        "grad_h": [lt.grad_h[0].tolist() for lt in layers],
        "delta": [lt.delta[0].tolist() for lt in layers],
        "gradients": {name: grad.tolist() for name, grad in e.gradients.items()},
        "updated": {name: value.tolist() for name, value in (e.updated or {}).items()},
        "inputs": e.trace.x.data[0].tolist(),
        "samples": e.samples,
    }
