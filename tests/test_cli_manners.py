"""Command-line manners: ``--version``, defaults in every option's help, quiet ends on a closed
pipe, NumPy floating-point warnings reported as the CLI's one line, and figures that are still
drawn when they should be (a diverging but finite descent)."""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_contract import make_contract_files, run

import chainrule
from chainrule.cli import BROKEN_PIPE_STATUS, build_parser, default_help

CHAINRULE = Path(sys.executable).with_name("chainrule")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    return make_contract_files(tmp_path_factory.mktemp("manners"))


def test_version_is_printed_and_exits_0() -> None:
    outcome = run(["--version"])
    assert (outcome.status, outcome.stdout, outcome.stderr) == (0, f"chainrule {chainrule.__version__}\n", "")
    result = subprocess.run([CHAINRULE, "--version"], capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout.strip()) == (0, f"chainrule {chainrule.__version__}")


def _options(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    skip = (argparse._HelpAction, argparse._VersionAction)
    return [a for a in parser._actions if a.option_strings and not a.required and not isinstance(a, skip)]


def test_every_option_of_every_command_states_its_default() -> None:
    parser = build_parser()
    checked = 0
    for name, sub in parser.commands.items():
        for action in _options(sub):
            assert "default" in default_help(action), f"chainrule {name} {action.option_strings[0]}"
            checked += 1
        assert run([name, "--help"]).status == 0
    assert checked > 40
    info, explain = (" ".join(parser.commands[name].format_help().split()) for name in ("info", "explain"))
    assert "one JSON object instead of text (default: off)" in info
    assert "--example {house-price} a worked example built in, instead of MODEL (default: none)" in explain


def test_a_closed_pipe_ends_quietly(files: Path) -> None:
    """``chainrule info --json MODEL | head -c 10``: no error line, status 0 or 141 (128 + SIGPIPE)."""
    for command in (["info", "--json", files / "houses.safetensors"], ["datasets"], ["plot", "--help"]):
        reader_gone = subprocess.Popen([CHAINRULE, *map(str, command)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        reader_gone.stdout.close()  # before the command writes: every write fails with EPIPE
        stderr = reader_gone.stderr.read().decode()
        assert reader_gone.wait(timeout=60) in (0, BROKEN_PIPE_STATUS) and stderr == "", (command, stderr)
    shell = f"'{CHAINRULE}' info --json '{files / 'houses.safetensors'}' | head -c 10"
    result = subprocess.run(["sh", "-c", shell], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == '{"architec' and result.stderr == ""


def test_a_numpy_floating_point_warning_becomes_one_error_line(monkeypatch) -> None:
    def overflowing(args: argparse.Namespace) -> int:
        return int(np.float32(3e38) * np.float32(10) > 0)

    monkeypatch.setattr("chainrule.cli.datasets.run", overflowing)
    outcome = run(["datasets"])
    assert outcome.status == 2 and outcome.warnings == [] and outcome.stdout == ""
    assert outcome.stderr.startswith("chainrule: error: a number left the floating-point range")
    assert "(overflow encountered in" in outcome.stderr and outcome.stderr.count("\n") == 1
    with warnings.catch_warnings():  # outside the command line NumPy's own rules apply again
        warnings.simplefilter("error")
        with pytest.raises(RuntimeWarning):
            overflowing(argparse.Namespace())


def test_a_diverging_but_finite_descent_is_still_drawn(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    outcome = run(["plot", "descent", "d.png", "--lr", "1.5", "--steps", "30"])  # |x| doubles each step: 2e9
    assert outcome.status == 0 and outcome.warnings == [] and outcome.stderr == ""
    assert (tmp_path / "d.png").read_bytes().startswith(b"\x89PNG")


def test_plot_takes_model_and_output_in_either_order_and_reads_only_named_data(files: Path, tmp_path) -> None:
    for order in ([files / "blobs.safetensors", tmp_path / "a.png"], [tmp_path / "b.svg", files / "blobs.safetensors"]):
        outcome = run(["plot", "boundary", *map(str, order), "--data", str(files / "blobs.csv")])
        assert outcome.status == 0 and outcome.warnings == [], outcome.stderr
    assert (tmp_path / "a.png").is_file() and (tmp_path / "b.svg").is_file()
