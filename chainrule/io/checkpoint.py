"""Checkpoints: one ``.safetensors`` file that holds everything needed to use or resume a model.

Layout of the file (readable by anyone with the ``safetensors`` library)::

    tensors   "0.weight", "0.bias", …                  the model's state_dict, PyTorch's names
              "optimizer.state.<i>.<name>"              optimizer arrays (Adam's exp_avg, …; 0-d too)
              "trainer.callbacks.<k>.<j>"               arrays in callbacks' states (best weights)
    metadata  "format": "chainrule", "format_version": "2", "chainrule_version"
              "architecture"   JSON spec of the model (chainrule.io.spec)
              "preprocessing"  JSON of Preprocessor.to_dict() (or absent)
              "config"         JSON training configuration (loss, optimizer, epochs, …)
              "metrics"        JSON final metrics
              "optimizer"      JSON {"type", "param_groups", "scalars"} (or absent)
              "trainer"        JSON {"epoch", "generator", "history", "callbacks",
                               "global_generator", "module_generators"} for resuming (or absent)
              "digest"         SHA-256 of the whole file (chainrule.io.sealed)

No pickle, and nothing in the file is trusted before it is checked: loading verifies the digest
over every byte, bounds the header and each JSON field (size, items, depth), checks each field's
shape, compares the tensors the architecture declares with the file's before building anything
(so no file can ask for more memory than it carries), builds layers from a fixed table (or user
classes the caller allows), and checks every optimizer and callback tensor against its parameter.
Any problem is a ``ValueError`` that names the file and the field.  Writes are atomic
(:mod:`chainrule.io.atomic`): a crash or ``kill -9`` mid-save leaves the previous file intact and
no temporary file behind.

Files of format version 1 (chainrule 0.1: a checksum over the tensors only) still load, with a
:class:`LegacyCheckpointWarning`; ``chainrule.io.load(path).save(path)`` rewrites one sealed whole.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from chainrule import backend
from chainrule.io import metadata as fields
from chainrule.io.atomic import atomic_write_bytes
from chainrule.io.sealed import host_array, open_tensors, sealed_bytes
from chainrule.io.spec import declared_state, model_from_spec, model_to_spec
from chainrule.nn.module import Module

FORMAT = "chainrule"
FORMAT_VERSION = "2"
LEGACY_VERSION = "1"
OPTIMIZER_PREFIX = "optimizer.state."
CALLBACK_PREFIX = "trainer.callbacks."
_TENSOR = "__tensor__"
_FIXED_KEYS = {"format", "format_version", "chainrule_version"}


class LegacyCheckpointWarning(UserWarning):
    """A checkpoint of format version 1 was loaded: only its tensors are covered by a checksum."""


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
    """Save ``model`` (and what is given of its training) to one sealed ``.safetensors`` file, atomically.

    Parameters
    ----------
    path : path
        The file to write (replaced if it exists).
    model : Module
        A ``Sequential`` of the layers in :data:`chainrule.io.spec.LAYERS`, or any ``Module``
        subclass importable by its module and name (its ``get_config()``, if defined, gives the
        constructor arguments); load it with ``load(path, allowed_classes=[TheClass])``.
    optimizer : Optimizer, optional
        Its state (moment estimates, step counts, learning rates) is saved for resuming.
    preprocessor : Preprocessor or dict, optional
        The fitted preprocessing (``to_dict()`` is stored), applied again by ``chainrule predict``.
    config, metrics : dict, optional
        JSON-ready training configuration and final metrics (``{name: number}`` or
        ``{part: {name: number}}``).
    trainer : Trainer, optional
        For resuming bit for bit: epochs done, the shuffling generator, the history, the state of
        each of ``trainer.callbacks`` that has one (schedulers, early stopping, ModelCheckpoint),
        the global generator of :mod:`chainrule.backend` (initialisers, Dropout) and generators
        held by the model's modules.  :meth:`Checkpoint.restore` puts them all back.

    Raises
    ------
    TypeError
        For a model that cannot be described as data, or metadata that is not JSON-ready.
    ValueError
        For metadata of the wrong shape (``metrics=[1]``) or beyond the bounds a load accepts.
    """
    tensors = {name: host_array(a) for name, a in model.state_dict().items()}
    optimizer_type = optimizer_state = trainer_state = None
    if optimizer is not None:
        optimizer_type, optimizer_state = type(optimizer).__name__, optimizer.state_dict()
    if trainer is not None:
        trainer_state = {
            **trainer.state_dict(),
            "callbacks": [
                {"type": type(c).__name__, "state": state}
                for c in trainer.callbacks
                if (state := c.state_dict()) is not None
            ],
            "global_generator": backend.get_rng_state(),
            "module_generators": _module_generators(trainer.model),
        }
    preprocessing = preprocessor if preprocessor is None or isinstance(preprocessor, dict) else preprocessor.to_dict()
    return _write(path, model_to_spec(model), tensors, preprocessing, config, metrics, optimizer_type,
                  optimizer_state, trainer_state)  # fmt: skip


def _write(
    path: str | os.PathLike,
    architecture: dict,
    tensors: dict[str, numpy.ndarray],
    preprocessing: dict | None,
    config: dict | None,
    metrics: dict | None,
    optimizer_type: str | None,
    optimizer_state: dict | None,
    trainer_state: dict | None,
) -> Path:
    """Encode every part, seal the file and write it atomically."""
    values: dict[str, Any] = {"architecture": architecture, "config": config or {}, "metrics": metrics or {}}
    if preprocessing is not None:
        values["preprocessing"] = preprocessing
    if optimizer_state is not None:
        values["optimizer"] = _optimizer_entry(optimizer_type, optimizer_state, tensors)
    if trainer_state is not None:
        callbacks = [
            {"type": entry["type"], "state": _encode(entry["state"], f"{CALLBACK_PREFIX}{k}.", tensors)}
            for k, entry in enumerate(trainer_state["callbacks"])
        ]
        values["trainer"] = {**trainer_state, "callbacks": callbacks}
    text = {name: fields.encode(name, value) for name, value in values.items()}
    from chainrule import __version__

    text.update(format=FORMAT, format_version=FORMAT_VERSION, chainrule_version=__version__)
    return atomic_write_bytes(path, sealed_bytes(tensors, text))


def _optimizer_entry(kind: str | None, state: dict[str, Any], tensors: dict[str, numpy.ndarray]) -> dict[str, Any]:
    """Put the optimizer's arrays (0-d ones too) into ``tensors``; return its type, groups and the
    rest of its state (step counts) as JSON."""
    scalars: dict[str, dict[str, Any]] = {}
    for index, entries in state["state"].items():
        for name, value in entries.items():
            if isinstance(value, backend.xp.ndarray):
                tensors[f"{OPTIMIZER_PREFIX}{index}.{name}"] = host_array(value)
            else:
                scalars.setdefault(str(index), {})[name] = value.item() if hasattr(value, "item") else value
    return {"type": kind, "param_groups": state["param_groups"], "scalars": scalars}


def _encode(value: Any, prefix: str, tensors: dict[str, numpy.ndarray]) -> Any:
    """``value`` as JSON, its arrays moved into ``tensors`` as ``prefix<j>`` (``{"__tensor__": name}``)."""
    if isinstance(value, backend.xp.ndarray):
        name = f"{prefix}{sum(n.startswith(prefix) for n in tensors)}"
        tensors[name] = host_array(value)
        return {_TENSOR: name}
    if isinstance(value, dict):
        return {key: _encode(item, prefix, tensors) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(item, prefix, tensors) for item in value]
    return value


def _decode(value: Any, prefix: str, tensors: dict[str, numpy.ndarray], used: set[str]) -> Any:
    """Undo :func:`_encode`: each ``{"__tensor__": name}`` becomes its array (a name under
    ``prefix``, used once).  The JSON's depth is bounded by :data:`metadata.MAX_DEPTH`."""
    if isinstance(value, dict):
        if set(value) == {_TENSOR}:
            name = value[_TENSOR]
            if not isinstance(name, str) or not name.startswith(prefix) or name not in tensors or name in used:
                raise ValueError(f"'trainer' metadata: a callback state refers to a missing tensor {name!r}")
            used.add(name)
            return tensors[name]
        return {key: _decode(item, prefix, tensors, used) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item, prefix, tensors, used) for item in value]
    return value


