"""``ModelCheckpoint``: save the model during training (a callback that writes files)."""

from __future__ import annotations

import os
import warnings
from typing import Any

from chainrule.io.checkpoint import save
from chainrule.training.callbacks import Callback, Monitor


class ModelCheckpoint(Callback):
    """Save a checkpoint after each epoch, or only when ``monitor`` improves (``best_only``).

    Each save is atomic (see :func:`chainrule.io.save`) and holds the weights, the optimizer and
    trainer state with the state of every callback (so training can resume from it exactly with
    ``Checkpoint.restore``), the epoch's logs as metrics and whatever ``preprocessor`` and
    ``config`` are given.  Put it last in ``callbacks``, so that the others have finished the
    epoch when it saves (it warns otherwise).

    Parameters
    ----------
    filepath : path
        Where to save; ``{epoch}`` and logged names are filled in (``"model-{epoch:03d}.safetensors"``).
    monitor : str
        The quantity that decides "best" (``val_loss`` by default).
    best_only : bool
        Save only epochs that improve on the best so far (by more than ``min_delta``).
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``auto`` decides from the name.
    preprocessor, config : optional
        Passed to :func:`chainrule.io.save`.

    Attributes
    ----------
    saved : list[str]
        The paths written, in order.
    """

    def __init__(
        self,
        filepath: str | os.PathLike,
        monitor: str = "val_loss",
        best_only: bool = False,
        mode: str = "auto",
        min_delta: float = 0.0,
        preprocessor: Any = None,
        config: dict | None = None,
    ) -> None:
        self.filepath, self.best_only = os.fspath(filepath), best_only
        self.tracker = Monitor(monitor, mode, min_delta)
        self.preprocessor, self.config = preprocessor, config
        self.saved: list[str] = []

    def on_train_begin(self, trainer: Any, logs: dict) -> None:
        """Warn if a callback with a state runs after this one: its state in the checkpoints would
        lag one epoch behind, so a run resumed from them would not continue exactly."""
        callbacks = list(trainer.callbacks)
        later = [
            type(c).__name__
            for c in callbacks[callbacks.index(self) + 1 :]
            if c.state_dict() is not None and not isinstance(c, ModelCheckpoint)
        ]
        if later:
            warnings.warn(
                f"ModelCheckpoint comes before {', '.join(later)} in callbacks, so its checkpoints hold their state "
                "from before each epoch's end; put ModelCheckpoint last to resume from them exactly",
                stacklevel=2,
            )

    def state_dict(self) -> dict[str, Any]:
        """The best monitored value so far (``best_only`` goes on comparing with it after a resume)."""
        return {"best": self.tracker.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved state."""
        best = state.get("best") if isinstance(state, dict) and set(state) == {"best"} else None
        if isinstance(best, bool) or not isinstance(best, (int, float)):
            raise ValueError(f"a ModelCheckpoint state is {{'best': number}}, got {state!r}")
        self.tracker.best = float(best)

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        if self.best_only:
            value = self.tracker.value(logs)
            if not self.tracker.improves(value):
                return
            self.tracker.update(value)
        path = self.filepath.format(epoch=trainer.epoch, **logs)
        save(
            path,
            trainer.model,
            optimizer=trainer.optimizer,
            preprocessor=self.preprocessor,
            config=self.config,
            metrics=dict(logs, epoch=trainer.epoch),
            trainer=trainer,
        )
        self.saved.append(path)
