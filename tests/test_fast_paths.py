"""The speed paths give the results of the plain ones: to the last bit where they do the same
arithmetic (the optimizers' flat updates), to rounding where they order it differently (the fused
``Sequential``, whose products go through ``dot`` or ``matmul`` and whose bias sums are 1ᵀ G).

Adam and SGD update the small parameters of a group together on flat arrays (``foreach``); here
the same training runs with that path switched off (``FOREACH_LIMIT = 0``) and every weight,
moment and momentum buffer must be equal, also across ``state_dict``/``load_state_dict``, a
parameter left without a gradient, a change of dtype, weight decay, dampening and Nesterov.
Then the graph engine: a tensor reached along several paths gets its gradient contributions
added in a fixed order, checked against PyTorch.  Last, a ``Sequential`` of ``Linear`` layers
and activations run as one fused node (``ops.mlp.MLP``) against the same model run module by
module (``FUSE_LAYERS = False``) to 1e-12 in float64 (1e-5 in float32), and the cases that must
not fuse.
"""

from __future__ import annotations

import itertools

import numpy
import pytest
import torch

import chainrule
from chainrule import nn, optim
from chainrule.ops.mlp import MLP
from chainrule.optim import optimizer as optimizer_module


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


def _assert_close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        tolerance = 1e-12 if a[key].dtype == numpy.float64 else 1e-5
        assert a[key].dtype == b[key].dtype, key
        numpy.testing.assert_allclose(a[key], b[key], rtol=tolerance, atol=tolerance, err_msg=key)


def _run(monkeypatch, foreach: bool, make, steps: int = 6, **kwargs) -> dict:
    """Train with packing on or off; check that the whole-group update ran exactly when it is on."""
    monkeypatch.setattr(optimizer_module, "FOREACH_LIMIT", 1 << 16 if foreach else 0)
    model = _model(kwargs.pop("dtype", "float32"))
    optimizer = make(model.parameters())
    flat_steps = []
    step_flat = optimizer._step_flat
    optimizer._step_flat = lambda *args: flat_steps.append(step_flat(*args))
    _train(model, optimizer, steps, **kwargs)
    assert bool(flat_steps) == foreach
    return _snapshot(model, optimizer)


FLAT_OPTIMIZERS = {
    "Adam": lambda p: optim.Adam(p, lr=0.05),
    "AdamW without decay": lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.0),
    "AdamW": lambda p: optim.AdamW(p, lr=0.05),
    "Adam decay AMSGrad": lambda p: optim.Adam(p, lr=0.05, weight_decay=0.01, amsgrad=True),
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "SGD decay": lambda p: optim.SGD(p, lr=0.1, weight_decay=0.01),
    "SGD momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "SGD dampening decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01),
    "SGD Nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", FLAT_OPTIMIZERS)
def test_flat_update_equals_per_parameter_update(monkeypatch, name, dtype):
    make = FLAT_OPTIMIZERS[name]
    _assert_identical(_run(monkeypatch, True, make, dtype=dtype), _run(monkeypatch, False, make, dtype=dtype))


@pytest.mark.parametrize("name", ["Adam", "Adam decay AMSGrad", "SGD momentum", "SGD dampening decay"])
def test_parameter_without_gradient_falls_back_and_matches(monkeypatch, name):
    make = FLAT_OPTIMIZERS[name]
    fast = _run(monkeypatch, True, make, drop={2: "0.bias"})
    plain = _run(monkeypatch, False, make, drop={2: "0.bias"})
    _assert_identical(fast, plain)
    if name.startswith("Adam"):
        assert fast["1.step"] == 5 and fast["0.step"] == 6  # the dropped parameter missed one step


