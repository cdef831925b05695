"""Bad input raises a clear error that names the problem and the fix."""

from __future__ import annotations

import re
import warnings

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


# Values that leave the floating-point range: a clear ValueError, never a NumPy RuntimeWarning.


@pytest.fixture
def no_warnings():
    """Any warning (NumPy's RuntimeWarning included) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"eps": 0.0}, "eps must be a positive finite number"),
        ({"eps": float("nan")}, "eps must be"),
        ({"eps": -1e-6}, "eps must be"),
        ({"atol": -1.0}, "atol must be a finite number ≥ 0"),
        ({"rtol": float("inf")}, "rtol must be"),
        ({"max_entries": 0}, "max_entries must be a whole number ≥ 1, or None"),
    ],
)
def test_gradcheck_options_out_of_range(options, fragment, no_warnings) -> None:
    model = nn.Sequential(nn.Linear(2, 1, dtype="float64"))
    with raises(ValueError, fragment):
        cr.gradcheck(model, nn.MSELoss(), [[1.0, 2.0]], [[1.0]], **options)


def test_gradcheck_at_a_non_finite_loss_says_there_is_nothing_to_check(no_warnings) -> None:
    model = nn.Sequential(nn.Linear(2, 1, dtype="float64"))
    with raises(ValueError, "the loss is not finite", "nearer the data's scale"):
        cr.gradcheck(model, nn.MSELoss(), [[1e300, 1e300]], [[0.0]])
    with raises(ValueError, "the function's output is not finite"):
        cr.gradcheck(lambda t: t * 1e300, cr.tensor([1e300], dtype="float64"))


def test_explain_refuses_values_out_of_range(no_warnings) -> None:
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1))  # float32
    with raises(ValueError, "inputs hold a value that is not a finite float32 number", "3.4e+38"):
        cr.explain(model, nn.MSELoss(), [1e300, 1.0], [0.0])
    with raises(ValueError, "leaves the range of float32", "nearer the data's scale"):
        cr.explain(model, nn.MSELoss(), [1.0, 1.0], [3e38])
    with raises(ValueError, "one step with lr=1e+300", "take a smaller lr"):
        cr.explain(model.double(), nn.MSELoss(), [1.0, 1.0], [2.0], lr=1e300)


def test_descent_plots_refuse_a_diverging_or_meaningless_descent(tmp_path, no_warnings) -> None:
    from chainrule import plots

    for lr in (0, -0.1, float("nan"), float("inf")):
        with raises(ValueError, "learning rate must be a positive finite number"):
            plots.descent_path(plots.seed_003_function, 0.0, lr, 3)
    with raises(ValueError, "steps must be a whole number ≥ 0"):
        plots.descent_path(plots.seed_003_function, 0.0, 0.1, -5)
    # x₁ = 0 − 1e200 · f′(0) = −4e200; x₂ = x₁ − 1e200 · 2(x₁ + 2) overflows, so the path stops at x₁
    assert [float(p) for p in plots.descent_path(plots.seed_003_function, 0.0, 1e200, 5)] == [0.0, -4e200]
    with raises(ValueError, "lr=1e+10 diverges: by step 15 of 20", "smaller lr"):
        plots.plot_descent_1d(tmp_path / "d.png", lr=1e10)
    with raises(ValueError, "overflows float64 at the start 1e+300", "nearer the minimum"):
        plots.plot_descent_1d(tmp_path / "d.png", x0=1e300)
    with raises(ValueError, "diverges"):
        plots.plot_descent_2d(tmp_path / "d.png", lr=1e10, resolution=10)
    assert list(tmp_path.iterdir()) == []


def test_a_plot_into_a_missing_folder_creates_nothing(tmp_path) -> None:
    from chainrule import plots

    with raises(FileNotFoundError, "the folder", "does not exist; create it first"):
        plots.plot_descent_1d(tmp_path / "missing" / "d.png", steps=2)
    assert not (tmp_path / "missing").exists()


def test_preprocessing_names_a_value_too_large_for_float32(no_warnings) -> None:
    from chainrule.data import Preprocessor, from_arrays
    from chainrule.data.table import DataError

    train = from_arrays(np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 5.0]]), feature_names=["a", "b"])
    preprocessor = Preprocessor().fit(train)
    new = from_arrays(np.array([[1.0, 2.0], [2.0, 1e300]]), feature_names=["a", "b"])
    with raises(DataError, "column 'b' row 2", "1e+300 is too large for the model", "±3.4e38"):
        preprocessor.transform(new)
