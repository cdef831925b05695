"""chainrule.data.streaming and the streaming paths: statistics fitted over chunks equal the in-memory ones, the
hashed held-out split is stable, FileBatches' epochs, and ``chainrule predict`` / ``evaluate`` on files in
chunks — row-independent output, probabilities, cells written back as read, and a memory limit."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from chainrule.cli import main
from chainrule.data import Preprocessor, iter_tables, read_csv
from chainrule.data.streaming import FileBatches, held_out


def write_mixed(path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=n) * 1e3 + 5e4, 3)
    city = rng.choice(["a", "b", "c", "d"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    label = np.where(x + rng.normal(size=n) * 300 > 5e4, "hi", "lo")
    z = np.where(rng.random(n) < 0.05, np.nan, np.round(rng.normal(size=n), 4))
    pacsv.write_csv(pa.table({"x": x, "city": city, "z": z, "price": np.round(x * 3 + 7, 2), "label": label}), path)


@pytest.mark.parametrize("target", ["price", "label"])
def test_streaming_statistics_equal_the_in_memory_ones(tmp_path, target):
    path = tmp_path / "d.csv"
    write_mixed(path, 6000)
    whole = Preprocessor(target=target, impute="mean").fit(read_csv(path))
    chunks = list(iter_tables(path, chunk_bytes=16384))
    assert len(chunks) > 10
    streamed = Preprocessor(target=target, impute="mean").fit_chunks(chunks)
    assert streamed.describe() == whole.describe() and streamed.categories_ == whole.categories_
    np.testing.assert_allclose(streamed.mean_, whole.mean_, rtol=1e-13)
    np.testing.assert_allclose(streamed.std_, whole.std_, rtol=1e-12)
    np.testing.assert_allclose(streamed.fill_, whole.fill_, rtol=1e-13)
    if target == "price":
        np.testing.assert_allclose([streamed.target_mean_, streamed.target_std_],
                                   [whole.target_mean_, whole.target_std_], rtol=1e-12)  # fmt: skip
        table = read_csv(path)
        y = table["price"]
        np.testing.assert_allclose([whole.target_mean_, whole.target_std_], [y.mean(), y.std()], rtol=1e-13)
    else:
        assert streamed.classes_.tolist() == whole.classes_.tolist() == ["hi", "lo"]
    with pytest.raises(ValueError, match=r"impute='median' needs every value of a column at once"):
        Preprocessor(target=target, impute="median").fit_chunks(chunks)


def test_held_out_rows_are_a_fixed_function_of_the_row_number():
    rows = np.arange(200_000)
    mask = held_out(rows, 0.2, seed=7)
    assert abs(mask.mean() - 0.2) < 3 * np.sqrt(0.2 * 0.8 / len(rows))
    np.testing.assert_array_equal(held_out(rows[12345:12400], 0.2, seed=7), mask[12345:12400])  # any chunking
    assert (held_out(rows, 0.2, seed=8) != mask).mean() > 0.25  # another seed, another split
    assert not held_out(rows, 0.0).any()
    # by hand: SplitMix64(0) = 0xE220A8397B1DCDAF (the published first output for state 0), so row 0 with
    # seed 0 hashes to SplitMix64(0xE220A8397B1DCDAF); its top 53 bits / 2^53 decide
    from chainrule.data.streaming import _splitmix64

    assert _splitmix64(np.array([0], dtype=np.uint64))[0] == 0xE220A8397B1DCDAF
    u = int(_splitmix64(np.array([0xE220A8397B1DCDAF], dtype=np.uint64))[0] >> np.uint64(11)) / 2**53
    assert held_out(np.array([0]), u + 1e-9)[0] and not held_out(np.array([0]), u)[0]
    with pytest.raises(ValueError, match=r"held-out fraction must be in \[0, 1\)"):
        held_out(rows, 1.0)


def test_file_batches_cover_each_row_once_per_epoch(tmp_path):
    path = tmp_path / "d.csv"
    n = 5000
    pacsv.write_csv(pa.table({"i": np.arange(n, dtype=float), "y": (np.arange(n) % 7).astype(float)}), path)
    pre = Preprocessor(target="y", task="regression", standardize=False, standardize_target=False)
    train = FileBatches(path, pre, batch_size=64, holdout=0.25, split_seed=3, shuffle_buffer=500, chunk_bytes=4096)
    train.fit()
    expected = np.flatnonzero(~held_out(np.arange(n), 0.25, 3))
    assert train.rows == len(expected) and train.batches == -(-len(expected) // 64)
    generator = np.random.default_rng(0)
    first = list(train.epoch(generator))
    assert len(first) == train.batches and all(len(x) == 64 for x, _ in first[:-1])
    seen = np.concatenate([x[:, 0] for x, _ in first]).astype(int)
    assert sorted(seen.tolist()) == expected.tolist()  # every training row once
    assert (seen != expected).mean() > 0.9  # shuffled
    np.testing.assert_array_equal(np.concatenate([y[:, 0] for _, y in first]), seen % 7)  # rows stay paired
    second = np.concatenate([x[:, 0] for x, _ in train.epoch(generator)]).astype(int)
    assert sorted(second.tolist()) == expected.tolist() and (second != seen).any()
    again = np.concatenate([x[:, 0] for x, _ in train.epoch(np.random.default_rng(0))]).astype(int)
    np.testing.assert_array_equal(again, seen)  # the same generator state, the same epoch
    validation = FileBatches(path, pre, batch_size=1000, part="held_out", holdout=0.25, split_seed=3)
    ordered = np.concatenate([x[:, 0] for x, _ in validation.epoch(None)]).astype(int)
    np.testing.assert_array_equal(ordered, np.flatnonzero(held_out(np.arange(n), 0.25, 3)))
    assert validation.rows == n - len(expected)
    assert first[0][0].dtype == np.float32 and first[0][1].dtype == np.float32


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A regression and a classification model trained by the CLI on small files."""
    folder = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    a, b = np.round(rng.normal(size=300), 3), np.round(rng.normal(size=300), 3)
    data = folder / "train.csv"
    pacsv.write_csv(pa.table({"a": a, "b": b, "y": np.round(a - b, 3), "kind": np.where(a > b, "up", "down")}), data)
    paths = {}
    for target, name in (("y", "reg"), ("kind", "cls")):
        paths[name] = folder / f"{name}.safetensors"
        drop = "kind" if target == "y" else "y"
        subset = folder / f"{name}.csv"
        table = read_csv(data)
        with open(subset, "w", newline="") as handle:
            writer = csv.writer(handle)
            columns = [c for c in table.columns if c != drop]
            writer.writerow(columns)
            writer.writerows(zip(*(table[c].tolist() for c in columns)))
        command = ["chainrule", "train", str(subset), "--target", target, "--hidden", "8", "--epochs", "3",
                   "--save", str(paths[name]), "--quiet"]  # fmt: skip
        assert main(command[1:]) == 0
    return paths


