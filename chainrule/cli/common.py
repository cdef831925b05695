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


def add_reading_options(parser: Any) -> None:
    """``--delimiter`` and ``--no-header``, for the subcommands that read a data file."""
    parser.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="the CSV field separator (default: detected among , ; tab |; write tab as '\\t')",
    )
    parser.add_argument("--no-header", action="store_true", help="the first row of the CSV is data, not names")


def reading_options(args: Any) -> dict[str, Any]:
    """The keyword arguments of ``chainrule.data.iter_tables`` / ``read_table`` that the options ask for."""
    delimiter = args.delimiter
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise UsageError(f"--delimiter {args.delimiter!r} must be one character, e.g. ';' or '\\t'")
    return {"delimiter": delimiter, "header": not args.no_header}


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


def score(model: nn.Module, preprocessor: Any, tables: Any) -> dict[str, float]:
    """The model's metrics on a table, or on the chunks of a file one at a time, in the target's own units.

    Classification: ``accuracy`` and ``loss`` (mean cross-entropy).  Regression: ``rmse``, ``mae``,
    ``r2`` = 1 − Σ(y − ŷ)²/Σ(y − ȳ)² (0 for a constant y) and ``mse`` of the predictions mapped
    back to original units.  Also ``samples``.  Sums are kept per chunk, so memory does not grow
    with the rows.
    """
    import numpy

    from chainrule.autograd import no_grad
    from chainrule.data import Table
    from chainrule.data.statistics import Moments
    from chainrule.tensor import Tensor
    from chainrule.training import predict

    classification = preprocessor.task == "classification"
    n = correct = 0
    loss = squared = absolute = 0.0
    truth_moments = Moments()
    for table in [tables] if isinstance(tables, Table) else tables:
        if table.n_rows == 0:
            continue
        outputs = predict(model, preprocessor.transform(table))
        n += table.n_rows
        if classification:
            y = preprocessor.transform_target(table)
            with no_grad():
                loss += nn.CrossEntropyLoss()(Tensor(outputs), y).item() * len(y)
            correct += int((numpy.asarray(outputs).argmax(axis=1) == numpy.asarray(y)).sum())
            continue
        truth = preprocessor.target_values(table)
        errors = preprocessor.inverse_transform_target(outputs).reshape(-1) - truth
        squared += float(numpy.square(errors).sum())
        absolute += float(numpy.abs(errors).sum())
        truth_moments.update(truth)
    if n == 0:
        raise UsageError("the data has no rows to score; give rows with the target column")
    if classification:
        return {"accuracy": correct / n, "loss": loss / n, "samples": n}
    total = truth_moments.std**2 * n
    return {
        "rmse": (squared / n) ** 0.5,
        "mae": absolute / n,
        "r2": 1.0 - squared / total if total > 0 else 0.0,
        "mse": squared / n,
        "samples": n,
    }


def format_scores(scores: dict[str, float]) -> str:
    """``accuracy 0.9812  loss 0.0634  samples 10000``."""
    return "  ".join(f"{k} {v}" if k == "samples" else f"{k} {v:.6g}" for k, v in scores.items())
