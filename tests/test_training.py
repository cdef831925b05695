"""The fit loop: batches, shuffling, history, metrics, callbacks, the divergence guard, class
weights, reproducibility, train_step's contract, names as Keras's compile takes them and batch
sources, checked against PyTorch 2.13.0 loops and hand-computed values."""

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
from chainrule.nn import registry
from chainrule.training import (
    ArrayBatches,
    BatchSource,
    Callback,
    ClassWeightedLoss,
    DivergenceGuard,
    DivergenceWarning,
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
    names,
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

    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=10.0), seed=0, max_loss_growth=None)
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


# ---------------------------------------------------------------------- the divergence guard


def test_guard_growth_rule_hand_computed():
    p = nn.Parameter(np.zeros(2))
    guard = DivergenceGuard([p], max_growth=10.0)
    guard.start(None, rows=100)
    # warm-up: no growth test until 32 rows are seen, only NaN/∞
    assert guard.check(2.0, 8) is None and guard.check(1e9, 8) is None and guard.check(math.inf, 8) == "the loss is inf"
    assert guard.check(3.0, 8) is None and guard.check(5.0, 8) is None  # 32 rows: L₀ = (2 + 1e9 + 3 + 5) / 4
    guard.start(None, rows=100)
    for loss in (2.0, 4.0, 3.0, 7.0):
        assert guard.check(loss, 8) is None
    assert guard.reference == 4.0 and guard.limit == 40.0 and guard.settled
    # over 10 × L₀ at three steps in a row diverges; a passing loss in between starts the count again
    assert guard.check(41.0, 8) is None and guard.check(50.0, 8) is None and not guard.settled
    assert guard.check(39.0, 8) is None and guard.settled and guard.streak == 0
    assert guard.check(41.0, 8) is None and guard.check(41.0, 8) is None
    assert "grew to 60, more than 10 times its value at the start (4), for 3 steps in a row" in guard.check(60.0, 8)
    assert guard.check(math.nan, 8) == "the loss is nan" and guard.check(-math.inf, 8) == "the loss is -inf"
    guard.start(0.0)  # a zero (or negative) starting loss: no growth test, only NaN/∞
    assert guard.check(1e30, 8) is None and guard.check(math.inf, 8) == "the loss is inf"
    guard.start(None, rows=5)  # an epoch of 5 rows: L₀ is the first batch's loss
    guard.check(4.0, 5)
    assert guard.reference == 4.0 and guard.limit == 40.0


def test_the_guard_restores_the_weights_from_before_a_run_of_grown_losses():
    p = nn.Parameter(np.array([1.0]))
    guard = DivergenceGuard([p], max_growth=10.0)
    guard.start(1.0)
    for step, loss in enumerate([1.0, 20.0, 30.0, 40.0]):  # the weights at each loss are [step + 1]
        problem = guard.check(loss, 1)
        if problem:
            break
        guard.save()
        p.data[...] = step + 2
    guard.restore()
    assert problem and p.data[0] == 1.0  # the weights whose loss (1.0) passed, not those before step 4


def test_a_loss_that_grows_by_orders_of_magnitude_stops_training(rng):
    x = rng.standard_normal((64, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    model = make_model((3, 8, 1))
    seen = []

    class Losses(Callback):
        def on_after_backward(self, trainer, logs):
            seen.append((logs["loss"], [p.data.copy() for p in trainer.model.parameters()]))

    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=2.0), seed=0)
    with pytest.warns(DivergenceWarning, match=r"the loss grew to .*more than 10000 times .*lr=2\) is the likely"):
        history = trainer.fit(x, y, epochs=20, batch_size=32, callbacks=[Losses()], verbose=0)
    assert trainer.diverged and len(history.epoch) < 20
    start = seen[0][0]  # the first batch's loss: 32 rows, before any update
    stopped = float(history.stop_reason.split("grew to ")[1].split(",")[0])
    assert 1e4 * start < stopped < math.inf  # caught before it became infinite
    grown = [loss > 1e4 * start for loss, _ in seen]
    assert grown[-2:] == [True, True] and not grown[-3]  # two grown steps taken, the third stopped
    for parameter, weights in zip(model.parameters(), seen[-3][1]):  # back to the last passing loss
        np.testing.assert_array_equal(parameter.data, weights)
    # the same data with a learning rate that trains does not stop, even per sample
    healthy = Trainer(make_model((3, 8, 1)), nn.MSELoss(), "sgd", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        healthy.fit(x, y, epochs=20, batch_size=1, verbose=0)
    assert not healthy.diverged and healthy.history.history["loss"][-1] < 0.1 * healthy.history.history["loss"][0]


def test_a_fresh_trainer_on_a_trained_model_does_not_stop_at_one_hard_sample(rng):
    """A model already near zero loss, trained on by a new Trainer one sample at a time: the first
    samples' losses are tiny, an occasional one is 10⁴ times larger or more; that is not a divergence."""
    x = rng.standard_normal((40, 3))
    y = (x[:, 0] > 0).astype(np.int64)
    model = make_model((3, 8, 2))
    fit(model, "cross_entropy", optim.Adam(model.parameters(), lr=0.05), x, y, epochs=300, batch_size=40, verbose=0)
    x_hard, y_hard = np.concatenate([x, x[:1]]), np.concatenate([y, 1 - y[:1]])  # one mislabelled row at the end
    losses = []

    class Losses(Callback):
        def on_batch_end(self, trainer, logs):
            losses.append(logs["loss"])

    fresh = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=1e-4), seed=0)
    fresh.fit(x_hard, y_hard, epochs=2, batch_size=1, shuffle=False, callbacks=[Losses()], verbose=0)
    assert not fresh.diverged and max(losses) > 1e4 * np.mean(losses[:32])  # over the limit, once per epoch