def test_momentum_buffers_made_at_different_steps_are_laid_out_once_all_exist(monkeypatch):
    """A parameter without a gradient at the first step gets its buffer a step later (set to its
    gradient then, not decayed from zero): the group is updated one by one until all have one."""
    make = FLAT_OPTIMIZERS["SGD dampening decay"]
    fast = _run(monkeypatch, True, make, drop={0: "0.bias"})
    _assert_identical(fast, _run(monkeypatch, False, make, drop={0: "0.bias"}))
    monkeypatch.setattr(optimizer_module, "FOREACH_LIMIT", 1 << 16)
    model = _model()
    optimizer = make(model.parameters())
    _train(model, optimizer, 2, drop={0: "0.bias"})
    assert not optimizer._flat  # one by one: 0.bias had no buffer at step 1
    _train(model, optimizer, 1)
    (flat,) = optimizer._flat.values()
    buffers = [optimizer.state[p]["momentum_buffer"] for p in model.parameters()]
    assert all(buffer.base is flat.arrays[0] for buffer in buffers)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "SGD momentum"])
def test_state_dict_round_trip_continues_identically(monkeypatch, name):
    make = FLAT_OPTIMIZERS[name]
    monkeypatch.setattr(optimizer_module, "FOREACH_LIMIT", 1 << 16)
    model, other = _model(), _model()
    optimizer, other_optimizer = make(model.parameters()), make(other.parameters())
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


def _doubled_midway(monkeypatch, foreach: bool) -> tuple[dict, optim.Adam]:
    monkeypatch.setattr(optimizer_module, "FOREACH_LIMIT", 1 << 16 if foreach else 0)
    model = _model()
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    _train(model, optimizer, 2)
    model.double()  # assigns new arrays to p.data: the packed group falls back to per-parameter updates
    _train(model, optimizer, 2)
    assert optimizer._packed(0) is None
    return _snapshot(model, optimizer), optimizer


def test_dtype_change_continues_per_parameter_in_the_new_dtype(monkeypatch):
    fast, optimizer = _doubled_midway(monkeypatch, True)
    plain, _ = _doubled_midway(monkeypatch, False)
    _assert_identical(fast, plain)
    assert all(value.dtype == numpy.float64 for key, value in fast.items() if not key.endswith("step"))
    assert all(state["exp_avg"].dtype == numpy.float64 for state in optimizer.state.values())


def test_packed_parameters_are_views_updated_in_place():
    model = _model()
    before = [p.data for p in model.parameters()]
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    arrays = [p.data for p in model.parameters()]
    assert all(a.base is optimizer._packs[0][1] for a in arrays)
    assert all(numpy.array_equal(a, b) for a, b in zip(arrays, before))
    _train(model, optimizer, 2)
    assert all(p.data is a for p, a in zip(model.parameters(), arrays))
    assert not any(numpy.array_equal(a, b) for a, b in zip(arrays, before))


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


# ---------------------------------------------------------------------- fused Sequential (ops.mlp.MLP)

ACTIVATIONS = [nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU, lambda: nn.LeakyReLU(0.2)]


def _chain(activation, dtype: str, bias: bool = True, last=None) -> nn.Sequential:
    chainrule.manual_seed(7)
    layers = [nn.Linear(5, 4, bias=bias, dtype=dtype), activation(), nn.Linear(4, 3, bias=bias, dtype=dtype)]
    return nn.Sequential(*layers, *([last()] if last else []))


def _pass(monkeypatch, fused: bool, model, x_values, x_grad: bool, loss: str) -> dict:
    """Forward, loss, backward with the fast path on or off: output, loss and every gradient."""
    monkeypatch.setattr(nn.container, "FUSE_LAYERS", fused)
    model.zero_grad()
    x = chainrule.tensor(x_values, requires_grad=x_grad)
    out = model(x)
    assert isinstance(out.grad_fn, MLP) == fused
    if loss == "mse":
        value = nn.MSELoss()(out, chainrule.tensor(numpy.full(out.shape, 0.3, dtype=out.dtype)))
    else:
        labels = numpy.arange(out.shape[0] if out.ndim == 2 else 1) % 3
        value = nn.CrossEntropyLoss()(out, chainrule.tensor(labels if out.ndim == 2 else labels[0]))
    value.backward()
    values = {"out": out.data.copy(), "loss": numpy.asarray(value.data)}
    values.update({f"grad {name}": p.grad.copy() for name, p in model.named_parameters()})
    if x_grad:
        values["grad x"] = x.grad.copy()
    return values


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_sequential_equals_module_by_module(monkeypatch, activation, dtype, bias):
    model = _chain(activation, dtype, bias, last=activation)
    x_values = numpy.random.default_rng(8).standard_normal((6, 5)).astype(dtype)
    for loss in ("mse", "ce"):
        for x_grad in (False, True):
            fused = _pass(monkeypatch, True, model, x_values, x_grad, loss)
            _assert_close(fused, _pass(monkeypatch, False, model, x_values, x_grad, loss))


