"""``Sequential``: layers applied one after another."""

from __future__ import annotations

import itertools
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
node (:class:`chainrule.ops.mlp.MLP`) instead of one per module; the results are the same either
way up to rounding (the tests switch it off and compare to 1e-12 in float64)."""

FUSABLE_ACTIVATIONS = (Identity, Sigmoid, Tanh, ReLU, LeakyReLU)


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Sub-modules are named ``0``, ``1``, … (or by an ``OrderedDict``), so the first layer's weight
    is ``0.weight``.  Indexable (``model[0]``, ``model[-1]``, ``model[1:]``), iterable and sized.

    Fast path: when the modules are ``Linear`` layers, each followed by at most one of
    ``Identity``, ``Sigmoid``, ``Tanh``, ``ReLU``, ``LeakyReLU`` (exactly these classes, not
    subclasses), the input is a ``Tensor`` of the parameters' dtype and no parameter appears
    twice, the forward pass records one graph node, :class:`chainrule.ops.mlp.MLP`, instead of
    one per module.  That node computes the per-layer formulas inside it (the same values and
    gradients up to rounding) and its backward applies the chain rule layer by layer,
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

        What qualifies is worked out once (:func:`fusion_plan`) and kept in ``_fusion`` with the
        modules, parameters and parameter arrays it was worked out for; each call checks that
        they are still the same objects (:func:`plan_holds`) and that ``x`` fits.
        """
        plan = self.__dict__.get("_fusion")
        if plan is None or not plan_holds(plan, self._modules):
            plan = fusion_plan(tuple(self._modules.values()))
            object.__setattr__(self, "_fusion", plan)
        if plan.layout is None or x.data.dtype != plan.dtype:
            return None
        plan.linears[0].check_input(x)
        return apply_op(MLP, (x, *plan.params), layout=plan.layout)

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
    or is ``None`` when the modules do not qualify.  ``params`` are the parameters in the order
    of the node's parents, ``arrays`` their ``data`` when the plan was made, ``dtype`` theirs;
    ``owners`` holds each Linear with its weight and bias, ``tunable`` (layer index, activation)
    for the activations with options (``LeakyReLU``).
    """

    modules: tuple
    owners: tuple = ()
    params: tuple = ()
    arrays: tuple = ()
    dtype: Any = None
    linears: tuple = ()
    layout: tuple | None = None
    tunable: tuple = ()


def plan_holds(plan: FusionPlan, modules: dict) -> bool:
    """Whether ``plan`` was made for these modules, parameters and parameter arrays as they are now."""
    if len(modules) != len(plan.modules):
        return False
    for module, planned in zip(modules.values(), plan.modules):
        if module is not planned:
            return False
    for module, weight, bias in plan.owners:
        if module.weight is not weight or module.bias is not bias:
            return False
    for parameter, array in zip(plan.params, plan.arrays):
        if parameter.data is not array:
            return False
    if plan.tunable:
        return all(module.options() == plan.layout[index][2] for index, module in plan.tunable)
    return True


def fusion_plan(modules: tuple) -> FusionPlan:
    """The :class:`FusionPlan` of ``modules``: they qualify if they are ``Linear`` layers, each
    followed by at most one of :data:`FUSABLE_ACTIVATIONS`, whose parameters share one dtype,
    whose shapes chain and of which none is used twice."""
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
            return FusionPlan(modules)
    owners = tuple((module, module.weight, module.bias) for module in linears)
    params = tuple(p for _, weight, bias in owners for p in (weight, bias) if p is not None)
    arrays = tuple(p.data for p in params)
    unfused = FusionPlan(modules, owners, params, arrays)
    if len(modules) < 2 or len(set(params)) != len(params):  # shared parameters: keep the engine's sums
        return unfused
    dtype = arrays[0].dtype
    if any(array.dtype != dtype for array in arrays):
        return unfused
    for module, following in itertools.pairwise(linears):
        if module.weight.data.shape[0] != following.in_features:
            return unfused  # the module-by-module path raises the error at this layer
    return FusionPlan(
        modules, owners, params, arrays, dtype, tuple(linears), tuple(tuple(entry) for entry in layout), tuple(tunable)
    )
