"""The fit loop: :class:`Trainer` and :func:`fit`.

One epoch asks a batch source (:mod:`chainrule.training.sources`) for its batches: for arrays,
one permutation of the rows walked in runs of ``batch_size`` (one gather per batch, no copy of the
whole set).  Each batch goes through :meth:`Trainer.train_step`, the one place where forward pass,
loss, ``loss.backward()``, the divergence guard, gradient clipping and the optimizer step happen.
Batch size 1 is the seeds' per-sample stochastic gradient descent, ``None`` full-batch gradient
descent.  No Python loop runs over samples: every batch is one array operation.
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
from chainrule.optim.clip import clip_grad_norm_
from chainrule.optim.optimizer import Optimizer
from chainrule.tensor import Tensor
from chainrule.training import names
from chainrule.training.callbacks import HOOKS, Callback
from chainrule.training.history import History
from chainrule.training.metrics import get_metric
from chainrule.training.progress import progress_callback
from chainrule.training.sources import ArrayBatches, BatchSource, is_batch_source

EVAL_BATCH = 4096
"""Rows per forward pass in :meth:`Trainer.predict` and :meth:`Trainer.evaluate` (bounds memory)."""

MAX_LOSS_GROWTH = 1e4
"""The divergence guard's default: stop when a batch's loss exceeds 10⁴ times its value at the start."""

REFERENCE_ROWS = 32
"""The loss "at the start" is the mean batch loss over at least this many rows (see :class:`DivergenceGuard`)."""

GROWTH_PATIENCE = 3
"""Steps in a row whose loss is over the growth limit before training is stopped as diverging."""

_INF, _NEG_INF = math.inf, -math.inf


class DivergenceWarning(RuntimeWarning):
    """Training stopped because the loss diverged: NaN, infinite, or grown by orders of magnitude."""


class NonFiniteLossWarning(DivergenceWarning):
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


class DivergenceGuard:
    """Decides from each step's loss whether training diverged, and keeps the weights to go back to.

    Training diverged at a step whose loss L is NaN or ±∞, or when L > g · L₀ (g = ``max_growth``,
    10⁴ by default) at :data:`GROWTH_PATIENCE` (3) steps in a row.  L₀ is the loss at the start of
    training: the first epoch's mean loss when the history has one (a continued or resumed run),
    else the mean batch loss over the first batches of this run that cover :data:`REFERENCE_ROWS`
    (32) rows, or the whole epoch if it has fewer — at the default batch size, the first batch's
    loss, before any update.  Growth is tested once L₀ is known, and only against a positive L₀.
    Three steps in a row, not one: a single hard batch of a model whose loss had become tiny is not
    a divergence, and one that diverges keeps growing.  (With batches of fewer than 32 rows, a run
    that diverges within its first 32 rows is caught when its loss becomes NaN or ∞.)

    The decision uses only the loss it is given, so when that loss is the same on every process
    (all-reduced, :meth:`Trainer.synchronize`), every process decides the same.

    Before each optimizer step :meth:`save` copies the parameters (one memcpy of the weights per
    batch, into preallocated arrays); at the first step of a run of grown losses that copy is kept
    aside.  :meth:`restore` puts back the weights of the last step whose loss passed.
    """

    def __init__(self, parameters: Sequence[Any], max_growth: float | None = MAX_LOSS_GROWTH) -> None:
        self.parameters = parameters
        self.copies = [p.data.copy() for p in parameters]
        self.saved = False
        self.max_growth = max_growth
        self.start(None)

    def start(self, reference: float | None, rows: int = REFERENCE_ROWS) -> None:
        """Begin a run whose starting loss L₀ is ``reference`` (None: measure it over the first
        ``rows`` rows, at most :data:`REFERENCE_ROWS`; fewer when an epoch has fewer)."""
        self.reference, self._total, self._rows = reference, 0.0, 0
        self._needed = max(1, min(rows, REFERENCE_ROWS))
        self.limit = math.inf
        if reference is not None and self.max_growth is not None and reference > 0:
            self.limit = self.max_growth * reference
        self.streak, self.anchor = 0, None
        self.settled = reference is not None  # a passing loss needs no check(): L₀ known, no grown run

    def check(self, loss: float, rows: int) -> str | None:
        """None if ``loss`` (of a batch of ``rows`` rows) passes, else what went wrong, in words."""
        if -math.inf < loss < self.limit:
            if self.reference is None:
                self._total += loss * rows
                self._rows += rows
                if self._rows >= self._needed:
                    self.start(self._total / self._rows)
            elif self.streak:
                self.streak, self.anchor, self.settled = 0, None, True
            return None
        if not math.isfinite(loss):
            return f"the loss is {loss}"
        self.streak += 1
        self.settled = False
        if self.streak == 1:  # the weights of the last step whose loss passed
            self.anchor = [saved.copy() for saved in self.copies] if self.saved else None
        if self.streak < GROWTH_PATIENCE:
            return None
        return (
            f"the loss grew to {loss:.4g}, more than {self.max_growth:g} times its value at the start "
            f"({self.reference:.4g}), for {self.streak} steps in a row: training is diverging"
        )

    def save(self) -> None:
        """Copy the parameters (called before each optimizer step)."""
        for saved, parameter in zip(self.copies, self.parameters):
            saved[...] = parameter.data
        self.saved = True

    def restore(self) -> None:
        """Put back the weights of the last step whose loss passed: the copy before this step, or
        the one kept aside at the first of a run of grown losses."""
        copies = self.anchor if self.anchor is not None else self.copies if self.saved else None
        if copies is not None:
            for saved, parameter in zip(copies, self.parameters):
                parameter.data[...] = saved


class Trainer:
    """Trains a model: the loop behind :func:`fit`, with callbacks, metrics, progress and a guard.

    Parameters
    ----------
    model : Module
        The network; ``model(x)`` gives the outputs the loss compares with the targets.
    loss_fn : Module or str
        E.g. ``nn.MSELoss()`` (regression) or ``nn.CrossEntropyLoss()`` (classification), or its
        name in :data:`chainrule.nn.registry.LOSSES` (``"mse"``, ``"cross_entropy"``, …), as
        Keras's ``compile`` takes names.
    optimizer : Optimizer or str
        Built on ``model.parameters()``, or a name in :data:`chainrule.training.names.OPTIMIZERS`
        (``"sgd"``, ``"momentum"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``, …), then
        built here with that table's learning rate.
    metrics : sequence of str
        Names from :data:`chainrule.training.metrics.METRICS` (``accuracy``, ``mse``, ``rmse``,
        ``mae``, ``r2``), computed on each epoch's training outputs and on the validation data.
    seed : int, optional
        Seeds the generator that shuffles the rows, so that a run is bit-identical on the same
        machine (seed the weights with :func:`chainrule.manual_seed` before building the model).
        Without it, the shuffling generator is drawn from the global one.
    clip_grad_norm : float, optional
        Scale the gradients of each step so that their joint 2-norm is at most this
        (:func:`chainrule.optim.clip_grad_norm_`), after backward and before the step.
    max_loss_growth : float or None
        The divergence guard's growth limit g (see :class:`DivergenceGuard`); None checks only
        for NaN and ∞.

    Attributes
    ----------
    model, loss_fn, optimizer : the objects passed in (or built from their names).
    epoch : int
        Epochs completed (they continue across :meth:`fit` calls and a resumed checkpoint).
    batch : int
        The batch within the current epoch, from 0.
    history : History
        Every completed epoch's logs.
    stop_training : bool
        Set by a callback to stop after the current epoch.
    stop_requested : bool
        Set by :meth:`request_stop` (a signal handler, another thread) to stop at the next batch
        boundary.
    diverged, interrupted : bool
        True when the last run stopped at a diverging loss, or at a stop request.
    generator : numpy.random.Generator
        The shuffling generator (its state is saved in checkpoints so a resumed run is the same).

    Examples
    --------
    >>> trainer = Trainer(model, "cross_entropy", "adam", metrics=["accuracy"], seed=0)
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), seed=0)
    >>> history = trainer.fit(x, y, epochs=10, batch_size=32, validation_split=0.1,
    ...                       callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    """

    def __init__(
        self,
        model: Module,
        loss_fn: Module | str,
        optimizer: Optimizer | str,
        *,
        metrics: Iterable[str] = (),
        seed: int | None = None,
        clip_grad_norm: float | None = None,
        max_loss_growth: float | None = MAX_LOSS_GROWTH,
    ) -> None:
        if not isinstance(model, Module):
            raise TypeError(f"model must be a chainrule.nn.Module such as nn.Sequential(...), got {_kind(model)}")
        self.model = model
        self._parameters = list(model.parameters())
        self.loss_fn = _loss_argument(loss_fn)
        self.optimizer = _optimizer_argument(optimizer, model, self._parameters)
        self.metrics = {name: get_metric(name, self.loss_fn) for name in _metric_names(metrics)}
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise TypeError(f"seed must be an integer ≥ 0 or None, got {_kind(seed)}")
        self.clip_grad_norm = _positive_or_none("clip_grad_norm", clip_grad_norm)
        self.max_loss_growth = _positive_or_none("max_loss_growth", max_loss_growth)
        if seed is None:
            seed = int(backend.generator().integers(2**63))
        self.generator = backend.generator(seed)
        self.history = History()
        self.epoch = self.batch = 0
        self.stop_training = self.stop_requested = self.diverged = self.interrupted = False
        self.stop_on_nonfinite = True
        self.callbacks: list[Callback] = []
        self.train_loss = self.loss_fn  # the loss train_step minimises (class-weighted within a fit)
        self._guard: DivergenceGuard | None = None
        self._after_backward: list = []
        self._synchronizes = type(self).synchronize is not Trainer.synchronize

    # ------------------------------------------------------------------ one step
    def train_step(self, batch: tuple[Any, Any], logs: dict | None = None) -> tuple[float, Tensor]:
        """One gradient step on ``batch = (x, y)``; returns ``(loss, output)``.

        The one place where a step happens, in this order:

        1. ``optimizer.zero_grad()``; output h = model(x); loss L = loss(h, y);
        2. ``L.backward()``, always, also when L is not finite, so that every process reaches
           step 3 (a process that skipped it would leave the others waiting in an all-reduce);
        3. ``L, stop = self.synchronize(L, self.stop_requested)``: the hook where a distributed
           trainer all-reduces the gradients and these two values; every decision below is taken
           from its result, so it is the same on every process;
        4. the divergence guard (while ``stop_on_nonfinite``, :class:`DivergenceGuard`): if L is
           NaN or ∞, or over its growth limit for the third step in a row, no step is taken, the
           weights of the last step whose loss passed come back, ``diverged`` is set and a
           :class:`DivergenceWarning` says why;
        5. the ``on_after_backward`` callbacks (with ``logs``, ``loss`` added), gradient clipping,
           the guard's copy of the weights, ``optimizer.step()``;
        6. on a stop request, ``interrupted`` and ``stop_training`` are set: the loop ends at this
           batch boundary.

        Override it to change what a step does (Keras's ``train_step``); override
        :meth:`synchronize` alone to make it distributed.
        """
        x, y = batch
        self.optimizer.zero_grad()
        output = self.model(Tensor(x))
        loss = self.train_loss(output, y)
        value = loss.item()
        if _NEG_INF < value < _INF:
            loss.backward()
        else:
            with backend.xp.errstate(all="ignore"):
                loss.backward()
        if self._synchronizes:
            value, stop = self.synchronize(value, self.stop_requested)
        else:  # Trainer.synchronize returns its arguments: no call needed
            stop = self.stop_requested
        guard = (self._guard or self._active_guard()) if self.stop_on_nonfinite else None
        # the guard's common case inline: once settled, a loss below the limit passes
        if guard is not None and not (guard.settled and _NEG_INF < value < guard.limit):
            problem = guard.check(value, len(x))
            if problem is not None:
                self._diverge(problem, guard, value)
                return value, output
        if logs is not None:
            logs["loss"] = value
            for hook in self._after_backward:
                hook(self, logs)
        if self.clip_grad_norm is not None:
            clip_grad_norm_(self._parameters, self.clip_grad_norm)
        if guard is not None:
            guard.save()
        self.optimizer.step()
        if stop:
            self._interrupt()
        return value, output

    def synchronize(self, loss: float, stop: bool) -> tuple[float, bool]:
        """Between backward and the update, make the step the same on every process.

        One process: nothing to do, returns ``(loss, stop)``.  A data-parallel trainer overrides
        this to average the gradients (one all-reduce over the flat gradient buffer), and to
        return the mean of ``loss`` and the logical or of ``stop`` over the processes, so that
        the guard's and the stop request's decisions in :meth:`train_step` agree everywhere.
        """
        return loss, stop

    def _active_guard(self) -> DivergenceGuard:
        """The divergence guard, made at its first use (its copy of the weights costs memory)."""
        if self._guard is None:
            self._guard = DivergenceGuard(self._parameters, self.max_loss_growth)
        return self._guard

    def request_stop(self) -> None:
        """Ask the run to stop at the next batch boundary (after that batch's step): safe to call
        from a signal handler or another thread; the decision goes through :meth:`synchronize`."""
        self.stop_requested = True

    def _diverge(self, problem: str, guard: DivergenceGuard, loss: float) -> None:
        """Stop at a diverging loss: keep the last weights whose loss passed, and say why."""
        self.diverged = self.stop_training = True
        guard.restore()
        group = self.optimizer.param_groups[0]
        lr = group.get("initial_lr", group["lr"])  # as set, before any schedule
        finite = math.isfinite(loss)
        message = (
            f"training stopped at epoch {self.epoch + 1}, batch {self.batch + 1}: {problem}. "
            f"The learning rate (lr={lr:g}) is the likely cause; try a smaller one, e.g. lr={lr / 10:g}. "
            "The model keeps the weights from before that step, the last whose loss "
            + ("had not grown so." if finite else "was finite.")
        )
        self.history.stop_reason = message
        warnings.warn(message, DivergenceWarning if finite else NonFiniteLossWarning, stacklevel=5)

    def _interrupt(self) -> None:
        self.interrupted = self.stop_training = True
        self.stop_requested = False
        self.history.stop_reason = f"stopped on request in epoch {self.epoch + 1}, after batch {self.batch + 1}"

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        epochs: int,
        batch_size: int | None = 32,
        shuffle: bool = True,
        validation_data: Any = None,
        validation_split: float = 0.0,
        callbacks: Iterable[Callback] = (),
        class_weight: Any = None,
        verbose: int = 1,
        stop_on_nonfinite: bool = True,
    ) -> History:
        """Train for ``epochs`` more epochs; returns the :class:`History` (all epochs so far).

        Parameters
        ----------
        x, y : array_like, or a BatchSource and None
            Inputs (N, features) and targets: integer labels (N,) for classification, real values
            (N,) or (N, outputs) for regression.  Or ``x`` is a batch source
            (:class:`~chainrule.training.sources.BatchSource`: rows, batches, ``epoch(generator)``),
            such as a reader that streams a file, and ``y`` is None; the source then makes the
            batches (``batch_size``, ``shuffle``, ``validation_split`` and ``class_weight`` are for
            arrays only).
        epochs : int
            Epochs to run now (≥ 0); a resumed trainer counts on from its ``epoch``.
        batch_size : int or None
            Rows per gradient step: 1 is per-sample SGD, ``None`` the whole set (full batch).
        shuffle : bool
            Draw a new order of the rows each epoch (from the trainer's seeded generator).
        validation_data : (x_val, y_val) or BatchSource, optional
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
            The divergence guard (:class:`DivergenceGuard`): stop at the first NaN, infinite or
            grown loss, restore the weights from before the last step and warn that the learning
            rate is the likely cause.  Costs one copy of the weights per batch.  False turns it off.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"epochs must be an integer ≥ 0, got {epochs!r}")
        source, validation_data, class_weight_y = self._sources(
            x, y, batch_size, shuffle, validation_data, validation_split, class_weight
        )
        self.train_loss = self.loss_fn
        if class_weight is not None:
            self.train_loss = ClassWeightedLoss(self.loss_fn, class_weights(class_weight, class_weight_y))

        progress = progress_callback(verbose)
        self.callbacks = [*callbacks, *([progress] if progress else [])]
        hooks = {name: [getattr(c, name) for c in self.callbacks if c.overrides(name)] for name in HOOKS}
        self._after_backward = hooks["on_after_backward"]
        self.stop_on_nonfinite = stop_on_nonfinite
        if stop_on_nonfinite:
            guard = self._active_guard()
            guard.max_growth = self.max_loss_growth
            first = self.history.history.get("loss")  # a continued run: the loss of its first epoch
            guard.start(first[0] if first else None, source.rows)
        self.stop_training = self.diverged = self.interrupted = False
        self.history.stop_reason = None

        logs: dict = {"epochs": self.epoch + epochs, "samples": source.rows, "batches": source.batches}
        try:
            for hook in hooks["on_train_begin"]:
                hook(self, logs)
            for _ in range(epochs):
                for hook in hooks["on_epoch_begin"]:
                    hook(self, {"epoch": self.epoch + 1})
                start = time.perf_counter()
                logs = self._train_epoch(source, hooks)
                seconds = time.perf_counter() - start
                if self.diverged or self.interrupted:
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
        finally:
            self.train_loss, self._after_backward = self.loss_fn, []
        return self.history

    def _sources(
        self,
        x: Any,
        y: Any,
        batch_size: int | None,
        shuffle: bool,
        validation_data: Any,
        validation_split: float,
        class_weight: Any,
    ) -> tuple[BatchSource, tuple | None, Any]:
        """The training source, the validation data as :meth:`evaluate`'s arguments, and the labels
        for class weights."""
        if is_batch_source(x):
            if y is not None:
                raise ValueError("with a batch source as x, y must be None: the source yields (x, y) batches")
            if validation_split or class_weight is not None:
                raise ValueError(
                    "validation_split and class_weight need arrays; with a batch source pass "
                    "validation_data (another source) and wrap the loss in ClassWeightedLoss yourself"
                )
            validation = None if validation_data is None else self._validation(validation_data)
            return x, validation, None
        if y is None:
            raise ValueError("fit needs targets y beside the inputs x (or a batch source as x)")
        dtype = _dtype(self._parameters)
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
            validation_data = self._validation(validation_data)
        return ArrayBatches(x, y, batch_size, shuffle), validation_data, y

    def _validation(self, data: Any) -> tuple:
        if is_batch_source(data):
            return (data,)
        dtype = _dtype(self._parameters)
        x_val, y_val = as_inputs(data[0], dtype), as_targets(data[1], dtype, self.loss_fn)
        _check_pair("validation x", x_val, "validation y", y_val)
        return x_val, y_val

    def _train_epoch(self, source: BatchSource, hooks: dict) -> dict:
        """One pass over the source's batches; returns ``{"loss": mean loss, metric: value, …}``
        (empty when the pass ended at a divergence or a stop request)."""
        begin, end = hooks["on_batch_begin"], hooks["on_batch_end"]
        with_logs = bool(begin or self._after_backward or end)
        keep = bool(self.metrics)
        outputs: list = []
        targets: list = []
        total, rows = 0.0, 0
        train_step, batches = self.train_step, source.epoch(self.generator)
        self.model.train()
        for self.batch, batch in enumerate(batches):
            size = len(batch[0])
            logs = {"batch": self.batch, "size": size} if with_logs else None
            for hook in begin:
                hook(self, logs)
            value, output = train_step(batch, logs)
            if self.diverged:
                return {}
            for hook in end:
                hook(self, logs)
            total += value * size
            rows += size
            if keep:
                outputs.append(output.data)
                targets.append(batch[1])
            if self.interrupted:
                return {}
        logs = {"loss": total / rows if rows else math.nan}
        if keep and outputs:
            output_array, target_array = _joined(outputs), _joined(targets)
            logs.update({name: metric(output_array, target_array) for name, metric in self.metrics.items()})
        return logs

    # ------------------------------------------------------------------ inference
    def predict(self, x: Any, batch_size: int = EVAL_BATCH) -> Any:
        """The model's outputs for ``x``: :func:`predict` with this trainer's model."""
        return predict(self.model, x, batch_size)

    def evaluate(self, x: Any, y: Any = None, batch_size: int = EVAL_BATCH) -> dict[str, float]:
        """``{"loss": …, metric: …}`` of the model on ``(x, y)``, or on the batches of a source
        ``x`` (its rows in order; the loss is the row-weighted mean of the batch losses)."""
        if is_batch_source(x):
            return self._evaluate_source(x)
        y = as_targets(y, _dtype(self._parameters), self.loss_fn)
        outputs = self.predict(x, batch_size)
        _check_pair("x", outputs, "y", y)
        with no_grad():
            results = {"loss": self.loss_fn(Tensor(outputs), y).item()}
        results.update({name: metric(outputs, y) for name, metric in self.metrics.items()})
        return results

    def _evaluate_source(self, source: BatchSource) -> dict[str, float]:
        outputs, targets, total, rows = [], [], 0.0, 0
        was_training = self.model.training
        self.model.eval()
        try:
            with no_grad():
                for x, y in source.epoch(None):
                    output = self.model(Tensor(x))
                    total += self.loss_fn(output, y).item() * len(x)
                    rows += len(x)
                    outputs.append(output.data)
                    targets.append(y)
        finally:
            self.model.train(was_training)
        if not rows:
            raise ValueError("the validation source yielded no rows; evaluation needs at least one sample")
        results = {"loss": total / rows}
        output_array, target_array = _joined(outputs), _joined(targets)
        results.update({name: metric(output_array, target_array) for name, metric in self.metrics.items()})
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


def _kind(value: Any) -> str:
    """``ndarray array([1., 2.])``: a value's type and (abbreviated) repr, for error messages."""
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '…' if len(text) > 60 else text}"


def _loss_argument(loss_fn: Any) -> Any:
    if isinstance(loss_fn, str):
        return names.loss(loss_fn)
    if isinstance(loss_fn, type) or not callable(loss_fn):
        raise TypeError(
            f"loss_fn must be a loss module such as nn.MSELoss() or a name such as 'mse', got {_kind(loss_fn)}"
        )
    return loss_fn


def _optimizer_argument(optimizer: Any, model: Module, parameters: list) -> Optimizer:
    if isinstance(optimizer, str):
        return names.optimizer(optimizer, parameters)
    if not isinstance(optimizer, Optimizer):
        hint = f"{optimizer.__name__}(model.parameters())" if isinstance(optimizer, type) else "optim.Adam(...)"
        raise TypeError(
            f"optimizer must be a chainrule.optim optimizer such as {hint} or a name such as 'adam', "
            f"got {_kind(optimizer)}"
        )
    owned = {id(p) for p in parameters}
    if any(id(p) not in owned for group in optimizer.param_groups for p in group["params"]):
        raise ValueError("the optimizer updates parameters that are not the model's; build it on model.parameters()")
    return optimizer


def _metric_names(metrics: Any) -> list[str]:
    if isinstance(metrics, str) or not isinstance(metrics, Iterable):
        raise TypeError(f"metrics must be a list of metric names such as ['accuracy'], got {_kind(metrics)}")
    metrics = list(metrics)
    for name in metrics:
        if not isinstance(name, str):
            raise TypeError(f"metrics must be a list of metric names such as ['accuracy'], got {_kind(name)} in it")
    return metrics


def _positive_or_none(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a positive number or None, got {_kind(value)}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number or None, got {value}")
    return float(value)


def _dtype(parameters: Iterable[Any]) -> Any:
    for parameter in parameters:
        return parameter.dtype
    raise ValueError("the model has no parameters to train; build it from layers such as nn.Linear")


def _joined(arrays: list) -> Any:
    """One array from a list of per-batch arrays (no copy for a single batch)."""
    return arrays[0] if len(arrays) == 1 else backend.xp.concatenate(arrays)


def predict(model: Module, x: Any, batch_size: int = EVAL_BATCH) -> Any:
    """The outputs of ``model`` for the rows of ``x``, as one array: evaluation mode (dropout off,
    batch-norm running statistics), no graph, ``batch_size`` rows per forward pass."""
    x = as_inputs(x, _dtype(model.parameters()))
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
    loss_fn: Module | str,
    optimizer: Optimizer | str,
    x: Any,
    y: Any = None,
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
    clip_grad_norm: float | None = None,
    max_loss_growth: float | None = MAX_LOSS_GROWTH,
) -> History:
    """Train ``model`` on ``(x, y)``: ``Trainer(model, loss_fn, optimizer, metrics=, seed=,
    clip_grad_norm=, max_loss_growth=).fit(...)``.

    Each epoch minimises the loss L(w) by the optimizer's rule (w ← w − η ∂L/∂w for plain SGD)
    over batches of ``batch_size`` rows.  See :class:`Trainer` and :meth:`Trainer.fit` for every
    argument; ``x`` may be a batch source with ``y=None``.

    Examples
    --------
    >>> history = fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), x, y,
    ...               epochs=100, batch_size=1, metrics=["rmse"], seed=0, verbose=0)
    """
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        metrics=metrics,
        seed=seed,
        clip_grad_norm=clip_grad_norm,
        max_loss_growth=max_loss_growth,
    )
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
