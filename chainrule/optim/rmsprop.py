"""RMSprop: gradient descent scaled by a running root mean square of the gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import backend
from chainrule.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), with PyTorch's update.  For each parameter p with gradient g:

        g ← g + λ p                                  (weight decay λ)
        s ← α s + (1 − α) g²                         (s₀ = 0)
        ḡ ← α ḡ + (1 − α) g,  d = √(s − ḡ²) + ε       (``centered``; ḡ₀ = 0)
        d = √s + ε                                   (otherwise)
        b ← μ b + g / d,  p ← p − η b                (momentum μ > 0; b₀ = 0)
        p ← p − η g / d                              (μ = 0)

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        The learning rate η.
    alpha : float
        α, the smoothing constant of the running mean of g².
    eps : float
        ε, added to the denominator.
    weight_decay : float
        λ (L2 penalty).
    momentum : float
        μ.
    centered : bool
        Divide by an estimate of the variance of g instead of its raw second moment.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        if not lr >= 0:
            raise ValueError(f"learning rate must be ≥ 0, got lr={lr}")
        if not 0 <= alpha <= 1:
            raise ValueError(f"alpha must lie in [0, 1], got alpha={alpha}")
        if not eps >= 0:
            raise ValueError(f"eps must be ≥ 0, got eps={eps}")
        if not momentum >= 0 or not weight_decay >= 0:
            raise ValueError(f"momentum and weight_decay must be ≥ 0, got {momentum} and {weight_decay}")
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum, centered=centered)
        super().__init__(params, defaults)

    def _step_one(self, group: dict[str, Any], p: Any) -> None:
        """The update of one parameter."""
        xp = backend.xp
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p.data)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p.data)
        state["step"] += 1
        grad = self._decayed_grad(p, group["weight_decay"])
        square_avg, work = state["square_avg"], self._work(p)
        square_avg *= alpha
        xp.multiply(grad, grad, out=work)
        work *= 1 - alpha
        square_avg += work
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            xp.multiply(grad, 1 - alpha, out=work)
            grad_avg += work
            xp.multiply(grad_avg, grad_avg, out=work)
            xp.subtract(square_avg, work, out=work)
            xp.sqrt(work, out=work)
        else:
            xp.sqrt(square_avg, out=work)
        work += eps
        xp.divide(grad, work, out=work)
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += work
            xp.multiply(buffer, lr, out=work)
        else:
            work *= lr
        p.data -= work
