"""The fit loop: batches, shuffling, history, metrics, callbacks, the non-finite guard, class
weights and reproducibility, checked against PyTorch 2.13.0 loops and hand-computed values."""

from __future__ import annotations

import io
import itertools
import math
import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, optim
from chainrule.training import (
    Callback,
    ClassWeightedLoss,
    EarlyStopping,
    EpochLines,
    LearningRateScheduler,
    NonFiniteLossWarning,
    ProgressBar,
    Trainer,
    accuracy,
    fit,
    mae,
    mse,
    r2,
    rmse,
)
from chainrule.training.trainer import class_weights


def make_model(sizes=(3, 5, 2), dtype=cr.float64, seed=0):
    cr.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(dtype)


def torch_copy(model):
    layers = []
    for layer in model:
        if isinstance(layer, nn.Linear):
            linear = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(layer.weight.data.copy()))
                linear.bias.copy_(torch.from_numpy(layer.bias.data.copy()))
            layers.append(linear)
        else:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


def data(rng, n=23, features=3, classes=2):
    x = rng.standard_normal((n, features))
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) if classes == 2 else rng.integers(0, classes, n)
    return x, y


@pytest.mark.parametrize("batch_size", [1, 4, None])
def test_fit_equals_a_pytorch_loop_with_the_same_shuffles(rng, batch_size):
    x, y = data(rng)
    model = make_model()
    reference = torch_copy(model)
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        x,
        y,
        epochs=3,
        batch_size=batch_size,
        seed=7,
        verbose=0,
    )
    opt = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    order_rng = np.random.default_rng(7)
    size = batch_size or len(x)
    for epoch in range(3):
        order = order_rng.permutation(len(x))
        xs, ys = torch.from_numpy(x[order]), torch.from_numpy(y[order])
        total = 0.0
        for start in range(0, len(x), size):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(reference(xs[start : start + size]), ys[start : start + size])
            loss.backward()
            opt.step()
            total += loss.item() * len(xs[start : start + size])
        assert history.history["loss"][epoch] == pytest.approx(total / len(x), rel=1e-12)
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert history.epoch == [1, 2, 3]
    assert history.history["lr"] == [0.1, 0.1, 0.1]


def test_metrics_hand_computed():
    scores = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(scores, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    assert accuracy(np.array([[0.3], [-2.0]]), np.array([1, 1])) == 0.5  # one logit column: z > 0
    h, y = np.array([[1.0], [2.0], [3.0]]), np.array([1.0, 3.0, 5.0])
    assert mse(h, y) == pytest.approx(5 / 3)
    assert rmse(h, y) == pytest.approx(math.sqrt(5 / 3))
    assert mae(h, y) == pytest.approx(1.0)
    assert r2(h, y) == pytest.approx(1 - 5 / 8)  # Σ(y − ȳ)² = 4 + 0 + 4


def test_history_keys_validation_split_and_evaluate(rng):
    x, y = data(rng, n=40)
    model = make_model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), metrics=["accuracy"], seed=0)
    history = trainer.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    # validation is the last quarter, unshuffled, scored with the weights after the last epoch
    assert history.history["val_loss"][-1] == pytest.approx(trainer.evaluate(x[30:], y[30:])["loss"], rel=1e-12)
    with torch.no_grad():
        logits = torch_copy(model)(torch.from_numpy(x[30:]))
    expected = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[30:])).item()
    assert history.history["val_loss"][-1] == pytest.approx(expected, rel=1e-10)
    assert history.history["val_accuracy"][-1] == pytest.approx(float((logits.argmax(1).numpy() == y[30:]).mean()))


def test_hooks_run_in_order_and_see_gradients_before_the_step(rng):
    x, y = data(rng, n=8)
    seen = []

    class Recorder(Callback):
        def on_train_begin(self, trainer, logs):
            seen.append(("train_begin", logs["samples"], logs["batches"]))

        def on_epoch_begin(self, trainer, logs):
            seen.append(("epoch_begin", logs["epoch"]))

        def on_batch_begin(self, trainer, logs):
            seen.append(("batch_begin", trainer.batch))

        def on_after_backward(self, trainer, logs):
            grads = [p.grad for p in trainer.model.parameters()]
            assert all(g is not None for g in grads)
            self.before = [p.data.copy() for p in trainer.model.parameters()]
            seen.append(("after_backward", logs["loss"] > 0))

        def on_batch_end(self, trainer, logs):
            changed = any(not np.array_equal(a, p.data) for a, p in zip(self.before, trainer.model.parameters()))
            seen.append(("batch_end", changed))

        def on_epoch_end(self, trainer, logs):
            seen.append(("epoch_end", trainer.epoch, "loss" in logs))

        def on_train_end(self, trainer, logs):
            seen.append(("train_end", trainer.history is not None, trainer.stop_training))

    model = make_model()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=2, batch_size=4,
        callbacks=[Recorder()], verbose=0)  # fmt: skip
    batch = [("batch_begin", 0), ("after_backward", True), ("batch_end", True)]
    batch2 = [("batch_begin", 1), ("after_backward", True), ("batch_end", True)]
    assert seen == [
        ("train_begin", 8, 2),
        ("epoch_begin", 1), *batch, *batch2, ("epoch_end", 1, True),
        ("epoch_begin", 2), *batch, *batch2, ("epoch_end", 2, True),
        ("train_end", True, False),
    ]  # fmt: skip


