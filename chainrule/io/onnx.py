"""ONNX export: a model and its stored preprocessing as one ONNX graph (``pip install 'chainrule[onnx]'``).

:func:`to_onnx` writes a file that any ONNX runtime runs without chainrule. With a fitted
:class:`~chainrule.data.Preprocessor` the graph starts from the raw columns and ends in the
target's units, doing in ONNX operators exactly what ``Preprocessor.transform``, the model and
``Preprocessor.inverse_transform_target`` do in chainrule:

====================  =========================================================================
graph inputs          ``numeric``: ``double [N, k]``, the numeric columns (formatted ones as
                      their numbers: ``"$1,200"`` → 1200, ``"12%"`` → 0.12), in the order of
                      the model's metadata ``numeric_columns``; per date column a
                      ``double [N, 1]`` input, named after it: days since 1970-01-01 UTC
                      (a fraction for the time of day); per categorical column a
                      ``string [N, 1]`` input, named after it (:func:`onnx_inputs` makes all
                      of them from a :class:`~chainrule.data.Table`)
date features         year, month, day of week (Monday 0) and days, computed from the days by
                      ``civil_from_days`` in double arithmetic (``Floor``, ``Div``, …)
imputation            ``x ← fill`` where ``x`` is NaN (``IsNaN``, ``Where``); a categorical ``""``
                      (a missing cell) ← the most frequent category
standardisation       ``z = (x − mean) / std`` in double, then ``Cast`` to float32 (as the
                      preprocessor's output), and to the model's dtype
one-hot               ``onehot[i, j] = [cell_i = category_j]`` (``Equal`` against the kept
                      categories, ``Cast``); where the column has ``<other>``, its column is
                      1 − max_j onehot[i, j] (rare and unseen categories); else an unseen
                      category gives a row of zeros, as chainrule (which also warns)
the network           ``Gemm`` (x Wᵀ + b) per ``Linear``; one node or a short composition per
                      activation of the registry (:data:`ACTIVATIONS`); ``BatchNormalization``
                      with the running statistics; ``Flatten``; ``Dropout`` left out (evaluation mode)
regression output     ``prediction``: ``double [N, outputs]``, ``y = z · std + mean``
classifier outputs    ``probabilities``: ``[N, classes]`` (``Softmax`` over the logits, or
                      ``[1 − σ(z), σ(z)]`` for one logit) and ``label``: ``[N]``, the class
                      label (``Gather`` of the labels at ``ArgMax``, or at ``z > 0``)
====================  =========================================================================

Missing cells without ``impute`` and bad cells, which chainrule reports as errors, give NaN or a
row of zeros in the graph: an ONNX graph cannot raise.
Without a preprocessor the graph is the network alone: ``input`` ``[N, in_features]`` →
``output``, in the model's dtype. Operators are those of the default domain at :data:`OPSET`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy

from chainrule import nn
from chainrule.data import columns
from chainrule.data.preprocessing import _keys as category_keys  # the keys one-hot compares
from chainrule.io.atomic import atomic_write_bytes
from chainrule.nn import registry

OPSET = 19
"""The ONNX opset of the exported graphs (19: the first where ``Equal`` compares strings)."""


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'chainrule[onnx]'") from None
    return onnx


class _Graph:
    """Nodes and constants of a graph being built; each ``node`` returns its output's name."""

    def __init__(self, onnx: Any) -> None:
        self.onnx, self.nodes, self.constants = onnx, [], []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def const(self, stem: str, value: Any, dtype: Any = None) -> str:
        """A constant tensor (an initializer); strings as ``object`` arrays."""
        array = numpy.asarray(value, dtype=dtype)
        name = self.name(stem)
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, *inputs: str, stem: str | None = None, **attributes: Any) -> str:
        output = self.name(stem or op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [output], **attributes))
        return output


def _dtype_code(onnx: Any, dtype: Any) -> int:
    return onnx.helper.np_dtype_to_tensor_dtype(numpy.dtype(dtype))


# one exporter per element-wise activation: (graph, module, z, dtype) -> h -------------------------


def _gelu(graph: _Graph, module: Any, z: str, dtype: Any) -> str:
    """h = ½ z (1 + erf(z/√2)); in a float64 model erf is taken in float32 (onnxruntime has no
    double ``Erf``)."""
    scaled = graph.node("Div", z, graph.const("sqrt2", math.sqrt(2.0), dtype))
    if numpy.dtype(dtype) != numpy.float32:
        scaled = graph.node("Cast", scaled, to=graph.onnx.TensorProto.FLOAT)
    curve = graph.node("Cast", graph.node("Erf", scaled), to=_dtype_code(graph.onnx, dtype))
    return _half_z_one_plus(graph, z, curve, dtype)


