"""matplotlib, imported only when a plot is made, headless (Agg), and atomic file writes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

FORMATS = (".png", ".svg")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend; an ImportError naming the extra if it is missing."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'chainrule[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def check_path(path: str | os.PathLike) -> Path:
    """``path`` as a Path ending in .png or .svg."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"plot file {path} must end in .png or .svg (the format is taken from the suffix)")
    return path


def save(figure: Any, path: str | os.PathLike) -> Path:
    """Write ``figure`` to ``path`` (PNG or SVG by suffix) through a temporary name, then close it.

    The folder must exist: a mistyped path is an error, not a new folder.
    """
    path = check_path(path)
    if not path.parent.is_dir():
        pyplot().close(figure)
        raise FileNotFoundError(f"plot file {path}: the folder {path.parent} does not exist; create it first")
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        figure.savefig(temporary, format=path.suffix[1:].lower(), dpi=110, bbox_inches="tight")
        os.replace(temporary, path)
    finally:
        pyplot().close(figure)
        temporary.unlink(missing_ok=True)
    return path
