"""A checkpoint's JSON metadata: written and read within fixed bounds, every field checked.

Each field (``architecture``, ``config``, ``metrics``, ``optimizer``, ``trainer``,
``preprocessing``) is a JSON object in one metadata string.  Reading one first checks its size
(:data:`FIELD_BYTES`), its number of items (:data:`MAX_ITEMS`, counted from its separators before
parsing, so a huge flat list is refused without building it) and its nesting (:data:`MAX_DEPTH`),
then its shape: what :func:`check` expects of that field.  Every error is a ``ValueError`` that
names the field, so a damaged or hostile file never surfaces as an ``AttributeError`` later, and
``save`` runs the same checks, so every file it writes loads.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from chainrule import backend

FIELD_BYTES = {
    "architecture": 1 << 20,
    "config": 1 << 20,
    "metrics": 1 << 20,
    "optimizer": 1 << 22,
    "trainer": 1 << 23,
    "preprocessing": 1 << 23,
}
"""The largest JSON text of each field, in bytes."""

MAX_ITEMS = 200_000
"""The most items (values in arrays, entries in objects) one field may hold: room for the history
of 20,000 epochs or 100,000 categories, while parsing the largest field allowed takes at most
about 30 MB (Python objects cost 20–140 bytes per item, more than their JSON text)."""

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects in a field."""

FIELDS = tuple(FIELD_BYTES)


def encode(field: str, value: Any) -> str:
    """``value`` checked (:func:`check`) and written as compact JSON for the metadata ``field``.

    Raises
    ------
    TypeError
        If ``value`` holds something JSON cannot represent (an array, an object), naming the field.
    ValueError
        If it breaks the field's bounds or shape.
    """
    try:
        text = json.dumps(value, allow_nan=True, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{field!r} metadata must be plain JSON data (dicts, lists, numbers, strings): {error}"
        ) from None
    decode(field, text)  # the same bounds and checks as a load, so every saved file loads
    return text


def decode(field: str, text: str) -> Any:
    """The value of metadata ``field`` from its JSON ``text``, within bounds and checked.

    Raises
    ------
    ValueError
        Naming the field: too large, too many items, nested too deeply, not JSON, or not the
        shape the field must have.
    """
    limit = FIELD_BYTES[field]
    if len(text) > limit:
        raise ValueError(f"{field!r} metadata is {len(text):,} characters, more than the {limit:,} allowed")
    if not text.lstrip().startswith("{"):
        raise ValueError(f"{field!r} metadata must be a JSON object, got {shorten(text)}")
    items = text.count(",") + text.count(":")
    if items > MAX_ITEMS:
        raise ValueError(f"{field!r} metadata has about {items:,} items, more than the {MAX_ITEMS:,} allowed")
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{field!r} metadata is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError as error:
        raise ValueError(f"{field!r} metadata is not valid JSON ({error})") from None
    if depth(value) > MAX_DEPTH:
        raise ValueError(f"{field!r} metadata is nested too deeply (more than {MAX_DEPTH} levels)")
    CHECKS[field](value)
    return value


def depth(value: Any) -> int:
    """How deeply arrays and objects nest in ``value`` (0 for a number or string), without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def is_number(value: Any) -> bool:
    """An int or float (not a bool): what JSON calls a number."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _object(field: str, value: Any, what: str = "") -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{field!r} metadata{what} must be an object, got {shorten(value)}")
    return value


def _numbers(field: str, value: Any, what: str, integer: bool = False, allow_none: bool = False) -> list:
    kinds = "integers" if integer else "numbers"
    if not isinstance(value, list) or not all(
        (allow_none and v is None) or (isinstance(v, int) and not isinstance(v, bool) if integer else is_number(v))
        for v in value
    ):
        raise ValueError(f"{field!r} metadata: {what} must be a list of {kinds}, got {shorten(value)}")
    return value


def _strings(field: str, value: Any, what: str) -> list:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{field!r} metadata: {what} must be a list of strings, got {shorten(value)}")
    return value


