"""Random graphs of every tensor operation against PyTorch 2.13.0, values and gradients in float64.

Hypothesis draws each graph's seed and size: one to three leaves of small shapes (0 to 3 axes
of 1 to 3 entries, so broadcasting meets every case; a quarter of them with exact zeros), then
four to nine operations, each on tensors picked from all made so far (so a tensor is reused
several times and gradients add up along paths): arithmetic with broadcasting and Python
numbers, ``**`` with tensor exponents and zero bases, ``@`` in every shape NumPy allows,
``sum``/``mean``/``max``/``min`` over axes, element-wise functions, every activation module of
``chainrule.nn.registry`` (against its ``torch.nn`` namesake, with default and other options),
``softmax``/``log_softmax``, ``reshape``/``flatten``/``transpose``/``permute``/``.T``, basic and
integer-array indexing, ``cat``/``stack``/``where``.  The same graph is built with PyTorch;
every node's value and every leaf's gradient of L = Σₖ Σ Wₖ ⊙ nodeₖ (fixed random weights,
every node counted) must agree to 1e-9 relative.

Domains are kept where both libraries are smooth (``log`` of |x| + ½, divisors x² + ½), so a
mismatch is a real difference, not a NaN.  CI compares 1,000 graphs, derandomised (the same
graphs every run); ``CHAINRULE_DIFFERENTIAL_EXAMPLES=20000 pytest tests/test_differential.py``
compares more.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from conftest import relative_difference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule.nn import registry

EXAMPLES = int(os.environ.get("CHAINRULE_DIFFERENTIAL_EXAMPLES", "1000"))
TOL = 1e-9
SEEN: Counter = Counter()
"""Graphs compared, and how often each operation was drawn."""


class Twin(NamedTuple):
    """One node of the graph in both libraries."""

    ours: cr.Tensor
    theirs: torch.Tensor

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.ours.shape)


def leaf(array: np.ndarray) -> Twin:
    return Twin(cr.tensor(array.copy(), requires_grad=True), torch.tensor(array.copy(), requires_grad=True))


def constant(array) -> Twin:
    array = np.asarray(array, dtype=np.float64)
    return Twin(cr.tensor(array), torch.tensor(array))


def both(f: Callable, *twins: Twin, g: Callable | None = None) -> Twin:
    """``f`` applied to the chainrule side and ``g`` (default ``f``) to the PyTorch side."""
    return Twin(f(*(t.ours for t in twins)), (g or f)(*(t.theirs for t in twins)))


UNARY: dict[str, tuple[Callable, Callable | None]] = {
    "neg": (lambda t: -t, None),
    "exp": (lambda t: (t * 0.5).exp(), None),
    "log": (lambda t: (t.abs() + 0.5).log(), None),
    "sqrt": (lambda t: (t * t + 0.25).sqrt(), None),
    "abs": (lambda t: t.abs(), None),
    "tanh": (lambda t: t.tanh(), None),
    "sigmoid": (lambda t: t.sigmoid(), None),
    "relu": (lambda t: t.relu(), None),
    "leaky_relu": (lambda t: t.leaky_relu(0.1), lambda t: F.leaky_relu(t, 0.1)),
    "clip": (lambda t: t.clip(-0.6, 0.7), lambda t: t.clamp(-0.6, 0.7)),
    "square": (lambda t: t**2, None),
    "cube": (lambda t: t**3, None),
    "power 0": (lambda t: t**0, None),
    "scalar power": (lambda t: 1.5**t, None),
    "zero to a power": (lambda t: 0.0 ** (t * t), None),
    "scalar +": (lambda t: 2.5 + t, None),
    "scalar -": (lambda t: t - 1.25, None),
    "scalar *": (lambda t: -1.5 * t, None),
    "scalar /": (lambda t: 2.0 / (t * t + 1.0), None),
}
ACTIVATION_OPTIONS = {"LeakyReLU": {"negative_slope": 0.2}, "GELU": {"approximate": "tanh"},
                      "Softplus": {"beta": 2.0, "threshold": 1.0}, "ELU": {"alpha": 0.5}}  # fmt: skip
"""Options other than the defaults for some activations (each runs with both)."""


def _activation(module: type, options: dict) -> tuple[Callable, Callable]:
    """The registry's activation ``module`` and PyTorch's of the same name, with ``options``."""
    return module(**options), getattr(torch.nn, module.__name__)(**options)


for _module in registry.activation_modules():  # every element-wise activation of the registry
    for _options in ({}, ACTIVATION_OPTIONS.get(_module.__name__)):
        if _options is not None:
            UNARY[f"nn.{_module.__name__}{'(options)' if _options else ''}"] = _activation(_module, _options)

BINARY: dict[str, tuple[Callable, Callable | None]] = {
    "+": (lambda a, b: a + b, None),
    "-": (lambda a, b: a - b, None),
    "*": (lambda a, b: a * b, None),
    "/": (lambda a, b: a / (b * b + 0.5), None),
    "**": (lambda a, b: (a.abs() + 0.5) ** b.tanh(), None),
    "where": (None, None),  # made in binary() with its condition
}


class Graph:
    """The nodes made so far and the means to make more.  Every choice (operation, operands,
    shapes, axes, numbers) comes from one NumPy generator seeded by Hypothesis, so the choices are
    spread evenly over the operations and a failing graph is reproduced from its seed."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.leaves: list[Twin] = []
        self.nodes: list[Twin] = []

    def integer(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return int(self.rng.integers(low, high + 1))

    def coin(self) -> bool:
        return bool(self.rng.random() < 0.5)

    def choice(self, options: list):
        return options[self.integer(0, len(options) - 1)]

    def shape(self, min_ndim: int = 0) -> tuple[int, ...]:
        return tuple(self.integer(1, 3) for _ in range(self.integer(min_ndim, 3)))

    def new_leaf(self, shape: tuple[int, ...]) -> Twin:
        """A leaf of standard normal numbers, a quarter of the time with some of them exactly 0
        (where ``relu``, ``abs``, ``max`` ties and ``x ** 0`` meet their edge cases)."""
        values = self.rng.standard_normal(shape)
        if self.rng.random() < 0.25:
            values[self.rng.random(shape) < 0.5] = 0.0
        node = leaf(values)
        self.leaves.append(node)
        self.nodes.append(node)
        return node

    def pick(self, ndim: int = 0) -> Twin:
        """A node with at least ``ndim`` axes (a new leaf if none has)."""
        fitting = [node for node in self.nodes if len(node.shape) >= ndim]
        return self.choice(fitting) if fitting else self.new_leaf(self.shape(max(ndim, 1)))

    def broadcast_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """A shape that broadcasts with ``shape``: some of its axes set to 1, some leading ones
        dropped, or extra leading axes added."""
        kept = [1 if self.coin() else size for size in shape]
        if self.coin():
            return tuple(kept[self.integer(0, len(kept)) :])
        return tuple([self.integer(1, 2) for _ in range(self.integer(0, max(0, 3 - len(kept))))] + kept)

    def partner(self, shape: tuple[int, ...]) -> Twin:
        """A node that broadcasts with ``shape``: one already made if any fits, else a new leaf."""
        fitting = [n for n in self.nodes if _broadcasts(n.shape, shape)]
        if fitting and self.coin():
            return self.choice(fitting)
        return self.new_leaf(self.broadcast_shape(shape))

    def add(self, name: str, node: Twin) -> None:
        SEEN[name] += 1
        if node.ours.size and float(np.abs(node.ours.data).max()) > 30:  # keep values where exp stays finite
            node = both(lambda t: t.tanh(), node)
        self.nodes.append(node)


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x == y or 1 in (x, y) for x, y in zip(reversed(a), reversed(b)))


