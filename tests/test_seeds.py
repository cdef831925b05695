"""The four seed texts reproduced exactly: each case against the chain rule written out by hand.

The expected values here are computed in plain Python floats (``math``), never through chainrule,
and checked against the figures printed in ``shared/seeds/README.md`` and in the seed texts.
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import chainrule
from chainrule import nn, optim
from chainrule.data.synthetic import make_teacher, make_teacher_student

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
F64 = chainrule.float64


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def sigmoid_network(sizes: tuple[int, ...], bias: bool) -> nn.Sequential:
    """Linear layers of the given widths, each followed by a sigmoid (seed 003's networks), float64."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out, bias=bias, dtype=F64), nn.Sigmoid()]
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- seed 001
X1, X2, Y = -0.32, -0.66, -0.54
INITIAL = {"w111": 0.2, "w112": 0.15, "w121": 0.5, "w122": 0.6, "b11": 0.1, "b12": 0.25, "w211": 0.3, "w212": 0.2}
INITIAL["b21"] = 0.4
ETA = 0.2
# seed name -> (chainrule parameter, index)
WHERE = {
    "w111": ("0.weight", (0, 0)),
    "w112": ("0.weight", (0, 1)),
    "w121": ("0.weight", (1, 0)),
    "w122": ("0.weight", (1, 1)),
    "b11": ("0.bias", (0,)),
    "b12": ("0.bias", (1,)),
    "w211": ("2.weight", (0, 0)),
    "w212": ("2.weight", (0, 1)),
    "b21": ("2.bias", (0,)),
}


def house_price_by_hand(p: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """Forward values and the 9 gradients of seed 001, by the chain rule in plain floats."""
    z11 = p["b11"] + p["w111"] * X1 + p["w112"] * X2
    z12 = p["b12"] + p["w121"] * X1 + p["w122"] * X2
    h11, h12 = sigmoid(z11), sigmoid(z12)
    h21 = p["b21"] + p["w211"] * h11 + p["w212"] * h12  # linear output: h21 = z21
    loss = 0.5 * (Y - h21) ** 2
    dl_dh = -(Y - h21)
    d1 = dl_dh * p["w211"] * h11 * (1 - h11)  # ∂L/∂z11
    d2 = dl_dh * p["w212"] * h12 * (1 - h12)  # ∂L/∂z12
    grads = {
        "w111": d1 * X1,
        "w112": d1 * X2,
        "b11": d1,
        "w121": d2 * X1,
        "w122": d2 * X2,
        "b12": d2,
        "w211": dl_dh * h11,
        "w212": dl_dh * h12,
        "b21": dl_dh,
    }
    return {"z11": z11, "z12": z12, "h11": h11, "h12": h12, "h21": h21, "loss": loss}, grads


def house_price_model() -> nn.Sequential:
    model = nn.Sequential(nn.Linear(2, 2, dtype=F64), nn.Sigmoid(), nn.Linear(2, 1, dtype=F64), nn.Identity())
    model[0].weight.data[:] = [[0.2, 0.15], [0.5, 0.6]]
    model[0].bias.data[:] = [0.1, 0.25]
    model[2].weight.data[:] = [[0.3, 0.2]]
    model[2].bias.data[:] = [0.4]
    return model


def house_price_step() -> tuple[nn.Sequential, float, float]:
    """One SGD step (η = 0.2) on the seed's sample; returns the model and the loss before and after."""
    model = house_price_model()
    x = chainrule.tensor([[X1, X2]], dtype=F64)
    y = chainrule.tensor([[Y]], dtype=F64)
    loss_fn = nn.HalfSquaredErrorLoss()
    optimizer = optim.SGD(model.parameters(), lr=ETA)
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    with chainrule.no_grad():
        after = loss_fn(model(x), y).item()
    return model, loss.item(), after


def test_house_price_forward_pass_matches_hand_and_readme():
    model = house_price_model()
    x = chainrule.tensor([[X1, X2]], dtype=F64)
    z1 = model[0](x)
    h1 = model[1](z1)
    h2 = model[3](model[2](h1))
    loss = nn.HalfSquaredErrorLoss()(h2, chainrule.tensor([[Y]], dtype=F64))
    forward, _ = house_price_by_hand(INITIAL)
    got = {"z11": z1.data[0, 0], "z12": z1.data[0, 1], "h11": h1.data[0, 0], "h12": h1.data[0, 1]}
    got |= {"h21": h2.item(), "loss": loss.item()}
    for name, value in got.items():
        assert value == pytest.approx(forward[name], abs=1e-12), name
    readme = {"z11": -0.063, "z12": -0.306, "h11": 0.48426, "h12": 0.42409, "h21": 0.63009, "loss": 0.68456}
    for name, figure in readme.items():
        assert abs(got[name] - figure) <= 5e-6, name


def test_house_price_gradients_match_hand_and_the_seed_text():
    model = house_price_model()
    loss = nn.HalfSquaredErrorLoss()(model(chainrule.tensor([[X1, X2]], dtype=F64)), chainrule.tensor([[Y]], dtype=F64))
    loss.backward()
    parameters = dict(model.named_parameters())
    _, expected = house_price_by_hand(INITIAL)
    got = {seed: parameters[name].grad[index] for seed, (name, index) in WHERE.items()}
    for seed_name, value in got.items():
        assert value == pytest.approx(expected[seed_name], abs=1e-12), seed_name
    # The seed's printed gradients, computed there from factors rounded to 3 decimals, so they
    # agree to about 5e-4.  ∂L/∂b12 is printed as −0.057 (line 212): the right value is +0.057.
    printed = {"w111": -0.028, "w112": -0.058, "b11": 0.088, "w121": -0.018, "w122": -0.038}
    printed |= {"w211": 0.5663, "w212": 0.4961, "b21": 1.17, "b12": +0.057}
    for seed_name, figure in printed.items():
        assert abs(got[seed_name] - figure) < 5e-4, seed_name
    assert got["b12"] > 0


def test_house_price_one_sgd_step_gives_the_readme_parameters_and_loss():
    model, before, after = house_price_step()
    parameters = dict(model.named_parameters())
    _, grads = house_price_by_hand(INITIAL)
    updated = {name: INITIAL[name] - ETA * grads[name] for name in INITIAL}
    got = {seed: parameters[name].data[index] for seed, (name, index) in WHERE.items()}
    readme = {"w111": 0.20561, "w112": 0.16157, "w121": 0.50366, "w122": 0.60754, "b11": 0.08247}
    readme |= {"b12": 0.23857, "w211": 0.18668, "w212": 0.10075, "b21": 0.16598}
    # the seed's own updated figures (lines 111, 228, 232): right to its 4-decimal arithmetic
    seed_text = {"w111": 0.2056, "w112": 0.1616, "w121": 0.5036, "w122": 0.6076, "b11": 0.0824}
    seed_text |= {"b12": 0.2386, "w211": 0.1867, "w212": 0.1008, "b21": 0.166}
    for name in INITIAL:
        assert got[name] == pytest.approx(updated[name], abs=1e-12), name
        assert abs(got[name] - readme[name]) <= 5e-6, name
        assert abs(got[name] - seed_text[name]) <= 1e-4, name
    assert before == pytest.approx(house_price_by_hand(INITIAL)[0]["loss"], abs=1e-12)
    assert after == pytest.approx(house_price_by_hand(updated)[0]["loss"], abs=1e-12)
    assert abs(before - 0.68456) <= 5e-6
    assert abs(after - 0.35064) <= 5e-6


def test_house_price_step_matches_pytorch():
    model, _, _ = house_price_step()
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1)).double()
    with torch.no_grad():
        net[0].weight[:] = torch.tensor([[0.2, 0.15], [0.5, 0.6]], dtype=torch.float64)
        net[0].bias[:] = torch.tensor([0.1, 0.25], dtype=torch.float64)
        net[2].weight[:] = torch.tensor([[0.3, 0.2]], dtype=torch.float64)
        net[2].bias[:] = torch.tensor([0.4], dtype=torch.float64)
    optimizer = torch.optim.SGD(net.parameters(), lr=ETA)
    prediction = net(torch.tensor([[X1, X2]], dtype=torch.float64))
    (0.5 * (torch.tensor([[Y]], dtype=torch.float64) - prediction) ** 2).sum().backward()
    optimizer.step()
    for (name, ours), theirs in zip(model.named_parameters(), net.parameters()):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=0, atol=1e-14, err_msg=name)


