"""``chainrule train``'s contract for every option: a bad value exits with status 2 and one line
on stderr that names the problem and the fix, no traceback, nothing written or changed, and
memory bounded (no attempt to allocate what the input asks for).

Run in-process through ``chainrule.cli.main`` (fast; test_cli.py runs the console script itself),
with ``tracemalloc`` measuring the peak of what each case allocates.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from test_cli import HOUSES

from chainrule.cli import main

PEAK = 64 * 2**20
"""The most one refused command may allocate (the data and a small network fit in far less)."""

TEXT = "colour,size,label\nred,1,a\nblue,2,b\nred,3,a\nblue,4,b\n"

CASES = {
    # the data
    "no data": (["--save", "MODEL"], ["DATA.csv is missing", "a CSV file", "dataset"]),
    "csv and dataset": (["DATA", "--dataset", "iris", "--save", "MODEL"], ["--dataset", "train on one of them"]),
    "csv without target": (["DATA", "--save", "MODEL"], ["--target is needed", "name the column"]),
    "missing csv": (["missing.csv", "--target", "price", "--save", "MODEL"], ["missing.csv"]),
    "unknown target": (["DATA", "--target", "cost", "--save", "MODEL"], ["'cost'", "size_sqft", "pass one of them"]),
    "unknown dataset": (["--dataset", "nope", "--save", "MODEL"], ["unknown dataset 'nope'"]),
    "dataset, other target": (["--dataset", "iris", "--target", "price", "--save", "MODEL"], ["'species'", "leave"]),
    "missing data-dir": (["--dataset", "mnist", "--data-dir", "nowhere", "--save", "MODEL"], ["nowhere", "folder"]),
    "unknown feature": (["DATA", "--target", "price", "--features", "size", "--save", "MODEL"], ["['size']", "has"]),
    "empty feature name": (["DATA", "--target", "price", "--features", "a,,b", "--save", "MODEL"], ["size_sqft"]),
    "target as feature": (["DATA", "--target", "price", "--features", "price", "--save", "MODEL"], ["remove it"]),
    "features of a dataset": (["--dataset", "iris", "--features", "a", "--save", "MODEL"], ["--features", "CSV"]),
    "unknown categorical": (["DATA", "--target", "price", "--categorical", "zip", "--save", "MODEL"], ["['zip']"]),
    "impute": (["DATA", "--target", "price", "--impute", "zero", "--save", "MODEL"], ["--impute", "median"]),
    "task": (["DATA", "--target", "price", "--task", "ranking", "--save", "MODEL"], ["--task", "classification"]),
    "text target, regression": (["TEXT", "--target", "label", "--task", "regression", "--save", "MODEL"], ["'a'"]),
    "test-size 1": (["DATA", "--target", "price", "--test-size", "1", "--save", "MODEL"], ["--test-size", "below 1"]),
    "test-size nan": (["DATA", "--target", "price", "--test-size", "nan", "--save", "MODEL"], ["--test-size"]),
    "test-size too small": (["DATA", "--target", "price", "--test-size", "0.01", "--save", "MODEL"], ["holds out 0"]),
    "test-size, dataset": (["--dataset", "iris", "--test-size", "0.3", "--save", "MODEL"], ["own test split"]),
    # the network
    "hidden superscript": (["DATA", "--target", "price", "--hidden", "²", "--save", "MODEL"], ["--hidden '²'", "16,8"]),
    "hidden letter": (["DATA", "--target", "price", "--hidden", "16,x", "--save", "MODEL"], ["--hidden", "16,8"]),
    "hidden negative": (["DATA", "--target", "price", "--hidden", "16,-8", "--save", "MODEL"], ["--hidden"]),
    "hidden zero": (["DATA", "--target", "price", "--hidden", "0", "--save", "MODEL"], ["--hidden", "positive"]),
    "hidden 1e8": (
        ["DATA", "--target", "price", "--hidden", "100000000", "--save", "MODEL"],
        ["--hidden 100000000", "300,000,001 parameters", "GiB", "smaller widths"],
    ),
    "hidden 1e12": (
        ["DATA", "--target", "price", "--hidden", "1000000000000", "--save", "MODEL"],
        ["--hidden 1000000000000", "TiB", "smaller widths"],
    ),
    "hidden 30 digits": (["DATA", "--target", "price", "--hidden", "9" * 30, "--save", "MODEL"], ["smaller widths"]),
    "activation": (["DATA", "--target", "price", "--activation", "swish", "--save", "MODEL"], ["--activation", "relu"]),
    "dtype": (["DATA", "--target", "price", "--dtype", "float16", "--save", "MODEL"], ["--dtype", "float32"]),
    # the loss and the optimizer
    "loss of another task": (
        ["DATA", "--target", "price", "--loss", "cross-entropy", "--save", "MODEL"],
        ["--loss cross-entropy", "regression", "mse"],
    ),
    "loss": (["DATA", "--target", "price", "--loss", "hinge", "--save", "MODEL"], ["--loss", "huber"]),
    "optimizer": (["DATA", "--target", "price", "--optimizer", "lbfgs", "--save", "MODEL"], ["--optimizer", "adam"]),
    "lr 0": (["DATA", "--target", "price", "--lr", "0", "--save", "MODEL"], ["--lr", "positive", "0.001"]),
    "lr negative": (["DATA", "--target", "price", "--lr", "-0.1", "--save", "MODEL"], ["--lr", "positive"]),
    "lr nan": (["DATA", "--target", "price", "--lr", "nan", "--save", "MODEL"], ["--lr", "got nan"]),
    "lr inf": (["DATA", "--target", "price", "--lr", "inf", "--save", "MODEL"], ["--lr", "got inf"]),
    "lr text": (["DATA", "--target", "price", "--lr", "fast", "--save", "MODEL"], ["--lr 'fast' is not a number"]),
    "lr 1e10 diverges": (
        ["DATA", "--target", "price", "--lr", "1e10", "--save", "MODEL", "--quiet"],
        ["lr=1e+10", "likely cause", "Nothing was saved", "--lr"],
    ),
    "lr 1e6 grows": (
        ["--dataset", "iris", "--lr", "1e6", "--save", "MODEL", "--quiet"],
        ["the loss grew to", "more than 10000 times", "lr=1e+06", "Nothing was saved"],
    ),
    "weight-decay": (["DATA", "--target", "price", "--weight-decay", "-1", "--save", "MODEL"], ["--weight-decay"]),
    "schedule": (["DATA", "--target", "price", "--schedule", "step", "--save", "MODEL"], ["--schedule", "cosine"]),
    "clip-grad-norm": (["DATA", "--target", "price", "--clip-grad-norm", "0", "--save", "MODEL"], ["positive"]),
    # the loop
    "epochs 0": (["DATA", "--target", "price", "--epochs", "0", "--save", "MODEL"], ["--epochs", "positive"]),
    "epochs -2": (["DATA", "--target", "price", "--epochs", "-2", "--save", "MODEL"], ["--epochs", "positive"]),
    "epochs 1.5": (["DATA", "--target", "price", "--epochs", "1.5", "--save", "MODEL"], ["--epochs '1.5'", "whole"]),
    "epochs superscript": (["DATA", "--target", "price", "--epochs", "²", "--save", "MODEL"], ["digits 0-9"]),
    "epochs 5000 digits": (["DATA", "--target", "price", "--epochs", "9" * 5000, "--save", "MODEL"], ["digits"]),
    "batch-size 0": (["DATA", "--target", "price", "--batch-size", "0", "--save", "MODEL"], ["--batch-size"]),
    "batch-size 1e3": (["DATA", "--target", "price", "--batch-size", "1e3", "--save", "MODEL"], ["--batch-size"]),
    "validation-split 1": (["DATA", "--target", "price", "--validation-split", "1", "--save", "MODEL"], ["below 1"]),
    "validation-split 0.99": (
        ["DATA", "--target", "price", "--validation-split", "0.99", "--save", "MODEL"],
        ["--validation-split 0.99 holds out 15 of the 15 training rows"],
    ),
    "early-stopping 0": (["DATA", "--target", "price", "--early-stopping", "0", "--save", "MODEL"], ["positive"]),
    "seed -1": (["DATA", "--target", "price", "--seed", "-1", "--save", "MODEL"], ["--seed", "from 0 to", "got -1"]),
    "seed 2**64": (["DATA", "--target", "price", "--seed", str(2**64), "--save", "MODEL"], ["--seed", "2**64"]),
    "seed text": (["DATA", "--target", "price", "--seed", "abc", "--save", "MODEL"], ["--seed 'abc'", "whole"]),
    # where the results go
    "no --save": (["DATA", "--target", "price"], ["--save"]),
    "save onto the data": (["DATA", "--target", "price", "--save", "DATA"], ["is the data file", "houses.safetensors"]),
    "save onto another file": (["DATA", "--target", "price", "--save", "notes.txt"], ["not a model file"]),
    "save into a folder": (["DATA", "--target", "price", "--save", "."], ["is a folder"]),
    "save, missing folder": (["DATA", "--target", "price", "--save", "no/m.safetensors"], ["does not exist"]),
    "save, unwritable folder": (["DATA", "--target", "price", "--save", "/proc/m.safetensors"], ["cannot write"]),
    "save, file as folder": (["DATA", "--target", "price", "--save", "DATA/m.safetensors"], ["does not exist"]),
    "plot onto a file": (["DATA", "--target", "price", "--plot", "notes.txt", "--save", "MODEL"], ["is a file"]),
    "plot, missing parent": (["DATA", "--target", "price", "--plot", "no/plots", "--save", "MODEL"], ["--plot"]),
    "unknown option": (["DATA", "--target", "price", "--bogus", "--save", "MODEL"], ["unrecognized arguments"]),
}


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "houses.csv").write_text(HOUSES)
    (tmp_path / "text.csv").write_text(TEXT)
    (tmp_path / "notes.txt").write_text("my notes\n")
    return tmp_path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_option_exits_2_with_one_line_and_leaves_everything_as_it_was(case, folder, capsys):
    words, fragments = CASES[case]
    places = {"DATA": "houses.csv", "TEXT": "text.csv", "MODEL": "m.safetensors"}
    args = ["train", *(places.get(word, word).replace("DATA/", "houses.csv/") for word in words)]
    before = snapshot(folder)
    tracemalloc.start()
    try:
        status = main(args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert status == 2, captured.err
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), captured.err
    assert "Traceback" not in captured.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert snapshot(folder) == before  # nothing written, nothing replaced
    assert peak < PEAK, f"{case}: {peak / 2**20:.0f} MiB"


def test_the_contract_covers_every_option():
    from chainrule.cli import build_parser

    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("train"))
    options = {o for action in train._actions for o in action.option_strings if o.startswith("--") and o != "--help"}
    exercised = {word for words, _ in CASES.values() for word in words if word.startswith("--")}
    assert options - exercised <= {"--quiet"}, options - exercised  # --quiet is a switch: it has no bad value


def test_saving_over_a_model_file_is_allowed(folder, capsys):
    for _ in range(2):
        assert main(["train", "houses.csv", "--target", "price", "--epochs", "1", "--save", "m.safetensors"]) == 0
    assert "saved m.safetensors" in capsys.readouterr().out


def test_the_readme_options_table_is_the_configs():
    from chainrule.cli.train import options_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert options_table() in readme, "run: python -c 'from chainrule.cli.train import options_table as t; print(t())'"


def test_help_shows_each_options_default_from_the_config(capsys):
    import dataclasses

    from chainrule.training import TrainConfig

    with pytest.raises(SystemExit) as exited:
        main(["train", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for option in dataclasses.fields(TrainConfig):
        assert option.metadata["help"].split()[0] in text, option.name
    for shown in ("(default: 32,16)", "(default: relu)", "(default: adam)", "(default: 0.001)", "(default: 50)",
                  "(default: 32)", "(default: cosine)", "(default: 0)", "(default: float32)"):  # fmt: skip
        assert shown in text, shown
