"""Helpers shared by ``chainrule train``, ``predict`` and ``evaluate``: data in, model built,
scores in the target's own units, output paths checked before any work is done."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chainrule import nn
from chainrule.cli import UsageError
from chainrule.nn import registry

ACTIVATIONS = {name: entry.make for name, entry in registry.ACTIVATIONS.items()}
"""``--activation`` name → a function making that hidden-layer activation (every registered one)."""

TEST_SIZE = 0.2
"""Share of the rows held out as the test split of datasets that have none (80/20)."""
SPLIT_SEED = 0
"""Seed of that split, so ``train`` and ``evaluate --split test`` see the same rows."""


def check_output_path(path: str, flag: str) -> Path:
    """Fail now, before any training, if ``path`` cannot be written (missing folder, a folder
    itself, a read-only folder)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name such as {target / 'model.safetensors'}")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist; create it or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder {folder} is not writable; choose another path")
    return target


def load_dataset_tables(name: str, data_dir: str | None) -> tuple[Any, Any, Any]:
    """``(dataset, train table, test table)``; datasets without a fixed test split are split
    80/20 with seed 0 (stratified by class for classification)."""
    from chainrule.data import load_dataset, train_test_split

    dataset = load_dataset(name, data_dir)
    if dataset.test is not None:
        return dataset, dataset.train, dataset.test
    labels = dataset.train[dataset.target] if dataset.task == "classification" else None
    train, test = train_test_split(dataset.train, test_size=TEST_SIZE, seed=SPLIT_SEED, stratify=labels)
    return dataset, train, test


def build_model(inputs: int, hidden: list[int], outputs: int, activation: str) -> nn.Sequential:
    """``Linear → activation`` for each hidden width, then a linear output layer."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(inputs, width), ACTIVATIONS[activation]()]
        inputs = width
    return nn.Sequential(*layers, nn.Linear(inputs, outputs))


def score(model: nn.Module, preprocessor: Any, table: Any) -> dict[str, float]:
    """The model's metrics on ``table``, in the target's own units.

    Classification: ``accuracy`` and ``loss`` (cross-entropy).  Regression: ``rmse``, ``mae``,
    ``r2`` and ``mse`` of the predictions mapped back to original units.  Also ``samples``.
    """
    from chainrule.autograd import no_grad
    from chainrule.tensor import Tensor
    from chainrule.training import accuracy, mae, mse, predict, r2, rmse

    outputs = predict(model, preprocessor.transform(table))
    y = preprocessor.transform_target(table)
    if preprocessor.task == "classification":
        with no_grad():
            loss = nn.CrossEntropyLoss()(Tensor(outputs), y).item()
        return {"accuracy": accuracy(outputs, y), "loss": loss, "samples": len(y)}
    truth = table.numeric(preprocessor.target)
    values = preprocessor.inverse_transform_target(outputs).reshape(-1)
    return {
        "rmse": rmse(values, truth),
        "mae": mae(values, truth),
        "r2": r2(values, truth),
        "mse": mse(values, truth),
        "samples": len(truth),
    }


def format_scores(scores: dict[str, float]) -> str:
    """``accuracy 0.9812  loss 0.0634  samples 10000``."""
    return "  ".join(f"{k} {v}" if k == "samples" else f"{k} {v:.6g}" for k, v in scores.items())