@pytest.mark.parametrize("shape", [(5,), (6, 5), (2, 3, 5)])
def test_fused_gradients_keep_the_exact_gradient_contract(shape):
    """The MLP node's gradients are stored as they are (Function.exact_gradients): each must have
    its parent's shape and dtype, be writeable and share memory with no other gradient (nor with
    the read-only ∂L/∂out that ``sum`` hands back, which a single sample's bias sum must copy)."""
    model = _chain(nn.Tanh, "float32")
    x = chainrule.tensor(numpy.random.default_rng(11).standard_normal(shape).astype("float32"), requires_grad=True)
    out = model(x)
    assert isinstance(out.grad_fn, MLP) and MLP.exact_gradients
    out.sum().backward()
    tensors = [x, *model.parameters()]
    for t in tensors:
        assert t.grad.shape == t.data.shape and t.grad.dtype == t.data.dtype and t.grad.flags.writeable
    for a, b in itertools.combinations(tensors, 2):
        assert not numpy.shares_memory(a.grad, b.grad)


@pytest.mark.parametrize("shape", [(5,), (2, 3, 5)])
def test_fused_sequential_takes_one_sample_and_extra_axes(monkeypatch, shape):
    model = _chain(nn.Tanh, "float64")
    x_values = numpy.random.default_rng(9).standard_normal(shape)
    fused = _pass(monkeypatch, True, model, x_values, True, "mse")
    _assert_close(fused, _pass(monkeypatch, False, model, x_values, True, "mse"))


def test_fused_sequential_matches_torch_float64():
    chainrule.manual_seed(10)
    model = nn.Sequential(nn.Linear(3, 5, dtype="float64"), nn.ReLU(), nn.Linear(5, 4, dtype="float64"), nn.Sigmoid())
    reference = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.ReLU(), torch.nn.Linear(5, 4), torch.nn.Sigmoid())
    reference.double()
    with torch.no_grad():
        for p, q in zip(model.parameters(), reference.parameters()):
            q.copy_(torch.from_numpy(p.data))
    x_values = numpy.random.default_rng(11).standard_normal((7, 3))
    x, tx = chainrule.tensor(x_values, requires_grad=True), torch.tensor(x_values, requires_grad=True)
    out = model(x)
    assert isinstance(out.grad_fn, MLP)
    (out * out).sum().backward()
    tout = reference(tx)
    (tout * tout).sum().backward()
    numpy.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    numpy.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    for p, q in zip(model.parameters(), reference.parameters()):
        numpy.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12, atol=1e-12)


class _ScaledReLU(nn.ReLU):
    def forward(self, z):
        return super().forward(z) * 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Sequential(nn.Linear(5, 4), nn.Dropout(0.0), nn.Linear(4, 3)),
        lambda: nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 3)),
        lambda: nn.Sequential(nn.Tanh(), nn.Linear(5, 3)),
        lambda: nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.ReLU(), nn.Linear(4, 3)),
        lambda: nn.Sequential(nn.Linear(5, 4), _ScaledReLU(), nn.Linear(4, 3)),
        lambda: nn.Sequential(nn.Linear(5, 4), nn.Sequential(nn.Tanh(), nn.Linear(4, 3))),
        lambda: nn.Sequential(nn.Linear(5, 4, dtype="float64"), nn.Tanh(), nn.Linear(4, 3)),
    ],
)
def test_other_modules_run_module_by_module(make):
    chainrule.manual_seed(12)
    model = make()
    out = model(chainrule.tensor(numpy.ones((2, 5), dtype="float32")))
    assert not isinstance(out.grad_fn, MLP)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_shared_parameter_and_numpy_input_run_module_by_module():
    chainrule.manual_seed(13)
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 4))
    model[2].weight = model[0].weight
    assert not isinstance(model(chainrule.ones(2, 4)).grad_fn, MLP)
    model = _chain(nn.Tanh, "float32")
    assert not isinstance(model(numpy.ones((2, 5), dtype="float32")).grad_fn, MLP)


