"""One table of element-wise activations and one of losses: every reader looks a name up here.

Each activation and each loss declares itself once, with a decorator on its module class
(:func:`activation` in :mod:`chainrule.nn.activation`, :func:`loss` in :mod:`chainrule.nn.loss`):
its name as ``chainrule train --activation``/``--loss``, the checkpoint's training config and the
page spell it, its module and graph op, whether ``Sequential`` may fuse it, and its formulas in
terminal text and LaTeX in the seeds' notation.  The training names (``training/names.py``, read
by ``chainrule train``, ``TrainConfig`` and ``Trainer``), ``cli/explain.py``, synthetic data
(``data/synthetic.py``), the fused forward pass (``nn/container.py``), checkpoint specs
(``io/spec.py``), ``chainrule.explain`` and the training-health statistics read these tables
instead of keeping their own, as scikit-learn's ``ACTIVATIONS``/``DERIVATIVES``/``LOSS_FUNCTIONS``
are read by its MLPs.

The derivative an activation's backward pass multiplies by is its op's ``derivative()``
(:class:`chainrule.ops.elementwise.Activation`), by construction; the formulas here describe it.

Formulas are templates: ``{z}``, ``{h}`` stand for the unit's symbols (z¹₁, h¹₁), ``{z_value}``,
``{h_value}`` for their values, ``{z_factor}``, ``{h_factor}`` for the values as factors of a
product (a negative one in parentheses), ``{z_vs_0}`` for "> 0" or "≤ 0", and an option's name
(``{alpha}``) for its value; losses use ``{h}``, ``{y}`` (one output and its target, or hᴸ for
the whole output in ``formula``), ``{k}`` (the output's number), ``{c}`` (the target class's
number) and the same ``_value``/``_factor`` forms.  Any other ``{…}`` (LaTeX's ``\\frac{1}{2}``)
is left as written.  Adding an activation takes two files: its op in ``ops/elementwise.py`` and
its module with this declaration in ``nn/activation.py``.

Examples
--------
>>> registry.ACTIVATIONS["gelu-tanh"].make()
GELU(approximate='tanh')
>>> registry.LOSSES["mse"].module
<class 'chainrule.nn.loss.MSELoss'>
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Formula:
    """One formula template in terminal ``text`` and ``latex`` (without ``$``).

    ``latex=None`` means the text's own LaTeX spelling (``chainrule.diagnostics.notation.to_latex``),
    for templates of numbers and operators only.
    """

    text: str
    latex: str | None = None


@dataclass(frozen=True)
class ActivationEntry:
    """Everything about one element-wise activation h = f(z), in one form (GELU has two).

    Attributes
    ----------
    name : str
        Lower case with hyphens, e.g. ``"gelu-tanh"``: ``chainrule train --activation``, the
        checkpoint's ``config["activation"]``, the page.  The checkpoint's architecture names the
        module class instead (``{"type": "GELU", "approximate": "tanh"}``).
    module : type
        The :class:`~chainrule.nn.activation.ElementwiseActivation` subclass; its ``function`` is
        the graph op and its ``arguments`` the constructor arguments a checkpoint stores.
    options : Mapping
        The constructor arguments that make this form (``{"approximate": "tanh"}``).
    call : Formula
        hˡ_k written as a function of zˡ_k in a forward pass: ``"σ({z})"``.
    definition : Formula
        The function itself, in z: ``"1 / (1 + e⁻ᶻ)"``.
    derivative : Formula
        ∂h/∂z in symbols: ``"σ({z})(1 − σ({z})) = {h}(1 − {h})"``.
    numbers : Formula or None
        ∂h/∂z with the unit's numbers: ``"{h_factor} × (1 − {h_factor})"`` (None: no such line).
    constant : bool
        Whether ``derivative`` already states the value (a linear unit's 1), so that a
        walk-through does not repeat it.
    label : str
        How a walk-through names the units (``"2 sigmoid units"``); ``name`` unless given.
    note : str
        A note after hˡ_k = … in a forward pass (``"linear"`` for the identity).
    fusable : bool
        Whether ``Sequential`` may run it inside its fused node (its op's backward needs no parents).
    """

    name: str
    module: type
    call: Formula
    definition: Formula
    derivative: Formula
    numbers: Formula | None
    options: Mapping[str, Any] = field(default_factory=dict)
    constant: bool = False
    label: str = ""
    note: str = ""
    fusable: bool = True

    @property
    def op(self) -> type:
        """The graph op (:mod:`chainrule.ops.elementwise`) the module records."""
        return self.module.function

    @property
    def unit_label(self) -> str:
        """``label``, or ``name`` without one."""
        return self.label or self.name

    def make(self, **options: Any) -> Any:
        """A new module of this form; ``options`` override the form's own."""
        return self.module(**{**self.options, **options})

    def matches(self, module: Any) -> bool:
        """Whether ``module`` is this class (or a subclass) with this form's options."""
        return isinstance(module, self.module) and all(getattr(module, k) == v for k, v in self.options.items())


@dataclass(frozen=True)
class LossEntry:
    """Everything about one loss function.

    Attributes
    ----------
    name : str
        ``chainrule train --loss``/``chainrule explain --loss`` and ``config["loss"]``: ``"mse"``.
    module : type
        The loss module (:mod:`chainrule.nn.loss`).
    op : type or None
        Its fused graph op (:mod:`chainrule.ops.losses`), or None for a loss made of other ops.
    task : str or None
        ``"regression"`` or ``"classification"``: the task ``chainrule train`` offers it for
        (None: not offered, e.g. a loss on probabilities, which ``train``'s models do not output).
    mean_over : str
        What ``reduction="mean"`` divides by: ``"elements"`` (every output of every sample) or
        ``"samples"``.
    formula : Formula
        The loss of one sample, in ``{h}`` (the output hᴸ) and y: ``"Σ_k ({h}_k − y_k)²"``.
    derivative : Formula
        ∂L/∂hᴸ_k of one sample in ``{h}``, ``{y}`` (hᴸ_k, y_k): ``"2({h} − {y})"``.
    numbers : Formula or None
        The derivative with the numbers: ``"2 × ({h_factor} − {y_factor})"``.
    term, term_numbers : Formula or None
        For a sum of squares over the outputs, one output's term in symbols and in numbers
        (``"({y} − {h})²"``): a walk-through writes the loss of one sample out with them.
    term_scale : Formula or None
        The factor before that sum (½ for the seeds' loss).
    arguments : tuple of str
        Constructor arguments the formulas name (``("delta",)`` for Huber).
    """

    name: str
    module: type
    op: type | None
    task: str | None
    mean_over: str
    formula: Formula
    derivative: Formula
    numbers: Formula | None = None
    term: Formula | None = None
    term_numbers: Formula | None = None
    term_scale: Formula | None = None
    arguments: tuple[str, ...] = ()

    def make(self, **options: Any) -> Any:
        """A new loss module (``reduction="mean"`` unless given)."""
        return self.module(**options)


ACTIVATIONS: dict[str, ActivationEntry] = {}
"""Name → :class:`ActivationEntry`, in the order declared (filled by :func:`activation`)."""
LOSSES: dict[str, LossEntry] = {}
"""Name → :class:`LossEntry`, in the order declared (filled by :func:`loss`)."""
FUSABLE: set[type] = set()
"""The activation module classes ``Sequential`` may fuse (exact classes, not subclasses)."""


def activation(name: str, **fields: Any) -> Callable[[type], type]:
    """Class decorator that declares one form of an activation module (see :class:`ActivationEntry`).

    Stack two for two forms (the lower one is declared first)::

        @activation("gelu-tanh", options={"approximate": "tanh"}, call=..., ...)
        @activation("gelu", options={"approximate": "none"}, call=..., ...)
        class GELU(ElementwiseActivation): ...
    """

    def declare(module: type) -> type:
        _check_new(name, ACTIVATIONS, "activation")
        entry = ActivationEntry(name, module, **fields)
        ACTIVATIONS[name] = entry
        if entry.fusable:
            FUSABLE.add(module)
        return module

    return declare


def loss(name: str, **fields: Any) -> Callable[[type], type]:
    """Class decorator that declares a loss module (see :class:`LossEntry`)."""

    def declare(module: type) -> type:
        _check_new(name, LOSSES, "loss")
        LOSSES[name] = LossEntry(name, module, **fields)
        return module

    return declare


def _check_new(name: str, table: dict, what: str) -> None:
    if name in table:
        raise ValueError(f"the {what} name {name!r} is declared twice; give the new one another name")


def activation_entry(what: Any) -> ActivationEntry:
    """The entry of an activation given by name (``"gelu"``) or as a module (``nn.GELU()``).

    A module with options no form names (``Softplus(beta=2)``) gets the entry of its class's form
    with the most matching options; a subclass of a declared module, its base class's.

    Raises
    ------
    ValueError
        For an unknown name or a module that is not a declared element-wise activation; the
        message lists the known names.
    """
    if isinstance(what, str):
        entry = ACTIVATIONS.get(what.strip().lower())
        if entry is None:
            raise ValueError(f"unknown activation {what!r}; choose one of {', '.join(ACTIVATIONS)}")
        return entry
    forms = [entry for entry in ACTIVATIONS.values() if type(what) is entry.module] or [
        entry for entry in ACTIVATIONS.values() if isinstance(what, entry.module)
    ]
    matching = [entry for entry in forms if entry.matches(what)]
    if not matching:
        if forms:
            return forms[0]
        known = ", ".join(sorted({entry.module.__name__ for entry in ACTIVATIONS.values()}))
        raise ValueError(f"{type(what).__name__} is not a declared element-wise activation; known: {known}")
    return max(matching, key=lambda entry: len(entry.options))


def loss_entry(what: Any) -> LossEntry | None:
    """The entry of a loss given by name (``"mse"``, a class name such as ``"MSELoss"`` or ``"mseloss"``)
    or as a module (``nn.MSELoss()``); None for a loss module that is not declared.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known names.
    """
    if not isinstance(what, str):
        return next((entry for entry in LOSSES.values() if type(what) is entry.module), None)
    key = what.strip().lower()
    for entry in LOSSES.values():
        class_name = entry.module.__name__.lower()
        if key in (entry.name, class_name, class_name.removesuffix("loss")):
            return entry
    raise ValueError(f"unknown loss {what!r}; choose one of {', '.join(LOSSES)}")


def activation_modules() -> tuple[type, ...]:
    """The declared activation module classes, each once, in declaration order."""
    return tuple(dict.fromkeys(entry.module for entry in ACTIVATIONS.values()))


def loss_names(task: str) -> tuple[str, ...]:
    """The losses ``chainrule train`` offers for ``task``, the default first."""
    return tuple(name for name, entry in LOSSES.items() if entry.task == task)