def _module_generators(model: Module) -> dict[str, Any]:
    """``"<module>.<attribute>"`` → state of each NumPy generator a module holds (``Dropout(generator=rng)``)."""
    return {
        f"{name}.{attribute}" if name else attribute: backend.generator_state(value)
        for name, module in model.named_modules()
        for attribute, value in vars(module).items()
        if isinstance(value, numpy.random.Generator)
    }


@dataclass
class Checkpoint:
    """What :func:`load` read from a file.

    Attributes
    ----------
    model : Module
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
        ``Trainer.state_dict()``: epochs done, shuffling generator state and history.
    callback_states : list of dict
        ``{"type": class name, "state": Callback.state_dict()}`` of each stateful callback of the
        saved trainer, in order.
    global_generator : dict or None
        The global generator's state at the save (``backend.get_rng_state()``).
    module_generators : dict
        ``"<module>.<attribute>"`` → state of each generator the model's modules held.
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
    callback_states: list = field(default_factory=list, repr=False)
    global_generator: dict | None = field(default=None, repr=False)
    module_generators: dict = field(default_factory=dict, repr=False)
    path: Path | None = field(default=None, repr=False)

    @property
    def preprocessor(self) -> Any:
        """The fitted :class:`chainrule.data.Preprocessor`, or None if none was saved."""
        if self.preprocessing is None:
            return None
        from chainrule.data import Preprocessor

        return Preprocessor.from_dict(self.preprocessing)

    def restore(self, optimizer: Any = None, trainer: Any = None, callbacks: Any = None) -> None:
        """Put the saved training state back into fresh objects, so that training continues
        exactly (bit for bit) as the saved run would have.

        Parameters
        ----------
        optimizer : Optimizer, optional
            Of the saved type, built on ``self.model.parameters()``: gets the saved options
            (learning rates) and state (moments, momentum buffers, step counts).
        trainer : Trainer, optional
            Gets the epochs done, the shuffling generator and the history; the global generator
            of :mod:`chainrule.backend` (initialisers, Dropout) and the generators held by
            ``trainer.model``'s modules continue from where they were at the save.
        callbacks : list of Callback, optional
            The callbacks to pass to ``fit``: each one with a state (``state_dict()`` is not
            None: ``LearningRateScheduler``, ``EarlyStopping``, ``ModelCheckpoint``, …) gets the
            state of the one in the same place among the saved trainer's; the kinds must match.

        Raises
        ------
        ValueError
            If the file lacks a part asked for, or it belongs to other objects (another
            optimizer type, other callbacks); checked before anything is changed.

        Examples
        --------
        >>> checkpoint = chainrule.io.load("run.safetensors")
        >>> optimizer = optim.Adam(checkpoint.model.parameters())
        >>> scheduler = LearningRateScheduler(lr_scheduler.CosineAnnealingLR(optimizer, T_max=20))
        >>> trainer = Trainer(checkpoint.model, nn.CrossEntropyLoss(), optimizer)
        >>> checkpoint.restore(optimizer=optimizer, trainer=trainer, callbacks=[scheduler])
        >>> trainer.fit(x, y, epochs=10, callbacks=[scheduler])     # epochs 11 … 20
        """
        if optimizer is not None:
            if self.optimizer_state is None:
                raise ValueError(f"{self.path} holds no optimizer state; it was saved without optimizer=")
            if type(optimizer).__name__ != self.optimizer_type:
                raise ValueError(
                    f"{self.path} holds the state of a {self.optimizer_type} optimizer, "
                    f"not of a {type(optimizer).__name__}; build a {self.optimizer_type}"
                )
        if trainer is not None and self.trainer_state is None:
            raise ValueError(f"{self.path} holds no trainer state; it was saved without trainer=")
        pairs = self._callback_pairs(callbacks) if callbacks is not None else []
        generators = self._generator_owners(trainer.model) if trainer is not None else []
        for callback, state in pairs:  # first: each checks its state before it changes anything
            callback.load_state_dict(state)
        if optimizer is not None:
            optimizer.load_state_dict(self.optimizer_state)
        if trainer is not None:
            trainer.load_state_dict(self.trainer_state)
            if self.global_generator is not None:
                backend.set_rng_state(self.global_generator)
            for module, attribute, state in generators:
                rng = getattr(module, attribute)
                if not isinstance(rng, numpy.random.Generator):
                    rng = numpy.random.default_rng()
                    setattr(module, attribute, rng)
                backend.set_generator_state(rng, state)

    def _generator_owners(self, model: Module) -> list[tuple[Module, str, dict]]:
        """(module, attribute, state) for each saved module generator, checked against ``model``:
        the module exists and its attribute holds a generator or ``None`` (Dropout's default)."""
        modules = dict(model.named_modules())
        owners = []
        for name, state in self.module_generators.items():
            owner, _, attribute = name.rpartition(".")
            module = modules.get(owner)
            if (
                module is None
                or attribute.startswith("_")
                or not (
                    hasattr(module, attribute)
                    and (
                        getattr(module, attribute) is None
                        or isinstance(getattr(module, attribute), numpy.random.Generator)
                    )
                )
            ):
                raise ValueError(
                    f"{self.path} holds a generator for {name!r}, which is no generator of trainer.model's modules"
                )
            owners.append((module, attribute, state))
        return owners

    def _callback_pairs(self, callbacks: Any) -> list[tuple[Any, dict]]:
        """Each stateful callback of ``callbacks`` with its saved state, checked to correspond."""
        stateful = [c for c in callbacks if c.state_dict() is not None]
        saved = [entry["type"] for entry in self.callback_states]
        given = [type(c).__name__ for c in stateful]
        if saved != given:
            raise ValueError(
                f"{self.path} holds the states of the callbacks {saved}, but callbacks= has {given} with a state; "
                "pass the same kinds of callbacks, in the same order, as the saved run had"
            )
        return [(c, entry["state"]) for c, entry in zip(stateful, self.callback_states)]

    def save(self, path: str | os.PathLike) -> Path:
        """Write everything read (model, metadata, optimizer and training state) to ``path`` in
        the current format: ``chainrule.io.load(old).save(old)`` rewrites a version-1 file sealed whole."""
        tensors = {name: host_array(a) for name, a in self.model.state_dict().items()}
        trainer_state = None
        if self.trainer_state is not None:
            trainer_state = {**self.trainer_state, "callbacks": self.callback_states,
                             "module_generators": self.module_generators}  # fmt: skip
            if self.global_generator is not None:
                trainer_state["global_generator"] = self.global_generator
        return _write(path, self.architecture, tensors, self.preprocessing, self.config, self.metrics,
                      self.optimizer_type, self.optimizer_state, trainer_state)  # fmt: skip


def load(path: str | os.PathLike, *, allowed_classes: Any = ()) -> Checkpoint:
    """Read a checkpoint written by :func:`save`, checking everything; runs no code from the file.

    Parameters
    ----------
    path : path
        The ``.safetensors`` file.
    allowed_classes : iterable of Module subclasses or dotted paths, optional
        User classes the file may name (``[TwoTower]`` or ``["mypackage.models.TwoTower"]``):
        any other is refused, and only a module named by an allowed path is imported.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a safetensors file (corrupt, truncated, random bytes), its bytes do
        not match its digest, it is a safetensors file that chainrule did not write, a metadata
        field is malformed (the error names it), its tensors do not fit its architecture, or it
        names a user class that is not allowed.
    """
    with open_tensors(path) as file:
        path = file.path
        legacy = _check_format(path, file.metadata, file.sealed)
        values = {}
        for name in fields.FIELDS:
            if name in file.metadata:
                values[name] = _field(path, name, file.metadata[name])
        if "architecture" not in values:
            raise ValueError(f"{path} is corrupt: it has no architecture metadata")
        try:
            declared, opaque = declared_state(values["architecture"], allowed_classes)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
        _check_declared(path, file.table, declared, opaque, values["architecture"].get("dtype", "float32"))
        tensors = {name: file.read(name) for name in file.table}
    if legacy and file.metadata.get("checksum") != checksum(tensors):
        raise ValueError(f"{path} is corrupt: its tensors do not match the checksum stored when it was saved")
    model = model_from_spec(values["architecture"], allowed_classes)
    _load_weights(path, model, tensors)
    optimizer = values.get("optimizer")
    trainer = values.get("trainer")
    _check_extra_tensors(path, tensors, model, optimizer, trainer)
    if "preprocessing" in values:
        _check_preprocessing(path, values["preprocessing"])
    checkpoint = Checkpoint(
        model=model,
        architecture=values["architecture"],
        config=values.get("config", {}),
        metrics=values.get("metrics", {}),
        version=file.metadata.get("chainrule_version", "unknown"),
        preprocessing=values.get("preprocessing"),
        optimizer_type=optimizer["type"] if optimizer else None,
        optimizer_state=_optimizer_state(optimizer, tensors) if optimizer else None,
        path=path,
    )
    if trainer is not None:
        used: set[str] = set()
        checkpoint.trainer_state = {key: trainer[key] for key in fields.TRAINER_KEYS}
        try:
            checkpoint.callback_states = [
                {"type": c["type"], "state": _decode(c["state"], f"{CALLBACK_PREFIX}{k}.", tensors, used)}
                for k, c in enumerate(trainer.get("callbacks", []))
            ]
        except ValueError as error:
            raise ValueError(f"{path}: {error}; the file is damaged or was not written by chainrule") from None
        unused = sorted(n for n in tensors if n.startswith(CALLBACK_PREFIX) and n not in used)
        if unused:
            raise ValueError(f"{path}: tensors {unused[:5]} belong to no callback state; the file is damaged")
        checkpoint.global_generator = trainer.get("global_generator")
        checkpoint.module_generators = trainer.get("module_generators", {})
    return checkpoint


def _check_format(path: Path, metadata: dict[str, str], sealed: bool) -> bool:
    """Check the format keys; True for a version-1 file (loaded with a warning)."""
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{path} is a safetensors file but not a chainrule model (no 'format': 'chainrule' in its "
            "metadata); give a file written by chainrule train --save or chainrule.io.save"
        )
    version = metadata.get("format_version")
    if version not in (FORMAT_VERSION, LEGACY_VERSION):
        raise ValueError(
            f"{path} has checkpoint format version {fields.shorten(version)}; this chainrule reads versions "
            f"{LEGACY_VERSION} and {FORMAT_VERSION}; upgrade chainrule"
        )
    legacy = version == LEGACY_VERSION
    allowed = _FIXED_KEYS | set(fields.FIELDS) | ({"checksum"} if legacy else {"digest"})
    unknown = sorted(set(metadata) - allowed)
    if unknown:
        raise ValueError(f"{path} is corrupt: unknown metadata {fields.shorten(unknown)}")
    if len(metadata.get("chainrule_version", "")) > 64:
        raise ValueError(f"{path} is corrupt: its chainrule_version is not a version")
    if legacy:
        warnings.warn(
            f"{path} is a version-1 checkpoint: its checksum covers the tensors only, so damage to its metadata "
            "would go unnoticed; rewrite it sealed whole with chainrule.io.load(path).save(path)",
            LegacyCheckpointWarning,
            stacklevel=3,
        )
    elif not sealed:
        raise ValueError(f"{path} is corrupt: a version-{FORMAT_VERSION} checkpoint must carry its digest")
    return legacy


def _field(path: Path, name: str, text: str) -> Any:
    try:
        return fields.decode(name, text)
    except ValueError as error:
        raise ValueError(f"{path}: {error}; the file is damaged or was not written by chainrule") from None


def checksum(tensors: dict[str, numpy.ndarray]) -> str:
    """``sha256:<hex>`` over every tensor's name, dtype, shape and bytes, in name order: the
    checksum of format version 1, checked when such a file is loaded."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        array = numpy.ascontiguousarray(tensors[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape};".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def _check_declared(path: Path, table: dict, declared: dict, opaque: list[str], dtype: str) -> None:
    """Compare the weight tensors the architecture declares with the file's table (names, shapes,
    dtypes) before any tensor is read or any layer built."""
    weights = {name for name in table if not name.startswith((OPTIMIZER_PREFIX, CALLBACK_PREFIX))}
    in_user_class = {name for name in weights if any(name.startswith(p) for p in opaque)}
    missing = sorted(set(declared) - weights)
    unexpected = sorted(weights - set(declared) - in_user_class)
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit its own architecture: missing tensors {fields.shorten(missing, 200)}, unexpected "
            f"tensors {fields.shorten(unexpected, 200)}; the file is damaged or was not written by chainrule"
        )
    for name, entry in declared.items():
        shape, kind = table[name]
        need = entry.dtype or dtype
        if shape != entry.shape or kind != need:
            raise ValueError(
                f"{path}: tensor {name!r} is {kind}{list(shape)} but the architecture needs "
                f"{need}{list(entry.shape)}; the file is damaged or was not written by chainrule"
            )


def _load_weights(path: Path, model: Module, tensors: dict[str, numpy.ndarray]) -> None:
    """Check names, shapes and dtypes of the weight tensors against the built ``model`` (what the
    declared state could not cover: user classes) and copy them in."""
    expected = model.state_dict()
    weights = {
        name: array for name, array in tensors.items() if not name.startswith((OPTIMIZER_PREFIX, CALLBACK_PREFIX))
    }
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


def _check_extra_tensors(path: Path, tensors: dict, model: Module, optimizer: Any, trainer: Any) -> None:
    """Optimizer tensors belong to an optimizer entry and name a parameter of the model, with its
    shape and a float dtype; callback tensors belong to a trainer entry."""
    parameters = list(model.parameters())
    count = sum(len(group["params"]) for group in optimizer["param_groups"]) if optimizer else 0
    if count > len(parameters):
        raise ValueError(f"{path}: the optimizer state is for {count} parameters, the model has {len(parameters)}")
    for name, array in tensors.items():
        if name.startswith(CALLBACK_PREFIX) and trainer is None:
            raise ValueError(f"{path}: tensor {name!r} belongs to a trainer state the file does not have")
        if not name.startswith(OPTIMIZER_PREFIX):
            continue
        index, _, key = name[len(OPTIMIZER_PREFIX) :].partition(".")
        if optimizer is None or not index.isdigit() or int(index) >= count or not key.isidentifier():
            raise ValueError(f"{path}: optimizer tensor {name!r} names no parameter of the optimizer")
        # an optimizer of all the parameters numbers them as the model does; one of a subset is
        # checked against its own parameters by Optimizer.load_state_dict
        shape = parameters[int(index)].shape if count == len(parameters) else array.shape
        if array.shape != shape or not backend.is_floating(array.dtype):
            raise ValueError(
                f"{path}: optimizer tensor {name!r} is {array.dtype}{list(array.shape)}, its parameter {list(shape)}"
            )


def _check_preprocessing(path: Path, state: dict) -> None:
    """Build the preprocessor once, so that a saved dict it cannot use is an error naming the field now."""
    from chainrule.data import Preprocessor

    try:
        Preprocessor.from_dict(state)
    except Exception as error:  # DataError, or anything from_dict meets in a malformed dict
        raise ValueError(f"{path}: 'preprocessing' metadata cannot be used: {error}") from None


def _optimizer_state(entry: dict, tensors: dict) -> dict[str, Any]:
    """Rebuild ``Optimizer.state_dict()`` form from the checked JSON entry and the prefixed tensors."""
    state: dict[int, dict[str, Any]] = {int(index): dict(values) for index, values in entry["scalars"].items()}
    for name, array in tensors.items():
        if name.startswith(OPTIMIZER_PREFIX):
            index, _, key = name[len(OPTIMIZER_PREFIX) :].partition(".")
            state.setdefault(int(index), {})[key] = array
    return {"state": state, "param_groups": entry["param_groups"]}
