"""Fused losses: one node from prediction and target to the loss.

``reduction`` is ``"mean"`` (the default), ``"sum"`` or ``"none"``, with PyTorch's meanings.
"""

from __future__ import annotations

import functools

from chainrule import backend
from chainrule.autograd import Function
from chainrule.ops.elementwise import stable_sigmoid

REDUCTIONS = ("mean", "sum", "none")


def _reduce(values, reduction: str):
    if reduction == "mean":
        # Σ/n is what ndarray.mean computes (float16 apart, which it sums in float32), without
        # mean's Python-level wrapper, which costs 3 µs on small arrays.
        return values.mean() if values.dtype.itemsize < 4 else values.sum() / values.size
    if reduction == "sum":
        return values.sum()
    return values


def _scale(grad, reduction: str, count: int):
    """∂L/∂values given ``grad`` = ∂L/∂reduction: grad/n for the mean, grad for the sum, ``grad`` for none.

    The mean's and the sum's ``grad`` is one number; it comes back as a Python float (the hot
    losses turn it into a kept 0-d array of their dtype, :func:`chainrule.backend.constant`, which
    multiplies into a small array faster than a Python number).  The values do not change: the
    float32 or float64 ``grad`` and ``n`` are exact in float64, and the quotient, rounded to the
    array's dtype where it is used, is the correctly rounded one.
    """
    if reduction == "none":
        return grad
    return float(grad) / count if reduction == "mean" else float(grad)


@functools.lru_cache(maxsize=16)
def _unsigned(dtype):
    """The unsigned integer dtype of the same width and byte order as the signed ``dtype``."""
    return backend.xp.dtype(dtype.str.replace("i", "u"))


def class_targets(name: str, scores, target):
    """Check integer class labels against scores (N, C) or (C,); return (single, scores2d, labels1d).

    A single sample (C,) with a 0-d label is viewed as a batch of one.
    """
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name} targets must be integer class labels, got dtype {target.dtype}; convert them with .astype(int)"
        )
    single = scores.ndim == 1
    scores2, target1 = (scores[None, :], target.reshape(1)) if single else (scores, target)
    if scores2.ndim != 2 or target1.shape != scores2.shape[:1]:
        raise ValueError(
            f"{name}: scores of shape {tuple(scores.shape)} (N, C) need targets of shape "
            f"{tuple(scores.shape[:1]) if not single else ()}, got {tuple(target.shape)}"
        )
    classes = scores2.shape[1]
    # One pass instead of min and max: viewed as unsigned integers of the same width, a negative
    # label becomes 2ᵇ plus itself (b the width in bits), so the maximum alone finds it.
    unsigned = target1 if target1.dtype.kind == "u" else target1.view(_unsigned(target1.dtype))
    if target1.size and backend.xp.maximum.reduce(unsigned) >= classes:
        raise ValueError(f"{name}: target labels must lie in 0..{classes - 1}")
    return single, scores2, target1


class MSELoss(Function):
    """L = (1/n) Σᵢ (hᵢ − yᵢ)² over all n elements;  ∂L/∂h = 2(h − y)/n,  ∂L/∂y = −∂L/∂h."""

    def forward(self, prediction, target, reduction="mean"):
        self.reduction = reduction
        self.diff = prediction - target
        if reduction == "none":
            return self.diff * self.diff
        total = backend.xp.vdot(self.diff, self.diff)  # Σ dᵢ² as one dot product
        return total / self.diff.size if reduction == "mean" else total

    def backward(self, grad):
        scale = _scale(grad, self.reduction, self.diff.size)
        if self.reduction == "none":
            grad_h = scale * 2 * self.diff
        else:
            grad_h = self.diff * backend.constant(2 * scale, self.diff.dtype)
        grad_y = -grad_h if self.parents[1].requires_grad else None
        return grad_h, grad_y


