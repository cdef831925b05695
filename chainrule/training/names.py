"""Names of the pieces a training run is built from: activations, losses and optimizers.

Activations and losses are named by the registry (:mod:`chainrule.nn.registry`: ``relu``,
``gelu-tanh``, ``mse``, ``cross-entropy``, …); optimizers by :data:`OPTIMIZERS` here.  The
command line (``--activation``, ``--loss``, ``--optimizer``), :class:`TrainConfig
<chainrule.training.workflow.TrainConfig>`, the page and ``Trainer(model, "cross_entropy", "adam")``
(as Keras's ``compile``) look names up through these functions, so a name means the same thing
everywhere.  A name is looked up with ``-`` and ``_`` as the same character and without regard to
case, so ``"cross-entropy"``, ``"cross_entropy"`` and ``"Cross-Entropy"`` are one loss.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chainrule import nn, optim
from chainrule.nn import registry

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


def _check_name(kind: str, name: Any, table: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} must be a name such as {next(iter(table))!r}, got {type(name).__name__} {name!r}")


def activation(name: str) -> nn.Module:
    """A new hidden-layer activation module called ``name`` (a key of ``registry.ACTIVATIONS``)."""
    _check_name("activation", name, registry.ACTIVATIONS)
    return registry.activation_entry(canonical(name)).make()


def loss(name: str) -> nn.Module:
    """A new loss module called ``name`` (a key of ``registry.LOSSES``, or its class's name such as
    ``"MSELoss"``), with its default options."""
    _check_name("loss", name, registry.LOSSES)
    return registry.loss_entry(canonical(name)).make()


def task_losses(task: str) -> tuple[str, ...]:
    """The losses ``chainrule train`` offers for ``task`` (``"regression"`` or
    ``"classification"``), the task's default first."""
    return registry.loss_names(task)


def optimizer(
    name: str, parameters: Iterable[Any], lr: float | None = None, weight_decay: float | None = None
) -> optim.Optimizer:
    """A new optimizer called ``name`` (a key of :data:`OPTIMIZERS`) over ``parameters``.

    ``lr`` and ``weight_decay`` replace the table's values when given (None keeps them).
    """
    _check_name("optimizer", name, OPTIMIZERS)
    if canonical(name) not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    cls, options = OPTIMIZERS[canonical(name)]
    options = dict(options)
    if lr is not None:
        options["lr"] = lr
    if weight_decay is not None:
        options["weight_decay"] = weight_decay
    return cls(parameters, **options)
