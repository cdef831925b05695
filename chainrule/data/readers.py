"""Reading tables from files: CSV (any of four delimiters, plain, gzip or Zstandard), Parquet, Arrow/Feather.

One reader, two uses: :func:`iter_tables` yields a file as :class:`~chainrule.data.table.Table`
chunks of bounded size (streaming training, ``predict``, ``evaluate``), and :func:`read_table`
joins them into one table (everything in memory).

CSV files are parsed by pyarrow's CSV reader (``pip install 'chainrule[arrow]'``, part of
``chainrule[all]``), chosen by measurement (``benchmarks/bench_data.py``): as fast as
``pandas.read_csv`` or faster, less memory, and a streaming reader that pandas' pyarrow engine does
not offer. Without pyarrow the standard library's ``csv`` module parses them, more slowly, by the
same rules. The rules, either way:

* the dialect comes from :func:`~chainrule.data.dialect.sniff` (delimiter, compression, BOM);
* column names are stripped of spaces and must be distinct and non-empty; ``header=False``
  names the columns ``column_1``, ``column_2``, …;
* cells are stripped of surrounding spaces; cells in ``na_values`` are missing; blank lines are
  skipped; quoted fields may hold delimiters and newlines;
* a column whose every non-missing cell is a number is float64, any other column text
  (``object`` array of ``str``, ``None`` where missing) — with ``text=True`` every column is
  text, exactly as written in the file (``predict`` writes its input back that way);
* a row with too many or too few fields is an error naming its line.

Line numbers are not kept while reading (they cost a pass in Python): a table read here carries a
:class:`LineIndex` that finds them by re-reading the file the first time a message needs one.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy

from chainrule.data.dialect import DataError, Dialect, check_path, open_text, sniff
from chainrule.data.table import DEFAULT_NA_VALUES, Table, concat_tables, not_a_number

CHUNK_BYTES = 1 << 20
"""Bytes of CSV text per chunk (pyarrow's block size): 1 MiB, about 100,000 numbers. pyarrow's streaming
reader reads up to 32 blocks ahead, so this also bounds its buffers (32 MiB); larger blocks were not
faster in ``benchmarks/bench_data.py``."""
CHUNK_ROWS = 1 << 16
"""Rows per chunk where a file is read by rows (Parquet, Arrow, the ``csv``-module parser)."""
PARQUET_SUFFIXES = (".parquet", ".pq")
ARROW_SUFFIXES = (".feather", ".arrow", ".ipc", ".arrows")


def _pyarrow(what: str) -> Any:
    """The pyarrow module, or an error naming the extra that installs it."""
    try:
        import pyarrow
    except ImportError:
        raise DataError(f"{what} needs pyarrow: pip install 'chainrule[arrow]' (included in chainrule[all])") from None
    return pyarrow


def file_format(path: str | Path) -> str:
    """``"parquet"``, ``"arrow"`` or ``"csv"``, from the file name (``.parquet``/``.pq``, ``.feather``/``.arrow``)."""
    name = Path(path).name.lower()
    if name.endswith(PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(ARROW_SUFFIXES):
        return "arrow"
    return "csv"


class LineIndex:
    """The file line number of each data row of a CSV file, found by one re-read when first asked.

    ``index[row]`` is the line (from 1) on which data row ``row`` (from 0) ends, as the ``csv``
    module counts lines (a quoted newline moves it on). Blank lines are skipped, as in reading.
    """

    def __init__(self, path: Path, dialect: Dialect) -> None:
        self.path, self.dialect = path, dialect
        self._lines: numpy.ndarray | None = None

    def __getitem__(self, row: int) -> int:
        if self._lines is None:
            lines = [line for _, line in _records(self.path, self.dialect)]
            self._lines = numpy.asarray(lines[1:] if self.dialect.header else lines, dtype=numpy.int64)
        return int(self._lines[row])


def _records(path: Path, dialect: Dialect) -> Iterator[tuple[list[str], int]]:
    """``(fields, line)`` of each non-blank record of a CSV file, by the ``csv`` module."""
    try:
        with open_text(path, dialect.compression) as handle:
            reader = csv.reader(handle, delimiter=dialect.delimiter)
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                yield fields, reader.line_num
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text (a binary file?); pass a text CSV file saved as UTF-8") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read it ({error}); check that it is a complete CSV or .csv.gz file") from None
    except csv.Error as error:
        raise DataError(f"{path}: not a readable CSV ({error}); check its quoting") from None


def _header(path: Path, dialect: Dialect) -> list[str]:
    """The column names: the stripped first record, or ``column_1 … column_n`` without a header."""
    first = next(_records(path, dialect), None)
    if first is None:
        raise DataError(f"{path} is empty; a CSV needs a header line of column names and at least one data row")
    fields = first[0]
    if not dialect.header:
        return [f"column_{j + 1}" for j in range(len(fields))]
    names = [field.strip() for field in fields]
    for j, name in enumerate(names):
        if not name:
            raise DataError(f"{path}: column {j + 1} of the header has no name; give every column a name")
    seen = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}: the header names column {name!r} twice; give every column a distinct name")
        seen.add(name)
    return names


def _typed(cells: Any, na: set[str]) -> numpy.ndarray:
    """float64 when every non-missing (stripped) cell is a number (missing → NaN), else text with None for missing.

    ``cells`` is a list, an ``object`` array or a pyarrow string array. With pyarrow the cells are
    stripped, matched and parsed by its compute kernels; without it, the same in Python.
    """
    try:
        import pyarrow
        import pyarrow.compute as pc
    except ImportError:
        pyarrow = None
    if pyarrow is not None:
        if not isinstance(cells, pyarrow.Array):
            cells = pyarrow.array(cells, type=pyarrow.string())
        text = pc.utf8_trim_whitespace(cells)
        text = pc.if_else(pc.is_in(text, value_set=pyarrow.array(sorted(na), type=pyarrow.string())), None, text)
        try:
            return pc.cast(text, pyarrow.float64()).fill_null(numpy.nan).to_numpy(zero_copy_only=False)
        except pyarrow.ArrowInvalid:
            return text.to_numpy(zero_copy_only=False)
    stripped = [None if cell is None or cell.strip() in na else cell.strip() for cell in cells]
    text = numpy.array(stripped, dtype=object)
    try:
        return numpy.where(text == None, "nan", text).astype(numpy.float64)  # noqa: E711
    except (ValueError, TypeError):
        return text


def _python_chunks(
    path: Path, dialect: Dialect, names: list[str], na: set[str], text: bool, rows_per_chunk: int
) -> Iterator[Table]:
    """The ``csv``-module parser: chunks of ``rows_per_chunk`` rows, each row's field count checked."""
    records = _records(path, dialect)
    if dialect.header:
        next(records)
    lines = LineIndex(path, dialect)
    buffer: list[list[str]] = []
    first_row = 0
    for row, (fields, line) in enumerate(records):
        if len(fields) != len(names):
            raise DataError(
                f"{path} line {line} (row {row + 1}) has {len(fields)} fields but the header has {len(names)} "
                f"columns; fix that row (a missing or extra delimiter, or an unquoted {dialect.delimiter!r} "
                "inside a value)"
            )
        buffer.append(fields)
        if len(buffer) == rows_per_chunk:
            yield _python_table(buffer, names, na, text, str(path), lines, first_row)
            buffer, first_row = [], row + 1
    if buffer or first_row == 0:
        yield _python_table(buffer, names, na, text, str(path), lines, first_row)


def _python_table(
    rows: list[list[str]], names: list[str], na: set[str], text: bool, source: str, lines: Any, first_row: int
) -> Table:
    columns = {}
    for j, name in enumerate(names):
        cells = [fields[j] for fields in rows]
        columns[name] = numpy.array(cells, dtype=object) if text else _typed(cells, na)
    return Table(columns, source=source, lines=lines, first_row=first_row)


class _TypeChangedError(Exception):
    """A later CSV block holds text in a column the first block showed to be numeric."""

    def __init__(self, column: int) -> None:
        super().__init__(column)
        self.column = column


def _arrow_chunks(
    path: Path,
    dialect: Dialect,
    names: list[str],
    na: set[str],
    text: bool,
    chunk_bytes: int,
    as_text: frozenset[str] = frozenset(),
) -> Iterator[Table]:
    """pyarrow's streaming CSV reader: one table per block of ``chunk_bytes``."""
    import pyarrow
    import pyarrow.csv as pacsv

    read = pacsv.ReadOptions(block_size=chunk_bytes, column_names=names, skip_rows=int(dialect.header))
    parse = pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True, ignore_empty_lines=True)
    nulls = sorted(na)
    convert = pacsv.ConvertOptions(
        null_values=nulls, strings_can_be_null=True, true_values=[], false_values=[], timestamp_parsers=[]
    )
    lines = LineIndex(path, dialect)
    first_row = 0
    try:
        source = _arrow_input(path, dialect)
        if text:  # every cell as written: no missing values either
            convert.column_types = {name: pyarrow.string() for name in names}
            convert.null_values, convert.strings_can_be_null = [], False
        else:  # numbers as float64 (an int column may hold a float further on), everything else as text
            with pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert) as probe:
                schema = probe.schema
            source = _arrow_input(path, dialect)
            numeric = {f.name for f in schema if pyarrow.types.is_integer(f.type) or pyarrow.types.is_floating(f.type)}
            convert.column_types = {
                name: pyarrow.float64() if name in numeric and name not in as_text else pyarrow.string()
                for name in names
            }
        reader = pacsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
        for batch in reader:
            columns = {}
            for name, column in zip(names, batch.columns):
                if column.type == pyarrow.string() and not text:
                    columns[name] = _typed(column, na)  # stripped, missing matched, numbers found by arrow
                else:
                    columns[name] = column.to_numpy(zero_copy_only=False)
            yield Table(columns, source=str(path), lines=lines, first_row=first_row)
            first_row += batch.num_rows
    except pyarrow.ArrowInvalid as error:
        message = str(error)
        found = re.search(r"In CSV column #(\d+): CSV conversion error to double", message)
        if found:
            raise _TypeChangedError(int(found.group(1))) from None
        # a ragged row or broken quoting: the csv-module parser names the line
        for _ in _python_chunks(path, dialect, names, na, True, CHUNK_ROWS):
            pass
        raise DataError(f"{path}: not a readable CSV ({message}); check its quoting and delimiters") from None
    if first_row == 0:
        yield Table({name: numpy.empty(0, dtype=object) for name in names}, source=str(path), lines=lines)


