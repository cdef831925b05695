"""Checkpoints (``chainrule.io``): save and load a model, its preprocessing and its training
state as one ``.safetensors`` file, never pickle.  Needs ``pip install 'chainrule[io]'``.

>>> chainrule.io.save("model.safetensors", model, optimizer=optimizer, trainer=trainer)
>>> checkpoint = chainrule.io.load("model.safetensors")
>>> checkpoint.model, checkpoint.preprocessor, checkpoint.metrics
>>> checkpoint.restore(optimizer=optimizer, trainer=trainer, callbacks=callbacks)   # resume exactly

The weights alone, for any module (PyTorch reads them with ``safetensors.torch.load_file``):

>>> chainrule.io.save_state_dict(model, "weights.safetensors")
>>> model.load_state_dict(chainrule.io.load_state_dict("weights.safetensors"))
"""

from chainrule.io.atomic import atomic_write_bytes, atomic_writer
from chainrule.io.callbacks import ModelCheckpoint
from chainrule.io.checkpoint import Checkpoint, LegacyCheckpointWarning, load, save
from chainrule.io.csv_logger import CSVLogger
from chainrule.io.spec import LAYERS, model_from_spec, model_to_spec
from chainrule.io.state import load_state_dict, save_state_dict

__all__ = [
    "LAYERS",
    "CSVLogger",
    "Checkpoint",
    "LegacyCheckpointWarning",
    "ModelCheckpoint",
    "atomic_write_bytes",
    "atomic_writer",
    "load",
    "load_state_dict",
    "model_from_spec",
    "model_to_spec",
    "save",
    "save_state_dict",
]
