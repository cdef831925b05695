"""chainrule.explain: seed 001's figures, and every shown number equal to autograd (and PyTorch)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import chainrule
from chainrule import nn
from chainrule.diagnostics import explain
from chainrule.diagnostics.examples import house_price, house_price_explanation, house_price_slips
from chainrule.diagnostics.notation import network_layers, resolve


def _seed_explanation(param=None, lr=0.2):
    model, loss_fn, x, y = house_price()
    return explain(model, loss_fn, x, y, param=param, lr=lr)


def test_seed_001_forward_pass_and_loss():
    e = _seed_explanation()
    (z1, h1), (_, h2) = e.forward
    np.testing.assert_allclose(z1[0], [-0.063, -0.306], atol=1e-12)
    np.testing.assert_allclose(h1[0], [0.48426, 0.42409], atol=5e-6)
    assert h2[0, 0] == pytest.approx(0.63009, abs=5e-6)
    assert e.loss == pytest.approx(0.68456, abs=5e-6)
    assert e.loss_after == pytest.approx(0.35064, abs=5e-6)


@pytest.mark.parametrize(
    "name, gradient, updated",
    [
        ("w2_11", 0.56663, 0.18667),
        ("w2_12", 0.49622, 0.10076),
        ("b2_1", 1.17009, 0.16598),
        ("w1_11", -0.02805, 0.20561),
        ("w1_12", -0.05786, 0.16157),
        ("b1_1", 0.08767, 0.08247),
        ("w1_21", -0.01829, 0.50366),
        ("w1_22", -0.03772, 0.60754),
        ("b1_2", 0.05715, 0.23857),
    ],
)
def test_seed_001_gradients_and_updates(name, gradient, updated):
    e = _seed_explanation(name)
    assert e.value == pytest.approx(gradient, abs=5e-5)
    assert float(e.updated[e.param.tensor_name][e.param.index]) == pytest.approx(updated, abs=5e-5)
    assert math.prod(f.value for f in e.chain) == pytest.approx(e.value, rel=1e-12)
    assert math.prod(f.value for f in e.path or e.chain) == pytest.approx(e.value, rel=1e-12)


def test_seed_001_first_factor_and_output_layer_chain_in_the_seeds_style():
    e = _seed_explanation("w2_11")
    assert [round(f.value, 4) for f in e.chain] == [1.1701, 1.0, 0.4843]
    text = str(e)
    assert "∂L/∂w²₁₁ = ∂L/∂h²₁ · ∂h²₁/∂z²₁ · ∂z²₁/∂w²₁₁ = 1.1701 × 1 × 0.4843 = 0.5666" in text
    assert "w²₁₁ ← w²₁₁ − η ∂L/∂w²₁₁ = 0.3 − 0.2 × 0.5666 = 0.1867" in text


def test_seed_001_hidden_weight_has_the_full_path():
    e = _seed_explanation("w1_11")
    assert [round(f.value, 4) for f in e.path] == [1.1701, 1.0, 0.3, 0.2498, -0.32]
    assert "= 1.1701 × 1 × 0.3 × 0.2498 × (-0.32) = -0.0281" in str(e)


def test_seed_001_slips_found_by_comparing_with_the_engine():
    slips = {claim.quote: actual for claim, actual in house_price_slips(house_price_explanation())}
    b12 = "∂L/∂b12 = 1.17∗0.20∗0.424∗(1−0.424)∗1 = −0.057"
    assert slips[b12] == pytest.approx(0.05715, abs=5e-5)
    assert slips["∂z11/∂w112 = x1 = 0.66"] == -0.66
    assert any("(−0.32) = −0.038" in quote for quote in slips)
    assert "w211(updated) = 0.3 − (0.2∗0.5663) = 0.1867" not in slips
    assert len(slips) == 9


def _random_mlp(widths, activations, seed, bias=True):
    chainrule.manual_seed(seed)
    modules = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(widths)):
        modules.append(nn.Linear(n_in, n_out, bias=bias, dtype="float64"))
        if i < len(activations) and activations[i] is not None:
            modules.append(activations[i]())
    return nn.Sequential(*modules)


def _torch_gradients(model, loss_name, x, y):
    """The same network and loss in PyTorch: the parameters' gradients and the loss."""
    layers = network_layers(model)
    params = {}
    h = torch.tensor(np.asarray(x, dtype=np.float64))
    for layer in layers:
        w = torch.tensor(layer.linear.weight.data, requires_grad=True)
        params[f"{layer.name}.weight"] = w
        z = h @ w.T
        if layer.linear.bias is not None:
            b = torch.tensor(layer.linear.bias.data, requires_grad=True)
            params[f"{layer.name}.bias"] = b
            z = z + b
        name = layer.activation_name
        h = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda t: t}[name](z)
    yt = torch.tensor(np.asarray(y))
    loss = {
        "half": lambda: 0.5 * ((h - yt) ** 2).sum(dim=-1).mean(),
        "mse": lambda: torch.nn.functional.mse_loss(h, yt),
        "sse": lambda: ((h - yt) ** 2).sum(dim=-1).mean(),
        "ce": lambda: torch.nn.functional.cross_entropy(h, yt),
        "bce": lambda: torch.nn.functional.binary_cross_entropy_with_logits(h, yt),
    }[loss_name]()
    loss.backward()
    return {name: p.grad.numpy() for name, p in params.items()}, loss.item()


LOSSES = {
    "half": nn.HalfSquaredErrorLoss,
    "mse": nn.MSELoss,
    "sse": nn.SumSquaredErrorLoss,
    "ce": nn.CrossEntropyLoss,
    "bce": nn.BCEWithLogitsLoss,
}


