"""``Module`` and ``Parameter``: the containers that hold a network's weights.

A module registers every :class:`Parameter` and sub-module assigned to it as an attribute, so
``parameters()``, ``named_parameters()`` (names such as ``0.weight``), ``state_dict()`` and
``zero_grad()`` reach all of them, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from chainrule import backend
from chainrule.tensor import Tensor

assignments = 0
"""How many times a parameter or sub-module has been assigned to, or removed from, any module.

Kept plans (``Sequential``'s fused forward pass) note this count when they are made and are
remade when it has moved: one integer comparison per call instead of checking every module and
parameter they were made for.
"""


class Parameter(Tensor):
    """A tensor that is a weight of a module: a leaf with ``requires_grad=True`` by default."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and networks.

    Subclasses set parameters and sub-modules as attributes in ``__init__`` and implement
    ``forward``; calling the module calls ``forward``.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False after ``eval()``; read by ``Dropout`` and
        ``BatchNorm1d``.
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"call super().__init__() in {type(self).__name__}.__init__ before setting {name}")
        replaced = self._parameters.pop(name, None) is not None
        replaced = self._modules.pop(name, None) is not None or replaced
        if replaced or isinstance(value, (Parameter, Module)):
            global assignments
            assignments += 1
        if isinstance(value, Parameter):
            self._parameters[name] = value
            self._buffers.pop(name, None)
        elif isinstance(value, Module):
            self._modules[name] = value
            self._buffers.pop(name, None)
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array: Any) -> None:
        """Keep ``array`` (not trained, e.g. running statistics) in the state dict under ``name``."""
        self._buffers[name] = None
        object.__setattr__(self, name, array)

    def forward(self, *args: Any) -> Any:
        """The computation of this module; subclasses override it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------------ traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, module) for each direct sub-module."""
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        """The direct sub-modules."""
        yield from self._modules.values()

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """(name, module) for this module and every sub-module, depth first."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        """This module and every sub-module."""
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(name, parameter) for every parameter, named as in PyTorch (``0.weight``, ``fc.bias``)."""
        for module_name, module in self.named_modules(prefix):
            for name, parameter in module._parameters.items():
                yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self) -> Iterator[Parameter]:
        """Every parameter, in registration order."""
        for _, parameter in self.named_parameters():
            yield parameter

    def named_buffers(self) -> Iterator[tuple[str, Any]]:
        """(name, array) for every buffer."""
        for module_name, module in self.named_modules():
            for name in module._buffers:
                yield (f"{module_name}.{name}" if module_name else name), getattr(module, name)

    # ------------------------------------------------------------------ modes and gradients
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every sub-module."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``Dropout`` off, ``BatchNorm1d`` uses running statistics)."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters (``.grad = None``, as PyTorch does by default)."""
        for parameter in self.parameters():
            parameter.grad = None

    def to(self, dtype: Any) -> Module:
        """Convert every parameter and floating buffer to ``dtype`` in place; returns ``self``."""
        dtype = backend.resolve_dtype(dtype)
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        for module in self.modules():
            for name in module._buffers:
                array = getattr(module, name)
                if backend.is_floating(array.dtype):
                    object.__setattr__(module, name, array.astype(dtype))
        return self

    def double(self) -> Module:
        """Convert to float64."""
        return self.to(backend.float64)

    def float(self) -> Module:
        """Convert to float32."""
        return self.to(backend.float32)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """Name → array for every parameter and buffer.

        Ordered as PyTorch's: module by module, each one's parameters then its buffers.  The arrays
        are the module's own (not copies), as in PyTorch; copy them to keep a snapshot.
        """
        state = {}
        for module_name, module in self.named_modules():
            prefix = f"{module_name}." if module_name else ""
            state.update({prefix + name: parameter.data for name, parameter in module._parameters.items()})
            state.update({prefix + name: getattr(module, name) for name in module._buffers})
        return state

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers in place, checking names and shapes.

        Values are converted to the dtype of the model's arrays (as PyTorch's ``copy_``), so a
        float64 state dict loads into a float32 model and the other way round.

        Raises
        ------
        KeyError
            With ``strict``, if a name is missing or unexpected (both lists are given).
        ValueError
            If an array's shape differs from the parameter's.
        """
        own = self.state_dict()
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"state_dict does not match the model: missing {missing}, unexpected {unexpected}")
        for name, value in state_dict.items():
            if name not in own:
                continue
            value = value.data if isinstance(value, Tensor) else backend.xp.asarray(value)
            if value.shape != own[name].shape:
                raise ValueError(
                    f"state_dict entry {name!r} has shape {tuple(value.shape)}, the model's has "
                    f"shape {tuple(own[name].shape)}"
                )
            own[name][...] = value  # the parameter's or buffer's own array

    # ------------------------------------------------------------------ display
    def summary(self, input_shape: Any = None, print_fn: Any = print) -> None:
        """Print Keras's summary table: each sub-module's name and class, output shape and number
        of parameters, then the totals (all, trainable, and frozen: ``requires_grad_(False)``)
        and the memory they take.

        ``input_shape`` is the shape of one sample, without the batch axis (``(28, 28)``); the
        output shapes come from one forward pass of a batch of one, in evaluation mode without the
        graph (shown as ``(None, …)``, the batch axis left open).  Without it the shape is read
        from a first ``Linear`` layer, else the shapes are shown as ``?``.  ``print_fn`` receives
        the table as one string (``print`` by default).

        Examples
        --------
        >>> nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1)).summary()
        """
        from chainrule.nn.summary import summary

        print_fn(summary(self, input_shape))

    def extra_repr(self) -> str:
        """The arguments shown in ``repr``, e.g. ``in_features=2, out_features=1``."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(child).replace("\n", "\n  ") for name, child in self._modules.items()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