def _arrow_input(path: Path, dialect: Dialect) -> Any:
    """The file as a pyarrow input stream, decompressed."""
    import pyarrow

    if dialect.compression is None:
        return pyarrow.OSFile(str(path))
    return pyarrow.CompressedInputStream(pyarrow.OSFile(str(path)), dialect.compression)


def _located_text(path: Path, dialect: Dialect, names: list[str], na: set[str], column: int) -> DataError:
    """The error for the first cell of ``names[column]`` that is no number, with its row and line."""
    records = _records(path, dialect)
    if dialect.header:
        next(records)
    for row, (fields, line) in enumerate(records):
        cell = fields[column].strip()
        if cell not in na:
            try:
                float(cell)
            except ValueError:
                return not_a_number(names[column], f"row {row + 1} (line {line} of {path})", cell)
    return DataError(f"{path}: column {names[column]!r} changed type while reading; read it whole with read_table")


def _columnar_chunks(path: Path, kind: str, rows_per_chunk: int, text: bool) -> Iterator[Table]:
    """Parquet or Arrow IPC (Feather v2) record batches as tables."""
    pyarrow = _pyarrow(f"reading {path.name} ({kind})")
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            batches: Iterable[Any] = pq.ParquetFile(str(path)).iter_batches(batch_size=rows_per_chunk)
        except (pyarrow.ArrowException, OSError) as error:
            raise DataError(f"{path}: not a readable Parquet file ({error}); check the file") from None
    else:
        import pyarrow.ipc as ipc

        try:
            opened = ipc.open_file(str(path))
            batches = (opened.get_batch(i) for i in range(opened.num_record_batches))
        except (pyarrow.ArrowException, OSError):
            try:
                batches = ipc.open_stream(pyarrow.OSFile(str(path)))
            except (pyarrow.ArrowException, OSError) as error:
                raise DataError(f"{path}: not a readable Arrow/Feather file ({error}); check the file") from None
    first_row = 0
    for batch in batches:
        columns = {name: _arrow_column(column, text) for name, column in zip(batch.schema.names, batch.columns)}
        yield Table(columns, source=str(path), first_row=first_row)
        first_row += batch.num_rows


