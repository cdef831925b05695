"""``Sequential``: layers applied one after another."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from operator import attrgetter, is_
from typing import Any, NamedTuple

from chainrule.nn import module, registry
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.ops.mlp import MLP
from chainrule.tensor import Tensor, apply_op

FUSE_LAYERS = True
"""Whether a ``Sequential`` of ``Linear`` layers and element-wise activations records one fused
node (:class:`chainrule.ops.mlp.MLP`) instead of one per module; the results are the same either
way up to rounding (the tests switch it off and compare to 1e-12 in float64)."""

FUSABLE_ACTIVATIONS = registry.FUSABLE
"""The activation classes a fused node may hold: those the registry declares fusable."""

_data = attrgetter("data")


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Sub-modules are named ``0``, ``1``, … (or by an ``OrderedDict``), so the first layer's weight
    is ``0.weight``.  Indexable (``model[0]``, ``model[-1]``, ``model[1:]``), iterable and sized.

    Fast path: when the modules are ``Linear`` layers, each followed by at most one of
    :data:`FUSABLE_ACTIVATIONS` (``Tanh``, ``ReLU``, ``GELU``, …: exactly these classes, not
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
            for name, layer in modules[0].items():
                setattr(self, name, layer)
        else:
            for index, layer in enumerate(modules):
                setattr(self, str(index), layer)

    def forward(self, x: Any) -> Any:
        if FUSE_LAYERS and isinstance(x, Tensor):
            out = self._fused_forward(x)
            if out is not None:
                return out
        for layer in self._modules.values():
            x = layer(x)
        return x

    def _fused_forward(self, x: Tensor) -> Tensor | None:
        """The output as one :class:`~chainrule.ops.mlp.MLP` node, or ``None`` if the modules do
        not qualify (see the class docstring) and must run one by one.

        What qualifies is worked out once (:func:`fusion_plan`) and kept in ``_fusion``; each call
        checks that it still holds (:func:`plan_holds`) and that ``x`` fits.
        """
        plan = self.__dict__.get("_fusion")
        if plan is None or not plan_holds(plan):
            plan = fusion_plan(tuple(self._modules.values()))
            object.__setattr__(self, "_fusion", plan)
        if plan.layout is None or x.data.dtype != plan.dtype:
            return None
        shape = x.data.shape
        if not shape or shape[-1] != plan.in_features:
            plan.linears[0].check_input(x)  # raises, naming the layer
        return apply_op(MLP, (x, *plan.params), layout=plan.layout)

    def append(self, layer: Module) -> Sequential:
        """Add ``layer`` at the end."""
        setattr(self, str(len(self)), layer)
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
    ``assignments`` is :data:`chainrule.nn.module.assignments` then, ``tunable`` holds (layer
    index, activation) for the activations with options (``LeakyReLU``).
    """

    assignments: int
    params: tuple = ()
    arrays: tuple = ()
    dtype: Any = None
    linears: tuple = ()
    in_features: int = 0
    layout: tuple | None = None
    tunable: tuple = ()


def plan_holds(plan: FusionPlan) -> bool:
    """Whether ``plan`` still describes its ``Sequential``: no parameter or module has been
    assigned anywhere since it was made (which covers new layers and parameters), each parameter
    still holds the same array, and each activation's options are the same."""
    if plan.assignments != module.assignments or not all(map(is_, map(_data, plan.params), plan.arrays)):
        return False
    return not plan.tunable or all(layer.options() == plan.layout[index][2] for index, layer in plan.tunable)


def fusion_plan(modules: tuple) -> FusionPlan:
    """The :class:`FusionPlan` of ``modules``: they qualify if they are ``Linear`` layers, each
    followed by at most one of :data:`FUSABLE_ACTIVATIONS`, whose parameters share one dtype,
    whose shapes chain and of which none is used twice."""
    changes = module.assignments
    linears: list[Linear] = []
    layout: list[list] = []
    tunable = []
    for layer in modules:
        kind = type(layer)
        if kind is Linear:
            linears.append(layer)
            layout.append([layer.bias is not None, None, {}])
        elif kind in FUSABLE_ACTIVATIONS and layout and layout[-1][1] is None:
            layout[-1][1:] = layer.function, layer.options()
            if layout[-1][2]:
                tunable.append((len(layout) - 1, layer))
        else:
            return FusionPlan(changes)
    params = tuple(p for layer in linears for p in (layer.weight, layer.bias) if p is not None)
    arrays = tuple(p.data for p in params)
    unfused = FusionPlan(changes, params, arrays)
    if len(modules) < 2 or len(set(params)) != len(params):  # shared parameters: keep the engine's sums
        return unfused
    dtype = arrays[0].dtype
    if any(array.dtype != dtype for array in arrays):
        return unfused
    for layer, following in itertools.pairwise(linears):
        if layer.weight.data.shape[0] != following.in_features:
            return unfused  # the module-by-module path raises the error at this layer
    return FusionPlan(
        changes,
        params,
        arrays,
        dtype,
        tuple(linears),
        linears[0].in_features,
        tuple(tuple(entry) for entry in layout),
        tuple(tunable),
    )
