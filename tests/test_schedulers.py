"""Learning-rate schedulers against PyTorch 2.13.0: the rate of every parameter group after every
step, bit for bit, for several settings of each, chained (two on one optimizer, ChainedScheduler)
and in sequence (SequentialLR's milestones); OneCycleLR's momentum and β₁; state_dict round trips
through JSON that continue the same trajectory."""

from __future__ import annotations

import json
import math
import warnings

import numpy
import pytest

from chainrule import nn, optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch")


class Side:
    """One library's optimizer (two parameter groups, lr 0.1 and 0.02) and scheduler(s)."""

    def __init__(self, lib, optimizer: str, make, **options) -> None:
        self.lib = lib
        self.torch = lib is torch
        module = torch.optim if self.torch else optim
        self.schedulers_module = torch.optim.lr_scheduler if self.torch else lr_scheduler
        parameters = [self.parameter() for _ in range(2)]
        groups = [{"params": [parameters[0]]}, {"params": [parameters[1]], "lr": 0.02}]
        self.optimizer = getattr(module, optimizer)(groups, lr=0.1, **options)
        made = make(self.schedulers_module, self.optimizer)
        self.schedulers = made if isinstance(made, list) else [made]

    def parameter(self):
        if self.torch:
            return torch.zeros(3, requires_grad=True)
        return nn.Parameter(numpy.zeros(3))

    def rates(self) -> list:
        groups = self.optimizer.param_groups
        momenta = [g["betas"][0] if "betas" in g else g.get("momentum", 0.0) for g in groups]
        return [g["lr"] for g in groups] + momenta

    def step(self) -> None:
        self.optimizer.step()
        for scheduler in self.schedulers:
            scheduler.step()


def trajectory(side: Side, steps: int) -> list:
    rates = [side.rates()]
    for _ in range(steps):
        side.step()
        rates.append(side.rates())
    return rates


def both(optimizer, make, steps, **options):
    with warnings.catch_warnings():  # PyTorch warns when SequentialLR restarts a schedule (deprecated epoch=)
        warnings.simplefilter("ignore")
        theirs = trajectory(Side(torch, optimizer, make, **options), steps)
    ours = trajectory(Side(None, optimizer, make, **options), steps)
    return ours, theirs