class Scripted(Callback):
    """Overwrites logs[name] with scripted values and keeps every epoch's weights."""

    def __init__(self, name, values):
        self.name, self.values, self.weights = name, values, {}

    def on_epoch_end(self, trainer, logs):
        logs[self.name] = self.values[trainer.epoch - 1]
        self.weights[trainer.epoch] = [p.data.copy() for p in trainer.model.parameters()]


def run_scripted(rng, values, stopper, name="val_loss", epochs=None):
    x, y = data(rng, n=12)
    model = make_model()
    script = Scripted(name, values)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5), seed=0)
    trainer.fit(x, y, epochs=epochs or len(values), batch_size=4, callbacks=[script, stopper], verbose=0)
    return trainer, script


def test_early_stopping_patience_and_restore_on_early_stop(rng):
    stopper = EarlyStopping(patience=2, restore_best_weights=True)
    trainer, script = run_scripted(rng, [3.0, 2.0, 2.5, 2.1, 1.0, 0.5], stopper)
    assert (stopper.best_epoch, stopper.stopped_epoch, trainer.epoch) == (2, 4, 4)
    assert "val_loss" in trainer.history.stop_reason
    for restored, best in zip(trainer.model.parameters(), script.weights[2]):
        np.testing.assert_array_equal(restored.data, best)


def test_early_stopping_restores_best_weights_at_the_epoch_limit_too(rng):
    stopper = EarlyStopping(patience=10, restore_best_weights=True)
    trainer, script = run_scripted(rng, [3.0, 1.0, 2.0, 2.5], stopper)
    assert stopper.stopped_epoch is None and trainer.epoch == 4
    for restored, best in zip(trainer.model.parameters(), script.weights[2]):
        np.testing.assert_array_equal(restored.data, best)
    assert not np.array_equal(script.weights[4][0], script.weights[2][0])


def test_early_stopping_min_delta_and_maximised_metrics(rng):
    stopper = EarlyStopping(patience=1, min_delta=0.1)
    run_scripted(rng, [1.0, 0.95, 0.5, 0.45], stopper)
    assert stopper.stopped_epoch == 2  # 0.95 is better, but not by more than 0.1
    stopper = EarlyStopping("val_accuracy", patience=1)
    run_scripted(rng, [0.5, 0.7, 0.6, 0.9], stopper, name="val_accuracy")
    assert (stopper.best_epoch, stopper.stopped_epoch) == (2, 3)
    with pytest.raises(ValueError, match=r"cannot monitor 'val_nothing'.*logged: loss"):
        run_scripted(rng, [1.0], EarlyStopping("val_nothing"), name="other")


def test_learning_rate_schedulers(rng):
    x, y = data(rng, n=8)
    model = make_model()
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.4), x, y, epochs=3,
                  callbacks=[LearningRateScheduler(lambda epoch, lr: 0.4 * 0.5**epoch)], verbose=0)  # fmt: skip
    assert history.history["lr"] == [0.4, 0.2, 0.1]
    optimizer = optim.SGD(model.parameters(), lr=0.4)
    step = LearningRateScheduler(optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.1))
    history = fit(model, nn.CrossEntropyLoss(), optimizer, x, y, epochs=3, callbacks=[step], verbose=0)
    assert history.history["lr"] == pytest.approx([0.4, 0.04, 0.004])
    optimizer = optim.SGD(model.parameters(), lr=0.4)
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    script = Scripted("loss", [1.0, 2.0, 3.0, 4.0])
    history = fit(model, nn.CrossEntropyLoss(), optimizer, x, y, epochs=4, verbose=0,
                  callbacks=[script, LearningRateScheduler(plateau, monitor="loss")])  # fmt: skip
    assert history.history["lr"] == pytest.approx([0.4, 0.4, 0.2, 0.1])


