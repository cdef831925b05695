"""Reverse-mode automatic differentiation: graph nodes, grad mode and the backward pass.

A computation builds a graph as it runs (a *dynamic* graph, like PyTorch's): every tensor made by
an operation remembers, in ``tensor._ctx``, the :class:`Function` node that made it, and the node
remembers its ``parents``.  :func:`backward` walks that graph from the output back to the leaves,
applying the chain rule at each node:

    ∂L/∂parent = ∂L/∂out · ∂out/∂parent

Each node's ``backward`` supplies the local factor ∂out/∂parent already multiplied by the
upstream gradient ∂L/∂out.  Gradients that reach a tensor along several paths are added (a tensor
used twice receives the sum of both paths), and a gradient whose shape was broadcast in the
forward pass is summed back to the parent's shape here, once, not inside every operation.

This module knows nothing of the ``Tensor`` class: it works on any object with ``data``, ``grad``,
``requires_grad``, ``_ctx`` and ``_retains_grad`` attributes, which keeps the dependency direction
backend → autograd → ops → tensor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from chainrule import versions

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when operations record the graph (the default); False inside :func:`no_grad`."""
    return _grad_enabled


@contextmanager
def _grad_mode(enabled: bool) -> Iterator[None]:
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


class no_grad:  # noqa: N801 - named like torch.no_grad
    """Context manager and decorator that stops recording the graph.

    Inside it, results of operations have ``requires_grad=False`` and no ``_ctx``: use it for
    evaluation and for updating weights by hand.

    Examples
    --------
    >>> with chainrule.no_grad():
    ...     prediction = model(x)
    """

    def __enter__(self) -> None:
        self._mode = _grad_mode(False)
        self._mode.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._mode.__exit__(*exc)

    def __call__(self, function: Callable) -> Callable:
        @functools.wraps(function)
        def without_grad(*args: Any, **kwargs: Any) -> Any:
            with _grad_mode(False):
                return function(*args, **kwargs)

        return without_grad


def enable_grad() -> Any:
    """Context manager that turns recording back on inside :class:`no_grad`."""
    return _grad_mode(True)


class Function:
    """One operation of the graph: its forward value and its local derivative.

    Subclasses implement ``forward(*arrays, **options) -> array`` and
    ``backward(grad) -> tuple`` with one entry per parent: ∂L/∂parent given ∂L/∂out = ``grad``
    (``None`` for a parent that needs no gradient, such as integer class labels).
    ``backward`` never writes into ``grad``; whatever forward needs later it keeps as attributes
    of the node, which is also what ``chainrule.explain`` reads.

    The class docstring of each subclass states the function and its derivative.
    """

    parents: tuple = ()

    exact_gradients = False
    """True for an operation whose ``backward`` returns, for each parent, ``None`` or a new array
    of exactly the parent's shape and dtype that shares memory with no other gradient: the
    backward pass then stores it as it is, without the checks for broadcasting, dtype and sharing."""

    clock = 0
    """:data:`chainrule.versions.clock` when the node was recorded: an in-place change at a later
    clock came after it (``backward`` then checks the values the node saved)."""

    saved_for: tuple[tuple[str, int], ...] = ()
    """The values the node keeps that only some of its gradients read, as (attribute name, the
    parent whose gradient reads it) pairs: ``Mul`` has ``(("a", 1), ("b", 0))``, since
    ∂out/∂a = b and ∂out/∂b = a.  Every other array the node keeps counts as read whenever
    ``backward`` runs.  An in-place change to a kept value is an error at ``backward`` only when
    the value is read, i.e. when one of its readers requires a gradient."""

    replaces = None
    """For a node made by an in-place change (``c += w``): the tensor holding ``c``'s old version
    (its values and node before the change), the node's first parent."""

    def forward(self, *arrays: Any, **options: Any) -> Any:
        """The output array for the input arrays."""
        raise NotImplementedError

    def backward(self, grad: Any) -> Sequence[Any]:
        """∂L/∂input for each input, given ∂L/∂output."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


def sum_to_shape(grad: Any, shape: tuple) -> Any:
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched.

    If ``a`` of shape ``shape`` was broadcast to ``grad.shape`` in the forward pass, every copy of
    an element contributed to the output, so its gradient is the sum over the copies.
    """
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _chain(root: Any) -> list | None:
    """The non-leaf tensors from ``root`` back, if each has at most one parent made by an
    operation (a loss of a model's output, say): ``[root, its non-leaf parent, …]``; else ``None``."""
    chain = [root]
    node = root
    while True:
        following = None
        for parent in node._ctx.parents:
            if parent._ctx is not None:
                if following is not None:
                    return None
                following = parent
        if following is None:
            return chain
        chain.append(following)
        node = following