def test_fused_sequential_no_grad_and_frozen_layer(monkeypatch):
    model = _chain(nn.ReLU, "float64")
    x = chainrule.tensor(numpy.random.default_rng(14).standard_normal((3, 5)))
    with chainrule.no_grad():
        out = model(x)
    assert out.grad_fn is None and not out.requires_grad
    monkeypatch.setattr(nn.container, "FUSE_LAYERS", False)
    assert numpy.array_equal(out.data, model(x).data)
    monkeypatch.setattr(nn.container, "FUSE_LAYERS", True)
    for p in model[0].parameters():
        p.requires_grad_(False)
    model(x).sum().backward()
    assert model[0].weight.grad is None and model[0].bias.grad is None
    assert model[2].weight.grad is not None and model[2].bias.grad is not None


def test_fusion_plan_follows_changes_to_the_modules():
    model = _chain(lambda: nn.LeakyReLU(0.2), "float64")
    x = chainrule.tensor(numpy.random.default_rng(8).standard_normal((4, 5)))

    def unfused() -> numpy.ndarray:
        h = x
        for layer in model:
            h = layer(h)
        return h.data

    def check() -> None:  # the fused output, made with the plan kept from the call before
        numpy.testing.assert_allclose(model(x).data, unfused(), rtol=1e-12)

    check()
    model[1].negative_slope = 0.5  # an activation's option
    check()
    model[0].weight = nn.Parameter(model[0].weight.data * 2)  # a new parameter
    check()
    model[2].bias.data = model[2].bias.data + 1  # a new array in a parameter
    check()
    model[2].bias = None  # a parameter removed
    check()
    setattr(model, "2", nn.Linear(4, 3, dtype="float64"))  # a new module
    check()
    model.float()  # new arrays in a new dtype
    x = chainrule.tensor(x.data.astype("float32"))
    out = model(x)
    assert isinstance(out.grad_fn, MLP) and out.dtype == numpy.float32
    numpy.testing.assert_allclose(out.data, unfused(), rtol=1e-5)


def test_fused_sequential_shape_errors_name_the_layer():
    model = _chain(nn.Tanh, "float32")
    with pytest.raises(ValueError, match="expects inputs whose last axis has 5 features"):
        model(chainrule.ones(2, 4))
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(3, 2))
    with pytest.raises(ValueError, match="expects inputs whose last axis has 3 features, got input of shape"):
        model(chainrule.ones(2, 5))


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "int64", ">i8", "uint8", "uint64"])
def test_one_pass_label_check_finds_negative_and_too_large_labels(dtype):
    scores = chainrule.zeros(4, 3)
    labels = numpy.array([0, 2, 1, 2, 0, 1, 2, 0], dtype=dtype)[::2]  # strided, as a column of a table
    assert numpy.isclose(nn.CrossEntropyLoss()(scores, chainrule.tensor(labels)).item(), numpy.log(3))
    bad = [[0, 1, 3, 2]]
    if numpy.dtype(dtype).kind == "i":
        bad += [[0, 1, -1, 2], [0, numpy.iinfo(dtype).min, 1, 2]]
    for values in bad:
        with pytest.raises(ValueError, match=r"labels must lie in 0\.\.2"):
            nn.CrossEntropyLoss()(scores, chainrule.tensor(numpy.array(values, dtype=dtype)))
