"""Names of the pieces a training run is built from: activations, losses and optimizers.

The command line (``--activation``, ``--loss``, ``--optimizer``), :class:`TrainConfig
<chainrule.training.workflow.TrainConfig>`, the page and ``Trainer(model, "cross_entropy", "adam")``
(as Keras's ``compile``) read these tables, so a name means the same thing everywhere.  A name is
looked up with ``-`` and ``_`` as the same character and without regard to case, so
``"cross-entropy"``, ``"cross_entropy"`` and ``"Cross-Entropy"`` are one loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import nn, optim

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
"""Hidden-layer activation name → module: ReLU max(0, z), tanh, the logistic σ(z) = 1/(1 + e⁻ᶻ)."""

LOSSES: dict[str, type[nn.Module]] = {
    "mse": nn.MSELoss,
    "l1": nn.L1Loss,
    "huber": nn.HuberLoss,
    "cross-entropy": nn.CrossEntropyLoss,
    "bce-with-logits": nn.BCEWithLogitsLoss,
    "bce": nn.BCELoss,
    "nll": nn.NLLLoss,
    "half-squared": nn.HalfSquaredErrorLoss,
    "sum-squared": nn.SumSquaredErrorLoss,
}
"""Loss name → module (formulas in each class's docstring)."""

TASK_LOSSES: dict[str, tuple[str, ...]] = {"regression": ("mse", "l1", "huber"), "classification": ("cross-entropy",)}
"""The losses ``chainrule train`` offers for each task; the first is the task's default."""

OPTIMIZERS: dict[str, tuple[type[optim.Optimizer], dict[str, Any]]] = {
    "sgd": (optim.SGD, {"lr": 0.01}),
    "momentum": (optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    "nesterov": (optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "adam": (optim.Adam, {}),
    "adamw": (optim.AdamW, {}),
    "rmsprop": (optim.RMSprop, {}),
    "adagrad": (optim.Adagrad, {}),
}
"""Optimizer name → (class, options that differ from the class's defaults).

``sgd`` is w ← w − η g with η = 0.01 (Keras's default; ``optim.SGD`` itself has none);
``momentum`` adds v ← μv + g, w ← w − ηv with μ = 0.9; ``nesterov`` steps along g + μv;
``adam`` (η = 0.001), ``adamw`` (decoupled weight decay 0.01), ``rmsprop`` and ``adagrad``
(η = 0.01) keep PyTorch's defaults."""


def canonical(name: str) -> str:
    """``name`` in the tables' spelling: lower case, ``_`` written ``-`` (``"Cross_Entropy"`` →
    ``"cross-entropy"``)."""
    return name.strip().lower().replace("_", "-")


def _lookup(kind: str, name: Any, table: dict[str, Any]) -> Any:
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a name such as {next(iter(table))!r}, got {type(name).__name__} {name!r}")
    try:
        return table[canonical(name)]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(table)}") from None


def activation(name: str) -> nn.Module:
    """A new hidden-layer activation module called ``name`` (a key of :data:`ACTIVATIONS`)."""
    return _lookup("activation", name, ACTIVATIONS)()


def loss(name: str) -> nn.Module:
    """A new loss module called ``name`` (a key of :data:`LOSSES`), with its default options."""
    return _lookup("loss", name, LOSSES)()


def optimizer(
    name: str, parameters: Iterable[Any], lr: float | None = None, weight_decay: float | None = None
) -> optim.Optimizer:
    """A new optimizer called ``name`` (a key of :data:`OPTIMIZERS`) over ``parameters``.

    ``lr`` and ``weight_decay`` replace the table's values when given (None keeps them).
    """
    cls, options = _lookup("optimizer", name, OPTIMIZERS)
    options = dict(options)
    if lr is not None:
        options["lr"] = lr
    if weight_decay is not None:
        options["weight_decay"] = weight_decay
    return cls(parameters, **options)
