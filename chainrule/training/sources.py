"""Batch sources: what the training loop draws its (x, y) batches from.

The loop of :class:`~chainrule.training.Trainer` asks a source for one epoch's batches at a time;
it never looks at the whole data set.  In-memory arrays are one kind of source
(:class:`ArrayBatches`, what ``fit(x, y)`` builds); a reader that streams a file larger than memory
is another, and plugs into the same loop by giving the same three things:

* ``rows``: the number of rows an epoch covers (progress, the epoch's mean loss);
* ``batches``: the number of batches an epoch yields (progress);
* ``epoch(generator)``: an iterable of ``(x, y)`` pairs for one pass, where ``x`` is a backend
  array (batch, features) of the model's dtype and ``y`` its targets as
  :func:`~chainrule.training.trainer.as_targets` makes them (int64 labels (batch,), or real
  values (batch, outputs) of the model's dtype).  ``generator`` is the trainer's seeded
  ``numpy.random.Generator`` (saved in checkpoints, so a resumed run draws the same orders): a
  source that shuffles draws its order from it; ``None`` asks for the rows in their stored order
  (evaluation).

A source may be iterated again for every epoch; the batches of one epoch must not depend on how
far the previous epoch's iterator was consumed (the loop stops early on a divergence or a stop
request).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class BatchSource(Protocol):
    """The interface the training loop uses: ``rows``, ``batches`` and ``epoch(generator)``."""

    @property
    def rows(self) -> int:
        """Rows per epoch."""

    @property
    def batches(self) -> int:
        """Batches per epoch."""

    def epoch(self, generator: Any) -> Any:
        """One epoch's iterable of ``(x, y)`` batches (shuffled with ``generator``, or in order if None)."""


def is_batch_source(value: Any) -> bool:
    """Whether ``value`` has a batch source's members (``rows``, ``batches``, ``epoch``): what
    ``isinstance(value, BatchSource)`` tells, without the cost of a runtime protocol check."""
    return hasattr(value, "epoch") and hasattr(value, "batches") and hasattr(value, "rows")


class ArrayBatches:
    """Batches of ``batch_size`` rows from arrays in memory, in a new random order each epoch.

    An epoch draws one permutation π of the N rows from the trainer's generator and yields
    ``(x[π[a:b]], y[π[a:b]])`` for a = 0, B, 2B, … (one gather per batch, no copy of the whole
    set); without shuffling (or with ``generator=None``) it yields the slices ``x[a:b]`` (views).
    The last batch holds the N mod B rows left over, if any.

    Parameters
    ----------
    x, y : backend arrays
        Inputs (N, features) and targets with N rows, already converted for the model.
    batch_size : int
        Rows per batch (≥ 1); a larger value than N gives one full batch.
    shuffle : bool
        Draw a new order for each epoch.
    """

    def __init__(self, x: Any, y: Any, batch_size: int, shuffle: bool = True) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} rows but y has {len(y)}; they must have one row per sample")
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle

    @property
    def rows(self) -> int:
        """N, the rows of ``x``."""
        return len(self.x)

    @property
    def batches(self) -> int:
        """⌈N / B⌉."""
        return math.ceil(len(self.x) / self.batch_size)

    def epoch(self, generator: Any) -> Iterator[tuple[Any, Any]]:
        """The batches of one pass, in a random order drawn from ``generator`` when shuffling."""
        x, y, size, n = self.x, self.y, self.batch_size, len(self.x)
        if self.shuffle and generator is not None:
            order = generator.permutation(n)
            for start in range(0, n, size):
                rows = order[start : start + size]
                yield x[rows], y[rows]
        else:
            for start in range(0, n, size):
                yield x[start : start + size], y[start : start + size]

    def __repr__(self) -> str:
        return f"ArrayBatches(rows={self.rows}, batch_size={self.batch_size}, shuffle={self.shuffle})"
