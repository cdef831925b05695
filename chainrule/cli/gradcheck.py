"""``chainrule gradcheck``: autograd against central finite differences for a saved model.

    chainrule gradcheck MODEL.safetensors --input "1650, 3" --target 300000 [--loss mse] [--max-entries 64]
    chainrule gradcheck --example house-price

``--input`` and ``--target`` are raw values, encoded with the model's saved preprocessing (as for
``chainrule explain``).  Exit status 0 when every tensor passes, 1 when one fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.cli.explain import add_model_arguments, model_problem


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
    parser.add_argument("--eps", type=float, default=1e-6, help="finite-difference step ε (default 1e-6)")
    parser.add_argument("--atol", type=float, default=1e-5)
    parser.add_argument("--rtol", type=float, default=1e-3)
    parser.add_argument("--max-entries", type=int, default=64, help="entries per tensor, 0 for all (default 64)")
    parser.set_defaults(run=run)
