"""chainrule.gradcheck: passes on correct gradients, fails on a wrong backward, for models and functions."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.autograd import Function
from chainrule.cli import main
from chainrule.diagnostics import gradcheck
from chainrule.diagnostics.examples import house_price
from chainrule.tensor import apply_op


class WrongSquare(Function):
    """out = a²; the backward below forgets the factor 2 on purpose."""

    def forward(self, a):
        self.a = a
        return a * a

    def backward(self, grad):
        return (grad * self.a,)


def test_house_price_model_passes_with_tiny_errors():
    report = gradcheck(*house_price())
    assert report.passed and bool(report)
    assert [c.name for c in report.checks] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert max(c.max_abs_error for c in report.checks) < 1e-8
    assert "gradcheck passed" in str(report)


def test_float32_model_is_checked_in_float64_and_left_untouched():
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3))
    x, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 2, 1, 1, 0])
    report = gradcheck(model, nn.CrossEntropyLoss(), x, y)
    assert report.passed
    assert model[0].weight.dtype == np.float32 and model[0].weight.grad is None


def test_large_tensors_get_a_sample_of_entries():
    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 1))
    report = gradcheck(model, nn.MSELoss(), np.ones((2, 20)), np.zeros((2, 1)), max_entries=10)
    assert [c.checked for c in report.checks] == [10, 10, 10, 1]


def test_function_form_passes_for_correct_ops_and_fails_for_a_wrong_backward():
    a = chainrule.randn(3, 2)
    b = chainrule.randn(3, 2)
    assert gradcheck(lambda p, q: (p * q).sigmoid().sum(), (a, b)).passed
    assert gradcheck(lambda p: p.softmax(axis=-1), a).passed
    report = gradcheck(lambda p: apply_op(WrongSquare, (p,)), a)
    assert not report.passed
    assert "FAIL" in str(report) and "autograd" in str(report)


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match="x and the targets y"):
        gradcheck(nn.Linear(2, 1), nn.MSELoss())
    with pytest.raises(TypeError, match="Module or a function"):
        gradcheck(3, ())


def test_cli_gradcheck_example(capsys):
    assert main(["gradcheck", "--example", "house-price"]) == 0
    assert "gradcheck passed" in capsys.readouterr().out
