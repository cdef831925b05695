"""Checks of command-line values that several subcommands share, all made before any work:

* numbers: argparse ``type=`` functions that accept only finite values in a range
  (``number(above=0, example="1e-6")``, ``count(1, 10_000, example="20")``), so that
  ``--eps 0``, ``--lr nan`` or ``--steps -5`` are refused with the option's name and an example;
* files: :func:`file_kind` tells a model from a CSV, an image or a folder by its first bytes, so
  :func:`check_model` can say "new.csv is a CSV file; the model goes first" instead of "corrupt";
* outputs: :func:`check_output` refuses a path that cannot be written (a missing or read-only
  folder, a folder itself), one of the command's inputs, or an existing model to be overwritten
  by something else; nothing is created (no folder is made).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from chainrule.cli import UsageError
from chainrule.cli.common import check_output_path

CSV_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")
"""File names that are data, never a model."""


def number(
    *, above: float | None = None, minimum: float | None = None, maximum: float | None = None, example: str
) -> Callable[[str], float]:
    """An argparse type: a finite float, ``> above`` and/or ``>= minimum``, ``<= maximum``.

    The error reads ``argument --eps: must be a positive number; got '0' (e.g. --eps 1e-6)``.
    """
    if above == 0 and maximum is None:
        what = "a positive number"
    elif above == 0:
        what = f"a number above 0 and at most {maximum:g}"
    elif minimum is not None and maximum is not None:
        what = f"a number from {minimum:g} to {maximum:g}"
    elif minimum is not None:
        what = f"a number of at least {minimum:g}"
    else:
        what = "a finite number"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (
            math.isfinite(value)
            and (above is None or value > above)
            and (minimum is None or value >= minimum)
            and (maximum is None or value <= maximum)
        ):
            raise argparse.ArgumentTypeError(f"must be {what}; got {text!r} (e.g. {example})")
        return value

    return parse


def count(minimum: int, maximum: int, *, example: str) -> Callable[[str], int]:
    """An argparse type: a whole number from ``minimum`` to ``maximum`` (written in ASCII digits)."""

    def parse(text: str) -> int:
        digits = text.strip().removeprefix("-")
        value = int(text) if digits.isascii() and digits.isdigit() else None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {minimum:,} to {maximum:,}; got {text!r} (e.g. {example})"
            )
        return value

    return parse


def file_kind(path: str | os.PathLike) -> str | None:
    """What is at ``path``, judged by its first bytes: ``"a model file"`` (safetensors),
    ``"a CSV file"``, ``"a PNG image"``, ``"an SVG image"``, ``"a folder"``, or None (nothing
    there, or something else)."""
    path = Path(path)
    if path.is_dir():
        return "a folder"
    if not path.is_file():
        return None
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError:
        return None
    if len(head) > 8 and int.from_bytes(head[:8], "little") < (100 << 20) and head[8:9] == b"{":
        return "a model file"
    if head.startswith(b"\x89PNG"):
        return "a PNG image"
    if head.lstrip().startswith((b"<?xml", b"<svg")):
        return "an SVG image"
    if path.name.lower().endswith(CSV_SUFFIXES):
        return "a CSV file"
    return None


def check_model(path: str, usage: str, *, others: Iterable[str | None] = ()) -> None:
    """Refuse, before reading it, a MODEL argument that is not a model: a CSV file, an image or a
    folder in its place, usually because the arguments were swapped or misplaced.

    ``usage`` is the command's correct form, e.g. ``"predict MODEL.safetensors DATA.csv"``; when one
    of ``others`` (the command's other file arguments) is the model, the message shows the command
    with the two swapped.  A file that does not exist or a damaged model is left to
    :func:`chainrule.io.load` to report.
    """
    kind = file_kind(path)
    if kind in (None, "a model file"):
        return
    model = next((other for other in others if other and file_kind(other) == "a model file"), None)
    if model is not None:
        swapped = usage.replace("MODEL.safetensors", model).replace("DATA.csv", path)
        raise UsageError(f"{path} is {kind}; the model goes first: chainrule {swapped}")
    if kind != "a folder":
        raise UsageError(
            f"{path} is {kind}, not a model; give the .safetensors file written by --save: chainrule {usage}"
        )


def check_data(path: str | None, usage: str) -> None:
    """Refuse a DATA argument that is a model file (two models given, or the arguments misplaced)."""
    if path and file_kind(path) == "a model file":
        raise UsageError(f"{path} is a model file, not data; give the data as a CSV file: chainrule {usage}")


def check_output(
    path: str,
    flag: str,
    *,
    inputs: Iterable[str | None] = (),
    suffixes: tuple[str, ...] = (),
    may_replace_model: bool = False,
) -> Path:
    """Fail now, before any work, if ``path`` cannot or must not be written: a name without one of
    ``suffixes``, a folder itself, a missing or read-only folder (see
    :func:`chainrule.cli.common.check_output_path`), one of ``inputs``, or, unless
    ``may_replace_model``, an existing model file that the output would replace."""
    if suffixes and not path.lower().endswith(suffixes):
        raise UsageError(f"{flag} {path} must end in {' or '.join(suffixes)} (the format is taken from the suffix)")
    if Path(path).is_dir():
        example = Path(path) / f"out{suffixes[0] if suffixes else '.csv'}"
        raise UsageError(f"{flag} {path} is a folder; give a file name such as {example}")
    target = check_output_path(path, flag)
    try:  # the permission bits do not tell for root or for special folders such as /proc: try it
        tempfile.TemporaryFile(dir=target.parent).close()
    except OSError as error:
        raise UsageError(
            f"{flag} {path}: cannot write in {target.parent} ({error.strerror}); choose another path"
        ) from None
    for source in inputs:
        if source and target.exists() and Path(source).exists() and os.path.samefile(source, target):
            raise UsageError(f"{flag} {path} is also an input of this command; write the output to another file")
    if not may_replace_model and file_kind(target) == "a model file":
        raise UsageError(f"{flag} {path} is a model file; write the output to another file than a model")
    return target
