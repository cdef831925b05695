"""Adam and AdamW: gradient descent with bias-corrected first and second moment estimates."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from chainrule import backend
from chainrule.optim.optimizer import Optimizer


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

    Examples
    --------
    >>> optimizer = optim.Adam(model.parameters(), lr=1e-3)
    """

    decoupled_weight_decay = False

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

    def step(self) -> None:
        """One update of every parameter that has a gradient, in place."""
        xp = backend.xp
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            weight_decay, amsgrad = group["weight_decay"], group["amsgrad"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = xp.zeros_like(p.data)
                    state["exp_avg_sq"] = xp.zeros_like(p.data)
                    if amsgrad:
                        state["max_exp_avg_sq"] = xp.zeros_like(p.data)
                state["step"] += 1
                t = state["step"]
                if self.decoupled_weight_decay:
                    p.data *= 1 - lr * weight_decay
                    grad = p.grad
                else:
                    grad = self._decayed_grad(p, weight_decay)
                m, v, work = state["exp_avg"], state["exp_avg_sq"], self._work(p)
                m *= beta1
                xp.multiply(grad, 1 - beta1, out=work)
                m += work
                v *= beta2
                xp.multiply(grad, grad, out=work)
                work *= 1 - beta2
                v += work
                if amsgrad:
                    v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
                xp.sqrt(v, out=work)
                work *= 1 / math.sqrt(1 - beta2**t)
                work += eps
                xp.divide(m, work, out=work)
                work *= lr / (1 - beta1**t)
                p.data -= work


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
