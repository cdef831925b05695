"""The network diagram: units as circles, connections as lines whose width and colour show a weight or gradient."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
from typing import Any

from chainrule.autograd import no_grad
from chainrule.diagnostics.notation import format_number, network_layers
from chainrule.diagnostics.trace import as_batch, trace
from chainrule.plots._figure import pyplot, save

MAX_UNITS = 12
"""Units drawn per layer; wider layers show their first ``MAX_UNITS`` and say how many are hidden."""


def plot_network(
    model: Any, path: str | os.PathLike, x: Any = None, y: Any = None, loss_fn: Any = None, by: str = "weight"
) -> Path:
    """Draw ``model`` (a Sequential of Linear layers and activations) layer by layer.

    Each line from unit j of layer l−1 to unit k of layer l has width ∝ |v| and colour by sign
    (red positive, blue negative), where v is wˡ_kj (``by="weight"``) or ∂L/∂wˡ_kj
    (``by="gradient"``, needs ``x``, ``y`` and ``loss_fn``; computed by autograd on one sample or
    batch).  With ``x`` (one sample), each unit is labelled with its value hˡ_k.
    """
    if by not in ("weight", "gradient"):
        raise ValueError(f"plot_network: by must be 'weight' or 'gradient', got {by!r}")
    if by == "gradient" and (x is None or y is None or loss_fn is None):
        raise ValueError("plot_network(by='gradient') needs x, y and loss_fn to compute ∂L/∂w")
    layers = network_layers(model)
    matrices = [layer.linear.weight.data for layer in layers]
    values = None
    if x is not None and y is not None and loss_fn is not None:
        run = trace(model, loss_fn, x, y)
        values = [run.x.data[0]] + [t.h.data[0] for t in run.layers]
        if by == "gradient":
            matrices = [t.weight_grad for t in run.layers]
    elif x is not None:
        xs, _ = as_batch(model, None, x, [0.0])
        values = [xs.data[0]]
        h = xs
        with no_grad():
            for layer in layers:
                h = layer.linear(h)
                h = h if layer.activation is None else layer.activation(h)
                values.append(h.data[0])
    sizes = [layers[0].linear.in_features] + [layer.units for layer in layers]
    shown = [min(n, MAX_UNITS) for n in sizes]
    biggest = max(float(abs(m[: shown[i + 1], : shown[i]]).max()) for i, m in enumerate(matrices)) or 1.0
    plt = pyplot()
    cmap = plt.get_cmap("coolwarm")
    gap = max(1.6, max(shown) / 3)
    figure, ax = plt.subplots(figsize=(1.6 * gap * len(sizes) + 1.5, 0.55 * max(shown) + 2))

    def position(column: int, unit: int) -> tuple[float, float]:
        return gap * column, (shown[column] - 1) / 2 - unit

    label_edges = sum(a * b for a, b in itertools.pairwise(shown)) <= 16
    for column, matrix in enumerate(matrices, start=1):
        for k in range(shown[column]):
            for j in range(shown[column - 1]):
                v = float(matrix[k, j])
                (x0, y0), (x1, y1) = position(column - 1, j), position(column, k)
                ax.plot(
                    [x0, x1],
                    [y0, y1],
                    color=cmap(0.5 + 0.5 * v / biggest),
                    linewidth=0.4 + 5 * abs(v) / biggest,
                    zorder=1,
                )
                if label_edges:
                    t = 0.3 + 0.4 * k / max(shown[column] - 1, 1)  # spread along the lines: no two labels meet
                    ax.text(
                        x0 + t * (x1 - x0),
                        y0 + t * (y1 - y0),
                        format_number(v, 3),
                        fontsize=7,
                        ha="center",
                        va="center",
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8),
                    )
    names = ["input"] + [f"layer {layer.number}\n{layer.activation_name}" for layer in layers]
    for column, count in enumerate(shown):
        for unit in range(count):
            cx, cy = position(column, unit)
            ax.add_patch(plt.Circle((cx, cy), 0.28, facecolor="#f2f2f2", edgecolor="#333333", zorder=2))
            text = "x" if column == 0 else "h"
            label = f"{text}{unit + 1}" if values is None else format_number(float(values[column][unit]), 3)
            ax.text(cx, cy, label, ha="center", va="center", fontsize=7 if values is not None else 8, zorder=3)
        hidden = sizes[column] - count
        extra = f"\n(+{hidden} not drawn)" if hidden else ""
        ax.text(gap * column, (max(shown) - 1) / 2 + 0.5, names[column] + extra, ha="center", va="bottom", fontsize=9)
    mappable = plt.cm.ScalarMappable(cmap=cmap, norm=plt.Normalize(-biggest, biggest))
    figure.colorbar(mappable, ax=ax, shrink=0.7, label="∂L/∂w" if by == "gradient" else "weight")
    title = "Gradients ∂L/∂w" if by == "gradient" else "Weights"
    ax.set_title(title + ("; units show their values h for this input" if values is not None else ""))
    ax.set_xlim(-0.6, gap * (len(sizes) - 1) + 0.6)
    ax.set_ylim(-(max(shown) - 1) / 2 - 0.6, (max(shown) - 1) / 2 + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return save(figure, path)
