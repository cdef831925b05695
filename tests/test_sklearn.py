"""``chainrule.sklearn``: scikit-learn's estimator checks, and scikit-learn's own MLP as the oracle.

With the same ``random_state`` the two draw the same initial weights, validation split and
order of the rows each epoch; with ``solver="sgd"`` they then take the same steps, so
``loss_curve_``, ``coefs_`` and the predictions agree to float64 rounding. Adam differs only in
where ε goes (PyTorch's convention, ε added to √v̂, against scikit-learn's ε added to √v), which
moves the weights by ~1e-4 relative.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import assert_close
from sklearn import neural_network
from sklearn.base import clone
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import chainrule as cr
from chainrule.sklearn import MLPClassifier, MLPRegressor

EXPECTED_FAILED_CHECKS: dict[str, str] = {}
"""scikit-learn checks that the estimators are allowed to fail, with the reason: none."""


@parametrize_with_checks([MLPClassifier(), MLPRegressor()], expected_failed_checks=lambda _: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _data(kind: str):
    if kind == "multiclass":
        return make_classification(120, 5, n_informative=3, n_classes=3, random_state=0)
    if kind == "binary":
        return make_classification(120, 5, random_state=1)
    if kind == "multilabel":
        return make_multilabel_classification(120, 5, n_classes=3, random_state=0)
    x, y = make_regression(120, 5, n_targets=2, random_state=0)
    return x, y / 100


def _pair(kind: str, **options):
    """The same estimator from scikit-learn and from chainrule, both fitted on ``kind``'s data."""
    x, y = _data(kind)
    settings = dict(hidden_layer_sizes=(7, 4), alpha=0.01, batch_size=50, max_iter=20, random_state=3)
    settings.update(learning_rate_init=0.01, n_iter_no_change=100, **options)
    theirs = neural_network.MLPRegressor if kind == "regression" else neural_network.MLPClassifier
    ours = MLPRegressor if kind == "regression" else MLPClassifier
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return x, theirs(**settings).fit(x, y), ours(**settings).fit(x, y)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel", "regression"])
@pytest.mark.parametrize("activation", ["tanh", "logistic", "relu", "identity"])
def test_sgd_takes_scikit_learns_steps(kind, activation):
    x, theirs, ours = _pair(kind, solver="sgd", activation=activation)
    # the loss values differ in rounding alone: scikit-learn takes ln σ(z) of clipped probabilities,
    # chainrule's cross-entropy the stable log-sigmoid of the logits (the gradients are the same)
    assert_close(ours.loss_curve_, theirs.loss_curve_, 1e-9, "scikit-learn", "loss_curve_")
    for mine, reference in zip([*ours.coefs_, *ours.intercepts_], [*theirs.coefs_, *theirs.intercepts_]):
        assert_close(mine, reference, 1e-10, "scikit-learn", "coefs_ and intercepts_")
    if kind == "regression":
        assert_close(ours.predict(x), theirs.predict(x), 1e-10, "scikit-learn", "predict")
    else:
        assert_close(ours.predict_proba(x), theirs.predict_proba(x), 1e-10, "scikit-learn", "predict_proba")
        assert (ours.predict(x) == theirs.predict(x)).all()
    assert ours.out_activation_ == theirs.out_activation_ and ours.n_outputs_ == theirs.n_outputs_
    assert ours.n_iter_ == theirs.n_iter_ == 20 and ours.t_ == theirs.t_ and ours.n_layers_ == theirs.n_layers_


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_adam_follows_scikit_learn_up_to_epsilons_place(kind):
    _, theirs, ours = _pair(kind, solver="adam")
    assert_close(ours.loss_curve_, theirs.loss_curve_, 1e-5, "scikit-learn (Adam)", "loss_curve_")
    for mine, reference in zip(ours.coefs_, theirs.coefs_):
        assert_close(mine, reference, 1e-3, "scikit-learn (Adam)", "coefs_")


def test_the_stopping_rule_and_early_stopping_are_scikit_learns():
    x, y = make_classification(300, 8, random_state=0)
    for early in (False, True):
        settings = dict(hidden_layer_sizes=(10,), solver="sgd", random_state=0, early_stopping=early)
        settings.update(learning_rate_init=0.05, tol=1e-3, n_iter_no_change=5, max_iter=500)
        theirs = neural_network.MLPClassifier(**settings).fit(x, y)
        ours = MLPClassifier(**settings).fit(x, y)
        assert ours.n_iter_ == theirs.n_iter_ < 500
        if early:
            assert_close(ours.validation_scores_, theirs.validation_scores_, 1e-12, "scikit-learn", "scores")
            assert ours.best_validation_score_ == theirs.best_validation_score_ and ours.best_loss_ is None
            assert_close(ours.coefs_[0], theirs.coefs_[0], 1e-12, "scikit-learn", "best coefs_")
        else:
            assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-12)


