"""A module's weights alone, the way ``torch.save(model.state_dict(), path)`` is used, in safetensors.

:func:`save_state_dict` writes ``model.state_dict()`` under PyTorch's names (``0.weight``,
``encoder.fc.bias``) for any ``Module``, a user's own subclass too, sealed by a digest and
written atomically; PyTorch reads it with ``safetensors.torch.load_file(path)``.
:func:`load_state_dict` reads such a file, or any safetensors file (one written from PyTorch with
``safetensors.torch.save_file(model.state_dict(), path)``), for ``model.load_state_dict``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from chainrule.io.atomic import atomic_write_bytes
from chainrule.io.sealed import host_array, open_tensors, sealed_bytes
from chainrule.tensor import Tensor

STATE_DICT_FORMAT = "chainrule.state_dict"
"""The ``format`` metadata of a file written by :func:`save_state_dict`."""


def save_state_dict(model: Any, path: str | os.PathLike, *, metadata: dict[str, str] | None = None) -> Path:
    """Write the weights of ``model`` (a ``Module``, or a ``state_dict()`` of arrays or tensors) to
    one ``.safetensors`` file, atomically; returns the path.

    Parameters
    ----------
    model : Module or dict
        Any module (its ``state_dict()``: parameters and buffers under PyTorch's names) or a
        name → array mapping.
    path : path
        The file to write (replaced if it exists).
    metadata : dict of str to str, optional
        Extra text stored beside the tensors (``format``, ``chainrule_version`` and ``digest``
        are set by chainrule).

    Examples
    --------
    >>> chainrule.io.save_state_dict(model, "weights.safetensors")
    >>> model.load_state_dict(chainrule.io.load_state_dict("weights.safetensors"))
    >>> torch_model.load_state_dict(safetensors.torch.load_file("weights.safetensors"))   # in PyTorch
    """
    from chainrule import __version__

    state = model.state_dict() if hasattr(model, "state_dict") else model
    if not isinstance(state, dict) or not all(isinstance(name, str) for name in state):
        raise TypeError(f"save_state_dict needs a Module or a dict of name → array, got {type(model).__name__}")
    extra = dict(metadata or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise TypeError("save_state_dict: metadata must map strings to strings")
    reserved = sorted({"format", "chainrule_version", "digest"} & set(extra))
    if reserved:
        raise ValueError(f"save_state_dict: metadata keys {reserved} are set by chainrule; rename them")
    tensors = {name: host_array(value.data if isinstance(value, Tensor) else value) for name, value in state.items()}
    text = {**extra, "format": STATE_DICT_FORMAT, "chainrule_version": __version__}
    return atomic_write_bytes(path, sealed_bytes(tensors, text))


def load_state_dict(path: str | os.PathLike) -> dict[str, Any]:
    """The tensors of a safetensors file as a name → NumPy array dict, for ``model.load_state_dict``.

    A file written by :func:`save_state_dict` is checked against its digest first; any other
    safetensors file (one written by PyTorch) is read as it is.  Memory stays within the file's
    size: the header is bounded and each tensor's bytes are checked to lie in the file.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If it is not a safetensors file, or its bytes do not match its digest.
    """
    with open_tensors(path) as file:
        return {name: file.read(name) for name in file.table}
