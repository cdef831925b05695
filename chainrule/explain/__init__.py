"""Explain every number: chain-rule walk-throughs, gradient checks and training-health statistics."""

from chainrule.explain.gradcheck import GradcheckReport, TensorCheck, gradcheck
from chainrule.explain.walkthrough import Explanation, Factor, explain

__all__ = ["Explanation", "Factor", "GradcheckReport", "TensorCheck", "explain", "gradcheck"]
