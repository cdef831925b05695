"""Bad input raises a clear error that names the problem and the fix."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.nn import functional as F


def raises(error: type, *fragments: str):
    """pytest.raises that checks every fragment appears (literally) in the message."""
    return pytest.raises(error, match="(?s)" + ".*".join(re.escape(f) for f in fragments))


def test_linear_with_the_wrong_input_width_names_the_layer_and_both_shapes() -> None:
    with raises(ValueError, "Linear(in_features=3, out_features=2", "(5, 4)", "(2, 3)"):
        nn.Linear(3, 2)(cr.randn(5, 4))


def test_matmul_shape_error_names_both_shapes() -> None:
    with raises(ValueError, "(2, 3)", "(4, 5)"):
        cr.randn(2, 3) @ cr.randn(4, 5)
    with raises(ValueError, "(3,)", "(4,)"):
        cr.randn(3) @ cr.randn(4)
    with raises(ValueError, "use * for scalars"):
        cr.tensor(2.0) @ cr.randn(3)


def test_backward_on_a_non_scalar_says_what_to_pass() -> None:
    y = cr.randn(3, 2, requires_grad=True) * 2
    with raises(RuntimeError, "shape (3, 2)", "loss.sum().backward()", "gradient="):
        y.backward()
    with raises(ValueError, "gradient has shape (2,)", "(3, 2)"):
        y.backward(np.ones(2))


def test_backward_without_a_graph_says_how_to_get_one() -> None:
    with raises(RuntimeError, "does not require grad", "requires_grad=True"):
        cr.randn(2).sum().backward()


@pytest.mark.parametrize("loss", [nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.BCELoss, nn.CrossEntropyLoss, nn.NLLLoss])
def test_bad_reduction_lists_the_choices(loss) -> None:
    with raises(ValueError, "reduction must be one of", "'mean'", "'sum'", "'none'", "'average'"):
        loss(reduction="average")


def test_cross_entropy_with_float_targets_says_to_convert() -> None:
    with raises(TypeError, "integer class labels", "float64", ".astype(int)"):
        F.cross_entropy(cr.randn(3, 4), np.array([0.0, 1.0, 2.0]))
    with raises(TypeError, "integer class labels"):
        F.nll_loss(cr.randn(3, 4), np.array([0.0, 1.0, 2.0]))


def test_class_labels_out_of_range_or_misshapen() -> None:
    with raises(ValueError, "labels must lie in 0..3"):
        F.cross_entropy(cr.randn(2, 4), np.array([0, 4]))
    with raises(ValueError, "(3, 4)", "(2,)"):
        F.nll_loss(cr.randn(3, 4), np.array([0, 1]))


def test_regression_losses_with_mismatched_shapes_suggest_a_reshape() -> None:
    for loss in [nn.MSELoss(), nn.L1Loss(), nn.HuberLoss(), nn.BCEWithLogitsLoss()]:
        with raises(ValueError, "(4, 1)", "(4,)", "reshape"):
            loss(cr.rand(4, 1), cr.rand(4))


def test_bce_on_values_outside_zero_one_suggests_logits() -> None:
    with raises(ValueError, "[0, 1]", "BCEWithLogitsLoss"):
        nn.BCELoss()(cr.tensor([0.5, 1.5]), cr.tensor([1.0, 0.0]))


def test_module_and_layer_argument_errors() -> None:
    with raises(ValueError, "p is a probability", "1.5"):
        nn.Dropout(1.5)
    with raises(ValueError, "delta must be positive"):
        nn.HuberLoss(delta=0)
    with raises(ValueError, "BatchNorm1d(4", "(N, 4)", "(5, 3)"):
        nn.BatchNorm1d(4)(cr.randn(5, 3))
    with raises(ValueError, "more than one value per feature", "model.eval()"):
        nn.BatchNorm1d(3)(cr.randn(1, 3))
    with raises(AttributeError, "super().__init__()"):

        class Broken(nn.Module):
            def __init__(self) -> None:
                self.layer = nn.Linear(1, 1)

        Broken()


def test_reshape_and_axis_errors_name_the_shapes() -> None:
    with raises(ValueError, "shape (2, 3) (6 elements)", "(4, 2)"):
        cr.randn(2, 3).reshape(4, 2)
    with raises(ValueError, "axis 2 is out of range", "2 axes"):
        cr.randn(2, 3).sum(axis=2)


def test_assigning_into_a_tensor_that_requires_grad_says_where_to_assign() -> None:
    w = cr.randn(3, requires_grad=True)
    with raises(RuntimeError, "tensor.data", "no_grad"):
        w[0] = 1.0
    with cr.no_grad():
        w[0] = 1.0
    assert w.data[0] == 1.0


def test_optimizer_errors() -> None:
    with raises(ValueError, "requires_grad=True"):
        optim.SGD([cr.randn(2)], lr=0.1)
    with raises(TypeError, "not a chainrule optimizer"):
        optim.lr_scheduler.StepLR(object(), step_size=1)
    p = nn.Parameter(np.ones(2))
    p.grad = np.array([np.inf, 0.0])
    with raises(RuntimeError, "total norm", "inf"):
        optim.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)


def test_init_errors() -> None:
    with raises(ValueError, "unknown nonlinearity 'swish'", "'relu'"):
        nn.init.calculate_gain("swish")
    with raises(ValueError, "mode must be 'fan_in' or 'fan_out'"):
        nn.init.kaiming_uniform_(nn.Linear(2, 2).weight, mode="fan")
