"""``chainrule.io.CSVLogger``: one row per epoch, the history's numbers exactly, appended across
runs, and a complete file whenever and however training stops."""

from __future__ import annotations

import csv

import numpy
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.io import CSVLogger
from chainrule.training import Callback, EarlyStopping, Trainer


def make_trainer() -> Trainer:
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"], seed=0)


RNG = numpy.random.default_rng(0)
X = RNG.standard_normal((40, 2)).astype(numpy.float32)
Y = (X[:, 0] > 0).astype(numpy.int64)


def read(path, delimiter=","):
    with open(path, newline="") as handle:
        return list(csv.reader(handle, delimiter=delimiter))


def test_one_row_per_epoch_with_the_history_numbers(tmp_path):
    path = tmp_path / "log.csv"
    trainer = make_trainer()
    history = trainer.fit(X, Y, epochs=3, validation_split=0.25, callbacks=[CSVLogger(path)], verbose=0)
    header, *rows = read(path)
    assert header == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    for column, name in enumerate(header[1:], start=1):
        assert [float(row[column]) for row in rows] == history.history[name]  # repr: the same floats
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]  # no temporary file left


def test_append_continues_and_a_fresh_log_replaces(tmp_path):
    path = tmp_path / "log.csv"
    trainer = make_trainer()
    trainer.fit(X, Y, epochs=2, callbacks=[CSVLogger(path)], verbose=0)
    trainer.fit(X, Y, epochs=2, callbacks=[CSVLogger(path, append=True)], verbose=0)
    assert [row[0] for row in read(path)] == ["epoch", "1", "2", "3", "4"]
    trainer.fit(X, Y, epochs=1, callbacks=[CSVLogger(path)], verbose=0)
    assert [row[0] for row in read(path)] == ["epoch", "5"]


def test_a_column_that_appears_later_widens_the_header(tmp_path):
    path = tmp_path / "log.csv"
    trainer = make_trainer()
    trainer.fit(X, Y, epochs=1, callbacks=[CSVLogger(path, separator=";")], verbose=0)
    trainer.fit(X, Y, epochs=1, validation_data=(X, Y), callbacks=[CSVLogger(path, ";", append=True)], verbose=0)
    header, first, second = read(path, ";")
    assert header == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    assert first[-2:] == ["NA", "NA"] and second[-1] != "NA"


class Crash(Callback):
    def on_epoch_end(self, trainer, logs):
        if trainer.epoch == 2:
            raise KeyboardInterrupt


@pytest.mark.parametrize("stop", ["interrupt", "early stopping", "diverged"])
def test_the_file_is_complete_however_training_stops(tmp_path, stop):
    path = tmp_path / "log.csv"
    trainer, y = make_trainer(), Y
    if stop == "diverged":  # a linear regression at a rate that blows it up in the second epoch
        model = nn.Sequential(nn.Linear(2, 1))
        trainer, y = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=3.0), seed=0), X[:, :1] * 3
    logger = CSVLogger(path)
    callbacks = {
        "interrupt": [logger, Crash()],
        "early stopping": [logger, EarlyStopping(monitor="loss", min_delta=10.0)],
        "diverged": [logger],
    }[stop]
    if stop == "interrupt":
        with pytest.raises(KeyboardInterrupt):
            trainer.fit(X, y, epochs=5, callbacks=callbacks, verbose=0)
    elif stop == "diverged":
        with pytest.warns(RuntimeWarning, match="training stopped"):
            trainer.fit(X, y, epochs=5, batch_size=4, callbacks=callbacks, verbose=0)
    else:
        trainer.fit(X, y, epochs=5, callbacks=callbacks, verbose=0)
    rows = read(path)[1:] if path.exists() else []
    assert [int(row[0]) for row in rows] == list(range(1, trainer.epoch + 1))
    assert all(len(row) == len(read(path)[0]) for row in rows)
    assert 0 < trainer.epoch < 5 if stop == "diverged" else trainer.epoch == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == (["log.csv"] if rows else [])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        CSVLogger(tmp_path)
    with pytest.raises(ValueError, match="one character"):
        CSVLogger(tmp_path / "log.csv", separator="::")
