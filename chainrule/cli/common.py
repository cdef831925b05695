"""Helpers shared by the subcommands: output paths checked before any work is done, the reading
options of the subcommands that read a data file, scores printed on one line.  Data in, model
built and scores in the target's units are the library's (:mod:`chainrule.training.workflow`), so
the page and the estimators use them too."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chainrule.cli import UsageError


def check_output_path(path: str, flag: str) -> Path:
    """Fail now, before any training, if ``path`` cannot be written (missing folder, a folder
    itself, a read-only folder)."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UsageError(f"{flag} {path} is a folder; give a file name such as {target / 'model.safetensors'}")
    if not folder.is_dir():
        raise UsageError(f"{flag} {path}: the folder {folder} does not exist; create it or choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: the folder {folder} is not writable; choose another path")
    return target


def add_reading_options(parser: Any) -> None:
    """``--delimiter`` and ``--no-header``, for the subcommands that read a data file."""
    parser.add_argument(
        "--delimiter",
        metavar="CHAR",
        help="the CSV field separator (default: detected among , ; tab |; write tab as '\\t')",
    )
    parser.add_argument("--no-header", action="store_true", help="the first row of the CSV is data, not names")


def reading_options(args: Any) -> dict[str, Any]:
    """The keyword arguments of ``chainrule.data.iter_tables`` / ``read_table`` that the options ask for."""
    delimiter = args.delimiter
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise UsageError(f"--delimiter {args.delimiter!r} must be one character, e.g. ';' or '\\t'")
    return {"delimiter": delimiter, "header": not args.no_header}


def format_scores(scores: dict[str, float]) -> str:
    """``accuracy 0.9812  loss 0.0634  samples 10000``."""
    return "  ".join(f"{k} {v}" if k == "samples" else f"{k} {v:.6g}" for k, v in scores.items())
