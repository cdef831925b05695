"""The one array namespace that all of chainrule's maths goes through.

Every module above this one reaches arrays through ``backend.xp`` (NumPy now,
CuPy later) or through methods of the arrays themselves, so swapping the
backend is one assignment here.  This module also owns the dtype rules and the
global random generator behind :func:`chainrule.manual_seed`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy

xp = numpy
"""The array module in use: :mod:`numpy` (a CuPy backend would set ``cupy``)."""

ndarray = numpy.ndarray

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
default_dtype = float32
"""The dtype of tensors made from Python numbers and lists."""

_FLOAT_DTYPES = (numpy.dtype("float16"), float32, float64)


def resolve_dtype(dtype: Any) -> numpy.dtype:
    """Turn ``"float64"``, ``numpy.float64`` or ``chainrule.float64`` into a NumPy dtype.

    Raises
    ------
    TypeError
        If ``dtype`` names no NumPy dtype.
    """
    try:
        return numpy.dtype(dtype)
    except TypeError as error:
        raise TypeError(
            f"dtype {dtype!r} is not a dtype; pass chainrule.float32, chainrule.float64 "
            "or a NumPy dtype name such as 'float64'"
        ) from error


def is_floating(dtype: numpy.dtype) -> bool:
    """True for the floating-point dtypes that can carry gradients."""
    return dtype in _FLOAT_DTYPES


def asarray(data: Any, dtype: Any = None) -> ndarray:
    """An array from ``data`` following chainrule's dtype rules.

    * An explicit ``dtype`` wins.
    * Float and integer arrays keep their dtype (integer arrays hold class labels).
    * Python numbers, lists and bool data become ``default_dtype`` (float32) unless they are
      integers in an array already.
    """
    if dtype is not None:
        return xp.asarray(data, dtype=resolve_dtype(dtype))
    if isinstance(data, xp.ndarray):
        if data.dtype.kind in "fiu":
            return data
        return data.astype(default_dtype)
    if isinstance(data, numpy.generic) and data.dtype.kind in "fiu":
        return xp.asarray(data)
    return xp.asarray(data, dtype=default_dtype)


@functools.lru_cache(maxsize=64)
def constant(value: float, dtype: Any, shape: tuple = ()) -> ndarray:
    """A read-only array of ``shape`` (0-d by default) filled with ``value`` in ``dtype``, made
    once and kept.

    In arithmetic with small arrays a 0-d array of the right dtype costs about half of a Python
    number, which NumPy converts (and looks up the type of) on every call; vectors of ones are the
    1 of the sums 1ᵀ G, and ``constant(1, dtype, shape)`` is the ∂L/∂L that ``backward()`` starts from.
    """
    array = xp.full(shape, value, dtype=dtype)
    array.flags.writeable = False
    return array


def to_numpy(array: ndarray) -> numpy.ndarray:
    """A NumPy copy of a backend array (the array itself on the NumPy backend)."""
    return array.get() if hasattr(array, "get") else numpy.asarray(array)


_generator = numpy.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the global generator used by initialisers, ``Dropout`` and shuffling.

    The same seed gives bit-identical weights and runs on the same machine.
    """
    global _generator
    _generator = numpy.random.default_rng(seed)


def generator(seed_or_generator: Any = None) -> numpy.random.Generator:
    """The global generator, or one made from a seed, or the ``Generator`` passed in."""
    if seed_or_generator is None:
        return _generator
    if isinstance(seed_or_generator, numpy.random.Generator):
        return seed_or_generator
    return numpy.random.default_rng(seed_or_generator)
