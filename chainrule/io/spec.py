"""Architecture specs: a network as plain JSON data, and back.

A spec names each layer's type and its constructor arguments, nothing else, so that loading a
model builds it from a fixed table of known layers (no code in the file is ever run)::

    {"type": "Sequential", "dtype": "float32", "layers": [
        {"type": "Linear", "in_features": 2, "out_features": 16, "bias": true},
        {"type": "ReLU"},
        {"type": "Linear", "in_features": 16, "out_features": 1, "bias": true}]}
"""

from __future__ import annotations

from typing import Any

from chainrule import backend, nn
from chainrule.nn import registry

_REAL = (int, float)
LAYERS: dict[str, tuple[type, dict[str, tuple]]] = {
    "Linear": (nn.Linear, {"in_features": (int,), "out_features": (int,), "bias": (bool,)}),
    **{module.__name__: (module, module.arguments) for module in registry.activation_modules()},
    "Softmax": (nn.Softmax, {"dim": (int,)}),
    "Dropout": (nn.Dropout, {"p": _REAL}),
    "BatchNorm1d": (
        nn.BatchNorm1d,
        {"num_features": (int,), "eps": _REAL, "momentum": (*_REAL, type(None)), "affine": (bool,)},
    ),
}
"""Layer type → (class, {argument: allowed JSON types}): every layer a spec may name."""


def model_to_spec(model: nn.Module) -> dict[str, Any]:
    """The spec of a ``Sequential`` of known layers (nested ``Sequential`` allowed).

    Raises
    ------
    TypeError
        For a module type outside :data:`LAYERS` (a custom module cannot be described as data).
    """
    parameters = list(model.parameters())
    dtype = str(parameters[0].dtype) if parameters else str(backend.default_dtype)
    return {**_layer_spec(model), "dtype": dtype}


def _layer_spec(module: nn.Module) -> dict[str, Any]:
    name = type(module).__name__
    if isinstance(module, nn.Sequential):
        return {"type": "Sequential", "layers": [_layer_spec(child) for child in module]}
    if name not in LAYERS or type(module) is not LAYERS[name][0]:
        raise TypeError(
            f"cannot save a {name} layer: checkpoints describe models made of "
            f"{', '.join(LAYERS)} in a Sequential; build the model from those layers"
        )
    spec: dict[str, Any] = {"type": name}
    for argument in LAYERS[name][1]:
        value = getattr(module, argument)
        spec[argument] = value is not None if (name, argument) == ("Linear", "bias") else value
    return spec


def model_from_spec(spec: Any) -> nn.Sequential:
    """Build the model a spec describes, with freshly initialised weights (load them afterwards).

    The global random generator is left as it was, so loading a model does not change the
    weights that a later ``nn.Linear`` draws.

    Raises
    ------
    ValueError
        For anything that is not a valid spec (unknown layer type or argument, wrong value type).
    """
    if not isinstance(spec, dict) or spec.get("type") != "Sequential":
        raise ValueError("architecture: the top level must be {'type': 'Sequential', 'layers': [...]}")
    dtype = backend.resolve_dtype(spec.get("dtype", "float32"))
    if not backend.is_floating(dtype):
        raise ValueError(f"architecture: dtype must be a float dtype, got {spec['dtype']!r}")
    state = backend.generator().bit_generator.state
    try:
        model = _build(spec, "model")
    finally:
        backend.generator().bit_generator.state = state
    return model.to(dtype)


def _build(spec: Any, where: str) -> nn.Module:
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"architecture: {where} must be an object with a 'type', got {spec!r}")
    kind = spec["type"]
    arguments = {key: value for key, value in spec.items() if key not in ("type", "dtype")}
    if kind == "Sequential":
        layers = arguments.pop("layers", None)
        if not isinstance(layers, list) or arguments:
            raise ValueError(f"architecture: {where} (Sequential) needs exactly a list of 'layers'")
        return nn.Sequential(*[_build(layer, f"{where}[{i}]") for i, layer in enumerate(layers)])
    if kind not in LAYERS:
        known = ", ".join(["Sequential", *LAYERS])
        raise ValueError(f"architecture: {where} has unknown layer type {kind!r}; known: {known}")
    cls, allowed = LAYERS[kind]
    for key, value in arguments.items():
        if key not in allowed:
            raise ValueError(f"architecture: {where} ({kind}) has unknown argument {key!r}; allowed: {list(allowed)}")
        if (isinstance(value, bool) and bool not in allowed[key]) or not isinstance(value, allowed[key]):
            raise ValueError(f"architecture: {where} ({kind}) argument {key!r} has the wrong type: {value!r}")
    try:
        return cls(**arguments)
    except (TypeError, ValueError) as error:
        raise ValueError(f"architecture: {where} ({kind}) cannot be built: {error}") from None
