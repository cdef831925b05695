"""What kind of text file a table is: compression, delimiter, header. Read from its first bytes.

:func:`sniff` looks at the first 64 KiB (decompressed) of a file and decides:

* compression, from the magic bytes (``1f 8b`` gzip, ``28 b5 2f fd`` Zstandard), never from the name;
* the delimiter, among comma, semicolon, tab and pipe: the one that splits the first lines
  (quotes respected) into the same number of fields, more than one, with the most fields; a tie
  goes to the earlier in that list, and a file with one column is comma-separated;
* UTF-8 with or without a byte-order mark (the BOM is dropped); other encodings are an error.

It also warns (:class:`DataWarning`) when the header row looks like data: every cell of it a
number means the file probably has no header, and the warning says to pass ``--no-header``.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

DELIMITERS = (",", ";", "\t", "|")
"""The delimiters :func:`sniff` chooses among, in order of preference."""
SAMPLE_BYTES = 1 << 16
"""How much of the (decompressed) file :func:`sniff` reads."""
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


class DataError(ValueError):
    """Bad data or a bad data file; the message names the problem and the fix."""


class DataWarning(UserWarning):
    """A decision about the data the user should hear of (a dropped column, a header that looks like data, …)."""


@dataclass(frozen=True)
class Dialect:
    """How a delimited text file is written.

    Attributes
    ----------
    delimiter:
        The field separator: ``","``, ``";"``, ``"\\t"`` or ``"|"``.
    header:
        True when the first row holds the column names.
    compression:
        ``"gzip"``, ``"zstd"`` or None.
    """

    delimiter: str = ","
    header: bool = True
    compression: str | None = None

    @property
    def delimiter_name(self) -> str:
        """``"comma"``, ``"semicolon"``, ``"tab"`` or ``"pipe"`` (for messages)."""
        return _NAMES.get(self.delimiter, repr(self.delimiter))


def compression_of(path: Path) -> str | None:
    """``"gzip"``, ``"zstd"`` or None, from the file's first four bytes."""
    with open(path, "rb") as raw:
        magic = raw.read(4)
    return next((name for prefix, name in _MAGIC.items() if magic.startswith(prefix)), None)


def open_binary(path: Path, compression: str | None) -> BinaryIO:
    """The file's bytes, decompressed. Zstandard needs pyarrow or the ``zstandard`` package."""
    if compression == "gzip":
        return gzip.open(path, "rb")
    if compression == "zstd":
        try:
            import pyarrow

            return pyarrow.CompressedInputStream(pyarrow.OSFile(str(path)), "zstd")
        except ImportError:
            pass
        try:
            import zstandard
        except ImportError:
            raise DataError(
                f"{path} is Zstandard-compressed; reading it needs pyarrow: pip install 'chainrule[arrow]'"
            ) from None
        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
    return open(path, "rb")


def open_text(path: Path, compression: str | None) -> io.TextIOBase:
    """The file as UTF-8 text (a leading BOM dropped), for the ``csv`` module (``newline=""``)."""
    return io.TextIOWrapper(open_binary(path, compression), encoding="utf-8-sig", newline="")


def check_path(path: str | Path) -> Path:
    """``path`` as a ``Path``, or an error when it is missing or a folder."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise DataError(f"{path} is a directory; pass a CSV file")
    return path


def sniff(path: str | Path, delimiter: str | None = None, header: bool = True) -> Dialect:
    """The :class:`Dialect` of a delimited text file (``delimiter`` forces one; ``header=False``: no header row).

    Raises
    ------
    DataError
        The file holds NUL bytes (binary) or is not UTF-8 text, or ``delimiter`` is not one character.
    """
    path = check_path(path)
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise DataError(f"delimiter {delimiter!r} must be one character (not a quote or newline), e.g. ';' or '\\t'")
    compression = compression_of(path)
    text = _sample(path, compression)
    if "\x00" in text:
        raise DataError(f"{path} looks like a binary file (it holds NUL bytes), not a CSV; pass a CSV file")
    lines = _complete_lines(text)
    if delimiter is None:
        delimiter = _detect_delimiter(lines)
    dialect = Dialect(delimiter=delimiter, header=header, compression=compression)
    if header and lines:
        first = next(csv.reader(lines[:1], delimiter=delimiter), [])
        if first and all(_is_number(cell) for cell in first):
            shown = ", ".join(first[:4]) + (", …" if len(first) > 4 else "")
            warnings.warn(
                f"{path}: the first row looks like numbers ({shown}): does the file have a header? "
                "pass --no-header (header=False in Python) if it has none",
                DataWarning,
                stacklevel=3,
            )
    return dialect


def _sample(path: Path, compression: str | None) -> str:
    """The first :data:`SAMPLE_BYTES` of the decompressed file as text (a character cut at the end is dropped)."""
    try:
        with open_binary(path, compression) as raw:
            data = raw.read(SAMPLE_BYTES)
    except (OSError, EOFError) as error:
        raise DataError(f"{path}: cannot read it ({error}); check that it is a complete CSV or .csv.gz file") from None
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        return decoder.decode(data, final=len(data) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text (a binary file?); pass a text CSV file saved as UTF-8") from None


def _complete_lines(text: str, limit: int = 50) -> list[str]:
    """Up to ``limit`` non-blank lines of the sample, without a last line that may be cut short."""
    lines = text.splitlines()
    if len(text) >= SAMPLE_BYTES // 2 and len(lines) > 1:
        lines = lines[:-1]
    return [line for line in lines if line.strip()][:limit]


def _detect_delimiter(lines: list[str]) -> str:
    """The delimiter that gives every sampled record the same number (> 1) of fields, the most fields winning."""
    best, best_fields = ",", 1
    text = "\n".join(lines)
    for candidate in DELIMITERS:
        try:
            counts = {len(fields) for fields in csv.reader(io.StringIO(text), delimiter=candidate) if fields}
        except csv.Error:
            continue
        if len(counts) == 1 and (fields := counts.pop()) > best_fields:
            best, best_fields = candidate, fields
    return best


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
