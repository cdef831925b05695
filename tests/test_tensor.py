"""Tensor behaviour (dtypes, data, grad, graph), numerical stability, float32 discipline, Module API."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F


# --------------------------------------------------------------------------- dtype rules
@pytest.mark.parametrize("data", [1.5, 3, [1, 2], [[0.5, 1.0]], True])
def test_python_numbers_and_lists_become_float32(data) -> None:
    assert cr.tensor(data).dtype == cr.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_float_arrays_keep_their_dtype(dtype) -> None:
    assert cr.tensor(np.zeros(3, dtype=dtype)).dtype == dtype


def test_integer_arrays_stay_integer_and_cannot_require_grad() -> None:
    labels = cr.tensor(np.array([0, 2, 1]))
    assert labels.dtype == np.int64
    with pytest.raises(TypeError, match=r"only floating-point tensors can require gradients.*float"):
        cr.tensor(np.array([1, 2]), requires_grad=True)


@pytest.mark.parametrize("dtype", ["float64", np.float64, cr.float64, np.dtype("float64")])
def test_dtype_by_string_numpy_or_chainrule(dtype) -> None:
    assert cr.tensor([1, 2], dtype=dtype).dtype == np.float64


def test_bad_dtype_is_named() -> None:
    with pytest.raises(TypeError, match=r"'floaty'.*chainrule.float32"):
        cr.tensor([1.0], dtype="floaty")


# --------------------------------------------------------------------------- data, grad, helpers
def test_data_is_assignable_and_item_assignable() -> None:
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t.data[1] = 5.0
    assert t.tolist() == [1.0, 5.0, 3.0]
    t.data = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad, [1.0, 1.0, 1.0])
    assert t.grad.shape == t.shape and t.grad.dtype == t.dtype


def test_item_numpy_detach_no_grad() -> None:
    t = cr.tensor([[2.0]], requires_grad=True)
    assert t.item() == 2.0 and isinstance(t.numpy(), np.ndarray)
    detached = t.detach()
    assert not detached.requires_grad and detached.is_leaf and np.shares_memory(detached.data, t.data)
    with cr.no_grad():
        y = t * 3
    assert not y.requires_grad and y.grad_fn is None
    assert (t * 3).requires_grad and (t * 3).grad_fn is not None


def test_gradients_accumulate_across_backward_calls() -> None:
    w = cr.tensor([1.0, -2.0], dtype="float64", requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    loss.backward()  # the graph is kept: the same gradient is added again
    np.testing.assert_array_equal(w.grad, 2 * 2 * w.data)
    w.grad = None
    (3 * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])


def test_a_tensor_used_twice_receives_the_sum_of_both_paths() -> None:
    x = cr.tensor(1.5, dtype="float64", requires_grad=True)
    y = x.tanh() * x + x.exp()
    y.backward()
    t = np.tanh(1.5)
    assert x.grad == pytest.approx((1 - t**2) * 1.5 + t + np.exp(1.5), rel=1e-14)


def test_retain_grad_keeps_the_gradient_of_an_intermediate() -> None:
    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    h = x * 2
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad, 2 * h.data)
    np.testing.assert_array_equal(x.grad, 4 * h.data)


def test_backward_with_explicit_gradient_is_a_vector_jacobian_product() -> None:
    x = cr.tensor([1.0, 2.0, 3.0], dtype="float64", requires_grad=True)
    (x * x).backward(np.array([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, -6.0])


def test_a_chain_of_100000_ops_backpropagates_without_recursion_error() -> None:
    x = cr.tensor(0.0, dtype="float64", requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert y.item() == 100_000 and x.grad == 1.0


# --------------------------------------------------------------------------- extremes
EXTREMES = np.array([[-1e4, 0.0, 1e4], [1e4, 1e4, -1e4]], dtype=np.float32)


@pytest.mark.parametrize(
    "f",
    [
        lambda z: z.sigmoid(),
        lambda z: z.tanh(),
        lambda z: z.softmax(),
        lambda z: z.log_softmax(),
        lambda z: F.cross_entropy(z, np.array([0, 2])),
        lambda z: F.binary_cross_entropy_with_logits(z, np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])),
        lambda z: F.nll_loss(z.log_softmax(), np.array([1, 2])),
    ],
    ids=["sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "bce_with_logits", "nll_log_softmax"],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_inputs_give_finite_values_and_gradients(f, dtype: str) -> None:
    z = cr.tensor(EXTREMES.astype(dtype), requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow warnings either
        out = f(z)
        out.sum().backward()
    assert np.isfinite(out.numpy()).all() and np.isfinite(z.grad).all()


def test_extreme_cross_entropy_value_is_right() -> None:
    """A logit 2e4 below the best one costs exactly 2e4."""
    loss = F.cross_entropy(cr.tensor([[-1e4, 1e4]], dtype="float64"), np.array([0]))
    assert loss.item() == 2e4


# --------------------------------------------------------------------------- float32 discipline
@pytest.mark.parametrize(
    ("loss_fn", "target"),
    [
        (nn.MSELoss(), lambda: cr.randn(6, 3, generator=2)),
        (nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 0.5])), lambda: cr.tensor(np.array([0, 1, 2, 1, 0, 2]))),
        (nn.BCEWithLogitsLoss(), lambda: cr.rand(6, 3, generator=2)),
        (nn.HuberLoss(), lambda: cr.randn(6, 3, generator=2)),
        (nn.L1Loss(), lambda: cr.randn(6, 3, generator=2)),
        (nn.HalfSquaredErrorLoss(), lambda: cr.randn(6, 3, generator=2)),
    ],
)
def test_no_silent_float64_promotion_in_float32_networks(loss_fn, target) -> None:
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.1), nn.Linear(8, 3))
    optimizer = optim.Adam(model.parameters())
    x = cr.randn(6, 4, generator=1)
    out = model(x * 2.0 + 1)  # Python numbers do not promote
    loss = loss_fn(out, target())
    assert out.dtype == loss.dtype == cr.float32
    loss.backward()
    optimizer.step()
    for name, p in model.named_parameters():
        assert p.dtype == p.grad.dtype == cr.float32, name
    assert all(b.dtype in (cr.float32, np.int64) for _, b in model.named_buffers())


# --------------------------------------------------------------------------- seeds
def test_manual_seed_reproduces_weights_and_dropout() -> None:
    def run() -> list[np.ndarray]:
        cr.manual_seed(42)
        model = nn.Sequential(nn.Linear(3, 5), nn.Dropout(0.5), nn.Linear(5, 1))
        out = model(cr.randn(4, 3))
        return [p.data.copy() for p in model.parameters()] + [out.numpy()]

    first, second = run(), run()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    cr.manual_seed(43)
    assert not np.array_equal(nn.Linear(3, 5).weight.data, first[0])


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in() -> None:
    layer = nn.Linear(100, 50)
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.weight.data).max() > 0.9 * bound
    assert np.abs(layer.bias.data).max() <= bound


# --------------------------------------------------------------------------- Module API
def make_model() -> nn.Sequential:
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1, bias=False))


def test_named_parameters_children_and_modules() -> None:
    model = make_model()
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight"]
    assert [type(c).__name__ for c in model.children()] == ["Linear", "Sigmoid", "Linear"]
    assert len(list(model.modules())) == 4
    assert [p.shape for p in model.parameters()] == [(3, 2), (3,), (1, 3)]


def test_named_parameters_match_pytorch_names() -> None:
    ours = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.BatchNorm1d(3), nn.Linear(3, 1))
    theirs = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 1))
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_train_eval_and_zero_grad() -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    assert model.training and model[1].training
    model.eval()
    assert not model.training and not model[1].training
    model.train()
    assert model[1].training
    model(cr.randn(3, 2)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_and_errors() -> None:
    model, other = make_model(), nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1, bias=False))
    other.load_state_dict({k: v.copy() for k, v in model.state_dict().items()})
    x = cr.randn(4, 2)
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())
    with pytest.raises(KeyError, match=r"missing \['2.weight'\]"):
        other.load_state_dict({"0.weight": np.zeros((3, 2)), "0.bias": np.zeros(3)})
    with pytest.raises(KeyError, match=r"unexpected \['extra'\]"):
        other.load_state_dict({**model.state_dict(), "extra": np.zeros(1)})
    with pytest.raises(ValueError, match=r"'0.weight' has shape \(2, 3\).*\(3, 2\)"):
        other.load_state_dict({**model.state_dict(), "0.weight": np.zeros((2, 3))})
    other.load_state_dict({"0.bias": np.ones(3)}, strict=False)
    np.testing.assert_array_equal(other[0].bias.data, np.ones(3))


def test_to_dtype_converts_parameters_and_buffers() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)).to(cr.float64)
    assert all(p.dtype == cr.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == cr.float64
    assert model(cr.randn(4, 2, dtype="float64")).dtype == cr.float64
    assert model.float()[0].weight.dtype == cr.float32


def test_repr_is_readable() -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Dropout(0.2), nn.BatchNorm1d(3), nn.Linear(3, 1, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Tanh()\n"
        "  (2): Dropout(p=0.2)\n"
        "  (3): BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True)\n"
        "  (4): Linear(in_features=3, out_features=1, bias=False)\n"
        ")"
    )
    assert repr(nn.HuberLoss(delta=2.0)) == "HuberLoss(reduction='mean', delta=2.0)"


def test_sequential_indexing_slicing_iteration() -> None:
    model = make_model()
    assert isinstance(model[0], nn.Linear) and model[-1] is model[2]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    assert [type(m).__name__ for m in model] == ["Linear", "Sigmoid", "Linear"]
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 2)), ("out", nn.Linear(2, 1))]))
    assert [name for name, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias", "out.weight", "out.bias"]


def test_setting_exact_weights_is_one_line() -> None:
    layer = nn.Linear(2, 2)
    layer.weight.data[:] = [[0.2, 0.15], [0.5, 0.6]]
    np.testing.assert_array_equal(layer.weight.data, np.float32([[0.2, 0.15], [0.5, 0.6]]))
    assert layer.weight.dtype == cr.float32
