"""Training health: per-layer statistics each epoch, and warnings with the likely cause and the fix.

Per layer l (each ``Linear``) and epoch:

* ``weight_norm``   ‖Wˡ‖ (Frobenius) at the end of the epoch;
* ``grad_norm``     ‖∂L/∂Wˡ‖, mean over the epoch's batches;
* ``update_ratio``  ‖ΔWˡ‖ / ‖Wˡ‖ per optimizer step, mean over the batches (≈1e-3 is healthy);
* ``saturated``     share of (sample, unit) pairs with |f′(z)| < 0.01 that are not *off*: their
                    δ = ∂L/∂h · f′(z) all but vanishes (sigmoid: h < 0.0101 or h > 0.9899; tanh:
                    |h| > 0.995; GELU, SiLU, Softplus, ELU: far into the negative side);
* ``dead``          share of units that are off for every sample of the probe batch, where *off*
                    means h = 0 and f′(z) = 0 (a ReLU with z ≤ 0): no output, no gradient.

f′(z) is the activation's own derivative (its graph op's ``derivative()``, what backward
multiplies by), so every activation in the registry is covered the same way.

The activation shares are measured on the ``probe=`` inputs, run through the model after each
epoch; without a probe they are recorded as NaN (not measured), because the training loop does
not hand callbacks the batch inputs.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from chainrule import backend, nn
from chainrule.autograd import no_grad
from chainrule.diagnostics.notation import network_layers
from chainrule.tensor import Tensor
from chainrule.training import Callback

VANISHING = 1e-7
"""A layer's gradient norm below this (or below 1e-4 × the largest layer's) counts as vanishing."""
EXPLODING = 1e3
"""A gradient norm above this, or an update-to-weight ratio above 1, counts as exploding."""
SHARE = 0.5
"""Warn when more than this share of a layer's units are saturated or dead."""


class TrainingHealthWarning(UserWarning):
    """A training-health problem: vanishing or exploding gradients, a diverging loss, dead or saturated units."""


def _norm(array: Any) -> float:
    return float(backend.xp.sqrt((array.astype(backend.float64) ** 2).sum()))


SATURATED = 0.01
"""|f′(z)| below this (and above 0) counts as saturated."""


def activation_statistics(model: nn.Module, x: Any) -> dict[str, dict[str, float]]:
    """For each layer with an activation: ``{"saturated": share, "dead": share}`` on the inputs ``x``
    (see the module docstring), from the activation op's own f′(z)."""
    stats: dict[str, dict[str, float]] = {}
    layers = network_layers(model)
    h = x if isinstance(x, Tensor) else Tensor(x, dtype=layers[0].linear.weight.dtype)
    with no_grad():
        for layer in layers:
            h = layer.linear(h)
            if layer.activation is None:
                continue
            op = layer.activation_entry.op()
            h = Tensor(op.forward(h.data, **layer.activation.options()))
            slope = abs(op.derivative() * backend.xp.ones_like(h.data)).reshape(-1, h.shape[-1])
            off = (slope == 0) & (h.data.reshape(slope.shape) == 0)
            stats[layer.name] = {
                "saturated": float(((slope < SATURATED) & ~off).mean()),
                "dead": float(off.all(axis=0).mean()),
            }
    return stats


