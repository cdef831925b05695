"""chainrule.data.readers and .dialect: every delimiter, BOM, quoting, compression, header hint, Parquet and
Arrow files, chunked reading, on both parsers (pyarrow's and the csv module's)."""

from __future__ import annotations

import gzip

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from chainrule.data import DataError, DataWarning, iter_tables, read_csv, read_table
from chainrule.data import readers as readers_module
from chainrule.data.dialect import sniff
from chainrule.data.readers import typed

ENGINES = ("arrow", "python")
ROWS = [["size", "city", "price"], ["2104", "Portland, OR", "399900"], ["1600", "Salem", "329900"]]


def delimited(rows: list[list[str]], delimiter: str) -> str:
    quote = lambda cell: f'"{cell}"' if delimiter in cell or "\n" in cell else cell  # noqa: E731
    return "".join(delimiter.join(quote(cell) for cell in row) + "\n" for row in rows)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_each_delimiter_is_detected(tmp_path, delimiter, engine):
    path = tmp_path / "d.csv"
    path.write_text(delimited(ROWS, delimiter))
    assert sniff(path).delimiter == delimiter
    table = read_csv(path, engine=engine)
    assert table.columns == ["size", "city", "price"]
    np.testing.assert_array_equal(table["price"], [399900.0, 329900.0])
    assert table["city"].tolist() == ["Portland, OR", "Salem"]


@pytest.mark.parametrize("engine", ENGINES)
def test_forced_delimiter_and_one_column_file(tmp_path, engine):
    path = tmp_path / "d.csv"
    path.write_text("a;b\n1;2\n3;4\n")
    assert read_csv(path, delimiter=",", engine=engine).columns == ["a;b"]  # forced: one text column
    path.write_text("y\n1\n2\n")
    assert sniff(path).delimiter == ","


@pytest.mark.parametrize("engine", ENGINES)
def test_bom_quoted_newlines_and_line_numbers(tmp_path, engine):
    path = tmp_path / "d.csv"
    text = 'name,note,x\n"a","two\nlines",1\n"b","semi;colon, comma",2\n\n"c","x",abc\n'
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    table = read_csv(path, engine=engine)
    assert table.columns == ["name", "note", "x"]
    assert table["note"].tolist() == ["two\nlines", "semi;colon, comma", "x"]
    assert table.is_text("x")
    # the quoted newline moves the lines on: row 3 is on line 6 (after a blank line 5)
    with pytest.raises(DataError, match=r"column 'x' row 3 \(line 6 of .*d.csv\): 'abc' is not a number"):
        table.numeric("x")


@pytest.mark.parametrize("engine", ENGINES)
def test_gzip_and_zstd_are_read_by_their_magic_bytes(tmp_path, engine):
    text = delimited(ROWS, ";").encode()
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(text))
    zst = tmp_path / "d.csv.zst"
    with pa.CompressedOutputStream(str(zst), "zstd") as out:
        out.write(text)
    for path in (gz, zst):
        table = read_csv(path, engine=engine)
        np.testing.assert_array_equal(table["size"], [2104.0, 1600.0])
        assert table["city"].tolist() == ["Portland, OR", "Salem"]


@pytest.mark.parametrize("engine", ENGINES)
def test_header_that_looks_like_data_and_no_header(tmp_path, engine):
    path = tmp_path / "d.csv"
    path.write_text("1.5,2,3\n4,5,6\n")
    with pytest.warns(DataWarning, match=r"the first row looks like numbers \(1.5, 2, 3\): does the file have a "
                      r"header\? pass --no-header"):  # fmt: skip
        read_csv(path, engine=engine)
    table = read_csv(path, header=False, engine=engine)
    assert table.columns == ["column_1", "column_2", "column_3"]
    np.testing.assert_array_equal(table["column_1"], [1.5, 4.0])
    assert table.row_name(0).startswith("row 1 (line 1 of")


@pytest.mark.parametrize("engine", ENGINES)
def test_ragged_rows_and_bad_headers_name_the_line(tmp_path, engine):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,4\n5\n")
    with pytest.raises(DataError, match=r"line 4 \(row 3\) has 1 fields but the header has 2 columns"):
        read_csv(path, engine=engine)
    path.write_text("a,b\n")
    with pytest.raises(DataError, match=r"has a header \(a, b\) but no data rows"):
        read_csv(path, engine=engine)


