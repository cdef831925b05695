"""``chainrule train``: fit an MLP to a CSV file or a named dataset and save it as one
``.safetensors`` file (weights, preprocessing, training configuration, metrics, optimizer state)."""

from __future__ import annotations

import argparse
import math
import warnings
from pathlib import Path
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.common import ACTIVATIONS, check_output_path, format_scores, load_dataset_tables, score
from chainrule.nn import registry

DEFAULTS = {
    "hidden": "32,16",
    "activation": "relu",
    "optimizer": "adam",
    "lr": 1e-3,
    "schedule": "cosine",
    "epochs": 50,
    "batch_size": 32,
    "validation_split": 0.0,
    "seed": 0,
}
"""The defaults (also shown by ``chainrule train --help`` and in the README)."""

LOSSES = {task: registry.loss_names(task) for task in ("regression", "classification")}
"""``--loss`` choices per task, from the loss registry; the first is the default."""


def register(subparsers: Any) -> None:
    """Add ``chainrule train``."""
    parser = subparsers.add_parser(
        "train",
        help="train an MLP on a CSV file or a dataset and save it",
        description="Train a multilayer perceptron on DATA.csv (with --target) or on --dataset NAME, "
        "and save it with its preprocessing to --save MODEL.safetensors.",
    )
    parser.add_argument("data", nargs="?", metavar="DATA.csv", help="CSV file with a header row (or .csv.gz)")
    parser.add_argument("--target", metavar="COL", help="the column to predict (needed with a CSV)")
    parser.add_argument("--dataset", metavar="NAME", help="a dataset instead of a CSV (see chainrule datasets)")
    parser.add_argument("--data-dir", metavar="DIR", help="folder with the files of a dataset that is not bundled")
    parser.add_argument(
        "--features", metavar="COLS", help="input columns, comma-separated (default: all but the target)"
    )
    parser.add_argument("--categorical", metavar="COLS", help="columns to one-hot encode (default: the text columns)")
    parser.add_argument(
        "--impute", choices=("mean", "median", "most_frequent"), help="fill missing feature values (default: an error)"
    )
    parser.add_argument("--save", required=True, metavar="MODEL.safetensors", help="where to write the model")
    parser.add_argument("--hidden", default=DEFAULTS["hidden"], help="hidden layer widths, e.g. 16,8 ('' for none)")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default=DEFAULTS["activation"])
    parser.add_argument("--task", choices=("regression", "classification"), help="inferred from the target if absent")
    losses = LOSSES["regression"] + LOSSES["classification"]
    parser.add_argument("--loss", choices=losses, help="default: mse (regression), cross-entropy (classification)")
    parser.add_argument("--optimizer", choices=("sgd", "momentum", "adam"), default=DEFAULTS["optimizer"])
    parser.add_argument("--lr", type=float, default=DEFAULTS["lr"], help="learning rate (default 0.001)")
    parser.add_argument(
        "--schedule",
        choices=("cosine", "constant"),
        default=DEFAULTS["schedule"],
        help="learning rate over the epochs: cosine annealing from --lr to 0 (default), or constant",
    )
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="1 = per-sample SGD")
    parser.add_argument("--validation-split", type=float, default=DEFAULTS["validation_split"], metavar="F")
    parser.add_argument(
        "--early-stopping", type=int, metavar="PATIENCE", help="stop after PATIENCE epochs without a lower val_loss"
    )
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seeds weights, shuffling and splits")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument(
        "--plot", metavar="DIR", help="also save plots of the run (loss curves, weights, gradients) in DIR"
    )
    parser.set_defaults(run=run)


def parse_hidden(text: str) -> list[int]:
    """``"16,8"`` → ``[16, 8]``; ``""`` → ``[]`` (no hidden layer)."""
    if not text.strip():
        return []
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() and int(part) > 0 for part in parts):
        raise UsageError(f"--hidden {text!r} is not positive integers separated by commas; write e.g. --hidden 16,8")
    return [int(part) for part in parts]


def _check_arguments(args: argparse.Namespace) -> list[int]:
    if (args.data is None) == (args.dataset is None):
        which = "both a CSV file and --dataset" if args.data else "no data"
        raise UsageError(f"{which}: give a CSV file (chainrule train DATA.csv --target COL) or --dataset NAME")
    if args.data is not None and args.target is None:
        raise UsageError("--target COL is needed with a CSV file: name the column to predict")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise UsageError(f"--lr must be a positive number such as 0.001; got {args.lr}")
    if args.epochs <= 0:
        raise UsageError(f"--epochs must be a positive integer; got {args.epochs}")
    if args.batch_size <= 0:
        raise UsageError(f"--batch-size must be a positive integer (1 = per-sample SGD); got {args.batch_size}")
    if not 0 <= args.validation_split < 1:
        raise UsageError(f"--validation-split must be at least 0 and below 1, such as 0.1; got {args.validation_split}")
    if args.early_stopping is not None and args.early_stopping < 1:
        raise UsageError(f"--early-stopping PATIENCE must be a positive number of epochs; got {args.early_stopping}")
    return parse_hidden(args.hidden)