CASES = {
    "LambdaLR": [
        lambda m, o: m.LambdaLR(o, lambda epoch: 0.95**epoch),
        lambda m, o: m.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 1.0 - 0.9 * e / 40]),
    ],
    "MultiplicativeLR": [
        lambda m, o: m.MultiplicativeLR(o, lambda epoch: 0.9),
        lambda m, o: m.MultiplicativeLR(o, lambda e: 1.0 + 0.01 * (e % 3)),
    ],
    "MultiStepLR": [
        lambda m, o: m.MultiStepLR(o, [3, 7, 12], gamma=0.5),
        lambda m, o: m.MultiStepLR(o, [10, 2, 10], gamma=0.3),
    ],
    "LinearLR": [
        lambda m, o: m.LinearLR(o),
        lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.7, total_iters=9),
        lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=20),
    ],
    "ConstantLR": [lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=4)],
    "CosineAnnealingWarmRestarts": [
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.001),
    ],
    "OneCycleLR": [
        lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=40),
        lambda m, o: m.OneCycleLR(
            o,
            max_lr=[1.0, 0.3],
            epochs=4,
            steps_per_epoch=10,
            pct_start=0.25,
            anneal_strategy="linear",
            div_factor=10.0,
        ),
        lambda m, o: m.OneCycleLR(o, max_lr=0.2, total_steps=40, three_phase=True, base_momentum=0.8, max_momentum=0.9),
    ],
    "SequentialLR": [
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9)], milestones=[5]
        ),
        lambda m, o: m.SequentialLR(
            o,
            [
                m.ConstantLR(o, factor=0.5, total_iters=3),
                m.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
                m.MultiStepLR(o, [4, 30], gamma=0.5),
            ],
            milestones=[3, 20],
        ),
        lambda m, o: m.SequentialLR(
            o, [m.LinearLR(o, start_factor=0.5, total_iters=4), m.StepLR(o, step_size=3, gamma=0.5)], milestones=[6]
        ),
    ],
    "chained": [
        lambda m, o: [m.LinearLR(o, start_factor=0.2, total_iters=6), m.MultiStepLR(o, [4, 9], gamma=0.5)],
        lambda m, o: m.ChainedScheduler(
            [m.ExponentialLR(o, gamma=0.95), m.LinearLR(o, start_factor=0.3, total_iters=8)]
        ),
        lambda m, o: [m.StepLR(o, 4, 0.5), m.CosineAnnealingLR(o, T_max=9)],
    ],
}
PARAMS = [(name, index) for name, makers in CASES.items() for index in range(len(makers))]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize(("name", "index"), PARAMS)
def test_trajectory_equals_pytorch(name, index, optimizer):
    options = {"momentum": 0.9} if optimizer == "SGD" else {}
    ours, theirs = both(optimizer, CASES[name][index], 40, **options)
    assert ours == theirs, next(f"step {i}: {a} != {b}" for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
    assert len({tuple(r) for r in ours}) > 1, "the schedule must change the rates"


def test_onecycle_cycles_momentum_and_beta1():
    ours = trajectory(Side(None, "Adam", CASES["OneCycleLR"][0]), 40)
    betas = [row[2] for row in ours]
    assert (
        betas[0] == 0.95 and min(betas) == pytest.approx(0.85) and betas[39] == pytest.approx(0.95)
    )  # step 39: the last
    assert numpy.argmin(betas) == numpy.argmax([row[0] for row in ours]) == 11  # β₁ lowest where the rate peaks
    side = Side(None, "SGD", CASES["OneCycleLR"][0], momentum=0.9)
    for _ in range(40):
        side.step()
    with pytest.raises(ValueError, match="stepped 41 times, beyond its total_steps = 40"):
        side.step()


def test_onecycle_needs_momentum_to_cycle():
    parameter = nn.Parameter(numpy.zeros(2))
    with pytest.raises(ValueError, match=r"neither momentum nor betas.*cycle_momentum=False"):
        lr_scheduler.OneCycleLR(optim.Adagrad([parameter], lr=0.1), max_lr=0.1, total_steps=10)
    lr_scheduler.OneCycleLR(optim.Adagrad([parameter], lr=0.1), max_lr=0.1, total_steps=10, cycle_momentum=False)


def test_warm_restarts_with_fractional_epochs_equal_pytorch():
    sides = [Side(lib, "SGD", lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2)) for lib in (torch, None)]
    rates = []
    for side in sides:
        row = []
        for epoch in range(8):
            for batch in range(4):
                side.schedulers[0].step(epoch + batch / 4)
                row.append(side.rates())
        rates.append(row)
    assert rates[0] == rates[1]


@pytest.mark.parametrize(("name", "index"), [p for p in PARAMS if p[0] != "chained"])
def test_state_dict_through_json_continues_the_trajectory(name, index):
    """Ten steps, the optimizer's and scheduler's states through JSON into freshly made ones,
    ten more steps: the same rates as twenty steps in one go."""
    make = CASES[name][index]
    straight = trajectory(Side(None, "SGD", make, momentum=0.9), 20)
    first = Side(None, "SGD", make, momentum=0.9)
    trajectory(first, 10)
    saved = json.loads(
        json.dumps({"optimizer": first.optimizer.state_dict(), "scheduler": first.schedulers[0].state_dict()})
    )
    second = Side(None, "SGD", make, momentum=0.9)
    second.optimizer.load_state_dict(saved["optimizer"])
    second.schedulers[0].load_state_dict(saved["scheduler"])
    assert second.rates() == straight[10]
    assert trajectory(second, 10) == straight[10:]


