"""Checkpoints: round trips, resume equality, preprocessing, ModelCheckpoint, damaged and foreign
files, and the atomic write (a save killed midway leaves the previous file intact)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.data import Preprocessor, from_arrays
from chainrule.data.table import Table
from chainrule.io.sealed import sealed_bytes
from chainrule.io.spec import model_from_spec, model_to_spec
from chainrule.training import Callback, Trainer, predict


def make(seed=0, lr=0.01):
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    return model, optim.Adam(model.parameters(), lr=lr)


def data(rng, n=48):
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x[:, 0] > x[:, 1]).astype(np.int64) + (x[:, 2] > 1)


def test_round_trip_keeps_weights_architecture_metadata_and_predictions(tmp_path, rng):
    model, optimizer = make()
    x, y = data(rng)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"], seed=0)
    trainer.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = io.save(tmp_path / "m.safetensors", model, optimizer=optimizer, config={"lr": 0.01},
                   metrics={"accuracy": 0.5}, trainer=trainer)  # fmt: skip
    checkpoint = io.load(path)
    assert checkpoint.config == {"lr": 0.01} and checkpoint.metrics == {"accuracy": 0.5}
    assert checkpoint.version == cr.__version__ and checkpoint.optimizer_type == "Adam"
    assert checkpoint.architecture["layers"][0] == {"type": "Linear", "in_features": 4, "out_features": 8, "bias": True}
    for (name, ours), (_, theirs) in zip(model.state_dict().items(), checkpoint.model.state_dict().items()):
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    np.testing.assert_array_equal(trainer.predict(x), predict(checkpoint.model, x))
    # anyone with safetensors reads the weights under PyTorch's names; metadata is JSON text
    tensors = load_file(path)
    np.testing.assert_array_equal(tensors["0.weight"], model[0].weight.data)
    assert "optimizer.state.0.exp_avg" in tensors


def test_loading_does_not_disturb_the_global_generator(tmp_path):
    model, _ = make()
    path = io.save(tmp_path / "m.safetensors", model)
    cr.manual_seed(3)
    expected = nn.Linear(2, 2).weight.data.copy()
    cr.manual_seed(3)
    io.load(path)
    np.testing.assert_array_equal(nn.Linear(2, 2).weight.data, expected)


def test_resume_10_plus_10_epochs_equals_20_epochs_bit_for_bit(tmp_path, rng):
    x, y = data(rng)
    model, optimizer = make()
    Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=1).fit(x, y, epochs=20, batch_size=5, verbose=0)

    first, first_optimizer = make()
    trainer = Trainer(first, nn.CrossEntropyLoss(), first_optimizer, seed=1)
    trainer.fit(x, y, epochs=10, batch_size=5, verbose=0)
    io.save(tmp_path / "half.safetensors", first, optimizer=first_optimizer, trainer=trainer)

    checkpoint = io.load(tmp_path / "half.safetensors")
    resumed_optimizer = optim.Adam(checkpoint.model.parameters(), lr=0.5)  # lr comes back from the file
    resumed = Trainer(checkpoint.model, nn.CrossEntropyLoss(), resumed_optimizer, seed=99)
    checkpoint.restore(optimizer=resumed_optimizer, trainer=resumed)
    history = resumed.fit(x, y, epochs=10, batch_size=5, verbose=0)
    assert history.epoch == list(range(1, 21)) and resumed_optimizer.param_groups[0]["lr"] == 0.01
    for ours, reference in zip(checkpoint.model.parameters(), model.parameters()):
        np.testing.assert_array_equal(ours.data, reference.data)
    with pytest.raises(ValueError, match="state of a Adam optimizer, not of a SGD"):
        checkpoint.restore(optimizer=optim.SGD(checkpoint.model.parameters(), lr=0.1))


def test_preprocessing_round_trip_through_a_checkpoint(tmp_path):
    table = Table(
        {
            "size": np.array([2104.0, 1600.0, 2400.0, 1416.0, 3000.0]),
            "city": np.array(["a", "b", "a", "c", "b"], dtype=object),
            "price": np.array([399900.0, 329900.0, 369000.0, 232000.0, 539900.0]),
        }
    )
    preprocessor = Preprocessor(target="price").fit(table)
    model = nn.Sequential(nn.Linear(len(preprocessor.feature_names_out), 1))
    path = io.save(tmp_path / "p.safetensors", model, preprocessor=preprocessor)
    restored = io.load(path).preprocessor
    np.testing.assert_array_equal(restored.transform(table), preprocessor.transform(table))
    np.testing.assert_array_equal(restored.transform_target(table), preprocessor.transform_target(table))
    z = np.array([[0.5], [-1.0]])
    np.testing.assert_array_equal(restored.inverse_transform_target(z), preprocessor.inverse_transform_target(z))
    assert restored.feature_names_out == ["size", "city=a", "city=b", "city=c"]
    classes = Preprocessor(target="label").fit(from_arrays(np.eye(3), np.array(["x", "y", "x"]), target_name="label"))
    path = io.save(tmp_path / "c.safetensors", nn.Sequential(nn.Linear(3, 2)), preprocessor=classes.to_dict())
    assert io.load(path).preprocessor.classes_.tolist() == ["x", "y"]


def test_spec_round_trip_of_every_layer_and_float64():
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(0, -1), nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4, momentum=None), nn.LeakyReLU(0.2),
        nn.Dropout(0.1),
        nn.Sequential(nn.Linear(4, 2), nn.Tanh(), nn.Sigmoid(), nn.Identity(), nn.Softmax(dim=1)),
    ).double()  # fmt: skip
    spec = json.loads(json.dumps(model_to_spec(model)))
    rebuilt = model_from_spec(spec)
    assert model_to_spec(rebuilt) == spec and spec["dtype"] == "float64"
    assert repr(rebuilt) == repr(model)

    class Custom(nn.Module):
        pass

    with pytest.raises(TypeError, match="cannot save a Custom"):
        model_to_spec(nn.Sequential(Custom()))
    with pytest.raises(ValueError, match=r"unknown layer type 'os\.system'"):
        model_from_spec({"type": "Sequential", "layers": [{"type": "os.system", "command": "true"}]})
    with pytest.raises(ValueError, match="argument 'in_features' has the wrong type"):
        model_from_spec({"type": "Sequential", "layers": [{"type": "Linear", "in_features": "3", "out_features": 1}]})


def test_model_checkpoint_saves_only_improving_epochs(tmp_path, rng):
    from chainrule.io import ModelCheckpoint

    class Script(Callback):
        def on_epoch_end(self, trainer, logs):
            logs["val_loss"] = [3.0, 1.0, 2.0, 0.5][trainer.epoch - 1]
            if trainer.epoch == 2:
                self.best = [p.data.copy() for p in trainer.model.parameters()]

    x, y = data(rng)
    model, optimizer = make()
    script = Script()
    best = ModelCheckpoint(tmp_path / "best.safetensors", best_only=True)
    every = ModelCheckpoint(tmp_path / "e{epoch}.safetensors")
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=0)
    trainer.fit(x, y, epochs=3, batch_size=8, callbacks=[script, best, every], verbose=0)
    assert len(best.saved) == 2 and sorted(os.listdir(tmp_path)) == sorted(
        ["best.safetensors", "e1.safetensors", "e2.safetensors", "e3.safetensors"]
    )
    checkpoint = io.load(tmp_path / "best.safetensors")
    assert checkpoint.metrics["epoch"] == 2 and checkpoint.trainer_state["epoch"] == 2
    for restored, kept in zip(checkpoint.model.parameters(), script.best):
        np.testing.assert_array_equal(restored.data, kept)


@pytest.fixture
def saved(tmp_path):
    model, _ = make()
    return io.save(tmp_path / "good.safetensors", model)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: b"", "corrupt, truncated or not a .safetensors file"),
        (lambda raw: raw[: len(raw) // 2], "corrupt, truncated or not a .safetensors file"),
        (lambda raw: np.random.default_rng(0).bytes(500), "corrupt, truncated or not a .safetensors file"),
        (lambda raw: raw[:-1] + bytes([raw[-1] ^ 1]), "do not match the SHA-256 digest"),
    ],
    ids=["empty", "truncated", "random-bytes", "flipped-bit"],
)
def test_damaged_files_get_a_clear_error(saved, damage, message):
    saved.write_bytes(damage(saved.read_bytes()))
    with pytest.raises(ValueError, match=message):
        io.load(saved)


def test_foreign_and_inconsistent_files_get_a_clear_error(tmp_path, saved):
    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": np.ones((2, 2), np.float32)}, foreign, metadata={"framework": "other"})
    with pytest.raises(ValueError, match="safetensors file but not a chainrule model"):
        io.load(foreign)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.load(tmp_path / "missing.safetensors")
    # chainrule metadata over tensors that do not fit the architecture (digest recomputed)
    with safe_open(str(saved), "numpy") as file:
        metadata = {k: v for k, v in file.metadata().items() if k != "digest"}
    tensors = load_file(saved)
    tensors["0.weight"] = np.zeros((8, 5), np.float32)
    saved.write_bytes(sealed_bytes(tensors, metadata))
    with pytest.raises(ValueError, match=r"'0.weight' is float32\[8, 5\] but the architecture needs float32\[8, 4\]"):
        io.load(saved)
    del tensors["0.weight"]
    saved.write_bytes(sealed_bytes(tensors, metadata))
    with pytest.raises(ValueError, match=r"missing tensors \['0.weight'\]"):
        io.load(saved)


def test_a_save_killed_midway_leaves_the_previous_file_intact(tmp_path):
    model, _ = make()
    path = io.save(tmp_path / "model.safetensors", model)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os, sys, time
        import chainrule as cr
        from chainrule import io, nn
        real_fsync = os.fsync
        def slow_fsync(fd):
            print("writing", flush=True)   # the new bytes are half-way to disk: kill here
            time.sleep(60)
            real_fsync(fd)
        os.fsync = slow_fsync
        cr.manual_seed(1)
        io.save({str(path)!r}, nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)))
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "writing"
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    np.testing.assert_array_equal(io.load(path).model[0].weight.data, model[0].weight.data)
    # the interrupted temporary file is a hidden sibling, never the model's own name
    assert all(name.startswith(".model.safetensors.") for name in os.listdir(tmp_path) if name != path.name)