def check_config(value: Any) -> None:
    """``config``: an object (the training configuration, any JSON inside)."""
    _object("config", value)


def check_metrics(value: Any) -> None:
    """``metrics``: name → number (or null), or part → {name → number}, as ``{"test": {"rmse": …}}``."""
    for name, entry in _object("metrics", value).items():
        scores = entry if isinstance(entry, dict) else {name: entry}
        for key, score in scores.items():
            if not (score is None or is_number(score)):
                raise ValueError(f"'metrics' metadata: {name!r} must hold numbers, got {key!r}: {shorten(score)}")


def check_architecture(value: Any) -> None:
    """``architecture``: an object; its layers are checked by :func:`chainrule.io.spec.declared_state`."""
    _object("architecture", value)


def check_history(value: Any, where: str = "'trainer' metadata: history") -> None:
    """A ``History.state_dict()``: per-epoch lists of numbers, epoch numbers and seconds, one per epoch."""
    if not isinstance(value, dict) or set(value) != {"history", "epoch", "seconds"}:
        raise ValueError(f"{where} must be an object with 'history', 'epoch' and 'seconds'")
    epochs = len(_numbers("trainer", value["epoch"], "history epochs", integer=True))
    if len(_numbers("trainer", value["seconds"], "history seconds")) != epochs:
        raise ValueError(f"{where}: 'seconds' must have one entry per epoch ({epochs})")
    for name, values in _object("trainer", value["history"], ": history.history").items():
        if len(_numbers("trainer", values, f"history {name!r}", allow_none=True)) > epochs:
            raise ValueError(f"{where}: {name!r} has more entries than the {epochs} epochs")


TRAINER_KEYS = {"epoch", "generator", "history"}
"""What ``Trainer.state_dict()`` holds."""

RESUME_KEYS = {"callbacks", "global_generator", "module_generators"}
"""What :func:`chainrule.io.save` adds for resuming: callbacks' states, the global generator,
and generators that modules hold."""