class CrossEntropyLoss(Function):
    """Softmax cross-entropy from logits and integer class targets.

    ℓᵢ = −w_{yᵢ} ln softmax(zᵢ)_{yᵢ} = w_{yᵢ} (ln Σⱼ e^(zᵢⱼ − mᵢ) − (z_{i,yᵢ} − mᵢ)),  mᵢ = maxⱼ zᵢⱼ;
    the mean divides by Σᵢ w_{yᵢ} (n without weights), as PyTorch does.
    ∂ℓᵢ/∂zᵢ = w_{yᵢ} (softmax(zᵢ) − onehot(yᵢ)).  ``logits`` is (N, C) or (C,).

    The row sums Σⱼ are products with a vector of ones (one BLAS call each, several times faster
    than a reduction along short rows), and softmax(zᵢ) is formed from the forward pass's
    exponentials only in backward.
    """

    def forward(self, logits, target, weight=None, reduction="mean"):
        xp = backend.xp
        single, logits2, target1 = class_targets("cross-entropy", logits, target)
        count, classes = logits2.shape
        row_starts, self.ones, ones_classes = _layout(count, classes, logits2.dtype)
        # each sample's label as a flat position, i·C + yᵢ: one index array picks (and, in
        # backward, updates) the entries faster than the pair (rows, labels) does
        if target1.dtype == row_starts.dtype:
            self.picks = row_starts + target1
        else:  # any other integer type (uint64 would promote to float)
            self.picks = xp.add(row_starts, target1, dtype=row_starts.dtype)
        self.single, self.reduction = single, reduction
        shifted = logits2 - xp.maximum.reduce(logits2, axis=1, keepdims=True)
        self.exp = xp.exp(shifted)
        self.sums = self.exp.dot(ones_classes)  # Σⱼ e^(zᵢⱼ − mᵢ), one per row
        losses = xp.log(self.sums)
        losses -= shifted.take(self.picks)  # ℓᵢ = ln Σⱼ e^(zᵢⱼ − mᵢ) − (z_{i,yᵢ} − mᵢ)
        self.weights = None if weight is None else weight[target1]
        if self.weights is not None:
            losses *= self.weights
        self.denominator = count if self.weights is None else self.weights.sum()
        if reduction == "none":
            return losses.reshape(()) if single else losses
        total = self.ones.dot(losses)
        return total / self.denominator if reduction == "mean" else total

    def backward(self, grad):
        grad_z = self.exp / self.sums[:, None]  # softmax(zᵢ)
        # − onehot(yᵢ): a new C-ordered array, so its flat reshape is a view (subtracting an array
        # of ones costs half of subtracting the number 1 at these positions)
        grad_z.reshape(-1)[self.picks] -= self.ones
        if self.reduction == "none":
            per_row = grad.reshape(-1)
        else:  # one number, as a Python float (see _scale): no 0-d array arithmetic
            per_row = float(grad) / float(self.denominator) if self.reduction == "mean" else float(grad)
        if self.weights is not None:
            per_row = per_row * self.weights
        if isinstance(per_row, float):
            grad_z *= backend.constant(per_row, grad_z.dtype)
        else:
            grad_z *= per_row[:, None]
        return (grad_z[0] if self.single else grad_z), None


@functools.lru_cache(maxsize=64)
def _layout(count: int, classes: int, dtype):
    """Kept read-only arrays for a batch of ``count`` rows of ``classes`` scores: the flat position
    of each row's first entry (0, C, 2C, …), and vectors of ones of length N and C."""
    row_starts = backend.xp.arange(0, count * classes, classes)
    row_starts.flags.writeable = False
    return row_starts, backend.constant(1, dtype, (count,)), backend.constant(1, dtype, (classes,))


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


class L1Loss(Function):
    """Mean absolute error:  L = (1/n) Σᵢ |hᵢ − yᵢ|;  ∂L/∂h = sign(h − y)/n,  ∂L/∂y = −∂L/∂h."""

    def forward(self, prediction, target, reduction="mean"):
        self.reduction = reduction
        self.diff = prediction - target
        return _reduce(backend.xp.abs(self.diff), reduction)

    def backward(self, grad):
        grad_h = _scale(grad, self.reduction, self.diff.size) * backend.xp.sign(self.diff)
        grad_y = -grad_h if self.parents[1].requires_grad else None
        return grad_h, grad_y