def unary(graph: Graph) -> None:
    name = graph.choice(sorted(UNARY))
    ours, theirs = UNARY[name]
    graph.add(name, both(ours, graph.pick(), g=theirs))


def binary(graph: Graph) -> None:
    name = graph.choice(sorted(BINARY))
    a = graph.pick()
    b = graph.partner(a.shape)
    if graph.coin():
        a, b = b, a
    if name == "where":
        shape = np.broadcast_shapes(a.shape, b.shape)
        condition = graph.rng.random(graph.broadcast_shape(shape)) > 0.5
        node = Twin(cr.where(condition, a.ours, b.ours), torch.where(torch.tensor(condition), a.theirs, b.theirs))
    else:
        node = both(BINARY[name][0], a, b)
    graph.add(name, node)


def matmul(graph: Graph) -> None:
    """``a @ b`` or ``b @ a`` for 1-D and 2-D operands and batches with broadcasting, ``b`` an
    already made node of a fitting shape or a new leaf."""
    a = graph.pick(ndim=1)
    a_first = graph.coin()
    if a_first:
        inner, batch = a.shape[-1], a.shape[:-2]
        shapes = [(inner,), (inner, 2), (2, inner, 3)] if len(a.shape) == 1 else [
            (inner,), (inner, 2), (*batch, inner, 3), (2, *[1] * len(batch), inner, 1)]  # fmt: skip
    else:
        inner = a.shape[0] if len(a.shape) == 1 else a.shape[-2]
        shapes = [(inner,), (2, inner), (1, 2, inner)]
    shape = graph.choice(shapes)
    fitting = [n for n in graph.nodes if n.shape == shape]
    b = graph.choice(fitting) if fitting and graph.coin() else graph.new_leaf(shape)
    graph.add("matmul", both(lambda x, y: x @ y, *((a, b) if a_first else (b, a))))


