"""One training workflow, from a table to a trained model, for the command line, the page and the estimators.

``chainrule train`` runs these steps through :func:`prepare` and :meth:`TrainingPlan.fit` (and the
scikit-learn estimators are to); the web page, which builds its network layer by layer and steps
it frame by frame, uses the same pieces (:func:`dataset_tables`, :func:`build_model`, the names,
``Trainer.train_step``):

1. **read** the data: a CSV file (``data=``), a table already in memory (``table=``, e.g. an
   upload) or a named dataset (``dataset=``; datasets without their own test split are split
   80/20 with seed 0, stratified for classes, so ``evaluate --split test`` sees the same rows);
2. **infer the task** and **preprocess**: a :class:`~chainrule.data.Preprocessor` fitted on the
   training rows (z-scores, one-hot, the target standardised or encoded as class indices);
3. **build the model**: ``Linear → activation`` per hidden width, then a linear output layer
   (one output for regression, one logit per class);
4. **choose the loss and optimizer** by name (:mod:`chainrule.training.names`), the learning-rate
   schedule and early stopping;
5. **fit** with :class:`~chainrule.training.Trainer` (the divergence guard on);
6. **score** on the training, validation and test rows, in the target's own units.

Saving is one layer up (``chainrule.io.save(path, **result.save_arguments())``).

>>> result = train(TrainConfig(dataset="iris", hidden=(16,), epochs=100, lr=0.01))
>>> result.metrics["test"]["accuracy"], result.history.history["loss"][-1]
>>> plan = prepare(TrainConfig(data="houses.csv", target="price"))   # everything decided, nothing trained
>>> plan.summary()["parameters"], plan.fit(verbose=0).metrics["train"]["r2"]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainrule import backend, nn
from chainrule.data import DataError, Preprocessor, Table, infer_task, load_dataset, read_table, train_test_split
from chainrule.data.preprocessing import IMPUTE, MAX_CATEGORIES, TASKS, UNKNOWN
from chainrule.data.statistics import Moments
from chainrule.data.streaming import SHUFFLE_BUFFER, FileBatches
from chainrule.nn import registry
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.training import names
from chainrule.training.callbacks import Callback, EarlyStopping, LearningRateScheduler
from chainrule.training.history import History
from chainrule.training.trainer import Trainer, predict

TEST_SIZE = 0.2
"""Share of the rows held out as the test split of datasets that have none (80/20)."""
SPLIT_SEED = 0
"""Seed of the test split, so ``train`` and ``evaluate --split test`` see the same rows."""
EARLY_STOPPING_VALIDATION = 0.1
"""The validation share taken when early stopping is asked for without one."""
SCHEDULES = ("cosine", "constant")
"""Learning rate over the epochs: cosine annealing from ``lr`` to 0, or constant."""
DTYPES = ("float32", "float64")
MAX_SEED = 2**64 - 1


class ConfigError(ValueError):
    """An option of :class:`TrainConfig` whose value cannot work.

    ``field`` is the option, ``problem`` the rest of the sentence (what is wrong and the fix);
    ``str(error)`` starts with the field's Python name (``lr must be …``), and
    :meth:`message` with any other spelling of it (the command line's ``--lr must be …``).
    """

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(self.message(field))

    def message(self, name: str) -> str:
        """The message with the option called ``name``."""
        return f"{name} {self.problem}"


def _option(default: Any, description: str, **cli: Any) -> Any:
    """A config field with its help text and how the command line shows it (``metavar``,
    ``choices``, ``default_text`` for a default that is not a plain value)."""
    return field(default=default, metadata={"help": description, **cli})


@dataclass(frozen=True)
class TrainConfig:
    """Every option of a training run, with its default: the one place the defaults live.

    ``chainrule train``'s options and help, the README's options table and the page read these
    fields; each field's ``metadata["help"]`` is its description.  Values are checked when the
    config is made (:class:`ConfigError` names the option and the fix); names are stored in the
    tables' spelling (``"ReLU"`` → ``"relu"``), sequences as tuples.
    """

    data: str | None = _option(None, "CSV file with a header row (or .csv.gz)", metavar="DATA.csv")
    target: str | None = _option(None, "the column to predict (needed with a CSV)", metavar="COL")
    dataset: str | None = _option(None, "a dataset instead of a CSV (see chainrule datasets)", metavar="NAME")
    data_dir: str | None = _option(None, "folder with the files of a dataset that is not bundled", metavar="DIR")
    features: tuple[str, ...] | None = _option(
        None, "input columns of the CSV, comma-separated", metavar="COLS", default_text="all but the target"
    )
    categorical: tuple[str, ...] | None = _option(
        None, "columns to one-hot encode (numbers as categories too)", metavar="COLS", default_text="the text columns"
    )
    impute: str | None = _option(
        None,
        "fill missing feature values: mean, median or most_frequent (text columns: most frequent)",
        choices=IMPUTE,
        default_text="off: a missing value is an error",
    )
    delimiter: str | None = _option(
        None, "the CSV field separator", metavar="CHAR", default_text="detected: comma, semicolon, tab or pipe"
    )
    header: bool = _option(
        True, "whether the CSV's first row holds the column names (--no-header: it is data)", default_text="it does"
    )
    max_categories: int = _option(
        MAX_CATEGORIES,
        "a text column keeps its N most frequent categories, the rest merge into one other category",
        metavar="N",
    )
    unknown: str = _option(
        "other",
        "a category not seen in training, at predict time: other (with a warning) or error",
        choices=UNKNOWN,
    )
    streaming: bool | None = _option(
        None,
        "train from the file chunk by chunk (memory bounded by the shuffle buffer, not the file)",
        default_text="when the file is over 1/8 of the memory available",
    )
    shuffle_buffer: int = _option(SHUFFLE_BUFFER, "rows the streaming shuffle buffer holds", metavar="ROWS")
    task: str | None = _option(
        None,
        "regression (1 output, target standardised) or classification (one logit per class)",
        choices=TASKS,
        default_text="inferred",
    )
    test_size: float | None = _option(
        None,
        "share of a CSV's rows held out as a test split, scored after training (stratified for classes; "
        "by a hash of the row number when streamed)",
        metavar="F",
        default_text="0 for a CSV; a dataset keeps its own split",
    )
    hidden: tuple[int, ...] = _option(
        (32, 16), "hidden layer widths ('' for none: linear / logistic regression)", metavar="WIDTHS"
    )
    activation: str = _option(
        "relu", "the activation between layers; the output layer is linear", choices=tuple(registry.ACTIVATIONS)
    )
    loss: str | None = _option(
        None,
        f"regression: {', '.join(names.task_losses('regression'))}; "
        f"classification: {', '.join(names.task_losses('classification'))}",
        choices=names.task_losses("regression") + names.task_losses("classification"),
        default_text="mse / cross-entropy",
    )
    optimizer: str = _option(
        "adam",
        "sgd, momentum (SGD, μ = 0.9), nesterov, adam, adamw, rmsprop or adagrad",
        choices=names.OPTIMIZERS,
    )
    lr: float = _option(1e-3, "learning rate (> 0)", metavar="LR")
    weight_decay: float | None = _option(
        None,
        "L2 weight decay λ (≥ 0; adamw: decoupled)",
        metavar="DECAY",
        default_text="the optimizer's: 0, adamw 0.01",
    )
    schedule: str = _option(
        "cosine", "cosine: the learning rate annealed from --lr to 0 over --epochs; constant", choices=SCHEDULES
    )
    epochs: int = _option(50, "passes over the training rows (> 0)", metavar="N")
    batch_size: int = _option(32, "rows per step; 1 is per-sample SGD", metavar="N")
    validation_split: float = _option(
        0.0,
        "share of the training rows held out for val_loss (stratified for classes)",
        metavar="F",
        default_text="0 (0.1 with early stopping)",
    )
    early_stopping: int | None = _option(
        None,
        "stop after PATIENCE epochs without a lower val_loss, keep the best weights",
        metavar="PATIENCE",
        default_text="off",
    )
    clip_grad_norm: float | None = _option(
        None, "scale each step's gradients to a joint 2-norm of at most this", metavar="MAX", default_text="off"
    )
    seed: int = _option(
        0, "seeds the weights, the shuffling and the validation split: same seed, same model file", metavar="N"
    )
    dtype: str = _option("float32", "the model's floating-point type", choices=DTYPES)

    def __post_init__(self) -> None:
        for name, value in _checked(self).items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """The options as JSON-ready data (tuples as lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> TrainConfig:
        """The config from :meth:`to_dict`'s data (keys that are not options are left out, so a
        checkpoint's ``config`` with its run facts is accepted)."""
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in options.items() if name in known})

    @property
    def validation_share(self) -> float:
        """The validation share used: ``validation_split``, or 0.1 with early stopping alone."""
        return self.validation_split or (EARLY_STOPPING_VALIDATION if self.early_stopping else 0.0)


