"""chainrule.data.table: reading CSV files, arrays and DataFrames, and every bad file with its message."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from chainrule.data import DataError, Table, from_arrays, from_dataframe, read_csv


def write(tmp_path, text: str, name: str = "data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_numbers_text_missing_and_quotes(tmp_path):
    path = write(
        tmp_path,
        'size, rooms ,city,price\n2104,3,"Portland, OR",399900\n\n1600,,Salem,3.299e+005\n 2400 ,3,NA,369000\n',
    )
    table = read_csv(path)
    assert table.columns == ["size", "rooms", "city", "price"]
    assert table.n_rows == len(table) == 3
    np.testing.assert_array_equal(table["size"], [2104.0, 1600.0, 2400.0])
    assert table["size"].dtype == np.float64
    np.testing.assert_array_equal(table["price"], [399900.0, 329900.0, 369000.0])  # R-style exponent
    assert np.isnan(table["rooms"][1]) and table["rooms"][0] == 3.0
    assert table.is_text("city") and table["city"].tolist() == ["Portland, OR", "Salem", None]
    assert table.row_name(1) == f"row 2 (line 4 of {path})"  # the blank line 3 is skipped


def test_read_csv_gzip_and_bom(tmp_path):
    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress("\ufeffa,b\n1,2\n3,4\n".encode()))
    table = read_csv(path)
    assert table.columns == ["a", "b"]
    np.testing.assert_array_equal(table.numeric_matrix(["b", "a"]), [[2.0, 1.0], [4.0, 3.0]])


def test_text_in_numeric_column_is_kept_and_reported_by_numeric(tmp_path):
    table = read_csv(write(tmp_path, "x,y\n1,2\n2,abc\n3,4\n"))
    assert table.is_text("y")
    with pytest.raises(DataError, match=r"column 'y' row 2 \(line 3 of .*data.csv\): 'abc' is not a number"):
        table.numeric("y")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"data.csv is empty; a CSV needs a header line"),
        (b"\n\n  \n", r"is empty"),
        (b"a,b,c\n", r"has a header \(a, b, c\) but no data rows"),
        (b"a,b\n1,2\n3\n", r"line 3 \(row 2\) has 1 fields but the header has 2 columns; fix that row"),
        (b"a,b\n1,2,3\n", r"line 2 \(row 1\) has 3 fields but the header has 2"),
        (b"a,\n1,2\n", r"column 2 of the header has no name"),
        (b"a,a\n1,2\n", r"names column 'a' twice"),
        (b"\x00\x01\x02a,b\n", r"looks like a binary file .*NUL bytes"),
        (bytes(range(128, 256)) * 8, r"is not UTF-8 text \(a binary file\?\)"),
        (b"\x1f\x8b\x08\x00garbage", r"cannot read it .*complete CSV or .csv.gz"),
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "data.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_csv(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope.csv: no such file; check the path"):
        read_csv(tmp_path / "nope.csv")
    with pytest.raises(DataError, match=r"is a directory; pass a CSV file"):
        read_csv(tmp_path)


def test_from_arrays_keeps_the_block_and_selects_rows():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    table = from_arrays(x, np.array([0, 1, 0, 1]), feature_names=["a", "b", "c"], target_name="label")
    assert table.columns == ["a", "b", "c", "label"]
    assert table.numeric_matrix(["a", "b", "c"]) is x  # the fast path: no copy
    np.testing.assert_array_equal(table.numeric_matrix(["c", "a"]), x[:, [2, 0]])
    part = table.take(np.array([3, 1]))
    np.testing.assert_array_equal(part.numeric_matrix(["a", "b", "c"]), x[[3, 1]])
    np.testing.assert_array_equal(part["label"], [1.0, 1.0])
    assert table.select(["b", "label"]).columns == ["b", "label"]
    assert from_arrays(np.ones((2, 2))).columns == ["x0", "x1"]
    with pytest.raises(DataError, match=r"y has shape \(3,\) for x with 4 rows"):
        from_arrays(x, np.zeros(3))
    with pytest.raises(DataError, match=r"2 feature_names for 3 columns"):
        from_arrays(x, feature_names=["a", "b"])
    with pytest.raises(KeyError, match=r"no column 'z'; the columns are \['a', 'b', 'c', 'label'\]"):
        table["z"]
    with pytest.raises(DataError, match=r"no column\(s\) \['z'\]"):
        table.select(["a", "z"])


def test_table_columns_must_have_equal_length():
    with pytest.raises(DataError, match=r"column 'b' has 1 values but the columns before it have 2"):
        Table({"a": [1, 2], "b": [3]})


def test_from_dataframe():
    df = pd.DataFrame(
        {"n": [1, 2, None], "flag": [True, False, True], "city": ["a", None, "b"], "k": pd.array([1, None, 3])}
    )
    table = from_dataframe(df)
    assert table.columns == ["n", "flag", "city", "k"]
    np.testing.assert_array_equal(table["flag"], [1.0, 0.0, 1.0])
    assert np.isnan(table["n"][2]) and np.isnan(table["k"][1])
    assert table["city"].tolist() == ["a", None, "b"]
    with pytest.raises(DataError, match=r"needs a pandas DataFrame, got list"):
        from_dataframe([1, 2])
