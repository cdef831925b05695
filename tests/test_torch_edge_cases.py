"""Results that once went silently wrong, against PyTorch 2.13.0 in float64: ``transpose`` and
``permute``, the gradients of ``a ** b`` where a or b is 0, and optimizers of 0-d parameters
through a ``state_dict`` round trip or a checkpoint file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import assert_close

import chainrule as cr
from chainrule import io, nn, optim

SHAPE = (2, 3, 4)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda t: t.transpose(0, 1), lambda t: t.transpose(0, 1)),
        (lambda t: t.transpose(1, 0), lambda t: t.transpose(1, 0)),
        (lambda t: t.transpose(0, 2), lambda t: t.transpose(0, 2)),
        (lambda t: t.transpose(-1, 1), lambda t: t.transpose(-1, 1)),
        (lambda t: t.transpose(1, 1), lambda t: t.transpose(1, 1)),
        (lambda t: t.permute(2, 0, 1), lambda t: t.permute(2, 0, 1)),
        (lambda t: t.permute((1, 2, 0)), lambda t: t.permute((1, 2, 0))),
        (lambda t: t.permute(-1, 0, -2), lambda t: t.permute(-1, 0, -2)),
        (lambda t: t.transpose((2, 0, 1)), lambda t: t.permute(2, 0, 1)),  # NumPy's spelling of permute
        (lambda t: t.T, lambda t: t.permute(2, 1, 0)),
        (lambda t: t.transpose(), lambda t: t.permute(2, 1, 0)),
        (lambda t: t[0].transpose(0, 1), lambda t: t[0].transpose(0, 1)),
        (lambda t: t[0].T, lambda t: t[0].T),
        (lambda t: t[0, 0].transpose(0, -1), lambda t: t[0, 0].transpose(0, -1)),
    ],
)
def test_transpose_and_permute_equal_pytorch_values_and_gradients(ours, theirs):
    data = np.random.default_rng(0).standard_normal(SHAPE)
    x = cr.tensor(data, requires_grad=True)
    reference = torch.tensor(data, requires_grad=True)
    out, expected = ours(x), theirs(reference)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * cr.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_array_equal(x.grad, reference.grad.numpy())


def test_the_issue_case_a_2_by_3_matrix_becomes_3_by_2():
    assert cr.tensor(np.zeros((2, 3))).transpose(0, 1).shape == (3, 2)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: t.transpose(0, 3), IndexError, "axis 3 is out of range for a tensor with 3 axes"),
        (lambda t: t.transpose(0, 1, 2), TypeError, "use permute"),
        (lambda t: t.permute(0, 1), ValueError, r"\(0, 1\) is not a permutation of the 3 axes"),
        (lambda t: t.permute(0, 0, 1), ValueError, "name each axis 0 … 2 once"),
        (lambda t: t.permute(0, 1, 3), IndexError, "axis 3 is out of range"),
    ],
)
def test_bad_axes_are_errors_not_silent_wraparounds(call, error, message):
    with pytest.raises(error, match=message):
        call(cr.tensor(np.zeros(SHAPE)))


BASES = [0.0, -0.0, 0.5, 2.0, -1.0, -2.0, -0.5]
EXPONENTS = [0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 1.5]


def _pow_gradients(library, base, exponent, grad_base, grad_exponent):
    """∂(Σ w·aᵇ)/∂a and ∂/∂b from ``library`` (chainrule or torch) for broadcast a (column) and b (row)."""
    tensor = cr.tensor if library is cr else torch.tensor
    kwargs = {"dtype": "float64"} if library is cr else {"dtype": torch.float64}
    a = tensor(np.array(base)[:, None], requires_grad=grad_base, **kwargs)
    b = tensor(np.array(exponent)[None, :], requires_grad=grad_exponent, **kwargs)
    out = a**b
    weights = np.arange(out.data.size if library is cr else out.numel()).reshape(tuple(out.shape)) % 3 + 1.0
    (out * tensor(weights, **kwargs)).sum().backward()
    grads = [g.grad for g, wanted in ((a, grad_base), (b, grad_exponent)) if wanted]
    values = out.data if library is cr else out.detach().numpy()
    return values, [np.asarray(g) for g in grads]


@pytest.mark.parametrize(("grad_base", "grad_exponent"), [(True, False), (False, True), (True, True)])
def test_pow_gradients_at_zero_and_negative_bases_equal_pytorch(grad_base, grad_exponent):
    """Over every (base, exponent) pair of the grid at once, with broadcasting: NaN, ±inf and the
    masked zeros where PyTorch's rules apply (b = 0 for ∂/∂a; a = 0, b ≥ 0 for ∂/∂b)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        values, ours = _pow_gradients(cr, BASES, EXPONENTS, grad_base, grad_exponent)
    expected_values, theirs = _pow_gradients(torch, BASES, EXPONENTS, grad_base, grad_exponent)
    np.testing.assert_array_equal(values, expected_values)
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference, rtol=1e-15, atol=0, equal_nan=True)


