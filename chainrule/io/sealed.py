"""``.safetensors`` files sealed by a SHA-256 digest of every byte, header and tensors alike.

The digest sits in the file's own metadata, under ``"digest"``, as ``"sha256:<64 hex digits>"``.
It is the SHA-256 of the whole file as written with 64 zeros in place of those hex digits, so a
reader recomputes it in one pass over the file (zeroing the digits) and any change anywhere (a
flipped bit in a tensor, in the JSON of a preprocessing mean, in the header's padding) is caught
before anything in the file is used.  The file stays a plain safetensors file: ``safetensors``
and PyTorch read its tensors and ignore the digest.

Reading is bounded before anything is allocated: the header may be at most
:data:`MAX_HEADER_BYTES` long and must fit the file, and the digest is checked streaming, in
blocks of 256 KiB.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

from chainrule import backend

DIGEST_KEY = "digest"
"""The metadata key of the digest."""

MAX_HEADER_BYTES = 1 << 25
"""The longest safetensors header (JSON of the tensor table and the metadata) read: 32 MiB."""

_PLACEHOLDER = "sha256:" + "0" * 64
_DIGEST = re.compile(rb'"digest":"sha256:([0-9a-f]{64})"')
_BLOCK = 1 << 18

DTYPES = {
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
    "I8": "int8",
    "I16": "int16",
    "I32": "int32",
    "I64": "int64",
    "U8": "uint8",
    "U16": "uint16",
    "U32": "uint32",
    "U64": "uint64",
    "BOOL": "bool",
}
"""safetensors dtype → NumPy dtype name, for the dtypes NumPy has (not BF16 or the F8s)."""


def safetensors_module() -> Any:
    """The ``safetensors`` package (with ``safetensors.numpy``), or an ImportError naming the extra."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "saving and loading models needs the safetensors package: pip install 'chainrule[io]'"
        ) from None
    return safetensors


def host_array(array: Any) -> numpy.ndarray:
    """``array`` (a backend array) as a C-contiguous NumPy array for a file; a 0-d array stays 0-d
    (``numpy.ascontiguousarray`` would make it 1-d, and a BatchNorm count or a 0-d parameter's
    state would come back with the wrong shape)."""
    return numpy.asarray(backend.to_numpy(array), order="C")


def sealed_bytes(tensors: dict[str, numpy.ndarray], metadata: dict[str, str]) -> bytes:
    """The bytes of a safetensors file of ``tensors`` and ``metadata`` plus its digest."""
    safetensors = safetensors_module()
    if DIGEST_KEY in metadata:
        raise ValueError(f"metadata key {DIGEST_KEY!r} is reserved for the file's digest")
    data = bytearray(safetensors.numpy.save(tensors, metadata={**metadata, DIGEST_KEY: _PLACEHOLDER}))
    header_end = 8 + int.from_bytes(data[:8], "little")
    (match,) = _DIGEST.finditer(data, 8, header_end)  # one "digest" key: JSON escapes the quotes of any other
    data[match.start(1) : match.end(1)] = hashlib.sha256(data).hexdigest().encode()
    return bytes(data)


@dataclass
class Tensors:
    """An open safetensors file: its metadata, the name → (shape, dtype) table of its tensors, and
    whether its digest was present (and then matched).  :meth:`read` reads one tensor."""

    path: Path
    metadata: dict[str, str]
    table: dict[str, tuple[tuple[int, ...], str]]
    sealed: bool
    _handle: Any

    def read(self, name: str) -> numpy.ndarray:
        """Tensor ``name`` as a NumPy array (a copy of its bytes)."""
        try:
            return self._handle.get_tensor(name)
        except Exception as error:  # the Rust reader's SafetensorError
            raise ValueError(f"{self.path}: tensor {name!r} cannot be read ({error}); the file is damaged") from None


def unreadable(path: Path, reason: str) -> ValueError:
    """The error for a file that is not a usable safetensors file."""
    return ValueError(
        f"{path} is not a readable model file: it is corrupt, truncated or not a .safetensors file "
        f"({reason}); save the model again"
    )


@contextmanager
def open_tensors(path: str | os.PathLike) -> Iterator[Tensors]:
    """Open a safetensors file after checking its header's bounds and, when it has one, its digest.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If it is not a safetensors file (too short, a header longer than the file or than
        :data:`MAX_HEADER_BYTES`, JSON the reader refuses, a dtype NumPy lacks), has more than one
        digest, or its digest does not match its bytes.
    """
    safetensors = safetensors_module()
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"model file {path} {what}; give the .safetensors file written by --save")
    with open(path, "rb") as file:
        identity = os.fstat(file.fileno())
        header = _header(path, file, identity.st_size)
        try:  # the structure first (a truncated file is "truncated", not "a digest mismatch")
            handle = safetensors.safe_open(str(path), framework="numpy")
        except Exception as error:  # SafetensorError and others from the Rust reader
            raise unreadable(path, str(error).splitlines()[0] if str(error) else type(error).__name__) from None
        with handle:
            now = os.stat(path)
            if (now.st_ino, now.st_dev, now.st_size) != (identity.st_ino, identity.st_dev, identity.st_size):
                raise ValueError(f"{path} was replaced while it was being read; load it again")
            sealed = _check_digest(path, file, header)
            del header  # before the metadata is decoded: the two together would double the peak
            table = {}
            for name in handle.keys():  # noqa: SIM118 - not a dict
                view = handle.get_slice(name)
                dtype = view.get_dtype()
                if dtype not in DTYPES:
                    raise unreadable(path, f"tensor {name!r} has dtype {dtype}, which NumPy cannot hold")
                table[name] = (tuple(view.get_shape()), DTYPES[dtype])
            yield Tensors(path, handle.metadata() or {}, table, sealed, handle)


def _header(path: Path, file: Any, size: int) -> bytearray:
    """The 8-byte length and the header of the open ``file``, within :data:`MAX_HEADER_BYTES` and the file."""
    prefix = file.read(8)
    if len(prefix) < 8:
        raise unreadable(path, f"{size} bytes, shorter than a safetensors header")
    length = int.from_bytes(prefix, "little")
    if length > MAX_HEADER_BYTES or 8 + length > size:
        raise unreadable(path, f"its header claims {length:,} bytes in a file of {size:,}")
    header = bytearray(8 + length)  # read in place: bytes + bytearray would hold it twice
    header[:8] = prefix
    if file.readinto(memoryview(header)[8:]) != length:
        raise unreadable(path, "the file ends inside its header")
    return header


def _check_digest(path: Path, file: Any, header: bytearray) -> bool:
    """Whether ``header`` (length and JSON) holds a digest, then checked over it and the rest of the
    open ``file`` (read on from the header's end): a mismatch is a ValueError."""
    matches = list(_DIGEST.finditer(header, 8))
    if not matches:
        return False
    if len(matches) > 1:
        raise ValueError(f"{path} is corrupt: its header holds {len(matches)} digests; save the model again")
    stored = bytes(matches[0].group(1)).decode()
    header[matches[0].start(1) : matches[0].end(1)] = b"0" * 64
    digest = hashlib.sha256(header)
    file.seek(len(header))
    while block := file.read(_BLOCK):
        digest.update(block)
    if digest.hexdigest() != stored:
        raise ValueError(
            f"{path} is corrupt: its bytes do not match the SHA-256 digest stored when it was saved "
            "(a damaged copy or disk); use another copy or save the model again"
        )
    return True
