"""Checkpoints: one ``.safetensors`` file that holds everything needed to use or resume a model.

Layout of the file (readable by anyone with the ``safetensors`` library)::

    tensors   "0.weight", "0.bias", …                  the model's state_dict, PyTorch's names
              "optimizer.state.<i>.<name>"              optimizer arrays (Adam's exp_avg, …)
    metadata  "format": "chainrule", "format_version": "1", "chainrule_version"
              "architecture"   JSON spec of the Sequential (chainrule.io.spec)
              "preprocessing"  JSON of Preprocessor.to_dict() (or absent)
              "config"         JSON training configuration (loss, optimizer, epochs, …)
              "metrics"        JSON final metrics
              "optimizer"      JSON {"type", "param_groups", "scalars"} (or absent)
              "trainer"        JSON {"epoch", "generator", "history"} for resuming (or absent)
              "checksum"       sha256 over the tensors, so a damaged file is caught

No pickle: loading parses JSON, builds layers from a fixed table and copies arrays, and checks
every tensor's name, shape and dtype against the architecture.  Writes go to a temporary file in
the same folder, flushed to disk, then renamed over the target, so a crash mid-save leaves the
previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from chainrule import backend
from chainrule.io.spec import model_from_spec, model_to_spec
from chainrule.nn.module import Module

FORMAT = "chainrule"
FORMAT_VERSION = "1"
OPTIMIZER_PREFIX = "optimizer.state."
_JSON_FIELDS = ("architecture", "preprocessing", "config", "metrics", "optimizer", "trainer")


def _safetensors() -> Any:
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "saving and loading models needs the safetensors package: pip install 'chainrule[io]'"
        ) from None
    return safetensors


def checksum(tensors: dict[str, numpy.ndarray]) -> str:
    """``sha256:<hex>`` over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = numpy.ascontiguousarray(tensors[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed and
    synced to disk, then ``os.replace``d over ``path`` (readers see the old file or the new one,
    never half of one)."""
    path = Path(path)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(temporary, mode)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def save(
    path: str | os.PathLike,
    model: Module,
    *,
    optimizer: Any = None,
    preprocessor: Any = None,
    config: dict | None = None,
    metrics: dict | None = None,
    trainer: Any = None,
) -> Path:
    """Save ``model`` (and what is given of its training) to one ``.safetensors`` file, atomically.

    Parameters
    ----------
    path : path
        The file to write (replaced if it exists).
    model : Sequential
        Made of the layers in :data:`chainrule.io.spec.LAYERS`.
    optimizer : Optimizer, optional
        Its state (moment estimates, step counts, learning rates) is saved for resuming.
    preprocessor : Preprocessor or dict, optional
        The fitted preprocessing (``to_dict()`` is stored), applied again by ``chainrule predict``.
    config, metrics : dict, optional
        JSON-ready training configuration and final metrics.
    trainer : Trainer, optional
        Epochs done, shuffling generator and history, so ``fit`` resumes bit for bit.
    """
    safetensors = _safetensors()
    tensors = {name: numpy.ascontiguousarray(backend.to_numpy(a)) for name, a in model.state_dict().items()}
    metadata: dict[str, Any] = {
        "architecture": model_to_spec(model),
        "config": config or {},
        "metrics": metrics or {},
    }
    if preprocessor is not None:
        metadata["preprocessing"] = preprocessor if isinstance(preprocessor, dict) else preprocessor.to_dict()
    if optimizer is not None:
        metadata["optimizer"] = _optimizer_entry(optimizer, tensors)
    if trainer is not None:
        metadata["trainer"] = trainer.state_dict()
    text = {name: json.dumps(value, allow_nan=True) for name, value in metadata.items()}
    from chainrule import __version__

    text.update(format=FORMAT, format_version=FORMAT_VERSION, chainrule_version=__version__)
    text["checksum"] = checksum(tensors)
    return atomic_write_bytes(path, safetensors.numpy.save(tensors, metadata=text))


def _optimizer_entry(optimizer: Any, tensors: dict[str, numpy.ndarray]) -> dict[str, Any]:
    """Put the optimizer's arrays into ``tensors``; return its type, groups and scalar state."""
    state = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if getattr(value, "ndim", 0):
                tensors[f"{OPTIMIZER_PREFIX}{index}.{name}"] = numpy.ascontiguousarray(backend.to_numpy(value))
            else:
                scalars.setdefault(str(index), {})[name] = value.item() if hasattr(value, "item") else value
    return {"type": type(optimizer).__name__, "param_groups": state["param_groups"], "scalars": scalars}


@dataclass
class Checkpoint:
    """What :func:`load` read from a file.

    Attributes
    ----------
    model : Sequential
        Built from the architecture, with the saved weights.
    architecture, config, metrics : dict
        The JSON metadata.
    preprocessing : dict or None
        ``Preprocessor.to_dict()`` as saved; :attr:`preprocessor` rebuilds it.
    optimizer_type : str or None
        The optimizer's class name (``"Adam"``).
    optimizer_state : dict or None
        In :meth:`Optimizer.state_dict` form, for :meth:`restore`.
    trainer_state : dict or None
        Epochs done, shuffling generator state and history.
    version : str
        The chainrule version that wrote the file.
    """

    model: Module
    architecture: dict
    config: dict
    metrics: dict
    version: str
    preprocessing: dict | None = None
    optimizer_type: str | None = None
    optimizer_state: dict | None = field(default=None, repr=False)
    trainer_state: dict | None = field(default=None, repr=False)
    path: Path | None = field(default=None, repr=False)

    @property
    def preprocessor(self) -> Any:
        """The fitted :class:`chainrule.data.Preprocessor`, or None if none was saved."""
        if self.preprocessing is None:
            return None
        from chainrule.data import Preprocessor

        return Preprocessor.from_dict(self.preprocessing)

    def restore(self, optimizer: Any = None, trainer: Any = None) -> None:
        """Load the saved optimizer state into ``optimizer`` (built on ``self.model.parameters()``)
        and the saved epoch count, shuffling generator and history into ``trainer``."""
        if optimizer is not None:
            if self.optimizer_state is None:
                raise ValueError(f"{self.path} holds no optimizer state; it was saved without optimizer=")
            if type(optimizer).__name__ != self.optimizer_type:
                raise ValueError(
                    f"{self.path} holds the state of a {self.optimizer_type} optimizer, "
                    f"not of a {type(optimizer).__name__}; build a {self.optimizer_type}"
                )
            optimizer.load_state_dict(self.optimizer_state)
        if trainer is not None:
            if self.trainer_state is None:
                raise ValueError(f"{self.path} holds no trainer state; it was saved without trainer=")
            trainer.load_state_dict(self.trainer_state)


def load(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save`, checking everything; runs no code from the file.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a safetensors file (corrupt, truncated, random bytes), is a safetensors
        file that chainrule did not write, or its tensors do not fit its architecture.
    """
    safetensors = _safetensors()
    path = Path(path)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise FileNotFoundError(f"model file {path} {what}; give the .safetensors file written by --save")
    try:
        with safetensors.safe_open(str(path), framework="numpy") as file:
            metadata = file.metadata() or {}
            tensors = {name: file.get_tensor(name) for name in file.keys()}  # noqa: SIM118 - not a dict
    except Exception as error:  # the Rust reader raises SafetensorError (and others) for damaged files
        raise ValueError(
            f"{path} is not a readable model file: it is corrupt, truncated or not a .safetensors file "
            f"({str(error).splitlines()[0]}); save the model again"
        ) from None
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{path} is a safetensors file but not a chainrule model (no 'format': 'chainrule' in its "
            "metadata); give a file written by chainrule train --save or chainrule.io.save"
        )
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has checkpoint format version {metadata.get('format_version')!r}; this chainrule "
            f"reads version {FORMAT_VERSION}; upgrade chainrule"
        )
    if metadata.get("checksum") != checksum(tensors):
        raise ValueError(f"{path} is corrupt: its tensors do not match the checksum stored when it was saved")
    fields = {}
    for name in _JSON_FIELDS:
        if name in metadata:
            try:
                fields[name] = json.loads(metadata[name])
            except json.JSONDecodeError:
                raise ValueError(f"{path} is corrupt: its {name!r} metadata is not valid JSON") from None
    if "architecture" not in fields:
        raise ValueError(f"{path} is corrupt: it has no architecture metadata")
    model = model_from_spec(fields["architecture"])
    _load_weights(path, model, tensors)
    optimizer = fields.get("optimizer")
    return Checkpoint(
        model=model,
        architecture=fields["architecture"],
        config=fields.get("config", {}),
        metrics=fields.get("metrics", {}),
        version=metadata.get("chainrule_version", "unknown"),
        preprocessing=fields.get("preprocessing"),
        optimizer_type=optimizer["type"] if optimizer else None,
        optimizer_state=_optimizer_state(path, optimizer, tensors, model) if optimizer else None,
        trainer_state=fields.get("trainer"),
        path=path,
    )


def _load_weights(path: Path, model: Module, tensors: dict[str, numpy.ndarray]) -> None:
    """Check names, shapes and dtypes of the weight tensors against ``model`` and copy them in."""
    expected = model.state_dict()
    weights = {name: array for name, array in tensors.items() if not name.startswith(OPTIMIZER_PREFIX)}
    missing = sorted(set(expected) - set(weights))
    unexpected = sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit its own architecture: missing tensors {missing}, unexpected tensors "
            f"{unexpected}; the file is damaged or was not written by chainrule"
        )
    for name, array in weights.items():
        own = expected[name]
        if array.shape != own.shape or array.dtype != own.dtype:
            raise ValueError(
                f"{path}: tensor {name!r} is {array.dtype}{list(array.shape)} but the architecture needs "
                f"{own.dtype}{list(own.shape)}; the file is damaged or was not written by chainrule"
            )
    model.load_state_dict(weights)


def _optimizer_state(path: Path, entry: dict, tensors: dict[str, numpy.ndarray], model: Module) -> dict[str, Any]:
    """Rebuild ``Optimizer.state_dict()`` form from the JSON entry and the prefixed tensors."""
    try:
        state: dict[int, dict[str, Any]] = {int(i): dict(values) for i, values in entry["scalars"].items()}
        groups = entry["param_groups"]
        count = sum(len(group["params"]) for group in groups)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"{path} is corrupt: its optimizer metadata is malformed") from None
    shapes = [p.shape for p in model.parameters()]
    for name, array in tensors.items():
        if not name.startswith(OPTIMIZER_PREFIX):
            continue
        index, _, key = name[len(OPTIMIZER_PREFIX) :].partition(".")
        if not index.isdigit() or int(index) >= count or int(index) >= len(shapes) or not key:
            raise ValueError(f"{path}: optimizer tensor {name!r} names no parameter of the model")
        if array.shape != shapes[int(index)]:
            raise ValueError(
                f"{path}: optimizer tensor {name!r} has shape {list(array.shape)}, its parameter "
                f"{list(shapes[int(index)])}"
            )
        state.setdefault(int(index), {})[key] = array
    return {"state": state, "param_groups": groups}
