"""The messages between the page and the server, and the checks every message from the page passes.

The page and the server talk over one WebSocket per tab, in JSON text frames.  Page → server,
each an object with a ``type``:

=================  =====================================================================
``data``           ``source`` ``playground`` (``name``, ``noise``, ``train_ratio``, ``samples``,
                   ``features``), ``dataset`` (``name``), ``example`` (``name``), ``upload``
                   (``target``, ``features``, ``train_ratio``) or ``model`` (the file served)
``network``        ``hidden`` (widths), ``activations`` (one per hidden layer), ``loss``
``training``       any of ``optimizer``, ``lr``, ``batch_size``, ``weight_decay``, ``speed``
                   (steps per second, 0 = as fast as the server goes)
``play`` ``pause`` ``step`` ``phase`` ``reset`` ``new_weights``
                   controls; ``phase`` takes the next of forward, backward, update
``seed``           ``value``: the weights' seed (then the weights are drawn again)
``select``         ``param``: the parameter whose derivation the page shows (or null)
``set_weight``     ``param``, ``value``: a weight or bias typed by hand
=================  =====================================================================

Server → page: ``hello`` (the session id, the names the library offers, the limits), ``state``
(everything the page draws: see :meth:`chainrule.web.session.Session.state`) and ``error``
(``message``: what was wrong and how to fix it; the session goes on).

Nothing from the page is ever evaluated: each field is checked against its type and range here
and names are looked up in fixed tables.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_MESSAGE_BYTES = 64 * 1024
"""The largest message the page may send (an upload goes over HTTP, not the socket)."""
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The largest CSV file the page may upload."""
MAX_HIDDEN_LAYERS = 8
MAX_UNITS = 64
MAX_SAMPLES = 2000
MAX_LR = 10.0
MAX_SEED = 2**32 - 1
MAX_WEIGHT = 1e6
MAX_SPEED = 100_000
LIMITS = {
    "message_bytes": MAX_MESSAGE_BYTES,
    "upload_bytes": MAX_UPLOAD_BYTES,
    "hidden_layers": MAX_HIDDEN_LAYERS,
    "units": MAX_UNITS,
    "samples": MAX_SAMPLES,
    "lr": MAX_LR,
    "seed": MAX_SEED,
    "weight": MAX_WEIGHT,
}
"""The limits, as sent to the page (which shows them beside the controls)."""

CONTROLS = ("play", "pause", "step", "phase", "reset", "new_weights")


class ProtocolError(ValueError):
    """A message from the page that cannot be carried out; the text is shown on the page."""


def parse(text: str | bytes) -> dict[str, Any]:
    """The message ``text`` as a checked dict (see the module docstring), or :class:`ProtocolError`."""
    if len(text) > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            f"the message is {len(text)} bytes, more than the {MAX_MESSAGE_BYTES} a message may have; "
            "upload data files with the Upload button"
        )
    try:
        message = json.loads(text)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError('the message is not JSON; the page sends JSON objects such as {"type": "step"}') from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('the message is not a JSON object with a "type"; e.g. {"type": "step"}')
    kind = message["type"]
    if kind in CONTROLS:
        return {"type": kind}
    check = _CHECKS.get(kind)
    if check is None:
        raise ProtocolError(f"unknown message type {kind!r}; the types are {sorted([*CONTROLS, *_CHECKS])}")
    return {"type": kind, **check(message)}


def _number(message: dict, key: str, low: float, high: float, *, integer: bool = False, what: str = "") -> Any:
    value = message.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"{what or key} must be a number from {low:g} to {high:g}; got {value!r}")
    if integer and value != int(value):
        raise ProtocolError(f"{what or key} must be a whole number; got {value!r}")
    if not low <= value <= high:
        raise ProtocolError(f"{what or key} must be from {low:g} to {high:g}; got {value:g}")
    return int(value) if integer else float(value)


