"""chainrule: neural networks from scratch on NumPy, where every number can be seen and checked.

Forward propagation, a loss, backpropagation by the chain rule and gradient-descent updates, with
PyTorch's names: ``chainrule.tensor``, ``Tensor.backward``, ``nn.Linear``, ``optim.SGD``.
"""

import importlib
from typing import Any

from chainrule import backend
from chainrule.autograd import enable_grad, is_grad_enabled, no_grad
from chainrule.backend import float32, float64, manual_seed
from chainrule.tensor import Tensor, argmax, argmin, cat, concatenate, ones, rand, randn, stack, tensor, where, zeros

__version__ = "0.1.0"

float = float32  # noqa: A001 - PyTorch's names of the dtypes: t.type(chainrule.float), t.to(chainrule.long)
double = float64
int64 = long = backend.xp.dtype("int64")

_SUBPACKAGES = ("nn", "optim", "data", "training", "io", "diagnostics", "plots")
_DIAGNOSTICS = ("explain", "gradcheck")


def __getattr__(name: str) -> Any:
    """Load the higher layers on first use, so ``import chainrule`` stays light.

    ``chainrule.nn``, ``chainrule.optim``, … are the subpackages; ``chainrule.explain`` and
    ``chainrule.gradcheck`` are the functions of :mod:`chainrule.diagnostics`.
    """
    if name in _SUBPACKAGES:
        return importlib.import_module(f"chainrule.{name}")
    if name in _DIAGNOSTICS:
        return getattr(importlib.import_module("chainrule.diagnostics"), name)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")


__all__ = [
    "Tensor",
    "argmax",
    "argmin",
    "cat",
    "concatenate",
    "double",
    "enable_grad",
    "explain",
    "float",
    "float32",
    "float64",
    "gradcheck",
    "int64",
    "is_grad_enabled",
    "long",
    "manual_seed",
    "no_grad",
    "ones",
    "rand",
    "randn",
    "stack",
    "tensor",
    "where",
    "zeros",
]
