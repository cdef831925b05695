"""``chainrule evaluate``: score a saved model on a CSV file or a dataset split."""

from __future__ import annotations

import argparse
import json
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.arguments import check_data, check_model
from chainrule.cli.common import add_reading_options, format_scores, reading_options
from chainrule.training.workflow import dataset_tables, score


def register(subparsers: Any) -> None:
    """Add ``chainrule evaluate``."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a saved model on labelled data",
        description="Metrics of MODEL on DATA.csv (which must hold the target column) or on a dataset "
        "split: accuracy and cross-entropy for classification; RMSE, MAE, R² and MSE in the "
        "target's units for regression.",
    )
    parser.add_argument("model", metavar="MODEL.safetensors")
    parser.add_argument("data", nargs="?", metavar="DATA.csv")
    parser.add_argument("--dataset", metavar="NAME", help="a dataset instead of a CSV (see chainrule datasets)")
    parser.add_argument(
        "--data-dir", metavar="DIR", help="with --dataset: folder with the files of a dataset that is not bundled"
    )
    parser.add_argument(
        "--split",
        choices=("test", "train"),
        help="with --dataset: which part (datasets without their own test split use train's 80/20 split) "
        "(default: test)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_reading_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the metrics; returns 0."""
    from chainrule import io
    from chainrule.data import iter_tables

    if (args.data is None) == (args.dataset is None):
        which = "both a CSV file and --dataset" if args.data else "no data"
        raise UsageError(f"{which}: give a CSV file (chainrule evaluate MODEL DATA.csv) or --dataset NAME")
    if args.data is not None and (args.split or args.data_dir):
        raise UsageError("--split and --data-dir go with --dataset NAME; a CSV file is scored whole")
    usage = "evaluate MODEL.safetensors DATA.csv"
    check_model(args.model, usage, others=[args.data])
    check_data(args.data, usage)
    checkpoint = io.load(args.model)
    preprocessor = checkpoint.preprocessor
    if preprocessor is None or preprocessor.target is None:
        raise UsageError(f"{args.model} holds no preprocessing with a target, so it cannot be scored on raw rows")
    if args.data is not None:
        table = iter_tables(args.data, **reading_options(args))  # chunk by chunk: memory does not grow with the rows
    else:
        dataset, train, test = dataset_tables(args.dataset, args.data_dir)
        if dataset.target != preprocessor.target:
            raise UsageError(
                f"{args.model} predicts {preprocessor.target!r} but dataset {args.dataset!r} has target "
                f"{dataset.target!r}; evaluate it on the data it was trained for"
            )
        table = train if args.split == "train" else test
    scores = score(checkpoint.model, preprocessor, table)
    print(json.dumps(scores) if args.json else format_scores(scores))
    return 0
