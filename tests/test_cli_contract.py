"""Every bad command line of every subcommand but ``train`` (whose rows live with its own tests)
meets the contract of :mod:`cli_contract`: exit 2, one line naming the problem and the fix, no
traceback or warning, nothing written or created, bounded memory.

Rows go through each option the same way: a wrong type, out of range, not finite, absurdly large,
and each path missing, a folder, the wrong kind of file, or one of the command's inputs.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from cli_contract import OUTSIDE, Case, assert_meets_contract, case, make_contract_files, snapshot

CHAINRULE = Path(sys.executable).with_name("chainrule")
MODEL_ARGS = "--input=1600,~3 --target 300000"
BLOB_ARGS = "--input=0.5,~-1 --target yes"

TOP = [
    case("no-command", "", "give a command", "train, predict"),
    case("options-only", "--bogus", "give a command"),
    case("unknown-command", "nosuch", "'nosuch' is not a command", "predict"),
    case("command-not-first", "{houses} info", "the command goes first", "chainrule info {houses}"),
    case("unknown-option", "info {houses} --bogus", "unrecognized arguments: --bogus", "chainrule info --help"),
    case("option-of-another-command", "predict {houses} {houses_csv} --json", "--json is an option of", "evaluate"),
    case("dash-value", "explain {bare} --input -1,2 --target 1", "--input: expected one argument", "--input=-1"),
    case("dash-number", "gradcheck --example house-price --eps -inf", "--eps: expected one argument", "--eps=-1"),
]

GRADCHECK = (
    [
        case(f"gradcheck-eps-{value}", f"gradcheck --example house-price --eps {value}", "--eps", "1e-6")
        for value in ("0", "-1", "nan", "inf", "1e300", "x", "=")
    ]
    + [
        case(
            f"gradcheck-{option}-{value}", f"gradcheck --example house-price --{option} {value}", f"--{option}", "e.g."
        )
        for option in ("atol", "rtol")
        for value in ("-1", "nan", "inf", "1e999", "x")
    ]
    + [
        case(
            f"gradcheck-max-entries-{value}",
            f"gradcheck --example house-price --max-entries {value}",
            "--max-entries",
            "64",
        )
        for value in ("-1", "1.5", "x", "²", "10000000000000")
    ]
    + [
        case("gradcheck-nothing", "gradcheck", "MODEL.safetensors", "--example house-price"),
        case("gradcheck-model-and-example", "gradcheck {houses} --example house-price", "either MODEL or --example"),
        case("gradcheck-unknown-example", "gradcheck --example nope", "--example", "house-price"),
        case(
            "gradcheck-csv-as-model", f"gradcheck {{houses_csv}} {MODEL_ARGS}", "is a CSV file, not a model", "--save"
        ),
        case("gradcheck-png-as-model", f"gradcheck {{png}} {MODEL_ARGS}", "is a PNG image, not a model"),
        case("gradcheck-text-as-model", f"gradcheck {{text}} {MODEL_ARGS}", "notes.txt is a CSV file, not a model"),
        case("gradcheck-folder-as-model", f"gradcheck {{dir}} {MODEL_ARGS}", "is a folder", "--save"),
        case("gradcheck-missing-model", f"gradcheck {{dir}}/missing.safetensors {MODEL_ARGS}", "does not exist"),
        case("gradcheck-no-input", "gradcheck {houses}", "needs --input", "size_sqft, bedrooms"),
        case("gradcheck-no-target", "gradcheck {houses} --input=1600,~3", "needs --input", "--target"),
        case(
            "gradcheck-too-many-values", "gradcheck {houses} --input=1,2,3 --target 1", "takes 2 input values", "got 3"
        ),
        case("gradcheck-nan-input", "gradcheck {houses} --input=nan,~3 --target 1", "'size_sqft'", "missing value"),
        case("gradcheck-inf-input", "gradcheck {houses} --input=inf,~3 --target 1", "'size_sqft'", "finite number"),
        case("gradcheck-huge-input", "gradcheck {houses} --input=1e300,~3 --target 1", "'size_sqft'", "too large"),
        case("gradcheck-text-input", "gradcheck {houses} --input=big,~3 --target 1", "'size_sqft'", "give a number"),
        case("gradcheck-inf-target", "gradcheck {houses} --input=1600,~3 --target inf", "'price'", "finite number"),
        case("gradcheck-text-target", "gradcheck {houses} --input=1600,~3 --target x", "'price'", "give a number"),
        case("gradcheck-unknown-class", f"gradcheck {{blobs}} {BLOB_ARGS[:-3]}maybe", "class 'maybe'", "'no', 'yes'"),
        case(
            "gradcheck-unknown-loss", f"gradcheck {{houses}} {MODEL_ARGS} --loss bogus", "unknown loss 'bogus'", "mse"
        ),
        case("gradcheck-bare-nan", "gradcheck {bare} --input=nan,~1 --target 1", "--input", "finite number"),
        case("gradcheck-bare-width", "gradcheck {bare} --input=1,~2,~3 --target 1", "takes 2 inputs", "give 2"),
        case("gradcheck-bare-overflow", "gradcheck {bare} --input=1e300,~1e300 --target 1e300", "not finite", "scale"),
        case(
            "gradcheck-too-many-samples",
            "gradcheck {bare} --input=" + ";".join(["1,2"] * 101) + " --target 1",
            "101 samples",
            "at most 100",
        ),
    ]
)

EXPLAIN = (
    [
        case(f"explain-decimals-{value}", f"explain --example house-price --decimals {value}", "--decimals", "0 to 15")
        for value in ("-1", "16", "100000000", "x", "2.5")
    ]
    + [
        case(f"explain-lr-{value}", f"explain --example house-price --lr {value}", "--lr", "e.g. --lr 0.1")
        for value in ("nan", "inf", "-1", "0", "x")
    ]
    + [
        case("explain-lr-overflows", "explain --example house-price --lr 1e300", "lr=1e+300", "smaller lr"),
        case("explain-unknown-param", "explain --example house-price --param nope", "no parameter 'nope'", "w1_21"),
        case("explain-param-out-of-range", "explain --example house-price --param 0.weight[9,9]", "(9, 9)", "indices"),
        case("explain-format", "explain --example house-price --format pdf", "--format", "markdown"),
        case("explain-nothing", "explain", "MODEL.safetensors", "--example"),
        case("explain-csv-as-model", f"explain {{houses_csv}} {MODEL_ARGS}", "is a CSV file, not a model"),
        case("explain-no-target", "explain {houses} --input=1600,~3", "needs --input", "--target"),
        case("explain-nan-target", "explain {houses} --input=1600,~3 --target nan", "'price'", "missing value"),
        case("explain-huge-input", "explain {houses} --input=1e308,~3 --target 1", "'size_sqft'", "too large"),
        case("explain-empty-input", "explain {houses} --input= --target 1", "takes 2 input values", "got 0"),
        case("explain-only-separators", "explain {houses} --input=;;; --target 1", "takes 2 input values"),
        case("explain-target-count", "explain {houses} --input=1600,3;1500,2 --target 1", "2 input rows", "one target"),
        case("explain-unknown-class", f"explain {{blobs}} {BLOB_ARGS[:-3]}maybe", "class 'maybe'"),
        case("explain-bare-overflow", "explain {bare} --input=1e300,~1e300 --target 1", "finite float32", "scale"),
        case(
            "explain-bare-class-label", "explain {bare} --input=1,~2 --target 0.5 --loss cross-entropy", "class index"
        ),
        case(
            "explain-too-many-samples",
            "explain {bare} --input=" + ";".join(["1,2"] * 500) + " --target 1",
            "500 samples",
            "at most 100",
        ),
    ]
)

PLOT = (
    [
        case(f"plot-steps-{value}", f"plot descent d.png --steps {value}", "--steps", "1 to 10,000")
        for value in ("-5", "0", "1000000000", "2.5", "x")
    ]
    + [
        case(f"plot-{figure}-lr-{value}", f"plot {figure} d.png --lr {value}", "--lr", "e.g. --lr 0.1")
        for figure in ("descent", "surface")
        for value in ("nan", "inf", "-1", "0", "x")
    ]
    + [
        case(f"plot-x0-{value}", f"plot descent d.png --x0 {value}", "--x0", "e.g. --x0 0")
        for value in ("nan", "inf", "x")
    ]
    + [
        case("plot-descent-diverges", "plot descent d.png --lr 1e10", "lr=1e+10 diverges", "smaller lr"),
        case("plot-surface-diverges", "plot surface d.png --lr 1e10", "lr=1e+10 diverges", "smaller lr"),
        case("plot-descent-far-start", "plot descent d.png --x0 1e300", "at the start", "nearer the minimum"),
        case("plot-missing-folder", "plot descent {dir}/missing/d.png", "does not exist", "create it"),
        case("plot-missing-root-folder", f"plot descent {OUTSIDE}/d.png", "does not exist", "create it"),
        case("plot-unwritable-folder", "plot descent /proc/d.png", "cannot write in /proc", "another path"),
        case("plot-folder-as-output", "plot descent {dir}", "must end in .png or .svg"),
        case("plot-folder-named-png", "plot descent {dir}/sub.png --steps 3", "is a folder", "sub.png/out.png"),
        case("plot-wrong-suffix", "plot descent d.pdf", "must end in .png or .svg"),
        case("plot-unknown-figure", "plot bogus x.png", "invalid choice: 'bogus'", "descent"),
        case("plot-descent-with-model", "plot descent d.png {houses}", "takes no model", "plot descent OUT.png"),
        case("plot-history-without-model", "plot history h.png", "needs a model", "MODEL.safetensors OUT.png"),
        case("plot-history-csv-as-model", "plot history {houses_csv} h.png", "CSV file, not a model"),
        case(
            "plot-history-of-bare-model", "plot history {bare} h.png", "no training history", "chainrule train --save"
        ),
        case("plot-history-missing-model", "plot history {dir}/missing.safetensors h.png", "does not exist"),
        case("plot-history-over-model", "plot history {houses} {houses}", "must end in .png or .svg"),
        case("plot-history-out-is-csv", "plot history {houses} {houses_csv}", "houses.csv must end in .png or .svg"),
        case(
            "plot-history-png-as-model",
            "plot network n.png {png} --input=1,2 --target 1",
            "is a PNG image, not a model",
        ),
        case("plot-data-not-for-history", "plot history {houses} h.png --data {houses_csv}", "--data goes with"),
        case("plot-input-not-for-history", "plot history {houses} h.png --input=1,2", "go with plot network"),
        case("plot-boundary-csv-as-model", "plot boundary {blobs_csv} b.png", "is a CSV file, not a model"),
        case("plot-boundary-of-regression", "plot boundary {houses} b.png --data {houses_csv}", "not a classifier"),
        case("plot-boundary-of-bare-model", "plot boundary {bare} b.png --data {blobs_csv}", "holds no preprocessing"),
        case("plot-boundary-no-data", "plot boundary {blobs} b.png", "--data DATA.csv", "blobs.csv"),
        case("plot-boundary-passwd", "plot boundary {passwd} b.png", "--data DATA.csv", "'/etc/passwd'"),
        case("plot-boundary-climb", "plot boundary {climb} b.png", "--data DATA.csv", "'../../etc/passwd'"),
        case("plot-boundary-missing-data", "plot boundary {blobs} b.png --data nope.csv", "nope.csv", "check the path"),
        case("plot-boundary-wrong-data", "plot boundary {blobs} b.png --data {houses_csv}", "'a'", "size_sqft"),
        case("plot-boundary-model-as-data", "plot boundary {blobs} b.png --data {houses}", "not UTF-8 text"),
        case("plot-boundary-over-data", "plot boundary {blobs} {png} --data {png}", "is also an input"),
        case("plot-network-nothing", "plot network n.png", "MODEL.safetensors", "--example"),
        case("plot-network-by", "plot network n.png --example house-price --by bogus", "--by", "gradient"),
        case("plot-network-nan-input", "plot network n.png {houses} --input=nan,~3 --target 1", "missing value"),
        case("plot-network-over-model", "plot network {houses} {houses}", "must end in .png or .svg"),
    ]
)

PREDICT = [
    case(
        "predict-swapped",
        "predict {houses_csv} {houses}",
        "is a CSV file; the model goes first",
        "chainrule predict {houses} {houses_csv}",
    ),
    case("predict-no-data", "predict {houses}", "required: DATA.csv"),
    case("predict-missing-data", "predict {houses} nope.csv", "nope.csv", "check the path"),
    case("predict-folder-as-data", "predict {houses} {dir}", "is a directory", "CSV file"),
    case("predict-png-as-data", "predict {houses} {png}", "picture.png", "UTF-8"),
    case("predict-model-as-data", "predict {houses} {blobs}", "is a model file, not data", "DATA.csv"),
    case("predict-text-as-model", "predict {text} {houses_csv}", "is a CSV file, not a model"),
    case("predict-missing-model", "predict {dir}/none.safetensors {houses_csv}", "does not exist", "--save"),
    case("predict-device-as-model", "predict /dev/null {houses_csv}", "/dev/null", "--save"),
    case("predict-wrong-columns", "predict {blobs} {houses_csv}", "'a', 'b'", "rename"),
    case("predict-huge-value", "predict {houses} {huge_csv}", "'size_sqft' row 2", "too large"),
    case("predict-out-over-data", "predict {houses} {houses_csv} --out {houses_csv}", "is also an input"),
    case("predict-out-over-model", "predict {houses} {houses_csv} --out {houses}", "is also an input"),
    case("predict-out-over-other-model", "predict {houses} {houses_csv} --out {blobs}", "is a model file"),
    case("predict-out-missing-folder", f"predict {{houses}} {{houses_csv}} --out {OUTSIDE}/p.csv", "does not exist"),
    case("predict-out-folder", "predict {houses} {houses_csv} --out {dir}", "is a folder", "out.csv"),
    case("predict-out-unwritable", "predict {houses} {houses_csv} --out /proc/p.csv", "cannot write in /proc"),
    case("predict-out-missing-value", "predict {houses} {houses_csv} --out", "--out: expected one argument"),
]

EVALUATE = [
    case(
        "evaluate-swapped",
        "evaluate {houses_csv} {houses}",
        "the model goes first",
        "chainrule evaluate {houses} {houses_csv}",
    ),
    case("evaluate-no-data", "evaluate {houses}", "no data", "--dataset NAME"),
    case("evaluate-both", "evaluate {houses} {houses_csv} --dataset iris", "both a CSV file and --dataset"),
    case("evaluate-split-with-csv", "evaluate {houses} {houses_csv} --split train", "--split and --data-dir go with"),
    case("evaluate-data-dir-with-csv", f"evaluate {{houses}} {{houses_csv}} --data-dir {OUTSIDE}", "go with --dataset"),
    case("evaluate-other-target", "evaluate {houses} --dataset iris", "predicts 'price'", "'species'"),
    case("evaluate-unknown-dataset", "evaluate {houses} --dataset nope", "unknown dataset 'nope'", "iris"),
    case("evaluate-unbundled-dataset", "evaluate {houses} --dataset mnist", "not bundled", "--data-dir"),
    case("evaluate-missing-data-dir", f"evaluate {{houses}} --dataset mnist --data-dir {OUTSIDE}", "does not exist"),
    case("evaluate-split", "evaluate {houses} --dataset iris --split bogus", "--split", "'test', 'train'"),
    case("evaluate-wrong-columns", "evaluate {blobs} {houses_csv}", "'a', 'b'"),
    case("evaluate-no-target-column", "evaluate {houses} {blobs_csv}", "'size_sqft', 'bedrooms'"),
    case("evaluate-model-as-data", "evaluate {houses} {blobs}", "is a model file, not data"),
    case("evaluate-bare-model", "evaluate {bare} {houses_csv}", "no preprocessing with a target"),
    case("evaluate-huge-value", "evaluate {houses} {huge_csv}", "'size_sqft' row 2", "too large"),
]

INFO = [
    case("info-no-model", "info", "required: MODEL.safetensors"),
    case("info-csv", "info {houses_csv}", "is a CSV file, not a model", "chainrule info MODEL.safetensors"),
    case("info-png", "info {png}", "is a PNG image, not a model"),
    case("info-folder", "info {dir}", "is a folder", "--save"),
    case("info-missing", "info nope.safetensors", "does not exist", "--save"),
    case("info-extra", "info {houses} extra", "unrecognized arguments: extra"),
    case("datasets-extra", "datasets extra", "unrecognized arguments: extra"),
    case("datasets-option", "datasets --json", "unrecognized arguments: --json", "--json is an option of"),
]

CASES = TOP + GRADCHECK + EXPLAIN + PLOT + PREDICT + EVALUATE + INFO


@pytest.fixture(scope="module")
def contract_files(tmp_path_factory) -> Path:
    return make_contract_files(tmp_path_factory.mktemp("contract"))


@pytest.mark.parametrize("row", CASES, ids=lambda row: row.name)
def test_bad_command_line_meets_the_contract(row: Case, contract_files: Path, monkeypatch) -> None:
    assert_meets_contract(row, contract_files, monkeypatch)


def test_the_table_has_one_row_per_name() -> None:
    assert len({row.name for row in CASES}) == len(CASES)


def _limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["plot", "descent", "d.png", "--steps", "1000000000"], "--steps"),
        (["explain", "--example", "house-price", "--decimals", "100000000"], "--decimals"),
        (["gradcheck", "{bare}", "--input", ";".join(["1,2"] * 20_000), "--target", "1"], "at most 100"),
        (["plot", "boundary", "{passwd}", "b.png"], "--data DATA.csv"),
    ],
    ids=["steps", "decimals", "samples", "passwd"],
)
def test_console_script_refuses_absurd_sizes_within_1_gib(argv, fragment, contract_files: Path) -> None:
    """The installed ``chainrule`` under a 1 GiB address-space limit: absurd sizes are refused,
    not attempted, and the hostile model's /etc/passwd is neither read nor echoed."""
    argv = [
        word.format(passwd=contract_files / "passwd.safetensors", bare=contract_files / "bare.safetensors")
        for word in argv
    ]
    before = snapshot(contract_files)
    result = subprocess.run(
        [CHAINRULE, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=contract_files,
        preexec_fn=_limited_memory,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert result.returncode == 2, result.stderr
    assert (
        result.stderr.count("\n") == 1 and result.stderr.startswith("chainrule: error: ") and fragment in result.stderr
    )
    assert "root:" not in result.stderr and result.stdout == ""
    assert snapshot(contract_files) == before