def test_nonfinite_loss_stops_and_keeps_the_last_finite_weights(rng):
    x = rng.standard_normal((64, 3)) * 10
    y = x.sum(axis=1) * 100
    model = make_model((3, 8, 1), dtype=cr.float32)
    before_step = []

    class Keep(Callback):
        def on_after_backward(self, trainer, logs):
            before_step.append(([p.data.copy() for p in trainer.model.parameters()], logs["loss"]))

    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=10.0), seed=0)
    likely_cause = r"learning rate \(lr=10\) is the likely cause"
    with pytest.warns(NonFiniteLossWarning, match=likely_cause), np.errstate(all="ignore"):
        history = trainer.fit(x, y, epochs=5, batch_size=4, callbacks=[Keep()], verbose=0)
    assert trainer.diverged and trainer.stop_training
    assert "loss is" in history.stop_reason and len(before_step) >= 2
    last_weights, last_loss = before_step[-1]
    assert math.isfinite(last_loss)
    for parameter, kept in zip(model.parameters(), last_weights):
        assert np.isfinite(parameter.data).all()
        np.testing.assert_array_equal(parameter.data, kept)


def test_class_weighted_loss_equals_pytorch_weighted_cross_entropy(rng):
    logits = rng.standard_normal((10, 3))
    labels = rng.integers(0, 3, 10)
    weights = np.array([0.2, 1.0, 3.0])
    loss = ClassWeightedLoss(nn.CrossEntropyLoss(), weights)(cr.tensor(logits), labels)
    expected = torch.nn.functional.cross_entropy(
        torch.from_numpy(logits), torch.from_numpy(labels), weight=torch.from_numpy(weights)
    )
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    np.testing.assert_allclose(class_weights("balanced", np.array([0, 0, 0, 1])), [4 / 6, 4 / 2])
    np.testing.assert_allclose(class_weights({1: 5.0}, np.array([0, 1, 2])), [1.0, 5.0, 1.0])
    # training with class weights changes the result, and is run through the weighted loss
    x, y = data(rng, n=16)
    a, b = make_model(), make_model()
    fit(a, nn.CrossEntropyLoss(), optim.SGD(a.parameters(), lr=0.1), x, y, epochs=1, seed=0, verbose=0)
    fit(b, nn.CrossEntropyLoss(), optim.SGD(b.parameters(), lr=0.1), x, y, epochs=1, seed=0, verbose=0,
        class_weight={0: 1.0, 1: 4.0})  # fmt: skip
    assert not np.array_equal(a[0].weight.data, b[0].weight.data)


def test_seed_makes_runs_bit_identical(rng):
    x, y = data(rng, n=30)

    def run(seed):
        model = make_model(dtype=cr.float32)
        fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01), x, y, epochs=3,
            batch_size=4, seed=seed, verbose=0)  # fmt: skip
        return [p.data.copy() for p in model.parameters()]

    first, again, other = run(5), run(5), run(6)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))


def test_progress_output(rng, capsys):
    x, y = data(rng, n=8)
    model = make_model()
    stream = io.StringIO()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=2, verbose=0,
        callbacks=[EpochLines(stream)], metrics=["accuracy"])  # fmt: skip
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("epoch 2/2") and "samples/s" in lines[1]
    assert "loss " in lines[1] and "accuracy " in lines[1]
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""  # quiet
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=1, verbose=1)
    assert capsys.readouterr().out.startswith("epoch 1/1")  # not a terminal: plain lines
    bar = io.StringIO()
    fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), x, y, epochs=1, verbose=0,
        callbacks=[ProgressBar(bar)])  # fmt: skip
    assert "epoch 1/1" in bar.getvalue() and "8/8" in bar.getvalue()


def test_bad_arguments_name_the_problem(rng):
    x, y = data(rng, n=8)
    model = make_model()
    sgd = optim.SGD(model.parameters(), lr=0.1)
    x_nan = x.copy()
    x_nan[5, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity at row 5, column 2"):
        fit(model, nn.CrossEntropyLoss(), sgd, x_nan, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="x has 8 rows but y has 7"):
        fit(model, nn.CrossEntropyLoss(), sgd, x, y[:7], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        fit(model, nn.CrossEntropyLoss(), sgd, x, y, epochs=1, batch_size=0, verbose=0)
    with pytest.raises(ValueError, match="validation_data or validation_split, not both"):
        fit(model, nn.CrossEntropyLoss(), sgd, x, y, epochs=1, validation_split=0.5, validation_data=(x, y))
    with pytest.raises(ValueError, match="shape \\(samples, features\\)"):
        fit(model, nn.CrossEntropyLoss(), sgd, x[:, 0], y, epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(model, nn.CrossEntropyLoss(), sgd, x, y, epochs=0, verbose=0)  # zero epochs: nothing happens
