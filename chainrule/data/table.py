"""``Table``: named columns of equal length, read from CSV files, arrays or pandas DataFrames.

A column is either numeric (a float array) or text (an ``object`` array of ``str``, with
``None`` for an empty cell). Reading never decides what a column *means*: a column where every
non-empty cell is a number becomes float64, any other column stays text, and the
:class:`~chainrule.data.preprocessing.Preprocessor` decides whether text is a category or a
mistake in a numeric column (and then names the row and the cell).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from chainrule import backend
from chainrule.data.dialect import DataError, DataWarning

__all__ = ["DataError", "DataWarning", "Table", "concat_tables", "from_arrays", "from_dataframe", "number_text"]

DEFAULT_NA_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None")
"""Cells read as missing: empty, and the spellings pandas and R write for a missing value."""


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
        For tables read from a file, the file line number of each of the file's data rows
        (an array, or an object indexed like one that finds them when first asked, as the
        columnar reader's :class:`~chainrule.data.readers.LineIndex`), used in error messages.
    row_ids:
        The file's data-row index (from 0) of each row: None for rows ``first_row, first_row + 1, …``.
    first_row:
        The file's data-row index of row 0 when ``row_ids`` is None (a chunk of a streamed file).
    block:
        Optional ``(2-D float array, names)``: columns that are the columns of one array, kept
        so that :meth:`numeric_matrix` hands the array back without stacking (the MNIST path).

    Rows are numbered from 1 in messages and count the file's data rows: "row 3" is the third
    data row of the file (line 4 of a CSV file with a header and no blank lines or quoted
    newlines), also in a part of the table taken by :meth:`take` or read as a chunk.
    """

    def __init__(
        self,
        columns: dict[str, Any],
        *,
        source: str | None = None,
        lines: Any = None,
        row_ids: numpy.ndarray | None = None,
        first_row: int = 0,
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
        self._row_ids = row_ids
        self.first_row = first_row
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

    def row_id(self, row: int) -> int:
        """The file's data-row index (from 0) of row ``row`` of this table."""
        return int(self._row_ids[row]) if self._row_ids is not None else self.first_row + row

    def row_ids(self) -> numpy.ndarray:
        """The file's data-row index of every row (int64)."""
        if self._row_ids is not None:
            return numpy.asarray(self._row_ids, dtype=numpy.int64)
        return numpy.arange(self.first_row, self.first_row + self.n_rows, dtype=numpy.int64)

    def row_name(self, row: int) -> str:
        """How messages name row index ``row`` (0-based): ``"row 3"`` or ``"row 3 (line 4 of f.csv)"``."""
        index = self.row_id(row)
        if self._lines is None:
            return f"row {index + 1}"
        return f"row {index + 1} (line {int(self._lines[index])} of {self.source})"

    def _like(self, columns: dict[str, Any], row_ids: Any, block: Any) -> Table:
        """A table with other columns or rows but this one's source and line numbers."""
        first = self.first_row if row_ids is None else 0
        return Table(columns, source=self.source, lines=self._lines, row_ids=row_ids, first_row=first, block=block)

    def select(self, names: Sequence[str]) -> Table:
        """A table with only the columns ``names``, in that order (missing names raise ``DataError``)."""
        missing = [name for name in names if name not in self._columns]
        if missing:
            raise DataError(f"no column(s) {missing}; the columns are {self.columns}")
        block = self._block if self._block is not None and set(self._block[1]) <= set(names) else None
        return self._like({name: self._columns[name] for name in names}, self._row_ids, block)

    def take(self, rows: Any) -> Table:
        """A table with the rows ``rows`` (an index array, a boolean mask or a slice), in that order."""
        block = None if self._block is None else (self._block[0][rows], self._block[1])
        block_columns = {} if block is None else dict(zip(block[1], block[0].T))
        columns = {
            name: block_columns[name] if name in block_columns else values[rows]
            for name, values in self._columns.items()
        }
        return self._like(columns, self.row_ids()[rows], block)

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
        cells = numpy.where(values == None, "nan", values)  # noqa: E711 (element-wise test for None)
        try:
            return cells.astype(numpy.float64)
        except (ValueError, TypeError):
            pass
        for row, cell in enumerate(cells):
            try:
                float(cell)
            except (ValueError, TypeError):
                raise not_a_number(name, self.row_name(row), cell) from None
        raise AssertionError("unreachable: astype failed but every cell parses")  # pragma: no cover

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


def concat_tables(tables: Iterable[Table]) -> Table:
    """The rows of ``tables`` (same columns, as the chunks of one file) one after the other.

    A column that is numeric in every chunk stays numeric; a column that is text in any chunk
    becomes text in all (its numbers written as :func:`number_text` writes them). The chunks are
    consumed one at a time and each column is joined once, so the peak is the chunks plus one column.
    """
    parts: dict[str, list[numpy.ndarray]] = {}
    ids: list[numpy.ndarray] = []
    first = None
    for table in tables:
        if first is None:
            first, parts = table, {name: [] for name in table.columns}
        elif table.columns != first.columns:
            raise DataError(f"a chunk has columns {table.columns}, not {first.columns}; join tables of one file")
        for name in table.columns:
            parts[name].append(table[name])
        ids.append(table.row_ids())
    if first is None:
        raise DataError("no tables to join; read at least one chunk")
    columns = {}
    for name in list(parts):
        chunks = parts.pop(name)
        if any(chunk.dtype == object for chunk in chunks):
            chunks = [chunk if chunk.dtype == object else number_text(chunk) for chunk in chunks]
        columns[name] = chunks[0] if len(chunks) == 1 else numpy.concatenate(chunks)
        del chunks
    contiguous = all(a[-1] + 1 == b[0] for a, b in itertools.pairwise(ids) if len(a) and len(b))
    row_ids = None if contiguous else numpy.concatenate(ids)
    first_row = int(ids[0][0]) if contiguous and len(ids[0]) else 0
    return Table(columns, source=first.source, lines=first._lines, row_ids=row_ids, first_row=first_row)


def number_text(values: numpy.ndarray) -> numpy.ndarray:
    """Numbers as the text a CSV holds for them: whole numbers without ``.0`` (``98178.0`` → ``"98178"``),
    others by ``repr``; NaN → None. Category keys and text joined to numbers use it."""
    return numpy.array([None if v != v else (str(int(v)) if v.is_integer() else repr(v)) for v in values.tolist()],
                       dtype=object)  # fmt: skip


def not_a_number(name: str, where: str, cell: Any) -> DataError:
    """The error for a cell of a numeric column that is no number (``where`` is a :meth:`Table.row_name`)."""
    return DataError(
        f"column {name!r} {where}: {cell!r} is not a number; correct the cell, or declare the column "
        f"categorical (--categorical {name} on the command line, Preprocessor(categorical=[{name!r}]) in Python)"
    )


def _as_column(name: Any, values: Any) -> numpy.ndarray:
    """One column as a 1-D array: floats stay float, integers and bools become float64, the rest text."""
    array = numpy.asarray(values)
    if array.ndim != 1:
        raise DataError(f"column {name!r} has shape {array.shape}; a column must be 1-D")
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "iub":
        return array.astype(numpy.float64)
    if array.dtype == object and _text_cells(array):
        return array
    return numpy.array([None if _is_missing(value) else str(value) for value in array], dtype=object)


def _text_cells(array: numpy.ndarray) -> bool:
    """True when every cell is ``str`` or None already (the readers' columns), checked at C speed."""
    kinds = set(map(type, array.tolist()))
    return kinds <= {str, type(None)}


def _is_missing(value: Any) -> bool:
    """True for ``None`` and float NaN (how pandas and NumPy mark a missing text cell)."""
    return value is None or (isinstance(value, float) and value != value)


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
