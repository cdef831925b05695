"""Gradient descent drawn: its path on a 1-D function (seed 003's y = (x + 2)²) and on a 2-D loss surface.

Each step is x ← x − η f′(x), with f′ from autograd (``Tensor.backward``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chainrule import backend
from chainrule.autograd import no_grad
from chainrule.plots._figure import pyplot, save
from chainrule.tensor import Tensor, tensor


def seed_003_function(x: Tensor) -> Tensor:
    """y = (x + 2)², minimum 0 at x = −2 (seed 003)."""
    return (x + 2) ** 2


_DATA_X = (-1.0, 0.0, 1.0, 2.0)
_DATA_Y = (-1.0, 1.0, 3.0, 5.0)


def line_fit_loss(p: Tensor) -> Tensor:
    """L(w, b) = (1/4) Σᵢ (w xᵢ + b − yᵢ)² for the points (−1, −1), (0, 1), (1, 3), (2, 5) (minimum at w = 2, b = 1)."""
    x, y = tensor(_DATA_X, dtype="float64"), tensor(_DATA_Y, dtype="float64")
    residual = p[0] * x + p[1] - y
    return (residual * residual).mean()


def descent_path(function: Callable[[Tensor], Tensor], start: Any, lr: float, steps: int) -> list[Any]:
    """The points x₀, x₁, … of x ← x − η ∇f(x), the gradient from autograd; stops early where a
    step leaves float64's range (fewer than ``steps + 1`` points then).

    Raises
    ------
    ValueError
        If ``lr`` is not a positive finite number, ``steps`` is negative, or ``start`` is not finite.
    """
    xp = backend.xp
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive finite number such as 0.1; got lr={lr!r}")
    if not (isinstance(steps, int) and steps >= 0):
        raise ValueError(f"steps must be a whole number ≥ 0 such as 20; got {steps!r}")
    point = xp.asarray(start, dtype=backend.float64)
    if not xp.isfinite(point).all():
        raise ValueError(f"the start must be finite; got {point.tolist()}")
    points = [point.copy()]
    with xp.errstate(over="ignore", invalid="ignore"):  # a step that overflows ends the path, checked here
        for _ in range(steps):
            x = tensor(point, dtype="float64", requires_grad=True)
            function(x).backward()
            point = point - lr * x.grad
            if not xp.isfinite(point).all():
                break
            points.append(point.copy())
    return points


def _values(function: Callable[[Tensor], Tensor], points: Any) -> list[float]:
    """f at each point, inf or NaN where it leaves float64's range (no warning: callers check)."""
    with no_grad(), backend.xp.errstate(over="ignore", invalid="ignore"):
        return [float(function(tensor(point, dtype="float64")).item()) for point in points]


def _checked_path(function: Callable[[Tensor], Tensor], start: Any, lr: float, steps: int) -> tuple[list, list]:
    """The descent's points and f at each; a ValueError if f or a step leaves float64's range.

    Raises
    ------
    ValueError
        If f is not finite at the start, or the descent diverges so far within ``steps`` steps
        that a point or its value overflows.
    """
    points = descent_path(function, start, lr, steps)
    heights = _values(function, points)
    bad = next((k for k, h in enumerate(heights) if not math.isfinite(h)), len(points))
    if bad == 0:
        raise ValueError(f"the function overflows float64 at the start {points[0].tolist()}; start nearer the minimum")
    if bad <= steps:
        raise ValueError(
            f"gradient descent with lr={lr:g} diverges: by step {bad} of {steps} it leaves float64's range; "
            "take a smaller lr or fewer steps"
        )
    return points, heights


def _checked_values(function: Callable[[Tensor], Tensor], points: Any) -> list[float]:
    """f on the plot's grid around the path; a ValueError if it leaves float64's range there."""
    values = _values(function, points)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(
            "the function overflows float64 in the plotted range around the path; take a smaller lr or fewer steps"
        )
    return values


def plot_descent_1d(
    path: str | os.PathLike,
    function: Callable[[Tensor], Tensor] = seed_003_function,
    x0: float = 0.0,
    lr: float = 0.1,
    steps: int = 20,
    label: str = "y = (x + 2)²",
) -> Path:
    """The curve of ``function`` and the gradient-descent steps from ``x0`` on it, numbered."""
    xp = backend.xp
    trail, heights = _checked_path(function, x0, lr, steps)
    points = [float(p) for p in trail]
    low, high = min(points), max(points)
    pad = max(1.0, 0.3 * (high - low))
    with xp.errstate(over="ignore", invalid="ignore"):  # an overflowing grid is refused by _checked_values
        grid = xp.linspace(low - pad, high + pad, 400)
    curve = _checked_values(function, grid)
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.plot(grid, curve, color="tab:blue", label=label)
    ax.plot(points, heights, color="tab:red", marker="o", markersize=4, linewidth=1, label=f"x ← x − {lr:g}·f′(x)")
    for i in (0, 1, 2, len(points) - 1):
        if i < len(points):
            ax.annotate(
                f"x{i} = {points[i]:.3f}",
                (points[i], heights[i]),
                textcoords="offset points",
                xytext=(6, 8),
                fontsize=8,
            )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"Gradient descent, η = {lr:g}, {len(points) - 1} steps")
    ax.grid(alpha=0.3)
    ax.legend()
    return save(figure, path)


def plot_descent_2d(
    path: str | os.PathLike,
    function: Callable[[Tensor], Tensor] = line_fit_loss,
    start: Sequence[float] = (-1.0, 3.5),
    lr: float = 0.1,
    steps: int = 40,
    labels: tuple[str, str] = ("w", "b"),
    resolution: int = 80,
) -> Path:
    """Contours of a loss of two parameters and the gradient-descent path across them.

    The default is the loss of fitting a line h = w x + b to four points, L(w, b) = mean((w x + b − y)²).
    """
    xp = backend.xp
    points = xp.stack(_checked_path(function, start, lr, steps)[0])
    low, high = points.min(axis=0), points.max(axis=0)
    with xp.errstate(over="ignore", invalid="ignore"):  # an overflowing grid is refused by _checked_values
        pad = 0.25 * (high - low).max() + 0.5
        g0 = xp.linspace(low[0] - pad, high[0] + pad, resolution)
        g1 = xp.linspace(low[1] - pad, high[1] + pad, resolution)
    surface = xp.array([_checked_values(function, [(a, b) for a in g0]) for b in g1])
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(6, 4.8))
    filled = ax.contourf(g0, g1, surface, levels=30, cmap="viridis")
    ax.contour(g0, g1, surface, levels=15, colors="white", linewidths=0.4, alpha=0.6)
    figure.colorbar(filled, ax=ax, label="loss")
    ax.plot(
        points[:, 0],
        points[:, 1],
        color="tab:red",
        marker="o",
        markersize=3,
        linewidth=1.2,
        label=f"gradient descent, η = {lr:g}",
    )
    ax.scatter(points[0, 0], points[0, 1], color="white", edgecolor="black", s=50, zorder=3, label="start")
    ax.scatter(
        points[-1, 0],
        points[-1, 1],
        color="tab:red",
        edgecolor="black",
        marker="*",
        s=140,
        zorder=3,
        label=f"after {len(points) - 1} steps",
    )
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_title("Loss surface and the gradient-descent path")
    ax.legend(fontsize=8, loc="upper right")
    return save(figure, path)
