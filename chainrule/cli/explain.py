"""``chainrule explain``: the chain-rule walk-through of one step, for seed 001 or a saved model.

chainrule explain --example house-price
chainrule explain MODEL.safetensors --input "0.5, -1.2" --target 1 [--param w1_21] [--lr 0.1]
    [--loss mse] [--format text|markdown|html]
"""

from __future__ import annotations

import argparse
from typing import Any

from chainrule import nn
from chainrule.cli import UsageError

LOSSES = {
    "half-squared": nn.HalfSquaredErrorLoss,
    "mse": nn.MSELoss,
    "sse": nn.SumSquaredErrorLoss,
    "cross-entropy": nn.CrossEntropyLoss,
    "bce": nn.BCEWithLogitsLoss,
}
"""``--loss`` names → loss classes (the class names, e.g. ``MSELoss``, are accepted too)."""


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
    if not values:
        raise UsageError(f'{option} is empty; give the numbers, e.g. {option} "0.5, -1.2"')
    return values


def model_problem(args: argparse.Namespace, command: str) -> tuple[Any, Any, Any, Any, float | None]:
    """(model, loss_fn, x, y, lr) from ``--example`` or from a checkpoint with ``--input``/``--target``."""
    from chainrule.explain.examples import example_names

    if args.example:
        if args.model:
            raise UsageError(f"give either MODEL or --example, not both (chainrule {command} --help)")
        model, loss_fn, x, y, lr = example_names()[args.example]()
        return model, loss_fn, x, y, lr
    if not args.model:
        raise UsageError(f"give a MODEL.safetensors file or --example house-price (chainrule {command} --help)")
    if args.input is None or args.target is None:
        raise UsageError('a model needs --input "x1, x2, …" (the network\'s inputs) and --target (y, or a class label)')
    from chainrule import io

    checkpoint = io.load(args.model)
    name = args.loss or str(checkpoint.config.get("loss", "mse"))
    loss_fn = loss_by_name(name)
    x = parse_numbers(args.input, "--input")
    y: Any = parse_numbers(args.target, "--target")
    if isinstance(loss_fn, nn.CrossEntropyLoss):
        if len(y) != 1 or y[0] != int(y[0]):
            raise UsageError(f"--target for cross-entropy is one class label (0, 1, …), got {args.target!r}")
        y = int(y[0])
    return checkpoint.model, loss_fn, x, y, None


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """MODEL, --example, --input, --target and --loss (shared with ``chainrule gradcheck``)."""
    from chainrule.explain.examples import example_names

    parser.add_argument("model", nargs="?", help="a model saved by chainrule train --save (.safetensors)")
    parser.add_argument("--example", choices=sorted(example_names()), help="a worked example built in")
    parser.add_argument("--input", help='the network\'s input for one sample, e.g. "0.5, -1.2"')
    parser.add_argument("--target", help="the target: numbers, or a class label for cross-entropy")
    parser.add_argument("--loss", help=f"the loss ({', '.join(LOSSES)}); default: the one it was trained with")


def run(args: argparse.Namespace) -> int:
    """Print the walk-through."""
    from chainrule.explain import explain, render
    from chainrule.explain.examples import house_price_blocks

    model, loss_fn, x, y, lr = model_problem(args, "explain")
    lr = args.lr if args.lr is not None else lr
    explanation = explain(model, loss_fn, x, y, param=args.param, lr=lr, decimals=args.decimals)
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
    parser.add_argument("--param", help="one parameter: 0.weight[1,0], w1_21 (seed notation), b2_1, W1")
    parser.add_argument("--lr", type=float, help="learning rate η: show w ← w − η ∂L/∂w and the loss after the step")
    parser.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    parser.add_argument("--decimals", type=int, default=4, help="decimals shown (default 4)")
    parser.set_defaults(run=run)
