"""Seeded train/test splits and mini-batches of row indices.

Randomness comes from :func:`chainrule.backend.generator`: an int seed, a NumPy ``Generator``,
or None for the global generator that :func:`chainrule.manual_seed` sets, so one seed makes a
whole run repeatable. Row indices and labels are host NumPy arrays (labels may be text).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy

from chainrule import backend
from chainrule.data.dataset import Dataset, TensorDataset, default_collate
from chainrule.data.table import Table


def _n_rows(array: Any) -> int:
    return array.n_rows if isinstance(array, Table) else len(array)


def _take(array: Any, rows: numpy.ndarray) -> Any:
    return array.take(rows) if isinstance(array, Table) else array[rows]


def _n_test(n: int, test_size: float | int) -> int:
    """How many rows the test part gets: ``round(test_size · n)`` for a fraction, the count for an int."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float)):
        raise TypeError(f"test_size must be a fraction in (0, 1) or a row count, got {test_size!r}")
    if isinstance(test_size, float):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size {test_size} must lie strictly between 0 and 1 (or be a row count)")
        n_test = round(test_size * n)
    else:
        n_test = test_size
    if not 1 <= n_test <= n - 1:
        raise ValueError(f"test_size {test_size!r} leaves {n_test} of {n} rows for testing; both parts need a row")
    return n_test


def train_test_split(
    *arrays: Any,
    test_size: float | int = 0.2,
    seed: Any = None,
    stratify: Any = None,
) -> list[Any]:
    """Split arrays (or Tables) of equal length into random train and test rows.

    Returns ``[a_train, a_test, b_train, b_test, …]`` like scikit-learn. ``test_size`` is a fraction
    (the test part has ``round(test_size · n)`` rows) or a row count. With ``stratify=labels``
    every class keeps its share: class ``c`` with ``n_c`` rows puts ``floor(n_test · n_c / n)`` rows
    in the test part, and the rows still owed go to the classes with the largest remainders, so
    the test part has exactly ``n_test`` rows. The same ``seed`` gives the same split.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    n = _n_rows(arrays[0])
    for array in arrays[1:]:
        if _n_rows(array) != n:
            raise ValueError(f"arrays have different lengths ({n} and {_n_rows(array)}); pass one row per sample")
    n_test = _n_test(n, test_size)
    rng = backend.generator(seed)
    if stratify is None:
        order = rng.permutation(n)
        test, train = order[:n_test], order[n_test:]
    else:
        labels = backend.to_numpy(backend.xp.asarray(stratify))
        if len(labels) != n:
            raise ValueError(f"stratify has {len(labels)} labels for {n} rows; pass one label per row")
        test, train = _stratified(labels, n_test, rng)
    return [part for array in arrays for part in (_take(array, train), _take(array, test))]


def _stratified(labels: numpy.ndarray, n_test: int, rng: numpy.random.Generator) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Test and train row indices with each class's share of test rows (largest-remainder rounding)."""
    classes, codes, counts = numpy.unique(labels, return_inverse=True, return_counts=True)
    exact = n_test * counts / len(labels)
    per_class = numpy.floor(exact).astype(numpy.int64)
    owed = n_test - int(per_class.sum())
    per_class[numpy.argsort(-(exact - per_class), kind="stable")[:owed]] += 1
    test, train = [], []
    for c in range(len(classes)):
        rows = rng.permutation(numpy.flatnonzero(codes == c))
        test.append(rows[: per_class[c]])
        train.append(rows[per_class[c] :])
    return rng.permutation(numpy.concatenate(test)), rng.permutation(numpy.concatenate(train))


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")


def batches(
    n: int,
    batch_size: int,
    shuffle: bool = False,
    drop_last: bool = False,
    generator: Any = None,
) -> Iterator[numpy.ndarray]:
    """Yield index arrays that cover ``range(n)`` once, ``batch_size`` at a time.

    ``shuffle`` draws a new permutation (from ``generator``) per call; the last, smaller batch is
    yielded unless ``drop_last``. Batch size 1 is per-sample SGD, ``batch_size = n`` full batch.
    """
    _check_batch_size(batch_size)
    order = backend.generator(generator).permutation(n) if shuffle else backend.xp.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


