"""``chainrule predict``: apply a saved model to the rows of a CSV file."""

from __future__ import annotations

import argparse
import csv
import io as text_io
import math
import sys
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.arguments import check_data, check_model, check_output


def register(subparsers: Any) -> None:
    """Add ``chainrule predict``."""
    parser = subparsers.add_parser(
        "predict",
        help="predict the target for each row of a CSV file",
        description="Write DATA.csv's rows with a 'prediction' column (a class label, or a value in the "
        "target's units) to stdout or --out FILE. The target column may be absent.",
    )
    parser.add_argument("model", metavar="MODEL.safetensors")
    parser.add_argument("data", metavar="DATA.csv")
    parser.add_argument(
        "--out", metavar="FILE", help="write the CSV here (atomically; not over an input) (default: stdout)"
    )
    parser.set_defaults(run=run)


def _cell(value: Any) -> str:
    """A table cell as CSV text: numbers without a trailing ``.0``, missing cells empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.15g}"
    return str(value)


def run(args: argparse.Namespace) -> int:
    """Predict and write the CSV; returns 0."""
    from chainrule import io
    from chainrule.data import read_csv
    from chainrule.training import predict

    usage = "predict MODEL.safetensors DATA.csv"
    check_model(args.model, usage, others=[args.data])
    check_data(args.data, usage)
    out = check_output(args.out, "--out", inputs=[args.model, args.data]) if args.out else None
    checkpoint = io.load(args.model)
    preprocessor = checkpoint.preprocessor
    if preprocessor is None:
        raise UsageError(f"{args.model} holds no preprocessing, so raw rows cannot be fed to it; save it with one")
    table = read_csv(args.data)
    outputs = predict(checkpoint.model, preprocessor.transform(table))
    predictions = preprocessor.inverse_transform_target(outputs).reshape(len(table))
    columns = [name for name in table.columns if name != "prediction"]
    buffer = text_io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*columns, "prediction"])
    values = [table[name].tolist() for name in columns]
    for row, prediction in enumerate(predictions.tolist()):
        writer.writerow([*(_cell(column[row]) for column in values), _cell(prediction)])
    if out is None:
        sys.stdout.write(buffer.getvalue())
    else:
        io.atomic_write_bytes(out, buffer.getvalue().encode())
    return 0
