"""Optimizers (``chainrule.optim``), with PyTorch's update formulas and names."""

from chainrule.optim.optimizer import Optimizer
from chainrule.optim.sgd import SGD

__all__ = ["SGD", "Optimizer"]
