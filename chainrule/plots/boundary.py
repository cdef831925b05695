"""The decision boundary of a classifier with two inputs."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from chainrule import backend
from chainrule.autograd import no_grad
from chainrule.diagnostics.trace import model_dtype
from chainrule.plots._figure import pyplot, save
from chainrule.tensor import Tensor


def predict_classes(model: Any, points: Any) -> Any:
    """Class of each row: logit > 0 for one output (binary), else the largest output."""
    with no_grad():
        out = model(Tensor(points, dtype=model_dtype(model))).data
    return (out[:, 0] > 0).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)


def plot_decision_boundary(
    model: Any,
    x: Any,
    y: Any,
    path: str | os.PathLike,
    resolution: int = 200,
    transform: Callable[[Any], Any] | None = None,
    feature_names: Sequence[str] = ("x₁", "x₂"),
    class_names: Sequence[str] | None = None,
) -> Path:
    """Colour the plane by the class ``model`` predicts, with the samples on top.

    Parameters
    ----------
    x : array (N, 2)
        The samples' two features (in raw units when ``transform`` is given).
    y : array (N,)
        Their class indices 0..K−1.
    transform : callable, optional
        Maps points (M, 2) of the plane to the network's inputs, e.g. a fitted
        ``Preprocessor``'s standardisation, so the axes show the data's own units.
    feature_names, class_names : optional
        Axis labels and legend entries (default x₁, x₂ and "class k").
    """
    xp = backend.xp
    x = xp.asarray(x.data if isinstance(x, Tensor) else x, dtype=float)
    y = xp.asarray(y.data if isinstance(y, Tensor) else y).reshape(-1).astype(int)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"plot_decision_boundary needs inputs with 2 features, got shape {tuple(x.shape)}")
    low, high = x.min(axis=0), x.max(axis=0)
    margin = 0.1 * (high - low) + 1e-9
    g0 = xp.linspace(low[0] - margin[0], high[0] + margin[0], resolution)
    g1 = xp.linspace(low[1] - margin[1], high[1] + margin[1], resolution)
    grid0, grid1 = xp.meshgrid(g0, g1)
    encode = transform or (lambda points: points)
    classes = predict_classes(model, encode(xp.stack([grid0.ravel(), grid1.ravel()], axis=1))).reshape(grid0.shape)
    count = int(max(classes.max(), y.max())) + 1
    plt = pyplot()
    cmap = plt.get_cmap("tab10")
    figure, ax = plt.subplots(figsize=(5.5, 4.8))
    levels = xp.arange(count + 1) - 0.5
    ax.contourf(grid0, grid1, classes, levels=levels, colors=[cmap(i) for i in range(count)], alpha=0.25)
    if count > 1:
        ax.contour(grid0, grid1, classes, levels=levels[1:-1], colors="black", linewidths=1)
    for label in range(count):
        chosen = y == label
        ax.scatter(
            x[chosen, 0],
            x[chosen, 1],
            s=14,
            color=cmap(label),
            edgecolor="black",
            linewidth=0.3,
            label=f"class {label}" if class_names is None else str(class_names[label]),
        )
    accuracy = float((predict_classes(model, encode(x)) == y).mean())
    ax.set_title(f"Decision boundary (accuracy {accuracy:.1%})")
    ax.set_xlabel(feature_names[0])
    ax.set_ylabel(feature_names[1])
    ax.legend(fontsize=8)
    return save(figure, path)
