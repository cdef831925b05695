"""``chainrule predict``: apply a saved model to the rows of a CSV file."""

from __future__ import annotations

import argparse
import contextlib
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.arguments import check_data, check_model, check_output
from chainrule.cli.common import add_reading_options, reading_options


def register(subparsers: Any) -> None:
    """Add ``chainrule predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the target for each row of a CSV file",
        description="Write DATA's rows, as written, with a 'prediction' column (a class label, or a value in "
        "the target's units) and, for a classifier, one 'proba_<class>' column per class, to stdout or --out "
        "FILE. The target column may be absent. Reads CSV (any delimiter, .gz, .zst), Parquet or Arrow files "
        "in chunks: memory does not grow with the rows.",
    )
    parser.add_argument("model", metavar="MODEL.safetensors")
    parser.add_argument("data", metavar="DATA.csv")
    parser.add_argument(
        "--out", metavar="FILE", help="write the CSV here (atomically; not over an input) (default: stdout)"
    )
    add_reading_options(parser)
    parser.set_defaults(run=run)


PREDICT_BATCH = 4096
"""Rows per forward pass; the last pass of a file is padded to this size, so every row is computed
in a pass of the same shape and its prediction does not depend on the other rows of the file."""


def significant_digits(model: Any) -> int:
    """Digits written for a model's outputs: 7 for float32 (about what its 24-bit mantissa holds), 15 for float64."""
    dtype = next(iter(model.parameters())).dtype
    return 7 if dtype.itemsize <= 4 else 15


def row_outputs(model: Any, x: Any) -> Any:
    """The model's outputs for ``x``, computed in passes of :data:`PREDICT_BATCH` rows (the last padded)."""
    import numpy

    from chainrule.training import predict

    n = len(x)
    padded = -(-n // PREDICT_BATCH) * PREDICT_BATCH
    if padded != n:
        x = numpy.concatenate([x, numpy.zeros((padded - n, *x.shape[1:]), dtype=x.dtype)])
    return predict(model, x, PREDICT_BATCH)[:n]


def prediction_columns(model: Any, preprocessor: Any, table: Any) -> dict[str, list[str]]:
    """The written columns for a table's rows: ``prediction`` (a label, or a value in the target's
    units) and, for a classifier, ``proba_<label>`` per class (softmax of the logits;
    σ(logit) for a one-logit binary model), numbers to :func:`significant_digits`."""
    import numpy

    from chainrule import backend

    outputs = backend.to_numpy(row_outputs(model, preprocessor.transform(table))).astype(numpy.float64)
    digits = significant_digits(model)
    predictions = preprocessor.inverse_transform_target(outputs).reshape(len(table))
    if predictions.dtype.kind == "f":
        columns = {"prediction": [f"{value:.{digits}g}" for value in predictions.tolist()]}
    else:
        columns = {"prediction": [str(value) for value in predictions.tolist()]}
    if preprocessor.task == "classification":
        if outputs.shape[1] == 1:
            positive = 1.0 / (1.0 + numpy.exp(-outputs[:, 0]))
            probabilities = numpy.stack([1.0 - positive, positive], axis=1)
        else:
            shifted = numpy.exp(outputs - outputs.max(axis=1, keepdims=True))
            probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        for k, label in enumerate(preprocessor.classes_.tolist()):
            columns[f"proba_{label}"] = [f"{p:.{digits}g}" for p in probabilities[:, k].tolist()]
    return columns


@contextlib.contextmanager
def _output(out: Path | None) -> Iterator[Any]:
    """stdout, or a file that replaces ``out`` only once all is written (``io.atomic_writer``:
    nothing is left behind by an error or a kill)."""
    if out is None:
        yield sys.stdout
        return
    from chainrule.io import atomic_writer

    with atomic_writer(out, text=True, encoding="utf-8", newline="") as file:
        yield file


def run(args: argparse.Namespace) -> int:
    """Predict and write the CSV chunk by chunk (constant memory in the rows); returns 0."""
    from chainrule import io
    from chainrule.data import iter_tables
    from chainrule.data.readers import typed

    usage = "predict MODEL.safetensors DATA.csv"
    check_model(args.model, usage, others=[args.data])
    check_data(args.data, usage)
    out = check_output(args.out, "--out", inputs=[args.model, args.data]) if args.out else None
    checkpoint = io.load(args.model)
    preprocessor = checkpoint.preprocessor
    if preprocessor is None:
        raise UsageError(f"{args.model} holds no preprocessing, so raw rows cannot be fed to it; save it with one")
    written = 0
    with _output(out) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for chunk in iter_tables(args.data, text=True, **reading_options(args)):  # cells kept as written
            if chunk.n_rows == 0:
                continue
            predicted = prediction_columns(checkpoint.model, preprocessor, typed(chunk))
            inputs = [name for name in chunk.columns if name not in predicted]
            if not written:
                writer.writerow([*inputs, *predicted])
            written += chunk.n_rows
            writer.writerows(zip(*(chunk[name].tolist() for name in inputs), *predicted.values()))
        if not written:
            raise UsageError(f"{args.data} has no data rows to predict; add rows below the header")
    return 0
