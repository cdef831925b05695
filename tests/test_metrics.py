"""Classification metrics against scikit-learn's: accuracy (labels, one-hot, multi-hot), binary
accuracy, precision/recall/F1 (binary, macro, per class), ROC-AUC with ties, top-k accuracy with
ties, the confusion matrix; and BCELoss models reporting their accuracy in ``fit``."""

from __future__ import annotations

import numpy
import pytest

import chainrule
from chainrule import nn, optim
from chainrule.training import fit, metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")

RNG = numpy.random.default_rng(7)
N, C = 200, 5
LOGITS = RNG.standard_normal((N, C)).round(1)  # rounded: ties between classes and samples
LABELS = RNG.integers(0, C, N)
LABELS[LABELS == 3] = 0  # class 3 never a label (but predicted): scikit-learn's label set rules
BINARY_SCORES = RNG.standard_normal((N, 1)).round(1)
BINARY_LABELS = (BINARY_SCORES[:, 0] + RNG.standard_normal(N) > 0).astype(int)


def predicted(scores, threshold=0.0):
    return scores.argmax(axis=1) if scores.shape[1] > 1 else (scores[:, 0] > threshold).astype(int)


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
def test_macro_and_per_class_equal_sklearn(name):
    ours = getattr(metrics, name)
    theirs = getattr(
        sklearn_metrics, {"precision": "precision_score", "recall": "recall_score", "f1": "f1_score"}[name]
    )
    truth, guess = LABELS, predicted(LOGITS)
    assert ours(LOGITS, LABELS) == pytest.approx(theirs(truth, guess, average="macro", zero_division=0), rel=1e-14)
    assert ours(LOGITS, LABELS, average="macro") == ours(LOGITS, LABELS)
    numpy.testing.assert_allclose(
        ours(LOGITS, LABELS, average=None), theirs(truth, guess, average=None, zero_division=0)
    )


@pytest.mark.parametrize("name", ["precision", "recall", "f1"])
@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_binary_equal_sklearn(name, threshold):
    ours = getattr(metrics, name)
    theirs = getattr(
        sklearn_metrics, {"precision": "precision_score", "recall": "recall_score", "f1": "f1_score"}[name]
    )
    guess = predicted(BINARY_SCORES, threshold)
    assert ours(BINARY_SCORES, BINARY_LABELS, threshold=threshold) == pytest.approx(theirs(BINARY_LABELS, guess))
    numpy.testing.assert_allclose(
        ours(BINARY_SCORES, BINARY_LABELS, average=None, threshold=threshold),
        theirs(BINARY_LABELS, guess, average=None),
    )


