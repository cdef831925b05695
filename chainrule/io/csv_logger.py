"""``CSVLogger``: each epoch's logs as one row of a CSV file (a callback that writes files)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any

from chainrule.io.checkpoint import atomic_write_bytes
from chainrule.training.callbacks import Callback


class CSVLogger(Callback):
    """Write one row per epoch to a CSV file, as Keras's ``CSVLogger``.

    The columns are ``epoch`` (counted from 1, as in the history) and every logged quantity
    (``loss``, ``lr``, the metrics, ``val_…``) in sorted order; a quantity missing from an epoch
    is written ``NA``, and one that appears later gets a column then.  ``append=False`` starts the
    file afresh at each ``fit``; ``append=True`` keeps the rows of an existing file (a resumed
    run's, say) and adds below them, widening its header if the new run logs more.

    Safe when training stops, however it stops: after every epoch the whole file is written again
    to a temporary name and renamed over the old one (:func:`chainrule.io.atomic_write_bytes`),
    so the file always holds each finished epoch's row and never half a row, and no file stays
    open between epochs.

    Parameters
    ----------
    filename : path
        The CSV file.
    separator : str
        Between the values (``","``).
    append : bool
        Add to the rows of an existing file instead of replacing it.

    Examples
    --------
    >>> trainer.fit(x, y, epochs=20, callbacks=[CSVLogger("training.csv")])
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        if len(separator) != 1:
            raise ValueError(f"CSVLogger: separator must be one character, got {separator!r}")
        self.filename, self.separator, self.append = Path(filename), separator, append
        if self.filename.is_dir():
            raise ValueError(f"CSVLogger: {self.filename} is a folder; give a file name such as training.csv")
        self.columns: list[str] = []
        self.rows: list[dict[str, str]] = []

    def on_train_begin(self, trainer: Any, logs: dict) -> None:
        """Start afresh, or (``append``) read the rows already in the file."""
        self.columns, self.rows = ["epoch"], []
        if self.append and self.filename.is_file():
            with open(self.filename, newline="", encoding="utf-8") as handle:
                table = list(csv.reader(handle, delimiter=self.separator))
            if table:
                self.columns = table[0] if "epoch" in table[0] else ["epoch", *table[0]]
                self.rows = [dict(zip(table[0], row)) for row in table[1:]]

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        """Add this epoch's row and write the file again, atomically."""
        row = {"epoch": str(trainer.epoch)} | {name: _text(value) for name, value in logs.items()}
        self.columns += sorted(name for name in row if name not in self.columns)
        self.rows.append(row)
        text = io.StringIO()
        writer = csv.writer(text, delimiter=self.separator, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows([row.get(name, "NA") for name in self.columns] for row in self.rows)
        atomic_write_bytes(self.filename, text.getvalue().encode("utf-8"))


def _text(value: Any) -> str:
    """A logged value as it is written: a float in full (``repr``: it reads back as the same
    number), anything else as ``str``."""
    value = value.item() if hasattr(value, "item") else value
    return repr(value) if isinstance(value, float) else str(value)
