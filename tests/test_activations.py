"""Every registered activation against PyTorch 2.13.0 (float64, 1e-12, large |z| included), on
Sequential's fused path, explained, saved and loaded, and offered by ``chainrule train``.

The new activations (GELU in both forms, SiLU, Softplus, ELU) each took two files: their op in
``chainrule/ops/elementwise.py`` and their module and registry declaration in
``chainrule/nn/activation.py``; these tests go through every declared activation, so a new one is
tested the moment it is declared.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
import torch

import chainrule
from chainrule import io, nn
from chainrule.nn import registry
from chainrule.ops import elementwise

TORCH = {
    "identity": lambda t: t,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky-relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
    "gelu": torch.nn.functional.gelu,
    "gelu-tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
    "silu": torch.nn.functional.silu,
    "softplus": torch.nn.functional.softplus,
    "elu": torch.nn.functional.elu,
}
"""Registry name → the same function in PyTorch (with the registry form's default options)."""

WITH_OPTIONS = [
    (nn.LeakyReLU(0.2), lambda t: torch.nn.functional.leaky_relu(t, 0.2)),
    (nn.Softplus(beta=2.5, threshold=7.0), lambda t: torch.nn.functional.softplus(t, beta=2.5, threshold=7.0)),
    (nn.Softplus(beta=0.5), lambda t: torch.nn.functional.softplus(t, beta=0.5)),
    (nn.ELU(alpha=0.3), lambda t: torch.nn.functional.elu(t, alpha=0.3)),
    (nn.ELU(alpha=2.0), lambda t: torch.nn.functional.elu(t, alpha=2.0)),
]

Z = np.concatenate(
    [
        np.linspace(-12, 12, 2401),
        [-1e4, -800.0, -40.0, -20.0, -1e-8, -1e-300, 0.0, 1e-300, 1e-8, 20.0, 40.0, 800.0, 1e4],
        np.random.default_rng(0).normal(scale=4, size=500),
    ]
)


def assert_like_torch(module: nn.Module, torch_function, z=Z) -> None:
    """h = module(z) and ∂Σh/∂z equal PyTorch's in float64 to 1e-12 (relative, or absolute near 0)."""
    x = chainrule.tensor(z, requires_grad=True)
    h = module(x)
    h.sum().backward()
    t = torch.tensor(z, requires_grad=True)
    expected = torch_function(t)
    expected.sum().backward()
    np.testing.assert_allclose(h.data, expected.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert np.isfinite(h.data).all() and np.isfinite(x.grad).all()


@pytest.mark.parametrize("name", list(registry.ACTIVATIONS))
def test_every_registered_activation_equals_pytorch(name):
    assert set(TORCH) == set(registry.ACTIVATIONS), "add the new activation's PyTorch twin to TORCH"
    assert_like_torch(registry.ACTIVATIONS[name].make(), TORCH[name])


@pytest.mark.parametrize("module, torch_function", WITH_OPTIONS, ids=[repr(m) for m, _ in WITH_OPTIONS])
def test_activations_with_options_equal_pytorch(module, torch_function):
    assert_like_torch(module, torch_function)


@pytest.mark.parametrize("name", list(registry.ACTIVATIONS))
def test_backward_multiplies_by_the_derivative_explain_shows(name):
    """By construction (ops.elementwise.Activation): ∂L/∂z = ∂L/∂h ⊙ derivative()."""
    op = registry.ACTIVATIONS[name].op()
    assert isinstance(op, elementwise.Activation)
    z = np.linspace(-5, 5, 41)
    op.forward(z, **registry.ACTIVATIONS[name].options)
    grad = np.random.default_rng(1).normal(size=z.shape)
    (backward,) = op.backward(grad)
    np.testing.assert_array_equal(backward, grad * op.derivative())


def test_derivatives_equal_central_differences():
    z = np.linspace(-4.3, 4.1, 29)  # no point at a kink (0)
    for name, entry in registry.ACTIVATIONS.items():
        op = entry.op()
        op.forward(z, **entry.options)
        step = 1e-6
        ahead, behind = entry.op(), entry.op()
        numeric = (ahead.forward(z + step, **entry.options) - behind.forward(z - step, **entry.options)) / (2 * step)
        np.testing.assert_allclose(op.derivative() * np.ones_like(z), numeric, rtol=1e-7, atol=1e-9, err_msg=name)


def test_gelu_without_scipy_uses_math_erf_with_the_same_values(monkeypatch):
    elementwise._erf_function.cache_clear()
    monkeypatch.setitem(sys.modules, "scipy.special", None)  # import fails: math.erf one by one
    try:
        one_by_one = elementwise.erf(Z)
        assert_like_torch(nn.GELU(), torch.nn.functional.gelu)
        assert elementwise.erf(np.float32([0.5])).dtype == np.float32
    finally:
        elementwise._erf_function.cache_clear()
    np.testing.assert_allclose(one_by_one, [math.erf(v) for v in Z], rtol=1e-15, atol=0)


def test_bad_options_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="approximate must be 'none'"):
        nn.GELU(approximate="fast")
    with pytest.raises(ValueError, match="beta must be a positive number"):
        nn.Softplus(beta=0)
    with pytest.raises(ValueError, match="alpha must be a finite number"):
        nn.ELU(alpha=math.inf)


def _twin(activation: nn.Module, torch_activation, widths=(3, 5, 4, 2), seed=0):
    chainrule.manual_seed(seed)
    ours, theirs = [], []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        layer = nn.Linear(n_in, n_out, dtype="float64")
        twin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        with torch.no_grad():
            twin.weight.copy_(torch.tensor(layer.weight.data))
            twin.bias.copy_(torch.tensor(layer.bias.data))
        ours.append(layer)
        theirs.append(twin)
        if i < len(widths) - 2:
            ours.append(type(activation)(**activation.options()))
            theirs.append(torch_activation)
    return nn.Sequential(*ours), torch.nn.Sequential(*theirs)


class _Torch(torch.nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function

    def forward(self, t):
        return self.function(t)


@pytest.mark.parametrize("name", ["gelu", "gelu-tanh", "silu", "softplus", "elu"])
def test_new_activations_run_fused_and_equal_pytorch(monkeypatch, name):
    model, reference = _twin(registry.ACTIVATIONS[name].make(), _Torch(TORCH[name]))
    x = np.random.default_rng(2).normal(size=(7, 3)) * 3
    y = np.random.default_rng(3).normal(size=(7, 2))
    out = model(chainrule.tensor(x))
    assert type(out.grad_fn).__name__ == "MLP"  # the fused node
    nn.MSELoss()(out, chainrule.tensor(y)).backward()
    fused = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    monkeypatch.setattr(nn.container, "FUSE_LAYERS", False)
    nn.MSELoss()(model(chainrule.tensor(x)), chainrule.tensor(y)).backward()
    expected = torch.nn.functional.mse_loss(reference(torch.tensor(x)), torch.tensor(y))
    expected.backward()
    for ours, plain, theirs in zip(fused, model.parameters(), reference.parameters()):
        np.testing.assert_allclose(ours, plain.grad, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["gelu", "gelu-tanh", "silu", "softplus", "elu"])
def test_explain_on_a_new_activation_equals_autograd_and_pytorch(name):
    model, reference = _twin(registry.ACTIVATIONS[name].make(), _Torch(TORCH[name]), widths=(2, 3, 1))
    x, y = np.array([0.7, -1.3]), np.array([0.25])
    torch.nn.functional.mse_loss(reference(torch.tensor(x[None])), torch.tensor(y[None])).backward()
    expected = reference[0].weight.grad.numpy()
    for k, j in np.ndindex(3, 2):
        e = chainrule.explain(model, nn.MSELoss(), x, y, param=f"0.weight[{k}, {j}]")
        assert e.value == pytest.approx(expected[k, j], rel=1e-12, abs=1e-15)
        assert math.prod(f.value for f in e.chain) == pytest.approx(e.value, rel=1e-12, abs=1e-15)
        assert math.prod(f.value for f in e.path) == pytest.approx(e.value, rel=1e-12, abs=1e-15)
    text = str(chainrule.explain(model, nn.MSELoss(), x, y))
    entry = registry.ACTIVATIONS[name]
    assert f"layer 1: 3 {entry.name} units" in text
    assert entry.call.text.replace("{z}", "z¹₁") in text  # h¹₁ = GELU(z¹₁), from the registry


def test_checkpoints_save_and_load_the_new_activations(tmp_path):
    layers = [nn.Linear(2, 3, dtype="float64")]
    for module in (nn.GELU(approximate="tanh"), nn.SiLU(), nn.Softplus(beta=2.0, threshold=5.0), nn.ELU(alpha=0.5)):
        layers += [module, nn.Linear(3, 3, dtype="float64")]
    model = nn.Sequential(*layers)
    io.save(tmp_path / "model.safetensors", model)
    loaded = io.load(tmp_path / "model.safetensors").model
    assert repr(loaded) == repr(model)
    x = chainrule.tensor(np.random.default_rng(4).normal(size=(5, 2)))
    np.testing.assert_array_equal(loaded(x).data, model(x).data)


def test_chainrule_train_offers_every_activation(tmp_path):
    path = tmp_path / "gelu.safetensors"
    result = subprocess.run(
        [sys.executable, "-m", "chainrule", "train", "--dataset", "iris", "--hidden", "4", "--activation", "gelu",
         "--epochs", "2", "--save", str(path), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    checkpoint = io.load(path)
    assert isinstance(checkpoint.model[1], nn.GELU) and checkpoint.config["activation"] == "gelu"
    from chainrule.training import TrainConfig

    option = next(option for option in dataclasses.fields(TrainConfig) if option.name == "activation")
    assert set(option.metadata["choices"]) == set(registry.ACTIVATIONS)


def test_functional_forms_equal_the_modules():
    from chainrule.nn import functional as F

    z = chainrule.tensor(Z)
    for function, module in [
        (lambda t: F.gelu(t, approximate="tanh"), nn.GELU(approximate="tanh")),
        (F.gelu, nn.GELU()),
        (F.silu, nn.SiLU()),
        (lambda t: F.softplus(t, beta=2.0, threshold=3.0), nn.Softplus(beta=2.0, threshold=3.0)),
        (lambda t: F.elu(t, alpha=0.5), nn.ELU(alpha=0.5)),
    ]:
        np.testing.assert_array_equal(function(z).data, module(z).data)
    with pytest.raises(ValueError, match="approximate must be"):
        F.gelu(z, approximate="erf")
