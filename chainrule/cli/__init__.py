"""The ``chainrule`` command line: one module per subcommand, dispatched from here.

Each subcommand module defines ``register(subparsers)``, which adds its parser and sets
``run=function(args) -> int`` as the parser's default.  Bad input raises :class:`UsageError`
(or ``ValueError``/``OSError`` from the library); :func:`main` prints it as one line on stderr
and exits with status 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

SUBCOMMANDS = ("train", "predict", "evaluate", "info", "datasets", "explain", "gradcheck", "plot", "serve")
"""Names of the modules in ``chainrule.cli`` that each add one subcommand, in help order."""


class UsageError(Exception):
    """Bad input from the command line: the message names the problem and the fix."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other bad input
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = _Parser(prog="chainrule", description="Neural networks from scratch, every number explained.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    subparsers.required = True
    for name in SUBCOMMANDS:
        importlib.import_module(f"chainrule.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 2 bad input)."""
    try:
        args = build_parser().parse_args(argv)
        return args.run(args) or 0
    except (UsageError, ValueError, OSError, KeyError, TypeError) as error:
        message = (error.args[0] if isinstance(error, KeyError) and error.args else str(error)).strip()
        message = message or type(error).__name__
        print(f"chainrule: error: {message.splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
