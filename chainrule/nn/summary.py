"""``model.summary()``: Keras's table of a model's layers, output shapes and parameter counts."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from chainrule import autograd, backend
from chainrule.nn import container
from chainrule.nn.module import Module
from chainrule.tensor import Tensor, zeros


def output_shapes(model: Module, input_shape: Sequence[int]) -> dict[int, list[tuple]]:
    """The output shapes of each direct sub-module of ``model`` (the model itself when it has
    none), keyed by ``id``, from one forward pass of a batch of one sample of ``input_shape``: in
    evaluation mode, without the graph, module by module (the fused ``Sequential`` path off, so
    that every layer runs), restoring all of that afterwards."""
    children = list(model.children()) or [model]
    shapes: dict[int, list[tuple]] = {id(child): [] for child in children}

    def recording(child: Module, forward: Any) -> Any:
        @functools.wraps(forward)
        def record(*args: Any, **kwargs: Any) -> Any:
            out = forward(*args, **kwargs)
            shapes[id(child)].append(tuple(out.shape) if isinstance(out, Tensor) else ())
            return out

        return record

    dtype = next((p.dtype for p in model.parameters()), backend.default_dtype)
    training, fused = model.training, container.FUSE_LAYERS
    wrapped = [child for child in dict.fromkeys(children) if child is not model]
    for child in wrapped:
        object.__setattr__(child, "forward", recording(child, child.forward))
    forward = model.forward
    if model in children:
        object.__setattr__(model, "forward", recording(model, forward))
    container.FUSE_LAYERS = False
    try:
        model.eval()
        with autograd.no_grad():
            model(zeros((1, *input_shape), dtype=dtype))
    except Exception as error:
        raise ValueError(
            f"summary: the forward pass on one sample of shape {tuple(input_shape)} failed ({error}); give "
            "input_shape= the shape of one sample, e.g. (28, 28) for MNIST images or (4,) for 4 features"
        ) from error
    finally:
        container.FUSE_LAYERS = fused
        model.train(training)
        for child in [*wrapped, model]:
            child.__dict__.pop("forward", None)
    return shapes


def _input_shape(model: Module) -> tuple[int, ...] | None:
    """The shape of one sample if the model's first layer says it: ``(in_features,)`` of a
    first ``Linear``; None otherwise (a model that starts with ``Flatten`` needs to be told)."""
    leaves = [module for module in model.modules() if not module._modules]
    features = getattr(leaves[0], "in_features", None) if leaves else None
    return (features,) if isinstance(features, int) else None


def _bytes(count: int, itemsize: int) -> str:
    """The memory of ``count`` numbers of ``itemsize`` bytes, as Keras writes it (``1.2 KB``)."""
    size, unit = float(count * itemsize), "B"
    for larger in ("KB", "MB", "GB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{size:.0f} B" if unit == "B" else f"{size:.2f} {unit}"


def summary(model: Module, input_shape: Sequence[int] | None = None) -> str:
    """The table of :meth:`Module.summary` as text (see there)."""
    shapes: dict[int, list[tuple]] = {}
    if input_shape is not None:
        shapes = output_shapes(model, tuple(input_shape))
    elif (inferred := _input_shape(model)) is not None:
        try:
            shapes = output_shapes(model, inferred)
        except ValueError:
            shapes = {}  # the guess did not fit: show the counts, and ask for the shape
    rows = [("Layer (type)", "Output Shape", "Param #")]
    for name, child in list(model.named_children()) or [(type(model).__name__.lower(), model)]:
        seen = {shape[1:] for shape in shapes.get(id(child), [])}
        shape = "?" if not seen else "multiple" if len(seen) > 1 else str((None, *next(iter(seen))))
        count = sum(p.data.size for p in dict.fromkeys(child.parameters()))
        rows.append((f"{name} ({type(child).__name__})", shape, f"{count:,}"))
    parameters = list(dict.fromkeys(model.parameters()))
    trainable = sum(p.data.size for p in parameters if p.requires_grad)
    frozen = sum(p.data.size for p in parameters if not p.requires_grad)
    itemsize = parameters[0].data.itemsize if parameters else backend.default_dtype.itemsize
    buffers = sum(getattr(array, "size", 0) for _, array in model.named_buffers())
    widths = [max(minimum, *(len(row[i]) for row in rows)) for i, minimum in enumerate((28, 20, 9))]
    width = sum(widths) + 6

    def line(cells: tuple[str, str, str]) -> str:
        return f" {cells[0]:<{widths[0]}}  {cells[1]:<{widths[1]}}  {cells[2]:>{widths[2]}}"

    lines = [f'Model: "{type(model).__name__}"', "_" * width, line(rows[0]), "=" * width]
    for index, row in enumerate(rows[1:], start=1):
        lines += [line(row), "=" * width if index == len(rows) - 1 else "_" * width]
    lines.append(f"Total params: {trainable + frozen:,} ({_bytes(trainable + frozen, itemsize)})")
    lines.append(f"Trainable params: {trainable:,} ({_bytes(trainable, itemsize)})")
    lines.append(f"Non-trainable params: {frozen:,} ({_bytes(frozen, itemsize)})")
    if buffers:
        lines.append(f"Buffers (running statistics, not trained): {buffers:,}")
    if not shapes:
        lines.append("Output shapes need the shape of one sample: summary(input_shape=(...))")
    return "\n".join(lines)
