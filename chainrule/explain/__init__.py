"""Explain every number: chain-rule walk-throughs, gradient checks and training-health statistics."""

from chainrule.explain.gradcheck import GradcheckReport, TensorCheck, gradcheck
from chainrule.explain.health import HealthMonitor, TrainingHealthWarning, activation_statistics
from chainrule.explain.preprocessed import explain_raw
from chainrule.explain.walkthrough import Explanation, Factor, explain

__all__ = [
    "Explanation",
    "Factor",
    "GradcheckReport",
    "HealthMonitor",
    "TensorCheck",
    "TrainingHealthWarning",
    "activation_statistics",
    "explain",
    "explain_raw",
    "gradcheck",
]
