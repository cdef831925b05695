"""Movement: ``reshape``, ``transpose``/``permute``, indexing, ``concatenate`` and ``stack``.

None of these changes a value, so each backward only moves the gradient back to where its value
came from.
"""

from __future__ import annotations

from chainrule import backend
from chainrule.autograd import Function


class Reshape(Function):
    """out = a viewed with another shape;  ∂L/∂a is ∂L/∂out reshaped back."""

    def forward(self, a, shape=()):
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(
                f"cannot reshape a tensor of shape {tuple(a.shape)} ({a.size} elements) into shape {tuple(shape)}"
            ) from None

    def backward(self, grad):
        return (grad.reshape(self.shape),)


def axis_index(axis: int, ndim: int) -> int:
    """``axis`` of an array with ``ndim`` axes as a position 0 … ndim − 1 (−1 is the last).

    Raises
    ------
    IndexError
        If ``axis`` is not an integer in [−ndim, ndim) (PyTorch's rule).
    """
    if isinstance(axis, bool) or not isinstance(axis, int) or not -max(ndim, 1) <= axis < max(ndim, 1):
        raise IndexError(
            f"axis {axis!r} is out of range for a tensor with {ndim} axes; give an integer from "
            f"{-max(ndim, 1)} to {max(ndim, 1) - 1}"
        )
    return axis % ndim if ndim else 0


class Transpose(Function):
    """out = a with its axes permuted: out.shape[k] = a.shape[axes[k]] (all reversed for ``None``);
    ∂L/∂a is ∂L/∂out with the inverse permutation.

    ``axes`` must name every axis once (negative axes count from the end).
    """

    def forward(self, a, axes=None):
        if axes is None:
            self.axes = tuple(reversed(range(a.ndim)))
        else:
            self.axes = tuple(axis_index(axis, a.ndim) for axis in axes)
            if sorted(self.axes) != list(range(a.ndim)):
                raise ValueError(
                    f"permute: {tuple(axes)} is not a permutation of the {a.ndim} axes of a tensor of shape "
                    f"{tuple(a.shape)}; name each axis 0 … {a.ndim - 1} once"
                )
        return a.transpose(self.axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return (grad.transpose(inverse),)


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(not isinstance(i, (int, slice, type(None), type(Ellipsis))) for i in items)


class GetItem(Function):
    """out = a[index], for basic (ints, slices, ``None``, ``...``) and integer-array indexing.

    ∂L/∂a is zero except at the selected places, which receive ∂L/∂out; a place selected
    several times by an integer array receives the sum.
    """

    def forward(self, a, index=None):
        self.shape, self.dtype, self.index = a.shape, a.dtype, index
        return a[index]

    def backward(self, grad):
        out = backend.xp.zeros(self.shape, dtype=grad.dtype)
        if _is_advanced(self.index):
            backend.xp.add.at(out, self.index, grad)
        else:
            out[self.index] = grad
        return (out,)


class Concatenate(Function):
    """out = [a₁, a₂, …] joined along ``axis``;  each aᵢ receives its slice of ∂L/∂out."""

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.bounds = backend.xp.cumsum([a.shape[axis] for a in arrays])[:-1].tolist()
        return backend.xp.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return backend.xp.split(grad, self.bounds, axis=self.axis)


class Stack(Function):
    """out = [a₁, a₂, …] stacked along a new ``axis``;  each aᵢ receives its slice of ∂L/∂out."""

    def forward(self, *arrays, axis=0):
        self.axis, self.count = axis, len(arrays)
        return backend.xp.stack(arrays, axis=axis)

    def backward(self, grad):
        return [backend.xp.take(grad, i, axis=self.axis) for i in range(self.count)]


class Clone(Function):
    """out = a copied into new memory (``Tensor.clone``);  ∂L/∂a = ∂L/∂out."""

    def forward(self, a):
        return a.copy()

    def backward(self, grad):
        return (grad,)
