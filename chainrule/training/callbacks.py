"""Callbacks: code that the training loop calls at fixed points, to watch or steer a run.

A callback subclasses :class:`Callback` and defines any of the hooks below, each called as
``hook(trainer, logs)``.  The trainer exposes ``model``, ``optimizer``, ``loss_fn``, ``epoch``
(epochs completed so far, so the current epoch is ``epoch + 1`` inside an epoch), ``batch``,
``history`` and ``stop_training`` (set it to True to stop after the current epoch).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from chainrule.optim.lr_scheduler import ReduceLROnPlateau
from chainrule.training.metrics import higher_is_better

HOOKS = (
    "on_train_begin",
    "on_epoch_begin",
    "on_batch_begin",
    "on_after_backward",
    "on_batch_end",
    "on_epoch_end",
    "on_train_end",
)
"""The hook names, in the order the loop reaches them."""


class Callback:
    """Base class of callbacks; every hook does nothing unless a subclass defines it.

    Hooks and their ``logs``:

    * ``on_train_begin(trainer, logs)``: ``{"epochs", "samples", "batches"}`` for this run.
    * ``on_epoch_begin(trainer, logs)``: ``{"epoch"}`` (counted from 1).
    * ``on_batch_begin(trainer, logs)``: ``{"batch", "size"}``.
    * ``on_after_backward(trainer, logs)``: ``{"batch", "size", "loss"}``; the parameters'
      ``.grad`` hold ∂L/∂w of this batch and the optimizer step has not been taken yet.
    * ``on_batch_end(trainer, logs)``: ``{"batch", "size", "loss"}``, after the step.
    * ``on_epoch_end(trainer, logs)``: the epoch's ``loss``, metrics, ``val_…`` values and ``lr``.
    * ``on_train_end(trainer, logs)``: the last epoch's logs.

    Hooks that a subclass does not define cost nothing per batch: the trainer calls only the
    hooks that are overridden.
    """

    def on_train_begin(self, trainer: Any, logs: dict) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, trainer: Any, logs: dict) -> None:
        """Before each epoch."""

    def on_batch_begin(self, trainer: Any, logs: dict) -> None:
        """Before each batch's forward pass."""

    def on_after_backward(self, trainer: Any, logs: dict) -> None:
        """After ``loss.backward()``, before ``optimizer.step()``: gradients are in ``.grad``."""

    def on_batch_end(self, trainer: Any, logs: dict) -> None:
        """After each optimizer step."""

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        """After each epoch's training pass and validation."""

    def on_train_end(self, trainer: Any, logs: dict) -> None:
        """After the last epoch, however training stopped."""

    def overrides(self, hook: str) -> bool:
        """Whether this callback defines ``hook`` itself (the trainer skips the others)."""
        return getattr(type(self), hook) is not getattr(Callback, hook)

    def state_dict(self) -> dict[str, Any] | None:
        """What this callback needs to continue a resumed run as if it had never stopped, as
        JSON-ready data (NumPy arrays allowed: checkpoints store them as tensors), or ``None``
        (the default) for a callback that keeps nothing between epochs.

        ``chainrule.io.save(..., trainer=trainer)`` stores the state of each of the trainer's
        callbacks that has one, and ``Checkpoint.restore(callbacks=[...])`` hands it back to
        :meth:`load_state_dict` of the callback in the same place.
        """
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a state saved by :meth:`state_dict` (a callback without state has none)."""
        raise TypeError(f"{type(self).__name__} keeps no state, so it has none to load")


class Monitor:
    """Tracks the best value of one logged quantity (``val_loss``, ``val_accuracy``, …).

    ``mode="auto"`` maximises accuracy and R² and minimises everything else.  A value improves on
    the best when it is better by more than ``min_delta``; NaN never improves.
    """

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be ≥ 0, got {min_delta}")
        self.monitor, self.min_delta = monitor, min_delta
        self.sign = (1 if higher_is_better(monitor) else -1) if mode == "auto" else (1 if mode == "max" else -1)
        self.best = -math.inf

    def value(self, logs: dict) -> float:
        """The monitored value in ``logs``; a clear error if it is not logged."""
        if self.monitor not in logs:
            raise ValueError(
                f"cannot monitor {self.monitor!r}: it is not logged (logged: {', '.join(sorted(logs))}); "
                "pass validation data for 'val_…' quantities or choose another monitor"
            )
        return logs[self.monitor]

    def improves(self, value: float) -> bool:
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
        return self.sign * value - self.min_delta > self.best

    def update(self, value: float) -> None:
        """Record ``value`` as the new best."""
        self.best = self.sign * value

    @property
    def best_value(self) -> float:
        """The best value seen, in its own sign (±inf before the first)."""
        return self.sign * self.best


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves when its value beats the best so far by more than ``min_delta`` (lower for
    losses and errors, higher for accuracy and R²).  With ``restore_best_weights`` the model ends
    with the weights of its best epoch, whether training stopped early or ran to the epoch limit
    (Keras restores only on an early stop).

    Parameters
    ----------
    monitor : str
        A logged quantity: ``val_loss`` (the default), ``val_accuracy``, ``loss``, ….
    patience : int
        Stop after this many epochs in a row without improvement (0 and 1 both stop at the
        first epoch that does not improve, as in Keras).
    min_delta : float
        The smallest change that counts as an improvement.
    restore_best_weights : bool
        Load the best epoch's weights at the end of training.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``auto`` decides from the name.

    Attributes
    ----------
    best_epoch : int or None
        The epoch (counted from 1) with the best value.
    stopped_epoch : int or None
        The epoch after which training stopped early, or None.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        restore_best_weights: bool = False,
        mode: str = "auto",
    ) -> None:
        if patience < 0:
            raise ValueError(f"patience must be ≥ 0, got {patience}")
        self.tracker = Monitor(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self._reset()

    def _reset(self) -> None:
        self.tracker.best = -math.inf
        self.wait, self.best_epoch, self.stopped_epoch, self.best_weights = 0, None, None, None
        self._resumed = False

    def on_train_begin(self, trainer: Any, logs: dict) -> None:
        """Start counting afresh, unless :meth:`load_state_dict` just restored a saved run."""
        if not self._resumed:
            self._reset()
        self._resumed = False

    def state_dict(self) -> dict[str, Any]:
        """The best value so far (as the tracker keeps it, signed so that higher is better), the
        epochs waited, the best and stopping epochs, and the best weights (arrays) if kept."""
        weights = self.best_weights
        return {
            "best": self.tracker.best,
            "wait": self.wait,
            "best_epoch": self.best_epoch,
            "stopped_epoch": self.stopped_epoch,
            "best_weights": None if weights is None else {name: array.copy() for name, array in weights.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved state: the next ``fit`` goes on counting from it instead of
        starting afresh.

        Raises
        ------
        ValueError
            If ``state`` is not what :meth:`state_dict` gives (checked before anything changes).
        """
        keys = {"best", "wait", "best_epoch", "stopped_epoch", "best_weights"}
        if not isinstance(state, dict) or set(state) != keys:
            raise ValueError(f"an EarlyStopping state has exactly {sorted(keys)}")
        counts = {key: state[key] for key in ("wait", "best_epoch", "stopped_epoch")}
        if not (isinstance(state["best"], (int, float)) and not isinstance(state["best"], bool)) or not all(
            (value is None and key != "wait") or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)
            for key, value in counts.items()
        ):
            raise ValueError(f"EarlyStopping state: best must be a number and the counts integers ≥ 0, got {state!r}")
        weights = state["best_weights"]
        if weights is not None and not (
            isinstance(weights, dict) and all(isinstance(n, str) and hasattr(a, "shape") for n, a in weights.items())
        ):
            raise ValueError("EarlyStopping state: best_weights must be None or a dict of name → array")
        self.tracker.best = float(state["best"])
        self.wait, self.best_epoch, self.stopped_epoch = counts["wait"], counts["best_epoch"], counts["stopped_epoch"]
        self.best_weights = weights
        self._resumed = True

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        value = self.tracker.value(logs)
        if self.tracker.improves(value):
            self.tracker.update(value)
            self.wait, self.best_epoch = 0, trainer.epoch
            if self.restore_best_weights:
                self.best_weights = {name: array.copy() for name, array in trainer.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = trainer.epoch
            trainer.stop_training = True
            trainer.history.stop_reason = (
                f"early stopping: {self.tracker.monitor} has not improved on {self.tracker.best_value:.6g} "
                f"(epoch {self.best_epoch}) for {self.wait} epochs"
            )

    def on_train_end(self, trainer: Any, logs: dict) -> None:
        if self.best_weights is not None and self.best_epoch != trainer.epoch:
            trainer.model.load_state_dict(self.best_weights)


class LearningRateScheduler(Callback):
    """Change the learning rate during training.

    ``schedule`` is either

    * a scheduler from :mod:`chainrule.optim.lr_scheduler` (anything with ``step()``), stepped after
      every epoch (``interval="epoch"``) or batch (``interval="batch"``: ``OneCycleLR``); a
      scheduler that steps on a metric (``ReduceLROnPlateau``) gets ``logs[monitor]``, and needs
      ``monitor`` (an error when it is made, not at the first epoch's end); or
    * a function ``schedule(epoch, lr) -> lr`` (epoch counted from 0), applied to every parameter
      group at the start of each epoch, as Keras' ``LearningRateScheduler``.

    Examples
    --------
    >>> LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** (epoch // 10))
    >>> LearningRateScheduler(optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5))
    >>> LearningRateScheduler(optim.lr_scheduler.ReduceLROnPlateau(optimizer), monitor="val_loss")
    """

    def __init__(self, schedule: Any, interval: str = "epoch", monitor: str | None = None) -> None:
        if interval not in ("epoch", "batch"):
            raise ValueError(f"interval must be 'epoch' or 'batch', got {interval!r}")
        if not (hasattr(schedule, "step") or callable(schedule)):
            raise TypeError("schedule must be a learning-rate scheduler (with step()) or a function (epoch, lr) -> lr")
        on_metric = isinstance(schedule, ReduceLROnPlateau)
        if on_metric and monitor is None:
            raise ValueError(
                "LearningRateScheduler: ReduceLROnPlateau steps on a metric; say which with monitor= (e.g. "
                "monitor='val_loss', or 'loss' without validation data)"
            )
        if on_metric and interval != "epoch":
            raise ValueError(
                "LearningRateScheduler: ReduceLROnPlateau steps on each epoch's metric; use interval='epoch'"
            )
        if monitor is not None and not on_metric:
            raise ValueError(
                f"LearningRateScheduler: monitor={monitor!r} is for schedulers that step on a metric "
                f"(ReduceLROnPlateau); this {type(schedule).__name__} steps on the epoch alone, leave monitor out"
            )
        self.schedule, self.interval, self.monitor = schedule, interval, monitor

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state (``{"schedule": scheduler.state_dict()}``); nothing for a function
        of the epoch, which the restored epoch count drives."""
        return {"schedule": self.schedule.state_dict()} if hasattr(self.schedule, "state_dict") else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put the scheduler back where it was (its rates, steps taken, best metric …)."""
        expected = {"schedule"} if hasattr(self.schedule, "state_dict") else set()
        if not isinstance(state, dict) or set(state) != expected:
            raise ValueError(
                f"a LearningRateScheduler state for a {type(self.schedule).__name__} has exactly {sorted(expected)}; "
                "restore it into a callback with the same kind of schedule"
            )
        if expected:
            self.schedule.load_state_dict(state["schedule"])

    def on_epoch_begin(self, trainer: Any, logs: dict) -> None:
        if not hasattr(self.schedule, "step"):
            function: Callable[[int, float], float] = self.schedule
            for group in trainer.optimizer.param_groups:
                group["lr"] = float(function(trainer.epoch, group["lr"]))

    def on_batch_end(self, trainer: Any, logs: dict) -> None:
        if self.interval == "batch" and hasattr(self.schedule, "step"):
            self.schedule.step()

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        if self.interval == "epoch" and hasattr(self.schedule, "step"):
            if self.monitor is None:
                self.schedule.step()
            else:
                self.schedule.step(Monitor(self.monitor).value(logs))
