"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import backend
from chainrule.optim.optimizer import Optimizer, decayed


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
    values and shapes), and a step updates the whole group with one pass of each array operation,
    its momentum buffers laid out in one flat array too (see ``Optimizer._pack``).  Arrays taken
    from ``p.data`` after that see every update; one taken before does not.  Assigning ``p.data``
    later makes that group go back to per-parameter updates.

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

    def _step_one(self, group: dict[str, Any], p: Any) -> None:
        """The update of one parameter, with its momentum buffer kept in its state."""
        buffer, first = None, False
        if group["momentum"]:
            state = self.state.setdefault(p, {})
            buffer = state.get("momentum_buffer")
            first = buffer is None
            if first:
                buffer = state["momentum_buffer"] = backend.xp.empty_like(p.data)
        sgd_update(p.data, p.grad, buffer, first, group)

    def _flat_arrays(self, index: int, group: dict[str, Any]) -> tuple | None:
        """(data, gradient, flat momentum buffer or ``None``, whether it is the first step) of
        group ``index`` for one update of the whole group, with this step's gradients gathered;
        or ``None`` if its parameters are updated one by one.

        A group of small parameters (:meth:`Optimizer._packed`) qualifies, with its momentum
        buffers laid end to end in one flat array (:meth:`Optimizer._flat_state`) once all of its
        parameters have one or none has.  Each number goes through the same arithmetic either way,
        so the results are the same to the last bit.
        """
        packed = self._packed(index)
        if packed is None or not group["momentum"]:
            return None if packed is None else (*packed, None, False)
        first = "momentum_buffer" not in self.state.get(group["params"][0], ())  # as for all, or no layout
        flat = self._flat_state(index, packed[0], ("momentum_buffer",))
        return None if flat is None else (*packed, flat.arrays[0], first)

    def _step_flat(self, group: dict[str, Any], data: Any, grad: Any, buffer: Any, first: bool) -> None:
        """The update of a whole group at once on its flat arrays."""
        sgd_update(data, grad, buffer, first, group)


def sgd_update(data: Any, grad: Any, buffer: Any, first: bool, group: dict[str, Any]) -> None:
    """w ← w − η g in place for the array ``data`` (one parameter's, or a packed group's) with
    gradient ``grad``, after weight decay and momentum; ``buffer`` is the momentum buffer v,
    updated in place (set to g on the ``first`` step), or ``None`` without momentum."""
    lr, momentum, weight_decay = group["lr"], group["momentum"], group["weight_decay"]
    if weight_decay:
        grad = decayed(grad, data, weight_decay)
    if momentum:
        if first:
            buffer[...] = grad
        else:
            buffer *= momentum
            dampening = group["dampening"]
            buffer += (1 - dampening) * grad if dampening else grad
        grad = grad + momentum * buffer if group["nesterov"] else buffer
    data -= grad * backend.constant(lr, data.dtype)
