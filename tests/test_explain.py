"""chainrule.explain: seed 001's figures, and every shown number equal to autograd (and PyTorch)."""

from __future__ import annotations

import itertools
import json
import math
import re

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


# ---------------------------------------------------------------------- the derivation as data


def test_derivation_json_carries_every_formula_and_number():
    e = _seed_explanation()
    data = json.loads(e.to_json())
    assert data["schema"] == "chainrule.derivation" and data["version"] == 1
    assert data["loss"] == pytest.approx(0.68456, abs=5e-6)
    assert data["update"]["loss_after"] == pytest.approx(0.35064, abs=5e-6)
    layer = data["network"]["layers"][0]
    assert layer["activation"]["name"] == "sigmoid" and layer["activation"]["derivative"]["latex"].startswith(r"\sigma")
    assert data["network"]["loss"]["name"] == "half-squared"
    w = next(p for p in data["parameters"] if p["seed_name"] == "w2_11")
    assert (w["name"], w["tensor"], w["index"], w["layer"], w["kind"]) == (
        "2.weight[0, 0]",
        "2.weight",
        [0, 0],
        2,
        "weight",
    )
    assert w["gradient"] == pytest.approx(0.56663, abs=5e-5) and w["update"]["after"] == pytest.approx(
        0.18667, abs=5e-5
    )
    assert [f["value"] for f in w["chain"]] == pytest.approx([1.17009, 1.0, 0.48426], abs=5e-5)
    assert w["chain_equation"][0]["latex"] == r"\frac{\partial L}{\partial w^{2}_{11}}"
    assert " = ".join(part["text"] for part in w["chain_equation"]) in str(e)
    first = w["chain"][0]  # ∂L/∂h²₁ = −(y₁ − h²₁) = −(-0.54 − 0.6301) = 1.1701, every form with its LaTeX
    assert [form["text"] for form in first["forms"]] == ["−(y₁ − h²₁)", "−(-0.54 − 0.6301)"]
    assert first["display"]["text"] == "1.1701"
    hidden = next(p for p in data["parameters"] if p["seed_name"] == "w1_11")
    assert [f["value"] for f in hidden["path"]] == pytest.approx([1.17009, 1.0, 0.3, 0.24974, -0.32], abs=5e-5)
    assert hidden["chain"][1]["forms"][0]["text"] == "σ(z¹₁)(1 − σ(z¹₁)) = h¹₁(1 − h¹₁)"
    assert data["backward"][0]["delta"]["value"] == pytest.approx(1.17009, abs=5e-5)
    for formula in _formulas(data):
        assert set(formula) == {"text", "latex", "html"} and formula["latex"].isascii()


def _formulas(value):
    if isinstance(value, dict):
        if set(value) == {"text", "latex", "html"}:
            yield value
        for item in value.values():
            yield from _formulas(item)
    elif isinstance(value, list):
        for item in value:
            yield from _formulas(item)


def test_derive_parameter_is_explain_for_one_weight_of_a_live_model():
    from chainrule.diagnostics.derivation import derive_parameter

    model, loss_fn, x, y = house_price()
    d = derive_parameter(model, loss_fn, x, y, "w1_21", lr=0.2)
    e = _seed_explanation("w1_21")
    assert d.gradient == e.value and d.update.after == pytest.approx(0.50366, abs=5e-5)
    assert [f.value for f in d.chain] == [f.value for f in e.chain]
    assert d.to_dict()["path_equation"][-1]["text"] == "-0.0183"
    assert model[0].weight.grad is None  # the live model is untouched
    rng = np.random.default_rng(5)
    batch = derive_parameter(model, loss_fn, rng.normal(size=(500, 2)), rng.normal(size=(500, 1)), "0.bias[1]")
    assert len(batch.samples.gradients) == 500 and np.mean(batch.samples.gradients) == pytest.approx(batch.gradient)
    with pytest.raises(ValueError, match=r"names a whole tensor; name one element, e.g. 0.weight\[0, 0\]"):
        derive_parameter(model, loss_fn, x, y, "W1")


def test_per_sample_terms_equal_each_sample_explained_alone():
    rng = np.random.default_rng(11)
    model = _random_mlp([3, 4, 2], [nn.GELU], 11)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    e = explain(model, nn.MSELoss(), x, y, param="w1_23")
    alone = [explain(model, nn.MSELoss(), x[n], y[n], param="w1_23").value for n in range(5)]
    np.testing.assert_allclose(e.per_sample, alone, rtol=1e-12)


# ---------------------------------------------------------------------- a trained, bigger model


def _wide_model():
    chainrule.manual_seed(3)
    return nn.Sequential(nn.Linear(12, 30), nn.SiLU(), nn.Linear(30, 10), nn.Tanh(), nn.Linear(10, 3))


def test_a_big_network_explains_its_largest_gradient_and_says_so_in_100_columns():
    model = _wide_model()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=12), rng.normal(size=3)
    e = explain(model, nn.MSELoss(), x, y, lr=0.1)
    grads = {name: abs(g) for name, g in e.gradients.items()}
    best = max(grads, key=lambda name: grads[name].max())
    index = np.unravel_index(grads[best].argmax(), grads[best].shape)
    assert (e.param.tensor_name, e.param.index) == (best, tuple(int(i) for i in index))
    assert e.value == pytest.approx(float(e.gradients[best][index]))
    text = str(e)
    words = " ".join(text.split())  # paragraphs are wrapped at 100 columns
    assert "No parameter was named and the network has 733 parameters (more than 64 to derive)" in words
    assert f"the one with the largest gradient is derived: {e.param.name}" in words
    assert max(len(line) for line in text.splitlines()) <= 100
    assert re.search(r"∂L/∂W¹ = δ¹ \(x\)ᵀ = \[\[0.0122, -0.0128, .*, … \d+ more\], … 29 more rows\]", text)
    table = text[text.index("after the step") :]
    for name, _ in model.named_parameters():  # the update table lists every parameter
        assert f"\n  {name} " in table
    markdown = e.to_markdown()
    assert "more rows" not in markdown and markdown.count(" & ") > 2 * 600  # every number, before and after
    assert json.loads(e.to_json())["chosen"].startswith("No parameter was named")


def test_a_named_tensor_too_big_to_derive_entry_by_entry_gives_its_largest_entry():
    model = _wide_model()
    rng = np.random.default_rng(1)
    e = explain(model, nn.MSELoss(), rng.normal(size=(3, 12)), rng.normal(size=(3, 3)), param="W1")
    assert e.param.tensor_name == "0.weight" and e.value.shape == (30, 12)
    (derived,) = e.derivation.parameters
    assert abs(derived.gradient) == np.abs(e.value).max() and len(derived.samples.gradients) == 3
    assert "0.weight has 360 entries (more than 64 to derive)" in " ".join(str(e).split())


def test_text_without_a_width_writes_every_number():
    e = explain(_wide_model(), nn.MSELoss(), np.ones(12), np.zeros(3), lr=0.1)
    assert "more rows]" in e.to_text() and "more rows]" not in e.to_text(width=None)
