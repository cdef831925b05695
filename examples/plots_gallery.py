"""Every plot ``chainrule.plots`` draws, written as PNG files into one folder.

* ``descent_1d.png``  gradient descent on seed 003's y = (x + 2)², x ← x − η·2(x + 2), from x = 0, η = 0.1;
* ``descent_2d.png``  gradient descent across the loss surface L(w, b) = mean((w x + b − y)²) of a
  line fitted to four points (minimum at w = 2, b = 1);
* ``network_weights.png``, ``network_gradients.png``  seed 001's 2-2-1 house-price network: lines
  by weight wˡ_kj and by gradient ∂L/∂wˡ_kj, units labelled with their values for the seed's input;
* ``history.png``  loss and accuracy per epoch (train and validation) of a 2-8-2 tanh classifier
  learning which points of the plane lie inside a ring (a generated 2-D toy set, seed 0);
* ``gradient_norms.png``  ‖∂L/∂Wˡ‖ per layer and epoch of that run, from ``HealthMonitor``;
* ``boundary.png``  that classifier's decision boundary over its samples;
* ``network_trained.png``  the trained classifier's weights.

Run::

    python examples/plots_gallery.py [DIR]        # DIR defaults to ./plots

The command line draws the same figures: ``chainrule plot descent|surface OUT.png``,
``chainrule plot network OUT.png --example house-price [--by gradient]``, and for a model saved by
``chainrule train``: ``chainrule plot history MODEL.safetensors OUT.png``,
``chainrule plot boundary MODEL.safetensors OUT.png`` (two input columns), ``chainrule train … --plot DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import chainrule
from chainrule import nn, optim, plots
from chainrule.diagnostics import HealthMonitor
from chainrule.diagnostics.examples import house_price
from chainrule.training import fit


def ring(samples: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform in [−2, 2]², class 1 when farther than 1.2 from the origin, else class 0."""
    x = np.random.default_rng(seed).uniform(-2, 2, size=(samples, 2))
    return x, (np.hypot(x[:, 0], x[:, 1]) > 1.2).astype(np.int64)


def main(out: Path) -> list[Path]:
    """Draw every figure into ``out`` (made if needed); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        plots.plot_descent_1d(out / "descent_1d.png", x0=0.0, lr=0.1, steps=20),
        plots.plot_descent_2d(out / "descent_2d.png", lr=0.1, steps=40),
    ]
    model, loss_fn, x, y = house_price()
    paths.append(plots.plot_network(model, out / "network_weights.png", x=x, y=y, loss_fn=loss_fn))
    paths.append(plots.plot_network(model, out / "network_gradients.png", x=x, y=y, loss_fn=loss_fn, by="gradient"))

    x, y = ring()
    chainrule.manual_seed(0)
    classifier = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    health = HealthMonitor(probe=x, warn=False)
    history = fit(
        classifier,
        nn.CrossEntropyLoss(),
        optim.Adam(classifier.parameters(), lr=0.05),
        x,
        y,
        epochs=40,
        batch_size=32,
        metrics=["accuracy"],
        validation_split=0.2,
        callbacks=[health],
        seed=0,
        verbose=0,
    )
    paths.append(plots.plot_history(history, out / "history.png"))
    paths.append(plots.plot_gradient_norms(health, out / "gradient_norms.png"))
    paths.append(
        plots.plot_decision_boundary(classifier, x, y, out / "boundary.png", class_names=["inside", "outside"])
    )
    paths.append(plots.plot_network(classifier, out / "network_trained.png"))
    return paths


if __name__ == "__main__":
    for path in main(Path(sys.argv[1] if len(sys.argv) > 1 else "plots")):
        print(path)