def test_a_class_never_predicted_counts_zero_precision():
    scores = numpy.array([[2.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    labels = numpy.array([0, 2, 1])
    expected = sklearn_metrics.precision_score(labels, predicted(scores), average=None, zero_division=0)
    numpy.testing.assert_allclose(metrics.precision(scores, labels, average=None), expected)
    assert metrics.f1(scores, labels) == pytest.approx(
        sklearn_metrics.f1_score(labels, predicted(scores), average="macro")
    )


def test_confusion_matrix_equals_sklearn():
    expected = sklearn_metrics.confusion_matrix(LABELS, predicted(LOGITS), labels=range(C))
    ours = metrics.confusion_matrix(LOGITS, LABELS)
    assert ours.dtype == numpy.int64 and ours.shape == (C, C)
    numpy.testing.assert_array_equal(ours, expected)
    binary = metrics.confusion_matrix(BINARY_SCORES, BINARY_LABELS)
    numpy.testing.assert_array_equal(binary, sklearn_metrics.confusion_matrix(BINARY_LABELS, predicted(BINARY_SCORES)))
    assert metrics.confusion_matrix(LOGITS, LABELS, num_classes=7).shape == (7, 7)


@pytest.mark.parametrize("columns", [1, 2])
def test_roc_auc_with_ties_equals_sklearn(columns):
    if columns == 1:
        scores, reference = BINARY_SCORES, BINARY_SCORES[:, 0]
    else:
        scores = numpy.concatenate([numpy.zeros((N, 1)), BINARY_SCORES], axis=1).round(1)
        e = numpy.exp(scores - scores.max(axis=1, keepdims=True))
        reference = (e / e.sum(axis=1, keepdims=True))[:, 1]
    assert len(numpy.unique(reference)) < N / 2, "the scores must tie"
    assert metrics.roc_auc(scores, BINARY_LABELS) == pytest.approx(
        sklearn_metrics.roc_auc_score(BINARY_LABELS, reference), rel=1e-14
    )
    probabilities = 1 / (1 + numpy.exp(-BINARY_SCORES))  # the same ranking
    assert metrics.roc_auc(probabilities, BINARY_LABELS) == pytest.approx(metrics.roc_auc(BINARY_SCORES, BINARY_LABELS))


def test_roc_auc_needs_both_classes_and_binary_outputs():
    with pytest.raises(ValueError, match="needs both classes"):
        metrics.roc_auc(BINARY_SCORES, numpy.ones(N, dtype=int))
    with pytest.raises(ValueError, match="binary classification"):
        metrics.roc_auc(LOGITS, LABELS)


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_top_k_accuracy_with_ties_equals_sklearn(k):
    expected = sklearn_metrics.top_k_accuracy_score(LABELS, LOGITS, k=k, labels=range(C))
    assert metrics.top_k_accuracy(LOGITS, LABELS, k=k) == pytest.approx(expected, rel=1e-15)
    assert metrics.get_metric(f"top_{k}_accuracy")(LOGITS, LABELS) == metrics.top_k_accuracy(LOGITS, LABELS, k=k)
    assert metrics.top_k_accuracy(LOGITS, LABELS, k=C) == 1.0  # every class is among the top C


def test_accuracy_with_labels_one_hot_and_multi_hot_equals_sklearn():
    assert metrics.accuracy(LOGITS, LABELS) == sklearn_metrics.accuracy_score(LABELS, predicted(LOGITS))
    one_hot = numpy.eye(C)[LABELS]
    assert metrics.accuracy(LOGITS, one_hot) == metrics.accuracy(LOGITS, LABELS)
    multi_hot = (RNG.random((N, C)) < 0.4).astype(float)
    probabilities = RNG.random((N, C))
    multi_hot[probabilities > 0.85] = 1  # some agreement
    guess = (probabilities > 0.5).astype(int)
    assert metrics.accuracy(probabilities, multi_hot, threshold=0.5) == sklearn_metrics.accuracy_score(multi_hot, guess)
    assert metrics.binary_accuracy(probabilities, multi_hot, threshold=0.5) == pytest.approx(
        1 - sklearn_metrics.hamming_loss(multi_hot, guess)
    )
    with pytest.raises(ValueError, match="must be 0/1 indicators"):
        metrics.accuracy(LOGITS, LOGITS)


def test_metric_names():
    assert metrics.get_metric("f1") is metrics.f1
    assert metrics.get_metric("accuracy", nn.BCELoss())(numpy.array([[0.6], [0.4]]), numpy.array([1, 0])) == 1.0
    assert (
        metrics.get_metric("accuracy", nn.BCEWithLogitsLoss())(numpy.array([[0.6], [0.4]]), numpy.array([1, 0])) == 0.5
    )
    with pytest.raises(ValueError, match=r"unknown metric 'f2'.*top_K_accuracy"):
        metrics.get_metric("f2")
    assert all(metrics.higher_is_better(n) for n in ("val_f1", "roc_auc", "top_3_accuracy", "val_precision"))
    assert not metrics.higher_is_better("val_loss")


@pytest.mark.parametrize("targets", ["labels", "one-hot", "multi-hot"])
def test_bce_with_sigmoid_outputs_trains_and_reports_accuracy(targets):
    """No custom loss: BCELoss on a sigmoid output, integer labels or 0/1 rows, and the history's
    accuracy is scikit-learn's on the predictions cut at ½."""
    rng = numpy.random.default_rng(0)
    x = rng.standard_normal((120, 4)).astype(numpy.float32)
    columns = {"labels": [x[:, 0] + x[:, 1] > 0], "one-hot": None, "multi-hot": [x[:, 0] > 0, x[:, 1] > 0, x[:, 2] > 0]}
    if targets == "one-hot":
        y = numpy.eye(3, dtype=numpy.float32)[numpy.digitize(x[:, 0], [-0.4, 0.4])]
    else:
        y = numpy.stack(columns[targets], axis=1).astype(numpy.float32)
        y = y[:, 0].astype(numpy.int64) if targets == "labels" else y
    chainrule.manual_seed(0)
    outputs = 1 if targets == "labels" else 3
    model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, outputs), nn.Sigmoid())
    history = fit(model, nn.BCELoss(), optim.Adam(model.parameters(), lr=0.05), x, y, epochs=40, batch_size=30,
                  metrics=["accuracy"], verbose=0, seed=0)  # fmt: skip
    assert history.history["accuracy"][-1] > 0.85
    with chainrule.no_grad():
        probabilities = model(chainrule.tensor(x)).numpy()
    if targets == "labels":
        expected = sklearn_metrics.accuracy_score(y, probabilities[:, 0] > 0.5)
    elif targets == "one-hot":
        expected = sklearn_metrics.accuracy_score(y.argmax(1), probabilities.argmax(1))
    else:
        expected = sklearn_metrics.accuracy_score(y, (probabilities > 0.5).astype(int))
    from chainrule.training import Trainer

    trainer = Trainer(model, nn.BCELoss(), optim.Adam(model.parameters()), metrics=["accuracy"])
    assert trainer.evaluate(x, y)["accuracy"] == pytest.approx(expected)
