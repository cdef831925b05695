"""The IDX file format of MNIST (LeCun et al.), raw or gzip-compressed.

An IDX file is a big-endian header followed by the values in C order:

* 4 magic bytes ``0x00 0x00 T D``: ``T`` is the value type (``0x08`` unsigned byte, the only one
  MNIST uses) and ``D`` the number of dimensions, so images have magic ``0x0803`` = 2051 and
  labels ``0x0801`` = 2049;
* ``D`` dimension sizes, each a big-endian uint32;
* ``prod(sizes)`` values.
"""

from __future__ import annotations

import gzip
import math
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy

from chainrule.data.table import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_TYPES = {0x08: numpy.dtype(">u1"), 0x09: numpy.dtype(">i1"), 0x0B: numpy.dtype(">i2"),
          0x0C: numpy.dtype(">i4"), 0x0D: numpy.dtype(">f4"), 0x0E: numpy.dtype(">f8")}  # fmt: skip


def read_idx(path: str | Path, expected_magic: int | None = None) -> numpy.ndarray:
    """The array stored in an IDX file (gzip detected from its first bytes, not its name).

    The header is read first and the values then into an array of exactly the declared size, so a
    file that holds more than its header declares (a small gzip file that would inflate to
    gigabytes) is rejected after reading one byte past the declared values, not after inflating it.

    Raises
    ------
    DataError
        The file is missing, not IDX (wrong magic number, or not ``expected_magic``), or shorter
        or longer than its header says.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    with open(path, "rb") as raw:
        compressed = raw.read(2) == b"\x1f\x8b"
    try:
        with gzip.open(path, "rb") if compressed else open(path, "rb") as stream:
            return _read_values(path, stream, expected_magic)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: damaged gzip file ({error}); download it again") from None


def _read_values(path: Path, stream: BinaryIO, expected_magic: int | None) -> numpy.ndarray:
    magic_bytes = stream.read(4)
    if len(magic_bytes) < 4 or magic_bytes[0] != 0 or magic_bytes[1] != 0 or magic_bytes[2] not in _TYPES:
        raise DataError(
            f"{path} is not an IDX file (its first bytes {magic_bytes.hex(' ')} are no IDX magic number); "
            "pass the MNIST files train-images-idx3-ubyte(.gz) etc."
        )
    magic = int.from_bytes(magic_bytes, "big")
    if expected_magic is not None and magic != expected_magic:
        what = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
        raise DataError(
            f"{path} has magic number {magic}, not {expected_magic} ({what.get(expected_magic, 'IDX')}); "
            "check that the image and label files are not swapped or renamed"
        )
    ndim = magic_bytes[3]
    sizes = stream.read(4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DataError(f"{path} is truncated inside its header; download it again")
    shape = tuple(int.from_bytes(sizes[4 * i : 4 * i + 4], "big") for i in range(ndim))
    dtype = _TYPES[magic_bytes[2]]
    expected = math.prod(shape) * dtype.itemsize
    values = numpy.empty(expected, dtype=numpy.uint8)
    got = _read_into(stream, memoryview(values))
    if got < expected:
        raise DataError(
            f"{path} holds {got} bytes of values but its header {shape} needs {expected}; "
            "the file is truncated or damaged, download it again"
        )
    if stream.read(1):
        raise DataError(
            f"{path} holds more than the {expected} bytes of values its header {shape} declares; "
            "the file is damaged or not what its header says, download it again"
        )
    return values.view(dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _read_into(stream: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``stream`` (which may return short reads); returns the bytes read."""
    total = 0
    while total < len(buffer):
        count = stream.readinto(buffer[total:])
        if not count:
            break
        total += count
    return total