def _gelu_tanh(graph: _Graph, module: Any, z: str, dtype: Any) -> str:
    """h = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³)))."""
    cube = graph.node("Mul", graph.node("Mul", z, z), z)
    inner = graph.node("Add", z, graph.node("Mul", cube, graph.const("c", 0.044715, dtype)))
    curve = graph.node("Tanh", graph.node("Mul", inner, graph.const("k", math.sqrt(2 / math.pi), dtype)))
    return _half_z_one_plus(graph, z, curve, dtype)


def _half_z_one_plus(graph: _Graph, z: str, curve: str, dtype: Any) -> str:
    """½ z (1 + curve)."""
    half = graph.node("Mul", z, graph.const("half", 0.5, dtype))
    return graph.node("Mul", half, graph.node("Add", curve, graph.const("one", 1.0, dtype)))


def _where_positive(graph: _Graph, z: str, negative: str, dtype: Any) -> str:
    """z where z > 0, else ``negative`` (written with ``Where``: onnxruntime's ``LeakyRelu`` and
    ``Elu`` take float32 only)."""
    return graph.node("Where", graph.node("Greater", z, graph.const("zero", 0.0, dtype)), z, negative)


def _leaky_relu(graph: _Graph, module: Any, z: str, dtype: Any) -> str:
    """h = z for z > 0, else s z."""
    return _where_positive(graph, z, graph.node("Mul", z, graph.const("slope", module.negative_slope, dtype)), dtype)


def _elu(graph: _Graph, module: Any, z: str, dtype: Any) -> str:
    """h = z for z > 0, else α(eᶻ − 1)."""
    curve = graph.node("Sub", graph.node("Exp", z), graph.const("one", 1.0, dtype))
    return _where_positive(graph, z, graph.node("Mul", curve, graph.const("alpha", module.alpha, dtype)), dtype)


def _softplus(graph: _Graph, module: Any, z: str, dtype: Any) -> str:
    """h = (1/β) ln(1 + e^(βz)), and z where βz > threshold (PyTorch's Softplus)."""
    beta = graph.const("beta", module.beta, dtype)
    scaled = graph.node("Mul", z, beta)
    smooth = graph.node("Log", graph.node("Add", graph.node("Exp", scaled), graph.const("one", 1.0, dtype)))
    linear = graph.node("Greater", scaled, graph.const("threshold", module.threshold, dtype))
    return graph.node("Where", linear, z, graph.node("Div", smooth, beta))


ACTIVATIONS: dict[str, Callable[[_Graph, Any, str, Any], str]] = {
    "identity": lambda graph, module, z, dtype: graph.node("Identity", z),
    "sigmoid": lambda graph, module, z, dtype: graph.node("Sigmoid", z),
    "tanh": lambda graph, module, z, dtype: graph.node("Tanh", z),
    "relu": lambda graph, module, z, dtype: graph.node("Relu", z),
    "leaky-relu": _leaky_relu,
    "gelu": _gelu,
    "gelu-tanh": _gelu_tanh,
    "silu": lambda graph, module, z, dtype: graph.node("Mul", z, graph.node("Sigmoid", z)),
    "softplus": _softplus,
    "elu": _elu,
}
"""Activation name (:data:`chainrule.nn.registry.ACTIVATIONS`) → the ONNX nodes that compute it,
PyTorch's formula in the model's dtype."""


def _layers(model: nn.Module) -> list[nn.Module]:
    """The leaf layers of a (nested) ``Sequential``, in order."""
    if isinstance(model, nn.Sequential):
        return [leaf for child in model for leaf in _layers(child)]
    return [model]


