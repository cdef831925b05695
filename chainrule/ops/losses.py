"""Fused losses: one node from prediction and target to the loss.

``reduction`` is ``"mean"`` (the default), ``"sum"`` or ``"none"``, with PyTorch's meanings.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd import Function
from chainrule.ops.elementwise import stable_sigmoid
from chainrule.ops.layers import log_softmax

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values, reduction: str):
    if reduction == "mean":
        return values.mean()
    if reduction == "sum":
        return values.sum()
    return values


def _scale(grad, reduction: str, count: int):
    """∂reduction/∂values: 1/n for the mean, 1 for the sum, ``grad`` itself for none."""
    return grad / count if reduction == "mean" else grad


class MSELoss(Function):
    """L = (1/n) Σᵢ (hᵢ − yᵢ)² over all n elements;  ∂L/∂h = 2(h − y)/n,  ∂L/∂y = −∂L/∂h."""

    def forward(self, prediction, target, reduction="mean"):
        self.reduction = reduction
        self.diff = prediction - target
        return _reduce(self.diff * self.diff, reduction)

    def backward(self, grad):
        grad_h = _scale(grad, self.reduction, self.diff.size) * 2 * self.diff
        grad_y = -grad_h if self.parents[1].requires_grad else None
        return grad_h, grad_y


class CrossEntropyLoss(Function):
    """Softmax cross-entropy from logits and integer class targets.

    ℓᵢ = −w_{yᵢ} ln softmax(zᵢ)_{yᵢ};  the mean divides by Σᵢ w_{yᵢ} (n without weights), as
    PyTorch does.  ∂ℓᵢ/∂zᵢ = w_{yᵢ} (softmax(zᵢ) − onehot(yᵢ)).  ``logits`` is (N, C) or (C,).
    """

    def forward(self, logits, target, weight=None, reduction="mean"):
        xp = backend.xp
        if target.dtype.kind not in "iu":
            raise TypeError(
                f"cross-entropy targets must be integer class labels, got dtype {target.dtype}; "
                "convert them with .astype(int)"
            )
        single = logits.ndim == 1
        logits2, target1 = (logits[None, :], target.reshape(1)) if single else (logits, target)
        classes = logits2.shape[1]
        if target1.shape != logits2.shape[:1]:
            raise ValueError(
                f"cross-entropy: logits of shape {tuple(logits.shape)} need targets of shape "
                f"{tuple(logits.shape[:1]) if not single else ()}, got {tuple(target.shape)}"
            )
        if target1.size and (target1.min() < 0 or target1.max() >= classes):
            raise ValueError(f"cross-entropy: target labels must lie in 0..{classes - 1}")
        rows = xp.arange(target1.shape[0])
        self.single, self.reduction, self.rows, self.target = single, reduction, rows, target1
        self.log_probs = log_softmax(logits2, axis=1)
        self.weights = None if weight is None else weight[target1]
        losses = -self.log_probs[rows, target1]
        if self.weights is not None:
            losses = losses * self.weights
        self.denominator = target1.shape[0] if self.weights is None else self.weights.sum()
        out = losses.sum() / self.denominator if reduction == "mean" else _reduce(losses, reduction)
        return out.reshape(()) if single and reduction == "none" else out

    def backward(self, grad):
        grad_z = backend.xp.exp(self.log_probs)
        grad_z[self.rows, self.target] -= 1
        per_row = grad if self.reduction != "mean" else grad / self.denominator
        if self.reduction == "none":
            per_row = per_row.reshape(-1)
        if self.weights is not None:
            per_row = per_row * self.weights
        grad_z *= per_row[:, None] if getattr(per_row, "ndim", 0) else per_row
        return (grad_z[0] if self.single else grad_z), None


class BCEWithLogitsLoss(Function):
    """Binary cross-entropy from logits z and targets y ∈ [0, 1].

    ℓ = −[y ln σ(z) + (1 − y) ln(1 − σ(z))] = max(z, 0) − z y + ln(1 + e^(−|z|)),
    finite for any z;  ∂ℓ/∂z = σ(z) − y.
    """

    def forward(self, logits, target, reduction="mean"):
        xp = backend.xp
        self.reduction, self.logits, self.target = reduction, logits, target
        losses = xp.maximum(logits, 0) - logits * target + xp.log1p(xp.exp(-xp.abs(logits)))
        return _reduce(losses, reduction)

    def backward(self, grad):
        grad_z = _scale(grad, self.reduction, self.logits.size) * (stable_sigmoid(self.logits) - self.target)
        grad_y = None
        if self.parents[1].requires_grad:
            grad_y = -_scale(grad, self.reduction, self.logits.size) * self.logits
        return grad_z, grad_y