def _arrow_column(column: Any, text: bool) -> numpy.ndarray:
    """An Arrow array as a Table column: numbers and booleans float64 (null → NaN), the rest text."""
    import pyarrow
    import pyarrow.compute as pc

    kind = column.type
    numeric = pyarrow.types.is_integer(kind) or pyarrow.types.is_floating(kind) or pyarrow.types.is_boolean(kind)
    if numeric and not text:
        return pc.cast(column, pyarrow.float64()).fill_null(numpy.nan).to_numpy(zero_copy_only=False)
    if pyarrow.types.is_dictionary(kind):
        column = column.dictionary_decode()
    if not (pyarrow.types.is_string(column.type) or pyarrow.types.is_large_string(column.type)):
        column = pc.cast(column, pyarrow.string())
    return column.to_numpy(zero_copy_only=False).astype(object)


def iter_tables(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool = True,
    na_values: Iterable[str] = DEFAULT_NA_VALUES,
    text: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
    chunk_rows: int = CHUNK_ROWS,
    engine: str | None = None,
) -> Iterator[Table]:
    """The rows of a CSV, Parquet or Arrow/Feather file as :class:`Table` chunks, in file order.

    Parameters
    ----------
    path:
        ``.csv`` (or any other name: delimited text), ``.csv.gz``, ``.csv.zst``, ``.parquet``,
        ``.feather``/``.arrow``.
    delimiter:
        Force one (``","``, ``";"``, ``"\\t"``, ``"|"``, …); None detects it.
    header:
        False when the first row is data (columns ``column_1``, …).
    na_values:
        Cells read as missing.
    text:
        Every column as text exactly as written (CSV), or numbers written as text (Parquet, Arrow).
    chunk_bytes, chunk_rows:
        Chunk size: bytes of CSV text for pyarrow, rows otherwise.
    engine:
        ``"arrow"`` or ``"python"`` (the ``csv`` module) for CSV; None: arrow when installed.

    Each chunk's ``first_row`` is its first row's index in the file, so messages name file rows.
    A numeric column that holds text further on is an error naming that cell (read the whole
    file with :func:`read_table`, which then keeps the column as text).
    """
    path = check_path(path)
    kind = file_format(path)
    if kind != "csv":
        yield from _columnar_chunks(path, kind, chunk_rows, text)
        return
    dialect = sniff(path, delimiter, header)
    names = _header(path, dialect)
    na = set(na_values)
    if _engine(engine) == "python":
        yield from _python_chunks(path, dialect, names, na, text, chunk_rows)
        return
    try:
        yield from _arrow_chunks(path, dialect, names, na, text, chunk_bytes)
    except _TypeChangedError as changed:
        raise _located_text(path, dialect, names, na, changed.column) from None