@pytest.mark.parametrize("seed", range(6))
def test_random_mlp_every_factor_product_equals_autograd_and_pytorch(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 4))
    widths = [int(w) for w in rng.integers(1, 5, depth + 1)]
    loss_name = list(LOSSES)[seed % len(LOSSES)]
    if loss_name == "ce":
        widths[-1] = max(widths[-1], 2)
    choices = [nn.Sigmoid, nn.Tanh, nn.ReLU, None]
    activations = [choices[int(rng.integers(4))] for _ in range(depth)]
    model = _random_mlp(widths, activations, seed)
    x = rng.normal(size=widths[0])
    if loss_name == "ce":
        y = np.array(int(rng.integers(widths[-1])))
    elif loss_name == "bce":
        y = rng.random(widths[-1]).round()
    else:
        y = rng.normal(size=widths[-1])
    expected, torch_loss = _torch_gradients(
        model, loss_name, x[None, :], y.reshape(1, -1) if loss_name != "ce" else y.reshape(1)
    )
    for ref_name in ["0.weight", *(f"{layer.name}.bias" for layer in network_layers(model))]:
        ref = resolve(ref_name, network_layers(model))
        for index in np.ndindex(*ref.parameter.shape):
            name = f"{ref.tensor_name}[{', '.join(map(str, index))}]"
            e = explain(model, LOSSES[loss_name](), x, y, param=name)
            assert e.loss == pytest.approx(torch_loss, rel=1e-12)
            assert e.value == pytest.approx(float(expected[ref.tensor_name][index]), rel=1e-12, abs=1e-15)
            assert math.prod(f.value for f in e.chain) == pytest.approx(e.value, rel=1e-12, abs=1e-15)
            if e.path is not None:
                assert math.prod(f.value for f in e.path) == pytest.approx(e.value, rel=1e-12, abs=1e-15)
    e = explain(model, LOSSES[loss_name](), x, y)
    for name, grad in expected.items():
        np.testing.assert_allclose(e.gradients[name], grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("loss_name", ["half", "mse", "ce"])
def test_batch_gradient_is_the_mean_of_per_sample_gradients(loss_name):
    rng = np.random.default_rng(7)
    model = _random_mlp([3, 4, 3], [nn.Tanh], 7)
    x = rng.normal(size=(5, 3))
    y = rng.integers(0, 3, 5) if loss_name == "ce" else rng.normal(size=(5, 3))
    e = explain(model, LOSSES[loss_name](), x, y, param="w1_32", lr=0.1)
    expected, _ = _torch_gradients(model, loss_name, x, y)
    assert e.value == pytest.approx(float(expected["0.weight"][2, 1]), rel=1e-12)
    assert np.mean(e.per_sample) == pytest.approx(e.value, rel=1e-12)
    assert "(1/5) Σ_n ∂ℓ_n/∂w¹₃₂" in str(e)


def test_batch_with_sum_reduction_adds_per_sample_gradients():
    rng = np.random.default_rng(3)
    model = _random_mlp([2, 2, 1], [nn.Sigmoid], 3)
    x, y = rng.normal(size=(4, 2)), rng.normal(size=(4, 1))
    e = explain(model, nn.SumSquaredErrorLoss(reduction="sum"), x, y, param="b1_2")
    assert sum(e.per_sample) == pytest.approx(e.value, rel=1e-12)


def test_parameter_names_and_aliases():
    layers = network_layers(house_price()[0])
    assert resolve("w1_21", layers).name == "0.weight[1, 0]"
    assert resolve("0.weight[1,0]", layers).seed_name == "w1_21"
    assert resolve("b2_1", layers).name == "2.bias[0]"
    assert resolve("W1", layers).index is None
    assert resolve("2.bias", layers).seed_name == "b2"
    with pytest.raises(ValueError, match="no parameter"):
        resolve("4.weight", layers)
    with pytest.raises(ValueError, match="outside"):
        resolve("w1_31", layers)
    with pytest.raises(ValueError, match=r"layers 1\.\.2"):
        resolve("w3_11", layers)


def test_whole_tensor_value_is_the_autograd_gradient():
    e = _seed_explanation("W1")
    np.testing.assert_allclose(e.value, [[-0.02805, -0.05786], [-0.01829, -0.03772]], atol=5e-6)


def test_renderings_carry_the_same_numbers():
    e = _seed_explanation("w2_11")
    markdown = e.to_markdown()
    assert r"\frac{\partial L}{\partial w^{2}_{11}}" in markdown and "0.5666" in markdown
    html = e._repr_html_()
    assert "w<sup>2</sup><sub>11</sub>" in html and "0.5666" in html


def test_models_explain_cannot_follow_are_refused_with_the_reason():
    model = nn.Sequential(nn.Linear(2, 2), nn.Softmax(), nn.Linear(2, 1))
    with pytest.raises(ValueError, match="Softmax"):
        explain(model, nn.MSELoss(), [1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match="reduction"):
        explain(house_price()[0], nn.MSELoss(reduction="none"), [1.0, 2.0], [0.0])
    with pytest.raises(ValueError, match="learning rate"):
        explain(house_price()[0], nn.MSELoss(), [1.0, 2.0], [0.0], lr=-1)


def test_the_model_is_left_untouched():
    model, loss_fn, x, y = house_price()
    explain(model, loss_fn, x, y, lr=0.2)
    assert model[0].weight.grad is None
    np.testing.assert_array_equal(model[2].weight.data, [[0.3, 0.2]])
