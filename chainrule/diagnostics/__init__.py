"""Explain every number: chain-rule walk-throughs (as text, Markdown, HTML or JSON data), gradient checks and
training-health statistics."""

from chainrule.diagnostics.derivation import ParameterDerivation, derive_parameter
from chainrule.diagnostics.gradcheck import GradcheckReport, TensorCheck, gradcheck
from chainrule.diagnostics.health import HealthMonitor, TrainingHealthWarning, activation_statistics
from chainrule.diagnostics.preprocessed import explain_raw
from chainrule.diagnostics.step import Derivation
from chainrule.diagnostics.walkthrough import Explanation, Factor, explain

__all__ = [
    "Derivation",
    "Explanation",
    "Factor",
    "GradcheckReport",
    "HealthMonitor",
    "ParameterDerivation",
    "TensorCheck",
    "TrainingHealthWarning",
    "activation_statistics",
    "derive_parameter",
    "explain",
    "explain_raw",
    "gradcheck",
]
