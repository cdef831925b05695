"""Training on files larger than memory: a batch source that streams a file, epoch after epoch.

:class:`FileBatches` reads a CSV, Parquet or Arrow file in chunks (:func:`~chainrule.data.readers.iter_tables`),
keeps the rows of its part (training or held-out), turns them into model arrays with a fitted
:class:`~chainrule.data.preprocessing.Preprocessor` and yields ``(x, y)`` batches. Memory is
bounded by the shuffle buffer and one chunk, never by the file.

It is a batch source of the training loop: ``rows`` (rows per epoch), ``batches`` (batches per
epoch) and ``epoch(generator)`` (one pass; shuffled with ``generator``, in file order with None).

Held-out rows are chosen by a seeded hash of the row number (:func:`held_out`), so the split is
the same on every pass and every machine without reading the file first, and the rows of a part
are the same whatever the chunk size.

Shuffling differs from a full permutation. The buffer holds ``shuffle_buffer`` rows; the rows read
are added to it until twice as many have come, then the whole is permuted (by the trainer's
generator) and batches are taken from it until ``shuffle_buffer`` rows are left, which wait for
the next rows. So each batch is drawn uniformly from a window of about three buffers that moves
through the file: rows further apart in the file than that window never share a batch, and rows
from the start of the file come out early in the epoch. On a file sorted by the target (or by time), shuffle it once on
disk or make the buffer large; a full permutation would need the whole file in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy

from chainrule import backend
from chainrule.data.preprocessing import Preprocessor
from chainrule.data.readers import CHUNK_BYTES, iter_tables
from chainrule.data.table import Table

SHUFFLE_BUFFER = 1 << 17
"""Rows the shuffle buffer keeps by default (131,072: 5 MiB for 10 float32 features; with the rows
read before each permutation, about 15 MiB)."""
PARTS = ("train", "held_out", "all")
_MASK = (1 << 64) - 1


def _splitmix64(values: numpy.ndarray) -> numpy.ndarray:
    """SplitMix64's finaliser, element-wise on uint64: a bijection that mixes every bit into every bit."""
    with numpy.errstate(over="ignore"):
        z = values + numpy.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> numpy.uint64(30))) * numpy.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> numpy.uint64(27))) * numpy.uint64(0x94D049BB133111EB)
        return z ^ (z >> numpy.uint64(31))


