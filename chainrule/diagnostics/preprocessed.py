"""Walk-throughs of a trained model on raw inputs: the model's saved preprocessing is applied first.

A model trained by ``chainrule train`` sees preprocessed values, not the CSV's: each numeric input
is standardised, z = (x − mean) / std, with the training rows' mean and standard deviation; a text
input is one-hot encoded; a regression target is standardised the same way and a class label
becomes its class index (:class:`chainrule.data.Preprocessor`).  :func:`explain_raw` takes the
raw values, encodes them with the model's :class:`~chainrule.data.Preprocessor`, explains the step
in the network's units, and puts a first section in front that shows each raw value next to the
number the network sees, and the output mapped back to the target's units.
"""

from __future__ import annotations

from typing import Any

import numpy

from chainrule.data import Preprocessor, Table
from chainrule.diagnostics.notation import format_number
from chainrule.diagnostics.render import Block, Heading, Paragraph
from chainrule.diagnostics.render import Table as TableBlock
from chainrule.diagnostics.walkthrough import SMALL_BATCH, Explanation, explain


def _rows(inputs: Any) -> list[list[Any]]:
    """One row ``[v1, v2]`` or several ``[[v1, v2], …]`` as a list of rows."""
    values = list(inputs.tolist() if hasattr(inputs, "tolist") else inputs)
    if values and all(isinstance(v, (list, tuple)) for v in values):
        return [list(v) for v in values]
    return [values]


def _targets(target: Any, count: int) -> list[Any]:
    """One target per row: a single value, or a sequence of ``count`` values."""
    values = target.tolist() if hasattr(target, "tolist") else target
    values = list(values) if isinstance(values, (list, tuple)) else [values]
    if len(values) != count:
        raise ValueError(f"got {len(values)} target values for {count} input rows; give one target per row")
    return values


def _number(value: Any, column: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"input column {column!r} is numeric, but got {value!r}; give a number") from None


def raw_table(preprocessor: Preprocessor, inputs: Any, target: Any = None) -> Table:
    """The raw ``inputs`` (one row or a list of rows, values in ``preprocessor.input_columns``
    order) and optional targets as a :class:`~chainrule.data.Table` the preprocessor can transform.

    Raises
    ------
    ValueError
        A row with the wrong number of values (the message names the count and the columns), a
        numeric column given text, or a target count that does not match the rows.
    """
    columns = list(preprocessor.input_columns)
    rows = _rows(inputs)
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(
                f"the model takes {len(columns)} input value{'s' if len(columns) != 1 else ''} per row, "
                f"in this order: {', '.join(columns)}; got {len(row)} ({', '.join(map(str, row))})"
            )
    data: dict[str, Any] = {}
    for j, name in enumerate(columns):
        cells = [row[j] for row in rows]
        if name in preprocessor.numeric_:
            data[name] = numpy.array([_number(v, name) for v in cells], dtype=numpy.float64)
        else:
            data[name] = numpy.array([str(v).strip() for v in cells], dtype=object)
    if target is not None:
        labels = _targets(target, len(rows))
        if preprocessor.task == "regression" or numpy.asarray(preprocessor.classes_).dtype != object:
            data[preprocessor.target] = numpy.array(
                [_number(v, preprocessor.target) for v in labels], dtype=numpy.float64
            )
        else:
            data[preprocessor.target] = numpy.array([str(v).strip() for v in labels], dtype=object)
    return Table(data, source="the given input")


def encode(preprocessor: Preprocessor, inputs: Any, target: Any) -> tuple[Any, Any]:
    """``(x, y)`` as the network sees them: ``preprocessor.transform`` and ``transform_target`` of
    the raw values (see :func:`raw_table`)."""
    table = raw_table(preprocessor, inputs, target)
    return preprocessor.transform(table), preprocessor.transform_target(table)


def _input_cells(preprocessor: Preprocessor, table: Table, x: Any, row: int, decimals: int) -> list[list[str]]:
    """``[column, raw value, what the network sees]`` for each raw input column of one row."""
    cells = []
    names = preprocessor.feature_names_out
    for j, name in enumerate(preprocessor.numeric_):
        raw = format_number(float(table[name][row]), decimals)
        seen = format_number(float(x[row, j]), decimals)
        if preprocessor.standardize:
            mean = format_number(preprocessor.mean_[j], decimals)
            std = format_number(preprocessor.std_[j], decimals)
            seen = f"({raw} − {mean}) / {std} = {seen}"
        cells.append([name, raw, seen])
    for name in preprocessor.categorical_:
        ones = [k for k, out in enumerate(names) if out.startswith(f"{name}=") and float(x[row, k]) == 1.0]
        hot = names[ones[0]] if ones else "none"
        cells.append([name, str(table[name][row]), f"one-hot: {hot} = 1, the other {name}=… columns 0"])
    return cells


