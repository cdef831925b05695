"""In-place arithmetic on tensors of the graph, with PyTorch's version-counter rule, against PyTorch 2.13.0.

Each case runs the same code on ``torch`` and on ``chainrule`` (both spell ``lib.tensor``,
``lib.float64``, ``lib.no_grad``) and compares values and gradients; the error cases check that
chainrule raises where PyTorch raises, at ``backward``, with a message naming the node and the fix.
"""

from __future__ import annotations

import gc
import operator

import numpy
import pytest

import chainrule
from chainrule import nn, versions

torch = pytest.importorskip("torch")

LIBRARIES = (torch, chainrule)


def leaf(lib, values, requires_grad=True):
    return lib.tensor(values, dtype=lib.float64, requires_grad=requires_grad)


def as_array(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return numpy.asarray(value.data if isinstance(value, chainrule.Tensor) else value)


def same(case):
    """Run ``case(lib)`` on both libraries and check that every array it returns is equal."""
    expected, got = case(torch), case(chainrule)
    for want, have in zip(expected, got, strict=True):
        numpy.testing.assert_allclose(as_array(have), as_array(want), rtol=1e-13, atol=1e-13)


# ------------------------------------------------------------------ micrograd's tests, with tensors


def sanity_check(lib, shape):
    x = leaf(lib, numpy.full(shape, -4.0))
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.sum().backward()
    return y, x.grad


def more_ops(lib, shape):
    """micrograd's ``test_more_ops`` with its ``+=`` written as in-place operations on tensors."""
    a, b = leaf(lib, numpy.full(shape, -4.0)), leaf(lib, numpy.full(shape, 2.0))
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.sum().backward()
    return g, a.grad, b.grad


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_micrograd_sanity_check(shape):
    same(lambda lib: sanity_check(lib, shape))
    y, grad = sanity_check(chainrule, shape)
    assert numpy.all(as_array(y) == -20.0) and numpy.all(grad == 46.0)  # micrograd's figures


@pytest.mark.parametrize("shape", [(), (1,), (3,)])
def test_micrograd_more_ops(shape):
    same(lambda lib: more_ops(lib, shape))
    g, grad_a, grad_b = more_ops(chainrule, shape)
    numpy.testing.assert_allclose(as_array(g), 24.70408163265306, rtol=1e-14)  # micrograd's figures
    numpy.testing.assert_allclose(grad_a, 138.83381924198252, rtol=1e-14)
    numpy.testing.assert_allclose(grad_b, 645.5772594752186, rtol=1e-14)


# ------------------------------------------------------------------ what PyTorch allows


IN_PLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv}
IN_PLACE["**="] = operator.ipow


@pytest.mark.parametrize("symbol", list(IN_PLACE))
@pytest.mark.parametrize("other", ["number", "constant", "tensor"])
def test_each_operator_on_a_non_leaf(symbol, other):
    def case(lib):
        x, w = leaf(lib, [1.5, 2.0, 3.0]), leaf(lib, [0.5, 2.0, 1.25])
        value = {"number": 2.0, "constant": leaf(lib, [2.0, 3.0, 0.5], False), "tensor": w}[other]
        c = x * 1.0
        assert IN_PLACE[symbol](c, value) is c  # c ⊙= value, the same tensor
        (c * c).sum().backward()
        return c, x.grad, w.grad if other == "tensor" else 0

    same(case)


def test_the_same_tensor_on_both_sides():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x * 2
        c += c
        c.sum().backward()
        return c, x.grad

    same(case)


def test_a_leaf_without_grad_becomes_part_of_the_graph():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        z = leaf(lib, [0.0, 0.0], requires_grad=False)
        z += x * 3
        assert not z.is_leaf and z.requires_grad
        (z * z).sum().backward()
        return z, x.grad

    same(case)


def test_aliases_see_the_change():
    """PyTorch changes storage: another name, a detached copy, a view and numpy() all see it."""

    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x * 2
        alias, detached, view = c, c.detach(), c.reshape(2, 1)
        array = detached.numpy()
        c += 1
        (alias * alias).sum().backward()
        return alias, detached, view.reshape(-1), array.copy(), x.grad

    same(case)


def test_a_view_changed_in_place_and_used_alone():
    def case(lib):
        x, w = leaf(lib, [[1.0, 2.0]]), leaf(lib, [5.0, 6.0])
        c = (x * 2).reshape(-1)
        c += w
        (c * c).sum().backward()
        return c, x.grad, w.grad

    same(case)


def test_a_changed_value_that_is_not_needed_is_no_error():
    """``d * 2`` keeps d, but only 2's gradient would read it; Add keeps nothing; under no_grad a
    change to a value nobody saved is allowed."""

    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        d = x * 1
        e = d * 2 + d
        d += 1
        c = x * 2
        y = c.exp()
        with lib.no_grad():
            c += 1
        (e + y).sum().backward()
        return x.grad

    same(case)


def test_backward_twice_after_the_change():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x * 2
        d = c + 1
        c += 1
        loss = (c * d).sum()
        loss.backward(**({"retain_graph": True} if lib is torch else {}))
        loss.backward()
        return x.grad

    same(case)


