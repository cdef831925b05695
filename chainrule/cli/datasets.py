"""``chainrule datasets``: the datasets that ``--dataset NAME`` can load."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``chainrule datasets``."""
    parser = subparsers.add_parser(
        "datasets",
        help="list the bundled datasets and those read from --data-dir",
        description="Datasets for --dataset NAME: bundled ones, and ones read from --data-dir DIR.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print one line per dataset; returns 0."""
    from chainrule.data import list_datasets

    infos = list_datasets()
    width = max(len(info.name) for info in infos)
    for info in infos:
        where = "bundled" if info.bundled else "--data-dir"
        print(f"{info.name:<{width}}  {where:<10}  {info.task:<14}  target {info.target!r}: {info.description}")
        if not info.bundled:
            print(f"{'':<{width}}  needs: {info.files}")
    return 0
