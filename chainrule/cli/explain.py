"""``chainrule explain``: the chain-rule walk-through of one step, for seed 001 or a saved model.

    chainrule explain --example house-price
    chainrule explain MODEL.safetensors --input "1650, 3" --target 300000 [--param w1_21] [--lr 0.1]
        [--loss mse] [--format text|markdown|html]

For a model saved with its preprocessing (``chainrule train --save``), ``--input`` takes the raw
feature values as in the CSV, in the model's input column order, and ``--target`` the target in
its own units (or a class label); both are encoded with the saved preprocessing, and the
walk-through, in the standardised units the network sees, starts by showing that encoding.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Any

from chainrule import nn
from chainrule.cli import UsageError
from chainrule.cli.arguments import check_model, count, number
from chainrule.nn import registry

LOSSES = {name: entry.module for name, entry in registry.LOSSES.items()}
"""``--loss`` names → loss classes, from the loss registry (the class names, e.g. ``MSELoss``, are accepted too)."""

MAX_DECIMALS = 15
"""The most decimals ``--decimals`` shows (float64 holds about 16 significant digits)."""

MAX_SAMPLES = 100
"""The most samples ``--input`` may hold (each is traced through its own copy of the model)."""


def loss_by_name(name: str) -> nn.Module:
    """The loss module called ``name`` (a key of :data:`LOSSES` or its class name)."""
    for key, cls in LOSSES.items():
        if name.lower() in (key, cls.__name__.lower(), cls.__name__.lower().removesuffix("loss")):
            return cls()
    raise UsageError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def parse_numbers(text: str, option: str) -> list[float]:
    """``"0.5, -1.2"`` (commas or spaces) → [0.5, -1.2]; a clear error naming ``option`` otherwise."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise UsageError(f'{option} {text!r} is not a list of numbers; write e.g. {option} "0.5, -1.2"') from None
    if not all(math.isfinite(v) for v in values):
        raise UsageError(
            f'{option} {text!r} holds a value that is not a finite number; write e.g. {option} "0.5, -1.2"'
        )
    if not values:
        raise UsageError(f'{option} is empty; give the numbers, e.g. {option} "0.5, -1.2"')
    return values


def parse_rows(text: str) -> list[list[str]]:
    """``"1650, 3; 2000, 4"`` → [["1650", "3"], ["2000", "4"]]: rows split by ``;``, values by commas
    (by spaces when a row has no comma); at most :data:`MAX_SAMPLES` rows."""
    if text.count(";") >= MAX_SAMPLES:
        raise UsageError(f"--input holds {text.count(';') + 1} samples; give at most {MAX_SAMPLES}, separated by ';'")
    rows = []
    for row in text.split(";"):
        cells = row.split(",") if "," in row else row.split()
        rows.append([cell.strip() for cell in cells])
    return rows


@dataclass
class Problem:
    """What to explain: the model, the loss, the network's inputs ``x`` and targets ``y``; for a
    checkpoint with preprocessing also the raw ``inputs`` and ``target`` it was encoded from."""

    model: Any
    loss_fn: Any
    x: Any
    y: Any
    lr: float | None = None
    preprocessor: Any = None
    inputs: list[list[str]] | None = None
    target: list[str] | None = None


