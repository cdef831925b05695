"""Explain every number: chain-rule walk-throughs, gradient checks and training-health statistics."""

from chainrule.diagnostics.gradcheck import GradcheckReport, TensorCheck, gradcheck
from chainrule.diagnostics.health import HealthMonitor, TrainingHealthWarning, activation_statistics
from chainrule.diagnostics.preprocessed import explain_raw
from chainrule.diagnostics.walkthrough import Explanation, Factor, explain

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