@pytest.mark.parametrize("exponent_first", [True, False])
def test_the_issue_cases_x_to_the_0_and_0_to_the_y_have_zero_gradients(exponent_first):
    x = cr.tensor([0.0, 0.0], dtype="float64", requires_grad=True)
    if exponent_first:
        (x**0).sum().backward()
    else:
        (cr.tensor(0.0, dtype="float64") ** x).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_pow_by_a_constant_takes_no_logarithm_of_the_base():
    x = cr.tensor([-1.0, 0.0, 2.0], dtype="float64", requires_grad=True)
    with np.errstate(all="raise"):  # ln(−1) and ln(0) would raise here
        (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad, [-2.0, 0.0, 4.0])


OPTIMIZERS = {
    "Adam": {"lr": 0.1},
    "Adam amsgrad": {"lr": 0.1, "amsgrad": True, "weight_decay": 0.1},
    "AdamW": {"lr": 0.1},
    "SGD momentum": {"lr": 0.05, "momentum": 0.9},
    "SGD nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01},
}


def _optimizer(library, config, parameters):
    name = config.split()[0]
    return getattr(optim if library is cr else torch.optim, name)(parameters, **OPTIMIZERS[config])


class ZeroD(nn.Module):
    """A module of 0-d parameters only (a learned temperature, say), saved as a user class."""

    def __init__(self, starts: list) -> None:
        super().__init__()
        self.starts = list(starts)
        for i, start in enumerate(self.starts):
            setattr(self, f"p{i}", nn.Parameter(np.array(start, dtype=np.float64)))

    def get_config(self) -> dict:
        return {"starts": self.starts}


@pytest.mark.parametrize("config", OPTIMIZERS)
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("through", ["state_dict", "checkpoint"])
def test_zero_d_parameters_resume_as_pytorch(tmp_path, config, packed, through):
    """3 steps, the state saved (``state_dict``, or a checkpoint file written and read), a new
    optimizer restored from it, 3 more steps: chainrule's trajectory equals PyTorch's (the issue
    had SGD at 0.665 against 0.548), and the restored state holds arrays of the parameter's
    shape, not Python floats.  ``packed``: two 0-d parameters in one group (SGD and Adam lay
    those out in one flat array)."""
    starts = [0.7, -1.3] if packed else [0.7]
    model = ZeroD(starts)
    ours = list(model.parameters())
    theirs = [torch.tensor(s, dtype=torch.float64, requires_grad=True) for s in starts]

    def loss(parameters):
        return sum(3 * (p - 0.2) ** 2 + p**3 / 10 for p in parameters)

    optimizers = [_optimizer(cr, config, ours), _optimizer(torch, config, theirs)]
    trajectory = {cr: [], torch: []}
    for phase in range(2):
        if phase:
            saved = [o.state_dict() for o in optimizers]
            if through == "checkpoint":
                path = io.save(tmp_path / "zero_d.safetensors", model, optimizer=optimizers[0])
                checkpoint = io.load(path, allowed_classes=[ZeroD])
                model, ours = checkpoint.model, list(checkpoint.model.parameters())
                saved[0] = checkpoint.optimizer_state
            optimizers = [_optimizer(cr, config, ours), _optimizer(torch, config, theirs)]
            for optimizer, state in zip(optimizers, saved):
                optimizer.load_state_dict(state)
            for entries in optimizers[0].state.values():
                arrays = {k: v for k, v in entries.items() if k != "step"}
                assert arrays and all(isinstance(v, np.ndarray) and v.shape == () for v in arrays.values())
        for _ in range(3):
            for library, optimizer, parameters in zip((cr, torch), optimizers, (ours, theirs)):
                optimizer.zero_grad()
                loss(parameters).backward()
                optimizer.step()
                trajectory[library].append([float(p.item()) for p in parameters])
    assert_close(trajectory[cr], trajectory[torch], 1e-12, "PyTorch", f"{config} with 0-d parameters")


def test_the_issue_case_adam_on_a_0_d_parameter_steps_after_a_round_trip():
    p = cr.tensor(np.float32(1.0), requires_grad=True)
    optimizer = optim.Adam([p], lr=0.1)
    (p * p).backward()
    optimizer.step()
    optimizer.load_state_dict(optimizer.state_dict())
    (p * p).backward()
    optimizer.step()
    assert isinstance(optimizer.state[p]["exp_avg"], np.ndarray) and optimizer.state[p]["step"] == 2


def test_a_state_of_the_wrong_shape_is_refused():
    p = cr.tensor(np.zeros(()), requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    state = {"state": {0: {"momentum_buffer": np.zeros(3)}}, "param_groups": optimizer.state_dict()["param_groups"]}
    with pytest.raises(ValueError, match=r"'momentum_buffer' has shape \(3,\) but its parameter has shape \(\)"):
        optimizer.load_state_dict(state)
