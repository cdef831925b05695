"""The fit loop: :class:`Trainer` and :func:`fit`.

One epoch draws one permutation of the rows, then walks through it in runs of ``batch_size``:
for each run, the rows are gathered (one indexing per batch, no copy of the whole set), then
forward pass, loss, ``loss.backward()``, optimizer step.  Batch size 1 is the seeds' per-sample
stochastic gradient descent, ``None`` full-batch gradient descent.  No Python loop runs over
samples: every batch is one array operation.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from chainrule import backend
from chainrule.autograd import no_grad
from chainrule.nn.loss import BCELoss, BCEWithLogitsLoss
from chainrule.nn.module import Module
from chainrule.tensor import Tensor
from chainrule.training.callbacks import HOOKS, Callback
from chainrule.training.history import History
from chainrule.training.metrics import get_metric
from chainrule.training.progress import progress_callback

EVAL_BATCH = 4096
"""Rows per forward pass in :meth:`Trainer.predict` and :meth:`Trainer.evaluate` (bounds memory)."""


class NonFiniteLossWarning(RuntimeWarning):
    """Training stopped because the loss became NaN or infinite."""


def as_inputs(x: Any, dtype: Any) -> Any:
    """Inputs as a backend array of ``dtype`` with a sample axis first and features after it.

    Raises
    ------
    ValueError
        If ``x`` is not at least 2-D, or holds NaN or infinity (the row and column are named).
    """
    x = backend.xp.asarray(x.data if isinstance(x, Tensor) else x, dtype=dtype)
    if x.ndim < 2:
        raise ValueError(
            f"inputs must have shape (samples, features), got shape {x.shape}; "
            "for a single feature use x.reshape(-1, 1)"
        )
    _check_finite("inputs", x)
    return x


def as_targets(y: Any, dtype: Any, loss_fn: Any = None) -> Any:
    """Targets as a backend array: integer class labels stay integers (int64); real values become
    ``dtype``, and a 1-D real vector becomes one column (N, 1) to match a model's (N, 1) output.

    For a loss on 0/1 targets (``BCELoss``, ``BCEWithLogitsLoss``) integer labels are such
    targets: they become ``dtype`` too (a 1-D vector one column), as Keras's binary losses take them.
    """
    y = backend.xp.asarray(y.data if isinstance(y, Tensor) else y)
    if y.dtype.kind in "iub" and not isinstance(loss_fn, (BCELoss, BCEWithLogitsLoss)):
        return y.astype(backend.xp.int64)
    y = y.astype(dtype)
    _check_finite("targets", y)
    return y.reshape(-1, 1) if y.ndim == 1 else y


def _check_finite(name: str, array: Any) -> None:
    finite = backend.xp.isfinite(array)
    if not finite.all():
        where = tuple(int(i) for i in backend.xp.argwhere(~finite)[0])
        place = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
        raise ValueError(f"{name} hold NaN or infinity at {place}; remove or impute those values before training")


def class_weights(class_weight: Any, y: Any) -> Any:
    """The weight of each class label 0 … C−1 as an array.

    ``class_weight`` is ``"balanced"`` (w_c = N / (C · N_c), scikit-learn's rule, so that every
    class carries the same total weight), a dict ``{label: weight}`` (unnamed classes weigh 1) or a
    sequence with one weight per class.
    """
    labels = backend.xp.asarray(y).reshape(-1)
    if labels.dtype.kind not in "iu":
        labels = labels.astype(backend.xp.int64)
    classes = int(labels.max()) + 1
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced', a dict or a sequence, got {class_weight!r}")
        counts = backend.xp.bincount(labels, minlength=classes)
        return len(labels) / (classes * backend.xp.maximum(counts, 1))
    if isinstance(class_weight, dict):
        weights = backend.xp.ones(max(classes, max(class_weight) + 1))
        for label, weight in class_weight.items():
            weights[label] = weight
    else:
        weights = backend.xp.asarray(class_weight, dtype=backend.float64)
    if len(weights) < classes or (weights < 0).any():
        raise ValueError(f"class_weight needs a weight ≥ 0 for each of the {classes} classes, got {class_weight!r}")
    return weights


class ClassWeightedLoss(Module):
    """A loss averaged with class weights:  L = Σᵢ w_{yᵢ} ℓᵢ / Σᵢ w_{yᵢ}.

    ℓᵢ is sample i's loss (``loss_fn`` with ``reduction="none"``) and yᵢ its class label, so a
    rare class with weight 5 counts as five samples.  For cross-entropy this is PyTorch's
    ``CrossEntropyLoss(weight=w)``; it works as well for ``BCEWithLogitsLoss`` with 0/1 targets.
    """

    def __init__(self, loss_fn: Module, weights: Any) -> None:
        super().__init__()
        per_sample = copy.copy(loss_fn)
        object.__setattr__(per_sample, "reduction", "none")
        self.per_sample, self.weights = per_sample, backend.xp.asarray(weights)

    def forward(self, output: Tensor, target: Any) -> Tensor:
        labels = backend.xp.asarray(target.data if isinstance(target, Tensor) else target)
        weights = self.weights[labels.reshape(len(labels)).astype(backend.xp.int64)]
        losses = self.per_sample(output, target)
        weights = weights.reshape(losses.shape[:1] + (1,) * (losses.ndim - 1)).astype(losses.dtype)
        return (losses * Tensor(weights)).sum() / float(weights.sum())


class _LastFiniteWeights:
    """A copy of the parameters taken before each optimizer step (one memcpy of the weights per
    batch, preallocated), restored when the next loss is not finite."""

    def __init__(self, parameters: Sequence[Any]) -> None:
        self.parameters = parameters
        self.copies = [p.data.copy() for p in parameters]

    def save(self) -> None:
        for saved, parameter in zip(self.copies, self.parameters):
            saved[...] = parameter.data

    def restore(self) -> None:
        for saved, parameter in zip(self.copies, self.parameters):
            parameter.data[...] = saved


class Trainer:
    """Trains a model on arrays: the loop behind :func:`fit`, with callbacks, metrics and progress.

    Parameters
    ----------
    model : Module
        The network; ``model(x)`` gives the outputs the loss compares with the targets.
    loss_fn : Module
        E.g. ``nn.MSELoss()`` (regression) or ``nn.CrossEntropyLoss()`` (classification).
    optimizer : Optimizer
        Built on ``model.parameters()``.
    metrics : sequence of str
        Names from :data:`chainrule.training.metrics.METRICS` (``accuracy``, ``mse``, ``rmse``,
        ``mae``, ``r2``), computed on each epoch's training outputs and on the validation data.
    seed : int, optional
        Seeds the generator that shuffles the rows, so that a run is bit-identical on the same
        machine (seed the weights with :func:`chainrule.manual_seed` before building the model).
        Without it, the shuffling generator is drawn from the global one.

    Attributes
    ----------
    model, loss_fn, optimizer : the objects passed in.
    epoch : int
        Epochs completed (they continue across :meth:`fit` calls and a resumed checkpoint).
    batch : int
        The batch within the current epoch, from 0.
    history : History
        Every completed epoch's logs.
    stop_training : bool
        Set by a callback to stop after the current epoch.
    diverged : bool
        True when the last run stopped at a non-finite loss.
    generator : numpy.random.Generator
        The shuffling generator (its state is saved in checkpoints so a resumed run is the same).

    Examples
    --------
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
    ...                   metrics=["accuracy"], seed=0)
    >>> history = trainer.fit(x, y, epochs=10, batch_size=32, validation_split=0.1,
    ...                       callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    """

    def __init__(
        self, model: Module, loss_fn: Module, optimizer: Any, *, metrics: Iterable[str] = (), seed: int | None = None
    ) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.metrics = {name: get_metric(name, loss_fn) for name in metrics}
        if seed is None:
            seed = int(backend.generator().integers(2**63))
        self.generator = backend.generator(seed)
        self.history = History()
        self.epoch = self.batch = 0
        self.stop_training = self.diverged = False
        self.callbacks: list[Callback] = []

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: Any,
        y: Any,
        *,
        epochs: int,
        batch_size: int | None = 32,
        shuffle: bool = True,
        validation_data: tuple[Any, Any] | None = None,
        validation_split: float = 0.0,
        callbacks: Iterable[Callback] = (),
        class_weight: Any = None,
        verbose: int = 1,
        stop_on_nonfinite: bool = True,
    ) -> History:
        """Train for ``epochs`` more epochs; returns the :class:`History` (all epochs so far).

        Parameters
        ----------
        x, y : array_like
            Inputs (N, features) and targets: integer labels (N,) for classification, real values
            (N,) or (N, outputs) for regression.
        epochs : int
            Epochs to run now (≥ 0); a resumed trainer counts on from its ``epoch``.
        batch_size : int or None
            Rows per gradient step: 1 is per-sample SGD, ``None`` the whole set (full batch).
        shuffle : bool
            Draw a new order of the rows each epoch (from the trainer's seeded generator).
        validation_data : (x_val, y_val), optional
            Data scored after every epoch (``val_loss``, ``val_<metric>``).
        validation_split : float
            Or: hold out this fraction of the rows, the last ones, as Keras does (0 < f < 1).
        callbacks : iterable of Callback
            Called at the hooks of :class:`~chainrule.training.Callback`.
        class_weight : "balanced", dict or sequence, optional
            Weights of the class labels in the loss (see :class:`ClassWeightedLoss`).
        verbose : int
            0 quiet, 1 a progress bar on a terminal (one line per epoch elsewhere), 2 lines.
        stop_on_nonfinite : bool
            Stop at the first NaN or infinite loss, restore the weights from before the last step
            (whose loss was finite) and warn that the learning rate is the likely cause.  Costs one
            copy of the weights per batch.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be an integer ≥ 0, got {epochs!r}")
        dtype = next(iter(self.model.parameters())).dtype
        x, y = as_inputs(x, dtype), as_targets(y, dtype, self.loss_fn)
        _check_pair("x", x, "y", y)
        if batch_size is None:
            batch_size = len(x)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer or None (full batch), got {batch_size!r}")
        if validation_split:
            if validation_data is not None:
                raise ValueError("pass validation_data or validation_split, not both")
            x, y, validation_data = _split_last(x, y, validation_split)
        elif validation_data is not None:
            validation_data = (
                as_inputs(validation_data[0], dtype),
                as_targets(validation_data[1], dtype, self.loss_fn),
            )
            _check_pair("validation x", validation_data[0], "validation y", validation_data[1])
        loss_fn = self.loss_fn
        if class_weight is not None:
            loss_fn = ClassWeightedLoss(loss_fn, class_weights(class_weight, y))

        progress = progress_callback(verbose)
        self.callbacks = [*callbacks, *([progress] if progress else [])]
        hooks = {name: [getattr(c, name) for c in self.callbacks if c.overrides(name)] for name in HOOKS}
        guard = _LastFiniteWeights(list(self.model.parameters())) if stop_on_nonfinite else None
        self.stop_training = self.diverged = False
        self.history.stop_reason = None

        logs: dict = {"epochs": self.epoch + epochs, "samples": len(x), "batches": math.ceil(len(x) / batch_size)}
        for hook in hooks["on_train_begin"]:
            hook(self, logs)
        for _ in range(epochs):
            for hook in hooks["on_epoch_begin"]:
                hook(self, {"epoch": self.epoch + 1})
            start = time.perf_counter()
            logs = self._train_epoch(x, y, loss_fn, batch_size, shuffle, hooks, guard)
            seconds = time.perf_counter() - start
            if self.diverged:
                break
            if validation_data is not None:
                logs.update({f"val_{k}": v for k, v in self.evaluate(*validation_data).items()})
            logs["lr"] = self.optimizer.param_groups[0]["lr"]
            self.epoch += 1
            self.history.append(self.epoch, logs, seconds)
            for hook in hooks["on_epoch_end"]:
                hook(self, logs)
            if self.stop_training:
                break
        for hook in hooks["on_train_end"]:
            hook(self, logs)
        return self.history

    def _train_epoch(
        self, x: Any, y: Any, loss_fn: Module, batch_size: int, shuffle: bool, hooks: dict, guard: Any
    ) -> dict:
        """One pass over the rows; returns ``{"loss": mean loss, metric: value, …}``."""
        model, optimizer = self.model, self.optimizer
        begin, after, end = hooks["on_batch_begin"], hooks["on_after_backward"], hooks["on_batch_end"]
        model.train()
        n = len(x)
        # Shuffled batches are gathered row by row from one permutation (x[order[a:b]] equals
        # x[order][a:b] exactly) instead of copying the whole set each epoch.
        order = self.generator.permutation(n) if shuffle else None
        outputs = None
        total = 0.0
        for self.batch, start in enumerate(range(0, n, batch_size)):
            stop = min(start + batch_size, n)
            rows = slice(start, stop) if order is None else order[start:stop]
            logs = {"batch": self.batch, "size": stop - start} if begin or after or end else {}
            for hook in begin:
                hook(self, logs)
            optimizer.zero_grad()
            output = model(Tensor(x[rows]))
            loss = loss_fn(output, y[rows])
            value = loss.item()
            if not math.isfinite(value):
                self._diverge(value, guard)
                return {}
            loss.backward()
            logs["loss"] = value
            for hook in after:
                hook(self, logs)
            if guard is not None:
                guard.save()
            optimizer.step()
            for hook in end:
                hook(self, logs)
            total += value * (stop - start)
            if self.metrics:
                if outputs is None:
                    outputs = backend.xp.empty((n, *output.shape[1:]), dtype=output.dtype)
                outputs[rows] = output.data  # in the original row order, beside y
        logs = {"loss": total / n}
        logs.update({name: metric(outputs, y) for name, metric in self.metrics.items()})
        return logs

    def _diverge(self, value: float, guard: Any) -> None:
        """Stop at a non-finite loss: keep the last weights whose loss was finite, and say why."""
        self.diverged = self.stop_training = True
        if guard is not None and (self.epoch or self.batch):
            guard.restore()
        lr = self.optimizer.param_groups[0]["lr"]
        message = (
            f"training stopped at epoch {self.epoch + 1}, batch {self.batch + 1}: the loss is {value}. "
            f"The learning rate (lr={lr:g}) is the likely cause; try a smaller one, e.g. lr={lr / 10:g}. "
            "The model keeps the weights from before that step, the last whose loss was finite."
        )
        self.history.stop_reason = message
        warnings.warn(message, NonFiniteLossWarning, stacklevel=4)

    # ------------------------------------------------------------------ inference
    def predict(self, x: Any, batch_size: int = EVAL_BATCH) -> Any:
        """The model's outputs for ``x``: :func:`predict` with this trainer's model."""
        return predict(self.model, x, batch_size)

    def evaluate(self, x: Any, y: Any, batch_size: int = EVAL_BATCH) -> dict[str, float]:
        """``{"loss": …, metric: …}`` of the model on ``(x, y)``."""
        y = as_targets(y, next(iter(self.model.parameters())).dtype, self.loss_fn)
        outputs = self.predict(x, batch_size)
        _check_pair("x", outputs, "y", y)
        with no_grad():
            results = {"loss": self.loss_fn(Tensor(outputs), y).item()}
        results.update({name: metric(outputs, y) for name, metric in self.metrics.items()})
        return results

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs besides the weights and optimizer: epochs done, the shuffling
        generator's state and the history (plain JSON-ready data).

        Callbacks keep their own state (``Callback.state_dict``); :func:`chainrule.io.save` with
        ``trainer=`` stores theirs too, with the global generator's.
        """
        generator = backend.generator_state(self.generator)
        return {"epoch": self.epoch, "generator": generator, "history": self.history.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a state saved by :meth:`state_dict`: the next epoch is ``epoch + 1`` and
        draws the row order the saved run would have drawn.

        Raises
        ------
        ValueError
            If ``state`` is not such a state (checked before anything changes).
        """
        if not isinstance(state, dict) or set(state) != {"epoch", "generator", "history"}:
            raise ValueError(
                "a trainer state has exactly 'epoch', 'generator' and 'history' (from Trainer.state_dict())"
            )
        epoch = state["epoch"]
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
            raise ValueError(f"trainer state: epoch must be an integer ≥ 0, got {epoch!r}")
        generator = backend.check_generator_state(state["generator"], "trainer state: generator")
        try:
            History().load_state_dict(state["history"])  # checked on a scratch History first
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"trainer state: history is malformed ({error!r})") from None
        backend.set_generator_state(self.generator, generator)
        self.epoch = epoch
        self.history.load_state_dict(state["history"])


def predict(model: Module, x: Any, batch_size: int = EVAL_BATCH) -> Any:
    """The outputs of ``model`` for the rows of ``x``, as one array: evaluation mode (dropout off,
    batch-norm running statistics), no graph, ``batch_size`` rows per forward pass."""
    x = as_inputs(x, next(iter(model.parameters())).dtype)
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            chunks = [model(Tensor(x[i : i + batch_size])).data for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
    return backend.xp.concatenate(chunks) if chunks else backend.xp.empty((0,))


def _check_pair(x_name: str, x: Any, y_name: str, y: Any) -> None:
    if len(x) != len(y):
        raise ValueError(f"{x_name} has {len(x)} rows but {y_name} has {len(y)}; they must have one row per sample")
    if len(x) == 0:
        raise ValueError(f"{x_name} has no rows; training needs at least one sample")


def _split_last(x: Any, y: Any, fraction: float) -> tuple[Any, Any, tuple[Any, Any]]:
    """Hold out the last ``fraction`` of the rows (unshuffled, as Keras)."""
    held = int(len(x) * fraction)
    if not 0 < fraction < 1 or held < 1 or held >= len(x):
        raise ValueError(
            f"validation_split must be between 0 and 1 and leave rows on both sides, got {fraction} for {len(x)} rows"
        )
    cut = len(x) - held
    return x[:cut], y[:cut], (x[cut:], y[cut:])


def fit(
    model: Module,
    loss_fn: Module,
    optimizer: Any,
    x: Any,
    y: Any,
    *,
    epochs: int,
    batch_size: int | None = 32,
    metrics: Iterable[str] = (),
    seed: int | None = None,
    shuffle: bool = True,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float = 0.0,
    callbacks: Iterable[Callback] = (),
    class_weight: Any = None,
    verbose: int = 1,
    stop_on_nonfinite: bool = True,
) -> History:
    """Train ``model`` on ``(x, y)``: ``Trainer(model, loss_fn, optimizer, metrics=, seed=).fit(...)``.

    Each epoch minimises the loss L(w) by the optimizer's rule (w ← w − η ∂L/∂w for plain SGD)
    over batches of ``batch_size`` rows.  See :meth:`Trainer.fit` for every argument.

    Examples
    --------
    >>> history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), x, y,
    ...               epochs=100, batch_size=1, metrics=["rmse"], seed=0, verbose=0)
    """
    trainer = Trainer(model, loss_fn, optimizer, metrics=metrics, seed=seed)
    return trainer.fit(
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        shuffle=shuffle,
        validation_data=validation_data,
        validation_split=validation_split,
        callbacks=callbacks,
        class_weight=class_weight,
        verbose=verbose,
        stop_on_nonfinite=stop_on_nonfinite,
    )
