"""In-place arithmetic on tensors: manual updates under no_grad, refused while recording."""

import numpy as np
import pytest

import chainrule


def test_manual_gradient_descent_updates_the_same_leaf():
    x = chainrule.tensor(0.0, dtype="float64", requires_grad=True)
    for _ in range(3):
        ((x + 2) ** 2).backward()
        with chainrule.no_grad():
            x -= 0.1 * x.grad
        x.grad = None
    # x + 2 = 2 (1 − 2η)^t with η = 0.1
    assert x.requires_grad and x.is_leaf
    assert x.item() == pytest.approx(-2 + 2 * 0.8**3, abs=1e-15)


@pytest.mark.parametrize(
    ("operation", "expected"),
    [("__iadd__", [3.0, 4.0]), ("__isub__", [-1.0, 0.0]), ("__imul__", [2.0, 4.0]), ("__itruediv__", [0.5, 1.0])],
)
def test_in_place_operators_change_data_without_copying(operation, expected):
    t = chainrule.tensor([1.0, 2.0])
    data = t.data
    result = getattr(t, operation)(chainrule.tensor(2.0))
    assert result is t and t.data is data
    np.testing.assert_array_equal(t.data, np.array(expected, dtype=np.float32))
    assert t.dtype == np.float32


def test_in_place_on_a_tensor_that_requires_grad_while_recording_is_refused():
    w = chainrule.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 1.0
    np.testing.assert_array_equal(w.data, [1.0])
