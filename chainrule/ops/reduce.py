"""Reductions over axes: ``sum``, ``mean``, ``max``, ``min``, and ``argmax``/``argmin``.

``axis`` is ``None`` (all axes), an int or a tuple of ints; ``keepdims`` keeps reduced axes with
length one.  Backward puts the reduced axes back (as length one) and broadcasts.  ``argmax`` and
``argmin`` give indices, which have no gradient: they are functions, not graph operations.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd import Function
from chainrule.ops.shape import axis_index


def arg_extreme(a, which: str, axis=None, keepdims: bool = False):
    """The index of the largest (``which="argmax"``) or smallest (``"argmin"``) value of ``a``
    along ``axis``, or in the flattened array when ``axis`` is None, as int64: i* = argmaxᵢ aᵢ,
    the first such i among equal values (NaN counts as the largest and the smallest, as in
    PyTorch).  ``keepdims`` keeps the reduced axis (all axes, for None) with length one."""
    if a.size == 0:
        raise ValueError(f"{which} of an empty tensor (shape {tuple(a.shape)}) has no index to give")
    if axis is not None:
        axis = axis_index(axis, a.ndim)
        if a.ndim == 0:
            axis = None
    return backend.xp.asarray(getattr(a, which)(axis=axis, keepdims=keepdims), dtype=backend.xp.int64)


def _normalised_axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} axes")
    return tuple(a % ndim for a in axes) if ndim else ()


def _expand_to_input(grad, shape, axes, keepdims):
    """∂L/∂out broadcast back over the reduced axes of an input of ``shape``."""
    if not keepdims:
        grad = grad.reshape(tuple(1 if i in axes else n for i, n in enumerate(shape)))
    return backend.xp.broadcast_to(grad, shape)


class Sum(Function):
    """out = Σᵢ aᵢ over ``axis``;  ∂out/∂aᵢ = 1."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.keepdims = a.shape, keepdims
        self.axes = _normalised_axes(axis, a.ndim)
        return a.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return (_expand_to_input(grad, self.shape, self.axes, self.keepdims),)


class Mean(Function):
    """out = (1/n) Σᵢ aᵢ over ``axis`` (n elements);  ∂out/∂aᵢ = 1/n."""

    def forward(self, a, axis=None, keepdims=False):
        self.shape, self.keepdims = a.shape, keepdims
        self.axes = _normalised_axes(axis, a.ndim)
        out = a.mean(axis=self.axes, keepdims=keepdims)
        self.count = a.size // max(out.size, 1) if a.size else 0
        return out

    def backward(self, grad):
        return (_expand_to_input(grad / self.count, self.shape, self.axes, self.keepdims),)


class Max(Function):
    """out = maxᵢ aᵢ over ``axis``;  ∂out/∂aᵢ = 1/k for the k entries equal to the maximum, else 0.

    Ties share the gradient equally, like ``torch.amax``.
    """

    reduce = "max"

    def forward(self, a, axis=None, keepdims=False):
        self.a, self.keepdims = a, keepdims
        self.axes = _normalised_axes(axis, a.ndim)
        self.out = getattr(a, self.reduce)(axis=self.axes, keepdims=True)
        return self.out if keepdims else self.out.reshape(tuple(n for i, n in enumerate(a.shape) if i not in self.axes))

    def backward(self, grad):
        hits = self.a == self.out
        share = hits / hits.sum(axis=self.axes, keepdims=True)
        return (share * _expand_to_input(grad, self.a.shape, self.axes, self.keepdims),)


class Min(Max):
    """out = minᵢ aᵢ over ``axis``;  ∂out/∂aᵢ = 1/k for the k entries equal to the minimum, else 0."""

    reduce = "min"
