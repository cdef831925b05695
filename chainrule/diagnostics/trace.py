"""Run a network layer by layer through the engine and keep every value autograd computes.

Nothing here re-implements the maths: zˡ comes from the layer's own op (``F.linear``, the op
``nn.Linear`` records) and hˡ from the activation module, ∂L/∂hˡ and δˡ = ∂L/∂zˡ from
``retain_grad()`` and ``loss.backward()``, the parameters' gradients from ``.grad``, and f′(zˡ)
from the activation's graph node (``h.grad_fn.derivative()``, the very array its backward
multiplies by: :class:`chainrule.ops.elementwise.Activation`).

The model is not copied: each parameter enters the pass as a new leaf tensor that shares its
array (``p.detach()``), so the model's own ``.grad`` are never touched and a trace of a live,
training model costs one layer-by-layer forward and backward pass.

For a batch of N samples with L the mean (or sum) of per-sample losses ℓ_n (seed 002), row n of
every ∂L/∂· array is ∂ℓ_n/∂· divided by N (or by 1): :attr:`Trace.per_sample_scale` is that N.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from typing import Any

from chainrule import backend, nn
from chainrule.autograd import enable_grad
from chainrule.diagnostics.notation import Layer, network_layers
from chainrule.nn import functional as F
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
        labels = y_data.dtype.kind in "iu" and isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))
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
    """The values of layer l for a batch: its input hˡ⁻¹, zˡ and hˡ (tensors whose ``.grad``
    autograd filled) and the leaf tensors its weight and bias entered the pass as."""

    layer: Layer
    inputs: Any
    z: Tensor
    h: Tensor
    weight: Tensor
    bias: Tensor | None

    @functools.cached_property
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

    @property
    def weight_grad(self) -> Any:
        """∂L/∂Wˡ (autograd's ``.grad`` of the weight's leaf)."""
        return self.weight.grad

    @property
    def bias_grad(self) -> Any:
        """∂L/∂bˡ, or None for a layer without bias."""
        return None if self.bias is None else self.bias.grad


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

    @property
    def samples(self) -> int:
        """N, the number of samples."""
        return self.x.shape[0]

    @property
    def reduction(self) -> str:
        """``"mean"`` or ``"sum"``: how the loss combines the samples."""
        return getattr(self.loss_fn, "reduction", "mean")

    @property
    def per_sample_scale(self) -> int:
        """N for a mean over the samples, 1 for a sum: ∂ℓ_n/∂· = this × row n of ∂L/∂·."""
        return self.samples if self.reduction == "mean" else 1

    def gradient(self, layer: Layer, kind: str) -> Any:
        """∂L/∂(weight or bias) of ``layer`` (autograd's ``.grad``)."""
        layer_trace = self.layers[layer.number - 1]
        return layer_trace.weight_grad if kind == "weight" else layer_trace.bias_grad

    def gradients(self) -> dict[str, Any]:
        """``PyTorch name → ∂L/∂parameter`` for every parameter, layer by layer."""
        out = {}
        for layer_trace in self.layers:
            name = layer_trace.layer.name
            prefix = f"{name}." if name else ""
            out[prefix + "weight"] = layer_trace.weight_grad
            if layer_trace.bias is not None:
                out[prefix + "bias"] = layer_trace.bias_grad
        return out

    def sample_losses(self, count: int) -> list[float]:
        """ℓ_n of the first ``count`` samples, each ``loss_fn`` of that sample alone."""
        output, target = self.output.data, self.y.data
        losses = []
        for n in range(min(count, self.samples)):
            value = self.loss_fn(Tensor(output[n : n + 1]), Tensor(target[n : n + 1]))
            losses.append(float(value.item()))
        return losses


def trace(model: nn.Module, loss_fn: Any, x: Any, y: Any) -> Trace:
    """Forward and backward pass of ``model`` on (x, y), keeping z, h and their gradients.

    The model and its ``.grad`` are left as they are (see the module docstring).

    Raises
    ------
    ValueError
        If the model is not a Sequential of Linear layers and element-wise activations, the loss
        is not a single number, or a value of the forward or backward pass is not finite (inputs
        or weights too large for the dtype).
    """
    layers = network_layers(model)
    x, y = as_batch(model, loss_fn, x, y)
    h = x
    traces = []
    with enable_grad(), backend.xp.errstate(over="ignore", invalid="ignore"):  # every value is checked below
        for layer in layers:
            linear = layer.linear
            weight = linear.weight.detach().requires_grad_(True)
            bias = None if linear.bias is None else linear.bias.detach().requires_grad_(True)
            linear.check_input(h)
            inputs = h.data
            z = F.linear(h, weight, bias)
            z.retain_grad()
            h = z if layer.activation is None else layer.activation(z)
            h.retain_grad()
            traces.append(LayerTrace(layer, inputs, z, h, weight, bias))
        loss = loss_fn(h, y)
        if loss.size != 1 or getattr(loss_fn, "reduction", "mean") not in ("mean", "sum"):
            raise ValueError(
                f"explain: the loss has shape {tuple(loss.shape)}; "
                "use reduction='mean' or 'sum' so that it is one number"
            )
        loss.backward()
    values = [
        loss.data,
        *(a for t in traces for a in (t.z.data, t.h.data, t.weight_grad, t.bias_grad) if a is not None),
    ]
    if not all(backend.xp.isfinite(a).all() for a in values):
        raise ValueError(
            f"the forward or backward pass leaves the range of {loss.dtype} (the loss is "
            f"{loss.item():g}); give inputs nearer the data's scale"
        )
    return Trace(model, loss_fn, x, y, traces, loss)