def check_trainer(value: Any) -> None:
    """``trainer``: epochs done, the shuffling generator, the history; and for resuming the
    callbacks' states, the global generator and the modules' generators."""
    _object("trainer", value)
    keys = set(value)
    if not keys >= TRAINER_KEYS or keys - TRAINER_KEYS - RESUME_KEYS:
        raise ValueError(
            f"'trainer' metadata must have {sorted(TRAINER_KEYS)} (and may have {sorted(RESUME_KEYS)}), "
            f"got {sorted(keys)}"
        )
    epoch = value["epoch"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < 2**63:
        raise ValueError(f"'trainer' metadata: epoch must be an integer ≥ 0, got {shorten(epoch)}")
    backend.check_generator_state(value["generator"], "'trainer' metadata: generator")
    check_history(value["history"])
    if "global_generator" in value:
        backend.check_generator_state(value["global_generator"], "'trainer' metadata: global_generator")
    for name, state in _object("trainer", value.get("module_generators", {}), ": module_generators").items():
        backend.check_generator_state(state, f"'trainer' metadata: module_generators[{name!r}]")
    callbacks = value.get("callbacks", [])
    if not isinstance(callbacks, list) or not all(
        isinstance(c, dict)
        and set(c) == {"type", "state"}
        and isinstance(c["type"], str)
        and isinstance(c["state"], dict)
        for c in callbacks
    ):
        raise ValueError("'trainer' metadata: callbacks must be a list of {'type': name, 'state': object}")


OPTION_TYPES = (bool, int, float, str, type(None))


def check_optimizer(value: Any) -> None:
    """``optimizer``: its class name, parameter groups (options and parameter numbers 0 … n − 1,
    each once) and per-parameter scalar state (step counts)."""
    _object("optimizer", value)
    if set(value) != {"type", "param_groups", "scalars"}:
        raise ValueError(f"'optimizer' metadata must have 'type', 'param_groups' and 'scalars', got {sorted(value)}")
    if not isinstance(value["type"], str) or not value["type"].isidentifier():
        raise ValueError(f"'optimizer' metadata: type must be a class name, got {shorten(value['type'])}")
    groups = value["param_groups"]
    if not isinstance(groups, list) or not groups:
        raise ValueError("'optimizer' metadata: param_groups must be a non-empty list")
    numbers: list[int] = []
    for i, group in enumerate(groups):
        _object("optimizer", group, f": param_groups[{i}]")
        numbers += _numbers("optimizer", group.get("params"), f"param_groups[{i}].params", integer=True)
        for key, option in group.items():
            if key == "params":
                continue
            if not (
                isinstance(option, OPTION_TYPES) or (isinstance(option, list) and all(is_number(v) for v in option))
            ):
                raise ValueError(
                    f"'optimizer' metadata: param_groups[{i}].{key} is not an option value: {shorten(option)}"
                )
    if sorted(numbers) != list(range(len(numbers))):
        raise ValueError("'optimizer' metadata: the groups' params must number the parameters 0 … n − 1, each once")
    for index, entries in _object("optimizer", value["scalars"], ": scalars").items():
        if not index.isdigit() or int(index) >= len(numbers):
            raise ValueError(
                f"'optimizer' metadata: scalars names parameter {index!r}, not one of 0 … {len(numbers) - 1}"
            )
        for name, scalar in _object("optimizer", entries, f": scalars[{index}]").items():
            if not is_number(scalar) or (name == "step" and not (isinstance(scalar, int) and scalar >= 0)):
                raise ValueError(
                    f"'optimizer' metadata: scalars[{index}].{name} must be a number, got {shorten(scalar)}"
                )


def check_preprocessing(value: Any) -> None:
    """``preprocessing``: the shape of ``Preprocessor.to_dict()`` (names, statistics and categories
    as lists of matching lengths), checked before ``Preprocessor.from_dict`` sees it.  Keys not
    named here pass through, for the preprocessor to check."""
    _object("preprocessing", value)
    for key in ("format", "target", "task"):
        if not isinstance(value.get(key), str):
            raise ValueError(f"'preprocessing' metadata: {key} must be a string, got {shorten(value.get(key))}")
    _strings("preprocessing", value.get("features"), "features")
    numeric = _object("preprocessing", value.get("numeric"), ": numeric")
    names = _strings("preprocessing", numeric.get("names"), "numeric.names")
    for key in ("mean", "std"):
        if len(_numbers("preprocessing", numeric.get(key), f"numeric.{key}")) != len(names):
            raise ValueError(f"'preprocessing' metadata: numeric.{key} must have one entry per numeric column")
        if not all(math.isfinite(v) for v in numeric[key]):
            raise ValueError(f"'preprocessing' metadata: numeric.{key} must be finite numbers")
    categorical = _object("preprocessing", value.get("categorical"), ": categorical")
    names = _strings("preprocessing", categorical.get("names"), "categorical.names")
    categories = categorical.get("categories")
    if (
        not isinstance(categories, list)
        or len(categories) != len(names)
        or not all(isinstance(c, list) and all(isinstance(v, (str, int, float)) for v in c) for c in categories)
    ):
        raise ValueError("'preprocessing' metadata: categorical.categories must be one list of values per column")
    classes = value.get("classes")
    if classes is not None and not (
        isinstance(classes, list) and all(isinstance(c, (str, int, float)) for c in classes)
    ):
        raise ValueError(f"'preprocessing' metadata: classes must be a list of labels or null, got {shorten(classes)}")
    for key in ("target_mean", "target_std"):
        if not (value.get(key) is None or is_number(value.get(key))):
            raise ValueError(f"'preprocessing' metadata: {key} must be a number or null, got {shorten(value.get(key))}")


CHECKS: dict[str, Callable[[Any], None]] = {
    "architecture": check_architecture,
    "config": check_config,
    "metrics": check_metrics,
    "optimizer": check_optimizer,
    "trainer": check_trainer,
    "preprocessing": check_preprocessing,
}
"""Field → the check of its value."""


def shorten(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages (a hostile file's values can be huge)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
