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


_STATE_BITS = {"state": 128, "inc": 128}
"""The integers of a PCG64 state and their widths in bits."""
_BIT_GENERATORS = {"PCG64": numpy.random.PCG64, "PCG64DXSM": numpy.random.PCG64DXSM}
"""The bit generators whose state can be saved as JSON: ``default_rng``'s PCG64 and its DXSM variant."""


def generator_state(rng: numpy.random.Generator) -> dict[str, Any]:
    """The state of ``rng`` as JSON-ready data (Python ints and strings), to save and restore it
    exactly with :func:`set_generator_state`.

    Raises
    ------
    TypeError
        For a generator whose bit generator is not PCG64 or PCG64DXSM (``default_rng``'s).
    """
    state = rng.bit_generator.state
    if state.get("bit_generator") not in _BIT_GENERATORS:
        raise TypeError(
            f"cannot save the state of a {state.get('bit_generator')} generator; use numpy.random.default_rng "
            "(PCG64) or a seed, which chainrule saves and restores exactly"
        )
    return {**state, "state": dict(state["state"])}


def check_generator_state(state: Any, where: str = "generator state") -> dict[str, Any]:
    """``state`` if it is a state that :func:`generator_state` could have written, else a
    ``ValueError`` naming ``where`` and what is wrong (so a damaged file never reaches NumPy)."""

    def bad(problem: str) -> ValueError:
        return ValueError(f"{where}: {problem}; it must be a saved PCG64 generator state")

    if not isinstance(state, dict) or set(state) != {"bit_generator", "state", "has_uint32", "uinteger"}:
        raise bad("expected an object with bit_generator, state, has_uint32 and uinteger")
    if state["bit_generator"] not in _BIT_GENERATORS:
        raise bad(f"unknown bit generator {state['bit_generator']!r}")
    inner = state["state"]
    if not isinstance(inner, dict) or set(inner) != set(_STATE_BITS):
        raise bad("'state' must be an object with 'state' and 'inc'")
    numbers = {**{key: (inner[key], bits) for key, bits in _STATE_BITS.items()},
               "has_uint32": (state["has_uint32"], 1), "uinteger": (state["uinteger"], 32)}  # fmt: skip
    for key, (value, bits) in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
            raise bad(f"{key!r} must be an integer in [0, 2^{bits}), got {value!r}")
    return state


def set_generator_state(rng: numpy.random.Generator, state: Any) -> None:
    """Put ``rng`` back in a state saved by :func:`generator_state` (checked first), so that it
    draws the same numbers from there on; its bit generator becomes the saved kind if it differs."""
    state = check_generator_state(state)
    if type(rng.bit_generator).__name__ != state["bit_generator"]:
        raise ValueError(
            f"generator state is for a {state['bit_generator']} generator, this one is "
            f"{type(rng.bit_generator).__name__}; make it with numpy.random.default_rng"
        )
    rng.bit_generator.state = state


def get_rng_state() -> dict[str, Any]:
    """The global generator's state (``torch.get_rng_state``): JSON-ready, for :func:`set_rng_state`."""
    return generator_state(_generator)


def set_rng_state(state: Any) -> None:
    """Continue the global generator from a state saved by :func:`get_rng_state`
    (``torch.set_rng_state``): initialisers, ``Dropout`` and shuffling then draw what they would
    have drawn at the save."""
    global _generator
    state = check_generator_state(state)
    if type(_generator.bit_generator).__name__ != state["bit_generator"]:
        _generator = numpy.random.Generator(_BIT_GENERATORS[state["bit_generator"]]())
    _generator.bit_generator.state = state
