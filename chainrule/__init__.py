"""chainrule: neural networks from scratch on NumPy, where every number can be seen and checked.

Forward propagation, a loss, backpropagation by the chain rule and gradient-descent updates, with
PyTorch's names: ``chainrule.tensor``, ``Tensor.backward``, ``nn.Linear``, ``optim.SGD``.
"""

from chainrule.autograd import enable_grad, is_grad_enabled, no_grad
from chainrule.backend import float32, float64, manual_seed
from chainrule.tensor import Tensor, cat, concatenate, ones, rand, randn, stack, tensor, where, zeros

__version__ = "0.1.0"

__all__ = [
    "Tensor",
    "cat",
    "concatenate",
    "enable_grad",
    "float32",
    "float64",
    "is_grad_enabled",
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