def test_retain_grad_follows_the_tensor():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x * 2
        c.retain_grad()
        c += 1
        (c * c).sum().backward()
        return c.grad, x.grad

    same(case)


def test_weights_updated_by_hand_inside_no_grad():
    def case(lib):
        w = leaf(lib, [1.0, -2.0])
        for _ in range(3):
            loss = (w * w * 3).sum()
            loss.backward()
            with lib.no_grad():
                w -= 0.1 * w.grad
            w.grad = None
        return (w,)

    same(case)


def test_clone_is_a_copy_in_the_graph():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x.exp()
        copy = c.clone()
        copy += 1
        (copy * c).sum().backward()
        return copy, c, x.grad

    same(case)


def test_the_fused_network_output_changed_in_place():
    """A model ending in a Linear layer keeps no output: ``y += 1`` is fine, as in PyTorch."""
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    reference = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    reference.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    x = numpy.random.default_rng(0).standard_normal((5, 3))
    for net, lib in ((model, chainrule), (reference, torch)):
        y = net(lib.tensor(x))
        y += 1
        (y * y).sum().backward()
    numpy.testing.assert_allclose(model[0].weight.grad, reference[0].weight.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------ what PyTorch refuses


def raises_in_both(case, match):
    for lib in LIBRARIES:
        with pytest.raises(RuntimeError) as error:
            case(lib)
        if lib is chainrule:
            assert error.match(match)


def test_a_changed_output_that_is_needed_is_an_error_at_backward():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x.exp()
        c += 1  # allowed; ExpBackward needs its output
        loss = c.sum()
        assert loss.item() == pytest.approx(numpy.exp(1) + numpy.exp(2) + 2)
        loss.backward()

    raises_in_both(case, r"ExpBackward needs the value it saved as `out`.*`\+=`.*c\.clone\(\)")


def test_a_changed_input_that_is_needed_is_an_error_at_backward():
    def case(lib):
        x, w = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0])
        c = x * 1
        y = c * w  # MulBackward needs c for w's gradient
        c += 1
        y.sum().backward()

    raises_in_both(case, r"MulBackward needs the value it saved as `a` \(its input 0\)")


def test_a_changed_constant_that_is_needed_is_an_error_at_backward():
    def case(lib):
        w, x = leaf(lib, [1.0, 2.0]), leaf(lib, [3.0, 4.0], requires_grad=False)
        y = w * x
        x += 1
        y.sum().backward()

    raises_in_both(case, r"MulBackward needs the value it saved as `b`")


def test_a_change_under_no_grad_to_a_needed_value_is_an_error_at_backward():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        c = x * 2
        y = c * c
        with lib.no_grad():
            c += 1
        y.sum().backward()

    raises_in_both(case, r"MulBackward needs the value")


def test_a_leaf_that_requires_grad_cannot_change_in_place():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        x += 1

    raises_in_both(case, r"leaf that requires grad.*no_grad\(\)")


def test_a_view_of_a_leaf_that_requires_grad_cannot_change_in_place():
    def case(lib):
        x = leaf(lib, [1.0, 2.0])
        view = x[0:1]
        view += 1

    raises_in_both(case, r"view of a leaf that requires grad")


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda lib: leaf(lib, [1.0, 2.0]) * 1, r"shape \(2, 2\).*does not fit the tensor's shape \(2,\)"),
        (lambda lib: lib.tensor(numpy.array([1, 2])), r"the result is float64, which this int64 tensor cannot hold"),
    ],
)
def test_results_that_do_not_fit(make, match):
    values = {2: numpy.ones((2, 2)), 1: 1.5}

    def case(lib):
        c = make(lib)
        c += values[2] if c.dtype in (torch.float64, chainrule.float64) else values[1]

    raises_in_both(case, match)


def test_a_base_used_after_its_view_changed_is_an_error_at_backward():
    """PyTorch rewrites the base's history after an in-place change through a view; chainrule
    does not, and says so at backward instead of giving the base's old gradient."""
    x, w = leaf(chainrule, [1.0, 2.0]), leaf(chainrule, [5.0], requires_grad=True)
    c = x * 2
    view = c[0:1]
    view += w
    assert c.tolist() == [7.0, 4.0]  # the base sees the change
    with pytest.raises(RuntimeError, match=r"changed in place through another tensor sharing it"):
        (c * 3).sum().backward()


# ------------------------------------------------------------------ bookkeeping


def test_the_bookkeeping_goes_with_the_tensors():
    x = leaf(chainrule, [1.0, 2.0])
    c = x * 2
    c += x
    assert versions.active
    c.sum().backward()
    del c
    gc.collect()
    assert not versions.active


def test_a_node_records_the_clock():
    x = leaf(chainrule, [1.0])
    before = (x * 2).grad_fn.clock
    y = leaf(chainrule, [1.0], requires_grad=False)
    y += 1
    assert (x * 2).grad_fn.clock == before + 1 == versions.clock