def test_guard_reference_of_a_continued_run_is_its_first_epoch(rng):
    x, y = data(rng, n=64)
    model = make_model()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), seed=0)
    trainer.fit(x, y, epochs=2, verbose=0)
    trainer.fit(x, y, epochs=1, verbose=0)
    assert trainer._guard.reference == trainer.history.history["loss"][0]


# ---------------------------------------------------------------------- train_step's contract


class Recording(Trainer):
    """A trainer whose synchronize records the state it sees and replaces the decision values,
    as an all-reduce over processes would."""

    def __init__(self, *args, replace=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.replace, self.seen = replace or {}, []

    def synchronize(self, loss, stop):
        grads = [p.grad.copy() for p in self.model.parameters()]
        self.seen.append((loss, stop, grads, [p.data.copy() for p in self.model.parameters()]))
        return self.replace.get(len(self.seen), (loss, stop))


def test_train_step_synchronizes_after_backward_and_before_the_step(rng):
    x, y = data(rng, n=8)
    model = make_model()
    trainer = Recording(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), seed=0)
    before = [p.data.copy() for p in model.parameters()]
    loss, output = trainer.train_step((x, y))
    (seen_loss, stop, grads, weights) = trainer.seen[0]
    reference = torch_copy(make_model())
    expected = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)), torch.from_numpy(y))
    expected.backward()
    assert loss == seen_loss == pytest.approx(expected.item(), rel=1e-12) and stop is False
    for g, w, b, q in zip(grads, weights, before, reference.parameters()):
        np.testing.assert_allclose(g, q.grad.numpy(), rtol=1e-10, atol=1e-12)  # gradients are there …
        np.testing.assert_array_equal(w, b)  # … and the step is not taken yet
    for p, b, q in zip(model.parameters(), before, reference.parameters()):
        np.testing.assert_allclose(p.data, b - 0.1 * q.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert output.shape == (8, 2)


def test_a_divergence_seen_by_another_process_stops_this_one_the_same_way(rng):
    """The synchronized loss decides: a NaN from elsewhere stops this process after its backward,
    with no step, and the weights go back to before the last step taken."""
    x, y = data(rng, n=16)
    model = make_model()
    trainer = Recording(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), seed=0, replace={3: (math.nan, False)}
    )
    kept = []

    class Keep(Callback):
        def on_after_backward(self, trainer, logs):
            kept.append([p.data.copy() for p in trainer.model.parameters()])

    with pytest.warns(NonFiniteLossWarning, match="epoch 1, batch 3: the loss is nan"):
        trainer.fit(x, y, epochs=2, batch_size=4, callbacks=[Keep()], verbose=0)
    assert len(trainer.seen) == 3 and trainer.diverged and trainer.epoch == 0
    assert all(np.isfinite(g).all() and np.abs(g).sum() > 0 for g in trainer.seen[2][2])  # backward ran
    assert len(kept) == 2  # no after-backward hook and no step for the diverged batch
    for parameter, weights in zip(model.parameters(), kept[1]):
        np.testing.assert_array_equal(parameter.data, weights)  # before batch 2's step


