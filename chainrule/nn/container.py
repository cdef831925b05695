"""``Sequential``: layers applied one after another."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, NamedTuple

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
        if FUSE_LAYERS and isinstance(x, Tensor):
            out = self._fused_forward(x)
            if out is not None:
                return out
        for module in self._modules.values():
            x = module(x)
        return x

    def _fused_forward(self, x: Tensor) -> Tensor | None:
        """The output as one :class:`~chainrule.ops.mlp.MLP` node, or ``None`` if the modules do
        not qualify (see the class docstring) and must run one by one.

        The layout of the chain is worked out once and kept (``_fusion``) with the modules it was
        made for; each call checks that the modules, their biases and activation options are
        still those, then gathers the parameters and checks their dtypes.
        """
        modules = tuple(self._modules.values())
        plan = self.__dict__.get("_fusion")
        if (
            plan is None
            or plan.modules != modules
            or any(module.options() != plan.layout[index][2] for index, module in plan.tunable)
        ):
            plan = _fusion_plan(modules)
            object.__setattr__(self, "_fusion", plan)
        if plan.layout is None:
            return None
        dtype = x.data.dtype
        parents: list[Tensor] = [x]
        for module, (has_bias, _, _) in zip(plan.linears, plan.layout):
            weight, bias = module.weight, module.bias
            if (bias is not None) is not has_bias:
                object.__setattr__(self, "_fusion", None)  # a bias added or removed: plan again
                return self._fused_forward(x)
            if weight.data.dtype != dtype or (has_bias and bias.data.dtype != dtype):
                return None
            parents.append(weight)
            if has_bias:
                parents.append(bias)
        plan.linears[0].check_input(x)
        for module, following in zip(plan.linears, plan.linears[1:]):
            if module.weight.data.shape[0] != following.in_features:
                return None  # the module-by-module path raises the error at this layer
        if len(set(parents)) != len(parents):  # a shared parameter: keep the engine's order of sums
            return None
        return apply_op(MLP, tuple(parents), layout=plan.layout)

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


class FusionPlan(NamedTuple):
    """How a ``Sequential`` runs as one :class:`~chainrule.ops.mlp.MLP` node.

    ``layout`` has one ``(has_bias, activation op or None, its options)`` per ``Linear`` layer,
    or is ``None`` when the modules are not such a chain; ``tunable`` lists (layer index,
    activation module) for activations with options (``LeakyReLU``), which are checked per call.
    """

    modules: tuple
    linears: tuple
    layout: tuple | None
    tunable: tuple


def _fusion_plan(modules: tuple) -> FusionPlan:
    """The :class:`FusionPlan` of ``modules``: ``Linear`` layers each followed by at most one of
    :data:`FUSABLE_ACTIVATIONS`, or a plan with ``layout=None``."""
    linears: list[Linear] = []
    layout: list[list] = []
    tunable = []
    for module in modules:
        kind = type(module)
        if kind is Linear:
            linears.append(module)
            layout.append([module.bias is not None, None, {}])
        elif kind in FUSABLE_ACTIVATIONS and layout and layout[-1][1] is None:
            layout[-1][1:] = module.function, module.options()
            if layout[-1][2]:
                tunable.append((len(layout) - 1, module))
        else:
            return FusionPlan(modules, (), None, ())
    if len(modules) < 2:
        return FusionPlan(modules, (), None, ())
    return FusionPlan(modules, tuple(linears), tuple(tuple(entry) for entry in layout), tuple(tunable))
