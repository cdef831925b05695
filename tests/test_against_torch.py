"""chainrule against PyTorch 2.13.0 in float64: random MLPs, every loss, Dropout, BatchNorm1d, init.

The same weights and data go into both; losses and every gradient agree to 1e-9 relative.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from conftest import assert_close

import chainrule as cr
from chainrule import nn
from chainrule.nn import init

TOL = 1e-9
ACTIVATIONS = {
    "tanh": (nn.Tanh, torch.nn.Tanh),
    "sigmoid": (nn.Sigmoid, torch.nn.Sigmoid),
    "relu": (nn.ReLU, torch.nn.ReLU),
}


def to_torch(array, requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(np.array(array), requires_grad=requires_grad)


def twin_mlps(sizes: list[int], activation: str, seed: int) -> tuple[nn.Sequential, torch.nn.Sequential]:
    """The same MLP in chainrule and in PyTorch (float64), weights copied from chainrule's."""
    cr.manual_seed(seed)
    ours, theirs = [], []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layer = nn.Linear(n_in, n_out, dtype=cr.float64)
        twin = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        with torch.no_grad():
            twin.weight.copy_(to_torch(layer.weight.data))
            twin.bias.copy_(to_torch(layer.bias.data))
        ours.append(layer)
        theirs.append(twin)
        if i < len(sizes) - 2:
            ours.append(ACTIVATIONS[activation][0]())
            theirs.append(ACTIVATIONS[activation][1]())
    return nn.Sequential(*ours), torch.nn.Sequential(*theirs)


