"""Plots (``chainrule.plots``), drawn with matplotlib on the headless Agg backend, as PNG or SVG.

matplotlib is imported only when a plot is drawn; without it the error says
``pip install 'chainrule[plots]'``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from chainrule.plots.boundary import plot_decision_boundary
from chainrule.plots.descent import descent_path, line_fit_loss, plot_descent_1d, plot_descent_2d, seed_003_function
from chainrule.plots.network import plot_network
from chainrule.plots.training import plot_gradient_norms, plot_history


def save_training_plots(
    history: Any, directory: str | os.PathLike, model: Any = None, health: Any = None, suffix: str = ".png"
) -> list[Path]:
    """The plots of a finished run in ``directory``: ``history.png`` (loss and metric curves), and
    ``network.png`` (the trained weights) with ``model``, ``gradient_norms.png`` with a
    :class:`~chainrule.diagnostics.health.HealthMonitor` (``health``).  ``directory`` is made if
    needed.  Returns the paths written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [plot_history(history, directory / f"history{suffix}")]
    if model is not None:
        with contextlib.suppress(ValueError):  # not a Sequential of Linear layers and activations: no diagram
            paths.append(plot_network(model, directory / f"network{suffix}"))
    if health is not None and any(health.gradient_norms().values()):
        paths.append(plot_gradient_norms(health, directory / f"gradient_norms{suffix}"))
    return paths


__all__ = [
    "descent_path",
    "line_fit_loss",
    "plot_decision_boundary",
    "plot_descent_1d",
    "plot_descent_2d",
    "plot_gradient_norms",
    "plot_history",
    "plot_network",
    "save_training_plots",
    "seed_003_function",
]