# --------------------------------------------------------------------------- seed 000
@pytest.mark.parametrize("draw", range(8))
def test_tanh_chain_gradients_equal_the_chain_rule(draw):
    rng = np.random.default_rng(draw)
    w1, b1, w2, b2, x, y = (float(v) for v in rng.uniform(-2, 2, 6))
    chain = nn.Sequential(nn.Linear(1, 1, dtype=F64), nn.Tanh(), nn.Linear(1, 1, dtype=F64), nn.Tanh())
    chain.load_state_dict({"0.weight": [[w1]], "0.bias": [b1], "2.weight": [[w2]], "2.bias": [b2]})
    loss = nn.HalfSquaredErrorLoss()(chain(chainrule.tensor([[x]], dtype=F64)), chainrule.tensor([[y]], dtype=F64))
    loss.backward()

    h1 = math.tanh(w1 * x + b1)
    h2 = math.tanh(w2 * h1 + b2)
    assert loss.item() == pytest.approx(0.5 * (y - h2) ** 2, abs=1e-12)
    dl_dz2 = -(y - h2) * (1 - h2**2)
    expected = {
        "w2": -(y - h2) * (1 - h2**2) * h1,  # the text's ∂L/∂w2 = [−(y − h2)][1 − h2²][h1]
        "b2": dl_dz2,
        "w1": dl_dz2 * w2 * (1 - h1**2) * x,
        "b1": dl_dz2 * w2 * (1 - h1**2),
    }
    got = {"w1": chain[0].weight.grad, "b1": chain[0].bias.grad, "w2": chain[2].weight.grad, "b2": chain[2].bias.grad}
    for name, value in got.items():
        assert value.item() == pytest.approx(expected[name], abs=1e-12), name


