"""``chainrule train``: fit an MLP to a CSV file or a named dataset and save it as one
``.safetensors`` file (weights, preprocessing, training configuration, metrics, optimizer state).

The work is :mod:`chainrule.training.workflow`'s; this module turns the arguments into a
:class:`~chainrule.training.workflow.TrainConfig` (its fields are the options, with their
defaults and help), checks the paths, prints and saves.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import warnings
from pathlib import Path
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.arguments import check_output, file_kind
from chainrule.cli.common import add_reading_options, format_scores, reading_options
from chainrule.training.workflow import ConfigError, TrainConfig

CLI_OPTIONS = (
    ("save", "MODEL.safetensors", "where to write the model (required)"),
    ("quiet", None, "no output (errors still go to stderr)"),
    ("plot", "DIR", "also save plots of the run (loss curves, weights, gradients) in DIR"),
)
"""The options that are the command line's own, not the workflow's: (name, metavar, help)."""


def flag(name: str) -> str:
    """A config field's spelling on the command line: ``batch_size`` → ``--batch-size``; a switch
    that is on by default by its ``--no-`` form (``header`` → ``--no-header``)."""
    if name == "data":
        return "DATA.csv"
    return ("--no-" if _DEFAULTS.get(name) is True else "--") + name.replace("_", "-")


def _default_text(option: dataclasses.Field) -> str | None:
    """How a field's default is shown (None: it has none to show)."""
    if "default_text" in option.metadata:
        return option.metadata["default_text"]
    if option.default is None:
        return None
    if isinstance(option.default, tuple):
        return ",".join(map(str, option.default))
    return f"{option.default:g}" if isinstance(option.default, float) else str(option.default)


def register(subparsers: Any) -> None:
    """Add ``chainrule train``, one option per field of :class:`TrainConfig`."""
    parser = subparsers.add_parser(
        "train",
        help="train an MLP on a CSV file or a dataset and save it",
        description="Train a multilayer perceptron on DATA.csv (with --target) or on --dataset NAME, "
        "and save it with its preprocessing to --save MODEL.safetensors.",
    )
    for option in dataclasses.fields(TrainConfig):
        if option.name == "hidden":  # the command line's own options after the data's
            parser.add_argument("--save", required=True, metavar=CLI_OPTIONS[0][1], help=CLI_OPTIONS[0][2])
        text = option.metadata["help"]
        shown = _default_text(option)
        help_text = text if shown is None else f"{text} (default: {shown})"
        if option.name == "data":
            parser.add_argument("data", nargs="?", metavar="DATA.csv", help=text)
        elif option.name == "delimiter":
            add_reading_options(parser)  # --delimiter and --no-header, as predict and evaluate read files
        elif option.name == "header":
            continue
        elif option.type == "bool | None":
            parser.add_argument(flag(option.name), action=argparse.BooleanOptionalAction, help=help_text)
        else:
            _add_option(parser, option, help_text)
    parser.add_argument("--quiet", action="store_true", help=CLI_OPTIONS[1][2])
    parser.add_argument("--plot", metavar=CLI_OPTIONS[2][1], help=CLI_OPTIONS[2][2])
    parser.set_defaults(run=run)


def _add_option(parser: Any, option: dataclasses.Field, help_text: str) -> None:
    parser.add_argument(
        flag(option.name),
        dest=option.name,
        type=_converter(option),
        default=option.default,
        choices=option.metadata.get("choices"),
        metavar=option.metadata.get("metavar"),
        help=help_text,
    )


def _converter(option: dataclasses.Field) -> Any:
    """The text → value function of a field's option, from its annotation; None for plain text."""
    name, kind = flag(option.name), str(option.type)
    if kind.startswith("tuple[int"):
        return parse_hidden
    if kind.startswith("tuple[str"):
        return lambda text: column_list(name, text)
    if kind.startswith("int"):
        return lambda text: _integer(name, text)
    if kind.startswith("float"):
        return lambda text: _real(name, text)
    return None


def parse_hidden(text: str) -> tuple[int, ...]:
    """``"16,8"`` → ``(16, 8)``; ``""`` → ``()`` (no hidden layer).  Digits 0-9 only (``²`` is not 2)."""
    if not text.strip():
        return ()
    parts = [part.strip() for part in text.split(",")]
    if not all(re.fullmatch(r"[0-9]{1,4000}", part) and int(part) > 0 for part in parts):
        raise UsageError(f"--hidden {text!r} is not positive integers separated by commas; write e.g. --hidden 16,8")
    return tuple(int(part) for part in parts)