class HealthMonitor(Callback):
    """Opt-in callback: records per-layer health statistics each epoch and warns about problems.

    Parameters
    ----------
    probe : array_like, optional
        Inputs for the activation statistics, e.g. ``x_train[:256]``.  Without it only the weight,
        gradient and update statistics are measured (``saturated`` and ``dead`` are NaN), since
        the training loop does not hand callbacks the batch inputs.
    warn : bool
        Emit :class:`TrainingHealthWarning` (they are kept in ``messages`` either way).

    Attributes
    ----------
    history : dict[str, dict[str, list[float]]]
        ``history[layer name][statistic]``, one value per epoch.
    messages : list[str]
        Every warning given, with its likely cause and fix.

    Examples
    --------
    >>> monitor = HealthMonitor(probe=x_train[:256])
    >>> fit(model, loss_fn, optimizer, x_train, y_train, epochs=10, batch_size=32, callbacks=[monitor])
    >>> monitor.history["0"]["grad_norm"]
    """

    def __init__(self, probe: Any = None, warn: bool = True) -> None:
        self.probe = probe
        self.warn = warn
        self.history: dict[str, dict[str, list[float]]] = {}
        self.messages: list[str] = []
        self._losses: list[float] = []

    def _linears(self, model: nn.Module) -> list[tuple[str, Any]]:
        return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]

    def on_epoch_begin(self, trainer: Any, logs: dict) -> None:
        """Start the epoch's sums."""
        self._grad_sums = {name: [] for name, _ in self._linears(trainer.model)}
        self._ratios = {name: [] for name, _ in self._linears(trainer.model)}

    def on_after_backward(self, trainer: Any, logs: dict) -> None:
        """Record ‖∂L/∂W‖ and keep W to measure the step."""
        self._before = {}
        for name, linear in self._linears(trainer.model):
            if linear.weight.grad is not None:
                self._grad_sums[name].append(_norm(linear.weight.grad))
            self._before[name] = linear.weight.data.copy()

    def on_batch_end(self, trainer: Any, logs: dict) -> None:
        """Record ‖ΔW‖ / ‖W‖ of this step."""
        for name, linear in self._linears(trainer.model):
            before = self._before.get(name)
            if before is not None:
                self._ratios[name].append(_norm(linear.weight.data - before) / max(_norm(before), 1e-12))

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        """Store the epoch's statistics and check them."""
        model = trainer.model
        activations = {}
        if self.probe is not None:
            try:
                activations = activation_statistics(model, self.probe)
            except ValueError:  # not a Sequential of Linear layers and activations
                activations = {}
        epoch = len(self._losses) + 1
        for name, linear in self._linears(model):
            grads, ratios = self._grad_sums.get(name) or [0.0], self._ratios.get(name) or [0.0]
            row = {
                "weight_norm": _norm(linear.weight.data),
                "grad_norm": sum(grads) / len(grads),
                "update_ratio": sum(ratios) / len(ratios),
                "saturated": activations.get(name, {}).get("saturated", 0.0 if self.probe is not None else math.nan),
                "dead": activations.get(name, {}).get("dead", 0.0 if self.probe is not None else math.nan),
            }
            layer = self.history.setdefault(name, {key: [] for key in row})
            for key, value in row.items():
                layer[key].append(value)
        self._losses.append(float(logs.get("loss", math.nan)))
        self._check(epoch)

    def gradient_norms(self) -> dict[str, list[float]]:
        """``{"layer 1 (0)": [‖∂L/∂W¹‖ per epoch], …}`` for plotting."""
        return {f"layer {i} ({name})": stats["grad_norm"] for i, (name, stats) in enumerate(self.history.items(), 1)}

    def _say(self, message: str) -> None:
        self.messages.append(message)
        if self.warn:
            warnings.warn(message, TrainingHealthWarning, stacklevel=3)

    def _check(self, epoch: int) -> None:
        latest = {name: {key: values[-1] for key, values in stats.items()} for name, stats in self.history.items()}
        largest = max((s["grad_norm"] for s in latest.values()), default=0.0)
        for i, (name, s) in enumerate(latest.items(), 1):
            where = f"epoch {epoch}, layer {i} ({name})"
            if s["grad_norm"] < VANISHING or (largest > 0 and s["grad_norm"] < 1e-4 * largest):
                self._say(
                    f"{where}: vanishing gradients (‖∂L/∂W‖ = {s['grad_norm']:.2e}). Likely cause: saturated sigmoid/"
                    "tanh units or a deep stack of them multiply δ by small f′(z). Fix: ReLU or LeakyReLU hidden "
                    "layers, Xavier/He initialisation, standardised inputs."
                )
            if s["grad_norm"] > EXPLODING or s["update_ratio"] > 1:
                self._say(
                    f"{where}: exploding gradients (‖∂L/∂W‖ = {s['grad_norm']:.2e}, update/weight = "
                    f"{s['update_ratio']:.2e}). Likely cause: learning rate too high or unscaled inputs. Fix: lower "
                    "the learning rate 10×, standardise the inputs, or clip_grad_norm_."
                )
            if s["saturated"] > SHARE:
                self._say(
                    f"{where}: {s['saturated']:.0%} of the units are saturated (f′(z) ≈ 0). Likely cause: large "
                    "weights or unscaled inputs. Fix: standardise the inputs, smaller initial weights, or ReLU."
                )
            if s["dead"] > SHARE:
                self._say(
                    f"{where}: {s['dead']:.0%} of the ReLUs are dead (0 for every probe sample, so no gradient). "
                    "Likely cause: learning rate too high or large negative biases. Fix: lower the learning rate, "
                    "LeakyReLU, or He initialisation."
                )
        losses = self._losses
        if not math.isfinite(losses[-1]) or (
            len(losses) >= 3 and losses[-1] > losses[-2] > losses[-3] and losses[-1] > 2 * min(losses)
        ):
            self._say(
                f"epoch {epoch}: the loss diverges ({losses[-1]:.4g}, was {min(losses):.4g} at best). Likely cause: "
                "learning rate too high. Fix: lower it 10× (or use a scheduler), and check the inputs are scaled."
            )
