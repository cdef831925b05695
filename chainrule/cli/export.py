"""``chainrule export``: a saved model, with its preprocessing, as an ONNX file."""

from __future__ import annotations

import argparse
from typing import Any

from chainrule.cli import UsageError
from chainrule.cli.arguments import check_model, check_output, file_kind

USAGE = "export MODEL.safetensors OUT.onnx"


def register(subparsers: Any) -> None:
    """Add ``chainrule export``."""
    parser = subparsers.add_parser(
        "export",
        help="write a saved model, with its preprocessing, as an ONNX file",
        description="Write MODEL.safetensors as OUT.onnx (needs pip install 'chainrule[onnx]'). With the "
        "stored preprocessing the ONNX graph takes the raw columns (input 'numeric', double [N, k]; per date "
        "column its days since 1970-01-01, double [N, 1]; per categorical column a string [N, 1] input) and "
        "returns 'prediction' in the target's units, or 'probabilities' and 'label' for a classifier; "
        "without it, 'input' → 'output'.",
    )
    parser.add_argument("model", metavar="MODEL.safetensors")
    parser.add_argument("out", metavar="OUT.onnx", help="the ONNX file to write (atomically; not over an input)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export and print what the graph takes and returns; returns 0."""
    from chainrule import io
    from chainrule.io.onnx import OPSET, build_onnx

    if file_kind(args.out) == "a model file" and file_kind(args.model) != "a model file":
        raise UsageError(f"{args.out} is a model file; the model goes first: chainrule export {args.out} {args.model}")
    check_model(args.model, USAGE)
    out = check_output(args.out, "ONNX file", inputs=[args.model], suffixes=(".onnx",))
    checkpoint = io.load(args.model)
    try:
        proto = build_onnx(checkpoint.model, checkpoint.preprocessor)
    except ImportError as error:  # without the onnx package: the message names the extra
        raise UsageError(str(error)) from None
    io.atomic_write_bytes(out, proto.SerializeToString())
    print(f"wrote {out} (ONNX opset {OPSET})")
    for kind, values in (("inputs", proto.graph.input), ("outputs", proto.graph.output)):
        print(f"  {kind}: " + ", ".join(_describe(value) for value in values))
    return 0


def _describe(value: Any) -> str:
    """``numeric double[N, 2]`` for an ONNX graph input or output."""
    from onnx import TensorProto

    tensor = value.type.tensor_type
    kind = TensorProto.DataType.Name(tensor.elem_type).lower()
    shape = ", ".join(d.dim_param or str(d.dim_value) for d in tensor.shape.dim)
    return f"{value.name} {kind}[{shape}]"