def column_list(name: str, text: str) -> tuple[str, ...]:
    """``"a, b"`` → ``("a", "b")``."""
    names = tuple(part.strip() for part in text.split(","))
    if not all(names):
        raise UsageError(f"{name} {text!r} is not column names separated by commas; write e.g. size_sqft,bedrooms")
    return names


def _integer(name: str, text: str) -> int:
    if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", text):
        raise UsageError(f"{name} {text!r} is not a whole number written with the digits 0-9; write e.g. {name} 10")
    if len(text) > 4000:  # Python's int() refuses more than 4300 digits
        raise UsageError(f"{name} has {len(text)} digits, too many for any run; write e.g. {name} 10")
    return int(text)


def _real(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"{name} {text!r} is not a number; write e.g. {name} 0.1") from None


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The :class:`TrainConfig` of the parsed arguments (a bad value: one line naming the option)."""
    values = {name: getattr(args, name) for name in _DEFAULTS if name not in ("delimiter", "header")}
    try:
        return TrainConfig(**values, **reading_options(args))
    except ConfigError as error:
        raise UsageError(error.message(flag(error.field))) from None


def options_table() -> str:
    """The README's table of ``chainrule train``'s options: option, default, meaning (Markdown)."""
    rows = ["| option | default | meaning |", "| --- | --- | --- |"]
    for option in dataclasses.fields(TrainConfig):
        if option.name in ("data", "target", "dataset", "data_dir"):
            continue  # in the usage line
        metavar = option.metadata.get("metavar")
        shown = _default_text(option)
        shown = f"`{shown}`" if option.name in _PLAIN else shown
        name = f"{flag(option.name)} {metavar}" if metavar else flag(option.name)
        if option.type == "bool | None":
            name = f"{flag(option.name)}`, `--no-{option.name.replace('_', '-')}"
        rows.append(f"| `{name}` | {shown} | {option.metadata['help']} |")
    rows.append(f"| `--{CLI_OPTIONS[1][0]}` | off | {CLI_OPTIONS[1][2]} |")
    rows.append(f"| `--{CLI_OPTIONS[2][0]} {CLI_OPTIONS[2][1]}` | off | {CLI_OPTIONS[2][2]} |")
    return "\n".join(rows)


_PLAIN = frozenset(f.name for f in dataclasses.fields(TrainConfig) if "default_text" not in f.metadata)
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
"""Fields whose default is a value (shown as code in the README), not words."""


def _check_save_path(args: argparse.Namespace) -> Path:
    """``--save``'s path, refused before any work if it cannot be written, is the data file, or is
    a file that is not a model (which saving would destroy)."""
    path = check_output(args.save, "--save", inputs=[args.data], may_replace_model=True)
    kind = file_kind(path)
    if path.exists() and kind != "a model file":
        raise UsageError(
            f"--save {args.save} exists and is {kind or 'not a model file'}, so saving would destroy it; "
            "choose another name, or remove the file first"
        )
    return path


def _check_plot_folder(folder: str) -> None:
    plots = Path(folder)
    if plots.exists() and not plots.is_dir():
        raise UsageError(f"--plot {plots} is a file; give a folder for the plots")
    check_output(str(plots / "history.png") if plots.is_dir() else str(plots), "--plot")


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
    config = config_from_arguments(args)
    save_path = _check_save_path(args)
    if args.plot:
        _check_plot_folder(args.plot)
    from chainrule import io
    from chainrule.training import DivergenceWarning
    from chainrule.training.workflow import prepare

    try:
        plan = prepare(config)
    except ConfigError as error:
        raise UsageError(error.message(flag(error.field))) from None
    callbacks, health = [], None
    if args.plot:
        from chainrule.diagnostics.health import HealthMonitor

        health = HealthMonitor(probe=plan.x[:256], warn=False)  # saturated and dead units on 256 rows
        callbacks.append(health)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)  # reported below, as an error
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's overflow while diverging
            result = plan.fit(callbacks=callbacks, verbose=0 if args.quiet else 1)
    except MemoryError:
        raise UsageError(
            f"training ran out of memory ({plan.parameters:,} parameters, batches of {config.batch_size} rows); "
            "choose smaller --hidden widths or a smaller --batch-size"
        ) from None
    if result.diverged:
        raise UsageError(f"{result.history.stop_reason} Nothing was saved; retry with a smaller --lr.")
    io.save(save_path, **result.save_arguments())
    if not args.quiet:
        for part, scores in result.metrics.items():
            print(f"{part}: {format_scores(scores)}")
        print(f"saved {save_path} ({plan.parameters} parameters)")
    if args.plot:
        _plot(result.history, args.plot, result.model, health, args.quiet)
    return 0