def reduction(graph: Graph) -> None:
    """``sum``, ``mean``, ``max``, ``min`` over all axes, one (possibly negative) or several, with
    or without ``keepdims``; ties of max and min share the gradient, as ``torch.amax``."""
    a = graph.pick(ndim=1)
    ndim = len(a.shape)
    name = graph.choice(["sum", "mean", "max", "min"])
    kind = graph.choice(["all", "one", "several"])
    if kind == "all":
        axis = None
    elif kind == "one":
        axis = graph.integer(-ndim, ndim - 1)
    else:
        axis = tuple(sorted({graph.integer(0, ndim - 1) for _ in range(graph.integer(1, ndim))}))
    keepdims = graph.coin()
    dims = tuple(range(ndim)) if axis is None else axis
    ours = getattr(a.ours, name)(axis=axis, keepdims=keepdims)
    if name in ("sum", "mean"):
        theirs = getattr(a.theirs, name)(dim=dims, keepdim=keepdims)
    else:
        theirs = getattr(torch, "a" + name)(a.theirs, dim=dims, keepdim=keepdims)
    graph.add(f"{name} over axes", Twin(ours, theirs))


def softmax(graph: Graph) -> None:
    a = graph.pick(ndim=1)
    name = graph.choice(["softmax", "log_softmax"])
    dim = graph.integer(-len(a.shape), len(a.shape) - 1)
    graph.add(name, both(lambda t: getattr(t, name)(dim=dim), a))


def movement(graph: Graph) -> None:
    a = graph.pick()
    shape, ndim = a.shape, len(a.shape)
    name = graph.choice(["reshape", "flatten"] + (["transpose", "permute", "T"] if ndim else []))
    if name == "reshape":
        target = [int(n) for n in graph.rng.permutation(_factors(math.prod(shape)))]
        if graph.coin():
            target[graph.integer(0, len(target) - 1)] = -1
        node = both(lambda t: t.reshape(*target), a)
    elif name == "flatten":
        node = both(lambda t: t.flatten(), a)
    elif name == "transpose":
        d0, d1 = graph.integer(-ndim, ndim - 1), graph.integer(-ndim, ndim - 1)
        node = both(lambda t: t.transpose(d0, d1), a)
    elif name == "permute":
        order = [int(n) for n in graph.rng.permutation(ndim)]
        node = both(lambda t: t.permute(*order), a)
    else:
        node = both(lambda t: t.T, a, g=lambda t: t.permute(*reversed(range(ndim))))
    graph.add(name, node)


def _factors(n: int) -> list[int]:
    """``n`` as a product of its prime factors (``[1]`` for 1)."""
    out, k = [], 2
    while n > 1:
        while n % k == 0:
            out.append(k)
            n //= k
        k += 1
    return out or [1]


