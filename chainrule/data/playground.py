r"""TensorFlow Playground's two-dimensional data sets, seeded, and its input features.

Every set lives on the square [−6, 6]² (Playground's plane) and has ``n_samples`` points
p = (x₁, x₂).  ``noise`` ∈ [0, 1] (Playground's slider shows it in per cent, 0–50) blurs it:

- ``circle`` (classification): half the points at radius r ~ U(0, 2.5) (class 1), half at
  r ~ U(3.5, 5) (class 0); the label is whether the point, moved by noise ε ~ U(−5, 5)² · noise,
  lies within radius 2.5.
- ``xor`` (classification): x₁, x₂ ~ U(−5, 5), pushed 0.3 away from the axes; class 1 where
  (x₁ + ε₁)(x₂ + ε₂) ≥ 0 with ε ~ U(−5, 5)² · noise.
- ``gauss`` (classification): two Gaussian clusters at (2, 2) (class 1) and (−2, −2) (class 0),
  each coordinate of variance 0.5 + 7 · noise.
- ``spiral`` (classification): two arms r = 5 i/n, θ = 3.5π i/n + π c for class c ∈ {1, 0},
  each point moved by U(−1, 1)² · noise.
- ``plane`` (regression): x₁, x₂ ~ U(−6, 6); y = (x₁ + ε₁ + x₂ + ε₂)/10 with ε ~ U(−6, 6)² · noise,
  so y ∈ [−1.2, 1.2] (noise-free: the plane y = (x₁ + x₂)/10).
- ``gauss-bumps`` (regression): six Gaussian bumps of height ±1 at fixed centres;
  y = the value of the bump with the largest magnitude at p + ε, ε ~ U(−6, 6)² · noise.

Classification targets are class indices 0/1 (int64), regression targets floats (n,).  The
features x₁, x₂, x₁², x₂², x₁x₂, sin x₁, sin x₂ are Playground's choice of inputs
(:func:`playground_features`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from chainrule import backend

xp = backend.xp

PLANE = 6.0
"""Half the side of the input square [−6, 6]² that the data and the heat maps cover."""

FEATURES: dict[str, Callable[[Any, Any], Any]] = {
    "x1": lambda a, b: a,
    "x2": lambda a, b: b,
    "x1^2": lambda a, b: a * a,
    "x2^2": lambda a, b: b * b,
    "x1*x2": lambda a, b: a * b,
    "sin(x1)": lambda a, b: xp.sin(a),
    "sin(x2)": lambda a, b: xp.sin(b),
}
"""Playground's input features, by name, as functions of the coordinates (x₁, x₂)."""

_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))
"""(x₁, x₂, sign) of the six bumps of ``gauss-bumps``."""


def _circle(n: int, noise: float, rng: Any) -> tuple[Any, Any]:
    radius = 5.0
    inner = n // 2
    r = xp.concatenate([rng.uniform(0, radius * 0.5, inner), rng.uniform(radius * 0.7, radius, n - inner)])
    angle = rng.uniform(0, 2 * math.pi, n)
    x = xp.stack([r * xp.sin(angle), r * xp.cos(angle)], axis=1)
    moved = x + rng.uniform(-radius, radius, (n, 2)) * noise
    return x, (xp.hypot(moved[:, 0], moved[:, 1]) < radius * 0.5).astype(xp.int64)


def _xor(n: int, noise: float, rng: Any) -> tuple[Any, Any]:
    x = rng.uniform(-5, 5, (n, 2))
    x += xp.where(x > 0, 0.3, -0.3)
    moved = x + rng.uniform(-5, 5, (n, 2)) * noise
    return x, (moved[:, 0] * moved[:, 1] >= 0).astype(xp.int64)


def _gauss(n: int, noise: float, rng: Any) -> tuple[Any, Any]:
    std = math.sqrt(0.5 + 7.0 * noise)
    half = n // 2
    labels = xp.concatenate([xp.ones(half, dtype=xp.int64), xp.zeros(n - half, dtype=xp.int64)])
    centres = xp.where(labels[:, None] == 1, 2.0, -2.0)
    return centres + rng.normal(0, std, (n, 2)), labels


def _spiral(n: int, noise: float, rng: Any) -> tuple[Any, Any]:
    half = n // 2
    parts, labels = [], []
    for count, turn, label in ((half, 0.0, 1), (n - half, math.pi, 0)):
        i = xp.arange(count) / max(count, 1)
        r, theta = 5 * i, 1.75 * 2 * math.pi * i + turn
        arm = xp.stack([r * xp.sin(theta), r * xp.cos(theta)], axis=1)
        parts.append(arm + rng.uniform(-1, 1, (count, 2)) * noise)
        labels.append(xp.full(count, label, dtype=xp.int64))
    return xp.concatenate(parts), xp.concatenate(labels)


