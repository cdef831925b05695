"""Resuming is bit-identical: 10 epochs, save, load into fresh objects, 10 more epochs equal 20
straight epochs to the last bit (weights, optimizer state, history, learning rates), with Dropout
drawing from the global generator or its own, shuffling, each scheduler and early stopping; and
the same ``--seed`` gives the same files through the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.io import ModelCheckpoint
from chainrule.optim import lr_scheduler
from chainrule.training import EarlyStopping, LearningRateScheduler, Trainer

EPOCHS, HALF, BATCH = 20, 10, 8


def data():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    return x, (x[:, 0] + x[:, 1] > 0).astype(np.int64) + (x[:, 2] > 0.8)


def own_generator_dropout():
    return nn.Dropout(0.3, generator=np.random.default_rng(5))


CASES = {
    # name: (optimizer, callbacks made on the optimizer, Dropout maker)
    "dropout and shuffling": ("adam", lambda o: [], nn.Dropout),
    "dropout with its own generator": ("adam", lambda o: [], own_generator_dropout),
    "SGD momentum": ("momentum", lambda o: [], nn.Dropout),
    "StepLR": ("adam", lambda o: [LearningRateScheduler(lr_scheduler.StepLR(o, step_size=3, gamma=0.5))], nn.Dropout),
    "ExponentialLR": ("momentum", lambda o: [LearningRateScheduler(lr_scheduler.ExponentialLR(o, 0.8))], nn.Dropout),
    "CosineAnnealingLR": ("adam", lambda o: [LearningRateScheduler(lr_scheduler.CosineAnnealingLR(o, 20))], nn.Dropout),
    "CosineAnnealingLR by batch": (
        "adam",
        lambda o: [LearningRateScheduler(lr_scheduler.CosineAnnealingLR(o, 37), interval="batch")],
        nn.Dropout,
    ),
    "ReduceLROnPlateau": (
        "momentum",
        lambda o: [LearningRateScheduler(lr_scheduler.ReduceLROnPlateau(o, factor=0.5, patience=1), monitor="loss")],
        nn.Dropout,
    ),
    "schedule function": ("adam", lambda o: [LearningRateScheduler(lambda epoch, lr: lr * 0.9)], nn.Dropout),
    "EarlyStopping": ("adam", lambda o: [EarlyStopping("loss", patience=5, min_delta=0.02)], nn.Dropout),
    "all of them": (
        "adam",
        lambda o: [
            LearningRateScheduler(lr_scheduler.CosineAnnealingLR(o, 20)),
            LearningRateScheduler(lr_scheduler.ReduceLROnPlateau(o, factor=0.7, patience=0), monitor="loss"),
            EarlyStopping("loss", patience=4),
        ],
        own_generator_dropout,
    ),
}


def build(case, seed=0):
    kind, callbacks, dropout = CASES[case]
    cr.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), dropout(), nn.Linear(16, 3))
    return model, make_optimizer(kind, model), callbacks


def make_optimizer(kind, model):
    if kind == "adam":
        return optim.Adam(model.parameters(), lr=0.02)
    return optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def fit(trainer, epochs, callbacks):
    x, y = data()
    return trainer.fit(x, y, epochs=epochs, batch_size=BATCH, callbacks=callbacks, verbose=0)


def assert_same_run(resumed, straight, global_draws):
    """Weights, optimizer state, learning rates, history and both generators equal to the last bit
    (``global_draws``: what the global generator drew right after the straight run)."""
    for (name, ours), theirs in zip(resumed.model.state_dict().items(), straight.model.state_dict().values()):
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    ours, theirs = resumed.optimizer.state_dict(), straight.optimizer.state_dict()
    assert ours["param_groups"] == theirs["param_groups"]
    for index, entries in theirs["state"].items():
        for key, value in entries.items():
            np.testing.assert_array_equal(ours["state"][index][key], value, err_msg=f"optimizer {index}.{key}")
    assert resumed.history.history == straight.history.history and resumed.history.epoch == straight.history.epoch
    assert resumed.history.stop_reason == straight.history.stop_reason
    np.testing.assert_array_equal(resumed.generator.random(3), straight.generator.random(3))
    np.testing.assert_array_equal(cr.backend.generator().random(3), global_draws)


CONSTANT_LR = {"dropout and shuffling", "dropout with its own generator", "SGD momentum", "EarlyStopping"}


@pytest.mark.parametrize("case", CASES)
def test_ten_epochs_save_load_ten_more_equal_twenty_straight_bit_for_bit(tmp_path, case):
    model, optimizer, callbacks = build(case)
    straight = Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=1)
    fit(straight, EPOCHS, callbacks(optimizer))
    global_draws = cr.backend.generator().random(3)
    assert (len(set(straight.history.history["lr"])) == 1) == (case in CONSTANT_LR)  # the schedules do something

    model, optimizer, callbacks = build(case)
    first = Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=1)
    fit(first, HALF, callbacks(optimizer))
    io.save(tmp_path / "half.safetensors", model, optimizer=optimizer, trainer=first)

    cr.manual_seed(12345)  # as in a new process: nothing of the first run's global generator is left
    checkpoint = io.load(tmp_path / "half.safetensors")
    fresh_optimizer = make_optimizer(CASES[case][0], checkpoint.model)
    fresh_callbacks = callbacks(fresh_optimizer)
    resumed = Trainer(checkpoint.model, nn.CrossEntropyLoss(), fresh_optimizer)
    checkpoint.restore(optimizer=fresh_optimizer, trainer=resumed, callbacks=fresh_callbacks)
    fit(resumed, EPOCHS - HALF, fresh_callbacks)
    if case == "EarlyStopping":
        assert straight.history.stop_reason and len(straight.history.epoch) > HALF  # it stops in the second half
    assert_same_run(resumed, straight, global_draws)


def test_resuming_from_a_model_checkpoint_written_mid_run_with_restore_best_weights(tmp_path):
    """A run killed after epoch 12 resumes from ModelCheckpoint's file of that epoch: with early
    stopping that restores the best weights at the end, a cosine schedule, Dropout and shuffling,
    the resumed run ends as the uninterrupted one (the best weights come back from the file)."""

    def run(epochs, save):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
        optimizer = optim.Adam(model.parameters(), lr=0.05)
        callbacks = [
            LearningRateScheduler(lr_scheduler.CosineAnnealingLR(optimizer, 20)),
            EarlyStopping("loss", patience=8, restore_best_weights=True),
        ]
        trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=3)
        fit(trainer, epochs, [*callbacks, *([ModelCheckpoint(tmp_path / "e{epoch}.safetensors")] if save else [])])
        return trainer

    straight = run(EPOCHS, save=False)
    global_draws = cr.backend.generator().random(3)
    run(12, save=True)
    checkpoint = io.load(tmp_path / "e12.safetensors")
    assert checkpoint.callback_states[1]["state"]["best_weights"] is not None
    optimizer = optim.Adam(checkpoint.model.parameters(), lr=0.05)
    callbacks = [
        LearningRateScheduler(lr_scheduler.CosineAnnealingLR(optimizer, 20)),
        EarlyStopping("loss", patience=8, restore_best_weights=True),
        ModelCheckpoint(tmp_path / "r{epoch}.safetensors"),
    ]
    resumed = Trainer(checkpoint.model, nn.CrossEntropyLoss(), optimizer)
    checkpoint.restore(optimizer=optimizer, trainer=resumed, callbacks=callbacks)
    fit(resumed, EPOCHS - 12, callbacks)
    assert straight.history.epoch[-1] > 12 and straight.callbacks[1].best_epoch < straight.history.epoch[-1]
    assert_same_run(resumed, straight, global_draws)


def test_restore_refuses_callbacks_that_do_not_match(tmp_path):
    model, optimizer, callbacks = build("all of them")
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=1)
    fit(trainer, 2, callbacks(optimizer))
    checkpoint = io.load(io.save(tmp_path / "m.safetensors", model, optimizer=optimizer, trainer=trainer))
    assert [c["type"] for c in checkpoint.callback_states] == [
        "LearningRateScheduler",
        "LearningRateScheduler",
        "EarlyStopping",
    ]
    fresh = optim.Adam(checkpoint.model.parameters())
    with pytest.raises(ValueError, match=r"callbacks \['LearningRateScheduler', 'LearningRateScheduler', 'Early"):
        checkpoint.restore(callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="a StepLR state has exactly"):
        checkpoint.restore(callbacks=[LearningRateScheduler(lr_scheduler.StepLR(fresh, 2)), *callbacks(fresh)[1:]])
    assert fresh.param_groups[0]["lr"] == 0.001  # refused before anything changed


def test_model_checkpoint_first_warns_that_later_states_would_lag(tmp_path):
    model, optimizer, _ = build("StepLR")
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, seed=1)
    scheduler = LearningRateScheduler(lr_scheduler.StepLR(optimizer, 2))
    with pytest.warns(UserWarning, match="ModelCheckpoint comes before LearningRateScheduler"):
        fit(trainer, 1, [ModelCheckpoint(tmp_path / "m.safetensors"), scheduler])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(trainer, 1, [scheduler, ModelCheckpoint(tmp_path / "m.safetensors")])


CHAINRULE = shutil.which("chainrule", path=str(Path(sys.executable).parent)) or "chainrule"
TIMING = {"seconds_per_epoch"}
"""The fields of ``info --json`` that hold wall-clock time."""


def test_the_same_seed_gives_the_same_tensors_and_info_through_the_command_line(tmp_path):
    """Two ``chainrule train`` runs with ``--seed 3`` (dropout-free MLP, shuffling, validation split,
    cosine schedule, early stopping) write files with equal tensors, and ``info --json`` prints the
    same apart from timing; ``--seed 4`` gives other weights."""

    def train(name, seed):
        path = tmp_path / name
        command = [CHAINRULE, "train", "--dataset", "iris", "--save", path, "--epochs", "6", "--hidden", "5",
                   "--seed", str(seed), "--early-stopping", "3", "--quiet"]  # fmt: skip
        result = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        info = subprocess.run([CHAINRULE, "info", str(path), "--json"], capture_output=True, text=True, timeout=120)
        assert info.returncode == 0, info.stderr
        summary = json.loads(info.stdout)
        for name in TIMING:
            summary["config"].pop(name)
        return load_file(path), summary

    first, first_info = train("a.safetensors", 3)
    second, second_info = train("b.safetensors", 3)
    other, _ = train("c.safetensors", 4)
    assert first.keys() == second.keys() and "optimizer.state.0.exp_avg" in first
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert first_info == second_info and first_info["config"]["seed"] == 3
    assert not np.array_equal(first["0.weight"], other["0.weight"])