class HuberLoss(Function):
    """Huber loss with threshold δ, on d = h − y:

    ℓ = ½ d² for |d| < δ, else δ (|d| − ½ δ);   ∂ℓ/∂h = d for |d| < δ, else δ sign(d)
    (the derivative is d clipped to [−δ, δ]);  ∂ℓ/∂y = −∂ℓ/∂h.
    """

    def forward(self, prediction, target, reduction="mean", delta=1.0):
        xp = backend.xp
        self.reduction, self.delta = reduction, delta
        self.diff = prediction - target
        size = xp.abs(self.diff)
        losses = xp.where(size < delta, 0.5 * self.diff * self.diff, delta * (size - 0.5 * delta))
        return _reduce(losses, reduction)

    def backward(self, grad):
        clipped = backend.xp.clip(self.diff, -self.delta, self.delta)
        grad_h = _scale(grad, self.reduction, self.diff.size) * clipped
        grad_y = -grad_h if self.parents[1].requires_grad else None
        return grad_h, grad_y


LOG_FLOOR = -100.0
"""BCE clamps its logarithms at −100 (as PyTorch does), so h = 0 or 1 gives a finite loss."""

BCE_EPSILON = 9.999999960041972e-13
"""The floor of h(1 − h) in BCE's derivative: PyTorch's 1e-12, rounded to float32 as PyTorch does."""


class BCELoss(Function):
    """Binary cross-entropy of probabilities h ∈ [0, 1] against targets y ∈ [0, 1]:

    ℓ = −w [y max(ln h, −100) + (1 − y) max(ln(1 − h), −100)],
    ∂ℓ/∂h = w (h − y) / max(h(1 − h), 10⁻¹²),
    ∂ℓ/∂y = w [max(ln(1 − h), −100) − max(ln h, −100)].

    ``weight`` (optional) rescales each element and broadcasts to h's shape.  For logits, prefer
    :class:`BCEWithLogitsLoss`, which is stable without the clamps.
    """

    def forward(self, probabilities, target, weight=None, reduction="mean"):
        xp = backend.xp
        if probabilities.size and (probabilities.min() < 0 or probabilities.max() > 1):
            raise ValueError(
                "binary_cross_entropy: every input must lie in [0, 1] (probabilities); apply "
                "sigmoid first, or use BCEWithLogitsLoss on the logits"
            )
        self.reduction, self.h, self.y, self.weight = reduction, probabilities, target, weight
        with xp.errstate(divide="ignore"):
            self.log_h = xp.maximum(xp.log(probabilities), LOG_FLOOR)
            self.log_1mh = xp.maximum(xp.log1p(-probabilities), LOG_FLOOR)
        losses = -(target * self.log_h + (1 - target) * self.log_1mh)
        if weight is not None:
            losses = losses * weight
        return _reduce(losses, reduction)

    def backward(self, grad):
        h, y = self.h, self.y
        scale = _scale(grad, self.reduction, h.size)
        if self.weight is not None:
            scale = scale * self.weight
        grad_h = scale * (h - y) / backend.xp.maximum(h * (1 - h), BCE_EPSILON)
        grad_y = scale * (self.log_1mh - self.log_h) if self.parents[1].requires_grad else None
        return grad_h, grad_y


class NLLLoss(Function):
    """Negative log-likelihood of log-probabilities x (N, C) or (C,) and integer labels y.

    ℓᵢ = −w_{yᵢ} x_{i,yᵢ};  the mean divides by Σᵢ w_{yᵢ} (n without weights), as PyTorch does.
    ∂ℓᵢ/∂x_{i,c} = −w_{yᵢ} for c = yᵢ, else 0.  With x = log_softmax(z) this is cross-entropy.
    """

    def forward(self, log_probs, target, weight=None, reduction="mean"):
        xp = backend.xp
        single, log_probs2, target1 = class_targets("nll_loss", log_probs, target)
        self.shape, self.single, self.reduction, self.target = log_probs2.shape, single, reduction, target1
        self.rows = xp.arange(target1.shape[0])
        self.weights = xp.ones(target1.shape, log_probs.dtype) if weight is None else weight[target1]
        losses = -log_probs2[self.rows, target1] * self.weights
        self.denominator = self.weights.sum()
        out = losses.sum() / self.denominator if reduction == "mean" else _reduce(losses, reduction)
        return out.reshape(()) if single and reduction == "none" else out

    def backward(self, grad):
        per_row = grad / self.denominator if self.reduction == "mean" else grad
        per_row = backend.xp.reshape(per_row, -1) if self.reduction == "none" else per_row
        grad_x = backend.xp.zeros(self.shape, dtype=self.weights.dtype)
        grad_x[self.rows, self.target] = -per_row * self.weights
        return (grad_x[0] if self.single else grad_x), None
