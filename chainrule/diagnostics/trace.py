"""Run a network layer by layer through its real modules and keep every value autograd computes.

Nothing here re-implements the maths: z and h come from the modules' forward passes,
∂L/∂hˡ and δˡ = ∂L/∂zˡ from ``retain_grad()`` and ``loss.backward()``, the parameters'
gradients from their ``.grad``, and f′(zˡ) from the activation's graph node
(``h.grad_fn.derivative()``, the same array its backward multiplies by).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from chainrule import backend, nn
from chainrule.diagnostics.notation import Layer, network_layers
from chainrule.tensor import Tensor


def working_copy(model: nn.Module, dtype: Any = None) -> nn.Module:
    """A deep copy of ``model`` with no gradients (converted to ``dtype`` if given); the original is untouched."""
    clone = copy.deepcopy(model)
    clone.zero_grad()
    return clone if dtype is None else clone.to(dtype)


def model_dtype(model: nn.Module) -> Any:
    """The dtype of the model's first parameter (float32 for a model without parameters)."""
    return next((p.dtype for p in model.parameters()), backend.float32)


def as_batch(model: nn.Module, loss_fn: Any, x: Any, y: Any) -> tuple[Tensor, Tensor]:
    """``x`` as an (N, in) tensor of the model's dtype and ``y`` to match (class labels stay integers).

    One sample may be given as a vector ``x`` and a scalar or vector ``y``.

    Raises
    ------
    ValueError
        If a value is not finite, or not once converted to the model's dtype (1e300 in float32).
    """
    dtype = model_dtype(model)
    with backend.xp.errstate(over="ignore", invalid="ignore"):  # out-of-range values are refused below
        x = Tensor(x.data if isinstance(x, Tensor) else x, dtype=dtype)
        y_data = backend.xp.asarray(y.data if isinstance(y, Tensor) else y)
        labels = y_data.dtype.kind in "iu" and isinstance(loss_fn, nn.CrossEntropyLoss)
        y = Tensor(y_data.reshape(-1)) if labels else Tensor(y_data, dtype=dtype)
    for name, values in (("inputs", x.data), ("targets", y.data)):
        if backend.is_floating(values.dtype) and not backend.xp.isfinite(values).all():
            raise ValueError(
                f"the {name} hold a value that is not a finite {backend.xp.dtype(dtype).name} number "
                f"(|value| ≤ {float(backend.xp.finfo(dtype).max):.3g}); give finite values nearer the data's scale"
            )
    single = x.ndim == 1
    if single:
        x = x.reshape(1, -1)
    if not labels:
        if single or y.ndim == 0:
            y = y.reshape(1, -1)
        elif y.ndim == 1:
            y = y.reshape(-1, 1)
    return x, y


@dataclass
class LayerTrace:
    """The values of layer l for a batch: input hˡ⁻¹, zˡ and hˡ (tensors whose ``.grad`` autograd filled)."""

    layer: Layer
    inputs: Any
    z: Tensor
    h: Tensor

    @property
    def derivative(self) -> Any:
        """f′(zˡ) as the activation's graph node computes it (1 for a linear layer), shape of zˡ."""
        node = self.h.grad_fn if self.h is not self.z else None
        value = 1 if node is None else node.derivative()
        return value * backend.xp.ones_like(self.z.data)

    @property
    def delta(self) -> Any:
        """δˡ = ∂L/∂zˡ (autograd's ``z.grad``)."""
        return self.z.grad

    @property
    def grad_h(self) -> Any:
        """∂L/∂hˡ (autograd's ``h.grad``)."""
        return self.h.grad


@dataclass
class Trace:
    """One forward and backward pass: per-layer values, the loss and every parameter's gradient."""

    model: nn.Module
    loss_fn: Any
    x: Tensor
    y: Tensor
    layers: list[LayerTrace]
    loss: Tensor

    @property
    def output(self) -> Tensor:
        """hᴸ, the network's output."""
        return self.layers[-1].h

    def gradient(self, layer: Layer, kind: str) -> Any:
        """∂L/∂(weight or bias) of ``layer`` in this trace's model copy (autograd's ``.grad``)."""
        return getattr(self.layers[layer.number - 1].layer.linear, kind).grad


def trace(model: nn.Module, loss_fn: Any, x: Any, y: Any) -> Trace:
    """Forward and backward pass of a copy of ``model`` on (x, y), keeping z, h and their gradients.

    Raises
    ------
    ValueError
        If the model is not a Sequential of Linear layers and element-wise activations, the loss
        is not a single number, or a value of the forward or backward pass is not finite (inputs
        or weights too large for the dtype).
    """
    clone = working_copy(model)
    layers = network_layers(clone)
    x, y = as_batch(clone, loss_fn, x, y)
    h = x
    traces = []
    with backend.xp.errstate(over="ignore", invalid="ignore"):  # every value is checked below
        for layer in layers:
            inputs = h.data
            z = layer.linear(h)
            z.retain_grad()
            h = z if layer.activation is None else layer.activation(z)
            h.retain_grad()
            traces.append(LayerTrace(layer, inputs, z, h))
        loss = loss_fn(h, y)
        if loss.size != 1 or getattr(loss_fn, "reduction", "mean") not in ("mean", "sum"):
            raise ValueError(
                f"explain: the loss has shape {tuple(loss.shape)}; "
                "use reduction='mean' or 'sum' so that it is one number"
            )
        loss.backward()
    values = [loss.data, *(p.grad for p in clone.parameters() if p.grad is not None)]
    values += [a for t in traces for a in (t.z.data, t.h.data)]
    if not all(backend.xp.isfinite(a).all() for a in values):
        raise ValueError(
            f"the forward or backward pass leaves the range of {loss.dtype} (the loss is "
            f"{loss.item():g}); give inputs nearer the data's scale"
        )
    return Trace(clone, loss_fn, x, y, traces, loss)
