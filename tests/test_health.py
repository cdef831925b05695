"""HealthMonitor: statistics per layer and epoch, and warnings for exploding gradients, dead ReLUs, divergence."""

from __future__ import annotations

import math
import types

import numpy as np
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.diagnostics import HealthMonitor, TrainingHealthWarning, activation_statistics
from chainrule.training import fit

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 2))
Y = (X[:, 0] + X[:, 1] > 0).astype(int)


def test_statistics_recorded_per_layer_and_epoch():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    monitor = HealthMonitor(probe=X)
    fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        X,
        Y,
        epochs=3,
        batch_size=16,
        verbose=0,
        callbacks=[monitor],
    )
    assert set(monitor.history) == {"0", "2"}
    stats = monitor.history["2"]
    assert all(len(values) == 3 for values in stats.values())
    assert stats["weight_norm"][-1] == pytest.approx(math.sqrt((model[2].weight.data ** 2).sum()))
    assert 0 < stats["update_ratio"][0] < 1 and stats["grad_norm"][0] > 0
    assert monitor.messages == []


def test_activation_statistics_count_dead_relus_and_saturated_sigmoids():
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2), nn.Sigmoid(), nn.Linear(2, 1))
    model[0].weight.data[...] = 0.0
    model[0].bias.data[...] = [-1.0, -1.0, -1.0, 1.0]
    model[2].bias.data[...] = [100.0, 0.0]
    stats = activation_statistics(model, X)
    assert stats["0"]["dead"] == 0.75
    assert stats["2"]["saturated"] == 0.5


def test_exploding_gradients_are_warned_with_cause_and_fix():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    monitor = HealthMonitor(probe=X)
    with pytest.warns(TrainingHealthWarning, match="exploding gradients"):
        fit(
            model,
            nn.MSELoss(),
            optim.SGD(model.parameters(), lr=1e-5),
            X * 30,
            X[:, :1] * 100,
            epochs=3,
            batch_size=16,
            verbose=0,
            callbacks=[monitor],
        )
    assert any("learning rate" in message and "Fix" in message for message in monitor.messages)


def test_diverging_loss_is_warned():
    trainer = types.SimpleNamespace(model=nn.Sequential(nn.Linear(2, 2)))
    monitor = HealthMonitor(warn=False)
    for loss in [1.0, 0.5, 1.2, 2.0, 3.0]:
        monitor.on_epoch_begin(trainer, {})
        monitor.on_epoch_end(trainer, {"loss": loss})
    diverging = [message for message in monitor.messages if "the loss diverges" in message]
    assert diverging[0].startswith("epoch 4: the loss diverges") and "Fix: lower it" in diverging[0]


def test_without_a_probe_the_activation_shares_are_not_measured():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2))
    monitor = HealthMonitor(warn=False)
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), X, Y, epochs=2, batch_size=16, verbose=0,
        callbacks=[monitor])  # fmt: skip
    assert all(math.isnan(v) for v in monitor.history["0"]["dead"] + monitor.history["0"]["saturated"])
    assert all(v > 0 for v in monitor.history["0"]["grad_norm"])
