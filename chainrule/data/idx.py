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
import zlib
from pathlib import Path

import numpy

from chainrule.data.table import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_TYPES = {0x08: numpy.dtype(">u1"), 0x09: numpy.dtype(">i1"), 0x0B: numpy.dtype(">i2"),
          0x0C: numpy.dtype(">i4"), 0x0D: numpy.dtype(">f4"), 0x0E: numpy.dtype(">f8")}  # fmt: skip


def read_idx(path: str | Path, expected_magic: int | None = None) -> numpy.ndarray:
    """The array stored in an IDX file (gzip detected from its first bytes, not its name).

    Raises
    ------
    DataError
        The file is missing, not IDX (wrong magic number, or not ``expected_magic``), or shorter
        or longer than its header says.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file; check the path")
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path}: damaged gzip file ({error}); download it again") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _TYPES:
        raise DataError(
            f"{path} is not an IDX file (its first bytes {data[:4].hex(' ')} are no IDX magic number); "
            "pass the MNIST files train-images-idx3-ubyte(.gz) etc."
        )
    magic = int.from_bytes(data[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        what = {IMAGES_MAGIC: "images", LABELS_MAGIC: "labels"}
        raise DataError(
            f"{path} has magic number {magic}, not {expected_magic} ({what.get(expected_magic, 'IDX')}); "
            "check that the image and label files are not swapped or renamed"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is truncated inside its header; download it again")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = _TYPES[data[2]]
    expected = int(numpy.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise DataError(
            f"{path} holds {len(data) - header} bytes of values but its header {shape} needs {expected}; "
            "the file is truncated or damaged, download it again"
        )
    return numpy.frombuffer(data, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))
