"""Synthetic data: a data set made by a random "teacher" network, to be learnt by a "student".

Seed 003 (``003_84858f22480b3ab5.txt``) builds "a custom dataset using a neural network with random
weights" and learns it with "an entirely different neural network with a different number of
layers and neurons per layer".  Because the targets are an exact function of the inputs, a student
that learns them well shows that backpropagation works; how close it gets (test MSE against the
targets' variance) measures how well.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from chainrule import backend, nn
from chainrule.nn import registry
from chainrule.tensor import Tensor

ACTIVATIONS = registry.ACTIVATIONS
"""The activations the teacher may use, by name (every one the registry declares)."""


def _check(n_samples: int, teacher_sizes: Sequence[int], activation: str, noise: float) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if len(teacher_sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in teacher_sizes):
        raise ValueError(
            f"teacher_sizes must list at least two positive layer widths (inputs … outputs), "
            f"e.g. (3, 5, 1); got {tuple(teacher_sizes)!r}"
        )
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {sorted(ACTIVATIONS)}")
    if not noise >= 0:
        raise ValueError(f"noise is a standard deviation and must be ≥ 0, got {noise!r}")


def make_teacher(
    teacher_sizes: Sequence[int] = (3, 5, 1),
    activation: str = "sigmoid",
    *,
    bias: bool = False,
    seed: Any = None,
    dtype: Any = backend.float64,
) -> nn.Sequential:
    """A random teacher network: ``Linear`` layers of the given widths, each followed by ``activation``.

    As in seed 003's network, the activation follows every layer, the output layer's too, and there
    are no biases unless ``bias=True``.  Weights (and biases) are drawn from N(0, 1): larger than
    ``Linear``'s default U(±1/√in), so that the teacher is clearly non-linear.

    Parameters
    ----------
    teacher_sizes : sequence of int
        Widths from the inputs to the outputs, e.g. (3, 5, 1) for 3 inputs, 5 hidden units, 1 output.
    activation : str
        A name in :data:`ACTIVATIONS`.
    bias : bool
        Whether the layers have biases.
    seed : int, numpy.random.Generator or None
        Source of the weights (``None``: the global generator of :func:`chainrule.manual_seed`).
    dtype : dtype
        The parameters' dtype.
    """
    _check(1, teacher_sizes, activation, 0.0)
    rng = backend.generator(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(teacher_sizes):
        layer = nn.Linear(n_in, n_out, bias=bias, dtype=dtype)
        nn.init.normal_(layer.weight, generator=rng)
        if bias:
            nn.init.normal_(layer.bias, generator=rng)
        layers += [layer, ACTIVATIONS[activation].make()]
    return nn.Sequential(*layers)


def make_teacher_student(
    n_samples: int,
    teacher_sizes: Sequence[int] = (3, 5, 1),
    activation: str = "sigmoid",
    noise: float = 0.0,
    seed: Any = None,
    *,
    bias: bool = False,
    dtype: Any = backend.float64,
) -> tuple[Any, Any]:
    """Inputs and the targets that a random teacher network (:func:`make_teacher`) gives them.

    x ~ N(0, 1) of shape (n_samples, teacher_sizes[0]);  y = teacher(x) + noise · ε with
    ε ~ N(0, 1), of shape (n_samples, teacher_sizes[−1]).  With ``noise=0`` the targets are an
    exact function of the inputs; with sigmoid they lie in (0, 1).

    Parameters
    ----------
    n_samples : int
        Number of rows.
    teacher_sizes : sequence of int
        The teacher's layer widths, inputs first, e.g. (3, 5, 1).
    activation : str
        The teacher's activation: ``"sigmoid"`` (seed 003), ``"tanh"``, ``"relu"``, ``"identity"`` or
        any other name in :data:`ACTIVATIONS`.
    noise : float
        Standard deviation of Gaussian noise added to the targets.
    seed : int, numpy.random.Generator or None
        One seed fixes the teacher, the inputs and the noise (``None``: the global generator).
    bias : bool
        Whether the teacher's layers have biases (seed 003's have none).
    dtype : dtype
        Of both arrays: float64 by default, ``chainrule.float32`` for training in float32.

    Returns
    -------
    x, y : backend arrays (NumPy ``ndarray`` on the NumPy backend)
        Shapes (n_samples, teacher_sizes[0]) and (n_samples, teacher_sizes[−1]).

    Examples
    --------
    >>> x, y = make_teacher_student(2000, teacher_sizes=(3, 5, 1), seed=0)
    >>> x.shape, y.shape
    ((2000, 3), (2000, 1))
    """
    _check(n_samples, teacher_sizes, activation, noise)
    rng = backend.generator(seed)
    teacher = make_teacher(teacher_sizes, activation, bias=bias, seed=rng, dtype=backend.float64)
    x = rng.standard_normal((n_samples, teacher_sizes[0]))
    y = teacher(Tensor(x)).data
    if noise:
        y = y + noise * rng.standard_normal(y.shape)
    dtype = backend.resolve_dtype(dtype)
    return x.astype(dtype), y.astype(dtype)