def getitem(graph: Graph) -> None:
    """Basic indexing (ints, slices with steps, None, ...) or integer arrays (with repeats)."""
    a = graph.pick(ndim=1)
    shape = a.shape
    if graph.coin():
        count, ellipsis = graph.integer(1, len(shape)), graph.coin()
        index: list = [Ellipsis] if ellipsis else []  # with ..., the items index the last axes
        for size in shape[-count:] if ellipsis else shape[:count]:
            kind = graph.choice(["int", "slice", "none"])
            if kind == "int":
                index.append(graph.integer(-size, size - 1))
            elif kind == "slice":
                begin = graph.integer(0, size - 1)
                index.append(slice(begin, graph.integer(begin + 1, size), graph.integer(1, 2)))
            else:
                index += [None, slice(None)]
        key = tuple(index)
        graph.add("getitem basic", Twin(a.ours[key], a.theirs[key]))
        return
    form = graph.choice(["first", "last", "pair"] if len(shape) >= 2 else ["first"])
    length = graph.integer(1, 4)
    if form == "pair":
        rows, cols = graph.rng.integers(0, shape[0], length), graph.rng.integers(0, shape[1], length)
        ours, theirs = a.ours[rows, cols], a.theirs[torch.as_tensor(rows), torch.as_tensor(cols)]
    elif form == "first":
        positions = graph.rng.integers(-shape[0], shape[0], length)
        ours, theirs = a.ours[positions], a.theirs[torch.as_tensor(positions)]
    else:
        positions = graph.rng.integers(-shape[-1], shape[-1], length)
        ours, theirs = a.ours[..., positions], a.theirs[..., torch.as_tensor(positions)]
    graph.add("getitem integer arrays", Twin(ours, theirs))


def join(graph: Graph) -> None:
    """``cat`` or ``stack`` of a node with a node of its shape (itself, possibly)."""
    a = graph.pick(ndim=1)
    b = graph.choice([n for n in graph.nodes if n.shape == a.shape])
    name = graph.choice(["cat", "stack"])
    extra = int(name == "stack")
    axis = graph.integer(-len(a.shape) - extra, len(a.shape) - 1 + extra)
    ours, theirs = {"cat": (cr.cat, torch.cat), "stack": (cr.stack, torch.stack)}[name]
    graph.add(name, Twin(ours([a.ours, b.ours], axis=axis), theirs([a.theirs, b.theirs], dim=axis)))


OPERATIONS = [unary, binary, matmul, reduction, softmax, movement, getitem, join]


def compare(graph: Graph) -> None:
    """Values of every node, then the gradients of L = Σₖ Σ Wₖ ⊙ nodeₖ for every leaf."""
    loss_ours, loss_theirs = None, None
    for k, node in enumerate(graph.nodes):
        what = f"node {k} of shape {node.shape}"
        assert node.shape == tuple(node.theirs.shape), what
        assert relative_difference(node.ours.data, node.theirs.detach().numpy()) < TOL, what
        weights = graph.rng.standard_normal(node.shape)
        term_ours = (node.ours * cr.tensor(weights)).sum()
        term_theirs = (node.theirs * torch.tensor(weights)).sum()
        loss_ours = term_ours if loss_ours is None else loss_ours + term_ours
        loss_theirs = term_theirs if loss_theirs is None else loss_theirs + term_theirs
    loss_ours.backward()
    loss_theirs.backward()
    for i, node in enumerate(graph.leaves):
        assert node.ours.grad is not None, f"leaf {i} got no gradient"
        difference = relative_difference(node.ours.grad, node.theirs.grad.numpy())
        assert difference < TOL, f"leaf {i}: gradient differs by {difference:.2e}"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(seed=st.integers(0, 2**63 - 1), leaves=st.integers(1, 3), operations=st.integers(4, 9))
def compare_random_graph(seed: int, leaves: int, operations: int) -> None:
    """One graph: ``leaves`` leaves, then ``operations`` operations (Hypothesis shrinks a failing
    graph to fewer of both), all choices from ``seed``."""
    graph = Graph(np.random.default_rng(seed))
    for _ in range(leaves):
        graph.new_leaf(graph.shape())
    for _ in range(operations):
        graph.choice(OPERATIONS)(graph)
    compare(graph)
    SEEN["graphs"] += 1


EVERY = {*UNARY, *BINARY, "matmul", "sum over axes", "mean over axes", "max over axes", "min over axes", "softmax",
         "log_softmax", "reshape", "flatten", "transpose", "permute", "T", "getitem basic", "getitem integer arrays",
         "cat", "stack"}  # fmt: skip
"""Every operation the graphs must have met."""


def test_random_graphs_of_every_operation_equal_pytorch_in_values_and_gradients():
    SEEN.clear()
    compare_random_graph()
    missing = EVERY - set(SEEN)
    assert SEEN["graphs"] == EXAMPLES and not missing, (SEEN, missing)
    print(f"differential: {SEEN['graphs']} graphs, {sum(SEEN.values()) - SEEN['graphs']} operations, 0 mismatches")
