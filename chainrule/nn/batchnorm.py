"""``BatchNorm1d``: normalise each feature over the batch, with running statistics for eval."""

from __future__ import annotations

from typing import Any

from chainrule import backend
from chainrule.nn.module import Module, Parameter
from chainrule.tensor import Tensor


class BatchNorm1d(Module):
    """Batch normalisation over the batch axis (and the length axis of 3-D inputs):

        x̂ = (x − μ_B) / √(σ²_B + ε),    out = γ x̂ + β,

    where μ_B and σ²_B are the mean and the biased variance of each feature over the batch while
    training, and the running estimates in evaluation mode.  After each training batch, as in
    PyTorch (m = ``momentum``, n values per feature):

        running_mean ← (1 − m) running_mean + m μ_B
        running_var  ← (1 − m) running_var + m σ²_B · n / (n − 1)      (unbiased)

    ``momentum=None`` uses the cumulative average (m = 1 / batches seen).  The gradient flows
    through μ_B and σ²_B: the layer is built from differentiable tensor operations.

    Parameters
    ----------
    num_features : int
        C, the number of features.
    eps : float
        ε, added to the variance.
    momentum : float or None
        m, the weight of the newest batch in the running statistics.
    affine : bool
        Whether to learn γ (``weight``, ones at first) and β (``bias``, zeros at first).
    dtype : dtype, optional
        Parameter and buffer dtype (float32 by default).

    Attributes
    ----------
    running_mean, running_var : ndarray, shape (C,)
        Buffers (in ``state_dict``), zeros and ones at first.
    num_batches_tracked : ndarray, shape ()
        The number of training batches seen (an int64 buffer, as in PyTorch).

    Shape
    -----
    Input (N, C) or (N, C, L) → output of the same shape.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if num_features < 1:
            raise ValueError(f"BatchNorm1d: num_features must be ≥ 1, got {num_features}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d: momentum must lie in [0, 1] (or be None), got {momentum}")
        xp = backend.xp
        dtype = backend.resolve_dtype(dtype or backend.default_dtype)
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        self.weight = Parameter(xp.ones(num_features, dtype=dtype)) if affine else None
        self.bias = Parameter(xp.zeros(num_features, dtype=dtype)) if affine else None
        self.register_buffer("running_mean", xp.zeros(num_features, dtype=dtype))
        self.register_buffer("running_var", xp.ones(num_features, dtype=dtype))
        self.register_buffer("num_batches_tracked", xp.zeros((), dtype=xp.int64))

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (2, 3) or x.shape[1] != self.num_features:
            raise ValueError(
                f"{self!r} expects input of shape (N, {self.num_features}) or (N, {self.num_features}, L), "
                f"got input of shape {tuple(x.shape)}"
            )
        axes = (0,) if x.ndim == 2 else (0, 2)
        feature_shape = (self.num_features,) if x.ndim == 2 else (self.num_features, 1)
        if self.training:
            count = x.size // self.num_features
            if count < 2:
                raise ValueError(
                    f"BatchNorm1d needs more than one value per feature in training mode, got input of "
                    f"shape {tuple(x.shape)}; use a larger batch or call model.eval()"
                )
            mean = x.mean(axis=axes, keepdims=True)
            centered = x - mean
            variance = (centered * centered).mean(axis=axes, keepdims=True)
            normalised = centered / (variance + self.eps).sqrt()
            self._update_running_stats(mean.data.reshape(-1), variance.data.reshape(-1), count)
        else:
            inverse_std = 1 / backend.xp.sqrt(self.running_var + self.eps)
            shift = Tensor(self.running_mean.reshape(feature_shape))
            normalised = (x - shift) * Tensor(inverse_std.reshape(feature_shape))
        if not self.affine:
            return normalised
        return normalised * self.weight.reshape(feature_shape) + self.bias.reshape(feature_shape)

    def _update_running_stats(self, mean: Any, variance: Any, count: int) -> None:
        """Move the running estimates towards this batch's mean and unbiased variance, in place."""
        self.num_batches_tracked += 1
        momentum = 1 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean *= 1 - momentum
        self.running_mean += momentum * mean
        self.running_var *= 1 - momentum
        self.running_var += (momentum * count / (count - 1)) * variance

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