def test_tanh_chain_on_plain_scalar_tensors():
    w1, b1, w2, b2 = (chainrule.tensor(v, dtype=F64, requires_grad=True) for v in (0.5, 0.1, -0.3, 0.2))
    x, y = 0.8, 0.5
    h2 = (w2 * (w1 * x + b1).tanh() + b2).tanh()
    (0.5 * (y - h2) ** 2).backward()
    h1 = math.tanh(0.5 * x + 0.1)
    h2 = math.tanh(-0.3 * h1 + 0.2)
    assert w2.grad.item() == pytest.approx(-(y - h2) * (1 - h2**2) * h1, abs=1e-12)
    assert w1.grad.item() == pytest.approx(-(y - h2) * (1 - h2**2) * -0.3 * (1 - h1**2) * x, abs=1e-12)


# --------------------------------------------------------------------------- seed 002
def _sse_model_and_data(n: int):
    chainrule.manual_seed(20)
    model = nn.Sequential(nn.Linear(4, 5, dtype=F64), nn.Tanh(), nn.Linear(5, 3, dtype=F64), nn.Sigmoid())
    x = chainrule.randn(n, 4, dtype=F64)
    y = chainrule.rand(n, 3, dtype=F64)
    return model, x, y


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("n", [1, 2, 7])
def test_sum_squared_error_gradient_is_the_mean_of_per_sample_gradients(n):
    model, x, y = _sse_model_and_data(n)
    loss_fn = nn.SumSquaredErrorLoss()
    batch = _grads(model, loss_fn(model(x), y))
    summed = _grads(model, nn.SumSquaredErrorLoss(reduction="sum")(model(x), y))
    per_sample = [_grads(model, loss_fn(model(x[i : i + 1]), y[i : i + 1])) for i in range(n)]
    for name, grad in batch.items():
        total = sum(sample[name] for sample in per_sample)
        np.testing.assert_allclose(grad, total / n, rtol=0, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(summed[name], total, rtol=0, atol=1e-12, err_msg=name)


def test_sum_squared_error_value_and_the_texts_formula_for_one_weight():
    n = 5
    model, x, y = _sse_model_and_data(n)
    loss = nn.SumSquaredErrorLoss()(model(x), y)
    grads = _grads(model, loss)
    # plain floats: a_k^(L−1), a_j^(L) for each sample, then C_0 and the three-term chain rule
    w1, b1 = model[0].weight.data.tolist(), model[0].bias.data.tolist()
    w2, b2 = model[2].weight.data.tolist(), model[2].bias.data.tolist()
    costs, terms = [], {(j, k): [] for j in range(3) for k in range(5)}
    for xi, yi in zip(x.data.tolist(), y.data.tolist()):
        hidden = [math.tanh(sum(w * v for w, v in zip(row, xi)) + b) for row, b in zip(w1, b1)]
        out = [sigmoid(sum(w * v for w, v in zip(row, hidden)) + b) for row, b in zip(w2, b2)]
        costs.append(sum((a - t) ** 2 for a, t in zip(out, yi)))
        for j, k in terms:
            terms[j, k].append(2 * (out[j] - yi[j]) * out[j] * (1 - out[j]) * hidden[k])
    assert loss.item() == pytest.approx(sum(costs) / n, abs=1e-12)
    for (j, k), values in terms.items():
        assert grads["2.weight"][j, k] == pytest.approx(sum(values) / n, abs=1e-12)


# --------------------------------------------------------------------------- seed 003
def test_gradient_descent_on_x_plus_2_squared_by_hand():
    eta = 0.1
    x = chainrule.tensor(0.0, dtype=F64, requires_grad=True)
    steps = 0
    while abs(x.item() + 2) >= 1e-6:
        x.grad = None
        ((x + 2) ** 2).backward()
        x.data -= eta * x.grad
        steps += 1
        assert x.item() + 2 == pytest.approx(2 * (1 - 2 * eta) ** steps, abs=1e-12)
        assert steps < 1000
    assert steps == 66 == math.ceil(math.log(1e-6 / 2) / math.log(1 - 2 * eta))
    assert abs(x.item() + 2) < 1e-6


def test_gradient_descent_on_x_plus_2_squared_with_sgd():
    x = chainrule.tensor(0.0, dtype=F64, requires_grad=True)
    optimizer = optim.SGD([x], lr=0.1)
    for _ in range(66):
        optimizer.zero_grad()
        ((x + 2) ** 2).backward()
        optimizer.step()
    assert abs(x.item() + 2) < 1e-6
    assert x.item() + 2 == pytest.approx(2 * 0.8**66, abs=1e-12)


@pytest.mark.parametrize(("x", "slope"), [(0.0, 4.0), (-4.0, -4.0), (-2.0, 0.0)])
def test_slope_of_x_plus_2_squared(x, slope):
    t = chainrule.tensor(x, dtype=F64, requires_grad=True)
    ((t + 2) ** 2).backward()
    assert t.grad.item() == slope


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    values = [-30.0, -8.0, -2.5, -1.0, -0.1, 0.0, 0.3, 1.0, 4.0, 30.0]
    z = chainrule.tensor(values, dtype=F64, requires_grad=True)
    s = z.sigmoid()
    s.sum().backward()
    for zi, si, gi in zip(values, s.data, z.grad):
        assert si == pytest.approx(sigmoid(zi), rel=1e-14)
        assert gi == pytest.approx(math.exp(-zi) / (1 + math.exp(-zi)) ** 2, rel=1e-12)
        assert gi == pytest.approx(si * (1 - si), rel=1e-12)
        h = 1e-6
        assert gi == pytest.approx((sigmoid(zi + h) - sigmoid(zi - h)) / (2 * h), rel=1e-6, abs=1e-12)
    # its largest value is 1/4, at z = 0 (the text's line 50 says "between 0 and 0.5")
    assert z.grad.max() == 0.25 == z.grad[values.index(0.0)]


def test_sigmoid_network_without_biases_matches_the_delta_rule():
    chainrule.manual_seed(3)
    sizes = (3, 5, 4, 1)
    model = sigmoid_network(sizes, bias=False)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "2.weight", "4.weight"]
    assert all(layer.bias is None for layer in model[::2])
    x = np.random.default_rng(4).standard_normal((6, 3))
    y = np.random.default_rng(5).random((6, 1))
    nn.HalfSquaredErrorLoss(reduction="sum")(model(chainrule.tensor(x)), chainrule.tensor(y)).backward()

    weights = [model[i].weight.data.T for i in (0, 2, 4)]  # W_l of Z_l = A_{l−1} W_l
    activations = [x]
    for w in weights:
        activations.append(1 / (1 + np.exp(-(activations[-1] @ w))))
    delta = (activations[3] - y) * activations[3] * (1 - activations[3])
    expected = [None, None, None]
    for layer in (2, 1, 0):
        expected[layer] = activations[layer].T @ delta
        delta = (delta @ weights[layer].T) * activations[layer] * (1 - activations[layer])
    for layer, index in enumerate((0, 2, 4)):
        np.testing.assert_allclose(model[index].weight.grad.T, expected[layer], rtol=0, atol=1e-13)


