"""``chainrule train``'s rows of the command line's contract (:mod:`cli_contract`): a bad value of
any option exits with status 2 and one line on stderr that names the problem and the fix, no
traceback or warning, nothing written, changed or created, and memory bounded (no attempt to
allocate what the input asks for).  Each option is tried the same way: the wrong type, out of
range, not finite, absurdly large, digits that are not 0-9; each path missing, a folder, the
wrong kind of file, one of the inputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_contract import Case, assert_meets_contract, case, make_contract_files

from chainrule.cli import main

H = "train {houses_csv} --target price --save {dir}/m.safetensors"
"""A good command line on the contract's houses (10 rows), to which each row adds one bad option."""

ROWS = [
    # the data
    case("no-data", "train --save {dir}/m.safetensors", "DATA.csv is missing", "a CSV file", "dataset"),
    case("csv-and-dataset", f"{H} --dataset iris", "--dataset", "train on one of them"),
    case("csv-without-target", "train {houses_csv} --save {dir}/m.safetensors", "--target is needed", "the column"),
    case("missing-csv", "train {dir}/missing.csv --target price --save {dir}/m.safetensors", "missing.csv"),
    case("model-as-data", "train {houses} --target price --save {dir}/m.safetensors", "houses.safetensors"),
    case("unknown-target", "train {houses_csv} --target cost --save {dir}/m.safetensors", "'cost'", "pass one of them"),
    case("unknown-dataset", "train --dataset nope --save {dir}/m.safetensors", "unknown dataset 'nope'"),
    case("dataset-other-target", "train --dataset iris --target price --save {dir}/m.safetensors", "'species'"),
    case("missing-data-dir", "train --dataset mnist --data-dir {dir}/nowhere --save {dir}/m.safetensors", "nowhere"),
    case("unknown-feature", f"{H} --features size", "['size']", "size_sqft"),
    case("empty-feature-name", f"{H} --features a,,b", "--features 'a,,b'", "size_sqft,bedrooms"),
    case("target-as-feature", f"{H} --features price", "remove it from features"),
    case("features-of-a-dataset", "train --dataset iris --features a --save {dir}/m.safetensors", "--features", "CSV"),
    case("unknown-categorical", f"{H} --categorical zip", "['zip']"),
    case("impute", f"{H} --impute zero", "--impute", "median"),
    case("task", f"{H} --task ranking", "--task", "classification"),
    case(
        "text-target-as-regression",
        "train {blobs_csv} --target label --task regression --save {dir}/m.safetensors",
        "is not a number",
    ),
    case("test-size-1", f"{H} --test-size 1", "--test-size", "below 1"),
    case("test-size-nan", f"{H} --test-size nan", "--test-size", "got nan"),
    case("test-size-too-small", f"{H} --test-size 0.01", "--test-size 0.01 holds out 0 of the 10 rows"),
    case("test-size-text", f"{H} --test-size half", "--test-size 'half' is not a number"),
    case("delimiter-two-characters", f"{H} --delimiter ;;", "--delimiter ';;'", "one character"),
    case("no-header-of-a-dataset", "train --dataset iris --no-header --save {dir}/m.safetensors", "--no-header", "CSV"),
    case("delimiter-of-a-dataset", "train --dataset iris --delimiter ; --save {dir}/m.safetensors", "--delimiter"),
    case("max-categories-0", f"{H} --max-categories 0", "--max-categories", "positive"),
    case("max-categories-text", f"{H} --max-categories many", "--max-categories 'many'", "whole number"),
    case("unknown", f"{H} --unknown ignore", "--unknown", "other"),
    case("streaming-a-dataset", "train --dataset iris --streaming --save {dir}/m.safetensors", "--streaming", "file"),
    case("streaming-with-validation", f"{H} --streaming --validation-split 0.2", "--validation-split", "--test-size"),
    case("streaming-with-early-stopping", f"{H} --streaming --early-stopping 3", "--early-stopping", "in memory"),
    case("shuffle-buffer-negative", f"{H} --shuffle-buffer=-1", "--shuffle-buffer", "≥ 0"),
    case("shuffle-buffer-text", f"{H} --shuffle-buffer lots", "--shuffle-buffer 'lots'", "whole number"),
    case("test-size-of-a-dataset", "train --dataset iris --test-size 0.3 --save {dir}/m.safetensors", "own test split"),
    # the network
    case("hidden-superscript", f"{H} --hidden ²", "--hidden '²'", "--hidden 16,8"),
    case("hidden-letter", f"{H} --hidden 16,x", "--hidden '16,x'", "16,8"),
    case("hidden-negative", f"{H} --hidden 16,-8", "--hidden"),
    case("hidden-zero", f"{H} --hidden 0", "--hidden '0'", "positive"),
    case("hidden-1e8", f"{H} --hidden 100000000", "300,000,001 parameters", "GiB", "smaller widths"),
    case("hidden-1e12", f"{H} --hidden 1000000000000", "3,000,000,000,001 parameters", "TiB", "smaller widths"),
    case("hidden-30-digits", f"{H} --hidden {'9' * 30}", "PiB", "smaller widths"),
    case("hidden-deep-and-wide", f"{H} --hidden {','.join(['100000'] * 20)}", "GiB", "smaller widths"),
    case("activation", f"{H} --activation swish", "--activation", "relu", "gelu"),
    case("dtype", f"{H} --dtype float16", "--dtype", "float32"),
    # the loss and the optimizer
    case("loss-of-another-task", f"{H} --loss cross-entropy", "--loss cross-entropy", "regression", "mse"),
    case("loss", f"{H} --loss hinge", "--loss", "huber"),
    case("optimizer", f"{H} --optimizer lbfgs", "--optimizer", "adam", "rmsprop"),
    case("lr-0", f"{H} --lr 0", "--lr", "positive", "0.001"),
    case("lr-negative", f"{H} --lr=-0.1", "--lr", "positive"),
    case("lr-nan", f"{H} --lr nan", "--lr", "got nan"),
    case("lr-inf", f"{H} --lr inf", "--lr", "got inf"),
    case("lr-text", f"{H} --lr fast", "--lr 'fast' is not a number"),
    case("lr-1e10-diverges", f"{H} --lr 1e10 --quiet", "lr=1e+10", "likely cause", "Nothing was saved", "--lr"),
    case(
        "lr-1e6-grows",
        "train --dataset iris --lr 1e6 --quiet --save {dir}/m.safetensors",
        "the loss grew to",
        "more than 10000 times",
        "lr=1e+06",
        "Nothing was saved",
    ),
    case("weight-decay", f"{H} --weight-decay=-1", "--weight-decay", "≥ 0"),
    case("schedule", f"{H} --schedule step", "--schedule", "cosine"),
    case("clip-grad-norm", f"{H} --clip-grad-norm 0", "--clip-grad-norm", "positive"),
    # the loop
    case("epochs-0", f"{H} --epochs 0", "--epochs", "positive"),
    case("epochs-negative", f"{H} --epochs=-2", "--epochs", "positive"),
    case("epochs-fraction", f"{H} --epochs 1.5", "--epochs '1.5'", "whole number"),
    case("epochs-superscript", f"{H} --epochs ²", "digits 0-9"),
    case("epochs-5000-digits", f"{H} --epochs {'9' * 5000}", "5000 digits"),
    case("batch-size-0", f"{H} --batch-size 0", "--batch-size", "positive"),
    case("batch-size-exponent", f"{H} --batch-size 1e3", "--batch-size '1e3'", "whole number"),
    case("validation-split-1", f"{H} --validation-split 1", "--validation-split", "below 1"),
    case("validation-split-all", f"{H} --validation-split 0.99", "holds out 10 of the 10 training rows"),
    case("early-stopping-0", f"{H} --early-stopping 0", "--early-stopping", "positive"),
    case("seed-negative", f"{H} --seed=-1", "--seed", "from 0 to", "got -1"),
    case("seed-2**64", f"{H} --seed {2**64}", "--seed", "2**64"),
    case("seed-text", f"{H} --seed abc", "--seed 'abc'", "whole number"),
    # where the results go
    case("no-save", "train {houses_csv} --target price", "--save"),
    case("save-onto-the-data", "train {houses_csv} --target price --save {houses_csv}", "is also an input"),
    case("save-onto-a-text-file", "train {houses_csv} --target price --save {text}", "would destroy it", "remove"),
    case("save-onto-an-image", "train {houses_csv} --target price --save {png}", "is a PNG image"),
    case("save-into-a-folder", "train {houses_csv} --target price --save {dir}", "is a folder"),
    case("save-missing-folder", "train {houses_csv} --target price --save {dir}/no/m.safetensors", "does not exist"),
    case("save-outside", "train {houses_csv} --target price --save /nonexistent-chainrule-contract/m", "not exist"),
    case("save-unwritable-folder", "train {houses_csv} --target price --save /proc/m.safetensors", "cannot write"),
    case("save-file-as-folder", "train {houses_csv} --target price --save {houses_csv}/m.safetensors", "not exist"),
    case("plot-onto-a-file", f"{H} --plot {{text}}", "--plot", "is a file"),
    case("plot-missing-parent", f"{H} --plot /nonexistent-chainrule-contract/plots", "--plot", "does not exist"),
    case("unknown-option", f"{H} --bogus", "unrecognized arguments: --bogus"),
]