def _checked(config: TrainConfig) -> dict[str, Any]:
    """The config's values, checked and normalised; raises :class:`ConfigError`."""
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    for name in ("data", "data_dir"):
        if values[name] is not None:
            if not isinstance(values[name], (str, os.PathLike)):
                raise ConfigError(name, f"must be a path, got {_shown(values[name])}")
            values[name] = os.fspath(values[name])
    for name in ("target", "dataset"):
        if values[name] is not None and not (isinstance(values[name], str) and values[name]):
            raise ConfigError(name, f"must be a name, got {_shown(values[name])}")
    if values["data"] is not None and values["dataset"] is not None:
        raise ConfigError("dataset", "and a CSV file were both given; train on one of them")
    for name in ("features", "categorical"):
        values[name] = _column_names(name, values[name])
    if values["delimiter"] is not None and not (isinstance(values["delimiter"], str) and len(values["delimiter"]) == 1):
        raise ConfigError("delimiter", f"must be one character such as ';' or a tab; got {_shown(values['delimiter'])}")
    for name in ("header", "streaming"):
        if not isinstance(values[name], bool) and not (name == "streaming" and values[name] is None):
            raise ConfigError(name, f"must be True or False; got {_shown(values[name])}")
    if values["unknown"] not in UNKNOWN:
        raise ConfigError("unknown", f"must be one of {', '.join(UNKNOWN)}; got {_shown(values['unknown'])}")
    for name, choices in (("impute", IMPUTE), ("task", TASKS)):
        if values[name] is not None and values[name] not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}; got {_shown(values[name])}")
    tables = (("activation", registry.ACTIVATIONS), ("optimizer", names.OPTIMIZERS), ("loss", registry.LOSSES))
    for name, table in tables:
        values[name] = _name(name, values[name], table)
    for name, choices in (("schedule", SCHEDULES), ("dtype", DTYPES)):
        if values[name] not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}; got {_shown(values[name])}")
    values["hidden"] = _widths(values["hidden"])
    values["lr"] = _number("lr", values["lr"], "a positive number such as 0.001", lambda v: v > 0)
    for name, rule, check in (
        ("weight_decay", "a number ≥ 0 such as 0.0001", lambda v: v >= 0),
        ("clip_grad_norm", "a positive number such as 1.0", lambda v: v > 0),
    ):
        if values[name] is not None:
            values[name] = _number(name, values[name], rule, check)
    for name in ("test_size", "validation_split"):
        if values[name] is not None:
            values[name] = _number(name, values[name], "at least 0 and below 1, such as 0.1", lambda v: 0 <= v < 1)
    for name, rule, low, high in (
        ("epochs", "a positive integer such as 50", 1, None),
        ("batch_size", "a positive integer (1 = per-sample SGD)", 1, None),
        ("seed", f"an integer from 0 to {MAX_SEED} (2**64 − 1), such as 0", 0, MAX_SEED),
        ("max_categories", "a positive integer such as 100", 1, None),
        ("shuffle_buffer", "a number of rows ≥ 0 such as 131072", 0, None),
    ):
        values[name] = _integer(name, values[name], rule, low, high)
    if values["early_stopping"] is not None:
        values["early_stopping"] = _integer(
            "early_stopping", values["early_stopping"], "a positive number of epochs such as 5", 1, None
        )
    return values


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _column_names(name: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if (
        isinstance(value, str)
        or not isinstance(value, Iterable)
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise ConfigError(
            name, f"must be a list of column names such as ['size_sqft', 'bedrooms'], got {_shown(value)}"
        )
    return tuple(v.strip() for v in value)


def _name(option: str, value: Any, table: dict) -> Any:
    if value is None and option == "loss":
        return None
    if not isinstance(value, str) or names.canonical(value) not in table:
        raise ConfigError(option, f"must be one of {', '.join(table)}; got {_shown(value)}")
    return names.canonical(value)


def _widths(value: Any) -> tuple[int, ...]:
    try:
        widths = tuple(value)
    except TypeError:
        widths = None
    if widths is None or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0 for w in widths):
        raise ConfigError(
            "hidden", f"must be positive layer widths such as (16, 8), or () for none; got {_shown(value)}"
        )
    return widths


def _number(option: str, value: Any, rule: str, check: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not check(value):
        raise ConfigError(option, f"must be {rule}; got {_shown(value)}")
    return float(value)


def _integer(option: str, value: Any, rule: str, low: int, high: int | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ConfigError(option, f"must be {rule}; got {_shown(value)}")
    return value


# ---------------------------------------------------------------------------------- data


def dataset_tables(name: str, data_dir: str | None = None) -> tuple[Any, Table, Table]:
    """``(dataset, train table, test table)`` of a named dataset; one without a fixed test split is
    split ``TEST_SIZE`` (80/20) with ``SPLIT_SEED`` (0), stratified by class for classification."""
    dataset = load_dataset(name, data_dir)
    if dataset.test is not None:
        return dataset, dataset.train, dataset.test
    labels = dataset.train[dataset.target] if dataset.task == "classification" else None
    train, test = train_test_split(dataset.train, test_size=TEST_SIZE, seed=SPLIT_SEED, stratify=labels)
    return dataset, train, test


def score(model: nn.Module, preprocessor: Preprocessor, tables: Table | Iterable[Table]) -> dict[str, float]:
    """The model's metrics on a table, or on the chunks of a file one at a time, in the target's own units.

    Classification: ``accuracy`` and ``loss`` (mean cross-entropy).  Regression: ``rmse``, ``mae``,
    ``r2`` = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² (0 for a constant y) and ``mse`` of the predictions mapped
    back to original units.  Also ``samples``.  Sums are kept per chunk, so memory does not grow
    with the rows.

    Raises
    ------
    DataError
        When the tables hold no rows.
    """
    from chainrule.autograd import no_grad
    from chainrule.tensor import Tensor

    xp = backend.xp
    classification = preprocessor.task == "classification"
    n = correct = 0
    loss = squared = absolute = 0.0
    truth_moments = Moments()
    for table in [tables] if isinstance(tables, Table) else tables:
        if table.n_rows == 0:
            continue
        outputs = predict(model, preprocessor.transform(table))
        n += table.n_rows
        if classification:
            y = preprocessor.transform_target(table)
            with no_grad():
                loss += nn.CrossEntropyLoss()(Tensor(outputs), y).item() * len(y)
            correct += int((xp.asarray(outputs).argmax(axis=1) == xp.asarray(y)).sum())
            continue
        truth = preprocessor.target_values(table)
        errors = preprocessor.inverse_transform_target(outputs).reshape(-1) - truth
        squared += float(xp.square(errors).sum())
        absolute += float(xp.abs(errors).sum())
        truth_moments.update(truth)
    if n == 0:
        raise DataError("the data has no rows to score; give rows with the target column")
    if classification:
        return {"accuracy": correct / n, "loss": loss / n, "samples": n}
    total = truth_moments.std**2 * n
    return {
        "rmse": (squared / n) ** 0.5,
        "mae": absolute / n,
        "r2": 1.0 - squared / total if total > 0 else 0.0,
        "mse": squared / n,
        "samples": n,
    }


# ---------------------------------------------------------------------------------- the model


def build_model(
    inputs: int,
    hidden: Sequence[int],
    outputs: int,
    activation: str | Sequence[str] = "relu",
    dtype: str = "float32",
) -> nn.Sequential:
    """``Linear → activation`` for each hidden width, then a linear output layer:
    h = W_L σ(… σ(W_1 x + b_1) …) + b_L.

    ``activation`` is one registry name for every hidden layer, or one name per hidden layer.
    """
    activations = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
    if len(activations) != len(hidden):
        raise ValueError(f"{len(activations)} activations for {len(hidden)} hidden layers; give one per layer")
    layers: list[nn.Module] = []
    for width, name in zip(hidden, activations):
        layers += [nn.Linear(inputs, width, dtype=dtype), names.activation(name)]
        inputs = width
    return nn.Sequential(*layers, nn.Linear(inputs, outputs, dtype=dtype))


def parameter_count(inputs: int, hidden: tuple[int, ...], outputs: int) -> int:
    """Σₗ (nₗ₋₁ + 1) · nₗ over the layers of :func:`build_model` (weights and biases)."""
    sizes = (inputs, *hidden, outputs)
    return sum((a + 1) * b for a, b in itertools.pairwise(sizes))


def training_memory(inputs: int, hidden: tuple[int, ...], outputs: int, batch_size: int, dtype: str) -> int:
    """Bytes a run of :func:`build_model`'s network needs at least, estimated before anything is allocated.

    With P parameters of s bytes each: P·s for each of the weights, their gradients, the flat
    gradient an optimizer may pack, the divergence guard's copy and up to two optimizer state
    arrays (Adam's moments), 6·P·s; the float64 draw that initialises the largest layer; and a
    batch's activations, 3·B·Σ widths·s (pre-activations, activations and their gradients).
    """
    size = backend.resolve_dtype(dtype).itemsize
    widths = (inputs, *hidden, outputs)
    largest = max((a * b for a, b in itertools.pairwise(widths)), default=0)
    parameters = parameter_count(inputs, hidden, outputs)
    return 6 * parameters * size + 8 * largest + 3 * batch_size * sum(widths) * size


def available_memory() -> int | None:
    """Bytes of memory available to this process now (``MemAvailable`` of ``/proc/meminfo``, else
    the machine's physical memory), or None where neither can be read."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def _check_fits(config: TrainConfig, inputs: int, outputs: int) -> None:
    """Refuse a network whose training cannot fit in memory, naming its size (before building it)."""
    needed, available = training_memory(inputs, config.hidden, outputs, config.batch_size, config.dtype), None
    if needed > 2**30:  # reading the system's figures is not worth it for small networks
        available = available_memory()
    if available is not None and needed > available:
        parameters = parameter_count(inputs, config.hidden, outputs)
        raise ConfigError(
            "hidden",
            f"{','.join(map(str, config.hidden))} makes a network of {parameters:,} parameters that needs "
            f"about {_bytes(needed)} to train, more than the {_bytes(available)} of memory available; "
            "choose smaller widths",
        )


def _bytes(n: float) -> str:
    """``43.2 GiB``: a size in bytes with a binary unit (``4.1e+17 PiB`` past the units)."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB" if n < 1024 else f"{n:.2g} PiB"


# ---------------------------------------------------------------------------------- the run


@dataclass
class TrainingPlan:
    """Everything a run decided and built, before any training: what :func:`prepare` returns.

    Attributes
    ----------
    config : TrainConfig
    preprocessor : Preprocessor
        Fitted on the training rows (``describe()``: each column's role, kind and why).
    train_table, test_table : Table or None
        In memory: the raw training rows (validation rows included) and the held-out test rows.
    x, y : arrays or None
        In memory: the encoded training rows the model is fitted on (validation rows taken out).
    train_source, test_source : FileBatches or None
        Streaming: the training rows and the held-out test rows of the file, read chunk by chunk
        (:class:`~chainrule.data.streaming.FileBatches`).
    validation : (x_val, y_val) or None
    task, task_from : str
        ``"regression"`` or ``"classification"``, and where that came from: ``"config"``,
        ``"dataset"`` or ``"inferred"`` (from the target's values, :func:`~chainrule.data.infer_task`).
    loss_name : str
    model, loss_fn, optimizer, trainer
        Built and seeded; ``trainer.fit`` has not run.
    callbacks : list of Callback
        The schedule and early stopping the config asks for.
    source : dict
        Where the data came from (stored in the checkpoint's config).
    """

    config: TrainConfig
    preprocessor: Preprocessor
    task: str
    task_from: str
    loss_name: str
    model: nn.Module
    loss_fn: nn.Module
    optimizer: Any
    trainer: Trainer
    callbacks: list[Callback]
    source: dict[str, Any]
    train_table: Table | None = None
    test_table: Table | None = None
    x: Any = None
    y: Any = None
    validation: tuple[Any, Any] | None = None
    train_source: FileBatches | None = None
    test_source: FileBatches | None = None

    @property
    def streaming(self) -> bool:
        """Whether the rows are read from the file chunk by chunk."""
        return self.train_source is not None

    @property
    def parameters(self) -> int:
        """The model's parameter count."""
        return sum(p.size for p in self.model.parameters())

    def rows(self) -> dict[str, int]:
        """Rows of each split (streaming: counted by a pass over the file where not yet known)."""
        train = self.train_source.rows if self.streaming else len(self.x)
        test = self.test_source.rows if self.test_source is not None else len(self.test_table or ())
        validation = 0 if self.validation is None else len(self.validation[0])
        return {"train": train, "validation": validation, "test": test}

    def probe(self, rows: int = 256) -> Any:
        """The first ``rows`` encoded training inputs (for statistics such as the health monitor's)."""
        if not self.streaming:
            return self.x[:rows]
        parts, seen = [], 0
        for x, _ in self.train_source.epoch(None):
            parts.append(x)
            seen += len(x)
            if seen >= rows:
                break
        return backend.xp.concatenate(parts)[:rows]

    def summary(self) -> dict[str, Any]:
        """Every decision of the run as JSON-ready data: task and where it came from, each column's
        role, the architecture and its parameter count, the rows of each split, the optimizer, the
        learning rate and its schedule, the epochs."""
        pre, config = self.preprocessor, self.config
        return {
            "task": self.task,
            "task_from": self.task_from,
            "target": pre.target,
            "columns": pre.describe(),
            "classes": None if pre.classes_ is None else [str(c) for c in pre.classes_.tolist()],
            "features": len(pre.feature_names_out),
            "model": repr(self.model),
            "parameters": self.parameters,
            "rows": self.rows(),
            "streaming": self.streaming,
            "loss": self.loss_name,
            "optimizer": config.optimizer,
            "lr": config.lr,
            "schedule": config.schedule,
            "epochs": config.epochs,
            "batch_size": config.batch_size,
            "early_stopping": config.early_stopping,
        }

    def fit(self, callbacks: Any = (), verbose: int = 0) -> TrainResult:
        """Train (the config's epochs), then score on every split; returns the :class:`TrainResult`.

        ``callbacks`` run after the plan's own (schedule, early stopping); ``verbose`` as in
        :meth:`Trainer.fit`.  A run that diverges returns too, with ``result.diverged`` set and the
        model holding the last weights whose loss passed the guard.
        """
        config, trainer, pre = self.config, self.trainer, self.preprocessor
        data = (self.train_source, None) if self.streaming else (self.x, self.y)
        history = trainer.fit(
            *data,
            epochs=config.epochs,
            batch_size=config.batch_size,
            validation_data=self.validation,
            callbacks=[*self.callbacks, *callbacks],
            verbose=verbose,
        )
        metrics: dict[str, Any] = {}
        if not trainer.diverged:
            train_rows = self.train_source.tables() if self.streaming else self.train_table
            metrics["train"] = score(self.model, pre, train_rows)
            if self.validation is not None:
                metrics["validation"] = trainer.evaluate(*self.validation)  # on the encoded target
            if self.test_source is not None:
                metrics["test"] = score(self.model, pre, self.test_source.tables())
            elif self.test_table is not None:
                metrics["test"] = score(self.model, pre, self.test_table)
        skipped = ("data", "dataset", "data_dir", "target", "task")
        record = {
            "source": self.source,
            "target": pre.target,
            "task": self.task,
            **{k: v for k, v in config.to_dict().items() if k not in skipped},
            "loss": self.loss_name,
            "epochs_run": trainer.epoch,
            "validation_split": config.validation_share,
            "streaming": self.streaming,
            "samples": self.train_source.rows if self.streaming else len(self.x),
            "seconds_per_epoch": sum(history.seconds) / max(len(history.seconds), 1),
            "stop_reason": history.stop_reason,
        }
        return TrainResult(
            model=self.model,
            preprocessor=pre,
            history=history,
            metrics=metrics,
            optimizer=self.optimizer,
            trainer=trainer,
            config=record,
            plan=self,
        )


@dataclass
class TrainResult:
    """What a run gives back: the trained model and everything needed to report and save it.

    Attributes
    ----------
    model, preprocessor, history : the trained network, its fitted preprocessing, its per-epoch record.
    metrics : dict
        ``{"train": …, "validation": …, "test": …}`` (the splits there are): :func:`score`'s
        figures in the target's units (validation: the trainer's, on the encoded target).  Empty
        when the run diverged.
    optimizer, trainer : what resuming needs (moments, epoch, shuffling generator).
    config : dict
        The JSON-ready record stored in the checkpoint: the options, the source, the task, the
        epochs run, the rows, the time per epoch and why training stopped.
    plan : TrainingPlan
        The decisions the run was made from.
    """

    model: nn.Module
    preprocessor: Preprocessor
    history: History
    metrics: dict[str, Any]
    optimizer: Any
    trainer: Trainer
    config: dict[str, Any]
    plan: TrainingPlan = field(repr=False)

    @property
    def diverged(self) -> bool:
        """Whether the run stopped at a diverging loss (``history.stop_reason`` says why)."""
        return self.trainer.diverged

    def save_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``chainrule.io.save(path, **result.save_arguments())``."""
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "preprocessor": self.preprocessor,
            "config": self.config,
            "metrics": self.metrics,
            "trainer": self.trainer,
        }


def prepare(config: TrainConfig, *, table: Table | None = None) -> TrainingPlan:
    """Read, split, preprocess, build and seed everything ``config`` asks for; train nothing.

    ``table`` is the training data when it is already in memory (an upload; ``config.data`` is then
    only recorded as its name); else ``config.data`` (a CSV, Parquet or Arrow file) or
    ``config.dataset`` is read.  A file is streamed (:class:`~chainrule.data.streaming.FileBatches`:
    one pass fits the preprocessor, each epoch reads the file again through a shuffle buffer) when
    ``config.streaming`` says so, or, left None, when the file is over 1/8 of the memory available.

    Raises
    ------
    ConfigError
        For an option that does not fit the data (``--loss`` for another task, ``--target`` of
        a dataset, a network too large for memory, …).
    ValueError, OSError
        From reading and preprocessing the data (``DataError`` names the column, row and fix).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    _check_fits(config, 1, 1)  # widths that cannot fit whatever the data: refused before reading it
    parts: dict[str, Any] = {}
    if _streams(config, table):
        preprocessor, task_from, source = _stream(config, parts)
        x = y = None
    else:
        preprocessor, train_table, test_table, task_from, source = _read(config, table)
        x = preprocessor.fit_transform(train_table)
        y = preprocessor.transform_target(train_table)
        parts.update(train_table=train_table, test_table=test_table)
    task = preprocessor.task
    offered = names.task_losses(task)
    loss_name = config.loss or offered[0]
    if loss_name not in offered:
        choices = " or ".join(offered)
        raise ConfigError("loss", f"{loss_name} does not fit a {task} task; choose {choices}")
    if config.validation_share and x is not None:
        _check_split("validation_split", config.validation_share, len(x), "training rows")
        x, x_val, y, y_val = train_test_split(
            x,
            y,
            test_size=config.validation_share,
            seed=config.seed,
            stratify=y if task == "classification" else None,
        )
        parts["validation"] = (x_val, y_val)
    inputs = len(preprocessor.feature_names_out)
    outputs = len(preprocessor.classes_) if task == "classification" else 1
    _check_fits(config, inputs, outputs)

    backend.manual_seed(config.seed)
    model = build_model(inputs, config.hidden, outputs, config.activation, config.dtype)
    optimizer = names.optimizer(config.optimizer, model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    loss_fn = names.loss(loss_name)
    metric = "accuracy" if task == "classification" else "r2"  # R² does not depend on the target's scale
    trainer = Trainer(
        model, loss_fn, optimizer, metrics=[metric], seed=config.seed, clip_grad_norm=config.clip_grad_norm
    )
    callbacks: list[Callback] = []
    if config.schedule == "cosine":
        callbacks.append(LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=config.epochs)))
    if config.early_stopping:
        callbacks.append(EarlyStopping("val_loss", patience=config.early_stopping, restore_best_weights=True))
    return TrainingPlan(
        config=config,
        preprocessor=preprocessor,
        task=task,
        task_from=task_from,
        loss_name=loss_name,
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        trainer=trainer,
        callbacks=callbacks,
        source=source,
        x=x,
        y=y,
        **parts,
    )


STREAM_FRACTION = 8
"""A file is streamed when it is over 1/``STREAM_FRACTION`` of the memory available (its rows in
memory, as float64 columns and float32 features, take a few times the file's size)."""


def _streams(config: TrainConfig, table: Table | None) -> bool:
    """Whether the run reads its file chunk by chunk."""
    if table is not None or config.data is None:
        if config.streaming:
            raise ConfigError("streaming", "needs a file (DATA.csv); tables and datasets are read into memory")
        return False
    if config.streaming is not None:
        return config.streaming
    try:
        size = os.path.getsize(config.data)
    except OSError:
        return False  # reading it reports the problem
    available = available_memory()
    return available is not None and size * STREAM_FRACTION > available


def _preprocessor(config: TrainConfig, **options: Any) -> Preprocessor:
    """The unfitted preprocessor of a CSV or table, with the config's column options."""
    return Preprocessor(
        target=config.target,
        features=config.features,
        categorical=config.categorical,
        impute=config.impute,
        max_categories=config.max_categories,
        unknown=config.unknown,
        **options,
    )


def _stream(config: TrainConfig, parts: dict[str, Any]) -> tuple[Preprocessor, str, dict]:
    """Fill ``parts`` with the streamed training (and held-out test) rows; returns ``(fitted
    preprocessor, task_from, source record)``."""
    if config.target is None:
        raise ConfigError("target", "is needed with a CSV file: name the column to predict")
    if config.validation_share:
        option = "validation_split" if config.validation_split else "early_stopping"
        raise ConfigError(option, "needs the rows in memory; a streamed file holds out only a test split (--test-size)")
    preprocessor = _preprocessor(config, task=config.task)
    options = dict(
        batch_size=config.batch_size,
        holdout=config.test_size or 0.0,
        split_seed=SPLIT_SEED,
        shuffle_buffer=config.shuffle_buffer,
        dtype=backend.resolve_dtype(config.dtype),
        delimiter=config.delimiter,
        header=config.header,
    )
    train_source = FileBatches(config.data, preprocessor, part="train", **options)
    train_source.fit()
    parts["train_source"] = train_source
    source: dict[str, Any] = {"csv": config.data}
    if config.test_size:
        parts["test_source"] = FileBatches(config.data, preprocessor, part="held_out", **options)
        source.update(test_size=config.test_size, split_seed=SPLIT_SEED, split="hashed row number")
    return preprocessor, "config" if config.task else "inferred", source


def _check_split(option: str, share: float, rows: int, what: str) -> None:
    """Refuse a share whose split (``round(share · rows)`` rows held out, as
    :func:`~chainrule.data.train_test_split` takes) leaves either part empty."""
    held = round(share * rows)
    if not 1 <= held <= rows - 1:
        raise ConfigError(
            option, f"{share:g} holds out {held} of the {rows} {what}; both parts need a row: choose another share"
        )


def _read(config: TrainConfig, table: Table | None) -> tuple[Preprocessor, Table, Table | None, str, dict]:
    """``(unfitted preprocessor, train table, test table or None, task_from, source record)``."""
    if table is not None or config.data is not None:
        if config.dataset is not None:
            raise ConfigError("dataset", "and a table were both given; train on one of them")
        if config.target is None:
            raise ConfigError("target", "is needed with a CSV file: name the column to predict")
        if table is None:
            table = read_table(config.data, delimiter=config.delimiter, header=config.header)
        task = config.task
        test = None
        source: dict[str, Any] = {"csv": config.data}
        if config.test_size:
            _check_split("test_size", config.test_size, len(table), "rows")
            if task is None and config.target in table:
                task = infer_task(table[config.target])
            labels = table[config.target] if task == "classification" else None
            table, test = train_test_split(table, test_size=config.test_size, seed=SPLIT_SEED, stratify=labels)
            source.update(test_size=config.test_size, split_seed=SPLIT_SEED)
        return _preprocessor(config, task=task), table, test, "config" if config.task else "inferred", source
    if config.dataset is None:
        raise ConfigError("data", "is missing: give a CSV file with its target column, or a dataset")
    for option in ("features", "categorical", "delimiter"):
        if getattr(config, option) is not None:
            raise ConfigError(option, "goes with a CSV; a dataset (--dataset) has its own columns")
    if not config.header:
        raise ConfigError("header", "goes with a CSV; a dataset (--dataset) has its own columns")
    if config.test_size is not None:
        raise ConfigError(
            "test_size", "goes with a CSV; a dataset keeps its own test split (the one evaluate --split test scores)"
        )
    dataset, train, test = dataset_tables(config.dataset, config.data_dir)
    if config.target is not None and config.target != dataset.target:
        problem = f"{config.target} is not dataset {config.dataset!r}'s target {dataset.target!r}; leave it out"
        raise ConfigError("target", problem)
    options = dict(dataset.preprocessing, **({"impute": config.impute} if config.impute else {}))
    preprocessor = Preprocessor(target=dataset.target, task=config.task or dataset.task, **options)
    source = {"dataset": config.dataset, "test_size": TEST_SIZE, "split_seed": SPLIT_SEED}
    return preprocessor, train, test, "config" if config.task else "dataset", source


def train(config: TrainConfig, *, table: Table | None = None, callbacks: Any = (), verbose: int = 0) -> TrainResult:
    """``prepare(config, table=table).fit(callbacks, verbose)``: the whole workflow in one call."""
    return prepare(config, table=table).fit(callbacks=callbacks, verbose=verbose)
