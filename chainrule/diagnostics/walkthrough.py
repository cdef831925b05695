"""``chainrule.explain``: the chain-rule walk-through of one gradient-descent step, with the numbers.

Three layers, each with one job:

* :mod:`~chainrule.diagnostics.trace` runs the model layer by layer through the engine and keeps
  every value autograd computes;
* :mod:`~chainrule.diagnostics.factors`, :mod:`~chainrule.diagnostics.derivation` (one parameter)
  and :mod:`~chainrule.diagnostics.step` (a whole step) turn those values into the derivation as
  data (factors, symbols, formulas from the registry, per-sample terms, the update), serialisable
  to JSON;
* :mod:`~chainrule.diagnostics.layout` and :mod:`~chainrule.diagnostics.render` lay it out and
  write it as terminal text (≤ 100 columns), Markdown with LaTeX, or HTML.

:class:`Explanation` holds all three; ``chainrule.explain`` makes one.  For one weight of a live
model (the page's hover), :func:`~chainrule.diagnostics.derivation.derive_parameter` is the cheap path.
"""

from __future__ import annotations

import json
from typing import Any

from chainrule import nn
from chainrule.diagnostics import layout, render
from chainrule.diagnostics.derivation import ParameterDerivation, check_lr
from chainrule.diagnostics.factors import SMALL_BATCH, SMALL_WIDTH, Factor
from chainrule.diagnostics.notation import format_number
from chainrule.diagnostics.step import SMALL_PARAMETERS, Derivation
from chainrule.diagnostics.trace import trace

__all__ = ["SMALL_BATCH", "SMALL_PARAMETERS", "SMALL_WIDTH", "Explanation", "Factor", "explain"]


