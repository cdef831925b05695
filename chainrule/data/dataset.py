"""PyTorch's map-style datasets: ``Dataset``, ``TensorDataset`` and the ``default_collate`` that
turns a list of samples into a batch (``torch.utils.data``'s names and behaviour).

A dataset gives sample i as ``dataset[i]`` and its size as ``len(dataset)``;
:class:`~chainrule.data.split.DataLoader` draws batches of indices and collates the samples into
tensors.  A ``TensorDataset`` is gathered a whole batch at a time (one indexing per tensor, no
loop over samples); any other dataset sample by sample, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chainrule import backend
from chainrule.tensor import Tensor


class Dataset:
    """Base class of map-style datasets, as ``torch.utils.data.Dataset``.

    Subclasses implement ``__getitem__(index) -> sample`` (a tensor, array, number, or a tuple,
    list or dict of them) and ``__len__``.

    Examples
    --------
    >>> class Squares(Dataset):
    ...     def __len__(self):
    ...         return 100
    ...     def __getitem__(self, i):
    ...         return chainrule.tensor([float(i)]), chainrule.tensor([float(i * i)])
    >>> loader = DataLoader(Squares(), batch_size=10, shuffle=True)
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) returning sample index")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__() returning the number of samples")


class TensorDataset(Dataset):
    """Samples made of the rows of tensors of equal length: ``dataset[i] = (t₁[i], t₂[i], …)``,
    as ``torch.utils.data.TensorDataset``.

    Parameters
    ----------
    *tensors : Tensor or array_like
        The same number of rows (first axis) in each; arrays become tensors (float arrays keep
        their dtype, integer labels stay integers).

    Attributes
    ----------
    tensors : tuple of Tensor
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor (e.g. TensorDataset(x, y))")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        lengths = [len(t.data) if t.data.ndim else None for t in self.tensors]
        if None in lengths or len(set(lengths)) != 1:
            shapes = [tuple(t.shape) for t in self.tensors]
            raise ValueError(f"TensorDataset: the tensors must have the same number of rows, got shapes {shapes}")

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(tensor[index] for tensor in self.tensors)

    def __len__(self) -> int:
        return len(self.tensors[0].data)

    def batch(self, rows: Any) -> list[Tensor]:
        """The samples ``rows`` (an index array or a slice) already collated: one tensor per
        tensor of the dataset, what ``default_collate`` makes of them, gathered at once."""
        return [_batch(tensor.data[rows]) for tensor in self.tensors]


def _batch(array: Any) -> Tensor:
    """A tensor of exactly ``array``'s dtype (bool and integer batches stay so)."""
    return Tensor(array, dtype=array.dtype)


def default_collate(samples: Sequence[Any]) -> Any:
    """A batch from a list of samples, as ``torch.utils.data.default_collate``: tensors and
    arrays are stacked on a new first axis, Python floats become a float64 tensor and ints an
    int64 one, strings a list; dicts, tuples and lists are collated field by field (a tuple gives
    a list, as in PyTorch, so ``for x, y in loader`` unpacks it).

    Raises
    ------
    TypeError
        For a sample of any other kind, or fields of different lengths.
    """
    xp = backend.xp
    first = samples[0]
    if isinstance(first, Tensor):
        return _batch(xp.stack([sample.data for sample in samples]))
    if isinstance(first, backend.ndarray):
        return _batch(xp.stack(samples))
    if isinstance(first, (bool, xp.bool_)):
        return _batch(xp.asarray(samples, dtype=bool))
    if isinstance(first, (float, int, xp.generic)):
        dtype = backend.float64 if isinstance(first, float) else xp.int64 if isinstance(first, int) else None
        return _batch(xp.asarray(samples, dtype=dtype))
    if isinstance(first, str):
        return list(samples)
    if isinstance(first, Mapping):
        return {key: default_collate([sample[key] for sample in samples]) for key in first}
    if isinstance(first, Sequence):
        if any(len(sample) != len(first) for sample in samples):
            raise TypeError("default_collate: the samples have different numbers of fields; each must have the same")
        fields = [default_collate(list(field)) for field in zip(*samples)]
        return type(first)(*fields) if hasattr(first, "_fields") else fields
    raise TypeError(
        f"default_collate: a sample holds a {type(first).__name__}; samples must be tensors, arrays, numbers, "
        "strings, or dicts, tuples and lists of them (or pass collate_fn=)"
    )