def test_a_stop_request_ends_the_run_at_a_batch_boundary(rng):
    x, y = data(rng, n=16)
    model = make_model()
    trainer = Recording(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.1), seed=0, replace={6: (0.5, True)})
    steps = []

    class Count(Callback):
        def on_batch_end(self, trainer, logs):
            steps.append((trainer.epoch, logs["batch"], [p.data.copy() for p in trainer.model.parameters()]))

    history = trainer.fit(x, y, epochs=5, batch_size=4, callbacks=[Count()], verbose=0)
    assert trainer.interrupted and not trainer.diverged and not trainer.stop_requested
    assert [(e, b) for e, b, _ in steps] == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]  # step 6 taken
    assert history.epoch == [1] and history.stop_reason == "stopped on request in epoch 2, after batch 2"
    for parameter, weights in zip(model.parameters(), steps[-1][2]):
        np.testing.assert_array_equal(parameter.data, weights)
    # request_stop (a signal handler, another thread) goes through synchronize too
    other = Recording(make_model(), "cross_entropy", "sgd", seed=0)

    class Request(Callback):
        def on_batch_end(self, trainer, logs):
            if logs["batch"] == 1:
                trainer.request_stop()

    other.fit(x, y, epochs=3, batch_size=4, callbacks=[Request()], verbose=0)
    assert [stop for _, stop, _, _ in other.seen] == [False, False, True] and other.interrupted


def test_gradient_clipping_equals_pytorch(rng):
    x, y = data(rng, n=12)
    model = make_model()
    reference = torch_copy(model)
    fit_trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.5), seed=3, clip_grad_norm=0.05)
    fit_trainer.fit(x, y, epochs=2, batch_size=4, shuffle=False, verbose=0)
    opt = torch.optim.SGD(reference.parameters(), lr=0.5)
    for _ in range(2):
        for start in range(0, 12, 4):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(
                reference(torch.from_numpy(x[start : start + 4])), torch.from_numpy(y[start : start + 4])
            )
            loss.backward()
            torch.nn.utils.clip_grad_norm_(reference.parameters(), 0.05)
            opt.step()
    for ours, theirs in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------- names, as Keras's compile


