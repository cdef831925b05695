"""Property-based tests (hypothesis): broadcasting, reductions and indexing against NumPy.

For any shapes that broadcast, an operand's gradient has the operand's shape and equals the
broadcast gradient summed over the stretched axes; reductions and indexing agree with NumPy in
value and gradient, and with finite differences.
"""

from __future__ import annotations

import numpy as np
from conftest import check_gradients
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr

SETTINGS = settings(max_examples=40, deadline=None)
values = st.floats(-3, 3, allow_nan=False, width=64)
spaced_values = st.integers(-300, 300).map(lambda k: k / 100)


def sum_back(gradient: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape`` (written independently of chainrule's)."""
    while gradient.ndim > len(shape):
        gradient = gradient.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and gradient.shape[axis] != 1:
            gradient = gradient.sum(axis=axis, keepdims=True)
    return gradient


BINARY = {
    "add": (np.add, lambda a, b, g: (g, g)),
    "sub": (np.subtract, lambda a, b, g: (g, -g)),
    "mul": (np.multiply, lambda a, b, g: (g * b, g * a)),
    "div": (np.divide, lambda a, b, g: (g / b, -g * a / b**2)),
}


@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(sorted(BINARY)),
    seed=st.integers(0, 2**16),
)
def test_broadcast_gradients_have_operand_shapes_and_sum_the_broadcast_gradient(shapes, op, seed) -> None:
    rng = np.random.default_rng(seed)
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a_data, b_data = rng.standard_normal(shape_a), rng.uniform(0.5, 2, shape_b) * rng.choice([-1, 1], shape_b)
    upstream = rng.standard_normal(out_shape)
    a, b = cr.tensor(a_data, requires_grad=True), cr.tensor(b_data, requires_grad=True)
    forward, rule = BINARY[op]
    out = {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b}[op]
    np.testing.assert_allclose(out.numpy(), forward(a_data, b_data), rtol=1e-15, atol=1e-15)
    out.backward(upstream)
    grad_a, grad_b = rule(*np.broadcast_arrays(a_data, b_data), upstream)
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    np.testing.assert_allclose(a.grad, sum_back(grad_a, shape_a), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.grad, sum_back(grad_b, shape_b), rtol=1e-12, atol=1e-12)


@st.composite
def array_and_axes(draw):
    """A float64 array and a reduction axis spec: None, an int or a tuple.

    Values are distinct multiples of 0.01, so max and min have no ties, nor near-ties that a finite
    difference step would cross.
    """
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=4))
    array = draw(hnp.arrays(np.float64, shape, elements=spaced_values, unique=True))
    ndim = len(shape)
    axis = draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple),
        )
    )
    return array, axis


@SETTINGS
@given(data=array_and_axes(), name=st.sampled_from(["sum", "mean", "max", "min"]), keepdims=st.booleans())
def test_reductions_match_numpy_in_value_and_gradient(data, name, keepdims) -> None:
    array, axis = data
    x = cr.tensor(array, requires_grad=True)
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    expected = getattr(np, {"max": "amax", "min": "amin"}.get(name, name))(array, axis=axis, keepdims=keepdims)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-13, atol=1e-12)
    out.backward(np.ones(out.shape))
    full = np.broadcast_to(
        getattr(np, name if name in ("sum", "mean") else "a" + name)(array, axis=axis, keepdims=True), array.shape
    )
    if name == "sum":
        grad = np.ones_like(array)
    elif name == "mean":
        grad = np.full_like(array, expected.size / array.size)
    else:
        grad = (array == full).astype(float)
    np.testing.assert_allclose(x.grad, grad, rtol=1e-14)
    # keepdim/dim (PyTorch's spelling) gives the same
    np.testing.assert_array_equal(getattr(x, name)(dim=axis, keepdim=keepdims).numpy(), out.numpy())


@SETTINGS
@given(data=array_and_axes(), name=st.sampled_from(["sum", "mean", "max", "min"]))
def test_reduction_gradients_match_finite_differences(data, name) -> None:
    array, axis = data
    check_gradients(lambda x: getattr(x, name)(axis=axis), array)


@st.composite
def array_and_index(draw):
    """An array and an index: ints, slices, None, Ellipsis or an integer array (with repeats)."""
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    array = draw(hnp.arrays(np.float64, shape, elements=values))
    if draw(st.booleans()):
        index = draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True, allow_ellipsis=True))
    else:
        rows = draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=6))
        index = np.array(rows)
        if len(shape) > 1 and draw(st.booleans()):
            columns = draw(st.lists(st.integers(0, shape[1] - 1), min_size=len(rows), max_size=len(rows)))
            index = (index, np.array(columns))
    return array, index


@SETTINGS
@given(data=array_and_index(), seed=st.integers(0, 2**16))
def test_indexing_matches_numpy_and_scatters_the_gradient_back(data, seed) -> None:
    array, index = data
    x = cr.tensor(array, requires_grad=True)
    out = x[index]
    expected = array[index]
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out.numpy(), expected)
    upstream = np.random.default_rng(seed).standard_normal(expected.shape)
    out.backward(upstream)
    scattered = np.zeros_like(array)
    np.add.at(scattered, index, upstream)  # repeated places add up
    np.testing.assert_allclose(x.grad, scattered, rtol=1e-14, atol=1e-14)


@settings(max_examples=15, deadline=None)
@given(data=array_and_index())
def test_indexing_gradient_matches_finite_differences(data) -> None:
    array, index = data
    check_gradients(lambda x: x[index] * 1.0, array)
