"""Checkpoints (``chainrule.io``): save and load a model, its preprocessing and its training
state as one ``.safetensors`` file, never pickle.  Needs ``pip install 'chainrule[io]'``.

>>> chainrule.io.save("model.safetensors", model, optimizer=optimizer, trainer=trainer)
>>> checkpoint = chainrule.io.load("model.safetensors")
>>> checkpoint.model, checkpoint.preprocessor, checkpoint.metrics
>>> chainrule.io.to_onnx(checkpoint.model, "model.onnx", checkpoint.preprocessor)  # 'chainrule[onnx]'
"""

from chainrule.io.callbacks import ModelCheckpoint
from chainrule.io.checkpoint import Checkpoint, atomic_write_bytes, load, save
from chainrule.io.csv_logger import CSVLogger
from chainrule.io.onnx import build_onnx, onnx_inputs, to_onnx
from chainrule.io.spec import LAYERS, model_from_spec, model_to_spec

__all__ = [
    "LAYERS",
    "CSVLogger",
    "Checkpoint",
    "ModelCheckpoint",
    "atomic_write_bytes",
    "build_onnx",
    "load",
    "model_from_spec",
    "model_to_spec",
    "onnx_inputs",
    "save",
    "to_onnx",
]
