"""Training (``chainrule.training``): the fit loop, its batch sources, callbacks, metrics, progress,
and the workflow from a table to a trained model that the command line and the page share.

The contract that callbacks, the health monitor of ``chainrule.diagnostics``, ``chainrule.plots``
and a distributed trainer use is in DEVELOPERS.md ("Training loop contract").  ``ModelCheckpoint``
writes files, so it lives one layer up, in :mod:`chainrule.io`.
"""

from chainrule.training import names
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
from chainrule.training.sources import ArrayBatches, BatchSource
from chainrule.training.trainer import (
    ClassWeightedLoss,
    DivergenceGuard,
    DivergenceWarning,
    NonFiniteLossWarning,
    Trainer,
    fit,
    predict,
)
from chainrule.training.workflow import ConfigError, TrainConfig, TrainingPlan, TrainResult, prepare, train

__all__ = [
    "METRICS",
    "ArrayBatches",
    "BatchSource",
    "Callback",
    "ClassWeightedLoss",
    "ConfigError",
    "DivergenceGuard",
    "DivergenceWarning",
    "EarlyStopping",
    "EpochLines",
    "History",
    "LearningRateScheduler",
    "NonFiniteLossWarning",
    "ProgressBar",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "TrainingPlan",
    "accuracy",
    "binary_accuracy",
    "confusion_matrix",
    "f1",
    "fit",
    "mae",
    "mse",
    "names",
    "precision",
    "predict",
    "prepare",
    "r2",
    "recall",
    "rmse",
    "roc_auc",
    "top_k_accuracy",
    "train",
]