def _engine(engine: str | None) -> str:
    if engine not in (None, "arrow", "python"):
        raise ValueError(f"engine must be 'arrow', 'python' or None (arrow when installed), got {engine!r}")
    if engine == "arrow":
        _pyarrow("engine='arrow'")
        return "arrow"
    if engine is None:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            return "python"
        return "arrow"
    return engine


def read_table(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool = True,
    na_values: Iterable[str] = DEFAULT_NA_VALUES,
    text: bool = False,
    engine: str | None = None,
) -> Table:
    """The whole file as one :class:`Table` (see :func:`iter_tables` for the arguments and the rules).

    Raises
    ------
    DataError
        The file is missing, a folder, empty, only a header, binary (or not UTF-8), has an empty
        or repeated column name, or a row whose number of fields differs from the header's.
    """
    path = check_path(path)
    if file_format(path) != "csv":
        return concat_tables(iter_tables(path, text=text))
    dialect = sniff(path, delimiter, header)
    names = _header(path, dialect)
    na = set(na_values)
    if _engine(engine) == "python":
        table = concat_tables(_python_chunks(path, dialect, names, na, text, CHUNK_ROWS))
    else:
        as_text: set[str] = set()
        while True:  # a column that turns out to hold text further on is read again as text
            try:
                table = concat_tables(_arrow_chunks(path, dialect, names, na, text, CHUNK_BYTES, frozenset(as_text)))
                break
            except _TypeChangedError as changed:
                as_text.add(names[changed.column])
    if table.n_rows == 0:
        raise DataError(f"{path} has a header ({', '.join(names)}) but no data rows; add rows below the header")
    return table


def typed(table: Table, na_values: Iterable[str] = DEFAULT_NA_VALUES) -> Table:
    """A table read with ``text=True``, its columns typed as reading does (numbers → float64, missing → None/NaN)."""
    na = set(na_values)
    columns = {name: _typed(table[name], na) if table.is_text(name) else table[name] for name in table.columns}
    return table._like(columns, table._row_ids, None)


def read_csv(
    path: str | Path,
    *,
    delimiter: str | None = None,
    header: bool = True,
    na_values: Iterable[str] = DEFAULT_NA_VALUES,
    engine: str | None = None,
) -> Table:
    """Read a delimited text file (plain, gzip or Zstandard) into a :class:`Table`: :func:`read_table`."""
    return read_table(path, delimiter=delimiter, header=header, na_values=na_values, engine=engine)
