"""``Table``: named columns of equal length, read from CSV files, arrays or pandas DataFrames.

A column is either numeric (a float array) or text (an ``object`` array of ``str``, with
``None`` for an empty cell). Reading never decides what a column *means*: a column where every
non-empty cell is a number becomes float64, any other column stays text, and the
:class:`~chainrule.data.preprocessing.Preprocessor` decides whether text is a category or a
mistake in a numeric column (and then names the row and the cell).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy

from chainrule import backend

DEFAULT_NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
"""Cells read as missing: empty, and the spellings pandas and R write for a missing value."""


class DataError(ValueError):
    """Bad data or a bad data file; the message names the problem and the fix."""


class Table:
    """Named columns of equal length.

    Parameters
    ----------
    columns:
        ``{name: 1-D array}``; numeric columns are float arrays, text columns ``object``
        arrays of ``str`` (``None`` where a cell is empty).
    source:
        Where the rows came from (a file name), used in error messages.
    lines:
        For tables read from a file, the file line number of each row, used in error messages.
    block:
        Optional ``(2-D float array, names)``: columns that are the columns of one array, kept
        so that :meth:`numeric_matrix` hands the array back without stacking (the MNIST path).

    Rows are numbered from 1 in messages: "row 3" is the third data row (line 4 of a CSV file
    with a header, when there are no blank lines).
    """

    def __init__(
        self,
        columns: dict[str, Any],
        *,
        source: str | None = None,
        lines: numpy.ndarray | None = None,
        block: tuple[numpy.ndarray, list[str]] | None = None,
    ) -> None:
        self._columns: dict[str, numpy.ndarray] = {}
        n_rows = None
        for name, values in columns.items():
            array = _as_column(name, values)
            if n_rows is not None and len(array) != n_rows:
                raise DataError(
                    f"column {name!r} has {len(array)} values but the columns before it have {n_rows}; "
                    "give every column the same length"
                )
            n_rows = len(array)
            self._columns[str(name)] = array
        self.n_rows: int = 0 if n_rows is None else n_rows
        """The number of rows."""
        self.source = source
        self._lines = lines
        self._block = block

    @property
    def columns(self) -> list[str]:
        """The column names, in order."""
        return list(self._columns)

    def __len__(self) -> int:
        return self.n_rows

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __getitem__(self, name: str) -> numpy.ndarray:
        """One column by name; an unknown name raises ``KeyError`` listing the names there are."""
        try:
            return self._columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r}; the columns are {self.columns}") from None

    def __repr__(self) -> str:
        kinds = ", ".join(f"{name}:{'text' if self.is_text(name) else 'num'}" for name in self.columns[:8])
        more = f", … {len(self.columns) - 8} more" if len(self.columns) > 8 else ""
        return f"Table({self.n_rows} rows; {kinds}{more})"

    def is_text(self, name: str) -> bool:
        """True when column ``name`` holds text (an ``object`` array) rather than numbers."""
        return self[name].dtype == object

    def row_name(self, row: int) -> str:
        """How messages name row index ``row`` (0-based): ``"row 3"`` or ``"row 3 (line 4 of f.csv)"``."""
        if self._lines is None:
            return f"row {row + 1}"
        return f"row {row + 1} (line {int(self._lines[row])} of {self.source})"

    def select(self, names: Sequence[str]) -> Table:
        """A table with only the columns ``names``, in that order (missing names raise ``DataError``)."""
        missing = [name for name in names if name not in self._columns]
        if missing:
            raise DataError(f"no column(s) {missing}; the columns are {self.columns}")
        block = self._block if self._block is not None and set(self._block[1]) <= set(names) else None
        return Table({name: self._columns[name] for name in names}, source=self.source, lines=self._lines, block=block)

    def take(self, rows: Any) -> Table:
        """A table with the rows ``rows`` (an index array, a boolean mask or a slice), in that order."""
        lines = None if self._lines is None else self._lines[rows]
        block = None if self._block is None else (self._block[0][rows], self._block[1])
        block_columns = {} if block is None else dict(zip(block[1], block[0].T))
        columns = {
            name: block_columns[name] if name in block_columns else values[rows]
            for name, values in self._columns.items()
        }
        return Table(columns, source=self.source, lines=lines, block=block)

    def numeric(self, name: str) -> numpy.ndarray:
        """Column ``name`` as float64; missing cells are NaN.

        Raises
        ------
        DataError
            ``"column 'x' row 3: 'abc' is not a number"`` for the first text cell that is no number.
        """
        values = self[name]
        if values.dtype != object:
            return values.astype(numpy.float64, copy=False)
        out = numpy.empty(len(values), dtype=numpy.float64)
        for row, cell in enumerate(values):
            if cell is None:
                out[row] = numpy.nan
                continue
            try:
                out[row] = float(cell)
            except ValueError:
                raise DataError(
                    f"column {name!r} {self.row_name(row)}: {cell!r} is not a number; correct the cell, "
                    f"or declare the column categorical (--categorical {name} on the command line, "
                    f"Preprocessor(categorical=[{name!r}]) in Python)"
                ) from None
        return out

    def numeric_matrix(self, names: Sequence[str]) -> numpy.ndarray:
        """The columns ``names`` side by side as a 2-D float array ``(n_rows, len(names))``.

        Returns the stored block itself (no copy) when ``names`` are exactly its columns, otherwise
        a float64 stack of :meth:`numeric` columns.
        """
        names = list(names)
        if self._block is not None and names == self._block[1]:
            return self._block[0]
        if not names:
            return backend.xp.zeros((self.n_rows, 0))
        return backend.xp.stack([self.numeric(name) for name in names], axis=1)


def _as_column(name: Any, values: Any) -> numpy.ndarray:
    """One column as a 1-D array: floats stay float, integers and bools become float64, the rest text."""
    array = numpy.asarray(values)
    if array.ndim != 1:
        raise DataError(f"column {name!r} has shape {array.shape}; a column must be 1-D")
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "iub":
        return array.astype(numpy.float64)
    return numpy.array([None if _is_missing(value) else str(value) for value in array], dtype=object)


def _is_missing(value: Any) -> bool:
    """True for ``None`` and float NaN (how pandas and NumPy mark a missing text cell)."""
    return value is None or (isinstance(value, float) and value != value)


def _open_text(path: Path) -> io.TextIOBase:
    """Open ``path`` as UTF-8 text (a leading BOM dropped), gunzipping when it starts with gzip's magic."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def read_csv(
    path: str | Path,
    *,
    delimiter: str = ",",
    na_values: Iterable[str] = DEFAULT_NA_VALUES,
) -> Table:
    """Read a CSV file with a header line (plain or gzip) into a :class:`Table`.

    Cells are stripped of surrounding spaces; cells in ``na_values`` are missing (NaN in a numeric
    column, ``None`` in a text column); blank lines are skipped. A column whose every non-missing
    cell parses as a float is float64, any other column is text.

    Raises
    ------
    DataError
        The file is missing, empty, only a header, binary (or not UTF-8), has an empty or repeated
        column name, or a row whose number of fields differs from the header's.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise DataError(f"{path} is a directory; pass a CSV file")
    na = set(na_values)
    try:
        with _open_text(path) as handle:
            head = handle.read(8192)
            if "\x00" in head:
                raise DataError(f"{path} looks like a binary file (it holds NUL bytes), not a CSV; pass a CSV file")
            handle.seek(0)
            reader = csv.reader(handle, delimiter=delimiter)
            rows = []
            lines = []
            header = None
            for fields in reader:
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if header is None:
                    header = [field.strip() for field in fields]
                    continue
                rows.append(fields)
                lines.append(reader.line_num)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text (a binary file?); pass a text CSV file saved as UTF-8") from None
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read it ({error}); check that it is a complete CSV or .csv.gz file") from None
    except csv.Error as error:
        raise DataError(f"{path}: not a readable CSV ({error}); check its quoting") from None
    if header is None:
        raise DataError(f"{path} is empty; a CSV needs a header line of column names and at least one data row")
    _check_header(path, header)
    if not rows:
        raise DataError(f"{path} has a header ({', '.join(header)}) but no data rows; add rows below the header")
    for row, (fields, line) in enumerate(zip(rows, lines)):
        if len(fields) != len(header):
            raise DataError(
                f"{path} line {line} (row {row + 1}) has {len(fields)} fields but the header has {len(header)} "
                f"columns; fix that row (a missing or extra delimiter, or an unquoted {delimiter!r} inside a value)"
            )
    columns = {name: _parse_column([fields[j] for fields in rows], na) for j, name in enumerate(header)}
    return Table(columns, source=str(path), lines=numpy.asarray(lines))


def _check_header(path: Path, header: list[str]) -> None:
    """Every column needs a distinct, non-empty name."""
    for j, name in enumerate(header):
        if not name:
            raise DataError(f"{path}: column {j + 1} of the header has no name; give every column a name")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path}: the header names column {name!r} twice; give every column a distinct name")
        seen.add(name)


def _parse_column(cells: list[str], na: set[str]) -> numpy.ndarray:
    """float64 when every non-missing cell is a number (missing → NaN), else an object array of text."""
    cells = [cell.strip() for cell in cells]
    try:
        return numpy.array([numpy.nan if cell in na else float(cell) for cell in cells], dtype=numpy.float64)
    except ValueError:
        return numpy.array([None if cell in na else cell for cell in cells], dtype=object)


def from_arrays(
    x: Any,
    y: Any = None,
    feature_names: Sequence[str] | None = None,
    target_name: str = "target",
) -> Table:
    """A :class:`Table` from a 2-D feature array ``x`` and an optional 1-D target ``y``.

    Float ``x`` is kept as one block without a copy (``numeric_matrix`` returns it), integer and
    bool ``x`` become float64. Features are named ``feature_names`` or ``x0, x1, …``.
    """
    x = numpy.asarray(x)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(f"x has shape {x.shape}; pass a 2-D array (rows, features)")
    if x.dtype.kind in "iub":
        x = x.astype(numpy.float64)
    if x.dtype.kind != "f":
        raise DataError(f"x has dtype {x.dtype}; pass numbers (use read_csv or from_dataframe for text columns)")
    names = [f"x{j}" for j in range(x.shape[1])] if feature_names is None else [str(name) for name in feature_names]
    if len(names) != x.shape[1]:
        raise DataError(f"{len(names)} feature_names for {x.shape[1]} columns of x; give one name per column")
    if len(set(names)) != len(names):
        raise DataError("feature_names repeat a name; give every column a distinct name")
    columns: dict[str, Any] = dict(zip(names, x.T))
    if y is not None:
        y = numpy.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1 or len(y) != len(x):
            raise DataError(f"y has shape {y.shape} for x with {len(x)} rows; pass one target value per row")
        if target_name in columns:
            raise DataError(f"target_name {target_name!r} is also a feature name; choose another target_name")
        columns[target_name] = y
    return Table(columns, block=(x, names))


def from_dataframe(df: Any) -> Table:
    """A :class:`Table` from a pandas DataFrame: numeric and bool columns become float, the rest text.

    pandas is optional (``pip install 'chainrule[pandas]'``) and only needed by the caller.
    """
    if not hasattr(df, "columns") or not hasattr(df, "to_numpy"):
        raise DataError(f"from_dataframe needs a pandas DataFrame, got {type(df).__name__}")
    columns = {}
    for name in df.columns:
        series = df[name]
        kind = series.dtype.kind
        if kind in "fiub":
            columns[str(name)] = series.to_numpy(dtype=numpy.float64, na_value=numpy.nan)
        else:
            columns[str(name)] = series.to_numpy(dtype=object)
    if len(columns) != len(df.columns):
        raise DataError("the DataFrame has repeated column names; give every column a distinct name")
    return Table(columns, source="DataFrame")