def held_out(row_ids: numpy.ndarray, fraction: float, seed: int = 0) -> numpy.ndarray:
    """Which rows are held out: row ``r`` is when ``h(seed, r) / 2⁶⁴ < fraction``.

    ``h`` is SplitMix64 of ``r`` mixed with SplitMix64 of the seed: a fixed function of the row
    number, so the split needs no pass over the file, is the same in every chunking, and holds out
    ``fraction`` of the rows up to sampling noise (±√(n·f·(1−f)) rows).
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"the held-out fraction must be in [0, 1), got {fraction!r}")
    key = _splitmix64(numpy.array([seed & _MASK], dtype=numpy.uint64))[0]
    hashed = _splitmix64(numpy.asarray(row_ids, dtype=numpy.uint64) ^ key)
    return (hashed >> numpy.uint64(11)).astype(numpy.float64) * 2.0**-53 < fraction


class FileBatches:
    """``(x, y)`` batches streamed from a file: a batch source for the training loop.

    Parameters
    ----------
    path:
        A CSV (plain, ``.gz``, ``.zst``), Parquet or Arrow/Feather file.
    preprocessor:
        Fitted, or unfitted and then fitted by :meth:`fit` (one pass over this part's rows).
    batch_size:
        Rows per batch; every batch but an epoch's last has this many.
    part:
        ``"train"`` (rows not held out), ``"held_out"`` or ``"all"``.
    holdout, split_seed:
        The held-out fraction and the seed of :func:`held_out`.
    shuffle_buffer:
        Rows kept in the shuffle buffer (see the module's notes on shuffling).
    dtype:
        The model's float dtype for ``x`` and real-valued ``y`` (float32 by default).
    read:
        Keyword arguments of :func:`~chainrule.data.readers.iter_tables` (``delimiter``,
        ``header``, ``chunk_bytes``, …).

    Attributes
    ----------
    rows, batches:
        Rows and batches per epoch (counted by :meth:`fit`, or by one pass when first asked).
    """

    def __init__(
        self,
        path: str | Path,
        preprocessor: Preprocessor,
        *,
        batch_size: int = 32,
        part: str = "train",
        holdout: float = 0.0,
        split_seed: int = 0,
        shuffle_buffer: int = SHUFFLE_BUFFER,
        dtype: Any = None,
        **read: Any,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if part not in PARTS:
            raise ValueError(f"part must be one of {PARTS}, got {part!r}")
        if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) or shuffle_buffer < 0:
            raise ValueError(f"shuffle_buffer must be a number of rows ≥ 0, got {shuffle_buffer!r}")
        held_out(numpy.zeros(0, dtype=numpy.uint64), holdout)  # checks the fraction
        if part == "held_out" and holdout == 0:
            raise ValueError("part='held_out' needs holdout > 0")
        self.path, self.preprocessor, self.batch_size = Path(path), preprocessor, batch_size
        self.part, self.holdout, self.split_seed, self.shuffle_buffer = part, holdout, split_seed, shuffle_buffer
        self.dtype = backend.float32 if dtype is None else dtype
        self.read = {"chunk_bytes": CHUNK_BYTES, **read}
        self._rows: int | None = None

    def __repr__(self) -> str:
        return f"FileBatches({str(self.path)!r}, part={self.part!r}, batch_size={self.batch_size})"

    def tables(self) -> Iterator[Table]:
        """The chunks of this part's rows, in file order (raw tables, before preprocessing)."""
        for table in iter_tables(self.path, **self.read):
            if self.part == "all" or self.holdout == 0:
                yield table
                continue
            mask = held_out(table.row_ids(), self.holdout, self.split_seed)
            yield table.take(mask if self.part == "held_out" else ~mask)

    def fit(self) -> Preprocessor:
        """Fit the preprocessor on this part's rows in one pass (and count them); returns it."""
        counted = [0]

        def counting(tables: Iterable[Table]) -> Iterator[Table]:
            for table in tables:
                counted[0] += table.n_rows
                yield table

        self.preprocessor.fit_chunks(counting(self.tables()))
        self._rows = counted[0]
        return self.preprocessor

    @property
    def rows(self) -> int:
        """Rows per epoch."""
        if self._rows is None:
            self._rows = sum(table.n_rows for table in self.tables())
        return self._rows

    @property
    def batches(self) -> int:
        """⌈rows / batch_size⌉."""
        return math.ceil(self.rows / self.batch_size)

    def arrays(self, table: Table) -> tuple[Any, Any]:
        """A chunk's model arrays ``(x, y)``: features in ``dtype``; targets as the trainer wants them."""
        x = self.preprocessor.transform(table).astype(self.dtype, copy=False)
        y = self.preprocessor.transform_target(table)
        if y.dtype.kind == "f":
            y = y.astype(self.dtype, copy=False)
        return x, y

    def epoch(self, generator: Any) -> Iterator[tuple[Any, Any]]:
        """One pass: shuffled through the buffer with ``generator``, or in file order when it is None."""
        size = self.batch_size
        keep = self.shuffle_buffer if generator is not None else 0
        refill = max(2 * keep, size)  # rows read before the buffer is permuted again: each row copied ~1.5 times
        held: list[tuple[Any, Any]] = []  # the buffer, then the chunks read since it was last permuted
        rows = 0
        for table in self.tables():
            if table.n_rows == 0:
                continue
            held.append(self.arrays(table))
            rows += table.n_rows
            if rows - keep < refill:
                continue
            x, y = self._joined(held, generator)
            ready = (len(x) - keep) // size * size
            for start in range(0, ready, size):
                yield x[start : start + size], y[start : start + size]
            held, rows = [(x[ready:], y[ready:])], len(x) - ready
        if rows:
            x, y = self._joined(held, generator)
            for start in range(0, len(x), size):
                yield x[start : start + size], y[start : start + size]

    @staticmethod
    def _joined(parts: list[tuple[Any, Any]], generator: Any) -> tuple[Any, Any]:
        """The parts' rows as one ``(x, y)``, permuted by ``generator`` (in order when it is None)."""
        x = parts[0][0] if len(parts) == 1 else backend.xp.concatenate([part[0] for part in parts])
        y = parts[0][1] if len(parts) == 1 else backend.xp.concatenate([part[1] for part in parts])
        if generator is None:
            return x, y
        order = generator.permutation(len(x))
        return x[order], y[order]
