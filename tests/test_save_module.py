"""Saving any module: ``io.save_state_dict``/``io.load_state_dict`` for any Module (PyTorch reads
and writes the same files), and full checkpoints of a user's Module subclass, rebuilt only when
the caller allows its class."""

from __future__ import annotations

import json
import sys
from collections import OrderedDict

import numpy as np
import pytest
import safetensors.torch
import torch

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.io.sealed import sealed_bytes
from chainrule.training import Trainer


class TwoTower(nn.Module):
    """Two branches joined, scaled by a learned 0-d temperature; built from ``width``."""

    def __init__(self, width: int, scale: float = 1.0) -> None:
        super().__init__()
        self.width, self.scale = width, scale
        self.left = nn.Linear(2, width)
        self.right = nn.Sequential(nn.Linear(2, width), nn.Tanh())
        self.norm = nn.BatchNorm1d(2 * width)
        self.head = nn.Linear(2 * width, 1)
        self.temperature = nn.Parameter(np.array(1.5, dtype=np.float32))

    def get_config(self) -> dict:
        return {"width": self.width, "scale": self.scale}

    def forward(self, x):
        joined = self.norm(cr.cat([self.left(x), self.right(x)], axis=1))
        return self.head(joined) * self.temperature * self.scale


class TorchTwoTower(torch.nn.Module):
    """TwoTower in PyTorch, with the same parameter names."""

    def __init__(self, width: int, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.left = torch.nn.Linear(2, width)
        self.right = torch.nn.Sequential(torch.nn.Linear(2, width), torch.nn.Tanh())
        self.norm = torch.nn.BatchNorm1d(2 * width)
        self.head = torch.nn.Linear(2 * width, 1)
        self.temperature = torch.nn.Parameter(torch.tensor(1.5))

    def forward(self, x):
        joined = self.norm(torch.cat([self.left(x), self.right(x)], dim=1))
        return self.head(joined) * self.temperature * self.scale


class Plain(nn.Module):
    """A constructor without arguments needs no get_config."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(3, 2)

    def forward(self, x):
        return self.layer(x).relu()


class NeedsWidth(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.layer = nn.Linear(2, width)


def trained_two_tower(steps=3):
    cr.manual_seed(0)
    model = TwoTower(3, scale=0.5)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    x = np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32)
    y = (x[:, :1] * 2 - x[:, 1:]).astype(np.float32)
    trainer = Trainer(model, nn.MSELoss(), optimizer, seed=0)
    trainer.fit(x, y, epochs=steps, batch_size=8, verbose=0)
    return model, optimizer, trainer, x, y


def test_state_dict_files_round_trip_any_module_with_pytorch_names(tmp_path):
    model, *_ = trained_two_tower()
    path = io.save_state_dict(model, tmp_path / "w.safetensors", metadata={"note": "two towers"})
    state = io.load_state_dict(path)
    assert sorted(state) == sorted(model.state_dict())
    assert {"left.weight", "right.0.bias", "norm.running_var", "norm.num_batches_tracked", "temperature"} <= set(state)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(state[name], array, err_msg=name)
        assert state[name].dtype == array.dtype and state[name].shape == array.shape
    cr.manual_seed(9)
    other = TwoTower(3, scale=0.5)
    other.load_state_dict(state)
    x = np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(other.eval()(cr.tensor(x)).data, model.eval()(cr.tensor(x)).data)
    with pytest.raises(ValueError, match="do not match the SHA-256 digest"):
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 1
        path.write_bytes(raw)
        io.load_state_dict(path)


def test_pytorch_loads_chainrule_state_dicts_and_chainrule_loads_pytorch_ones(tmp_path):
    """The same values, and the same outputs in evaluation mode, both ways."""
    model, *_ = trained_two_tower()
    path = io.save_state_dict(model, tmp_path / "w.safetensors")
    twin = TorchTwoTower(3, scale=0.5)
    twin.load_state_dict(safetensors.torch.load_file(path), strict=True)
    for name, value in twin.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), model.state_dict()[name], err_msg=name)
    x = np.random.default_rng(1).standard_normal((5, 2)).astype(np.float32)
    with torch.no_grad():
        expected = twin.eval()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(model.eval()(cr.tensor(x)).data, expected, rtol=1e-5, atol=1e-6)

    torch.manual_seed(0)
    source = TorchTwoTower(3)
    source.norm.running_mean += 0.25
    torch_path = tmp_path / "torch.safetensors"
    safetensors.torch.save_file(source.state_dict(), torch_path)
    ours = TwoTower(3)
    ours.load_state_dict(io.load_state_dict(torch_path))
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(ours.state_dict()[name], value.numpy(), err_msg=name)


def test_a_user_module_checkpoint_round_trips_when_its_class_is_allowed(tmp_path):
    """Weights, config, predictions, and Adam's state of the 0-d temperature (saved as a 0-d
    tensor, restored as an array): the resumed optimizer steps exactly as the original."""
    model, optimizer, trainer, x, y = trained_two_tower()
    path = io.save(tmp_path / "m.safetensors", model, optimizer=optimizer, trainer=trainer)
    spec = io.load(path, allowed_classes=[TwoTower]).architecture
    assert spec == {"type": "Module", "module": __name__, "name": "TwoTower", "config": {"width": 3, "scale": 0.5},
                    "dtype": "float32"}  # fmt: skip
    for allowed in ([TwoTower], [f"{__name__}.TwoTower"]):
        checkpoint = io.load(path, allowed_classes=allowed)
        assert type(checkpoint.model) is TwoTower and checkpoint.model.scale == 0.5
        for name, array in model.state_dict().items():
            np.testing.assert_array_equal(checkpoint.model.state_dict()[name], array, err_msg=name)
    temperature = [p is model.temperature for p in model.parameters()].index(True)
    assert checkpoint.optimizer_state["state"][temperature]["exp_avg"].shape == ()

    fresh = optim.Adam(checkpoint.model.parameters(), lr=0.05)
    resumed = Trainer(checkpoint.model, nn.MSELoss(), fresh)
    checkpoint.restore(optimizer=fresh, trainer=resumed)
    assert isinstance(fresh.state[checkpoint.model.temperature]["exp_avg"], np.ndarray)
    trainer.fit(x, y, epochs=2, batch_size=8, verbose=0)
    resumed.fit(x, y, epochs=2, batch_size=8, verbose=0)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(checkpoint.model.state_dict()[name], array, err_msg=name)


def test_user_classes_nest_in_sequentials_and_named_sequentials_keep_their_names(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(OrderedDict(encoder=Plain(), norm=nn.BatchNorm1d(2), out=nn.Linear(2, 1))).double()
    model(cr.tensor(np.random.default_rng(0).standard_normal((4, 3))))  # running statistics, one batch counted
    path = io.save(tmp_path / "m.safetensors", model.eval())
    checkpoint = io.load(path, allowed_classes=[Plain])
    norm = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    names = ["encoder.layer.weight", "encoder.layer.bias", *(f"norm.{n}" for n in norm), "out.weight", "out.bias"]
    assert list(checkpoint.model.state_dict()) == names
    assert checkpoint.model.norm.num_batches_tracked.shape == () and checkpoint.model.norm.num_batches_tracked == 1
    checkpoint.model.eval()
    assert checkpoint.model.encoder.layer.weight.dtype == np.float64
    x = np.ones((2, 3))
    np.testing.assert_array_equal(checkpoint.model(cr.tensor(x)).data, model(cr.tensor(x)).data)


def test_a_class_that_is_not_allowed_is_refused_and_nothing_is_imported(tmp_path):
    model, *_ = trained_two_tower(steps=1)
    path = io.save(tmp_path / "m.safetensors", model)
    with pytest.raises(ValueError, match=rf"user class '{__name__}.TwoTower', which this load does not allow; .*"
                                         r"allowed_classes=\[TwoTower\]"):  # fmt: skip
        io.load(path)
    with pytest.raises(ValueError, match="which this load does not allow"):
        io.load(path, allowed_classes=[Plain, "os.path.join"])
    # a file naming a module that is not allowed: refused before any import
    good = io.save(tmp_path / "plain.safetensors", Plain())
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with safe_open(str(good), "numpy") as file:
        metadata = {k: v for k, v in file.metadata().items() if k != "digest"}
    spec = {"type": "Module", "module": "json.tool", "name": "main", "config": {}}
    hostile = tmp_path / "hostile.safetensors"
    hostile.write_bytes(sealed_bytes(load_file(good), {**metadata, "architecture": json.dumps(spec)}))
    sys.modules.pop("json.tool", None)
    with pytest.raises(ValueError, match=r"'json\.tool\.main', which this load does not allow"):
        io.load(hostile, allowed_classes=[Plain])
    assert "json.tool" not in sys.modules
    with pytest.raises(ValueError, match=r"'json\.tool\.main' is not a chainrule Module subclass"):
        io.load(hostile, allowed_classes=["json.tool.main"])  # allowed by its path: imported, then refused
    with pytest.raises(TypeError, match="allowed_classes holds Module subclasses or their dotted paths"):
        io.load(hostile, allowed_classes=[json])


def test_saving_a_class_that_cannot_be_rebuilt_is_a_clear_error(tmp_path):
    class Local(nn.Module):
        pass

    with pytest.raises(TypeError, match="define the class at the top level of a module"):
        io.save(tmp_path / "m.safetensors", nn.Sequential(Local()))
    with pytest.raises(TypeError, match=r"its constructor needs width; define NeedsWidth.get_config\(\)"):
        io.save(tmp_path / "m.safetensors", NeedsWidth(2))
    io.save_state_dict(NeedsWidth(2), tmp_path / "w.safetensors")  # the weights alone always save
    assert not (tmp_path / "m.safetensors").exists()
