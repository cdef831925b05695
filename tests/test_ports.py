"""Other people's training code, ported to chainrule's PyTorch-style API and run side by side.

* micrograd's demo (make_moons, MLP(2, [16, 16, 1]), SVM max-margin loss + L2, a learning rate
  falling 1.0 → 0.1): chainrule with ``optim.SGD`` and ``LambdaLR`` against PyTorch doing the
  demo's update by hand, step for step.
* Nielsen's network2 (sigmoid layers, cross-entropy cost, L2 regularisation w ← (1 − ηλ/n) w − η/m Σ∇):
  ``BCELoss(reduction="sum")`` and SGD's ``weight_decay`` on the weights' parameter group against
  network2's equations written out in NumPy (our own code, from the book's formulas).

PyTorch's quickstart loop is in tests/test_dataset.py, the Keras guide's summary in
tests/test_torch_habits.py.
"""

from __future__ import annotations

import itertools

import numpy
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.optim import lr_scheduler
from chainrule.training import Trainer

torch = pytest.importorskip("torch")
datasets = pytest.importorskip("sklearn.datasets")


def test_micrograd_demo_side_by_side_with_pytorch():
    x, y = datasets.make_moons(n_samples=100, noise=0.1, random_state=1337)
    y = y * 2 - 1.0
    rng = numpy.random.default_rng(1337)  # micrograd's init: w ~ U(−1, 1), b = 0
    sizes = [2, 16, 16, 1]
    state = {}
    for index, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        state[f"{2 * index}.weight"] = rng.uniform(-1, 1, (n_out, n_in))
        state[f"{2 * index}.bias"] = numpy.zeros(n_out)
    ours = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1)).double()
    ours.load_state_dict(state)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1)
    ).double()
    theirs.load_state_dict({name: torch.tensor(array) for name, array in state.items()})
    optimizer = optim.SGD(ours.parameters(), lr=1.0)
    schedule = lr_scheduler.LambdaLR(optimizer, lambda k: 1.0 - 0.9 * k / 100)
    inputs, targets = chainrule.tensor(x, dtype="float64"), chainrule.tensor(y[:, None], dtype="float64")
    torch_inputs, torch_targets = torch.tensor(x), torch.tensor(y[:, None])
    alpha = 1e-4
    for k in range(30):
        scores = ours(inputs)
        loss = (1 + -targets * scores).relu().mean() + alpha * sum((p * p).sum() for p in ours.parameters())
        accuracy = ((targets > 0) == (scores > 0)).float().mean().item()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()

        torch_scores = theirs(torch_inputs)
        torch_loss = (1 + -torch_targets * torch_scores).relu().mean() + alpha * sum(
            (p * p).sum() for p in theirs.parameters()
        )
        torch_accuracy = ((torch_targets > 0) == (torch_scores > 0)).float().mean().item()
        theirs.zero_grad()
        torch_loss.backward()
        with torch.no_grad():
            for p in theirs.parameters():
                p -= (1.0 - 0.9 * k / 100) * p.grad
        assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-10), f"step {k}"
        assert accuracy == torch_accuracy
    assert accuracy > 0.8


def network2_reference(weights, biases, x, labels, epochs, batch, eta, lmbda):
    """network2's SGD written from its equations: a = σ(W a + b); δᴸ = a − y (cross-entropy);
    δˡ = (Wˡ⁺¹)ᵀ δˡ⁺¹ ⊙ σ′(zˡ); W ← (1 − ηλ/n) W − (η/m) Σ δ aᵀ, b ← b − (η/m) Σ δ."""
    weights, biases = [w.copy() for w in weights], [b.copy() for b in biases]
    n = len(x)
    targets = numpy.eye(weights[-1].shape[0])[labels]
    for _ in range(epochs):
        for start in range(0, n, batch):
            a = [x[start : start + batch].T]
            for w, b in zip(weights, biases):
                a.append(1 / (1 + numpy.exp(-(w @ a[-1] + b[:, None]))))
            delta = a[-1] - targets[start : start + batch].T
            grads = []
            for layer in range(len(weights) - 1, -1, -1):
                grads.append((delta @ a[layer].T, delta.sum(axis=1)))
                if layer:
                    delta = (weights[layer].T @ delta) * a[layer] * (1 - a[layer])
            m = len(a[0].T)
            for layer, (grad_w, grad_b) in zip(range(len(weights) - 1, -1, -1), grads):
                weights[layer] = (1 - eta * lmbda / n) * weights[layer] - (eta / m) * grad_w
                biases[layer] = biases[layer] - (eta / m) * grad_b
    return weights, biases


def test_nielsen_network2_side_by_side():
    digits = datasets.load_digits()
    x, labels = digits.data[:300] / 16.0, digits.target[:300]
    rng = numpy.random.default_rng(0)  # network2's default_weight_initializer
    sizes = [64, 20, 10]
    weights = [rng.standard_normal((out, n_in)) / numpy.sqrt(n_in) for n_in, out in itertools.pairwise(sizes)]
    biases = [rng.standard_normal(out) for out in sizes[1:]]
    epochs, batch, eta, lmbda = 2, 10, 0.5, 5.0
    expected_w, expected_b = network2_reference(weights, biases, x, labels, epochs, batch, eta, lmbda)

    model = nn.Sequential(nn.Linear(64, 20), nn.Sigmoid(), nn.Linear(20, 10), nn.Sigmoid()).double()
    model.load_state_dict({"0.weight": weights[0], "0.bias": biases[0], "2.weight": weights[1], "2.bias": biases[1]})
    n = len(x)
    optimizer = optim.SGD(
        [
            {"params": [model[0].weight, model[2].weight], "weight_decay": lmbda / n},  # L2 on weights only
            {"params": [model[0].bias, model[2].bias]},
        ],
        lr=eta,
    )
    cost = nn.BCELoss(reduction="sum")  # network2's CrossEntropyCost: Σ_j −y ln a − (1 − y) ln(1 − a)
    inputs, targets = chainrule.tensor(x), chainrule.tensor(numpy.eye(10)[labels])
    for _ in range(epochs):
        for start in range(0, n, batch):
            optimizer.zero_grad()
            rows = slice(start, start + batch)
            loss = cost(model(inputs[rows]), targets[rows]) / len(x[rows])  # (1/m) Σ_x C_x
            loss.backward()
            optimizer.step()
    for got, want in zip([model[0].weight, model[2].weight, model[0].bias, model[2].bias], [*expected_w, *expected_b]):
        numpy.testing.assert_allclose(got.data, want, rtol=1e-10, atol=1e-12)

    # network2's accuracy (argmax = label) is what the trainer reports for BCELoss with one-hot targets
    trainer = Trainer(model, nn.BCELoss(), optimizer, metrics=["accuracy"])
    a = x.T
    for w, b in zip(expected_w, expected_b):
        a = 1 / (1 + numpy.exp(-(w @ a + b[:, None])))
    accuracy = trainer.evaluate(x, numpy.eye(10)[labels])["accuracy"]
    assert accuracy == pytest.approx((a.argmax(axis=0) == labels).mean()) and accuracy > 0.2  # chance: 0.1
