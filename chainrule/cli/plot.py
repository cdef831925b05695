"""``chainrule plot``: draw a figure to a .png or .svg file.

    chainrule plot descent OUT.png [--x0 0 --lr 0.1 --steps 20]     gradient descent on y = (x + 2)²
    chainrule plot surface OUT.png [--lr 0.1 --steps 40]            …on a 2-D loss surface
    chainrule plot network OUT.png (--example house-price | MODEL [--input … --target …]) [--by weight|gradient]
    chainrule plot history MODEL.safetensors OUT.png                loss and metric curves of its training
    chainrule plot boundary MODEL.safetensors OUT.png [--data DATA.csv]
                                                                    a 2-feature classifier's decision boundary

MODEL and OUT may be given in either order (the model is the ``.safetensors`` file).
"""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.explain import add_model_arguments, model_problem


def _order_files(args: argparse.Namespace) -> None:
    """Accept ``plot FIGURE MODEL OUT`` as well as ``plot FIGURE OUT MODEL``."""
    if args.out.endswith(".safetensors") and args.model and not args.model.endswith(".safetensors"):
        args.out, args.model = args.model, args.out


def _checkpoint(args: argparse.Namespace) -> Any:
    if not args.model:
        raise UsageError(
            f"chainrule plot {args.figure} needs a model: chainrule plot {args.figure} MODEL.safetensors OUT.png"
        )
    from chainrule import io

    return io.load(args.model)


def _history(args: argparse.Namespace) -> dict[str, list[float]]:
    """The per-epoch history saved in the checkpoint by ``chainrule train``."""
    state = _checkpoint(args).trainer_state
    history = (state or {}).get("history", {}).get("history", {})
    if not history.get("loss"):
        raise UsageError(
            f"{args.model} holds no training history (it was saved without trainer=); "
            "save it with chainrule train --save or chainrule.io.save(..., trainer=trainer)"
        )
    return history


def _boundary(args: argparse.Namespace) -> Any:
    """Draw the decision boundary of a checkpoint with two numeric inputs, in the data's own units."""
    from chainrule import plots
    from chainrule.data import from_arrays, load_dataset, read_csv

    checkpoint = _checkpoint(args)
    preprocessor = checkpoint.preprocessor
    if preprocessor is None or preprocessor.task != "classification":
        what = "holds no preprocessing" if preprocessor is None else f"is a {preprocessor.task} model"
        raise UsageError(
            f"a decision boundary needs a classifier saved by chainrule train; {args.model} {what}, not a classifier"
        )
    columns = preprocessor.input_columns
    if len(columns) != 2 or preprocessor.categorical_:
        raise UsageError(
            f"a decision boundary needs a model with 2 numeric inputs; {args.model} takes {len(columns)}: "
            f"{', '.join(columns)}"
        )
    source = checkpoint.config.get("source", {})
    if args.data:
        table = read_csv(args.data)
    elif "csv" in source:
        table = read_csv(source["csv"])
    elif "dataset" in source:
        table = load_dataset(source["dataset"]).train
    else:
        raise UsageError("give the samples to draw with --data DATA.csv (the columns the model was trained on)")
    x = table.numeric_matrix(columns)
    y = preprocessor.transform_target(table)

    def encode(points: Any) -> Any:
        return preprocessor.transform(from_arrays(points, feature_names=columns))

    classes = [str(c) for c in preprocessor.classes_.tolist()]
    return plots.plot_decision_boundary(
        checkpoint.model, x, y, args.out, transform=encode, feature_names=columns, class_names=classes
    )


def run(args: argparse.Namespace) -> int:
    """Draw the chosen figure and print its path."""
    from chainrule import plots

    _order_files(args)
    if args.figure == "descent":
        path = plots.plot_descent_1d(args.out, x0=args.x0, lr=args.lr, steps=args.steps)
    elif args.figure == "surface":
        path = plots.plot_descent_2d(args.out, lr=args.lr, steps=args.steps)
    elif args.figure == "history":
        path = plots.plot_history(_history(args), args.out)
    elif args.figure == "boundary":
        path = _boundary(args)
    elif args.model and args.input is None and args.target is None:  # the weights alone
        path = plots.plot_network(_checkpoint(args).model, args.out)
    else:
        problem = model_problem(args, "plot network")
        path = plots.plot_network(
            problem.model, args.out, x=problem.x, y=problem.y, loss_fn=problem.loss_fn, by=args.by
        )
    print(path)
    return 0


def register(subparsers: Any) -> None:
    """Add ``chainrule plot``."""
    parser = subparsers.add_parser(
        "plot",
        help="draw gradient descent, a network diagram, training curves or a decision boundary to .png/.svg",
        description="Draw a figure. history and boundary read a model saved by chainrule train --save; "
        "MODEL and OUT may come in either order.",
    )
    parser.add_argument("figure", choices=("descent", "surface", "network", "history", "boundary"))
    parser.add_argument("out", help="the file to write (.png or .svg)")
    parser.add_argument("--x0", type=float, default=0.0, help="descent: the starting x (default 0)")
    parser.add_argument("--lr", type=float, default=0.1, help="descent/surface: the learning rate η (default 0.1)")
    parser.add_argument("--steps", type=int, default=20, help="descent/surface: number of steps (default 20)")
    parser.add_argument("--by", choices=("weight", "gradient"), default="weight", help="network: what the lines show")
    parser.add_argument(
        "--data", help="boundary: CSV with the model's 2 input columns and its target (default: its training data)"
    )
    add_model_arguments(parser)
    parser.set_defaults(run=run)
