"""A fused multilayer perceptron: one graph node for a chain of Linear layers and activations.

``Sequential(Linear, f¹, Linear, f², …)`` records one node per layer and per activation; this op
records one node for the whole chain.  Its forward pass runs, layer by layer, the very
:class:`~chainrule.ops.layers.Linear` and activation nodes the modules would record (one object
each, kept in ``self.layers``), and its backward pass walks them in reverse, which is the chain
rule of backpropagation:

    δᴸ = ∂L/∂hᴸ ⊙ f′(zᴸ),    δˡ = δˡ⁺¹ Wˡ⁺¹ ⊙ f′(zˡ),
    ∂L/∂Wˡ = (δˡ)ᵀ hˡ⁻¹,     ∂L/∂bˡ = Σ_samples δˡ,     ∂L/∂x = δ¹ W¹.

Every array operation is the one the per-layer nodes do, in the same order, so values and
gradients are the same to the last bit; what is saved is the bookkeeping per node (a tensor, a
graph node and its parents, the backward engine's sort and accumulation between them).
"""

from __future__ import annotations

from typing import Any

from chainrule.autograd import Function
from chainrule.ops.layers import Linear


class MLP(Function):
    """x → hᴸ through L layers  zˡ = hˡ⁻¹ (Wˡ)ᵀ + bˡ,  hˡ = fˡ(zˡ)  (h⁰ = x), as one node.

    Parents are ``(x, W¹[, b¹], W²[, b²], …)``; ``layout`` has one entry per layer,
    ``(has_bias, activation_class or None, activation_options)``, with ``activation_class`` an
    element-wise :class:`~chainrule.autograd.Function` whose ``backward`` needs no parents.
    ``self.layers`` holds each layer's ``(Linear node, activation node or None)`` after forward.
    """

    def forward(self, x, *params, layout=()):
        self.layers: list[tuple[Linear, Any]] = []
        h, index = x, 0
        for has_bias, activation_class, options in layout:
            linear = Linear()
            if has_bias:
                h = linear.forward(h, params[index], params[index + 1])
                index += 2
            else:
                h = linear.forward(h, params[index])
                index += 1
            activation = None
            if activation_class is not None:
                activation = activation_class()
                h = activation.forward(h, **options)
            self.layers.append((linear, activation))
        return h

    def backward(self, grad):
        grads: list[Any] = []
        layers = self.layers
        for number in range(len(layers) - 1, -1, -1):
            linear, activation = layers[number]
            if activation is not None:
                (grad,) = activation.backward(grad)
            needs_input = number > 0 or self.parents[0].requires_grad
            grad, grad_w, grad_b = linear.gradients(grad, needs_input)
            grads.extend((grad_b, grad_w) if linear.has_bias else (grad_w,))
        grads.append(grad)
        grads.reverse()
        return grads
