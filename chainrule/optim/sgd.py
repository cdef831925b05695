"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import backend
from chainrule.optim.optimizer import Optimizer


class SGD(Optimizer):
    r"""Gradient descent, the seeds' update rule  w ← w − η ∂L/∂w, with PyTorch's extensions.

    For each parameter p with gradient g, at step t (PyTorch's convention):

        g ← g + λ p                      (weight decay λ)
        v ← g (t = 1),  v ← μ v + (1 − τ) g (t > 1)      (momentum μ, dampening τ)
        g ← g + μ v (Nesterov)  or  g ← v
        p ← p − η g

    Parameters
    ----------
    params : iterable
        Parameters or parameter groups.
    lr : float
        The learning rate η.
    momentum : float
        μ; 0 gives plain gradient descent.
    dampening : float
        τ.
    weight_decay : float
        λ (L2 penalty).
    nesterov : bool
        Nesterov momentum (needs μ > 0 and τ = 0).

    Notes
    -----
    A group of parameters with at most ``FOREACH_LIMIT`` (65 536) numbers in all and one dtype is
    packed when the optimizer is made: each ``p.data`` becomes a view of one flat array (same
    values and shapes), and a step without momentum updates the whole group with one array
    operation (see ``Optimizer._pack``).  Arrays taken from ``p.data`` after that see every
    update; one taken before does not.  Assigning ``p.data`` later makes that group go back to
    per-parameter updates.

    Examples
    --------
    >>> optimizer = optim.SGD(model.parameters(), lr=0.2)
    >>> optimizer.zero_grad(); loss.backward(); optimizer.step()
    """

    foreach = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got lr={lr}")
        if momentum < 0 or weight_decay < 0:
            raise ValueError(f"momentum and weight_decay must be ≥ 0, got {momentum} and {weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs momentum > 0 and dampening = 0")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def step(self) -> None:
        """One update of every parameter that has a gradient, in place.

        A group without momentum whose parameters are small (see :meth:`Optimizer._packed`) is
        updated at once on one flat array: the same arithmetic for every number.
        """
        for index, group in enumerate(self.param_groups):
            packed = None if group["momentum"] else self._packed(index)
            if packed is None:
                for p in group["params"]:
                    if p.grad is not None:
                        self._update(p.data, p.grad, p, group)
            else:
                self._update(*packed, None, group)

    def _update(self, data: Any, grad: Any, p: Any, group: dict[str, Any]) -> None:
        """w ← w − η g for the array ``data`` (one parameter's, or a packed group's) with gradient
        ``grad``, after weight decay and momentum (whose buffer is kept in the state of ``p``)."""
        lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
        if weight_decay:
            grad = grad + weight_decay * data
        if momentum:
            state = self.state.setdefault(p, {})
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                dampening = group["dampening"]
                buffer += (1 - dampening) * grad if dampening else grad
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        data -= grad * backend.constant(lr, data.dtype)