def _backward_order(root: Any) -> list:
    """Non-leaf tensors reachable from ``root``, each before all of its parents (the order in which
    the backward pass visits them, ``root`` first).

    A chain (:func:`_chain`) is that order as it is.  Any other graph is sorted by an iterative
    depth-first search (so a chain of any length stays clear of the recursion limit): each node
    is pushed once with an iterator over its parents and appended when that iterator is
    exhausted, i.e. after all of its parents; the result, reversed, is the order.  Parents are
    visited last to first, which fixes the order in which gradients reaching one tensor along
    several paths are added.
    """
    chain = _chain(root)
    if chain is not None:
        return chain
    order: list = []
    visited: set[int] = {id(root)}
    stack: list = [(root, reversed(root._ctx.parents))]
    while stack:
        node, parents = stack[-1]
        for parent in parents:
            if parent._ctx is not None and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, reversed(parent._ctx.parents)))
                break
        else:
            stack.pop()
            order.append(node)
    order.reverse()
    return order


def backward(root: Any, grad: Any) -> None:
    """Backpropagate ``grad`` = ∂L/∂root to every leaf that requires a gradient.

    Leaf tensors (made by the user, not by an operation) receive ``.grad``, *added* to what is
    there already, as in PyTorch: call ``zero_grad()`` between steps.  Non-leaf tensors receive
    ``.grad`` only after ``retain_grad()``.  The graph is kept after the pass (it is freed with the
    output tensor), so ``backward`` may be called again and adds the gradients once more; saved
    values are the arrays of the forward pass, so change weights only after the last ``backward``.

    In-place arithmetic on tensors of the graph is checked here (:mod:`chainrule.versions`): a
    node whose saved values were changed after it was made raises ``RuntimeError``.
    """
    if versions.active:  # some memory changed in place is alive: check the graph first
        versions.revise(root)
    pending: dict[int, Any] = {id(root): grad}
    for node in _backward_order(root):
        upstream = pending.pop(id(node), None)
        if upstream is None:
            continue
        if node._retains_grad:
            node.grad = upstream.copy() if node.grad is None else node.grad + upstream
        function = node._ctx
        exact = function.exact_gradients
        for parent, parent_grad in zip(function.parents, function.backward(upstream)):
            if parent_grad is None or not parent.requires_grad:
                continue
            if not exact:
                data = parent.data
                if parent_grad.shape != data.shape:
                    parent_grad = sum_to_shape(parent_grad, data.shape)
                if parent_grad.dtype is not data.dtype and parent_grad.dtype != data.dtype:
                    parent_grad = parent_grad.astype(data.dtype)
            if parent._ctx is not None:
                key = id(parent)
                pending[key] = parent_grad if key not in pending else pending[key] + parent_grad
            elif parent.grad is not None:
                parent.grad = parent.grad + parent_grad
            elif exact or not (parent_grad is upstream or parent_grad.base is not None):
                parent.grad = parent_grad
            else:
                # A gradient passed straight through (``a + b`` hands ``grad`` to both) or a view
                # of another array is copied, so that no two .grad arrays share memory.
                parent.grad = parent_grad.copy()
