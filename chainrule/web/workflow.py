"""The page's one door to the training workflow: names of the pieces, tables to arrays, one step.

The page offers what the library has and trains as ``chainrule train`` does, with the same pieces
(:mod:`chainrule.training.workflow`, :mod:`chainrule.training.names`, the registry): tables go
through the same :class:`~chainrule.data.Preprocessor` (z-scores, one-hot, the same checks and
messages), datasets without a test split are split as the CLI splits them
(:func:`~chainrule.training.workflow.dataset_tables`), the model is
:func:`~chainrule.training.workflow.build_model`'s, and a step is the fit loop's own
:meth:`Trainer.train_step <chainrule.training.Trainer.train_step>` with its divergence guard: on a
NaN, infinite or exploding loss no step is taken, the weights from before the last step come back
and :class:`DivergedError` carries ``fit``'s message.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from chainrule import backend, nn, optim
from chainrule.data import Preprocessor, Table, train_test_split
from chainrule.nn import registry
from chainrule.training import DivergenceWarning, Trainer, names, workflow

ACTIVATIONS: dict[str, Any] = {entry.unit_label: entry.make for entry in registry.ACTIVATIONS.values()}
"""Activation name → a function making it: the registry's, by the label a walk-through gives the units
(``Layer.activation_name``: ``"linear"`` for the identity, else the ``chainrule train`` name)."""

_REGISTRY_NAME = {entry.unit_label: name for name, entry in registry.ACTIVATIONS.items()}


def _description(module: type) -> str:
    """A loss's one-line description: the first sentence of its class's docstring."""
    line = (module.__doc__ or module.__name__).strip().splitlines()[0]
    return line.split(".  ")[0].rstrip(".,")


LOSSES: dict[str, tuple[type[nn.Module], str, str]] = {
    name: (entry.module, entry.task or "binary", _description(entry.module))
    for name, entry in registry.LOSSES.items()
    if entry.task is not None or name == "bce"
}
"""Loss name (the registry's) → (module, task it fits, description): the losses ``chainrule train``
offers for each task, and ``bce`` (binary cross-entropy on one logit) for two-class tasks."""

OPTIMIZERS = names.OPTIMIZERS
"""Optimizer names, as ``chainrule train --optimizer`` spells them (momentum: SGD with μ = 0.9)."""


@dataclass
class Arrays:
    """A table's model arrays: features ``x`` and encoded targets ``y`` for the training and test rows."""

    x_train: Any
    y_train: Any
    x_test: Any
    y_test: Any
    task: str
    classes: list[str]
    feature_names: list[str]
    preprocessor: Preprocessor | None = None


def losses_for(task: str, classes: int) -> list[str]:
    """The loss names that fit ``task`` (with ``classes`` classes for classification)."""
    fits = {"regression"} if task == "regression" else {"classification", *(["binary"] if classes == 2 else [])}
    return [name for name, (_, kind, _) in LOSSES.items() if kind in fits]


def make_loss(name: str) -> nn.Module:
    """The loss module named ``name`` (a key of :data:`LOSSES`)."""
    return names.loss(name)


def make_optimizer(name: str, parameters: Any, lr: float, weight_decay: float) -> optim.Optimizer:
    """The optimizer ``chainrule train --optimizer NAME`` builds (:func:`chainrule.training.names.optimizer`),
    with learning rate η and L2 decay λ (w ← w − η(∂L/∂w + λw) for ``sgd``)."""
    return names.optimizer(name, parameters, lr=lr, weight_decay=weight_decay)


def build_model(inputs: int, hidden: list[int], activations: list[str], outputs: int) -> nn.Sequential:
    """``Linear → activation`` for each hidden width (activations by the page's labels), then a
    linear output layer, in float64: :func:`chainrule.training.workflow.build_model`."""
    layers = [_REGISTRY_NAME[label] for label in activations]
    return workflow.build_model(inputs, tuple(hidden), outputs, layers, dtype="float64")


def _encode(preprocessor: Preprocessor, train: Table, test: Table | None) -> Arrays:
    x_train = preprocessor.fit_transform(train).astype("float64")
    y_train = preprocessor.transform_target(train)
    x_test = y_test = None
    if test is not None and len(test):
        x_test, y_test = preprocessor.transform(test).astype("float64"), preprocessor.transform_target(test)
    classes = [str(c) for c in preprocessor.classes_] if preprocessor.task == "classification" else []
    as_float = (lambda y: y) if classes else (lambda y: None if y is None else y.astype("float64"))
    return Arrays(
        x_train,
        as_float(y_train),
        x_test,
        as_float(y_test),
        preprocessor.task,
        classes,
        list(preprocessor.feature_names_out),
        preprocessor,
    )


def dataset_arrays(name: str) -> tuple[Arrays, str]:
    """A bundled dataset's arrays, split and preprocessed as ``chainrule train --dataset NAME`` does;
    and its description."""
    dataset, train, test = workflow.dataset_tables(name)
    preprocessor = Preprocessor(target=dataset.target, task=dataset.task, **dataset.preprocessing)
    return _encode(preprocessor, train, test), dataset.description


def table_arrays(table: Table, target: str, features: list[str] | None, test_ratio: float, seed: int) -> Arrays:
    """An uploaded table's arrays, preprocessed as ``chainrule train DATA.csv --target COL --features …``."""
    preprocessor = Preprocessor(target=target, features=features)
    if target not in table.columns:
        raise ValueError(f"target column {target!r} is not in the data; the columns are {table.columns}; pick one")
    train, test = (table, None) if test_ratio == 0 else train_test_split(table, test_size=test_ratio, seed=seed)
    return _encode(preprocessor, train, test)


def model_arrays(preprocessor: Preprocessor, table: Table) -> Arrays:
    """A saved model's data (``chainrule serve MODEL --data CSV``): encoded with the model's own fitted
    preprocessing, never refitted, all rows for training."""
    x = preprocessor.transform(table).astype("float64")
    y = preprocessor.transform_target(table)
    classes = [str(c) for c in preprocessor.classes_] if preprocessor.task == "classification" else []
    y = y if classes else y.astype("float64")
    return Arrays(x, y, None, None, preprocessor.task, classes, list(preprocessor.feature_names_out), preprocessor)


def mean_row(model: nn.Module, preprocessor: Preprocessor | None) -> Arrays:
    """A saved model shown without its data: one row at the training means (z = 0 for every
    standardised input) with the target at its mean (0), or class 0, so each gradient can still be
    explained."""
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    names = list(preprocessor.feature_names_out) if preprocessor is not None else []
    names = names or [f"x{j + 1}" for j in range(first.in_features)]
    task = preprocessor.task if preprocessor is not None else "regression"
    classes = [str(c) for c in preprocessor.classes_] if task == "classification" else []
    x = backend.xp.zeros((1, first.in_features))
    y = backend.xp.zeros(1, dtype=backend.xp.int64) if classes else backend.xp.zeros((1, last.out_features))
    return Arrays(x, y, None, None, task, classes, names, preprocessor)


class Stepper:
    """One gradient step at a time with ``fit``'s guard: the page's play, step and update phase.

    ``step(x, y, epoch, batch)`` is :meth:`Trainer.train_step <chainrule.training.Trainer.train_step>`
    on the batch (x, y): zero the gradients, forward, loss, backward, the divergence guard, the
    optimizer's step.  If the loss is NaN, infinite or has grown by orders of magnitude, no step is
    taken, the weights from before the previous step (the last whose loss passed) come back and
    :class:`DivergedError` is raised with ``fit``'s message (epoch and batch counted from 1).
    """

    def __init__(self, model: nn.Module, loss_fn: nn.Module, optimizer: optim.Optimizer) -> None:
        self.trainer = Trainer(model, loss_fn, optimizer, seed=0)

    def step(self, x: Any, y: Any, epoch: int, batch: int) -> float:
        """One step on the batch (x, y); returns its loss (before the step)."""
        trainer = self.trainer
        trainer.epoch, trainer.batch, trainer.diverged = epoch, batch, False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)  # the page shows the message itself
            value, _ = trainer.train_step((x, y))
        if trainer.diverged:
            raise DivergedError(trainer.history.stop_reason)
        return value


class DivergedError(ArithmeticError):
    """The loss became NaN or infinite, or grew by orders of magnitude; the message says where,
    why, and what to try."""
