"""Functions behind the layers and losses, for use without modules (``torch.nn.functional``)."""

from __future__ import annotations

from typing import Any

from chainrule import backend
from chainrule.ops import elementwise, layers, losses
from chainrule.tensor import Tensor, apply_op


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


def linear(x: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """z = x Wᵀ + b, with ``weight`` of shape (out, in)."""
    parents = (_as_tensor(x), weight) if bias is None else (_as_tensor(x), weight, bias)
    return apply_op(layers.Linear, parents)


def sigmoid(z: Any) -> Tensor:
    """σ(z) = 1 / (1 + e⁻ᶻ);  σ′ = σ(1 − σ)."""
    return apply_op(elementwise.Sigmoid, (_as_tensor(z),))


def tanh(z: Any) -> Tensor:
    """tanh(z);  tanh′ = 1 − tanh²."""
    return apply_op(elementwise.Tanh, (_as_tensor(z),))


def relu(z: Any) -> Tensor:
    """max(0, z)."""
    return apply_op(elementwise.ReLU, (_as_tensor(z),))


def leaky_relu(z: Any, negative_slope: float = 0.01) -> Tensor:
    """z for z > 0, else ``negative_slope``·z."""
    return apply_op(elementwise.LeakyReLU, (_as_tensor(z),), negative_slope=negative_slope)


def gelu(z: Any, approximate: str = "none") -> Tensor:
    """z Φ(z) (``approximate="tanh"``: ½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))), as ``torch.nn.functional.gelu``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' (exact) or 'tanh', got {approximate!r}")
    return apply_op(elementwise.GELU, (_as_tensor(z),), approximate=approximate)


def silu(z: Any) -> Tensor:
    """z σ(z)."""
    return apply_op(elementwise.SiLU, (_as_tensor(z),))


def softplus(z: Any, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) ln(1 + e^(βz)), and z where βz > ``threshold``."""
    return apply_op(elementwise.Softplus, (_as_tensor(z),), beta=beta, threshold=threshold)


def elu(z: Any, alpha: float = 1.0) -> Tensor:
    """z for z > 0, else α(eᶻ − 1)."""
    return apply_op(elementwise.ELU, (_as_tensor(z),), alpha=alpha)


def identity(z: Any) -> Tensor:
    """z itself (a linear output layer)."""
    return apply_op(elementwise.Identity, (_as_tensor(z),))


def softmax(z: Any, dim: int = -1) -> Tensor:
    """e^zᵢ / Σⱼ e^zⱼ along ``dim``."""
    return apply_op(layers.Softmax, (_as_tensor(z),), axis=dim)


def log_softmax(z: Any, dim: int = -1) -> Tensor:
    """ln softmax(z) along ``dim``."""
    return apply_op(layers.LogSoftmax, (_as_tensor(z),), axis=dim)


def dropout(x: Any, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """x ⊙ m / (1 − p) with m_i ~ Bernoulli(1 − p) when ``training``, else x itself."""
    x = _as_tensor(x)
    if not training or p == 0:
        return x
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: p is a probability and must lie in [0, 1], got {p}")
    keep = backend.generator(generator).random(x.shape) >= p
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return x * Tensor(keep.astype(x.dtype) * x.dtype.type(scale))


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` unless ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``."""
    if reduction not in losses.REDUCTIONS:
        raise ValueError(f"reduction must be one of {losses.REDUCTIONS}, got {reduction!r}")


def _target(target: Any, reduction: str) -> Tensor:
    """``target`` as a tensor, after checking ``reduction``."""
    check_reduction(reduction)
    return _as_tensor(target)


def _paired(name: str, prediction: Tensor, target: Any, reduction: str) -> Tensor:
    """``target`` as a tensor (:func:`_target`), checked to have the prediction's shape (the
    element-wise losses compare the two entry by entry)."""
    target = _target(target, reduction)
    if prediction.data.shape != target.data.shape:
        raise ValueError(
            f"{name}: prediction has shape {tuple(prediction.shape)} but target has shape "
            f"{tuple(target.shape)}; they must match (reshape the target, e.g. y.reshape(-1, 1))"
        )
    return target


def mse_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(1/n) Σ (h − y)² over all elements (``reduction="sum"``: Σ (h − y)²)."""
    target = _paired("mse_loss", prediction, target, reduction)
    return apply_op(losses.MSELoss, (prediction, target), reduction=reduction)


def cross_entropy(logits: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of ``logits`` (N, C) against integer labels (N,)."""
    target = _target(target, reduction)
    weight = None if weight is None else _weight_array(weight, logits)
    return apply_op(losses.CrossEntropyLoss, (logits, target), weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """−[y ln σ(z) + (1 − y) ln(1 − σ(z))], computed stably from the logits z."""
    target = _paired("binary_cross_entropy_with_logits", logits, target, reduction)
    return apply_op(losses.BCEWithLogitsLoss, (logits, target), reduction=reduction)


def l1_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(1/n) Σ |h − y| over all elements (``reduction="sum"``: Σ |h − y|)."""
    target = _paired("l1_loss", prediction, target, reduction)
    return apply_op(losses.L1Loss, (prediction, target), reduction=reduction)


def huber_loss(prediction: Tensor, target: Any, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """½ d² where |d| < δ, else δ(|d| − ½δ), for d = h − y; reduced over all elements."""
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    target = _paired("huber_loss", prediction, target, reduction)
    return apply_op(losses.HuberLoss, (prediction, target), reduction=reduction, delta=delta)


def _weight_array(weight: Any, like: Tensor) -> Any:
    """A weight given as tensor, array or list, as an array of ``like``'s dtype (or None)."""
    if weight is None:
        return None
    weight = weight.data if isinstance(weight, Tensor) else weight
    return backend.xp.asarray(weight, dtype=like.dtype)


def binary_cross_entropy(prediction: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """−w [y ln h + (1 − y) ln(1 − h)] for probabilities h, logs clamped at −100 as in PyTorch."""
    target = _paired("binary_cross_entropy", prediction, target, reduction)
    return apply_op(losses.BCELoss, (prediction, target), weight=_weight_array(weight, prediction), reduction=reduction)


def nll_loss(log_probs: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """−w_y x_y for log-probabilities x (N, C) and integer labels y (N,); the mean divides by Σ w_y."""
    target = _target(target, reduction)
    return apply_op(losses.NLLLoss, (log_probs, target), weight=_weight_array(weight, log_probs), reduction=reduction)


def _per_sample(squares: Tensor, reduction: str) -> Tensor:
    per_sample = squares.sum(axis=-1) if squares.ndim else squares
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def sum_squared_error(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """C = Σ_j (h_j − y_j)² per sample (over the last axis), then reduced over the samples."""
    target = _paired("sum_squared_error", prediction, target, reduction)
    difference = prediction - target
    return _per_sample(difference * difference, reduction)


def half_squared_error(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """L = ½ Σ_k (y_k − h_k)² per sample (over the last axis), then reduced over the samples."""
    return 0.5 * sum_squared_error(prediction, target, reduction)