def _plane(n: int, noise: float, rng: Any) -> tuple[Any, Any]:
    x = rng.uniform(-PLANE, PLANE, (n, 2))
    moved = x + rng.uniform(-PLANE, PLANE, (n, 2)) * noise
    return x, (moved[:, 0] + moved[:, 1]) / 10.0


def _gauss_bumps(n: int, noise: float, rng: Any) -> tuple[Any, Any]:
    x = rng.uniform(-PLANE, PLANE, (n, 2))
    moved = x + rng.uniform(-PLANE, PLANE, (n, 2)) * noise
    heights = xp.stack(
        [s * xp.exp(-((moved[:, 0] - a) ** 2 + (moved[:, 1] - b) ** 2) / 2.0) for a, b, s in _BUMPS], axis=1
    )
    strongest = xp.argmax(xp.abs(heights), axis=1)
    return x, heights[xp.arange(n), strongest]


PLAYGROUND_SETS: dict[str, tuple[str, Callable[[int, float, Any], tuple[Any, Any]]]] = {
    "circle": ("classification", _circle),
    "xor": ("classification", _xor),
    "gauss": ("classification", _gauss),
    "spiral": ("classification", _spiral),
    "plane": ("regression", _plane),
    "gauss-bumps": ("regression", _gauss_bumps),
}
"""Name → (task, generator) of each set."""


def make_playground(name: str, n_samples: int = 500, noise: float = 0.0, seed: Any = None) -> tuple[Any, Any, str]:
    """One of Playground's data sets: ``(x, y, task)``.

    Parameters
    ----------
    name : str
        A key of :data:`PLAYGROUND_SETS`: ``circle``, ``xor``, ``gauss``, ``spiral``, ``plane``,
        ``gauss-bumps``.
    n_samples : int
        Points (≥ 2).
    noise : float
        0 (clean) to 1; Playground's slider goes to 0.5.
    seed : int, numpy.random.Generator or None
        Source of the points (``None``: the global generator of :func:`chainrule.manual_seed`).

    Returns
    -------
    x : ndarray (n_samples, 2), float64
        The points (x₁, x₂).
    y : ndarray (n_samples,)
        Class indices 0/1 (int64) or regression values (float64).
    task : str
        ``"classification"`` or ``"regression"``.

    Examples
    --------
    >>> x, y, task = make_playground("spiral", 500, noise=0.1, seed=0)
    >>> x.shape, task
    ((500, 2), 'classification')
    """
    if name not in PLAYGROUND_SETS:
        raise ValueError(f"unknown Playground data set {name!r}; choose one of {sorted(PLAYGROUND_SETS)}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer ≥ 2, got {n_samples!r}")
    if not (isinstance(noise, (int, float)) and 0 <= noise <= 1):
        raise ValueError(f"noise must be a number from 0 to 1 (0.1 is Playground's 10 %), got {noise!r}")
    task, make = PLAYGROUND_SETS[name]
    x, y = make(n_samples, float(noise), backend.generator(seed))
    return x.astype(xp.float64), y, task


def playground_features(x: Any, names: Sequence[str]) -> Any:
    """The input features ``names`` (keys of :data:`FEATURES`) of the points ``x`` (n, 2), as (n, len(names)).

    >>> playground_features([[1.0, 2.0]], ["x1", "x1*x2", "x2^2"])
    array([[1., 2., 4.]])
    """
    unknown = [name for name in names if name not in FEATURES]
    if unknown or not names:
        raise ValueError(f"input features must be one or more of {list(FEATURES)}; got {list(names)!r}")
    x = xp.asarray(x, dtype=xp.float64)
    return xp.stack([FEATURES[name](x[:, 0], x[:, 1]) for name in names], axis=1)


def grid(resolution: int) -> Any:
    """The centres of a ``resolution`` × ``resolution`` grid over [−6, 6]², row by row from the top
    (x₂ = +6) down, x₁ from left to right: shape (resolution², 2), the points a heat map shows."""
    step = 2 * PLANE / resolution
    centres = -PLANE + step * (xp.arange(resolution) + 0.5)
    x1, x2 = xp.meshgrid(centres, centres[::-1])
    return xp.stack([x1.reshape(-1), x2.reshape(-1)], axis=1)
