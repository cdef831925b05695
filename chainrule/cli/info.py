"""``chainrule info``: what a saved model is and how it was trained."""

from __future__ import annotations

import argparse
import json
from typing import Any

from chainrule.cli.arguments import check_model
from chainrule.cli.common import format_scores


def register(subparsers: Any) -> None:
    """Add ``chainrule info``."""
    parser = subparsers.add_parser(
        "info",
        help="show a saved model's architecture, preprocessing, training and metrics",
        description="Architecture, parameter count, preprocessing, training configuration and metrics of a model.",
    )
    parser.add_argument("model", metavar="MODEL.safetensors")
    parser.add_argument("--json", action="store_true", help="print the metadata as one JSON object instead of text")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary; returns 0."""
    from chainrule import io

    check_model(args.model, "info MODEL.safetensors")
    checkpoint = io.load(args.model)
    model = checkpoint.model
    parameters = sum(p.size for p in model.parameters())
    if args.json:
        summary = {
            "architecture": checkpoint.architecture,
            "parameters": parameters,
            "preprocessing": checkpoint.preprocessing,
            "config": checkpoint.config,
            "metrics": checkpoint.metrics,
            "chainrule_version": checkpoint.version,
        }
        print(json.dumps(summary))
        return 0
    print(f"model {args.model} (chainrule {checkpoint.version}, {checkpoint.architecture.get('dtype')})")
    print(f"{model!r}")
    print(f"parameters: {parameters}")
    preprocessor = checkpoint.preprocessor
    if preprocessor is not None:
        columns, features = len(preprocessor.input_columns), len(preprocessor.feature_names_out)
        print(f"preprocessing: {columns} input columns → {features} features")
        print(f"  target {preprocessor.target!r} ({preprocessor.task})", end="")
        if preprocessor.classes_ is not None:
            shown = ", ".join(str(c) for c in preprocessor.classes_.tolist()[:20])
            print(f", classes: {shown}", end="")
        print()
        print(
            f"  columns: {', '.join(preprocessor.input_columns[:20])}"
            + (" …" if len(preprocessor.input_columns) > 20 else "")
        )
    if checkpoint.config:
        print("training: " + ", ".join(f"{k}={v}" for k, v in checkpoint.config.items() if v is not None))
    for part, scores in checkpoint.metrics.items():
        print(f"{part}: {format_scores(scores) if isinstance(scores, dict) else scores}")
    if checkpoint.optimizer_type:
        print(f"optimizer state: {checkpoint.optimizer_type} (training can resume)")
    return 0
