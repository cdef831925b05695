"""Gradient clipping by the global norm (``torch.nn.utils.clip_grad_norm_``)."""

from __future__ import annotations

import math
from collections.abc import Iterable

from chainrule import backend
from chainrule.tensor import Tensor


def clip_grad_norm_(
    parameters: Tensor | Iterable[Tensor],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    """Scale all gradients together, in place, so that their joint norm is at most ``max_norm``.

    The total norm is the p-norm of all gradients as one vector (p = ``norm_type``; ``inf`` gives
    the largest |g|):  ‖g‖ = (Σᵢ ‖gᵢ‖ₚᵖ)^(1/p).  If ‖g‖ > max_norm every gradient is multiplied
    by  max_norm / (‖g‖ + 10⁻⁶),  as PyTorch does; otherwise nothing changes.

    Returns
    -------
    float
        The total norm before clipping (useful to log).

    Raises
    ------
    RuntimeError
        With ``error_if_nonfinite``, when the total norm is nan or inf.
    """
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    xp = backend.xp
    norms = [xp.linalg.norm(g.reshape(-1), ord=norm_type) for g in grads]
    total = float(xp.linalg.norm(xp.asarray(norms, dtype=backend.float64), ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}; check the "
            "loss and the learning rate, or pass error_if_nonfinite=False"
        )
    coefficient = max_norm / (total + 1e-6)
    if coefficient < 1:
        for g in grads:
            g *= coefficient
    return total