def _name(message: dict, key: str, what: str = "", optional: bool = False) -> str | None:
    value = message.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= 200:
        raise ProtocolError(f"{what or key} must be a name (text of 1 to 200 characters); got {value!r}")
    return value


def _names(message: dict, key: str, what: str, optional: bool = False) -> list[str] | None:
    value = message.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, list) or not value or len(value) > 1000:
        raise ProtocolError(f"{what} must be a list of 1 to 1000 names; got {value!r}"[:300])
    return [_name({"v": item}, "v", what) for item in value]


def _data(message: dict) -> dict[str, Any]:
    source = message.get("source")
    if source == "playground":
        return {
            "source": source,
            "name": _name(message, "name", "the data set"),
            "noise": _number(message, "noise", 0, 0.5, what="noise"),
            "train_ratio": _number(message, "train_ratio", 0.1, 0.9, what="the share of training data"),
            "samples": _number(message, "samples", 10, MAX_SAMPLES, integer=True, what="the number of points"),
            "features": _names(message, "features", "the input features"),
        }
    if source in ("dataset", "example"):
        return {"source": source, "name": _name(message, "name", f"the {source}")}
    if source == "upload":
        return {
            "source": source,
            "target": _name(message, "target", "the target column"),
            "features": _names(message, "features", "the input columns", optional=True),
            "train_ratio": _number(message, "train_ratio", 0.1, 1.0, what="the share of training rows"),
        }
    if source == "model":
        return {"source": source}
    raise ProtocolError(f"data source must be playground, dataset, example, upload or model; got {source!r}")


def _network(message: dict) -> dict[str, Any]:
    hidden = message.get("hidden")
    if not isinstance(hidden, list):
        raise ProtocolError(f"hidden must be a list of layer widths such as [8, 8]; got {hidden!r}"[:300])
    if len(hidden) > MAX_HIDDEN_LAYERS:
        raise ProtocolError(
            f"{len(hidden)} hidden layers is more than the page draws ({MAX_HIDDEN_LAYERS}); remove some layers"
        )
    widths = [
        _number({"v": w}, "v", 1, MAX_UNITS, integer=True, what=f"the width of hidden layer {i + 1}")
        for i, w in enumerate(hidden)
    ]
    activations = _names(message, "activations", "the activations", optional=True) if widths else []
    if widths and (activations is None or len(activations) != len(widths)):
        raise ProtocolError("give one activation per hidden layer")
    return {"hidden": widths, "activations": activations, "loss": _name(message, "loss", "the loss")}


def _training(message: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "optimizer" in message:
        out["optimizer"] = _name(message, "optimizer", "the optimizer")
    if "lr" in message:
        lr = _number(message, "lr", 0, MAX_LR, what="the learning rate")
        if lr == 0:
            raise ProtocolError("the learning rate must be above 0 (0 would never change a weight); try 0.03")
        out["lr"] = lr
    if "batch_size" in message:
        out["batch_size"] = _number(message, "batch_size", 1, 100_000, integer=True, what="the batch size")
    if "weight_decay" in message:
        out["weight_decay"] = _number(message, "weight_decay", 0, 1, what="the L2 weight decay")
    if "speed" in message:
        out["speed"] = _number(message, "speed", 0, MAX_SPEED, integer=True, what="steps per second")
    if not out:
        raise ProtocolError("a training message changes optimizer, lr, batch_size, weight_decay or speed")
    return out


def _seed(message: dict) -> dict[str, Any]:
    return {"value": _number(message, "value", 0, MAX_SEED, integer=True, what="the seed")}


def _select(message: dict) -> dict[str, Any]:
    return {"param": _name(message, "param", "the parameter", optional=True)}


def _set_weight(message: dict) -> dict[str, Any]:
    return {
        "param": _name(message, "param", "the parameter"),
        "value": _number(message, "value", -MAX_WEIGHT, MAX_WEIGHT, what="the new value"),
    }


_CHECKS = {
    "data": _data,
    "network": _network,
    "training": _training,
    "seed": _seed,
    "select": _select,
    "set_weight": _set_weight,
}
