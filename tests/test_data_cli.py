"""The data paths of the command line: dialects, Parquet and compressed files through train, predict and evaluate;
data warnings as one line; and the csv-module reader when pyarrow is not installed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """``chainrule ARGS`` run in this process (in ``cwd``), its stdout and stderr captured."""
    import contextlib
    import io
    import os

    from chainrule.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd or here)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(list(args))
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def houses(tmp_path_factory):
    folder = tmp_path_factory.mktemp("houses")
    rng = np.random.default_rng(0)
    n = 120
    size = np.round(rng.uniform(800, 3000, n))
    rooms = rng.integers(1, 5, n)
    price = np.round(100 * size + 5000 * rooms + rng.normal(0, 1000, n))
    return folder, {"size": size, "rooms": rooms.astype(float), "price": price}


def test_train_reads_semicolons_zstd_and_parquet_and_predict_takes_a_headerless_tab_file(houses):
    folder, columns = houses
    rows = list(zip(*(columns[name] for name in ("size", "rooms", "price"))))
    text = "size;rooms;price\n" + "".join(f"{a:g};{b:g};{c:g}\n" for a, b, c in rows)
    with pa.CompressedOutputStream(str(folder / "h.csv.zst"), "zstd") as out:
        out.write(text.encode())
    pq.write_table(pa.table(columns), folder / "h.parquet")
    for data in ("h.csv.zst", "h.parquet"):
        done = cli("train", data, "--target", "price", "--hidden", "4", "--epochs", "2", "--save", f"{data}.st",
                   "--quiet", cwd=folder)  # fmt: skip
        assert done.returncode == 0, done.stderr
    (folder / "new.tsv").write_text("".join(f"{a:g}\t{b:g}\n" for a, b, _ in rows[:3]))
    done = cli("predict", "h.parquet.st", "new.tsv", "--no-header", cwd=folder)
    assert done.returncode == 2 and "lacks column(s) ['size', 'rooms']" in done.stderr  # names are column_1, …
    (folder / "new.tsv").write_text("size\trooms\n" + "".join(f"{a:g}\t{b:g}\n" for a, b, _ in rows[:3]))
    done = cli("predict", "h.parquet.st", "new.tsv", cwd=folder)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "size,rooms,prediction" and lines[1].startswith(f"{rows[0][0]:g},{rows[0][1]:g},")
    done = cli("evaluate", "h.csv.zst.st", "h.csv.zst", "--delimiter", ";", "--json", cwd=folder)
    assert done.returncode == 0 and '"samples": 120' in done.stdout


def test_data_warnings_are_one_line(houses, tmp_path):
    _, columns = houses
    lines = ["house_id,size,price"] + [f"{i},{s:g},{p:g}" for i, (s, p) in enumerate(zip(columns["size"],
                                                                                      columns["price"]))]  # fmt: skip
    (tmp_path / "h.csv").write_text("\n".join(lines) + "\n")
    done = cli("train", "h.csv", "--target", "price", "--epochs", "1", "--save", "m.st", "--quiet", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "chainrule: warning: column 'house_id' dropped: ID-like: the name looks like an identifier and 120 of its "
        "120 values are distinct whole numbers; name it in categorical to keep it"
    ]


def test_without_pyarrow_the_csv_module_reads_by_the_same_rules(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('a;b;c\n 1 ;NA;"x;y"\n2.5;3;z\n')
    script = f"""
import sys
sys.modules["pyarrow"] = None  # as if it were not installed
from chainrule.data import read_csv, DataError
table = read_csv({str(path)!r})
print(table.columns, table["a"].tolist(), table["b"].tolist(), table["c"].tolist())
try:
    read_csv({str(path)!r}, engine="arrow")
except DataError as error:
    print(error)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "['a', 'b', 'c'] [1.0, 2.5] [nan, 3.0] ['x;y', 'z']"
    assert second == "engine='arrow' needs pyarrow: pip install 'chainrule[arrow]' (included in chainrule[all])"