class Explanation:
    """The walk-through of one forward pass, backward pass and (optionally) gradient-descent step.

    Attributes
    ----------
    trace : Trace
        The engine's values (per-layer z, h and their gradients; the loss; the parameters' grads).
    derivation : Derivation
        The derivation as data (:class:`~chainrule.diagnostics.step.Derivation`; ``.to_dict()``/``.to_json()``
        here give its JSON form).
    param : ParamRef or None
        The named parameter (or element), or the one chosen (``chosen`` says why) when none was
        named on a network or batch too big to derive every gradient.
    value : float, ndarray or None
        ∂L/∂param as autograd computed it.
    chain : list of Factor
        For one element and one sample: ∂L/∂hˡ_k, ∂hˡ_k/∂zˡ_k and ∂zˡ_k/∂param, whose product
        is ``value``.
    path : list of Factor or None
        The same gradient as one product along the only path from the loss (when every layer
        above has one unit, as in the seeds): ∂L/∂hᴸ₁ · ∂hᴸ₁/∂zᴸ₁ · ∂zᴸ₁/∂hᴸ⁻¹ · … · ∂zˡ_k/∂param.
    per_sample : list of float
        For one element and a batch: ∂ℓ_n/∂param for each sample n.
    updated : dict or None
        With ``lr``: every parameter after one step of ``optim.SGD`` (w ← w − η ∂L/∂w).
    loss_after : float or None
        With ``lr``: the loss after that step.
    blocks : list
        The laid-out walk-through (:mod:`~chainrule.diagnostics.render` blocks); callers may add to it.
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
        self.derivation = Derivation(self.trace, param, lr, decimals)
        self.decimals = decimals
        self.lr = lr
        self.layers = self.derivation.layers
        self.samples = self.trace.samples
        self.param = self.derivation.param
        self.chosen = self.derivation.chosen
        self.updated = self.derivation.updated
        self.loss_after = self.derivation.loss_after
        self.combine = self.derivation.combine
        element = self._element()
        self.chain = [] if element is None else element.chain
        self.path = None if element is None else element.path
        self.per_sample = [] if element is None or element.samples is None else element.samples.gradients.tolist()
        self.blocks = layout.blocks(self.derivation)

    def _element(self) -> ParameterDerivation | None:
        """The derivation of ``param`` when it names one element."""
        if self.param is None or self.param.index is None:
            return None
        return next((p for p in self.derivation.parameters if p.ref == self.param), None)

    # -------------------------------------------------------------- values
    @property
    def value(self) -> Any:
        """∂L/∂param (a number for an element, an array for a tensor; None without a parameter)."""
        if self.param is None:
            return None
        grad = self.trace.gradient(self.param.layer, self.param.kind)
        return grad.copy() if self.param.index is None else float(grad[self.param.index])

    @property
    def loss(self) -> float:
        """L before the step."""
        return self.derivation.loss

    @property
    def forward(self) -> list[tuple[Any, Any]]:
        """(zˡ, hˡ) arrays of each layer, one row per sample."""
        return [(t.z.data, t.h.data) for t in self.trace.layers]

    @property
    def gradients(self) -> dict[str, Any]:
        """``name → ∂L/∂parameter`` for every parameter, as autograd computed it."""
        return self.trace.gradients()

    # -------------------------------------------------------------- renderings
    def __str__(self) -> str:
        return render.to_text(self.blocks)

    def to_text(self, width: int | None = render.WIDTH) -> str:
        """The terminal rendering (``str`` gives it with the default width of 100 columns;
        ``width=None`` writes every line and number in full)."""
        return render.to_text(self.blocks, width)

    def to_markdown(self) -> str:
        """Markdown with LaTeX maths, every number in full."""
        return render.to_markdown(self.blocks)

    def to_html(self) -> str:
        """HTML with inline styles, every number in full (also Jupyter's ``_repr_html_``)."""
        return render.to_html(self.blocks)

    def _repr_html_(self) -> str:
        return render.to_html(self.blocks)

    def to_dict(self) -> dict[str, Any]:
        """The derivation as JSON data (schema in :mod:`chainrule.diagnostics.derivation`)."""
        return self.derivation.to_dict()

    def to_json(self, indent: int | None = None) -> str:
        """:meth:`to_dict` as a JSON string (standard JSON: non-finite numbers are null)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def __repr__(self) -> str:
        target = (
            ""
            if self.param is None
            else f", ∂L/∂{self.param.name} = {self.value if self.param.index is None else format_number(self.value, 6)}"
        )
        return f"<Explanation loss={format_number(self.loss, 6)}{target}>"


def explain(
    model: nn.Module, loss_fn: Any, x: Any, y: Any, param: str | None = None, lr: float | None = None, decimals: int = 4
) -> Explanation:
    """The chain-rule walk-through of ``loss_fn(model(x), y)``: forward pass, backward pass, gradients, step.

    Parameters
    ----------
    model : Sequential
        ``Linear`` layers, each followed by at most one element-wise activation (any the registry
        declares: ``Sigmoid``, ``Tanh``, ``ReLU``, ``GELU``, …); layer l is the l-th ``Linear``.
        It is never changed, and its ``.grad`` are left alone.
    loss_fn : callable
        A loss module (those the registry declares are written out symbolically; any other gives
        its value from autograd) with ``reduction`` ``"mean"`` or ``"sum"``.
    x, y : array_like or Tensor
        One sample (a vector) or a batch (one row per sample).
    param : str, optional
        ``"0.weight[1,0]"``, ``"w1_21"`` (w¹₂₁), ``"b2_1"``, or a whole tensor (``"0.weight"``,
        ``"W1"``).  Without it, every gradient of a small network (≤ 64 parameters, ≤ 8 samples)
        is derived; on a bigger one, the element with the largest gradient (and the text says so).
    lr : float, optional
        The learning rate η: adds the update w ← w − η ∂L/∂w and the loss after the step.
    decimals : int
        Decimals shown.

    Returns
    -------
    Explanation
        ``str()`` for the terminal, ``.to_markdown()``, ``.to_html()``, ``.to_json()``; ``.value`` is ∂L/∂param.

    Examples
    --------
    >>> e = chainrule.explain(model, nn.HalfSquaredErrorLoss(), [-0.32, -0.66], [-0.54], param="w2_11", lr=0.2)
    >>> round(e.value, 4)
    0.5666
    """
    check_lr(lr)
    return Explanation(model, loss_fn, x, y, param=param, lr=lr, decimals=decimals)
