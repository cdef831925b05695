"""Training on arrays (``chainrule.training``): the fit loop, callbacks, metrics and progress.

The contract that callbacks, the health monitor of ``chainrule.diagnostics`` and ``chainrule.plots`` use
is in DEVELOPERS.md ("Training loop contract").  ``ModelCheckpoint`` writes files, so it lives
one layer up, in :mod:`chainrule.io`.
"""

from chainrule.training.callbacks import Callback, EarlyStopping, LearningRateScheduler
from chainrule.training.history import History
from chainrule.training.metrics import (
    METRICS,
    accuracy,
    binary_accuracy,
    confusion_matrix,
    f1,
    mae,
    mse,
    precision,
    r2,
    recall,
    rmse,
    roc_auc,
    top_k_accuracy,
)
from chainrule.training.progress import EpochLines, ProgressBar
from chainrule.training.trainer import ClassWeightedLoss, NonFiniteLossWarning, Trainer, fit, predict

__all__ = [
    "METRICS",
    "Callback",
    "ClassWeightedLoss",
    "EarlyStopping",
    "EpochLines",
    "History",
    "LearningRateScheduler",
    "NonFiniteLossWarning",
    "ProgressBar",
    "Trainer",
    "accuracy",
    "binary_accuracy",
    "confusion_matrix",
    "f1",
    "fit",
    "mae",
    "mse",
    "precision",
    "predict",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
    "top_k_accuracy",
]
