"""``chainrule gradcheck``: autograd against central finite differences for a saved model.

    chainrule gradcheck MODEL.safetensors --input "1650, 3" --target 300000 [--loss mse] [--max-entries 64]
    chainrule gradcheck --example house-price

``--input`` and ``--target`` are raw values, encoded with the model's saved preprocessing (as for
``chainrule explain``).  Exit status 0 when every tensor passes, 1 when one fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.cli.arguments import count, number
from chainrule.cli.explain import add_model_arguments, model_problem

MAX_ENTRIES = 1_000_000
"""The most entries ``--max-entries`` may ask for per tensor (each costs two forward passes)."""


def run(args: argparse.Namespace) -> int:
    """Print the per-tensor report."""
    from chainrule.diagnostics import gradcheck

    problem = model_problem(args, "gradcheck")
    options = {"eps": args.eps, "atol": args.atol, "rtol": args.rtol, "max_entries": args.max_entries or None}
    report = gradcheck(problem.model, problem.loss_fn, problem.x, problem.y, **options)
    print(report)
    return 0 if report.passed else 1


def register(subparsers: Any) -> None:
    """Add ``chainrule gradcheck``."""
    parser = subparsers.add_parser(
        "gradcheck",
        help="check the model's gradients against finite differences (float64)",
        description="Central finite differences in float64 for every parameter (a sample of entries for large ones).",
    )
    add_model_arguments(parser)
    parser.add_argument(
        "--eps",
        type=number(above=0, maximum=1, example="--eps 1e-6"),
        default=1e-6,
        help="finite-difference step ε, above 0 and at most 1 (default 1e-6)",
    )
    parser.add_argument(
        "--atol",
        type=number(minimum=0, example="--atol 1e-5"),
        default=1e-5,
        help="absolute tolerance: an entry passes when |autograd − numeric| ≤ atol + rtol·|numeric| (default 1e-5)",
    )
    parser.add_argument(
        "--rtol", type=number(minimum=0, example="--rtol 1e-3"), default=1e-3, help="relative tolerance (default 1e-3)"
    )
    parser.add_argument(
        "--max-entries",
        type=count(0, MAX_ENTRIES, example="--max-entries 64"),
        default=64,
        help="entries checked per tensor, a random sample of larger ones; 0 for all (default 64)",
    )
    parser.set_defaults(run=run)