def test_lambda_state_keeps_callable_objects_not_functions():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate**epoch

    side = Side(None, "SGD", lambda m, o: m.LambdaLR(o, [Decay(), lambda e: 1.0]))
    side.schedulers[0].lr_lambdas[0].rate = 0.8
    state = side.schedulers[0].state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.8}, None]
    fresh = Side(None, "SGD", lambda m, o: m.LambdaLR(o, [Decay(), lambda e: 1.0]))
    fresh.schedulers[0].load_state_dict(state)
    assert fresh.schedulers[0].lr_lambdas[0].rate == 0.8


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda m, o: m.SequentialLR(o, [m.ConstantLR(o)], milestones=[3]), "1 schedulers need 0 milestones"),
        (
            lambda m, o: m.SequentialLR(o, [m.ReduceLROnPlateau(o), m.ConstantLR(o)], [2]),
            "ReduceLROnPlateau steps on a metric",
        ),
        (lambda m, o: m.LambdaLR(o, [lambda e: 1.0]), "lr_lambda has 1 values, the optimizer has 2 parameter groups"),
        (lambda m, o: m.MultiplicativeLR(o, 0.9), "lr_lambda must be a function of the epoch"),
        (lambda m, o: m.MultiStepLR(o, [2.5]), "milestones must be epoch numbers"),
        (lambda m, o: m.LinearLR(o, start_factor=0.0), "start_factor must lie in"),
        (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0), "T_0 must be a positive integer"),
        (lambda m, o: m.OneCycleLR(o, max_lr=0.1), "give total_steps, or epochs and steps_per_epoch"),
        (lambda m, o: m.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1), "pct_start must be a float"),
    ],
)
def test_bad_settings_are_errors_naming_them(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Side(None, "SGD", make, momentum=0.9)


def test_sequential_milestone_restarts_the_next_schedule():
    """At the milestone the next schedule starts at its epoch 0 from the initial rate (closed form)."""
    side = Side(None, "SGD", CASES["SequentialLR"][0], momentum=0.9)
    rates = [row[0] for row in trajectory(side, 8)]
    expected = [0.1 * (0.1 + 0.9 * min(t, 5) / 5) for t in range(5)] + [0.1 * 0.9 ** (t - 5) for t in range(5, 9)]
    assert rates == pytest.approx(expected, rel=1e-12)
    assert math.isclose(rates[5], 0.1)


def test_learning_rate_scheduler_callback_checks_the_monitor_when_made():
    from chainrule.training import LearningRateScheduler

    side = Side(None, "SGD", lambda m, o: m.ReduceLROnPlateau(o), momentum=0.9)
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau steps on a metric; say which with monitor="):
        LearningRateScheduler(side.schedulers[0])
    with pytest.raises(ValueError, match=r"use interval='epoch'"):
        LearningRateScheduler(side.schedulers[0], interval="batch", monitor="loss")
    with pytest.raises(ValueError, match=r"this StepLR steps on the epoch alone, leave monitor out"):
        LearningRateScheduler(lr_scheduler.StepLR(side.optimizer, 2), monitor="val_loss")
    LearningRateScheduler(side.schedulers[0], monitor="val_loss")


def test_onecycle_per_batch_in_fit():
    """OneCycleLR stepped by the callback after each of 2 × 5 batches: all ten steps taken."""
    from chainrule import manual_seed
    from chainrule.training import LearningRateScheduler, fit

    manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    schedule = lr_scheduler.OneCycleLR(optimizer, max_lr=0.5, epochs=2, steps_per_epoch=5)
    x = numpy.random.default_rng(0).standard_normal((20, 2)).astype(numpy.float32)
    history = fit(model, nn.MSELoss(), optimizer, x, x[:, :1], epochs=2, batch_size=4, verbose=0, seed=0,
                  callbacks=[LearningRateScheduler(schedule, interval="batch")])  # fmt: skip
    assert schedule.last_epoch == 10 and len(history.history["lr"]) == 2
    group = optimizer.param_groups[0]
    assert history.history["lr"][0] > group["initial_lr"] and group["momentum"] > 0.9
