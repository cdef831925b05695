"""Adagrad: per-coordinate learning rates that shrink with the sum of squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import backend
from chainrule.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011), with PyTorch's update.  For each parameter p with gradient g,
    at step t = 1, 2, …:

        g ← g + λ p                                  (weight decay λ)
        η_t = η / (1 + (t − 1) δ)                    (learning-rate decay δ)
        s ← s + g²                                   (s₀ = ``initial_accumulator_value``)
        p ← p − η_t g / (√s + ε)

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        η.
    lr_decay : float
        δ.
    weight_decay : float
        λ (L2 penalty).
    initial_accumulator_value : float
        s₀.
    eps : float
        ε, added to the denominator.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
    ) -> None:
        for name, value in dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps).items():
            if not value >= 0:
                raise ValueError(f"{name} must be ≥ 0, got {name}={value}")
        if not initial_accumulator_value >= 0:
            raise ValueError(f"initial_accumulator_value must be ≥ 0, got {initial_accumulator_value}")
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _step_one(self, group: dict[str, Any], p: Any) -> None:
        """The update of one parameter."""
        xp = backend.xp
        state = self.state.setdefault(p, {})
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p.data, group["initial_accumulator_value"])
        state["step"] += 1
        grad = self._decayed_grad(p, group["weight_decay"])
        learning_rate = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total, work = state["sum"], self._work(p)
        xp.multiply(grad, grad, out=work)
        total += work
        xp.sqrt(total, out=work)
        work += group["eps"]
        xp.divide(grad, work, out=work)
        work *= learning_rate
        p.data -= work