def _network(graph: _Graph, model: nn.Module, x: str, dtype: Any) -> str:
    """The nodes of the network in evaluation mode, from ``x`` to its output."""
    for layer in _layers(model):
        if isinstance(layer, nn.Linear):
            weight = graph.const("weight", layer.weight.data, dtype)
            inputs = [x, weight] + ([graph.const("bias", layer.bias.data, dtype)] if layer.bias is not None else [])
            x = graph.node("Gemm", *inputs, stem="linear", transB=1)
        elif isinstance(layer, nn.BatchNorm1d):
            ones, zeros = numpy.ones(layer.num_features), numpy.zeros(layer.num_features)
            scale = layer.weight.data if layer.affine else ones
            shift = layer.bias.data if layer.affine else zeros
            statistics = [scale, shift, layer.running_mean, layer.running_var]
            names = [graph.const(stem, v, dtype) for stem, v in zip(("scale", "shift", "mean", "var"), statistics)]
            x = graph.node("BatchNormalization", x, *names, epsilon=float(layer.eps), stem="batchnorm")
        elif isinstance(layer, nn.Dropout):
            continue  # evaluation mode: the identity
        elif isinstance(layer, nn.Flatten) and (layer.start_dim, layer.end_dim) == (1, -1):
            x = graph.node("Flatten", x, axis=1)
        elif isinstance(layer, nn.Softmax):
            x = graph.node("Softmax", x, axis=int(layer.dim))
        elif isinstance(layer, registry.activation_modules()):
            x = ACTIVATIONS[registry.activation_entry(layer).name](graph, layer, x, dtype)
        else:
            names = (module.__name__ for module in registry.activation_modules())
            fixed = ["Linear", "BatchNorm1d", "Dropout", "Flatten (all axes after the first)", "Softmax"]
            known = ", ".join([*fixed, *names])
            raise TypeError(f"cannot export a {type(layer).__name__} layer to ONNX; exportable layers: {known}")
    return x


def _in_features(model: nn.Module) -> int:
    for layer in _layers(model):
        if isinstance(layer, nn.Linear):
            return layer.in_features
        if isinstance(layer, nn.BatchNorm1d):
            return layer.num_features
    raise TypeError("the model has no Linear or BatchNorm1d layer, so its number of inputs is unknown")


def _civil_date(graph: _Graph, days: str) -> dict[str, str]:
    """Year, month and day of week (Monday 0) of ``days`` since 1970-01-01 (UTC), by Hinnant's
    ``civil_from_days`` in double arithmetic (exact for whole numbers): with z = ⌊days⌋ + 719468,
    era = ⌊z / 146097⌋, day of era e = z − 146097 era, year of era
    y = ⌊(e − ⌊e/1460⌋ + ⌊e/36524⌋ − ⌊e/146096⌋) / 365⌋, day of year d = e − (365 y + ⌊y/4⌋ − ⌊y/100⌋),
    m′ = ⌊(5d + 2) / 153⌋, month = m′ + 3 (− 12 when m′ ≥ 10), year = y + 400 era (+ 1 when month ≤ 2)."""

    def c(value: float) -> str:
        return graph.const("k", value, numpy.float64)

    def floor_div(a: str, b: float) -> str:
        return graph.node("Floor", graph.node("Div", a, c(b)))

    double = graph.onnx.TensorProto.DOUBLE
    whole = graph.node("Floor", days)
    z = graph.node("Add", whole, c(719468))
    era = floor_div(z, 146097)
    e = graph.node("Sub", z, graph.node("Mul", era, c(146097)))
    y = graph.node("Add", graph.node("Sub", e, floor_div(e, 1460)), floor_div(e, 36524))
    y = floor_div(graph.node("Sub", y, floor_div(e, 146096)), 365)
    start = graph.node("Sub", graph.node("Add", graph.node("Mul", y, c(365)), floor_div(y, 4)), floor_div(y, 100))
    d = graph.node("Sub", e, start)
    shifted = floor_div(graph.node("Add", graph.node("Mul", d, c(5)), c(2)), 153)
    late = graph.node("Cast", graph.node("GreaterOrEqual", shifted, c(10)), to=double)
    month = graph.node("Sub", graph.node("Add", shifted, c(3)), graph.node("Mul", late, c(12)))
    early = graph.node("Cast", graph.node("LessOrEqual", month, c(2)), to=double)
    year = graph.node("Add", graph.node("Add", y, graph.node("Mul", era, c(400))), early)
    weekday = graph.node("Sub", whole, graph.node("Mul", floor_div(graph.node("Add", whole, c(3)), 7), c(7)))
    weekday = graph.node("Add", weekday, c(3))  # (⌊days⌋ + 3) mod 7: 1970-01-01 was a Thursday
    return {"year": year, "month": month, "day_of_week": weekday, "days": days}