@pytest.fixture(scope="module")
def contract_files(tmp_path_factory) -> Path:
    return make_contract_files(tmp_path_factory.mktemp("train-contract"))


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_a_bad_train_command_line_meets_the_contract(row: Case, contract_files: Path, monkeypatch) -> None:
    assert_meets_contract(row, contract_files, monkeypatch)


def test_the_contract_covers_every_option():
    from chainrule.cli import build_parser

    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices.values() if a.prog.endswith("train"))
    options = {o for action in train._actions for o in action.option_strings if o.startswith("--") and o != "--help"}
    exercised = {word.split("=")[0] for row in ROWS for word in row.argv if word.startswith("--")}
    switches = {"--quiet", "--no-streaming"}  # switches with no bad value (--streaming's rows are misuses)
    assert options - exercised <= switches, options - exercised


def test_saving_over_a_model_file_is_allowed(contract_files, tmp_path, capsys):
    model = tmp_path / "m.safetensors"
    for _ in range(2):
        status = main(["train", str(contract_files / "houses.csv"), "--target", "price", "--save", str(model),
                       "--epochs", "1"])  # fmt: skip
        assert status == 0
    assert f"saved {model}" in capsys.readouterr().out


def test_the_readme_options_table_is_the_configs():
    from chainrule.cli.train import options_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert options_table() in readme, "run: python -c 'from chainrule.cli.train import options_table as t; print(t())'"


def test_help_shows_each_options_default_from_the_config(capsys):
    import dataclasses

    from chainrule.training import TrainConfig

    assert main(["train", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for option in dataclasses.fields(TrainConfig):
        if option.name not in ("delimiter", "header"):  # those two are the reading options predict takes too
            assert option.metadata["help"] in text, option.name
    for shown in ("(default: 32,16)", "(default: relu)", "(default: adam)", "(default: 0.001)", "(default: 50)",
                  "(default: 32)", "(default: cosine)", "(default: 0)", "(default: float32)"):  # fmt: skip
        assert shown in text, shown
