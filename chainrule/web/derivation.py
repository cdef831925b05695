"""The page's one door to ``chainrule.explain``: one weight's derivation as the data the page typesets.

The page never derives anything: it shows what :func:`chainrule.diagnostics.derive_parameter`
computed on the live model (one traced pass, that element's factors: cheap enough for every frame
while training runs) in the derivation's JSON schema (``chainrule.derivation``, documented in
:mod:`chainrule.diagnostics.derivation`), every formula with its LaTeX (for KaTeX), its terminal
text (for tests and a screen reader's ``aria-label``) and its HTML.  The JSON is

``{"param": "0.weight[1, 0]", "seed_name": "w1_21", "symbol": LaTeX, "value": w, "gradient": ∂L/∂w,
"updated": w − η ∂L/∂w or None, "lr": η, "loss": L, "samples": n, "derivation": parameter}``

where ``parameter`` is :meth:`~chainrule.diagnostics.derivation.ParameterDerivation.to_dict`'s
(``third``, ``chain``, ``chain_equation``, ``path``, ``path_equation``, ``samples``, ``update``).
"""

from __future__ import annotations

import math
from typing import Any

from chainrule.diagnostics import derive_parameter, explain


def _number(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def derivation(model: Any, loss_fn: Any, x: Any, y: Any, param: str, lr: float | None) -> dict[str, Any]:
    """The derivation of the element ``param`` (``"0.weight[1,0]"``, ``"w1_21"``) of the live
    ``model`` on (x, y), as the JSON described in the module docstring."""
    d = derive_parameter(model, loss_fn, x, y, param, lr=lr)
    data = d.to_dict()
    return {
        "param": d.ref.name,
        "seed_name": d.ref.seed_name,
        "symbol": d.ref.symbol.latex,
        "value": data["value"],
        "gradient": _number(d.gradient),
        "updated": None if d.update is None else data["update"]["after"],
        "lr": lr,
        "loss": data["loss"],
        "samples": 1 if d.samples is None else data["samples"]["count"],
        "derivation": data,
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