def _target_cell(preprocessor: Preprocessor, table: Table, y: Any, row: int, decimals: int) -> list[str]:
    """``[target (target), raw value, what the loss sees]`` for one row."""
    name = f"{preprocessor.target} (target)"
    if preprocessor.task == "regression":
        raw = format_number(float(table[preprocessor.target][row]), decimals)
        seen = format_number(float(y[row, 0]), decimals)
        if preprocessor.target_mean_ is not None:
            mean = format_number(preprocessor.target_mean_, decimals)
            std = format_number(preprocessor.target_std_, decimals)
            seen = f"({raw} − {mean}) / {std} = {seen}"
        return [name, raw, seen]
    classes = [str(c) for c in preprocessor.classes_.tolist()]
    index = int(y[row])
    return [name, classes[index], f"class index {index} of {', '.join(classes)}"]


def _prediction(preprocessor: Preprocessor, output: Any, decimals: int) -> str:
    """The network's output for one row in the target's units, with the formula that maps it back."""
    value = preprocessor.inverse_transform_target(output[None, :])
    if preprocessor.task == "classification":
        scores = ", ".join(format_number(float(v), decimals) for v in output)
        return f"outputs [{scores}] → predicted {preprocessor.target} {value[0]!s} (largest output)"
    h = format_number(float(output[0]), decimals)
    result = format_number(float(value[0, 0]), decimals)
    if preprocessor.target_mean_ is None:
        return f"output {h} = {preprocessor.target} {result}"
    mean = format_number(preprocessor.target_mean_, decimals)
    std = format_number(preprocessor.target_std_, decimals)
    return f"output {h} → {preprocessor.target} = {h} × {std} + {mean} = {result}"


def preprocessing_blocks(preprocessor: Preprocessor, table: Table, explanation: Explanation) -> list[Block]:
    """The section that maps each raw value to the number the network sees, and the output back."""
    decimals = explanation.decimals
    x, y = explanation.trace.x.data, explanation.trace.y.data
    if explanation.trace.y.ndim == 1:  # class indices
        y = y.astype(numpy.int64)
    steps = []
    if preprocessor.numeric_ and preprocessor.standardize:
        steps.append("each numeric input is standardised, z = (x − mean) / std, with the training rows' mean and std")
    if preprocessor.categorical_:
        steps.append("each text input is one-hot encoded")
    if preprocessor.task == "regression" and preprocessor.target_mean_ is not None:
        steps.append(f"the target {preprocessor.target} is standardised the same way")
    elif preprocessor.task == "classification":
        steps.append(f"the target {preprocessor.target} becomes its class index")
    done = "; ".join(steps) if steps else "the values pass through unchanged"
    blocks: list[Block] = [
        Heading("Inputs and target in the network's units"),
        Paragraph(
            "The walk-through below is in the standardised units the network sees, not in the CSV's: "
            f"{done} (the preprocessing saved with the model). The loss L is in these units too."
        ),
    ]
    shown = range(min(len(x), SMALL_BATCH))
    several = len(x) > 1
    rows = []
    for n in shown:
        for cells in [
            *_input_cells(preprocessor, table, x, n, decimals),
            _target_cell(preprocessor, table, y, n, decimals),
        ]:
            rows.append([str(n + 1), *cells] if several else cells)
    header = ["column", "given", "the network sees"]
    blocks.append(TableBlock(["n", *header] if several else header, rows))
    output = explanation.trace.output.data
    for n in shown:
        prefix = f"Sample {n + 1}: " if several else "The network's "
        blocks.append(Paragraph(prefix + _prediction(preprocessor, output[n], decimals) + "."))
    return blocks


def explain_raw(
    model: Any,
    preprocessor: Preprocessor,
    loss_fn: Any,
    inputs: Any,
    target: Any,
    param: str | None = None,
    lr: float | None = None,
    decimals: int = 4,
) -> Explanation:
    """:func:`~chainrule.diagnostics.explain` of a trained model on raw values, through its preprocessing.

    Parameters
    ----------
    model, loss_fn, param, lr, decimals
        As for :func:`~chainrule.diagnostics.explain`.
    preprocessor : Preprocessor
        The fitted preprocessing the model was trained with (``chainrule.io.load(path).preprocessor``).
    inputs : sequence
        One row of raw feature values in ``preprocessor.input_columns`` order, as in the CSV (numbers,
        or text for a categorical column), or a list of such rows.
    target : value or sequence
        The target in its own units (a number, or a class label), one per row.

    Returns
    -------
    Explanation
        Its blocks hold, before the forward pass, the section mapping raw values to the network's units.

    Examples
    --------
    >>> checkpoint = chainrule.io.load("portland.safetensors")
    >>> e = explain_raw(checkpoint.model, checkpoint.preprocessor, nn.MSELoss(), [1650, 3], 300000, param="w1_11")
    """
    table = raw_table(preprocessor, inputs, target)
    x, y = preprocessor.transform(table), preprocessor.transform_target(table)
    explanation = explain(model, loss_fn, x, y, param=param, lr=lr, decimals=decimals)
    first = next(i for i, block in enumerate(explanation.blocks) if i and isinstance(block, Heading))
    explanation.blocks[first:first] = preprocessing_blocks(preprocessor, table, explanation)
    return explanation