def test_learning_rate_schedules_are_scikit_learns():
    """Without momentum: with it, a changing rate enters PyTorch's v ← μv + g; p ← p − ηv (chainrule's
    SGD) and scikit-learn's v ← μv − ηg; p ← p + v differently."""
    x, y = make_regression(200, 4, random_state=0)
    y = y / 100
    for schedule in ("invscaling", "adaptive"):
        settings = dict(hidden_layer_sizes=(6,), solver="sgd", learning_rate=schedule, random_state=0)
        settings.update(momentum=0.0)
        settings.update(learning_rate_init=0.01, max_iter=60, n_iter_no_change=2, tol=0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs = neural_network.MLPRegressor(**settings).fit(x, y)
            ours = MLPRegressor(**settings).fit(x, y)
        assert_close(ours.loss_curve_, theirs.loss_curve_, 1e-10, "scikit-learn", f"{schedule} loss_curve_")
        assert ours.n_iter_ == theirs.n_iter_


def test_max_iter_warns_as_scikit_learn_does():
    x, y = _data("binary")
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        MLPClassifier(max_iter=3, random_state=0).fit(x, y)


def test_partial_fit_is_fit_one_epoch_at_a_time():
    x, y = _data("multiclass")
    settings = dict(hidden_layer_sizes=(8,), shuffle=False, random_state=0, n_iter_no_change=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = MLPClassifier(max_iter=5, **settings).fit(x, y)
    parts = MLPClassifier(**settings)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        parts.partial_fit(x, y)
    for _ in range(5):
        parts.partial_fit(x, y, classes=[0, 1, 2])
    assert_close(parts.coefs_[0], whole.coefs_[0], 1e-12, "itself", "partial_fit")
    assert parts.t_ == whole.t_ == 5 * len(x) and len(parts.loss_curve_) == 5
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        MLPClassifier(early_stopping=True).partial_fit(x, y, classes=[0, 1, 2])


def test_pipeline_grid_search_and_cross_val_score():
    x, y = make_classification(200, 6, random_state=0)
    pipeline = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0))
    scores = cross_val_score(pipeline, x, y, cv=KFold(3))
    by_hand = [clone(pipeline).fit(x[train], y[train]).score(x[test], y[test]) for train, test in KFold(3).split(x)]
    assert scores.tolist() == by_hand and min(scores) > 0.8

    grid = GridSearchCV(
        pipeline, {"mlpclassifier__alpha": [1e-4, 1.0], "mlpclassifier__hidden_layer_sizes": [(4,), (16,)]}
    )
    grid.fit(x, y)
    means = grid.cv_results_["mean_test_score"]
    assert grid.best_score_ == means.max() and len(means) == 4
    assert grid.best_estimator_.predict(x).shape == (200,)


def test_float32_inputs_train_a_float32_network_and_it_pickles():
    x, y = make_regression(100, 3, random_state=0)
    model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x.astype(np.float32), y.astype(np.float32) / 100)
    assert model.coefs_[0].dtype == np.float32 and model.predict(x).dtype == np.float32
    again = pickle.loads(pickle.dumps(model))
    assert (again.predict(x) == model.predict(x)).all()
    # the optimizer survives too (its flat buffers are views of the weights, which pickling copies
    # apart; the estimator pickles its state_dict): training on continues the same way
    for estimator in (model, again):
        estimator.partial_fit(x.astype(np.float32), y.astype(np.float32) / 100)
    assert (again.coefs_[0] == model.coefs_[0]).all()


def test_fit_leaves_chainrules_global_generator_alone():
    cr.manual_seed(5)
    expected = cr.randn(3).numpy()
    cr.manual_seed(5)
    x, y = _data("binary")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(max_iter=2, random_state=0).fit(x, y)
    assert (cr.randn(3).numpy() == expected).all()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"solver": "lbfgs"}, "lbfgs is not offered: use 'adam' or 'sgd'"),
        ({"activation": "gelu"}, "activation must be one of"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes must be positive integers"),
        ({"alpha": -1.0}, "alpha must be ≥ 0"),
        ({"learning_rate_init": 0.0}, "learning_rate_init must be > 0"),
        ({"batch_size": 0}, "batch_size must be 'auto' or a positive integer"),
        ({"validation_fraction": 1.0}, "validation_fraction must be in"),
    ],
)
def test_bad_parameters_are_named_at_fit(options, message):
    x, y = _data("binary")
    model = MLPClassifier(**options)  # scikit-learn's rule: no checks in __init__
    with pytest.raises(ValueError, match=message):
        model.fit(x, y)


def test_breast_cancer_matches_scikit_learn():
    """The gap the issue traced to initialisation and the output layer is closed: with scikit-learn's
    Glorot init and one logit, the test accuracy is scikit-learn's on each seed."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    for seed in range(2):
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        settings = dict(hidden_layer_sizes=(32,), max_iter=100, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs = neural_network.MLPClassifier(**settings).fit(x_train, y_train).score(x_test, y_test)
            ours = MLPClassifier(**settings).fit(x_train, y_train).score(x_test, y_test)
        assert ours >= theirs - 1 / len(y_test)


def test_without_scikit_learn_the_error_names_the_extra():
    code = "import sys; sys.modules['sklearn'] = None; import chainrule.sklearn"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "pip install 'chainrule[sklearn]'" in result.stderr
