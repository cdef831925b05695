"""The page's one door to the training workflow: names of the pieces, tables to arrays, one step.

The page offers what the library has and trains as ``chainrule train`` does: tables go through
the same :class:`~chainrule.data.Preprocessor` (z-scores, one-hot, the same checks and
messages), datasets without a test split are split 80/20 with seed 0 as the CLI splits them, and
a step is the fit loop's step with its guard against a non-finite loss
(:class:`~chainrule.training.Trainer`): zero the gradients, forward, loss, backward, step, and on
a NaN or infinite loss the weights from before the step come back with ``fit``'s message.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

from chainrule import backend, nn, optim
from chainrule.data import Preprocessor, Table, load_dataset, train_test_split
from chainrule.nn import registry
from chainrule.tensor import Tensor
from chainrule.training import NonFiniteLossWarning, Trainer
from chainrule.training.trainer import _LastFiniteWeights

ACTIVATIONS: dict[str, Any] = {entry.unit_label: entry.make for entry in registry.ACTIVATIONS.values()}
"""Activation name → a function making it: the registry's, by the label a walk-through gives the units
(``Layer.activation_name``: ``"linear"`` for the identity, else the ``chainrule train`` name)."""

LOSSES: dict[str, tuple[type[nn.Module], str, str]] = {
    "mse": (nn.MSELoss, "regression", "mean squared error (1/n) Σ (h − y)²"),
    "half-squared": (nn.HalfSquaredErrorLoss, "regression", "½ Σ (y − h)², the seeds' loss"),
    "sum-squared": (nn.SumSquaredErrorLoss, "regression", "Σ (a − y)², seed 002"),
    "l1": (nn.L1Loss, "regression", "mean absolute error"),
    "huber": (nn.HuberLoss, "regression", "Huber, δ = 1"),
    "bce": (nn.BCEWithLogitsLoss, "binary", "binary cross-entropy on one logit"),
    "cross-entropy": (nn.CrossEntropyLoss, "classification", "cross-entropy on one logit per class"),
}
"""Loss name → (module, task it fits, description); ``binary`` losses fit two-class tasks."""

OPTIMIZERS = ("sgd", "momentum", "adam")
"""Optimizer names, as ``chainrule train --optimizer`` spells them (momentum: SGD with μ = 0.9)."""

TEST_SIZE, SPLIT_SEED = 0.2, 0
"""The share and seed of the test split of a dataset that has none (``chainrule train``'s)."""


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
    return LOSSES[name][0]()


def make_optimizer(name: str, parameters: Any, lr: float, weight_decay: float) -> optim.Optimizer:
    """``sgd`` (w ← w − η(∂L/∂w + λw)), ``momentum`` (μ = 0.9) or ``adam``, with L2 decay λ."""
    if name == "adam":
        return optim.Adam(parameters, lr=lr, weight_decay=weight_decay)
    return optim.SGD(parameters, lr=lr, momentum=0.9 if name == "momentum" else 0.0, weight_decay=weight_decay)


def build_model(inputs: int, hidden: list[int], activations: list[str], outputs: int) -> nn.Sequential:
    """``Linear → activation`` for each hidden width, then a linear output layer, in float64."""
    layers: list[nn.Module] = []
    for width, activation in zip(hidden, activations):
        layers += [nn.Linear(inputs, width, dtype="float64"), ACTIVATIONS[activation]()]
        inputs = width
    return nn.Sequential(*layers, nn.Linear(inputs, outputs, dtype="float64"))


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
    dataset = load_dataset(name)
    train, test = dataset.train, dataset.test
    if test is None:
        labels = train[dataset.target] if dataset.task == "classification" else None
        train, test = train_test_split(train, test_size=TEST_SIZE, seed=SPLIT_SEED, stratify=labels)
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

    ``step(x, y, epoch, batch)`` zeroes the gradients, runs forward, the loss and backward,
    keeps a copy of the weights and takes the optimizer's step; if the loss is NaN or infinite it
    takes no step, puts back the weights from before the previous step (the last whose loss was
    finite) and raises :class:`DivergedError` with ``fit``'s message (epoch and batch counted from 1).
    """

    def __init__(self, model: nn.Module, loss_fn: nn.Module, optimizer: optim.Optimizer) -> None:
        self.trainer = Trainer(model, loss_fn, optimizer, seed=0)
        self.guard = _LastFiniteWeights(list(model.parameters()))

    def step(self, x: Any, y: Any, epoch: int, batch: int) -> float:
        """One step on the batch (x, y); returns its loss (before the step)."""
        trainer = self.trainer
        trainer.optimizer.zero_grad()
        loss = trainer.loss_fn(trainer.model(Tensor(x)), y)
        value = loss.item()
        if not math.isfinite(value):
            trainer.epoch, trainer.batch = epoch, batch
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", NonFiniteLossWarning)
                trainer._diverge(value, self.guard)
            raise DivergedError(trainer.history.stop_reason)
        loss.backward()
        self.guard.save()
        trainer.optimizer.step()
        return value


class DivergedError(ArithmeticError):
    """The loss became NaN or infinite; the message says where, why, and what to try."""
