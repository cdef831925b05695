"""A fused multilayer perceptron: one graph node for a chain of Linear layers and activations.

``Sequential(Linear, f¹, Linear, f², …)`` records one node per layer and per activation; this op
records one node for the whole chain.  Its forward pass computes, layer by layer,

    zˡ = hˡ⁻¹ (Wˡ)ᵀ + bˡ,    hˡ = fˡ(zˡ),    h⁰ = x,

keeping each layer's input hˡ⁻¹ and activation node (which keeps what f′ needs), and its backward
pass is the chain rule of backpropagation, walked from the last layer to the first:

    δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),    δˡ = δˡ⁺¹ Wˡ⁺¹ ⊙ f′(zˡ),
    ∂L/∂Wˡ = (δˡ)ᵀ hˡ⁻¹,     ∂L/∂bˡ = Σ_samples δˡ,     ∂L/∂x = δ¹ W¹.

These are the formulas of the per-layer nodes (:class:`~chainrule.ops.layers.Linear` and the
activations of :mod:`~chainrule.ops.elementwise`), written out once for the whole chain: what is
saved is the bookkeeping per node (a tensor, a graph node and its parents, the backward engine's
sort and accumulation between them); 1-D and N-D inputs are flattened to rows once, not per layer.
"""

from __future__ import annotations

from chainrule.autograd import Function
from chainrule.ops.layers import affine, column_sums, product


class MLP(Function):
    """x → hᴸ through L layers  zˡ = hˡ⁻¹ (Wˡ)ᵀ + bˡ,  hˡ = fˡ(zˡ)  (h⁰ = x), as one node.

    Parents are ``(x, W¹[, b¹], W²[, b²], …)``; ``layout`` has one entry per layer,
    ``(has_bias, activation_class or None, activation_options)``, with ``activation_class`` an
    element-wise :class:`~chainrule.autograd.Function` whose ``backward`` needs no parents.
    ``x`` has one or more leading axes of samples (``(in,)``, ``(N, in)``, ``(N, M, in)``, …).
    All parents share one dtype (``Sequential`` checks it), so every gradient is a new product or
    sum of that dtype and of its parent's shape (:attr:`~chainrule.autograd.Function.exact_gradients`).
    """

    exact_gradients = True

    def forward(self, x, *params, layout=()):
        self.shape = x.shape
        h = x if x.ndim == 2 else x.reshape(-1, x.shape[-1])
        self.layers = layers = []  # per layer: (input hˡ⁻¹, Wˡ, has bias, activation node or None)
        index = 0
        for has_bias, activation_class, options in layout:
            weight = params[index]
            z = affine(h, weight, params[index + 1] if has_bias else None)
            index += 1 + has_bias
            activation = None
            if activation_class is not None:
                activation = activation_class()
                z = activation.forward(z, **options)
            layers.append((h, weight, has_bias, activation))
            h = z
        return h if x.ndim == 2 else h.reshape(*self.shape[:-1], h.shape[-1])

    def backward(self, grad):
        if grad.ndim != 2:
            grad = grad.reshape(-1, grad.shape[-1])
        grads = []
        layers = self.layers
        for number in range(len(layers) - 1, -1, -1):
            h, weight, has_bias, activation = layers[number]
            if activation is not None:
                (grad,) = activation.backward(grad)
            if has_bias:
                grads.append(column_sums(grad))  # ∂L/∂bˡ = Σ_samples δˡ
            grads.append(product(grad.T, h))  # ∂L/∂Wˡ = (δˡ)ᵀ hˡ⁻¹: BLAS reads the transposed view as is
            # ∂L/∂hˡ⁻¹ = δˡ Wˡ (not for the input unless it requires a gradient)
            grad = product(grad, weight) if number or self.parents[0].requires_grad else None
        if grad is not None and len(self.shape) != 2:
            grad = grad.reshape(self.shape)
        grads.append(grad)
        grads.reverse()
        return grads