class DataLoader:
    """Mini-batches of a dataset, as PyTorch's ``DataLoader``, or of equal-length arrays.

    * ``DataLoader(dataset, batch_size=1, shuffle=False)``: ``dataset`` is a
      :class:`~chainrule.data.dataset.Dataset`; each batch is its samples at a run of indices
      (a fresh permutation each epoch when shuffling), collated by ``collate_fn`` (by default
      :func:`~chainrule.data.dataset.default_collate`: tensors stacked, a tuple sample giving a
      list ``[x_batch, y_batch]``).  A ``TensorDataset`` is gathered a batch at a time (one
      indexing per tensor); another dataset sample by sample.  ``batch_size`` and ``shuffle``
      may be given by position, as PyTorch allows.
    * ``DataLoader(x, y, batch_size=32)``: each batch is a tuple of row slices of the arrays
      (views without shuffling, one fancy-index gather with it); no per-sample Python loop.

    Parameters
    ----------
    *data:
        A dataset, or arrays with the same first dimension (e.g. ``x``, ``y``).
    batch_size:
        Samples per batch; 1 for a dataset and 32 for arrays unless given.
    shuffle, drop_last, generator:
        As in :func:`batches`; a new order is drawn every epoch (every ``iter``).
    collate_fn:
        For a dataset: the function that makes a batch of a list of samples.

    Attributes
    ----------
    dataset:
        The dataset (None for arrays), so ``len(loader.dataset)`` is the number of samples.
    batch_size, shuffle, drop_last:
        As given.
    """

    def __init__(
        self,
        *data: Any,
        batch_size: int | None = None,
        shuffle: bool = False,
        drop_last: bool = False,
        generator: Any = None,
        collate_fn: Callable[[list], Any] | None = None,
    ) -> None:
        if not data:
            raise ValueError("DataLoader needs a dataset or at least one array")
        self.dataset = self.arrays = None
        if isinstance(data[0], Dataset):
            if len(data) > 3:
                raise TypeError("DataLoader(dataset, batch_size, shuffle): give the other options by name")
            self.dataset = data[0]
            if len(data) > 1:
                batch_size = data[1]
            if len(data) > 2:
                shuffle = data[2]
            self.n = len(self.dataset)
            batch_size = 1 if batch_size is None else batch_size
        else:
            if collate_fn is not None:
                raise TypeError("collate_fn is for a dataset; DataLoader(x, y, ...) yields the arrays' row slices")
            self.n = len(data[0])
            if any(len(array) != self.n for array in data):
                raise ValueError(f"arrays have different lengths {[len(a) for a in data]}; pass one row per sample")
            self.arrays = data
            batch_size = 32 if batch_size is None else batch_size
        _check_batch_size(batch_size)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn
        self.generator = None if generator is None else backend.generator(generator)
        """A seed becomes one ``Generator`` here, so every epoch draws a new order; None: the global one."""

    def __len__(self) -> int:
        """The number of batches per epoch."""
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[Any]:
        """One epoch of batches, in a fresh order when shuffling: the collated samples of a
        dataset, or ``(a[rows], b[rows], …)`` of arrays."""
        if self.dataset is not None:
            yield from self._dataset_batches()
            return
        if not self.shuffle:
            stop = self.n - self.n % self.batch_size if self.drop_last else self.n
            for start in range(0, stop, self.batch_size):
                yield tuple(array[start : start + self.batch_size] for array in self.arrays)
            return
        for rows in batches(self.n, self.batch_size, True, self.drop_last, self.generator):
            yield tuple(array[rows] for array in self.arrays)

    def _dataset_batches(self) -> Iterator[Any]:
        dataset, collate = self.dataset, self.collate_fn or default_collate
        gather = isinstance(dataset, TensorDataset) and self.collate_fn is None
        for rows in batches(self.n, self.batch_size, self.shuffle, self.drop_last, self.generator):
            yield dataset.batch(rows) if gather else collate([dataset[int(i)] for i in rows])
