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
from chainrule.cli.arguments import check_model, check_output, count, file_kind, number
from chainrule.cli.explain import add_model_arguments, model_problem

FIGURES = ("descent", "surface", "network", "history", "boundary")
IMAGE_SUFFIXES = (".png", ".svg")
MAX_STEPS = 10_000
"""The most gradient-descent steps ``--steps`` draws."""


def _order_files(args: argparse.Namespace) -> None:
    """Accept ``plot FIGURE MODEL OUT`` as well as ``plot FIGURE OUT MODEL``: the model is the
    ``.safetensors`` file, the output the ``.png`` or ``.svg`` name."""
    if not args.model:
        return
    out_is_model = args.out.endswith(".safetensors") or file_kind(args.out) == "a model file"
    model_is_image = args.model.lower().endswith(IMAGE_SUFFIXES) and not args.out.lower().endswith(IMAGE_SUFFIXES)
    if (out_is_model and not args.model.endswith(".safetensors")) or model_is_image:
        args.out, args.model = args.model, args.out


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse, before any work, options that the figure does not take and an output that cannot be written."""
    figure = args.figure
    if figure in ("descent", "surface") and args.model:
        raise UsageError(
            f"chainrule plot {figure} draws a built-in function and takes no model: chainrule plot {figure} OUT.png"
        )
    if figure != "boundary" and args.data:
        raise UsageError(f"--data goes with plot boundary, not plot {figure}")
    if figure != "network" and (args.example or args.input is not None or args.target is not None):
        raise UsageError(f"--example, --input and --target go with plot network, not plot {figure}")
    if figure in ("history", "boundary") and not args.model:
        raise UsageError(f"chainrule plot {figure} needs a model: chainrule plot {figure} MODEL.safetensors OUT.png")
    if args.model:
        check_model(args.model, f"plot {figure} MODEL.safetensors OUT.png")
    check_output(args.out, "plot file", inputs=[args.model, args.data], suffixes=IMAGE_SUFFIXES)


def _checkpoint(args: argparse.Namespace) -> Any:
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


def _boundary_samples(args: argparse.Namespace, checkpoint: Any) -> Any:
    """The table to draw: ``--data``, or the bundled dataset the model records it was trained on.

    A path stored in the model file is never opened: a file names its training CSV, but only the
    user decides which files are read.
    """
    from chainrule.data import list_datasets, load_dataset, read_csv

    if args.data:
        return read_csv(args.data)
    source = checkpoint.config.get("source")
    dataset = source.get("dataset") if isinstance(source, dict) else None
    if dataset in {info.name for info in list_datasets() if info.bundled}:
        return load_dataset(dataset).train
    trained_on = f" (it was trained on {source['csv']!r})" if isinstance(source, dict) and source.get("csv") else ""
    raise UsageError(f"give the samples to draw with --data DATA.csv, the columns the model was trained on{trained_on}")


def _boundary(args: argparse.Namespace) -> Any:
    """Draw the decision boundary of a checkpoint with two numeric inputs, in the data's own units."""
    from chainrule import plots
    from chainrule.data import from_arrays

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
    table = _boundary_samples(args, checkpoint)
    x = table.numeric_matrix(columns)
    y = preprocessor.transform_target(table)
    preprocessor.transform(table)  # the samples' values must fit the model (an error names the cell)

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
    _check_arguments(args)
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
    parser.add_argument("figure", choices=FIGURES)
    parser.add_argument("out", help="the file to write (.png or .svg); its folder must exist")
    parser.add_argument("--x0", type=number(example="--x0 0"), default=0.0, help="descent: the starting x (default 0)")
    parser.add_argument(
        "--lr",
        type=number(above=0, example="--lr 0.1"),
        default=0.1,
        help="descent/surface: the learning rate η, a positive number (default 0.1)",
    )
    parser.add_argument(
        "--steps",
        type=count(1, MAX_STEPS, example="--steps 20"),
        default=20,
        help=f"descent/surface: number of steps, 1 to {MAX_STEPS:,} (default 20)",
    )
    parser.add_argument(
        "--by", choices=("weight", "gradient"), default="weight", help="network: what the lines show (default weight)"
    )
    parser.add_argument(
        "--data",
        help="boundary: CSV with the model's 2 input columns and its target (default: the bundled dataset "
        "the model was trained on; a CSV is never opened unless named here)",
    )
    add_model_arguments(parser)
    parser.set_defaults(run=run)