def test_make_teacher_student_shapes_dtypes_and_reproducibility():
    x, y = make_teacher_student(500, teacher_sizes=(3, 5, 1), activation="sigmoid", seed=7)
    assert x.shape == (500, 3) and y.shape == (500, 1)
    assert x.dtype == y.dtype == np.float64
    x2, y2 = make_teacher_student(500, teacher_sizes=(3, 5, 1), seed=7)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(y, make_teacher_student(500, seed=8)[1])
    assert ((y > 0) & (y < 1)).all()  # sigmoid output
    x32, y32 = make_teacher_student(10, teacher_sizes=(4, 6, 3, 2), activation="tanh", seed=1, dtype=chainrule.float32)
    assert x32.shape == (10, 4) and y32.shape == (10, 2) and x32.dtype == y32.dtype == np.float32


def test_make_teacher_student_targets_are_the_teachers_outputs():
    teacher = make_teacher((3, 5, 1), "sigmoid", seed=11)
    assert [name for name, _ in teacher.named_parameters()] == ["0.weight", "2.weight"]
    x, y = make_teacher_student(300, seed=11)
    w1, w2 = teacher[0].weight.data, teacher[2].weight.data
    expected = 1 / (1 + np.exp(-(1 / (1 + np.exp(-(x @ w1.T))) @ w2.T)))
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-14)
    _, noisy = make_teacher_student(4000, seed=11, noise=0.05)
    x_clean, clean = make_teacher_student(4000, seed=11)
    np.testing.assert_array_equal(make_teacher_student(4000, seed=11, noise=0.05)[0], x_clean)
    assert np.std(noisy - clean) == pytest.approx(0.05, rel=0.05)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"n_samples": 10, "teacher_sizes": (3,)}, "at least two positive layer widths"),
        ({"n_samples": 10, "teacher_sizes": (3, 0, 1)}, "at least two positive layer widths"),
        ({"n_samples": 10, "activation": "mish"}, "unknown activation 'mish'"),
        ({"n_samples": 10, "noise": -0.1}, "noise is a standard deviation"),
    ],
)
def test_make_teacher_student_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_teacher_student(**kwargs)


