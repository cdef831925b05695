"""Helpers shared by the subcommands: output paths checked before any work is done, scores printed
on one line.  Data in, model built and scores in the target's units are the library's
(:mod:`chainrule.training.workflow`), so the page and the estimators use them too."""

from __future__ import annotations

import os
from pathlib import Path

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


def format_scores(scores: dict[str, float]) -> str:
    """``accuracy 0.9812  loss 0.0634  samples 10000``."""
    return "  ".join(f"{k} {v}" if k == "samples" else f"{k} {v:.6g}" for k, v in scores.items())