def _tables(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """``(preprocessor, train table, test table or None)``."""
    from chainrule.data import Preprocessor, read_csv

    columns = {name: _column_list(getattr(args, name)) for name in ("features", "categorical")}
    if args.data is not None:
        preprocessor = Preprocessor(target=args.target, task=args.task, impute=args.impute, **columns)
        return preprocessor, read_csv(args.data), None
    if columns["features"] or columns["categorical"]:
        raise UsageError("--features and --categorical go with a CSV; a --dataset has its own columns")
    dataset, train, test = load_dataset_tables(args.dataset, args.data_dir)
    if args.target is not None and args.target != dataset.target:
        raise UsageError(f"dataset {args.dataset!r} has target {dataset.target!r}; leave out --target")
    options = dict(dataset.preprocessing, **({"impute": args.impute} if args.impute else {}))
    preprocessor = Preprocessor(target=dataset.target, task=args.task or dataset.task, **options)
    return preprocessor, train, test


def _column_list(text: str | None) -> list[str] | None:
    """``"a, b"`` → ``["a", "b"]``; None when the option was not given."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise UsageError(f"{text!r} is not column names separated by commas; write e.g. size_sqft,bedrooms")
    return names


def _optimizer(name: str, parameters: Any, lr: float) -> Any:
    from chainrule import optim

    if name == "adam":
        return optim.Adam(parameters, lr=lr)
    return optim.SGD(parameters, lr=lr, momentum=0.9 if name == "momentum" else 0.0)


def _loss(task: str, name: str | None) -> Any:
    name = name or LOSSES[task][0]
    if name not in LOSSES[task]:
        raise UsageError(f"--loss {name} does not fit a {task} task; choose {' or '.join(LOSSES[task])}")
    return name, registry.LOSSES[name].make()


def _plot(history: Any, directory: str, model: Any, health: Any, quiet: bool) -> None:
    """Save the run's plots with ``chainrule.plots`` (needs matplotlib)."""
    try:
        from chainrule.plots import save_training_plots
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'chainrule[plots]' (the model was saved)") from None
    Path(directory).mkdir(exist_ok=True)
    paths = save_training_plots(history, directory, model=model, health=health)
    if not quiet:
        print("plots: " + ", ".join(str(path) for path in paths))


def run(args: argparse.Namespace) -> int:
    """Train, report and save; returns 0."""
    hidden = _check_arguments(args)
    save_path = check_output_path(args.save, "--save")
    if args.plot:  # a folder that exists or can be made
        plots = Path(args.plot)
        if plots.exists() and not plots.is_dir():
            raise UsageError(f"--plot {plots} is a file; give a folder for the plots")
        check_output_path(str(plots / "history.png") if plots.is_dir() else str(plots), "--plot")
    import chainrule
    from chainrule import io
    from chainrule.cli.common import build_model
    from chainrule.data import train_test_split
    from chainrule.optim.lr_scheduler import CosineAnnealingLR
    from chainrule.training import EarlyStopping, LearningRateScheduler, NonFiniteLossWarning, Trainer

    preprocessor, train_table, test_table = _tables(args)
    x = preprocessor.fit_transform(train_table)
    y = preprocessor.transform_target(train_table)
    task = preprocessor.task
    loss_name, loss_fn = _loss(task, args.loss)
    validation_split = args.validation_split or (0.1 if args.early_stopping else 0.0)
    validation = None
    if validation_split:
        x, x_val, y, y_val = train_test_split(
            x, y, test_size=validation_split, seed=args.seed, stratify=y if task == "classification" else None
        )
        validation = (x_val, y_val)

    chainrule.manual_seed(args.seed)
    outputs = len(preprocessor.classes_) if task == "classification" else y.shape[1]
    model = build_model(x.shape[1], hidden, outputs, args.activation)
    optimizer = _optimizer(args.optimizer, model.parameters(), args.lr)
    metric = "accuracy" if task == "classification" else "r2"  # R² does not depend on the target's scale
    trainer = Trainer(model, loss_fn, optimizer, metrics=[metric], seed=args.seed)
    callbacks = []
    health = None
    if args.plot:
        from chainrule.diagnostics.health import HealthMonitor

        health = HealthMonitor(probe=x[:256], warn=False)  # saturated and dead units on 256 rows
        callbacks.append(health)
    if args.schedule == "cosine":
        callbacks.append(LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=args.epochs)))
    if args.early_stopping:
        callbacks.append(EarlyStopping("val_loss", patience=args.early_stopping, restore_best_weights=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NonFiniteLossWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy overflow while diverging; reported below
        history = trainer.fit(
            x,
            y,
            epochs=args.epochs,
            batch_size=args.batch_size,
            validation_data=validation,
            callbacks=callbacks,
            verbose=0 if args.quiet else 1,
        )
    if trainer.diverged:
        raise UsageError(f"{history.stop_reason} Nothing was saved; retry with a smaller --lr.")

    metrics: dict[str, Any] = {"train": score(model, preprocessor, train_table)}
    if validation is not None:
        metrics["validation"] = trainer.evaluate(*validation)  # on the encoded (standardised) target
    if test_table is not None:
        metrics["test"] = score(model, preprocessor, test_table)
    config = {
        "source": {"csv": args.data} if args.data else {"dataset": args.dataset, "test_size": 0.2, "split_seed": 0},
        "target": preprocessor.target,
        "task": task,
        "hidden": hidden,
        "activation": args.activation,
        "loss": loss_name,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "schedule": args.schedule,
        "epochs": args.epochs,
        "epochs_run": trainer.epoch,
        "batch_size": args.batch_size,
        "validation_split": validation_split,
        "early_stopping": args.early_stopping,
        "seed": args.seed,
        "samples": len(x),
        "seconds_per_epoch": sum(history.seconds) / max(len(history.seconds), 1),
        "stop_reason": history.stop_reason,
    }
    io.save(
        save_path,
        model,
        optimizer=optimizer,
        preprocessor=preprocessor,
        config=config,
        metrics=metrics,
        trainer=trainer,
    )
    if not args.quiet:
        for part, scores in metrics.items():
            print(f"{part}: {format_scores(scores)}")
        print(f"saved {save_path} ({sum(p.size for p in model.parameters())} parameters)")
    if args.plot:
        _plot(history, args.plot, model, health, args.quiet)
    return 0