def model_problem(args: argparse.Namespace, command: str) -> Problem:
    """The problem of ``--example``, or of a checkpoint with ``--input``/``--target``.

    A checkpoint saved with its preprocessing (``chainrule train``) takes raw values, as in the
    CSV, in the model's input column order; they are encoded with that preprocessing.
    """
    from chainrule.diagnostics.examples import example_names

    if args.example:
        if args.model:
            raise UsageError(f"give either MODEL or --example, not both (chainrule {command} --help)")
        model, loss_fn, x, y, lr = example_names()[args.example]()
        return Problem(model, loss_fn, x, y, lr)
    if not args.model:
        raise UsageError(f"give a MODEL.safetensors file or --example house-price (chainrule {command} --help)")
    check_model(args.model, f"{command} MODEL.safetensors --input … --target …")
    from chainrule import io

    checkpoint = io.load(args.model)
    preprocessor = checkpoint.preprocessor
    if args.input is None or args.target is None:
        what = (
            f"the raw values of {', '.join(preprocessor.input_columns)}, as in the CSV"
            if preprocessor is not None
            else f"{_in_features(checkpoint.model)} numbers"
        )
        raise UsageError(f'{args.model} needs --input "…" ({what}, separated by commas) and --target')
    loss_name = args.loss or str(checkpoint.config.get("loss", "mse"))
    loss_fn = loss_by_name(loss_name)
    inputs, target = parse_rows(args.input), [t.strip() for t in args.target.split(";")]
    if preprocessor is not None:
        classifier = preprocessor.task == "classification"
        if classifier != isinstance(loss_fn, nn.CrossEntropyLoss):
            fits = "cross-entropy" if classifier else "mse, l1, huber, sse or half-squared"
            raise UsageError(f"--loss {loss_name}: {args.model} is a {preprocessor.task} model; use {fits}")
        from chainrule.diagnostics.preprocessed import encode

        try:
            x, y = encode(preprocessor, inputs, target)
        except ValueError as error:
            raise UsageError(f"--input/--target: {error}") from None
        return Problem(checkpoint.model, loss_fn, x, y, None, preprocessor, inputs, target)
    width = _in_features(checkpoint.model)
    x = [parse_numbers(",".join(row), "--input") for row in inputs]
    if any(len(row) != width for row in x):
        got = ", ".join(str(len(row)) for row in x)
        raise UsageError(f"--input has {got} values per row but the model takes {width} inputs; give {width} numbers")
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        labels = [parse_numbers(t, "--target") for t in target]
        if any(len(label) != 1 or label[0] != int(label[0]) for label in labels):
            raise UsageError(f"--target for cross-entropy is one class index (0, 1, …) per row, got {args.target!r}")
        return Problem(checkpoint.model, loss_fn, x, [int(label[0]) for label in labels])
    return Problem(checkpoint.model, loss_fn, x, [parse_numbers(t, "--target") for t in target])


def _in_features(model: nn.Module) -> int:
    """The number of inputs of the model's first ``Linear``."""
    return next(m for _, m in model.named_modules() if isinstance(m, nn.Linear)).in_features


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, --example, --input, --target and --loss (shared with ``chainrule gradcheck``)."""
    from chainrule.diagnostics.examples import example_names

    parser.add_argument("model", nargs="?", help="a model saved by chainrule train --save (.safetensors)")
    parser.add_argument(
        "--example", choices=sorted(example_names()), help="a worked example built in, instead of MODEL"
    )
    parser.add_argument(
        "--input",
        help="one sample's raw feature values, as in the CSV, in the model's input column order (chainrule "
        f'info MODEL lists them), e.g. "1650, 3"; up to {MAX_SAMPLES} samples separated by ";" (needed with MODEL)',
    )
    parser.add_argument(
        "--target",
        help="the target in its own units (a number, or a class label), one per sample separated by ';' "
        "(needed with MODEL)",
    )
    parser.add_argument("--loss", help=f"the loss ({', '.join(LOSSES)}); default: the one it was trained with")


def run(args: argparse.Namespace) -> int:
    """Print the walk-through."""
    from chainrule.diagnostics import explain, render
    from chainrule.diagnostics.examples import house_price_blocks
    from chainrule.diagnostics.preprocessed import explain_raw

    problem = model_problem(args, "explain")
    lr = args.lr if args.lr is not None else problem.lr
    if problem.preprocessor is not None:
        explanation = explain_raw(
            problem.model,
            problem.preprocessor,
            problem.loss_fn,
            problem.inputs,
            problem.target,
            param=args.param,
            lr=lr,
            decimals=args.decimals,
        )
    else:
        explanation = explain(
            problem.model, problem.loss_fn, problem.x, problem.y, param=args.param, lr=lr, decimals=args.decimals
        )
    blocks = (
        house_price_blocks(explanation) if args.example == "house-price" and args.param is None else explanation.blocks
    )
    renderer = {"text": render.to_text, "markdown": render.to_markdown, "html": render.to_html}[args.format]
    print(renderer(blocks), end="")
    return 0


def register(subparsers: Any) -> None:
    """Add ``chainrule explain``."""
    parser = subparsers.add_parser(
        "explain",
        help="the chain-rule walk-through of one gradient step, every number shown",
        description="Forward pass, backward pass (δ), every gradient by the chain rule, the update, the loss after it.",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--param",
        help="one parameter: 0.weight[1,0], w1_21 (seed notation), b2_1, W1 (default: every parameter's gradient)",
    )
    parser.add_argument(
        "--lr",
        type=number(above=0, example="--lr 0.1"),
        help="learning rate η: show w ← w − η ∂L/∂w and the loss after the step (default: no step; "
        "the worked example's own η)",
    )
    parser.add_argument("--format", choices=("text", "markdown", "html"), default="text", help="how to write it")
    parser.add_argument(
        "--decimals",
        type=count(0, MAX_DECIMALS, example="--decimals 4"),
        default=4,
        help=f"decimals shown, 0 to {MAX_DECIMALS} (default 4)",
    )
    parser.set_defaults(run=run)
