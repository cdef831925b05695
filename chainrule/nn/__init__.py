"""Layers, activations and losses (``chainrule.nn``), named as in ``torch.nn``."""

from chainrule.nn import functional
from chainrule.nn.activation import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from chainrule.nn.container import Sequential
from chainrule.nn.linear import Linear
from chainrule.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HalfSquaredErrorLoss,
    MSELoss,
    SumSquaredErrorLoss,
)
from chainrule.nn.module import Module, Parameter

__all__ = [
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HalfSquaredErrorLoss",
    "Identity",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SumSquaredErrorLoss",
    "Tanh",
    "functional",
]