def _features(graph: _Graph, preprocessor: Any, inputs: list, dtype: Any) -> str:
    """Raw columns → the model's input features: date features, imputation, standardisation, one-hot."""
    onnx = graph.onnx
    parts = []
    numeric_infos = preprocessor._numeric_infos()
    if numeric_infos:
        plain = [info for info in numeric_infos if info.kind != "date"]
        if plain:
            inputs.append(onnx.helper.make_tensor_value_info("numeric", onnx.TensorProto.DOUBLE, ["N", len(plain)]))
        columns = []
        for info in numeric_infos:
            if info.kind != "date":
                index = graph.const("column", [plain.index(info)], numpy.int64)
                columns.append(graph.node("Gather", "numeric", index, axis=1))
                continue
            inputs.append(onnx.helper.make_tensor_value_info(info.name, onnx.TensorProto.DOUBLE, ["N", 1]))
            date = _civil_date(graph, info.name)
            columns += [date[output.removeprefix(f"{info.name}.")] for output in info.outputs]
        x = columns[0] if len(columns) == 1 else graph.node("Concat", *columns, axis=1)
        if preprocessor.fill_ is not None:
            x = graph.node("Where", graph.node("IsNaN", x), graph.const("fill", preprocessor.fill_, numpy.float64), x)
        if preprocessor.standardize:
            x = graph.node("Sub", x, graph.const("mean", preprocessor.mean_, numpy.float64))
            x = graph.node("Div", x, graph.const("std", preprocessor.std_, numpy.float64), stem="standardised")
        parts.append(graph.node("Cast", x, to=onnx.TensorProto.FLOAT))  # the preprocessor's float32
    for index, (name, categories) in enumerate(zip(preprocessor.categorical_, preprocessor.categories_)):
        inputs.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.STRING, ["N", 1]))
        cell = name
        if preprocessor.category_fill_ is not None:
            missing = graph.node("Equal", cell, graph.const("empty", [""], object))
            fill = graph.const("fill", [preprocessor.category_fill_[index]], object)
            cell = graph.node("Where", missing, fill, cell)
        hits = graph.node("Equal", cell, graph.const("categories", categories, object))
        hits = graph.node("Cast", hits, to=onnx.TensorProto.FLOAT, stem="onehot")
        if preprocessor.other_[index]:  # rare and unseen categories: the <other> column
            known = graph.node("ReduceMax", hits, graph.const("axes", [1], numpy.int64), keepdims=1)
            other = graph.node("Sub", graph.const("one", [[1.0]], numpy.float32), known)
            hits = graph.node("Concat", hits, other, axis=1)
        parts.append(hits)
    features = parts[0] if len(parts) == 1 else graph.node("Concat", *parts, axis=1, stem="features")
    if numpy.dtype(dtype) == numpy.float32:
        return features
    return graph.node("Cast", features, to=_dtype_code(onnx, dtype))


def _classifier_outputs(graph: _Graph, model: nn.Module, preprocessor: Any, z: str, dtype: Any) -> list:
    """``probabilities`` [N, classes] and ``label`` [N] from the network's output ``z``."""
    onnx = graph.onnx
    classes = preprocessor.classes_
    width = _output_width(model)
    if width == 1 and len(classes) == 2:
        p = graph.node("Sigmoid", z)
        probabilities = graph.node("Concat", graph.node("Sub", graph.const("one", [[1.0]], dtype), p), p, axis=1)
        index = graph.node("Cast", graph.node("Greater", z, graph.const("zero", 0.0, dtype)), to=onnx.TensorProto.INT64)
        index = graph.node("Squeeze", index, graph.const("axis", [1], numpy.int64))
    elif width == len(classes):
        last = _layers(model)[-1]
        probabilities = z if isinstance(last, nn.Softmax) else graph.node("Softmax", z, axis=1)
        index = graph.node("ArgMax", z, axis=1, keepdims=0)
    else:
        raise ValueError(
            f"the model has {width} outputs but the preprocessor {len(classes)} classes; "
            "export the model with the preprocessor it was trained with"
        )
    labels = classes.astype(object) if classes.dtype == object else classes
    graph.nodes.append(onnx.helper.make_node("Identity", [probabilities], ["probabilities"]))
    graph.nodes.append(onnx.helper.make_node("Gather", [graph.const("classes", labels), index], ["label"], axis=0))
    return [
        onnx.helper.make_tensor_value_info("probabilities", _dtype_code(onnx, dtype), ["N", len(classes)]),
        onnx.helper.make_tensor_value_info("label", _dtype_code(onnx, labels.dtype), ["N"]),
    ]


def _output_width(model: nn.Module) -> int:
    for layer in reversed(_layers(model)):
        if isinstance(layer, nn.Linear):
            return layer.out_features
    raise TypeError("the model has no Linear layer, so its number of outputs is unknown")


