"""``Sequential``: layers applied one after another."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from chainrule.nn.activation import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.ops.mlp import MLP
from chainrule.tensor import Tensor, apply_op

FUSE_LAYERS = True
"""Whether a ``Sequential`` of ``Linear`` layers and element-wise activations records one fused
node (:class:`chainrule.ops.mlp.MLP`) instead of one per module; the results are the same to
the bit either way (the tests switch it off to check that)."""

FUSABLE_ACTIVATIONS = (Identity, Sigmoid, Tanh, ReLU, LeakyReLU)


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Sub-modules are named ``0``, ``1``, … (or by an ``OrderedDict``), so the first layer's weight
    is ``0.weight``.  Indexable (``model[0]``, ``model[-1]``, ``model[1:]``), iterable and sized.

    Fast path: when the modules are ``Linear`` layers, each followed by at most one of
    ``Identity``, ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU`` (exactly these classes, not
    subclasses), the input is a ``Tensor`` of the parameters' dtype and no parameter appears
    twice, the forward pass records one graph node, :class:`chainrule.ops.mlp.MLP`, instead of
    one per module.  That node runs the same per-layer ``Linear`` and activation nodes inside it
    (the same array operations in the same order, so values and gradients are identical to the
    bit) and its backward applies the chain rule layer by layer,
    δˡ = δˡ⁺¹ Wˡ⁺¹ ⊙ f′(zˡ), ∂L/∂Wˡ = (δˡ)ᵀ hˡ⁻¹, ∂L/∂bˡ = Σ δˡ.  The parameters (and the input,
    if it requires grad) get ``.grad`` as usual and ``no_grad`` applies; the hidden values zˡ, hˡ
    are not tensors, so they cannot ``retain_grad()``: to see them, call the layers one by one
    (``for layer in model: x = layer(x)``, as ``chainrule.explain`` does).  Anything else
    (``Dropout``, ``BatchNorm1d``, nested or custom modules, an activation first or two in a row,
    a NumPy input) runs module by module.  :data:`FUSE_LAYERS` switches the fast path off.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))
    """

    def __init__(self, *modules: Module | OrderedDict) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                setattr(self, name, module)
        else:
            for index, module in enumerate(modules):
                setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        if FUSE_LAYERS and isinstance(x, Tensor) and len(self._modules) > 1:
            out = self._fused_forward(x)
            if out is not None:
                return out
        for module in self._modules.values():
            x = module(x)
        return x

    def _fused_forward(self, x: Tensor) -> Tensor | None:
        """The output as one :class:`~chainrule.ops.mlp.MLP` node, or ``None`` if the modules do
        not qualify (see the class docstring) and must run one by one."""
        dtype = x.data.dtype
        parents: list[Tensor] = [x]
        layout: list[list] = []  # per Linear: [has_bias, activation op or None, its options]
        previous: Linear | None = None
        for module in self._modules.values():
            kind = type(module)
            if kind is Linear:
                if previous is None:
                    module.check_input(x)
                elif previous.weight.data.shape[0] != module.in_features:
                    return None  # the module-by-module path raises the error at this layer
                weight, bias = module.weight, module.bias
                if weight.data.dtype != dtype or (bias is not None and bias.data.dtype != dtype):
                    return None
                parents.append(weight)
                if bias is not None:
                    parents.append(bias)
                layout.append([bias is not None, None, None])
                previous = module
            elif kind in FUSABLE_ACTIVATIONS and layout and layout[-1][1] is None:
                layout[-1][1:] = module.function, module.options()
            else:
                return None
        if len(set(parents)) != len(parents):  # a shared parameter: keep the engine's order of sums
            return None
        return apply_op(MLP, tuple(parents), layout=layout)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end."""
        setattr(self, str(len(self)), module)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]
