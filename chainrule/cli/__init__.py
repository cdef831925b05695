"""The ``chainrule`` command line: one module per subcommand, dispatched from here.

Each subcommand module defines ``register(subparsers)``, which adds its parser and sets
``run=function(args) -> int`` as the parser's default.  Bad input raises :class:`UsageError`
(or ``ValueError``/``OSError`` from the library); :func:`main` prints it as one line on stderr
and exits with status 2, with no traceback.  A NumPy floating-point warning (overflow, invalid
value, division by zero) raised while a command runs is an error too, reported the same way,
so a raw ``RuntimeWarning`` never reaches the user.  Output to a closed pipe
(``chainrule info --json m | head -c 10``) ends quietly with status 141, as Unix tools do.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

SUBCOMMANDS = ("train", "predict", "evaluate", "info", "datasets", "explain", "gradcheck", "plot", "serve")
"""Names of the modules in ``chainrule.cli`` that each add one subcommand, in help order."""

FLOATING_POINT_WARNING = r"(overflow|invalid value|divide by zero) encountered"
"""NumPy's floating-point warnings, by message; :func:`main` turns them into errors."""

BROKEN_PIPE_STATUS = 141
"""128 + SIGPIPE: what a shell reports for a Unix tool whose reader went away."""


class UsageError(Exception):
    """Bad input from the command line: the message names the problem and the fix."""


class HelpFormatter(argparse.HelpFormatter):
    """Help that states every option's default: ``(default: 0.1)``, ``(default: off)`` for a
    flag, ``(default: none)`` when an option is simply absent, unless its help already says it."""

    def _format_action(self, action: argparse.Action) -> str:
        text = default_help(action)
        if text != action.help:
            action = copy.copy(action)
            action.help = text
        return super()._format_action(action)


def default_help(action: argparse.Action) -> str | None:
    """``action.help`` with ``(default: …)`` appended where it does not mention its default."""
    text = action.help
    if (
        not action.option_strings
        or action.required
        or action.default is argparse.SUPPRESS
        or text is argparse.SUPPRESS
        or "default" in (text or "")
    ):
        return text
    if action.nargs == 0 and action.const is True and action.default is False:  # store_true
        value = "off"
    elif action.default is None:
        value = "none"
    else:
        value = str(action.default).replace("%", "%%")
    return f"{text} (default: {value})" if text else f"default: {value}"


class _Parser(argparse.ArgumentParser):
    commands: dict[str, argparse.ArgumentParser]  # the subcommands' parsers (on the top-level parser)

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, exit 2, as for every other bad input
        if message.startswith("argument --") and message.endswith(": expected one argument"):
            option = message.split()[1].rstrip(":")
            message += f" (a value that starts with '-' goes after '=': {option}=-1)"
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    from chainrule import __version__

    parser = _Parser(prog="chainrule", description="Neural networks from scratch, every number explained.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in SUBCOMMANDS:
        importlib.import_module(f"chainrule.cli.{name}").register(subparsers)
    parser.commands = subparsers.choices
    return parser


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)`` with messages that say where a misplaced word belongs."""
    commands = ", ".join(SUBCOMMANDS)
    first = next((word for word in argv if not word.startswith("-")), None)
    if first is None and not any(word in ("-h", "--help", "--version") for word in argv):
        raise UsageError(f"give a command: chainrule COMMAND …, one of {commands} (see 'chainrule --help')")
    if first is not None and first not in SUBCOMMANDS:
        later = next((word for word in argv if word in SUBCOMMANDS), None)
        if later is not None:
            rest = [word for word in argv if word != later]
            raise UsageError(f"{first!r} is not a command; the command goes first: chainrule {later} {' '.join(rest)}")
        raise UsageError(f"{first!r} is not a command; choose one of {commands} (see 'chainrule --help')")
    args, extras = parser.parse_known_args(argv)
    if extras:
        owners = _option_owners(parser, extras, args.command)
        raise UsageError(f"unrecognized arguments: {' '.join(extras)}{owners} (see 'chainrule {args.command} --help')")
    return args


def _option_owners(parser: argparse.ArgumentParser, extras: list[str], command: str) -> str:
    """``"; --json is an option of evaluate, info"`` for unknown options that other commands take."""
    notes = []
    for word in extras:
        option = word.split("=", 1)[0]
        owners = [
            name
            for name, sub in parser.commands.items()
            if name != command and any(option in action.option_strings for action in sub._actions)
        ]
        if option.startswith("--") and owners:
            notes.append(f"{option} is an option of {', '.join(owners)}, not of {command}")
    return "; " + "; ".join(notes) if notes else ""


def _report(message: str) -> None:
    """``chainrule: error: <first line>``, with control characters shown escaped."""
    line = (message.strip().splitlines() or [""])[0]
    line = "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)
    print(f"chainrule: error: {line}", file=sys.stderr)


def _one_line_data_warnings(shown: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` that prints a data warning (a dropped column, a header that looks like
    data, …) as one line, ``chainrule: warning: …``, and hands any other warning to ``shown``."""
    from chainrule.data.dialect import DataWarning

    def show(message: Any, category: type, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
        if issubclass(category, DataWarning):
            print(f"chainrule: warning: {message}", file=sys.stderr if file is None else file)
        else:
            shown(message, category, filename, lineno, file, line)

    return show


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's last flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor (tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 success, 1 a failed check, 2 bad input,
    130 interrupted, 141 the output's reader went away)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=FLOATING_POINT_WARNING, category=RuntimeWarning)
            warnings.showwarning = _one_line_data_warnings(warnings.showwarning)
            args = _parse(build_parser(), argv)
            status = args.run(args) or 0
            sys.stdout.flush()  # a closed pipe is found here, not in the interpreter's last flush
        return status
    except SystemExit as done:  # --help and --version
        return done.code if isinstance(done.code, int) else 0
    except BrokenPipeError:
        _silence_stdout()
        return BROKEN_PIPE_STATUS
    except RuntimeWarning as warning:  # NumPy's overflow, invalid value, division by zero
        _report(
            f"a number left the floating-point range while computing ({warning}): a value in the data or an "
            "option is too large for this computation; rescale the data or choose smaller values"
        )
        return 2
    except MemoryError:
        _report("not enough memory for this command; give smaller sizes or less data")
        return 2
    except (UsageError, ValueError, OSError, KeyError, TypeError) as error:
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        _report(message.strip() or type(error).__name__)
        return 2
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