def build_onnx(model: nn.Module, preprocessor: Any = None) -> Any:
    """The ONNX ``ModelProto`` of ``model`` (and ``preprocessor``), checked by ``onnx.checker``.

    Parameters
    ----------
    model : Sequential
        Of ``Linear``, ``BatchNorm1d``, ``Dropout``, ``Softmax`` and the element-wise
        activations (:data:`ACTIVATIONS`); float32 or float64.
    preprocessor : Preprocessor, optional
        Fitted; its transform and the target's inverse become part of the graph (see the module's
        docstring for the inputs and outputs).

    Raises
    ------
    ImportError
        Without the onnx package (``pip install 'chainrule[onnx]'``).
    TypeError
        For a layer ONNX export does not know.
    """
    onnx = _onnx()
    dtype = next(iter(model.parameters())).data.dtype
    graph = _Graph(onnx)
    inputs: list = []
    metadata = {"producer": "chainrule"}
    if preprocessor is None:
        inputs.append(onnx.helper.make_tensor_value_info("input", _dtype_code(onnx, dtype), ["N", _in_features(model)]))
        z = _network(graph, model, "input", dtype)
        graph.nodes.append(onnx.helper.make_node("Identity", [z], ["output"]))
        outputs = [onnx.helper.make_tensor_value_info("output", _dtype_code(onnx, dtype), ["N", _output_width(model)])]
    else:
        preprocessor._check_fitted()
        z = _network(graph, model, _features(graph, preprocessor, inputs, dtype), dtype)
        metadata.update(
            task=preprocessor.task,
            numeric_columns=json.dumps(preprocessor.numeric_),
            categorical_columns=json.dumps(preprocessor.categorical_),
            target=json.dumps(preprocessor.target),
        )
        if preprocessor.task == "classification":
            outputs = _classifier_outputs(graph, model, preprocessor, z, dtype)
        else:
            y = graph.node("Cast", z, to=onnx.TensorProto.DOUBLE)
            if preprocessor.target_mean_ is not None:
                y = graph.node("Mul", y, graph.const("target_std", preprocessor.target_std_, numpy.float64))
                y = graph.node("Add", y, graph.const("target_mean", preprocessor.target_mean_, numpy.float64))
            graph.nodes.append(onnx.helper.make_node("Identity", [y], ["prediction"]))
            shape = ["N", _output_width(model)]
            outputs = [onnx.helper.make_tensor_value_info("prediction", onnx.TensorProto.DOUBLE, shape)]
    from chainrule import __version__

    proto = onnx.helper.make_model(
        onnx.helper.make_graph(graph.nodes, "chainrule", inputs, outputs, graph.constants),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="chainrule",
        producer_version=__version__,
    )
    onnx.helper.set_model_props(proto, metadata)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def onnx_inputs(preprocessor: Any, table: Any) -> dict[str, numpy.ndarray]:
    """The inputs of an exported graph for the rows of a :class:`~chainrule.data.Table`: ``numeric``
    (double ``[N, k]``: the numeric columns, formatted ones parsed, ``"12%"`` → 0.12; NaN where
    missing), for each date column its days since 1970-01-01 UTC (double ``[N, 1]``), and for each
    categorical column its cells as the preprocessor keys them (string ``[N, 1]``, ``""`` where missing)."""
    preprocessor._check_fitted()
    feeds, plain = {}, []
    for info in preprocessor._numeric_infos():
        values, bad = table[info.name], None
        if info.kind == "date":
            parsed, bad = columns.parse_dates(category_keys(values), info.details["format"])
            feeds[info.name] = parsed[:, columns.DATE_PARTS.index("days")].reshape(-1, 1)
        elif info.kind == "formatted" and values.dtype == object:
            parsed, bad = columns.parse_formatted(values)
            plain.append(parsed)
        else:
            plain.append(table.numeric(info.name))
        if bad is not None:
            raise ValueError(f"column {info.name!r} {table.row_name(bad)}: {values[bad]!r} is not a {info.kind} cell")
    if plain:
        feeds["numeric"] = numpy.stack(plain, axis=1).astype(numpy.float64)
    for name in preprocessor.categorical_:
        cells = ["" if key is None else str(key) for key in category_keys(table[name])]
        feeds[name] = numpy.array(cells, dtype=object).reshape(-1, 1)
    return feeds


def to_onnx(model: nn.Module, path: str | os.PathLike, preprocessor: Any = None) -> Path:
    """Write ``model`` (with ``preprocessor``'s transforms, if given) to ``path`` as ONNX, atomically.

    The graph is :func:`build_onnx`'s; run it with any ONNX runtime, e.g.
    ``onnxruntime.InferenceSession(path).run(None, {"numeric": x})``.

    Examples
    --------
    >>> checkpoint = chainrule.io.load("houses.safetensors")
    >>> chainrule.io.to_onnx(checkpoint.model, "houses.onnx", checkpoint.preprocessor)
    """
    return atomic_write_bytes(path, build_onnx(model, preprocessor).SerializeToString())
