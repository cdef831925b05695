"""The :class:`Tensor`: an array that remembers how it was computed, so it can be differentiated.

``Tensor.data`` is the backend array; operations on tensors return new tensors and, while
:func:`~chainrule.autograd.is_grad_enabled`, record a graph node (``_ctx``) that
:meth:`Tensor.backward` follows back to the leaves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from chainrule import autograd, backend, versions
from chainrule.ops import arithmetic, elementwise, layers, reduce
from chainrule.ops import shape as shape_ops

Scalar = int | float


def apply_op(function_class: type, parents: tuple, **options: Any) -> Tensor:
    """Run one operation on ``parents`` and, if any needs a gradient, record its node."""
    function = function_class()
    out = Tensor.__new__(Tensor)
    out.data = function.forward(*[p.data for p in parents], **options)
    out.grad, out._retains_grad, out.requires_grad, out._ctx = None, False, False, None
    if autograd._grad_enabled:
        for parent in parents:  # a plain loop: any() over a generator costs more per op
            if parent.requires_grad:
                function.parents, function.clock = parents, versions.clock
                out.requires_grad, out._ctx = True, function
                break
    return out


def _axis(axis: Any, dim: Any) -> Any:
    return dim if axis is None else axis


class Tensor:
    """A multi-dimensional array with reverse-mode automatic differentiation.

    Parameters
    ----------
    data : array_like or Tensor
        Values.  Python numbers and lists become float32 unless ``dtype`` says otherwise;
        NumPy float arrays keep their dtype; integer arrays stay integer (class labels).
    dtype : dtype, str, optional
        ``chainrule.float32``, ``chainrule.float64``, ``"float64"``, …
    requires_grad : bool
        Whether ``backward`` should compute ∂L/∂(this tensor) into ``.grad``.

    Attributes
    ----------
    data : ndarray
        The values (a backend array); readable and assignable.
    grad : ndarray or None
        ∂L/∂tensor after ``backward``, same shape as ``data``; accumulates across calls.
    requires_grad : bool
        Whether gradients flow to this tensor.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # ndarray ⊕ Tensor defers to Tensor's reflected operators

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data.copy()
        self.data = backend.asarray(data, dtype)
        self.grad = None
        self._ctx = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self) -> Any:
        """The dtype of ``data``."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of axes."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an operation."""
        return self._ctx is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        """The graph node that made this tensor (``None`` for leaves)."""
        return self._ctx

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place; only float tensors can require gradients."""
        if requires_grad and not backend.is_floating(self.data.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, this one is {self.data.dtype}; "
                "create it with dtype=chainrule.float32 or float64"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor in the next ``backward``."""
        self._retains_grad = True

    def item(self) -> Scalar:
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(
                f"item(): the tensor has {self.data.size} elements, item() needs exactly one; index it first "
                "(t[0].item()) or take all values with tolist()"
            )
        return self.data.item()

    def numpy(self) -> Any:
        """The values as a NumPy array (shares memory on the NumPy backend)."""
        return backend.to_numpy(self.data)

    def tolist(self) -> Any:
        """The values as nested Python lists (a Python number for a 0-d tensor)."""
        return self.data.tolist()

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; compare one element "
                "(t[0] > 0) or reduce the tensor first (t.max() > 0, t.sum() == 0)"
            )
        return bool(self.data.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError(
                f"only an integer tensor of one element can be used as an index, this one is {self.data.dtype} "
                f"with {self.data.size} elements"
            )
        return int(self.data.item())

    def detach(self) -> Tensor:
        """A leaf tensor with the same data (shared, not copied) and no graph."""
        out = Tensor.__new__(Tensor)
        out.data, out.grad, out.requires_grad, out._ctx, out._retains_grad = self.data, None, False, None, False
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        array = self.numpy()
        return array if dtype is None else array.astype(dtype)

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        body = backend.xp.array2string(self.data, separator=", ", prefix="tensor(")
        extras = "" if self.dtype == backend.float32 else f", dtype={self.dtype}"
        if self._ctx is not None:
            extras += f", grad_fn={self._ctx!r}"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    __hash__ = object.__hash__

    # ------------------------------------------------------------------ backward
    def backward(self, gradient: Any = None) -> None:
        """Compute ∂self/∂leaf for every leaf that requires a gradient, adding it to ``leaf.grad``.

        Parameters
        ----------
        gradient : array_like, optional
            ∂L/∂self, needed when ``self`` has more than one element (then the result is the
            vector–Jacobian product).  Defaults to 1 for a scalar.

        The graph stays after the call, so ``backward`` may run again and add the same gradients
        once more (PyTorch's ``retain_graph=True``); it is freed with the tensors that hold it.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad, so no graph leads to it; create the "
                "leaves with requires_grad=True (or call it outside chainrule.no_grad())"
            )
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: the tensor has shape {tuple(self.shape)}, not one element; reduce "
                    "it first (loss.sum().backward() or loss.mean().backward()) or pass "
                    f"gradient=, an array of shape {tuple(self.shape)} holding ∂L/∂tensor"
                )
            gradient = backend.constant(1, self.data.dtype, self.data.shape)  # kept: backward() makes no array
        else:
            gradient = gradient.data if isinstance(gradient, Tensor) else gradient
            gradient = backend.xp.asarray(gradient, dtype=self.dtype)
            if gradient.shape != self.shape:
                raise ValueError(
                    f"backward: gradient has shape {tuple(gradient.shape)} but the tensor has "
                    f"shape {tuple(self.shape)}; they must match"
                )
        if self._ctx is None:
            self.grad = gradient.copy() if self.grad is None else self.grad + gradient
        else:
            autograd.backward(self, gradient)

    # ------------------------------------------------------------------ arithmetic
    def _lift(self, other: Any) -> Tensor:
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (int, float, bool)):
            return Tensor(other, dtype=self.dtype)
        return Tensor(other)

    def __add__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Add, (self, self._lift(other)))

    def __radd__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Add, (self._lift(other), self))

    def __sub__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Sub, (self, self._lift(other)))

    def __rsub__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Sub, (self._lift(other), self))

    def __mul__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Mul, (self, self._lift(other)))

    def __rmul__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Mul, (self._lift(other), self))

    def __truediv__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Div, (self, self._lift(other)))

    def __rtruediv__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Div, (self._lift(other), self))

    def __pow__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Pow, (self, self._lift(other)))

    def __rpow__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.Pow, (self._lift(other), self))

    def __neg__(self) -> Tensor:
        return apply_op(arithmetic.Neg, (self,))

    # ------------------------------------------------------------------ in-place arithmetic
    def _in_place(self, other: Any, symbol: str) -> Tensor:
        """``self ⊙= other``, as PyTorch's in-place operations: the result is written into this
        tensor's memory, so every view and alias of it sees the new values.

        While the graph is recorded and a gradient is involved, this tensor becomes the output of
        a new node, ``⊙(old version, other)``; the old version (the previous values and node) stays
        in the graph for the nodes that used it.  Nodes that saved the old values raise at
        ``backward`` (:mod:`chainrule.versions`).  A leaf that requires grad cannot be changed in
        place then (it is what the gradients are for); inside ``no_grad`` it can (weight updates).
        """
        ufunc, function_class = _IN_PLACE[symbol]
        data = self.data
        value = other.data if isinstance(other, Tensor) else other
        _check_in_place(symbol, data, value)
        description = f"`{symbol}` on a {data.dtype} tensor of shape {tuple(data.shape)}"
        other_requires_grad = isinstance(other, Tensor) and other.requires_grad
        if not (autograd._grad_enabled and (self.requires_grad or other_requires_grad)):
            if isinstance(data, backend.ndarray):
                ufunc(data, value, out=data)
                versions.record_change(data, description)
            else:  # a NumPy scalar (the 0-d result of an operation) is immutable: it is replaced
                self.data = ufunc(data, value).astype(data.dtype)
            return self
        if self._ctx is None and self.requires_grad:
            raise RuntimeError(
                f"{description}: this tensor is a leaf that requires grad, whose gradient backward computes; "
                "change it inside chainrule.no_grad() (with no_grad(): w -= lr * w.grad) or write w = w ... "
                "to make a new tensor"
            )
        for parent in () if self._ctx is None else self._ctx.parents:
            if parent._ctx is None and parent.requires_grad and _shares_memory(data, parent.data):
                raise RuntimeError(
                    f"{description}: this tensor is a view of a leaf that requires grad, and would change "
                    "the leaf; change the leaf inside chainrule.no_grad(), or take a copy first (t = t.clone())"
                )
        old = Tensor.__new__(Tensor)
        old.data = data.copy() if isinstance(data, backend.ndarray) else data
        old.grad, old._retains_grad, old.requires_grad, old._ctx = None, False, self.requires_grad, self._ctx
        result = apply_op(function_class, (old, old if other is self else self._lift(other)))
        function = result._ctx
        function.replaces = old
        if isinstance(data, backend.ndarray):
            data[...] = result.data
            function.clock = versions.record_change(data, description, target=self)
        else:
            self.data = result.data.astype(data.dtype)
            function.clock = versions.advance()
        versions.record_rebase(function)
        self._ctx, self.requires_grad = function, True
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._in_place(other, "+=")

    def __isub__(self, other: Any) -> Tensor:
        return self._in_place(other, "-=")

    def __imul__(self, other: Any) -> Tensor:
        return self._in_place(other, "*=")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._in_place(other, "/=")

    def __ipow__(self, other: Any) -> Tensor:
        return self._in_place(other, "**=")

    def __matmul__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.MatMul, (self, self._lift(other)))

    def __rmatmul__(self, other: Any) -> Tensor:
        return apply_op(arithmetic.MatMul, (self._lift(other), self))

    # comparisons give boolean tensors outside the graph
    def _compare(self, other: Any, method: str) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        return Tensor(getattr(self.data, method)(other))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__eq__")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "__ne__")

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, "__lt__")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, "__le__")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, "__gt__")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, "__ge__")

    # ------------------------------------------------------------------ element-wise
    def exp(self) -> Tensor:
        """eˣ element-wise."""
        return apply_op(elementwise.Exp, (self,))

    def log(self) -> Tensor:
        """Natural logarithm element-wise."""
        return apply_op(elementwise.Log, (self,))

    def sqrt(self) -> Tensor:
        """Square root element-wise."""
        return apply_op(elementwise.Sqrt, (self,))

    def abs(self) -> Tensor:
        """|x| element-wise."""
        return apply_op(elementwise.Abs, (self,))

    def tanh(self) -> Tensor:
        """tanh(x) element-wise; derivative 1 − tanh²."""
        return apply_op(elementwise.Tanh, (self,))

    def sigmoid(self) -> Tensor:
        """σ(x) = 1/(1 + e⁻ˣ) element-wise; derivative σ(1 − σ)."""
        return apply_op(elementwise.Sigmoid, (self,))

    def relu(self) -> Tensor:
        """max(0, x) element-wise."""
        return apply_op(elementwise.ReLU, (self,))

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        """x for x > 0, else ``negative_slope``·x."""
        return apply_op(elementwise.LeakyReLU, (self,), negative_slope=negative_slope)

    def clip(self, min: Scalar | None = None, max: Scalar | None = None) -> Tensor:  # noqa: A002
        """Values limited to [min, max]; gradient 1 inside, 0 outside."""
        return apply_op(elementwise.Clip, (self,), low=min, high=max)

    clamp = clip

    def softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """e^xᵢ / Σⱼ e^xⱼ along ``axis`` (stable for any finite input)."""
        return apply_op(layers.Softmax, (self,), axis=dim if dim is not None else axis)

    def log_softmax(self, axis: int = -1, *, dim: int | None = None) -> Tensor:
        """ln softmax(x) along ``axis`` (stable for any finite input)."""
        return apply_op(layers.LogSoftmax, (self,), axis=dim if dim is not None else axis)

    def to(self, *args: Any, dtype: Any = None, device: Any = None) -> Tensor:
        """This tensor converted to ``dtype`` (differentiable), as PyTorch's ``Tensor.to``.

        Takes ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other_tensor)`` (its dtype)
        and the keywords; the device is ``"cpu"`` (or ``"cpu:N"``), the one chainrule computes on.
        Returns ``self`` when nothing changes.
        """
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, str) and not _names_dtype(arg):
                device = arg
            else:
                dtype = arg
        if device is not None:
            check_device(device)
        if dtype is None:
            return self
        dtype = backend.resolve_dtype(dtype)
        if dtype == self.dtype:
            return self
        return apply_op(elementwise.Cast, (self,), dtype=dtype)

    astype = to

    def type(self, dtype: Any = None) -> Any:
        """With ``dtype``: this tensor converted to it (``t.type(chainrule.float)``); without: the
        dtype's name."""
        return str(self.dtype) if dtype is None else self.to(dtype)

    @property
    def device(self) -> str:
        """Where the values are: ``"cpu"`` (chainrule's arrays are NumPy arrays)."""
        return "cpu"

    def clone(self) -> Tensor:
        """A copy of this tensor in new memory, in the graph (∂L/∂self = ∂L/∂copy), as PyTorch's
        ``clone``: change the copy in place without touching values the graph saved."""
        return apply_op(shape_ops.Clone, (self,))

    def float(self) -> Tensor:
        """This tensor as float32."""
        return self.to(backend.float32)

    def double(self) -> Tensor:
        """This tensor as float64."""
        return self.to(backend.float64)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Σ over ``axis`` (all axes by default); ``dim``/``keepdim`` are PyTorch's spellings."""
        return apply_op(reduce.Sum, (self,), axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def mean(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False) -> Tensor:
        """The mean over ``axis`` (all axes by default)."""
        return apply_op(reduce.Mean, (self,), axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def max(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False) -> Tensor:
        """The maximum over ``axis``; tied maxima share the gradient equally."""
        return apply_op(reduce.Max, (self,), axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def min(self, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: bool = False) -> Tensor:
        """The minimum over ``axis``; tied minima share the gradient equally."""
        return apply_op(reduce.Min, (self,), axis=_axis(axis, dim), keepdims=keepdims or keepdim)

    def argmax(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None, keepdim: bool = False
    ) -> Tensor:
        """The index of the largest value along ``dim`` (of the flattened tensor when ``dim`` is None),
        an int64 tensor outside the graph; the first index among equal maxima, as ``torch.argmax``."""
        return Tensor(reduce.arg_extreme(self.data, "argmax", _axis(axis, dim), keepdims or keepdim))

    def argmin(
        self, axis: int | None = None, keepdims: bool = False, *, dim: int | None = None, keepdim: bool = False
    ) -> Tensor:
        """The index of the smallest value along ``dim`` (see :meth:`argmax`)."""
        return Tensor(reduce.arg_extreme(self.data, "argmin", _axis(axis, dim), keepdims or keepdim))

    # ------------------------------------------------------------------ movement
    def reshape(self, *shape: Any) -> Tensor:
        """The same values with another shape (one entry may be −1)."""
        return apply_op(shape_ops.Reshape, (self,), shape=_shape(shape))

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Axes ``start_dim`` to ``end_dim`` (both included) merged into one, as ``torch.flatten``:
        a (N, 28, 28) tensor flattened from axis 1 is (N, 784); a 0-d tensor becomes (1,)."""
        shape = self.shape
        if not shape:
            return self.reshape(1)
        first, last = (shape_ops.axis_index(d, len(shape)) for d in (start_dim, end_dim))
        if first > last:
            raise ValueError(
                f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a {len(shape)}-d tensor"
            )
        return self.reshape((*shape[:first], math.prod(shape[first : last + 1]), *shape[last + 1 :]))

    def transpose(self, *dims: Any) -> Tensor:
        """Two axes swapped, as ``torch.transpose``: ``transpose(d0, d1)`` gives outᵢ…ⱼ… = xⱼ…ᵢ…,
        every other axis in place (so a (2, 3, 4) tensor with ``transpose(0, 2)`` is (4, 3, 2)).

        Negative axes count from the end.  ``transpose()`` with no axes reverses them all (``.T``),
        and one sequence ``transpose((2, 0, 1))`` is a full permutation, NumPy's spelling of
        :meth:`permute`.  The gradient goes back through the inverse permutation.
        """
        if not dims:
            return self.T
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            return self.permute(*dims[0])
        if len(dims) != 2:
            raise TypeError(
                f"transpose takes two axes to swap (PyTorch's transpose(dim0, dim1)), got {len(dims)}; "
                "for a full reordering of the axes use permute(*dims)"
            )
        order = list(range(self.ndim))
        first, second = (shape_ops.axis_index(d, self.ndim) for d in dims)
        if order:  # a 0-d tensor has no axes to swap (PyTorch accepts 0 and −1 for it)
            order[first], order[second] = order[second], order[first]
        return apply_op(shape_ops.Transpose, (self,), axes=tuple(order))

    def permute(self, *dims: Any) -> Tensor:
        """The axes reordered, as ``torch.permute``: out has axis ``dims[k]`` of x as its axis k,
        so out.shape[k] = x.shape[dims[k]] (``permute(2, 0, 1)`` of a (2, 3, 4) tensor is (4, 2, 3)).

        ``dims`` is a permutation of the axes (negative ones count from the end), as separate
        numbers or one sequence; the gradient goes back through the inverse permutation.
        """
        return apply_op(shape_ops.Transpose, (self,), axes=_shape(dims))

    @property
    def T(self) -> Tensor:  # noqa: N802
        """The tensor with its axes reversed (for a matrix, its transpose Aᵀ)."""
        return apply_op(shape_ops.Transpose, (self,), axes=None)

    def __getitem__(self, index: Any) -> Tensor:
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        elif isinstance(index, list):
            index = backend.xp.asarray(index)
        return apply_op(shape_ops.GetItem, (self,), index=index)

    def __setitem__(self, index: Any, value: Any) -> None:
        if self.requires_grad and autograd._grad_enabled:
            raise RuntimeError(
                "cannot assign into a tensor that requires grad while the graph is recorded; "
                "assign into tensor.data, or do it inside chainrule.no_grad()"
            )
        self.data[index] = value.data if isinstance(value, Tensor) else value
        versions.record_change(self.data, f"`[...] =` on a {self.data.dtype} tensor of shape {tuple(self.shape)}")


_IN_PLACE = {
    "+=": (backend.xp.add, arithmetic.Add),
    "-=": (backend.xp.subtract, arithmetic.Sub),
    "*=": (backend.xp.multiply, arithmetic.Mul),
    "/=": (backend.xp.true_divide, arithmetic.Div),
    "**=": (backend.xp.power, arithmetic.Pow),
}
"""In-place operator → (the array function that computes it in place, the graph's operation)."""


def _check_in_place(symbol: str, data: Any, value: Any) -> None:
    """Raise if ``data ⊙ value`` cannot be stored in ``data``: a broadcast shape other than
    ``data``'s, or a dtype ``data``'s cannot hold (as PyTorch's in-place rules)."""
    xp = backend.xp
    value = value if isinstance(value, (int, float, bool, backend.ndarray)) else xp.asarray(value)
    shape = xp.broadcast_shapes(xp.shape(data), xp.shape(value))
    if shape != xp.shape(data):
        raise RuntimeError(
            f"`{symbol}`: the result has shape {shape}, which does not fit the tensor's shape {xp.shape(data)}; "
            "an in-place operation cannot change a tensor's shape, write t = t ... for a new tensor"
        )
    result = xp.result_type(data, value)
    if not xp.can_cast(result, data.dtype, "same_kind"):
        raise RuntimeError(
            f"`{symbol}`: the result is {result}, which this {data.dtype} tensor cannot hold; convert it first "
            f"(t = t.to(chainrule.{result})) or write t = t ... for a new tensor"
        )


def _shares_memory(a: Any, b: Any) -> bool:
    return isinstance(a, backend.ndarray) and isinstance(b, backend.ndarray) and backend.xp.may_share_memory(a, b)


DEVICES = ("cpu",)
"""The devices chainrule computes on (its arrays are NumPy's)."""


def check_device(device: Any) -> None:
    """Accept ``"cpu"`` and ``"cpu:N"`` (any N ≥ 0, as PyTorch); raise ``ValueError`` naming the
    devices there are for anything else (``"cuda"``, ``"mps"``, …)."""
    kind, colon, index = str(device).partition(":")
    if kind in DEVICES and (not colon or index.isdigit()):
        return
    raise ValueError(
        f"device {device!r} is not available: chainrule computes on {', '.join(map(repr, DEVICES))} only "
        "(its arrays are NumPy arrays); use to('cpu') or leave the device out"
    )


def _names_dtype(name: str) -> bool:
    try:
        backend.resolve_dtype(name)
    except TypeError:
        return False
    return True


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """``torch.argmax``: the index of the largest value along ``dim`` (see :meth:`Tensor.argmax`)."""
    return input.argmax(dim=dim, keepdim=keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:  # noqa: A002
    """``torch.argmin``: the index of the smallest value along ``dim`` (see :meth:`Tensor.argmax`)."""
    return input.argmin(dim=dim, keepdim=keepdim)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new leaf tensor; see :class:`Tensor` for the dtype rules.

    Examples
    --------
    >>> x = chainrule.tensor([-0.32, -0.66], dtype="float64")
    >>> w = chainrule.tensor([[0.2, 0.15], [0.5, 0.6]], requires_grad=True)
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def _shape(shape: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _float_dtype(dtype: Any) -> Any:
    return backend.resolve_dtype(dtype or backend.default_dtype)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros (float32 unless ``dtype`` is given)."""
    return Tensor(backend.xp.zeros(_shape(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones (float32 unless ``dtype`` is given)."""
    return Tensor(backend.xp.ones(_shape(shape), dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def randn(*shape: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """Samples of the standard normal distribution, from the global generator or ``generator``."""
    values = backend.generator(generator).standard_normal(_shape(shape))
    return Tensor(values.astype(_float_dtype(dtype)), requires_grad=requires_grad)


def rand(*shape: Any, dtype: Any = None, requires_grad: bool = False, generator: Any = None) -> Tensor:
    """Samples of the uniform distribution on [0, 1), from the global generator or ``generator``."""
    values = backend.generator(generator).random(_shape(shape))
    return Tensor(values.astype(_float_dtype(dtype)), requires_grad=requires_grad)


def _as_tensors(tensors: Sequence[Any]) -> tuple[Tensor, ...]:
    return tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)


def concatenate(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Tensors joined along an existing axis (``torch.cat``)."""
    return apply_op(shape_ops.Concatenate, _as_tensors(tensors), axis=dim if dim is not None else axis)


cat = concatenate


def stack(tensors: Sequence[Any], axis: int = 0, *, dim: int | None = None) -> Tensor:
    """Tensors stacked along a new axis."""
    return apply_op(shape_ops.Stack, _as_tensors(tensors), axis=dim if dim is not None else axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elements of ``a`` where ``condition`` holds, else of ``b``; gradients go to the chosen side."""
    condition = condition.data if isinstance(condition, Tensor) else backend.xp.asarray(condition)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    lift = like._lift if like is not None else Tensor
    return apply_op(arithmetic.Where, (lift(a), lift(b)), condition=condition.astype(bool))
