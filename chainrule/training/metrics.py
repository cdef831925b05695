"""Metrics: numbers that say how good a model's outputs are, computed from arrays.

Each metric is a function ``metric(output, target) -> float`` of the model's outputs (N, C) or
(N, 1) and the targets, accumulated in float64.  :data:`METRICS` maps the names used by
``fit(metrics=[...])``, the history and the command line to these functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chainrule import backend

Metric = Callable[[Any, Any], float]


def predicted_classes(output: Any) -> Any:
    """Class labels from scores: argmax over the last axis of (N, C) logits, or 1 where a single
    logit column is positive (binary classification, σ(z) > ½ ⇔ z > 0)."""
    output = backend.xp.asarray(output)
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    return (output.reshape(len(output)) > 0).astype(backend.xp.int64)


def accuracy(output: Any, target: Any) -> float:
    """Fraction of samples whose predicted class (see :func:`predicted_classes`) equals the label:
    (1/N) Σᵢ [ŷᵢ = yᵢ]."""
    target = backend.xp.asarray(target).reshape(-1)
    return float((predicted_classes(output) == target).mean())


def _residuals(output: Any, target: Any) -> Any:
    output = backend.xp.asarray(output, dtype=backend.float64)
    target = backend.xp.asarray(target, dtype=backend.float64)
    if output.size != target.size:
        raise ValueError(f"outputs of shape {output.shape} and targets of shape {target.shape} do not pair up")
    return output.reshape(target.shape) - target


def mse(output: Any, target: Any) -> float:
    """Mean squared error  (1/n) Σ (hᵢ − yᵢ)²  over all n elements."""
    residuals = _residuals(output, target)
    return float((residuals * residuals).mean())


def rmse(output: Any, target: Any) -> float:
    """Root mean squared error  √((1/n) Σ (hᵢ − yᵢ)²), in the target's units."""
    return mse(output, target) ** 0.5


def mae(output: Any, target: Any) -> float:
    """Mean absolute error  (1/n) Σ |hᵢ − yᵢ|."""
    return float(backend.xp.abs(_residuals(output, target)).mean())


def r2(output: Any, target: Any) -> float:
    """Coefficient of determination  R² = 1 − Σ (yᵢ − hᵢ)² / Σ (yᵢ − ȳ)²  (per output column,
    then averaged, as scikit-learn's ``r2_score``).  1 is perfect; 0 is as good as predicting ȳ."""
    target = backend.xp.asarray(target, dtype=backend.float64)
    residuals = _residuals(output, target).reshape(len(target), -1)
    target = target.reshape(residuals.shape)
    total = ((target - target.mean(axis=0)) ** 2).sum(axis=0)
    explained = 1 - (residuals**2).sum(axis=0) / backend.xp.where(total > 0, total, 1.0)
    return float(backend.xp.where(total > 0, explained, 0.0).mean())


METRICS: dict[str, Metric] = {"accuracy": accuracy, "mse": mse, "rmse": rmse, "mae": mae, "r2": r2}
"""Metric name → function, the names accepted by ``fit(metrics=...)``."""

HIGHER_IS_BETTER = frozenset({"accuracy", "r2"})
"""Metrics to maximise; every other logged quantity (losses, errors) is minimised."""


def get_metric(name: str) -> Metric:
    """The metric function called ``name`` (``"accuracy"``, ``"mse"``, ``"rmse"``, ``"mae"``, ``"r2"``)."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}") from None


def higher_is_better(name: str) -> bool:
    """Whether a logged quantity such as ``val_accuracy`` improves upwards (accuracy, R²)."""
    return name.removeprefix("val_") in HIGHER_IS_BETTER