def predict_cli(model, data, out):
    assert main(["predict", str(model), str(data), "--out", str(out)]) == 0
    with open(out, newline="") as handle:
        return list(csv.reader(handle))


def test_predictions_do_not_depend_on_the_other_rows_and_keep_the_cells(tmp_path, models):
    rng = np.random.default_rng(1)
    rows = [[f"{v:.1f}" if i % 2 else f"{v:.3f}", f"{w:.3f}", "239493.0"] for i, (v, w) in
            enumerate(rng.normal(size=(5000, 2)).tolist())]  # fmt: skip
    rows[3][0] = "0.50"  # written back as "0.50", not 0.5
    big, one = tmp_path / "big.csv", tmp_path / "one.csv"
    for path, part in ((big, rows), (one, rows[3:4])):
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows([["a", "b", "note"], *part])
    many = predict_cli(models["reg"], big, tmp_path / "p.csv")
    single = predict_cli(models["reg"], one, tmp_path / "q.csv")
    assert many[0] == ["a", "b", "note", "prediction"]
    assert single[1] == many[4] and single[1][:3] == ["0.50", rows[3][1], "239493.0"]
    assert all(row[:3] == original for row, original in zip(many[1:], rows))
    assert len(single[1][3].replace("-", "").replace(".", "").lstrip("0")) <= 7  # 7 significant digits
    labelled = predict_cli(models["cls"], big, tmp_path / "c.csv")
    assert labelled[0] == ["a", "b", "note", "prediction", "proba_down", "proba_up"]
    for row in labelled[1:50]:
        down, up = float(row[4]), float(row[5])
        assert abs(down + up - 1) < 2e-6 and row[3] == ("up" if up > down else "down")


