"""Architecture specs: a network as plain JSON data, and back.

A spec names each layer's type and its constructor arguments, nothing else, so that loading a
model builds it from a fixed table of known layers (no code in the file is ever run)::

    {"type": "Sequential", "dtype": "float32", "layers": [
        {"type": "Linear", "in_features": 2, "out_features": 16, "bias": true},
        {"type": "ReLU"},
        {"type": "Linear", "in_features": 16, "out_features": 1, "bias": true}]}

A user's own ``Module`` subclass is described by its import path and, if it defines
``get_config()``, the constructor arguments that method returns (Keras's convention)::

    {"type": "Module", "module": "mypackage.models", "name": "TwoTower", "config": {"width": 64}}

It is rebuilt only if the caller of :func:`model_from_spec` allows that class
(``allowed_classes=[TwoTower]`` or ``["mypackage.models.TwoTower"]``): nothing else is imported.

Before anything is built, :func:`declared_state` gives the name, shape and dtype of every array
the spec's known layers will hold, so that a loader can compare them with the file's tensors
and refuse a spec that asks for more memory than its file carries.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from chainrule import backend, nn
from chainrule.io.metadata import shorten
from chainrule.nn import registry

_REAL = (int, float)
LAYERS: dict[str, tuple[type, dict[str, tuple]]] = {
    "Linear": (nn.Linear, {"in_features": (int,), "out_features": (int,), "bias": (bool,)}),
    **{module.__name__: (module, module.arguments) for module in registry.activation_modules()},
    "Softmax": (nn.Softmax, {"dim": (int,)}),
    "Dropout": (nn.Dropout, {"p": _REAL}),
    "Flatten": (nn.Flatten, {"start_dim": (int,), "end_dim": (int,)}),
    "BatchNorm1d": (
        nn.BatchNorm1d,
        {"num_features": (int,), "eps": _REAL, "momentum": (*_REAL, type(None)), "affine": (bool,)},
    ),
}
"""Layer type → (class, {argument: allowed JSON types}): every layer a spec may name."""

MAX_DEPTH = 24
"""The deepest nesting of containers a spec may describe (``Sequential`` in ``Sequential`` …)."""

MAX_MODULES = 10_000
"""The most modules one spec may describe."""


class Entry(NamedTuple):
    """One array a layer holds: its shape, dtype (``None``: the model's float dtype) and whether it
    is a parameter (trained, given to optimizers) or a buffer."""

    shape: tuple[int, ...]
    dtype: str | None
    parameter: bool


def _linear_state(a: dict[str, Any]) -> dict[str, Entry]:
    out, bias = (a["out_features"],), {"bias": Entry((a["out_features"],), None, True)} if a["bias"] else {}
    return {"weight": Entry((*out, a["in_features"]), None, True), **bias}


def _batchnorm_state(a: dict[str, Any]) -> dict[str, Entry]:
    features = (a["num_features"],)
    affine = {"weight": Entry(features, None, True), "bias": Entry(features, None, True)} if a["affine"] else {}
    buffers = {"running_mean": Entry(features, None, False), "running_var": Entry(features, None, False)}
    return {**affine, **buffers, "num_batches_tracked": Entry((), "int64", False)}


STATE: dict[str, Callable[[dict[str, Any]], dict[str, Entry]]] = {
    "Linear": _linear_state,
    "BatchNorm1d": _batchnorm_state,
}
"""Layer type → the arrays it holds, from its constructor arguments (defaults filled in), in its
``state_dict`` order.  A type of :data:`LAYERS` not named here holds none (activations, Dropout)."""


def model_to_spec(model: nn.Module) -> dict[str, Any]:
    """The spec of a model: a ``Sequential``, a known layer or an importable ``Module`` subclass
    (any nesting of them), with its dtype.

    Raises
    ------
    TypeError
        For a module that cannot be described as data: a class defined in ``__main__`` or inside a
        function (it could not be imported to load it), one whose constructor needs arguments but
        that has no ``get_config()``, or a ``get_config()`` that is not a dict.
    ValueError
        For a model nested deeper than :data:`MAX_DEPTH` or with more than :data:`MAX_MODULES` modules.
    """
    parameters = list(model.parameters())
    dtype = str(parameters[0].dtype) if parameters else str(backend.default_dtype)
    count = [0]
    return {**_layer_spec(model, 0, count), "dtype": dtype}


def _layer_spec(module: nn.Module, depth: int, count: list[int]) -> dict[str, Any]:
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_MODULES:
        raise ValueError(
            f"cannot save a model nested more than {MAX_DEPTH} deep or with more than {MAX_MODULES} modules; "
            "flatten the nested Sequentials"
        )
    name = type(module).__name__
    if type(module) is nn.Sequential:
        names = list(module._modules)
        spec: dict[str, Any] = {"type": "Sequential", "layers": [_layer_spec(c, depth + 1, count) for c in module]}
        if names != [str(i) for i in range(len(names))]:
            spec["names"] = names
        return spec
    if name in LAYERS and type(module) is LAYERS[name][0]:
        spec = {"type": name}
        for argument in LAYERS[name][1]:
            value = getattr(module, argument)
            spec[argument] = value is not None if (name, argument) == ("Linear", "bias") else value
        return spec
    return _class_spec(module)


def _class_spec(module: nn.Module) -> dict[str, Any]:
    """The spec of a user's ``Module`` subclass: import path and ``get_config()``."""
    cls = type(module)
    where = f"{cls.__module__}.{cls.__qualname__}"
    if (
        cls.__module__ == "__main__"
        or "<locals>" in cls.__qualname__
        or _resolve(cls.__module__, cls.__qualname__) is not cls
    ):
        raise TypeError(
            f"cannot save a {cls.__name__} ({where}): only layers of {', '.join(LAYERS)}, Sequential, and Module "
            "subclasses importable by their module and name can be saved; define the class at the top level of "
            "a module (a .py file, not the script run as __main__), or save the weights alone with "
            "chainrule.io.save_state_dict"
        )
    get_config = getattr(module, "get_config", None)
    if get_config is None:
        required = [
            p.name
            for p in inspect.signature(cls).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if required:
            raise TypeError(
                f"cannot save a {cls.__name__}: its constructor needs {', '.join(required)}; define "
                f"{cls.__name__}.get_config() returning them as a dict (e.g. {{{required[0]!r}: self.{required[0]}}})"
            )
        config: Any = {}
    else:
        config = get_config()
        if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
            raise TypeError(f"{cls.__name__}.get_config() must return a dict with string keys, got {config!r}")
    return {"type": "Module", "module": cls.__module__, "name": cls.__qualname__, "config": config}


def _resolve(module_name: str, qualname: str) -> Any:
    """The object ``qualname`` in the already imported module ``module_name``, or None."""
    found: Any = sys.modules.get(module_name)
    for part in qualname.split("."):
        found = getattr(found, part, None)
    return found


def allowed_class_table(allowed_classes: Iterable[Any]) -> dict[str, type | None]:
    """``"module.QualName"`` → the class (``None`` for a path given as a string, imported only when
    a spec names it) for each entry of ``allowed_classes``: ``Module`` subclasses or dotted paths."""
    table: dict[str, type | None] = {}
    for entry in allowed_classes:
        if isinstance(entry, str):
            table.setdefault(entry, None)
        elif isinstance(entry, type) and issubclass(entry, nn.Module):
            table[f"{entry.__module__}.{entry.__qualname__}"] = entry
        else:
            raise TypeError(
                f"allowed_classes holds Module subclasses or their dotted paths ('package.module.Class'), got {entry!r}"
            )
    return table


def declared_state(spec: Any, allowed_classes: Iterable[Any] = ()) -> tuple[dict[str, Entry], list[str]]:
    """The arrays a spec's model will hold, before it is built: ``(entries, opaque)``.

    ``entries`` maps each ``state_dict`` name of the known layers to its :class:`Entry`; ``opaque``
    lists the name prefixes of user classes (``"2."``, or ``""`` for the whole model), whose arrays
    are known only once they are built.  The spec is checked completely (as :func:`model_from_spec`
    does, without building anything).

    Raises
    ------
    ValueError
        For anything that is not a valid spec, naming where in it the problem is.
    """
    _check_top(spec)
    entries: dict[str, Entry] = {}
    opaque: list[str] = []
    _walk(spec, "model", "", 0, [0], allowed_class_table(allowed_classes), entries, opaque)
    return entries, opaque


def model_from_spec(spec: Any, allowed_classes: Iterable[Any] = ()) -> nn.Module:
    """Build the model a spec describes, with freshly initialised weights (load them afterwards).

    Known layers come from :data:`LAYERS`; a user class is rebuilt (``cls.from_config(config)`` if
    it has that class method, else ``cls(**config)``) only if it is in ``allowed_classes``
    (classes, or dotted paths whose module is then imported).  The global random generator is
    left as it was, so loading a model does not change the weights a later ``nn.Linear`` draws.

    Raises
    ------
    ValueError
        For anything that is not a valid spec (unknown layer type or argument, wrong value type,
        too deep), or a user class that is not allowed.
    """
    table = allowed_class_table(allowed_classes)
    _check_top(spec)
    _walk(spec, "model", "", 0, [0], table, {}, [])
    state = backend.generator().bit_generator.state
    try:
        model = _build(spec, "model", table)
    finally:
        backend.generator().bit_generator.state = state
    return model.to(spec.get("dtype", "float32"))


def _check_top(spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ValueError(f"architecture: the top level must be an object with a 'type', got {type(spec).__name__}")
    dtype = spec.get("dtype", "float32")
    if dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"architecture: dtype must be 'float16', 'float32' or 'float64', got {dtype!r}")


def _arguments(spec: dict[str, Any], where: str, kind: str) -> dict[str, Any]:
    """The constructor arguments of known layer ``kind``, checked against :data:`LAYERS`."""
    allowed = LAYERS[kind][1]
    arguments = {key: value for key, value in spec.items() if key not in ("type", "dtype")}
    for key, value in arguments.items():
        if key not in allowed:
            raise ValueError(f"architecture: {where} ({kind}) has unknown argument {key!r}; allowed: {list(allowed)}")
        if (isinstance(value, bool) and bool not in allowed[key]) or not isinstance(value, allowed[key]):
            raise ValueError(f"architecture: {where} ({kind}) argument {key!r} has the wrong type: {value!r}")
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            raise ValueError(f"architecture: {where} ({kind}) argument {key!r} is out of range: {value!r}")
    return arguments


def _walk(
    spec: Any,
    where: str,
    prefix: str,
    depth: int,
    count: list[int],
    table: dict[str, type | None],
    entries: dict[str, Entry],
    opaque: list[str],
) -> None:
    """Check ``spec`` (at ``where``) without building it; add its arrays to ``entries`` under
    ``prefix`` (or the prefix to ``opaque`` for a user class).  Recursive only into nested
    containers, which :data:`MAX_DEPTH` bounds (far below Python's recursion limit)."""
    count[0] += 1
    if depth > MAX_DEPTH:
        raise ValueError(f"architecture: {where} is nested more than {MAX_DEPTH} deep; the file is damaged or hostile")
    if count[0] > MAX_MODULES:
        raise ValueError(f"architecture: more than {MAX_MODULES} modules; the file is damaged or hostile")
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"architecture: {where} must be an object with a 'type', got {shorten(spec)}")
    kind = spec["type"]
    if kind == "Sequential":
        layers, names = spec.get("layers"), spec.get("names")
        if not isinstance(layers, list) or set(spec) - {"type", "dtype", "layers", "names"}:
            raise ValueError(f"architecture: {where} (Sequential) needs exactly a list of 'layers' (and 'names')")
        if names is None:
            names = [str(i) for i in range(len(layers))]
        if (
            not isinstance(names, list)
            or len(names) != len(layers)
            or len(set(names)) != len(names)
            or not all(isinstance(n, str) and n and "." not in n for n in names)
        ):
            raise ValueError(f"architecture: {where} (Sequential) 'names' must be distinct names, one per layer")
        for name, layer in zip(names, layers):
            _walk(layer, f"{where}[{name}]", f"{prefix}{name}.", depth + 1, count, table, entries, opaque)
        return
    if kind == "Module":
        _user_class(spec, where, table, resolve=False)
        opaque.append(prefix)
        return
    if kind not in LAYERS:
        known = ", ".join(["Sequential", *LAYERS])
        raise ValueError(f"architecture: {where} has unknown layer type {shorten(kind)}; known: {known}")
    arguments = _arguments(spec, where, kind)
    if kind in STATE:
        bound = inspect.signature(LAYERS[kind][0]).bind_partial(**arguments)
        bound.apply_defaults()
        for name, entry in STATE[kind](bound.arguments).items():
            entries[prefix + name] = entry


def _user_class(spec: dict[str, Any], where: str, table: dict[str, type | None], resolve: bool) -> Any:
    """Check a user-class spec against ``table``; with ``resolve``, the class (imported if named by path)."""
    module_name, name, config = spec.get("module"), spec.get("name"), spec.get("config", {})
    if set(spec) - {"type", "dtype", "module", "name", "config"} or not all(
        isinstance(v, str) and v and len(v) <= 200 for v in (module_name, name)
    ):
        raise ValueError(f"architecture: {where} (Module) needs exactly 'module', 'name' (strings) and 'config'")
    if not isinstance(config, dict):
        raise ValueError(f"architecture: {where} (Module) 'config' must be an object, got {shorten(config)}")
    path = f"{module_name}.{name}"
    if path not in table:
        raise ValueError(
            f"architecture: {where} is the user class {path!r}, which this load does not allow; if you trust "
            f"the file, pass allowed_classes=[{name.rsplit('.', 1)[-1]}] (or {path!r}) to load it"
        )
    if not resolve:
        return None
    cls = table[path]
    if cls is None:
        try:
            importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"architecture: {where}: cannot import {module_name!r} for {path!r}: {error}") from None
        cls = _resolve(module_name, name)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ValueError(f"architecture: {where}: {path!r} is not a chainrule Module subclass")
    return cls


def _build(spec: dict[str, Any], where: str, table: dict[str, type | None]) -> nn.Module:
    """Build a spec already checked by :func:`_walk`."""
    kind = spec["type"]
    if kind == "Sequential":
        names = spec.get("names") or [str(i) for i in range(len(spec["layers"]))]
        layers = {n: _build(layer, f"{where}[{n}]", table) for n, layer in zip(names, spec["layers"])}
        model = nn.Sequential()
        for name, layer in layers.items():
            setattr(model, name, layer)
        return model
    if kind == "Module":
        cls = _user_class(spec, where, table, resolve=True)
        config = spec.get("config", {})
        build = getattr(cls, "from_config", None)
        try:
            return build(config) if callable(build) else cls(**config)
        except Exception as error:  # the user's constructor: any error means the config does not fit it
            raise ValueError(
                f"architecture: {where} ({spec['name']}) cannot be built from its config: {error}"
            ) from None
    cls = LAYERS[kind][0]
    try:
        return cls(**_arguments(spec, where, kind))
    except (TypeError, ValueError) as error:
        raise ValueError(f"architecture: {where} ({kind}) cannot be built: {error}") from None
