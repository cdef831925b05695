"""The speed paths give the results of the plain ones, to the last bit.

Adam updates the small parameters of a group together on flat arrays (``foreach``); here the same
training runs with that path switched off (``FOREACH_LIMIT = 0``) and every weight, gradient and
moment must be equal, also across ``state_dict``/``load_state_dict``, a parameter left without a
gradient, a change of dtype and AdamW.  Then the graph engine: a tensor reached along several
paths gets its gradient contributions added in a fixed order, checked against PyTorch.
"""

from __future__ import annotations

import numpy
import pytest
import torch

import chainrule
from chainrule import nn, optim
from chainrule.optim import adam


def _model(dtype: str = "float32") -> nn.Sequential:
    chainrule.manual_seed(3)
    return nn.Sequential(nn.Linear(5, 4, dtype=dtype), nn.Tanh(), nn.Linear(4, 3, dtype=dtype))


def _data(dtype: str = "float32") -> tuple[chainrule.Tensor, chainrule.Tensor]:
    rng = numpy.random.default_rng(4)
    return chainrule.tensor(rng.standard_normal((6, 5)).astype(dtype)), chainrule.tensor(rng.integers(0, 3, 6))


def _train(model, optimizer, steps: int, drop: dict | None = None) -> None:
    """``steps`` steps of cross-entropy training; ``drop[step]`` names a parameter left without a gradient."""
    x, y = _data(model[0].weight.dtype)
    parameters = dict(model.named_parameters())
    for step in range(steps):
        optimizer.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        if drop and step in drop:
            parameters[drop[step]].grad = None
        optimizer.step()


def _snapshot(model, optimizer) -> dict[str, numpy.ndarray]:
    values = {name: p.data.copy() for name, p in model.named_parameters()}
    for index, state in optimizer.state_dict()["state"].items():
        values.update({f"{index}.{key}": numpy.asarray(value) for key, value in state.items()})
    return values


def _assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype and numpy.array_equal(a[key], b[key]), key


def _run(monkeypatch, foreach: bool, make, steps: int = 6, **kwargs) -> dict:
    monkeypatch.setattr(adam, "FOREACH_LIMIT", 1 << 16 if foreach else 0)
    model = _model(kwargs.pop("dtype", "float32"))
    optimizer = make(model.parameters())
    _train(model, optimizer, steps, **kwargs)
    assert bool(optimizer._flat) == foreach
    return _snapshot(model, optimizer)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_foreach_adam_equals_per_parameter_adam(monkeypatch, dtype):
    def make(p):
        return optim.Adam(p, lr=0.05)

    _assert_identical(_run(monkeypatch, True, make, dtype=dtype), _run(monkeypatch, False, make, dtype=dtype))


def test_foreach_adamw_without_decay_equals_per_parameter(monkeypatch):
    def make(p):
        return optim.AdamW(p, lr=0.05, weight_decay=0.0)

    _assert_identical(_run(monkeypatch, True, make), _run(monkeypatch, False, make))


def test_parameter_without_gradient_falls_back_and_matches(monkeypatch):
    def make(p):
        return optim.Adam(p, lr=0.05)

    fast = _run(monkeypatch, True, make, drop={2: "0.bias"})
    plain = _run(monkeypatch, False, make, drop={2: "0.bias"})
    _assert_identical(fast, plain)
    assert fast["1.step"] == 5 and fast["0.step"] == 6  # the dropped parameter missed one step


def test_state_dict_round_trip_continues_identically(monkeypatch):
    monkeypatch.setattr(adam, "FOREACH_LIMIT", 1 << 16)
    model, other = _model(), _model()
    optimizer, other_optimizer = optim.Adam(model.parameters(), lr=0.05), optim.Adam(other.parameters(), lr=0.05)
    _train(model, optimizer, 3)
    _train(other, other_optimizer, 3)
    saved = optimizer.state_dict()
    frozen = {index: {k: numpy.copy(v) for k, v in state.items()} for index, state in saved["state"].items()}
    _train(model, optimizer, 2)
    for index, state in saved["state"].items():  # the saved state is a copy: training moved on without it
        _assert_identical({k: numpy.asarray(v) for k, v in state.items()}, frozen[index])
    other_optimizer.load_state_dict(saved)  # new arrays: the flat state is rebuilt from them
    _train(other, other_optimizer, 2)
    _assert_identical(_snapshot(other, other_optimizer), _snapshot(model, optimizer))


def test_dtype_change_rebuilds_flat_state(monkeypatch):
    monkeypatch.setattr(adam, "FOREACH_LIMIT", 1 << 16)
    model = _model()
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    _train(model, optimizer, 2)
    model.double()
    _train(model, optimizer, 2)
    assert all(p.dtype == numpy.float64 for p in model.parameters())
    assert optimizer._flat[0][1][1].dtype == numpy.float64


def test_gradient_reaching_a_tensor_along_several_paths_matches_torch():
    rng = numpy.random.default_rng(5)
    values = rng.standard_normal((3, 4))
    a = chainrule.tensor(values, dtype="float64", requires_grad=True)
    b = a * 2
    loss = (a * b + b.tanh() * a + (a @ a.T).sum() + b.exp().mean()).sum()
    loss.backward()
    ta = torch.tensor(values, requires_grad=True)
    tb = ta * 2
    (ta * tb + tb.tanh() * ta + (ta @ ta.T).sum() + tb.exp().mean()).sum().backward()
    numpy.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-12, atol=1e-12)
