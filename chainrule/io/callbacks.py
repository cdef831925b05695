"""``ModelCheckpoint``: save the model during training (a callback that writes files)."""

from __future__ import annotations

import os
from typing import Any

from chainrule.io.checkpoint import save
from chainrule.training.callbacks import Callback, Monitor


class ModelCheckpoint(Callback):
    """Save a checkpoint after each epoch, or only when ``monitor`` improves (``best_only``).

    Each save is atomic (see :func:`chainrule.io.save`) and holds the weights, the optimizer and
    trainer state (so training can resume from it), the epoch's logs as metrics and whatever
    ``preprocessor`` and ``config`` are given.

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
