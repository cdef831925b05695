"""Metrics: numbers that say how good a model's outputs are, computed from arrays.

Each metric is a function ``metric(output, target) -> float`` of the model's outputs (N, C) or
(N, 1) and the targets (class labels (N,), one-hot or multi-hot rows (N, C), or real values),
accumulated in float64.  :data:`METRICS` maps the names used by ``fit(metrics=[...])``, the
history and the command line to these functions.  Classification metrics follow scikit-learn's
definitions (``accuracy_score``, ``precision_recall_fscore_support``, ``roc_auc_score``,
``top_k_accuracy_score``, ``confusion_matrix``); :func:`confusion_matrix` and the per-class forms
(``average=None``) give arrays for reports rather than the history.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chainrule import backend
from chainrule.nn.loss import BCELoss

Metric = Callable[[Any, Any], float]


def predicted_classes(output: Any, threshold: float = 0.0) -> Any:
    """Class labels from scores: argmax over the last axis of (N, C) scores, or 1 where a single
    column is above ``threshold`` (binary classification: 0 for a logit, σ(z) > ½ ⇔ z > 0;
    0.5 for a probability)."""
    output = backend.xp.asarray(output)
    if output.ndim == 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    return (output.reshape(len(output)) > threshold).astype(backend.xp.int64)


def _indicator(output: Any, target: Any) -> Any:
    """``target`` as a 0/1 array if it is one column of 0/1 per output column (one-hot or multi-hot
    targets of (N, C) outputs, C > 1), else None."""
    target = backend.xp.asarray(target)
    output_shape = backend.xp.shape(output)
    if target.ndim != 2 or target.shape != tuple(output_shape) or target.shape[1] < 2:
        return None
    if not backend.xp.isin(target, (0, 1)).all():
        raise ValueError(
            f"targets of shape {target.shape} beside outputs of that shape must be 0/1 indicators (one-hot or "
            "multi-hot); give class labels (N,) for other targets"
        )
    return target.astype(backend.xp.int64)


def _class_labels(output: Any, target: Any) -> Any:
    """True class labels (N,): the labels themselves, or the argmax of one-hot rows."""
    indicator = _indicator(output, target)
    if indicator is None:
        return backend.xp.asarray(target).reshape(-1).astype(backend.xp.int64)
    if not (indicator.sum(axis=1) == 1).all():
        raise ValueError(
            "targets with more than one (or no) 1 in a row are multi-label; this metric needs one class per sample"
        )
    return indicator.argmax(axis=1)


def accuracy(output: Any, target: Any, threshold: float = 0.0) -> float:
    """Fraction of samples predicted right: (1/N) Σᵢ [ŷᵢ = yᵢ], as scikit-learn's ``accuracy_score``.

    * Class labels (N,), or one-hot rows (N, C): ŷᵢ is the predicted class
      (:func:`predicted_classes`), compared with the label (the 1's column of a one-hot row).
    * Multi-hot rows (N, C) (some row with no 1 or several): multi-label; each output is a label
      of its own, predicted when above ``threshold``, and a sample counts when all its labels are
      right (scikit-learn's subset accuracy; :func:`binary_accuracy` counts each label).

    ``threshold`` is 0 for logits (the default) and 0.5 for probabilities (``BCELoss`` with a
    sigmoid output: the trainer passes it, see :func:`get_metric`).
    """
    indicator = _indicator(output, target)
    if indicator is not None and not (indicator.sum(axis=1) == 1).all():
        predicted = backend.xp.asarray(output) > threshold
        return float((predicted == indicator.astype(bool)).all(axis=1).mean())
    return float((predicted_classes(output, threshold) == _class_labels(output, target)).mean())


def binary_accuracy(output: Any, target: Any, threshold: float = 0.0) -> float:
    """Fraction of labels predicted right, each output on its own: (1/(N·C)) Σᵢₖ [[hᵢₖ > t] = yᵢₖ]
    (Keras's ``binary_accuracy``; 1 − scikit-learn's ``hamming_loss`` for multi-label targets)."""
    output = backend.xp.asarray(output)
    target = backend.xp.asarray(target).reshape(output.shape)
    return float(((output > threshold) == (target > 0.5)).mean())


def confusion_matrix(output: Any, target: Any, num_classes: int | None = None, threshold: float = 0.0) -> Any:
    """Counts Mᵢⱼ of samples of true class i predicted as class j (scikit-learn's convention: rows
    true, columns predicted), an int64 (C, C) array; C is ``num_classes``, else the number of
    output columns (2 for one column), else one more than the largest label seen."""
    true, predicted = _class_labels(output, target), predicted_classes(output, threshold)
    if num_classes is None:
        columns = backend.xp.shape(output)[1] if len(backend.xp.shape(output)) == 2 else 1
        num_classes = max(columns if columns > 1 else 2, int(max(true.max(initial=0), predicted.max(initial=0))) + 1)
    matrix = backend.xp.zeros((num_classes, num_classes), dtype=backend.xp.int64)
    backend.xp.add.at(matrix, (true, predicted), 1)
    return matrix


def _binary(output: Any) -> bool:
    shape = backend.xp.shape(output)
    return len(shape) == 1 or shape[1] == 1


def _per_class(output: Any, target: Any, threshold: float, average: str | None) -> tuple:
    """(true positives, predicted positives, actual positives) per class, and the classes to
    average over: those among the labels or the predictions (scikit-learn's ``labels``), or class
    1 alone for ``average="binary"``."""
    matrix = confusion_matrix(output, target, threshold=threshold)
    hits = backend.xp.diagonal(matrix).astype(backend.float64)
    predicted, actual = matrix.sum(axis=0).astype(backend.float64), matrix.sum(axis=1).astype(backend.float64)
    if average == "binary":
        return hits[1:2], predicted[1:2], actual[1:2]
    present = (predicted + actual) > 0
    return hits[present], predicted[present], actual[present]


def _ratio(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's ``zero_division=0``)."""
    return numerator / backend.xp.where(denominator > 0, denominator, 1.0)


def _averaged(values: Any, average: str | None) -> Any:
    if average is None:
        return values
    if average not in ("macro", "binary"):
        raise ValueError(f"average must be 'macro', 'binary' or None (one value per class), got {average!r}")
    return float(values.mean()) if len(values) else 0.0


def _average_for(output: Any, average: str | None) -> str | None:
    return ("binary" if _binary(output) else "macro") if average == "auto" else average


def precision(output: Any, target: Any, average: str | None = "auto", threshold: float = 0.0) -> Any:
    """Of the samples predicted as class c, the fraction that are c: P_c = TP_c / (TP_c + FP_c).

    ``average``: ``"macro"`` (the mean over the classes among the labels and predictions),
    ``"binary"`` (class 1's alone), None (one value per class, an array), or ``"auto"`` (the
    default: binary for one output column, macro otherwise, as scikit-learn's defaults for those
    targets).  A class never predicted has P_c = 0 (scikit-learn's ``zero_division=0``).
    """
    average = _average_for(output, average)
    hits, predicted, _ = _per_class(output, target, threshold, average)
    return _averaged(_ratio(hits, predicted), average)


def recall(output: Any, target: Any, average: str | None = "auto", threshold: float = 0.0) -> Any:
    """Of the samples of class c, the fraction predicted as c: R_c = TP_c / (TP_c + FN_c);
    ``average`` as for :func:`precision`."""
    average = _average_for(output, average)
    hits, _, actual = _per_class(output, target, threshold, average)
    return _averaged(_ratio(hits, actual), average)


def f1(output: Any, target: Any, average: str | None = "auto", threshold: float = 0.0) -> Any:
    """The harmonic mean of precision and recall per class, F1_c = 2 P_c R_c / (P_c + R_c)
    = 2 TP_c / (2 TP_c + FP_c + FN_c), then averaged (macro: the mean of the F1_c, not the F1 of
    the mean P and R, as scikit-learn's ``f1_score``); ``average`` as for :func:`precision`."""
    average = _average_for(output, average)
    hits, predicted, actual = _per_class(output, target, threshold, average)
    return _averaged(_ratio(2 * hits, predicted + actual), average)


def roc_auc(output: Any, target: Any) -> float:
    """The area under the ROC curve of a binary classifier: the probability that a random
    positive sample scores above a random negative one (ties count ½),

    AUC = (Σ_{i positive} rank(sᵢ) − n₊(n₊ + 1)/2) / (n₊ n₋),

    ranks from 1 with ties sharing their mean rank (Mann–Whitney U), as scikit-learn's
    ``roc_auc_score``.  The score sᵢ is the single output column (a logit or a probability: the
    ranking is the same), or z₁ − z₀ for two columns (which ranks as softmax's p₁).
    """
    xp = backend.xp
    output = xp.asarray(output, dtype=backend.float64)
    if output.ndim == 2 and output.shape[1] == 2:
        scores = output[:, 1] - output[:, 0]
    elif output.ndim == 1 or output.shape[1] == 1:
        scores = output.reshape(-1)
    else:
        raise ValueError(
            f"roc_auc is for binary classification (1 or 2 output columns), got outputs of shape {output.shape}"
        )
    labels = _class_labels(output, target)
    positive = labels == 1
    n_positive, n_negative = int(positive.sum()), int((~positive).sum())
    if not n_positive or not n_negative:
        raise ValueError("roc_auc needs both classes among the targets; with one class the area is not defined")
    _, where, counts = xp.unique(scores, return_inverse=True, return_counts=True)
    mean_ranks = xp.cumsum(counts) - (counts - 1) / 2
    rank_sum = float(mean_ranks[where.reshape(-1)][positive].sum())
    return (rank_sum - n_positive * (n_positive + 1) / 2) / (n_positive * n_negative)


def top_k_accuracy(output: Any, target: Any, k: int = 5) -> float:
    """Fraction of samples whose label is among the k highest scores: (1/N) Σᵢ [yᵢ ∈ top-k(hᵢ)]
    (k ≥ C gives 1).  Among equal scores the later class ranks higher, as scikit-learn's
    ``top_k_accuracy_score`` (a stable sort, reversed)."""
    output = backend.xp.asarray(output)
    if output.ndim != 2 or output.shape[1] < 2:
        raise ValueError(f"top-k accuracy needs (N, C) class scores with C ≥ 2, got shape {output.shape}")
    labels = _class_labels(output, target)
    best = backend.xp.argsort(output, axis=1, kind="stable")[:, ::-1][:, :k]
    return float((best == labels[:, None]).any(axis=1).mean())


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


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "binary_accuracy": binary_accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "roc_auc": roc_auc,
    "top_5_accuracy": top_k_accuracy,
    "mse": mse,
    "rmse": rmse,
    "mae": mae,
    "r2": r2,
}
"""Metric name → function, the names accepted by ``fit(metrics=...)``; ``top_K_accuracy`` takes
any K (``top_3_accuracy``)."""

HIGHER_IS_BETTER = frozenset({"accuracy", "binary_accuracy", "precision", "recall", "f1", "roc_auc", "r2"})
"""Metrics to maximise (and every ``top_K_accuracy``); every other logged quantity (losses,
errors) is minimised."""

THRESHOLDED = frozenset({"accuracy", "binary_accuracy", "precision", "recall", "f1"})
"""Metrics that turn one output column (or multi-label outputs) into classes at a threshold."""


def _top_k(name: str) -> int | None:
    """K of a ``top_K_accuracy`` name, or None."""
    middle = name.removeprefix("top_").removesuffix("_accuracy")
    if name.startswith("top_") and name.endswith("_accuracy") and middle.isdigit() and int(middle) > 0:
        return int(middle)
    return None


def get_metric(name: str, loss_fn: Any = None) -> Metric:
    """The metric function called ``name`` (a key of :data:`METRICS`, or ``top_K_accuracy``).

    With ``loss_fn`` a loss on probabilities (``BCELoss``: the model ends in a sigmoid), the
    thresholded metrics cut at 0.5 instead of 0 (the logit threshold), so that ``BCELoss`` models
    report their accuracy as they are.
    """
    k = _top_k(name)
    if k is not None:
        return functools.partial(top_k_accuracy, k=k)
    try:
        metric = METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; choose from {', '.join(METRICS)} or top_K_accuracy") from None
    if name in THRESHOLDED and isinstance(loss_fn, BCELoss):
        return functools.partial(metric, threshold=0.5)
    return metric


def higher_is_better(name: str) -> bool:
    """Whether a logged quantity such as ``val_accuracy`` improves upwards (accuracy, R², F1, …)."""
    name = name.removeprefix("val_")
    return name in HIGHER_IS_BETTER or _top_k(name) is not None
