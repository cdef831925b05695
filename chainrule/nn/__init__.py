"""Layers, activations and losses (``chainrule.nn``), named as in ``torch.nn``; their registry (``nn.registry``)."""

from chainrule.nn import activation, functional, init, registry
from chainrule.nn.activation import *  # noqa: F403  (every activation module: activation.__all__)
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
    *activation.__all__,
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HalfSquaredErrorLoss",
    "HuberLoss",
    "L1Loss",
    "Linear",
    "MSELoss",
    "Module",
    "NLLLoss",
    "Parameter",
    "Sequential",
    "SumSquaredErrorLoss",
    "functional",
    "init",
    "registry",
]
