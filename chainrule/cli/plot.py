"""``chainrule plot``: draw a figure to a .png or .svg file.

chainrule plot descent OUT.png [--x0 0 --lr 0.1 --steps 20]      gradient descent on y = (x + 2)²
chainrule plot surface OUT.png [--lr 0.1 --steps 40]             …on a 2-D loss surface
chainrule plot network OUT.png (--example house-price | MODEL) [--by weight|gradient]
"""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.cli.explain import add_model_arguments, model_problem


def run(args: argparse.Namespace) -> int:
    """Draw the chosen figure and print its path."""
    from chainrule import plots

    if args.figure == "descent":
        path = plots.plot_descent_1d(args.out, x0=args.x0, lr=args.lr, steps=args.steps)
    elif args.figure == "surface":
        path = plots.plot_descent_2d(args.out, lr=args.lr, steps=args.steps)
    else:
        model, loss_fn, x, y, _ = model_problem(args, "plot network")
        path = plots.plot_network(model, args.out, x=x, y=y, loss_fn=loss_fn, by=args.by)
    print(path)
    return 0


def register(subparsers: Any) -> None:
    """Add ``chainrule plot``."""
    parser = subparsers.add_parser("plot", help="draw gradient descent or a network diagram to .png/.svg")
    parser.add_argument("figure", choices=("descent", "surface", "network"))
    parser.add_argument("out", help="the file to write (.png or .svg)")
    parser.add_argument("--x0", type=float, default=0.0, help="descent: the starting x (default 0)")
    parser.add_argument("--lr", type=float, default=0.1, help="descent/surface: the learning rate η (default 0.1)")
    parser.add_argument("--steps", type=int, default=20, help="descent/surface: number of steps (default 20)")
    parser.add_argument("--by", choices=("weight", "gradient"), default="weight", help="network: what the lines show")
    add_model_arguments(parser)
    parser.set_defaults(run=run)
