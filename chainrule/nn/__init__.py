"""Layers, activations and losses (``chainrule.nn``), named as in ``torch.nn``."""

from chainrule.nn import functional, init
from chainrule.nn.activation import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from chainrule.nn.batchnorm import BatchNorm1d
from chainrule.nn.container import Sequential
from chainrule.nn.dropout import Dropout
from chainrule.nn.flatten import Flatten
from chainrule.nn.linear import Linear
from chainrule.nn.loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HalfSquaredErrorLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SumSquaredErrorLoss,
)
from chainrule.nn.module import Module, Parameter

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HalfSquaredErrorLoss",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "SumSquaredErrorLoss",
    "Tanh",
    "functional",
    "init",
]
