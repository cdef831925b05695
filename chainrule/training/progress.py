"""Progress output: a tqdm bar on a terminal, one plain line per epoch otherwise.

The bar (epoch, step, loss, samples/s, ETA) needs the optional ``tqdm`` package
(``pip install 'chainrule[progress]'``); without it, or when the output is not a terminal (a log
file, a pipe, CI), each epoch prints one line such as::

    epoch 3/15  4.1s  14602 samples/s  loss 0.0712  accuracy 0.9781  val_loss 0.0954  val_accuracy 0.9722
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from chainrule.training.callbacks import Callback


def format_logs(logs: dict[str, float]) -> str:
    """``loss 0.0712  accuracy 0.9781 …``: the logged values, lr last, four significant digits."""
    items = sorted(logs.items(), key=lambda item: (item[0] == "lr", item[0].startswith("val_")))
    return "  ".join(f"{name} {value:.4g}" for name, value in items)


class EpochLines(Callback):
    """Prints one line per epoch: epoch, seconds, samples per second and the logged values."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def on_train_begin(self, trainer: Any, logs: dict) -> None:
        self.epochs, self.samples = logs["epochs"], logs["samples"]

    def on_epoch_begin(self, trainer: Any, logs: dict) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        seconds = trainer.history.seconds[-1] if trainer.history.seconds else time.perf_counter() - self.start
        rate = self.samples / seconds if seconds > 0 else float("inf")
        line = f"epoch {trainer.epoch}/{self.epochs}  {seconds:.1f}s  {rate:.0f} samples/s  {format_logs(logs)}"
        print(line, file=self.stream or sys.stdout, flush=True)


class ProgressBar(Callback):
    """A tqdm bar per epoch: ``epoch 3/15: 62%|████▏  | 37120/60000 [00:02<00:01, 14602 samples/s, loss=0.071]``."""

    def __init__(self, stream: TextIO | None = None, refresh_seconds: float = 0.2) -> None:
        from tqdm.auto import tqdm  # optional extra 'progress'

        self.tqdm, self.stream, self.refresh_seconds = tqdm, stream, refresh_seconds

    def on_train_begin(self, trainer: Any, logs: dict) -> None:
        self.epochs, self.samples = logs["epochs"], logs["samples"]

    def on_epoch_begin(self, trainer: Any, logs: dict) -> None:
        self.bar = self.tqdm(
            total=self.samples,
            unit=" samples",
            unit_scale=self.samples >= 10_000,
            desc=f"epoch {logs['epoch']}/{self.epochs}",
            file=self.stream or sys.stdout,
            dynamic_ncols=True,
            leave=True,
        )
        self.shown = time.perf_counter()

    def on_batch_end(self, trainer: Any, logs: dict) -> None:
        self.bar.update(logs["size"])
        now = time.perf_counter()
        if now - self.shown > self.refresh_seconds:
            self.bar.set_postfix_str(f"step {logs['batch'] + 1}, loss={logs['loss']:.4g}", refresh=False)
            self.shown = now

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        self.bar.set_postfix_str(format_logs(logs), refresh=False)
        self.bar.close()

    def on_train_end(self, trainer: Any, logs: dict) -> None:
        if hasattr(self, "bar"):
            self.bar.close()  # an epoch cut short by a non-finite loss ends here


def progress_callback(verbose: int | bool, stream: TextIO | None = None) -> Callback | None:
    """The progress output for ``verbose``: None (0, quiet), a bar (1 on a terminal with tqdm) or
    one line per epoch (1 elsewhere, or 2)."""
    if not verbose:
        return None
    out = stream or sys.stdout
    if verbose == 1 and getattr(out, "isatty", lambda: False)():
        try:
            return ProgressBar(stream)
        except ImportError:
            pass
    return EpochLines(stream)
