"""``History``: what a training run recorded, one entry per epoch."""

from __future__ import annotations


class History:
    """The per-epoch record of a run, as Keras' ``History``.

    Attributes
    ----------
    history : dict[str, list[float]]
        ``loss``, ``val_loss`` (with validation data), each metric (``accuracy``, ``rmse``, …) and
        its ``val_`` twin, and ``lr`` (the learning rate of the first parameter group during the
        epoch): one value per epoch.
    epoch : list[int]
        The epoch numbers, counted from 1 (they continue after a resumed run).
    seconds : list[float]
        Wall-clock time of each epoch's training pass (validation excluded).
    stop_reason : str or None
        Why training stopped before its last epoch (early stopping, a non-finite loss), if it did.

    Examples
    --------
    >>> history = fit(model, loss_fn, optimizer, x, y, epochs=5, batch_size=32, verbose=0)
    >>> history.history["loss"]       # five training losses
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.seconds: list[float] = []
        self.stop_reason: str | None = None

    def append(self, epoch: int, logs: dict[str, float], seconds: float) -> None:
        """Record epoch ``epoch``'s logged values."""
        self.epoch.append(epoch)
        self.seconds.append(seconds)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(float(value))

    def state_dict(self) -> dict:
        """The record as plain JSON-ready data (stored in checkpoints so a resumed run continues it)."""
        return {"history": self.history, "epoch": self.epoch, "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        """Restore a record saved by :meth:`state_dict`."""
        self.history = {name: [float(v) for v in values] for name, values in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]
        self.seconds = [float(s) for s in state["seconds"]]

    def __repr__(self) -> str:
        last = {name: values[-1] for name, values in self.history.items()}
        return f"History(epochs={len(self.epoch)}, last={last})"
