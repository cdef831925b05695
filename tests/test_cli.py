"""The ``chainrule`` console script, run as a user runs it (subprocess): train, predict, evaluate,
info, datasets, and every bad input: one line on stderr, exit status 2, no traceback, no file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chainrule import io

CHAINRULE = shutil.which("chainrule", path=str(Path(sys.executable).parent)) or "chainrule"
HOUSES = "size_sqft,bedrooms,price\n" + "".join(
    f"{size},{rooms},{price}\n"
    for size, rooms, price in [
        (2104, 3, 399900), (1600, 3, 329900), (2400, 3, 369000), (1416, 2, 232000), (3000, 4, 539900),
        (1985, 4, 299900), (1534, 3, 314900), (1427, 3, 198999), (1380, 3, 212000), (1494, 3, 242500),
        (1940, 4, 239999), (2000, 3, 347000), (1890, 3, 329999), (4478, 5, 699900), (1268, 3, 259900),
    ]
)  # fmt: skip


def chainrule(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([CHAINRULE, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120)


def assert_usage_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A folder with houses.csv and a model trained on it (shared by the module's tests)."""
    folder = tmp_path_factory.mktemp("cli")
    (folder / "houses.csv").write_text(HOUSES)
    result = chainrule("train", folder / "houses.csv", "--target", "price", "--save", folder / "houses.safetensors",
                       "--hidden", "8", "--epochs", "5", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""  # --quiet
    return folder


def test_train_writes_a_model_that_info_predict_and_evaluate_read(workspace):
    checkpoint = io.load(workspace / "houses.safetensors")
    assert checkpoint.config["task"] == "regression" and checkpoint.config["hidden"] == [8]
    assert checkpoint.preprocessor.input_columns == ["size_sqft", "bedrooms"]
    info = chainrule("info", workspace / "houses.safetensors")
    assert info.returncode == 0 and "parameters: 33" in info.stdout and "target 'price' (regression)" in info.stdout

    rows = workspace / "rows.csv"
    rows.write_text("size_sqft,bedrooms\n2104,3\n1600,3\n")  # no target column
    predicted = chainrule("predict", workspace / "houses.safetensors", rows)
    assert predicted.returncode == 0, predicted.stderr
    lines = predicted.stdout.splitlines()
    assert lines[0] == "size_sqft,bedrooms,prediction" and lines[1].startswith("2104,3,") and len(lines) == 3
    out = workspace / "predictions.csv"
    assert chainrule("predict", workspace / "houses.safetensors", rows, "--out", out).returncode == 0
    assert out.read_text() == predicted.stdout

    evaluated = chainrule("evaluate", workspace / "houses.safetensors", workspace / "houses.csv", "--json")
    scores = json.loads(evaluated.stdout)
    assert set(scores) == {"rmse", "mae", "r2", "mse", "samples"} and scores["samples"] == 15
    assert scores["rmse"] == pytest.approx(scores["mse"] ** 0.5)


def test_train_on_a_dataset_classification_is_inferred_and_scored(tmp_path):
    model = tmp_path / "iris.safetensors"
    result = chainrule("train", "--dataset", "iris", "--save", model, "--hidden", "16", "--epochs", "30",
                       "--lr", "0.01", "--early-stopping", "5", "--seed", "1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "epoch 1/30" in result.stdout and "test: accuracy" in result.stdout
    checkpoint = io.load(model)
    assert checkpoint.config["task"] == "classification" and checkpoint.metrics["test"]["samples"] == 30
    evaluated = json.loads(chainrule("evaluate", model, "--dataset", "iris", "--json").stdout)
    assert evaluated["accuracy"] == checkpoint.metrics["test"]["accuracy"] > 0.8
    listing = chainrule("datasets")
    assert listing.returncode == 0 and "portland-housing" in listing.stdout and "mnist" in listing.stdout


def test_plot_flag_saves_the_training_plots(tmp_path):
    plots = tmp_path / "plots"
    result = chainrule("train", "--dataset", "iris", "--save", tmp_path / "m.safetensors", "--epochs", "2",
                       "--plot", plots, "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in plots.iterdir()) == ["gradient_norms.png", "history.png", "network.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in plots.iterdir())


def test_same_seed_same_model_file(tmp_path, workspace):
    args = ("train", workspace / "houses.csv", "--target", "price", "--hidden", "4", "--epochs", "3", "--quiet")
    chainrule(*args, "--save", tmp_path / "a.safetensors")
    chainrule(*args, "--save", tmp_path / "b.safetensors")
    a, b = io.load(tmp_path / "a.safetensors").model, io.load(tmp_path / "b.safetensors").model
    for x, y in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(x.data, y.data)


def test_a_diverging_run_says_the_learning_rate_and_saves_nothing(tmp_path, workspace):
    model = tmp_path / "m.safetensors"
    result = chainrule("train", workspace / "houses.csv", "--target", "price", "--save", model, "--optimizer", "sgd",
                       "--lr", "1e30", "--epochs", "3", "--quiet", "--schedule", "constant")  # fmt: skip
    assert_usage_error(result, "learning rate", "likely cause", "--lr")
    assert not model.exists()


BAD_CSV = {
    "empty": ("", "empty"),
    "header-only": ("size_sqft,bedrooms,price\n", "no data rows"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", "binary"),
    "text-in-number": ("size_sqft,bedrooms,price\n2104,3,399900\n1600,three,329900\n1400,2,250000\n", "'three'"),
    "nan": ("size_sqft,bedrooms,price\n2104,3,399900\n1600,nan,329900\n1400,2,250000\n", "bedrooms"),
    "infinity": ("size_sqft,bedrooms,price\n2104,3,399900\n1600,inf,329900\n1400,2,250000\n", "infinit"),
    "ragged": ("size_sqft,bedrooms,price\n2104,3,399900\n1600,3\n", "line 3"),
}


@pytest.mark.parametrize("case", sorted(BAD_CSV))
def test_bad_csv_files(tmp_path, case):
    content, fragment = BAD_CSV[case]
    data = tmp_path / "data.csv"
    data.write_bytes(content if isinstance(content, bytes) else content.encode())
    model = tmp_path / "m.safetensors"
    result = chainrule("train", data, "--target", "price", "--save", model, "--epochs", "1", "--quiet")
    assert_usage_error(result, fragment)
    assert not model.exists()


def test_bad_train_arguments(tmp_path, workspace):
    data, model = workspace / "houses.csv", tmp_path / "m.safetensors"
    cases = [
        (["train", tmp_path / "missing.csv", "--target", "price"], ["missing.csv"]),
        (["train", data, "--target", "cost"], ["'cost'", "size_sqft", "bedrooms", "price"]),
        (["train", data, "--target", "price", "--hidden", "16,x"], ["--hidden", "16,8"]),
        (["train", data, "--target", "price", "--hidden", "16,-8"], ["--hidden"]),
        (["train", data, "--target", "price", "--lr", "0"], ["--lr", "positive"]),
        (["train", data, "--target", "price", "--lr", "-0.1"], ["--lr"]),
        (["train", data, "--target", "price", "--epochs", "0"], ["--epochs", "positive"]),
        (["train", data, "--target", "price", "--epochs", "-2"], ["--epochs"]),
        (["train", data, "--target", "price", "--bogus"], ["unrecognized arguments: --bogus"]),
        (["train", data, "--target", "price", "--loss", "cross-entropy"], ["--loss cross-entropy", "regression"]),
        (["train", data], ["--target"]),
        (["train", "--dataset", "nope"], ["unknown dataset 'nope'"]),
    ]
    for args, fragments in cases:
        assert_usage_error(chainrule(*args, "--save", model, "--quiet"), *fragments)
        assert not model.exists()
    assert_usage_error(chainrule("train", data, "--target", "price"), "--save")


def test_unwritable_save_paths(tmp_path, workspace):
    data = workspace / "houses.csv"
    cases = [
        (tmp_path / "no-such-folder" / "m.safetensors", "does not exist"),
        (tmp_path, "is a folder"),
        (workspace / "houses.csv" / "m.safetensors", "does not exist"),
    ]
    for path, fragment in cases:
        assert_usage_error(chainrule("train", data, "--target", "price", "--save", path, "--quiet"), fragment)
    assert not (tmp_path / "no-such-folder").exists()


def test_bad_model_files(tmp_path, workspace):
    from safetensors.numpy import save_file

    (tmp_path / "random.safetensors").write_bytes(np.random.default_rng(0).bytes(300))
    good = (workspace / "houses.safetensors").read_bytes()
    (tmp_path / "corrupt.safetensors").write_bytes(good[: len(good) - 40])
    save_file({"w": np.ones(3, np.float32)}, tmp_path / "foreign.safetensors")
    cases = {
        "random.safetensors": "not a readable model file",
        "corrupt.safetensors": "not a readable model file",
        "foreign.safetensors": "not a chainrule model",
        "missing.safetensors": "does not exist",
    }
    for name, fragment in cases.items():
        for command in (["info"], ["predict"], ["evaluate"]):
            extra = [] if command == ["info"] else [workspace / "houses.csv"]
            assert_usage_error(chainrule(*command, tmp_path / name, *extra), fragment)


def test_predict_with_columns_that_do_not_match_the_model(tmp_path, workspace):
    rows = tmp_path / "rows.csv"
    rows.write_text("size,rooms\n2104,3\n")
    out = tmp_path / "out.csv"
    result = chainrule("predict", workspace / "houses.safetensors", rows, "--out", out)
    assert_usage_error(result, "size_sqft", "bedrooms")
    assert not out.exists()
    no_target = tmp_path / "no-target.csv"
    no_target.write_text("size_sqft,bedrooms\n2104,3\n")
    assert_usage_error(chainrule("evaluate", workspace / "houses.safetensors", no_target), "'price'")
