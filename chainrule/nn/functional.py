"""Functions behind the layers and losses, for use without modules (``torch.nn.functional``)."""

from __future__ import annotations

from typing import Any

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


def identity(z: Any) -> Tensor:
    """z itself (a linear output layer)."""
    return apply_op(elementwise.Identity, (_as_tensor(z),))


def softmax(z: Any, dim: int = -1) -> Tensor:
    """e^zᵢ / Σⱼ e^zⱼ along ``dim``."""
    return apply_op(layers.Softmax, (_as_tensor(z),), axis=dim)


def log_softmax(z: Any, dim: int = -1) -> Tensor:
    """ln softmax(z) along ``dim``."""
    return apply_op(layers.LogSoftmax, (_as_tensor(z),), axis=dim)


def check_reduction(reduction: str) -> None:
    if reduction not in losses.REDUCTIONS:
        raise ValueError(f"reduction must be one of {losses.REDUCTIONS}, got {reduction!r}")


def _check_same_shape(name: str, prediction: Tensor, target: Tensor) -> None:
    if prediction.shape != target.shape:
        raise ValueError(
            f"{name}: prediction has shape {tuple(prediction.shape)} but target has shape "
            f"{tuple(target.shape)}; they must match (reshape the target, e.g. y.reshape(-1, 1))"
        )


def mse_loss(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(1/n) Σ (h − y)² over all elements (``reduction="sum"``: Σ (h − y)²)."""
    check_reduction(reduction)
    target = _as_tensor(target)
    _check_same_shape("mse_loss", prediction, target)
    return apply_op(losses.MSELoss, (prediction, target), reduction=reduction)


def cross_entropy(logits: Tensor, target: Any, weight: Any = None, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of ``logits`` (N, C) against integer labels (N,)."""
    check_reduction(reduction)
    target = _as_tensor(target)
    weight = weight.data if isinstance(weight, Tensor) else weight
    return apply_op(losses.CrossEntropyLoss, (logits, target), weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """−[y ln σ(z) + (1 − y) ln(1 − σ(z))], computed stably from the logits z."""
    check_reduction(reduction)
    target = _as_tensor(target)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    return apply_op(losses.BCEWithLogitsLoss, (logits, target), reduction=reduction)


def _per_sample(squares: Tensor, reduction: str) -> Tensor:
    per_sample = squares.sum(axis=-1) if squares.ndim else squares
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample


def sum_squared_error(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """C = Σ_j (h_j − y_j)² per sample (over the last axis), then reduced over the samples."""
    check_reduction(reduction)
    target = _as_tensor(target)
    _check_same_shape("sum_squared_error", prediction, target)
    difference = prediction - target
    return _per_sample(difference * difference, reduction)


def half_squared_error(prediction: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """L = ½ Σ_k (y_k − h_k)² per sample (over the last axis), then reduced over the samples."""
    return 0.5 * sum_squared_error(prediction, target, reduction)
