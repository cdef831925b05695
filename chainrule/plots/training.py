"""Curves over epochs: loss and metrics (train and validation), per-layer gradient norms."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chainrule.plots._figure import pyplot, save


def _history_dict(history: Any) -> dict[str, list[float]]:
    values = getattr(history, "history", history)
    if not isinstance(values, dict) or not values.get("loss"):
        raise ValueError("plot_history needs a History (or its .history dict) with a non-empty 'loss' list")
    return values


def plot_history(history: Any, path: str | os.PathLike, metrics: list[str] | None = None) -> Path:
    """Loss and metric curves, one panel per quantity, training solid and validation (``val_…``) dashed.

    ``metrics`` picks the quantities (default: every key except ``lr`` and the ``val_`` twins).
    """
    values = _history_dict(history)
    names = metrics or [k for k in values if not k.startswith("val_") and k != "lr"]
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names):
        series = values[name]
        epochs = range(1, len(series) + 1)
        ax.plot(epochs, series, color="tab:blue", marker="o", markersize=3, label=f"train {name}")
        if f"val_{name}" in values:
            ax.plot(
                epochs,
                values[f"val_{name}"],
                color="tab:orange",
                linestyle="--",
                marker="s",
                markersize=3,
                label=f"validation {name}",
            )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.set_title(name)
        if name == "loss" and min(series) > 0 and max(series) / min(series) > 50:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    return save(figure, path)


def plot_gradient_norms(norms: Any, path: str | os.PathLike) -> Path:
    """‖∂L/∂Wˡ‖ of each layer over the epochs, on a log scale (vanishing gradients sit at the bottom).

    ``norms`` is a :class:`~chainrule.diagnostics.health.HealthMonitor` or a dict
    ``{layer name: [norm per epoch]}``.
    """
    series = norms.gradient_norms() if hasattr(norms, "gradient_norms") else dict(norms)
    if not series or not any(series.values()):
        raise ValueError("plot_gradient_norms needs at least one epoch of gradient norms (train with HealthMonitor)")
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    figure, ax = plt.subplots(figsize=(6, 3.8))
    colours = plt.get_cmap("viridis")
    for i, (name, values) in enumerate(series.items()):
        ax.plot(
            range(1, len(values) + 1),
            values,
            marker="o",
            markersize=3,
            label=name,
            color=colours(i / max(len(series) - 1, 1)),
        )
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("‖∂L/∂W‖ (mean over batches)")
    ax.set_title("Gradient norm per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return save(figure, path)