def test_evaluate_streams_and_matches_the_in_memory_metrics(tmp_path, models):
    from chainrule import io
    from chainrule.training.workflow import score

    checkpoint = io.load(models["reg"])
    path = tmp_path / "e.csv"
    rng = np.random.default_rng(2)
    a, b = np.round(rng.normal(size=3000), 3), np.round(rng.normal(size=3000), 3)
    pacsv.write_csv(pa.table({"a": a, "b": b, "y": np.round(a - b, 3)}), path)
    whole = score(checkpoint.model, checkpoint.preprocessor, read_csv(path))
    chunked = score(checkpoint.model, checkpoint.preprocessor, iter_tables(path, chunk_bytes=4096))
    assert chunked["samples"] == whole["samples"] == 3000
    for key in ("rmse", "mae", "r2", "mse"):
        np.testing.assert_allclose(chunked[key], whole[key], rtol=1e-9)
    from sklearn.metrics import r2_score

    predicted = checkpoint.preprocessor.inverse_transform_target(
        __import__("chainrule").training.predict(checkpoint.model, checkpoint.preprocessor.transform(read_csv(path)))
    )[:, 0]
    np.testing.assert_allclose(whole["r2"], r2_score(a - b, predicted, sample_weight=None), rtol=1e-6)


def test_streaming_predict_runs_under_a_memory_limit_that_a_whole_read_exceeds(tmp_path, models):
    path = tmp_path / "large.csv"
    n = 600_000
    rng = np.random.default_rng(3)
    pacsv.write_csv(pa.table({"a": np.round(rng.normal(size=n), 3), "b": np.round(rng.normal(size=n), 3)}), path)
    # RLIMIT_DATA (heap and private mappings) 150 MiB above what the imports use; pyarrow on malloc (its
    # default allocator reserves large arenas up front) and one BLAS thread (no per-thread buffers)
    script = textwrap.dedent(f"""
        import resource, sys
        import chainrule.cli, chainrule.data, chainrule.io, chainrule.training, pyarrow.csv
        status = open("/proc/self/status").read()
        limit = int(status.split("VmData:")[1].split()[0]) * 1024 + 150 * 2**20
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        if sys.argv[1] == "whole":
            chainrule.data.read_table({str(path)!r}, text=True)
        else:
            sys.exit(chainrule.cli.main(["predict", {str(models["reg"])!r}, {str(path)!r}, "--out",
                                         {str(tmp_path / "out.csv")!r}]))
    """)
    env = dict(os.environ, ARROW_DEFAULT_MEMORY_POOL="system", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    streamed = subprocess.run([sys.executable, "-c", script, "stream"], capture_output=True, text=True, env=env)
    assert streamed.returncode == 0, streamed.stderr[-2000:]
    with open(tmp_path / "out.csv") as handle:
        assert sum(1 for _ in handle) == n + 1
    whole = subprocess.run([sys.executable, "-c", script, "whole"], capture_output=True, text=True, env=env)
    assert whole.returncode != 0 and ("MemoryError" in whole.stderr or "Out of memory" in whole.stderr)