@pytest.mark.parametrize("seed", range(24))
def test_random_mlp_loss_and_gradients_equal_pytorch(seed: int) -> None:
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(1, 5))
    sizes = [int(n) for n in rng.integers(1, 9, depth + 1)]
    activation = ["tanh", "sigmoid", "relu"][seed % 3]
    loss_name = ["mse", "cross_entropy", "bce_with_logits"][(seed // 3) % 3]
    batch = int(rng.integers(1, 9))
    if loss_name == "cross_entropy":
        sizes[-1] = max(sizes[-1], 2)
    model, reference = twin_mlps(sizes, activation, seed)
    x = rng.standard_normal((batch, sizes[0]))
    if loss_name == "mse":
        y = rng.standard_normal((batch, sizes[-1]))
        ours_loss, torch_loss = nn.MSELoss(), torch.nn.MSELoss()
    elif loss_name == "cross_entropy":
        y = rng.integers(0, sizes[-1], batch)
        ours_loss, torch_loss = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    else:
        y = rng.uniform(0, 1, (batch, sizes[-1]))
        ours_loss, torch_loss = nn.BCEWithLogitsLoss(), torch.nn.BCEWithLogitsLoss()

    xs = cr.tensor(x, requires_grad=True)
    loss = ours_loss(model(xs), cr.tensor(y))
    loss.backward()
    xt = to_torch(x, requires_grad=True)
    expected = torch_loss(reference(xt), to_torch(y))
    expected.backward()

    context = f"sizes {sizes}, {activation}, {loss_name}"
    assert loss.dtype == cr.float64
    assert_close(loss.item(), expected.item(), TOL, "PyTorch", f"loss ({context})")
    assert_close(xs.grad, xt.grad.numpy(), TOL, "PyTorch", f"∂L/∂x ({context})")
    reference_parameters = dict(reference.named_parameters())
    assert list(reference_parameters) == [name for name, _ in model.named_parameters()]
    for name, parameter in model.named_parameters():
        assert_close(parameter.grad, reference_parameters[name].grad.numpy(), TOL, "PyTorch", f"∂L/∂{name} ({context})")


# --------------------------------------------------------------------------- losses
def regression_data(rng):
    return rng.standard_normal((6, 3)) * 2, rng.standard_normal((6, 3))


def probability_data(rng):
    return rng.uniform(0.02, 0.98, (6, 3)), rng.uniform(0, 1, (6, 3))


def class_data(rng):
    return rng.standard_normal((7, 4)), rng.integers(0, 4, 7)


def log_prob_data(rng):
    scores, labels = class_data(rng)
    return scores - np.log(np.exp(scores).sum(axis=1, keepdims=True)), labels


WEIGHT = np.array([0.3, 1.0, 2.0, 0.7])
# name → (chainrule class, torch class, keyword arguments, data, whether the target can take a gradient)
LOSSES = {
    "MSELoss": (nn.MSELoss, torch.nn.MSELoss, {}, regression_data, True),
    "L1Loss": (nn.L1Loss, torch.nn.L1Loss, {}, regression_data, True),
    "HuberLoss": (nn.HuberLoss, torch.nn.HuberLoss, {}, regression_data, True),
    "HuberLoss delta": (nn.HuberLoss, torch.nn.HuberLoss, {"delta": 0.4}, regression_data, True),
    "BCELoss": (nn.BCELoss, torch.nn.BCELoss, {}, probability_data, True),
    "BCELoss weight": (nn.BCELoss, torch.nn.BCELoss, {"weight": np.array([0.5, 1.0, 3.0])}, probability_data, True),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, torch.nn.BCEWithLogitsLoss, {}, regression_data, True),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, {}, class_data, False),
    "CrossEntropyLoss weight": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss, {"weight": WEIGHT}, class_data, False),
    "NLLLoss": (nn.NLLLoss, torch.nn.NLLLoss, {}, log_prob_data, False),
    "NLLLoss weight": (nn.NLLLoss, torch.nn.NLLLoss, {"weight": WEIGHT}, log_prob_data, False),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_equals_pytorch(name: str, reduction: str, rng) -> None:
    ours_class, torch_class, kwargs, make_data, target_grad = LOSSES[name]
    prediction, target = make_data(rng)
    torch_kwargs = {k: to_torch(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    h = cr.tensor(prediction, requires_grad=True)
    y = cr.tensor(target, requires_grad=target_grad)
    ht, yt = to_torch(prediction, requires_grad=True), to_torch(target, requires_grad=target_grad)
    loss = ours_class(reduction=reduction, **kwargs)(h, y)
    expected = torch_class(reduction=reduction, **torch_kwargs)(ht, yt)
    upstream = rng.standard_normal(expected.shape)
    (loss * cr.tensor(upstream)).sum().backward()
    (expected * to_torch(upstream)).sum().backward()
    assert_close(loss.numpy(), expected.detach().numpy(), TOL, "PyTorch", f"{name} {reduction}")
    assert_close(h.grad, ht.grad.numpy(), TOL, "PyTorch", f"{name} {reduction} ∂/∂prediction")
    if target_grad:
        assert_close(y.grad, yt.grad.numpy(), TOL, "PyTorch", f"{name} {reduction} ∂/∂target")


def test_bce_clamps_its_logarithms_like_pytorch() -> None:
    """h = 0 or 1 gives the clamped loss 100 per wrong element, and a finite gradient."""
    h, y = np.array([0.0, 1.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])
    hs, ht = cr.tensor(h, requires_grad=True), to_torch(h, requires_grad=True)
    loss, expected = nn.BCELoss(reduction="sum")(hs, cr.tensor(y)), torch.nn.BCELoss(reduction="sum")(ht, to_torch(y))
    loss.backward()
    expected.backward()
    assert loss.item() == expected.item() == 200.0
    assert_close(hs.grad, ht.grad.numpy(), TOL, "PyTorch", "BCE at 0 and 1")


def test_seed_losses_equal_their_formulas_in_pytorch(rng) -> None:
    """½ Σ_k (y − h)² and Σ_j (a − y)² per sample, averaged over samples."""
    h, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    for ours, formula in [
        (nn.HalfSquaredErrorLoss(), lambda a, b: (0.5 * ((b - a) ** 2).sum(dim=1)).mean()),
        (nn.SumSquaredErrorLoss(), lambda a, b: ((a - b) ** 2).sum(dim=1).mean()),
    ]:
        hs, ht = cr.tensor(h, requires_grad=True), to_torch(h, requires_grad=True)
        loss, expected = ours(hs, cr.tensor(y)), formula(ht, to_torch(y))
        loss.backward()
        expected.backward()
        assert_close(loss.item(), expected.item(), TOL, "PyTorch", type(ours).__name__)
        assert_close(hs.grad, ht.grad.numpy(), TOL, "PyTorch", type(ours).__name__)


# --------------------------------------------------------------------------- Dropout and BatchNorm1d
def test_dropout_in_eval_mode_is_the_identity_like_pytorch(rng) -> None:
    x = rng.standard_normal((4, 5))
    ours, theirs = nn.Dropout(0.3).eval(), torch.nn.Dropout(0.3).eval()
    xs = cr.tensor(x, requires_grad=True)
    out = ours(xs)
    out.sum().backward()
    np.testing.assert_array_equal(out.numpy(), theirs(to_torch(x)).numpy())
    np.testing.assert_array_equal(xs.grad, np.ones_like(x))


def test_dropout_in_training_zeroes_and_rescales_by_inverted_scaling() -> None:
    x = np.ones((200, 100))
    xs = cr.tensor(x, requires_grad=True)
    out = nn.Dropout(0.25, generator=0)(xs)
    values = out.numpy()
    assert set(np.unique(values)) <= {0.0, 1 / 0.75}
    assert abs((values == 0).mean() - 0.25) < 0.01  # 20,000 Bernoulli draws: sd ≈ 0.003
    out.sum().backward()
    np.testing.assert_array_equal(xs.grad, values)  # ∂out/∂x = m / (1 − p)
    again = nn.Dropout(0.25, generator=0)
    np.testing.assert_array_equal(again(xs).numpy(), values)  # same seed, same first mask
    assert (again(xs).numpy() != values).mean() > 0.3  # the next call draws a new mask (P(differ) = 0.375)


@pytest.mark.parametrize(
    ("shape", "momentum", "affine"),
    [((8, 3), 0.1, True), ((5, 4), 0.3, False), ((6, 2, 5), 0.1, True), ((7, 3), None, True)],
)
def test_batchnorm_train_and_eval_equal_pytorch(shape, momentum, affine, rng) -> None:
    features = shape[1]
    ours = nn.BatchNorm1d(features, momentum=momentum, affine=affine, dtype=cr.float64)
    theirs = torch.nn.BatchNorm1d(features, momentum=momentum, affine=affine, dtype=torch.float64)
    if affine:
        gamma, beta = rng.uniform(0.5, 1.5, features), rng.standard_normal(features)
        ours.weight.data[:], ours.bias.data[:] = gamma, beta
        with torch.no_grad():
            theirs.weight.copy_(to_torch(gamma))
            theirs.bias.copy_(to_torch(beta))
    for step in range(3):
        x = rng.standard_normal(shape) * 2 + 1
        upstream = rng.standard_normal(shape)
        xs, xt = cr.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
        out, expected = ours(xs), theirs(xt)
        (out * cr.tensor(upstream)).sum().backward()
        (expected * to_torch(upstream)).sum().backward()
        assert_close(out.numpy(), expected.detach().numpy(), TOL, "PyTorch", f"BatchNorm1d train output {step}")
        assert_close(xs.grad, xt.grad.numpy(), TOL, "PyTorch", f"BatchNorm1d ∂/∂x {step}")
        assert_close(ours.running_mean, theirs.running_mean.numpy(), TOL, "PyTorch", "running_mean")
        assert_close(ours.running_var, theirs.running_var.numpy(), TOL, "PyTorch", "running_var")
    if affine:
        assert_close(ours.weight.grad, theirs.weight.grad.numpy(), TOL, "PyTorch", "BatchNorm1d ∂/∂γ")
        assert_close(ours.bias.grad, theirs.bias.grad.numpy(), TOL, "PyTorch", "BatchNorm1d ∂/∂β")
    assert int(ours.num_batches_tracked) == int(theirs.num_batches_tracked) == 3
    ours.eval()
    theirs.eval()
    x = rng.standard_normal(shape)
    xs, xt = cr.tensor(x, requires_grad=True), to_torch(x, requires_grad=True)
    out, expected = ours(xs), theirs(xt)
    out.sum().backward()
    expected.sum().backward()
    assert_close(out.numpy(), expected.detach().numpy(), TOL, "PyTorch", "BatchNorm1d eval output")
    assert_close(xs.grad, xt.grad.numpy(), TOL, "PyTorch", "BatchNorm1d eval ∂/∂x")
    assert set(ours.state_dict()) == set(theirs.state_dict())


# --------------------------------------------------------------------------- init
@pytest.mark.parametrize(
    ("nonlinearity", "param"),
    [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", 0.2)],
)
def test_calculate_gain_equals_pytorch(nonlinearity, param) -> None:
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", [(30, 20), (8, 6, 3)])
def test_init_bounds_and_spreads_follow_pytorch_fans(shape) -> None:
    reference = torch.empty(shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(reference)
    weight = nn.Parameter(np.zeros(shape))
    xavier_bound = math.sqrt(6 / (fan_in + fan_out))
    kaiming_bound = math.sqrt(2) * math.sqrt(3 / fan_in)
    for fill, bound in [
        (lambda: init.xavier_uniform_(weight, generator=1), xavier_bound),
        (lambda: init.xavier_uniform_(weight, gain=2.0, generator=1), 2 * xavier_bound),
        (lambda: init.kaiming_uniform_(weight, nonlinearity="relu", generator=1), kaiming_bound),
        (lambda: init.kaiming_uniform_(weight, a=math.sqrt(5), generator=1), 1 / math.sqrt(fan_in)),
        (lambda: init.uniform_(weight, -0.3, 0.3, generator=1), 0.3),
    ]:
        assert fill() is weight
        values = weight.numpy()
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.8 * bound
    big = nn.Parameter(np.zeros((400, 300)))
    for fill, std in [
        (lambda: init.xavier_normal_(big, gain=0.5, generator=2), 0.5 * math.sqrt(2 / 700)),
        (lambda: init.kaiming_normal_(big, mode="fan_out", nonlinearity="tanh", generator=2), (5 / 3) / math.sqrt(400)),
        (lambda: init.normal_(big, 1.0, 0.2, generator=2), 0.2),
    ]:
        fill()
        assert big.numpy().std() == pytest.approx(std, rel=0.01)  # 120,000 draws: sd of the estimate ≈ 0.2%
    assert init.constant_(weight, 0.5).numpy().tolist() == np.full(shape, 0.5).tolist()
    assert not init.zeros_(weight).numpy().any() and (init.ones_(weight).numpy() == 1).all()


def test_init_is_reproducible_per_call_and_in_place() -> None:
    a, b = nn.Linear(5, 4), nn.Linear(5, 4)
    data = a.weight.data
    init.kaiming_normal_(a.weight, generator=3)
    init.kaiming_normal_(b.weight, generator=3)
    assert a.weight.data is data and a.weight.dtype == cr.float32
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.xavier_uniform_(a.bias)
