"""Optimizers, schedulers and gradient clipping against PyTorch 2.13.0 in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import assert_close

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import lr_scheduler

TOL = 1e-9
CONFIGS = {
    "SGD": ("SGD", {"lr": 0.1}),
    "SGD momentum": ("SGD", {"lr": 0.05, "momentum": 0.9}),
    "SGD momentum dampening": ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}),
    "SGD nesterov": ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    "SGD weight decay": ("SGD", {"lr": 0.1, "weight_decay": 0.05, "momentum": 0.5}),
    "Adam": ("Adam", {"lr": 0.01}),
    "Adam weight decay": ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    "Adam amsgrad": ("Adam", {"lr": 0.02, "amsgrad": True}),
    "AdamW": ("AdamW", {"lr": 0.01}),
    "AdamW amsgrad": ("AdamW", {"lr": 0.02, "weight_decay": 0.3, "amsgrad": True}),
    "RMSprop": ("RMSprop", {"lr": 0.01}),
    "RMSprop centered": ("RMSprop", {"lr": 0.01, "alpha": 0.9, "centered": True}),
    "RMSprop momentum": ("RMSprop", {"lr": 0.005, "momentum": 0.9, "weight_decay": 0.1}),
    "RMSprop centered momentum": ("RMSprop", {"lr": 0.005, "momentum": 0.5, "centered": True}),
    "Adagrad": ("Adagrad", {"lr": 0.1}),
    "Adagrad decay": ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.2}),
}


class Twins:
    """A 3-4-2 tanh MLP in chainrule and PyTorch with the same weights, data and optimizer."""

    def __init__(self, name: str, kwargs: dict, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.x, self.y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
        cr.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
        self.reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
        with torch.no_grad():
            for ours, theirs in zip(self.model.parameters(), self.reference.parameters()):
                theirs.copy_(torch.tensor(ours.data))
        self.optimizer = getattr(optim, name)(self.model.parameters(), **kwargs)
        self.torch_optimizer = getattr(torch.optim, name)(self.reference.parameters(), **kwargs)

    def step(self, clip: float | None = None) -> None:
        """One forward, backward and update in both (with gradient clipping if ``clip``)."""
        self.optimizer.zero_grad()
        nn.MSELoss()(self.model(cr.tensor(self.x)), cr.tensor(self.y)).backward()
        self.torch_optimizer.zero_grad()
        torch.nn.MSELoss()(self.reference(torch.tensor(self.x)), torch.tensor(self.y)).backward()
        if clip is not None:
            norm = optim.clip_grad_norm_(self.model.parameters(), clip)
            expected = torch.nn.utils.clip_grad_norm_(self.reference.parameters(), clip)
            assert_close(norm, expected.item(), TOL, "PyTorch", "clip_grad_norm_ total norm")
        self.optimizer.step()
        self.torch_optimizer.step()

    def assert_equal(self, what: str) -> None:
        for (name, ours), theirs in zip(self.model.named_parameters(), self.reference.parameters()):
            assert_close(ours.data, theirs.detach().numpy(), TOL, "PyTorch", f"{what}: {name}")


@pytest.mark.parametrize("config", CONFIGS)
def test_twenty_steps_equal_pytorch(config: str) -> None:
    twins = Twins(*CONFIGS[config])
    arrays = [p.data for p in twins.model.parameters()]
    for step in range(20):
        twins.step()
        twins.assert_equal(f"{config}, step {step + 1}")
    assert all(p.data is a for p, a in zip(twins.model.parameters(), arrays)), "updates must be in place"


@pytest.mark.parametrize(
    "config", ["SGD momentum", "Adam", "AdamW amsgrad", "RMSprop centered momentum", "Adagrad decay"]
)
def test_state_dict_round_trip_continues_identically(config: str) -> None:
    """10 steps, save, load into a fresh optimizer on a copy of the model, 10 more: same as 20 at once."""
    name, kwargs = CONFIGS[config]
    twins = Twins(name, kwargs)
    for _ in range(10):
        twins.step()
    saved_state, saved_weights = (
        twins.optimizer.state_dict(),
        {k: v.copy() for k, v in twins.model.state_dict().items()},
    )
    for _ in range(10):
        twins.step()
    live = [v for state in twins.optimizer.state.values() for v in state.values() if isinstance(v, np.ndarray)]
    saved = [v for state in saved_state["state"].values() for v in state.values() if isinstance(v, np.ndarray)]
    assert saved and not any(np.shares_memory(a, b) for a in saved for b in live), "state_dict must copy"

    resumed = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    resumed.load_state_dict(saved_weights)
    optimizer = getattr(optim, name)(resumed.parameters(), lr=123.0)
    optimizer.load_state_dict(saved_state)
    assert optimizer.param_groups[0]["lr"] == kwargs["lr"]
    if "step" in optimizer.state[next(resumed.parameters())]:
        assert optimizer.state[next(resumed.parameters())]["step"] == 10
    for _ in range(10):
        optimizer.zero_grad()
        nn.MSELoss()(resumed(cr.tensor(twins.x)), cr.tensor(twins.y)).backward()
        optimizer.step()
    for (name_, ours), theirs in zip(resumed.named_parameters(), twins.model.parameters()):
        np.testing.assert_array_equal(ours.data, theirs.data, err_msg=name_)


def test_load_state_dict_rejects_mismatched_groups_and_shapes() -> None:
    a = optim.Adam(nn.Linear(3, 2).parameters())
    a.step()
    b = optim.Adam(nn.Linear(3, 2, bias=False).parameters())
    with pytest.raises(ValueError, match="parameter groups"):
        b.load_state_dict(a.state_dict())
    small = optim.Adam(nn.Linear(2, 2).parameters())
    for p in small.param_groups[0]["params"]:
        p.grad = np.ones_like(p.data)
    small.step()
    with pytest.raises(ValueError, match="shape"):
        a.load_state_dict(small.state_dict())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.05, 100.0])
def test_clip_grad_norm_equals_pytorch(norm_type: float, max_norm: float, rng) -> None:
    grads = [rng.standard_normal(shape) for shape in [(4, 3), (4,), (2, 4)]]
    ours = [nn.Parameter(np.zeros(g.shape)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(ours, theirs, grads):
        p.grad, t.grad = g.copy(), torch.tensor(g)
    total = optim.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert_close(total, expected.item(), TOL, "PyTorch", "clip_grad_norm_ total")
    for p, t in zip(ours, theirs):
        assert_close(p.grad, t.grad.numpy(), TOL, "PyTorch", "clipped gradient")


def test_clip_grad_norm_inside_training_equals_pytorch() -> None:
    twins = Twins("SGD", {"lr": 0.5, "momentum": 0.9})
    for step in range(10):
        twins.step(clip=0.1)
        twins.assert_equal(f"clipped SGD, step {step + 1}")


# --------------------------------------------------------------------------- schedulers
def scheduler_pair(make_ours, make_theirs, lr: float = 0.5):
    ours_opt = optim.SGD([nn.Parameter(np.zeros(2))], lr=lr)
    theirs_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=lr)
    return ours_opt, make_ours(ours_opt), theirs_opt, make_theirs(theirs_opt)


SCHEDULES = {
    "StepLR": (lambda o: lr_scheduler.StepLR(o, 3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
    "ExponentialLR": (
        lambda o: lr_scheduler.ExponentialLR(o, 0.9),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9),
    ),
    "CosineAnnealingLR": (
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=7, eta_min=0.01),
    ),
}


@pytest.mark.parametrize("name", SCHEDULES)
def test_scheduler_lr_sequence_equals_pytorch(name: str) -> None:
    ours_opt, ours, theirs_opt, theirs = scheduler_pair(*SCHEDULES[name])
    ours_lrs, theirs_lrs = [ours.get_last_lr()[0]], [theirs.get_last_lr()[0]]
    for _ in range(30):
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
        ours_lrs.append(ours_opt.param_groups[0]["lr"])
        theirs_lrs.append(theirs_opt.param_groups[0]["lr"])
    assert_close(ours_lrs, theirs_lrs, 1e-12, "PyTorch", f"{name} learning rates")
    assert ours.get_last_lr() == [ours_lrs[-1]]
    assert len(set(np.round(ours_lrs, 12))) > 2, "the schedule must change the rate"


@pytest.mark.parametrize("name", SCHEDULES)
def test_scheduler_state_dict_round_trip(name: str) -> None:
    make_ours, make_theirs = SCHEDULES[name]
    ours_opt, ours, _, _ = scheduler_pair(make_ours, make_theirs)
    for _ in range(5):
        ours.step()
    saved, lr = ours.state_dict(), ours_opt.param_groups[0]["lr"]
    assert "optimizer" not in saved
    fresh_opt, fresh, _, _ = scheduler_pair(make_ours, make_theirs)
    fresh.load_state_dict(saved)
    fresh_opt.param_groups[0]["lr"] = lr
    for _ in range(5):
        ours.step()
        fresh.step()
    assert fresh.get_last_lr() == ours.get_last_lr()


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"mode": "max", "factor": 0.5, "patience": 2, "threshold_mode": "abs", "threshold": 0.01},
        {"factor": 0.3, "patience": 1, "cooldown": 2, "min_lr": 0.02},
    ],
)
def test_reduce_lr_on_plateau_equals_pytorch(kwargs: dict, rng) -> None:
    ours_opt, ours, theirs_opt, theirs = scheduler_pair(
        lambda o: lr_scheduler.ReduceLROnPlateau(o, **kwargs),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
    )
    metrics = np.concatenate([np.linspace(1, 0.5, 5), np.full(15, 0.5) + rng.uniform(0, 0.01, 15)])
    for metric in np.concatenate([metrics, -metrics]):
        ours.step(metric)
        theirs.step(metric)
        assert ours_opt.param_groups[0]["lr"] == theirs_opt.param_groups[0]["lr"]
        assert ours.num_bad_epochs == theirs.num_bad_epochs
    assert ours.get_last_lr() == theirs.get_last_lr()
    assert ours_opt.param_groups[0]["lr"] < 0.5


# --------------------------------------------------------------------------- checks and dtypes
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD(p, lr=-1), "learning rate"),
        (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov"),
        (lambda p: optim.Adam(p, betas=(0.9, 1.0)), "betas"),
        (lambda p: optim.Adam(p, eps=-1), "eps"),
        (lambda p: optim.AdamW(p, weight_decay=-0.1), "weight_decay"),
        (lambda p: optim.RMSprop(p, alpha=1.5), "alpha"),
        (lambda p: optim.RMSprop(p, momentum=-1), "momentum"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), "lr_decay"),
        (lambda p: optim.Adagrad(p, initial_accumulator_value=-1), "initial_accumulator_value"),
        (lambda p: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda p: lr_scheduler.StepLR(optim.SGD(p, lr=0.1), step_size=0), "step_size"),
        (lambda p: lr_scheduler.ReduceLROnPlateau(optim.SGD(p, lr=0.1), factor=1.5), "factor"),
        (lambda p: lr_scheduler.ReduceLROnPlateau(optim.SGD(p, lr=0.1), mode="lowest"), "mode"),
    ],
)
def test_bad_arguments_are_rejected_in_the_constructor(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(list(nn.Linear(2, 1).parameters()))


@pytest.mark.parametrize("config", CONFIGS)
def test_float32_parameters_and_state_stay_float32(config: str) -> None:
    name, kwargs = CONFIGS[config]
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    optimizer = getattr(optim, name)(model.parameters(), **kwargs)
    x, y = cr.randn(5, 3, generator=0), cr.randn(5, 1, generator=1)
    for _ in range(3):
        optimizer.zero_grad()
        nn.MSELoss()(model(x), y).backward()
        optimizer.step()
    for p in model.parameters():
        assert p.dtype == cr.float32
        for value in optimizer.state.get(p, {}).values():
            assert not isinstance(value, np.ndarray) or value.dtype == cr.float32