def test_arrow_and_python_parsers_agree(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('x, y ,c\n 1 ,NA,"q"\n2.5,3,\n-1e3,4,r\n')
    a, b = read_csv(path, engine="arrow"), read_csv(path, engine="python")
    assert a.columns == b.columns == ["x", "y", "c"]
    for name in a.columns:
        if a.is_text(name):
            assert a[name].tolist() == b[name].tolist() == ["q", None, "r"]
        else:
            np.testing.assert_array_equal(a[name], b[name])
    np.testing.assert_array_equal(a["x"], [1.0, 2.5, -1000.0])


def test_a_column_with_text_after_the_first_block(tmp_path, monkeypatch):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "1,2\n" * 3000 + "oops,3\n")
    monkeypatch.setattr(readers_module, "CHUNK_BYTES", 4096)
    table = read_table(path)  # read whole: the column is read again as text, the stray cell reported later
    assert table.is_text("x") and table.n_rows == 3001
    with pytest.raises(DataError, match=r"column 'x' row 3001 \(line 3002 of .*\): 'oops' is not a number"):
        table.numeric("x")
    with pytest.raises(DataError, match=r"column 'x' row 3001 \(line 3002 of .*\): 'oops' is not a number"):
        list(iter_tables(path, chunk_bytes=4096))  # streamed: the cell is named at once


def test_chunks_number_the_file_rows(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n" + "".join(f"{i},{i % 3}\n" for i in range(5000)))
    chunks = list(iter_tables(path, chunk_bytes=8192))
    assert len(chunks) > 3
    assert [c.first_row for c in chunks] == list(np.cumsum([0] + [c.n_rows for c in chunks[:-1]]))
    assert chunks[2].row_name(0) == f"row {chunks[2].first_row + 1} (line {chunks[2].first_row + 2} of {path})"
    python = list(iter_tables(path, engine="python", chunk_rows=1000))
    assert [c.n_rows for c in python] == [1000] * 5
    np.testing.assert_array_equal(np.concatenate([c["x"] for c in chunks]), np.arange(5000.0))


@pytest.mark.parametrize("engine", ENGINES)
def test_text_mode_keeps_every_cell_as_written(tmp_path, engine):
    path = tmp_path / "d.csv"
    path.write_text("a,b\n239493.0, NA\n007,x\n")
    (chunk,) = iter_tables(path, text=True, engine=engine)
    assert chunk["a"].tolist() == ["239493.0", "007"] and chunk["b"].tolist() == [" NA", "x"]
    again = typed(chunk)
    np.testing.assert_array_equal(again["a"], [239493.0, 7.0])
    assert again["b"].tolist() == [None, "x"]


def test_parquet_and_feather(tmp_path):
    data = pa.table({"x": [1, 2, None], "flag": [True, False, True], "city": ["a", None, "b"],
                     "when": pa.array([0, 86400, 172800], pa.timestamp("s"))})  # fmt: skip
    pq.write_table(data, tmp_path / "d.parquet", row_group_size=2)
    feather.write_feather(data, tmp_path / "d.feather")
    for name in ("d.parquet", "d.feather"):
        table = read_table(tmp_path / name)
        assert table.columns == ["x", "flag", "city", "when"]
        np.testing.assert_array_equal(table["x"], [1.0, 2.0, np.nan])
        np.testing.assert_array_equal(table["flag"], [1.0, 0.0, 1.0])
        assert table["city"].tolist() == ["a", None, "b"]
        assert table["when"].tolist()[1].startswith("1970-01-02")
    chunks = list(iter_tables(tmp_path / "d.parquet", chunk_rows=2))
    assert [c.n_rows for c in chunks] == [2, 1] and chunks[1].row_name(0) == "row 3"
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"not a readable Parquet file"):
        read_table(tmp_path / "bad.parquet")


def test_generated_csv_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    values = np.round(rng.normal(size=(400, 3)), 4)
    pacsv.write_csv(pa.table({f"c{j}": values[:, j] for j in range(3)}), tmp_path / "g.csv")
    table = read_csv(tmp_path / "g.csv")  # pyarrow's writer quotes the header
    np.testing.assert_array_equal(table.numeric_matrix(["c0", "c1", "c2"]), values)