def test_student_of_another_shape_learns_the_teacher():
    x, y = make_teacher_student(3000, teacher_sizes=(3, 5, 1), activation="sigmoid", seed=0)
    x_train, y_train, x_test, y_test = x[:2000], y[:2000], x[2000:], y[2000:]
    variance = y_test.var()
    # the teacher is far from linear: the best straight line leaves more than 1 % of the variance
    design = np.c_[x_train, np.ones(len(x_train))]
    coefficients = np.linalg.lstsq(design, y_train, rcond=None)[0]
    line = np.c_[x_test, np.ones(len(x_test))] @ coefficients
    assert ((line - y_test) ** 2).mean() > 0.03 * variance

    chainrule.manual_seed(0)
    sizes = (3, 8, 4, 1)
    student = sigmoid_network(sizes, bias=True)

    def test_mse() -> float:
        with chainrule.no_grad():
            return float(((student(chainrule.tensor(x_test)).data - y_test) ** 2).mean())

    assert test_mse() > 0.1 * variance  # untrained
    loss_fn = nn.MSELoss()
    optimizer = optim.Adam(student.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for _ in range(100):
        order = rng.permutation(len(x_train))
        for start in range(0, len(x_train), 32):
            rows = order[start : start + 32]
            optimizer.zero_grad()
            loss_fn(student(chainrule.tensor(x_train[rows])), chainrule.tensor(y_train[rows])).backward()
            optimizer.step()
    assert test_mse() < 0.01 * variance


# --------------------------------------------------------------------------- the example scripts
def run_example(name: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_example_001_prints_the_key_figures_and_the_texts_slips():
    out = run_example("seed_001_house_price.py")
    assert "Loss: 0.68456 before the step, 0.35064 after" in out
    assert "h1 = σ(z1) = (0.48426, 0.42409)" in out
    assert re.search(r"∂L/∂b\^1_2 += \+0\.05716 .*wrong sign", out)
    for figure in ("0.20561", "0.16157", "0.50366", "0.60754", "0.08247", "0.23857", "0.18668", "0.10075", "0.16598"):
        assert figure in out
    for line in (148, 210, 212, 220):
        assert f"line {line}:" in out


def test_example_000_prints_equal_gradients():
    out = run_example("seed_000_tanh_chain.py")
    rows = re.findall(r"∂L/∂(\w+) = ([+-]\d\.\d+)  ([+-]\d\.\d+)", out)
    assert [name for name, _, _ in rows] == ["w2", "b2", "w1", "b1"]
    assert all(autograd == by_hand for _, autograd, by_hand in rows)


def test_example_002_prints_equal_means():
    out = run_example("seed_002_average_gradient.py")
    mean = re.search(r"\(1/n\)Σ_i ∂C_i/∂w += ([+-]\d\.\d+)", out).group(1)
    batch = re.search(r"autograd on the batch, ∂C/∂w += ([+-]\d\.\d+)", out).group(1)
    assert mean == batch
    assert all(float(d) < 1e-12 for d in re.findall(r"largest difference (\S+)", out))


def test_example_003_gradient_descent_prints_the_step_count():
    out = run_example("seed_003_gradient_descent.py")
    assert "after 66 steps (2(1 − 2η)^t predicts 66)" in out
    assert "['0.weight', '2.weight', '4.weight']" in out
    assert all(float(d) < 1e-12 for d in re.findall(r"largest \|autograd − δ rule\| = (\S+)", out))


def test_example_003_teacher_student_gets_under_one_percent():
    out = run_example("seed_003_teacher_student.py")
    share = float(re.search(r"Student: test MSE = \S+ = ([\d.]+)% of the targets' variance", out).group(1))
    assert share < 1.0