def test_trainer_accepts_names_and_builds_what_they_mean(rng):
    x, y = data(rng, n=20)
    by_name = Trainer(make_model(), "Cross_Entropy", "adam", metrics=["accuracy"], seed=1)
    model = make_model()
    by_object = Trainer(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), metrics=["accuracy"], seed=1
    )
    assert isinstance(by_name.loss_fn, nn.CrossEntropyLoss) and isinstance(by_name.optimizer, optim.Adam)
    a = by_name.fit(x, y, epochs=3, batch_size=5, verbose=0)
    b = by_object.fit(x, y, epochs=3, batch_size=5, verbose=0)
    assert a.history == b.history
    expected = {
        "sgd": (optim.SGD, {"lr": 0.01, "momentum": 0.0}),
        "momentum": (optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": False}),
        "nesterov": (optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
        "adam": (optim.Adam, {"lr": 1e-3, "weight_decay": 0.0}),
        "adamw": (optim.AdamW, {"lr": 1e-3, "weight_decay": 1e-2}),
        "rmsprop": (optim.RMSprop, {"lr": 1e-2, "alpha": 0.99}),
        "adagrad": (optim.Adagrad, {"lr": 1e-2}),
    }
    assert set(expected) == set(names.OPTIMIZERS)
    for name, (cls, options) in expected.items():
        optimizer = Trainer(make_model(), "mse", name).optimizer
        assert type(optimizer) is cls, name
        assert {k: optimizer.param_groups[0][k] for k in options} == options, name
    built = names.optimizer("momentum", make_model().parameters(), lr=0.3, weight_decay=0.1)
    assert (built.param_groups[0]["lr"], built.param_groups[0]["weight_decay"]) == (0.3, 0.1)
    for name, entry in registry.LOSSES.items():  # the registry's names, any case, _ for -
        assert type(Trainer(make_model(), name.upper().replace("-", "_"), "sgd").loss_fn) is entry.module
    assert isinstance(Trainer(make_model(), "HuberLoss", "sgd").loss_fn, nn.HuberLoss)  # or the class's name


def test_wrong_argument_types_are_errors_at_construction_naming_the_argument():
    model = make_model()
    adam = optim.Adam(model.parameters())
    cases = [
        ((np.zeros(3), "mse", "adam"), {}, TypeError, "model must be a chainrule.nn.Module"),
        ((model, nn.MSELoss, adam), {}, TypeError, "loss_fn must be a loss module such as nn.MSELoss()"),
        ((model, 3, adam), {}, TypeError, "loss_fn must be"),
        ((model, "nope", adam), {}, ValueError, "unknown loss 'nope'; choose one of mse, cross-entropy"),
        ((model, "mse", optim.Adam), {}, TypeError, r"optimizer must be .* such as Adam\(model.parameters\(\)\)"),
        ((model, "mse", torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)), {}, TypeError, "optimizer"),
        ((model, "mse", "adamm"), {}, ValueError, "unknown optimizer 'adamm'; choose one of sgd"),
        ((model, "mse", optim.SGD(make_model(seed=1).parameters(), lr=0.1)), {}, ValueError, "not the model's"),
        ((model, "mse", adam), {"metrics": "accuracy"}, TypeError, r"metrics must be a list .*\['accuracy'\]"),
        ((model, "mse", adam), {"metrics": [len]}, TypeError, "metrics must be a list"),
        ((model, "mse", adam), {"metrics": ["acc"]}, ValueError, "unknown metric 'acc'"),
        ((model, "mse", adam), {"seed": "1"}, TypeError, "seed must be an integer"),
        ((model, "mse", adam), {"seed": -1}, TypeError, "seed must be an integer ≥ 0"),
        ((model, "mse", adam), {"clip_grad_norm": 0}, ValueError, "clip_grad_norm must be a positive number"),
        ((model, "mse", adam), {"max_loss_growth": "big"}, TypeError, "max_loss_growth must be a positive number"),
    ]
    for args, kwargs, error, message in cases:
        with pytest.raises(error, match=message):
            Trainer(*args, **kwargs)


# ---------------------------------------------------------------------- batch sources


class Chunks:
    """A source as a file reader gives it: batches made on the fly, rows in stored order."""

    def __init__(self, x, y, size):
        self.x, self.y, self.size, self.epochs = x, y, size, 0

    @property
    def rows(self):
        return len(self.x)

    @property
    def batches(self):
        return -(-len(self.x) // self.size)

    def epoch(self, generator):
        self.epochs += 1
        for start in range(0, len(self.x), self.size):
            yield self.x[start : start + self.size].copy(), self.y[start : start + self.size].copy()


def test_a_batch_source_trains_as_arrays_do(rng):
    x, y = data(rng, n=22)
    a, b = make_model(), make_model()
    arrays = Trainer(a, "cross_entropy", optim.SGD(a.parameters(), lr=0.2), metrics=["accuracy"], seed=0)
    streamed = Trainer(b, "cross_entropy", optim.SGD(b.parameters(), lr=0.2), metrics=["accuracy"], seed=0)
    arrays.fit(x, y, epochs=3, batch_size=5, shuffle=False, validation_data=(x[:7], y[:7]), verbose=0)
    source = Chunks(x, y, 5)
    assert isinstance(source, BatchSource) and not isinstance((x, y), BatchSource)
    streamed.fit(source, epochs=3, validation_data=Chunks(x[:7], y[:7], 3), verbose=0)
    assert source.epochs == 3
    for key in ("loss", "accuracy", "val_accuracy"):
        assert streamed.history.history[key] == pytest.approx(arrays.history.history[key], rel=1e-12), key
    assert streamed.history.history["val_loss"] == pytest.approx(arrays.history.history["val_loss"], rel=1e-12)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert streamed.evaluate(Chunks(x, y, 4)) == pytest.approx(arrays.evaluate(x, y), rel=1e-12)
    with pytest.raises(ValueError, match="y must be None"):
        streamed.fit(source, y, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="validation_split and class_weight need arrays"):
        streamed.fit(source, epochs=1, validation_split=0.2, verbose=0)


def test_array_batches_shuffle_with_the_trainers_generator(rng):
    x, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    source = ArrayBatches(x, y, 2)
    assert (source.rows, source.batches) == (5, 3)
    order = np.random.default_rng(4).permutation(5)
    batches = list(source.epoch(np.random.default_rng(4)))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), order)
    assert [len(b[0]) for b in batches] == [2, 2, 1]
    in_order = list(source.epoch(None))
    np.testing.assert_array_equal(in_order[2][0], x[4:])
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        ArrayBatches(x, y, 0)
