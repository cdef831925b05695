"""Adam and AdamW: gradient descent with bias-corrected first and second moment estimates."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from chainrule import backend
from chainrule.optim.optimizer import FlatState, Optimizer, decayed


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with PyTorch's update.  For each parameter p with gradient g,
    at step t = 1, 2, …:

        g ← g + λ p                                  (weight decay λ, L2 penalty)
        m ← β₁ m + (1 − β₁) g                        (first moment, m₀ = 0)
        v ← β₂ v + (1 − β₂) g²                       (second moment, v₀ = 0)
        v̂ ← max(v̂, v) with ``amsgrad``, else v̂ = v
        p ← p − η / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        The learning rate η.
    betas : (float, float)
        (β₁, β₂), the decay rates of the moment estimates, each in [0, 1).
    eps : float
        ε, added to the denominator.
    weight_decay : float
        λ, added to the gradient as λ p (see :class:`AdamW` for decoupled decay).
    amsgrad : bool
        Use the running maximum of v (AMSGrad).

    Notes
    -----
    A group of parameters with at most ``FOREACH_LIMIT`` (65 536) numbers in all and one dtype is
    packed when the optimizer is made: each ``p.data`` becomes a view of one flat array (same
    values and shapes), and a step updates the whole group with one pass of each array operation,
    its moments laid out in flat arrays too (see ``Optimizer._pack``).  Arrays taken from
    ``p.data`` after that see every update; one taken before does not.  Assigning ``p.data`` later
    makes that group go back to per-parameter updates.

    Examples
    --------
    >>> optimizer = optim.Adam(model.parameters(), lr=1e-3)
    """

    decoupled_weight_decay = False

    foreach = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        if not lr >= 0:
            raise ValueError(f"learning rate must be ≥ 0, got lr={lr}")
        if not eps >= 0:
            raise ValueError(f"eps must be ≥ 0, got eps={eps}")
        if len(betas) != 2 or not all(0 <= beta < 1 for beta in betas):
            raise ValueError(f"betas must be two numbers in [0, 1), got betas={betas}")
        if not weight_decay >= 0:
            raise ValueError(f"weight_decay must be ≥ 0, got weight_decay={weight_decay}")
        defaults = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _step_one(self, group: dict[str, Any], p: Any) -> None:
        """The update of one parameter."""
        xp = backend.xp
        lr, weight_decay, amsgrad = group["lr"], group["weight_decay"], group["amsgrad"]
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p.data)
            state["exp_avg_sq"] = xp.zeros_like(p.data)
            if amsgrad:
                state["max_exp_avg_sq"] = xp.zeros_like(p.data)
        elif state["exp_avg"].dtype != p.data.dtype:  # the parameter changed dtype (Module.to)
            for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
                if name in state:
                    state[name] = state[name].astype(p.data.dtype)
        state["step"] += 1
        if self.decoupled_weight_decay:
            p.data *= 1 - lr * weight_decay
            grad = p.grad
        else:
            grad = self._decayed_grad(p, weight_decay)
        v_max = state["max_exp_avg_sq"] if amsgrad else None
        work = self._work(p)
        adam_update(grad, state["exp_avg"], state["exp_avg_sq"], work, state["step"], group, v_max)
        p.data -= work

    def _flat_arrays(self, index: int, group: dict[str, Any]) -> tuple | None:
        """(data, gradient, flat state) of group ``index`` for one update of the whole group, with
        this step's gradients gathered; or ``None`` if its parameters are updated one by one.

        A group of small parameters (:meth:`Optimizer._packed`) whose states are at one step
        qualifies: data and gradient are the flat arrays of :meth:`Optimizer._packed`, the moments
        m and v (and v̂ with AMSGrad) those of :meth:`Optimizer._flat_state`, and the dozen array
        operations of :func:`adam_update` run once per group instead of once per parameter.
        """
        packed = self._packed(index)
        if packed is None:
            return None
        names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")
        flat = self._flat_state(index, packed[0], names, counted=True, scratch=True)
        return None if flat is None else (*packed, flat)

    def _step_flat(self, group: dict[str, Any], data: Any, grad: Any, flat: FlatState) -> None:
        """The update of a whole group at once on its flat arrays: each number goes through the
        arithmetic of :meth:`_step_one`, so the results are the same to the last bit."""
        for state in flat.states:
            state["step"] += 1
        weight_decay = group["weight_decay"]
        if self.decoupled_weight_decay:
            data *= 1 - group["lr"] * weight_decay
        elif weight_decay:
            grad = decayed(grad, data, weight_decay)
        moments = flat.arrays  # m, v (, v̂)
        v_max = moments[2] if group["amsgrad"] else None
        adam_update(grad, moments[0], moments[1], flat.work, flat.states[0]["step"], group, v_max)
        data -= flat.work


def adam_update(grad: Any, m: Any, v: Any, work: Any, t: int, group: dict[str, Any], v_max: Any = None) -> None:
    """Adam's moment updates in place, and its step η/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε) into ``work``.

    The step is computed as  η √(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v̂ + ε √(1 − β₂ᵗ)),  the same number
    with one pass over the arrays fewer.  ``grad``, ``m``, ``v``, ``work`` (and ``v_max`` with
    AMSGrad) are arrays of one shape: one parameter's, or a whole group's laid end to end.
    """
    xp, constant, dtype = backend.xp, backend.constant, m.dtype
    lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
    m *= constant(beta1, dtype)
    xp.multiply(grad, constant(1 - beta1, dtype), out=work)
    m += work
    v *= constant(beta2, dtype)
    xp.multiply(grad, grad, out=work)
    work *= constant(1 - beta2, dtype)
    v += work
    if v_max is not None:
        v = xp.maximum(v_max, v, out=v_max)
    correction = math.sqrt(1 - beta2**t)
    xp.sqrt(v, out=work)
    work += eps * correction
    xp.divide(m, work, out=work)
    work *= lr * correction / (1 - beta1**t)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), PyTorch's update:

        p ← p − η λ p                                (decay applied to the weights, not to g)
        m ← β₁ m + (1 − β₁) g,   v ← β₂ v + (1 − β₂) g²
        p ← p − η / (1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)

    Parameters are as for :class:`Adam`; ``weight_decay`` defaults to 0.01.
    """

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
