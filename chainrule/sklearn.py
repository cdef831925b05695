"""scikit-learn estimators: :class:`MLPClassifier` and :class:`MLPRegressor` trained by chainrule.

``pip install 'chainrule[sklearn]'``. They take scikit-learn's own MLP parameters, with its
meanings, defaults and conventions, so that existing code changes by one import::

    from chainrule.sklearn import MLPClassifier   # was: from sklearn.neural_network import …

and they work wherever an estimator does (``Pipeline``, ``GridSearchCV``, ``cross_val_score``,
``sklearn.utils.estimator_checks.check_estimator``). What is scikit-learn's here:

* **initialisation**: Glorot uniform, W, b ~ U(−a, a) with a = √(6 / (fan_in + fan_out))
  (√(2 / …) for ``activation="logistic"``), drawn from ``random_state`` in scikit-learn's order,
  so the starting weights are the ones ``sklearn.neural_network`` would draw;
* **output layer**: one logit and the logistic function for two classes (and for each label of
  a multi-label target), softmax over one logit per class otherwise, the identity for regression;
* **objective** (per batch of n rows): ½ (1/n) Σᵢ Σₖ (ŷᵢₖ − yᵢₖ)² (regression; ``loss_curve_``
  reports it divided by the k outputs, as scikit-learn does), cross-entropy summed over the
  outputs and averaged over the rows (classification), plus the L2 penalty
  (α / 2n) Σₗ ‖Wₗ‖² on the weights (not the intercepts); its gradient α Wₗ / n is the
  optimizer's ``weight_decay`` on the weights' parameter group;
* **solvers**: ``"adam"`` (``chainrule.optim.Adam`` with β₁, β₂, ε) and ``"sgd"``
  (``chainrule.optim.SGD`` with momentum, Nesterov's by default; learning rate ``"constant"``,
  ``"invscaling"`` η = η₀ / (t + 1)^power_t with t the rows seen, or ``"adaptive"`` ÷ 5 after
  ``n_iter_no_change`` epochs without progress); ``batch_size="auto"`` is min(200, n); the
  rows are shuffled each epoch as scikit-learn shuffles them, from ``random_state``;
* **stopping**: after each epoch, the training loss (or, with ``early_stopping``, the score on a
  ``validation_fraction`` split, stratified for classifiers) must improve by ``tol`` at least
  once in ``n_iter_no_change + 1`` epochs, else training stops (the best weights on the
  validation split are kept); a ``ConvergenceWarning`` when ``max_iter`` epochs end first;
* **dtype**: float32 inputs train a float32 network, everything else float64.

``solver="lbfgs"`` is not offered (chainrule's optimizers are first-order, epoch by epoch).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import Any

import numpy

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError:  # pragma: no cover - the message is the point
    raise ImportError("chainrule.sklearn needs scikit-learn 1.6 or later: pip install 'chainrule[sklearn]'") from None

from chainrule import backend, nn, optim
from chainrule.autograd import no_grad
from chainrule.nn import functional as F
from chainrule.tensor import Tensor
from chainrule.training import Callback, Trainer, predict
from chainrule.training.workflow import build_model

ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
"""scikit-learn's ``activation`` names → the names of chainrule's activation registry."""
SOLVERS = ("adam", "sgd")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
SMALLEST_ADAPTIVE_LR = 1e-6
"""``learning_rate="adaptive"`` stops once the rate would fall below this (scikit-learn's rule)."""


class _Scaled(nn.Module):
    """``factor · loss(output, target)``: k/2 · MSE for k outputs, a multi-label BCE summed over the labels."""

    def __init__(self, loss: nn.Module, factor: float) -> None:
        super().__init__()
        self.loss, self.factor = loss, factor

    def forward(self, output: Any, target: Any) -> Any:
        return self.loss(output, target) * self.factor


class _Epochs(Callback):
    """scikit-learn's bookkeeping around chainrule's loop: the L2 penalty's value and decay per batch,
    ``loss_curve_``, the learning-rate schedule and the stopping rule after each epoch."""

    def __init__(self, estimator: _BaseMLP, validation: tuple[Any, Any] | None, rows: int) -> None:
        self.estimator, self.validation, self.rows = estimator, validation, rows
        self.weights = [layer.weight for layer in estimator._linears()]
        self.penalty = 0.0

    def on_batch_begin(self, trainer: Any, logs: dict) -> None:
        # The penalty (α/2n) Σ ‖W‖² of this batch (n rows) before its step, weighted by n as the
        # data loss is: its share of the epoch's loss is (α/2) Σ ‖W‖² / rows.
        alpha = self.estimator.alpha
        self.penalty += 0.5 * alpha * sum(float(w.data.ravel().dot(w.data.ravel())) for w in self.weights)
        trainer.optimizer.param_groups[0]["weight_decay"] = alpha / logs["size"]

    def on_epoch_end(self, trainer: Any, logs: dict) -> None:
        est = self.estimator
        loss = est._reported(logs["loss"]) + self.penalty / self.rows
        self.penalty = 0.0
        est.n_iter_ += 1
        est.t_ += self.rows
        est.loss_ = loss
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        if self.validation is not None:
            score = est._score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            improved = score >= est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = [p.data.copy() for p in est._model.parameters()]
        else:
            improved = loss <= est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, loss)
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        group = trainer.optimizer.param_groups
        if est.solver == "sgd" and est.learning_rate == "invscaling":
            for g in group:
                g["lr"] = est.learning_rate_init / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            message = f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} consecutive epochs."
            if est.solver == "sgd" and est.learning_rate == "adaptive" and group[0]["lr"] > SMALLEST_ADAPTIVE_LR:
                for g in group:
                    g["lr"] /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{message} Setting learning rate to {group[0]['lr']:f}")
            else:
                if est.verbose:
                    print(f"{message} Stopping.")
                trainer.stop_training = est._converged = True


class _ScikitLearnOrder:
    """The rows' order of each epoch as scikit-learn's MLP draws it, for the trainer's ``generator``:
    its index array permuted again every epoch, ``order ← order[π]`` with π the permutation that
    ``RandomState.shuffle`` makes of 0 … n−1 (what ``sklearn.utils.shuffle`` does, without its
    checks), so that with the same ``random_state`` both libraries see the same batches."""

    def __init__(self, random_state: numpy.random.RandomState, rows: int) -> None:
        self.random_state, self.order = random_state, numpy.arange(rows)

    def permutation(self, rows: int) -> numpy.ndarray:
        step = numpy.arange(rows)
        self.random_state.shuffle(step)
        self.order = self.order[step]
        return self.order


class _BaseMLP(BaseEstimator):
    """What :class:`MLPClassifier` and :class:`MLPRegressor` share (see the module's docstring)."""

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        *,
        solver: str = "adam",
        alpha: float = 0.0001,
        batch_size: int | str = "auto",
        learning_rate: str = "constant",
        learning_rate_init: float = 0.001,
        power_t: float = 0.5,
        max_iter: int = 200,
        shuffle: bool = True,
        random_state: Any = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.9,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # fitted attributes read from the network -----------------------------------------------------

    def _linears(self) -> list[nn.Linear]:
        return [layer for layer in self._model if isinstance(layer, nn.Linear)]

    @property
    def coefs_(self) -> list[numpy.ndarray]:
        """Weight matrices in scikit-learn's layout: ``coefs_[l]`` is (fan_in, fan_out), Wₗᵀ."""
        check_is_fitted(self, "_model")
        return [backend.to_numpy(layer.weight.data).T.copy() for layer in self._linears()]

    @property
    def intercepts_(self) -> list[numpy.ndarray]:
        """Bias vectors: ``intercepts_[l]`` has fan_out entries."""
        check_is_fitted(self, "_model")
        return [backend.to_numpy(layer.bias.data).copy() for layer in self._linears()]

    # fitting ----------------------------------------------------------------------------------------

    def _check_parameters(self) -> list[int]:
        """The hidden widths, after checking every parameter (scikit-learn checks at fit, not in ``__init__``)."""
        sizes = self.hidden_layer_sizes
        sizes = list(sizes) if hasattr(sizes, "__iter__") else [sizes]
        if not all(isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {self.hidden_layer_sizes!r}")
        choices = {"activation": tuple(ACTIVATIONS), "solver": SOLVERS, "learning_rate": LEARNING_RATES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                hint = "; lbfgs is not offered: use 'adam' or 'sgd'" if getattr(self, name) == "lbfgs" else ""
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}{hint}")
        positive = {"learning_rate_init": self.learning_rate_init, "max_iter": self.max_iter, "epsilon": self.epsilon}
        at_least_zero = {"alpha": self.alpha, "tol": self.tol, "power_t": self.power_t}
        for name, value in {**positive, **at_least_zero}.items():
            if not isinstance(value, Real) or isinstance(value, bool) or not numpy.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            if value < 0 or (name in positive and value == 0):
                raise ValueError(f"{name} must be {'> 0' if name in positive else '≥ 0'}, got {value!r}")
        for name in ("momentum", "beta_1", "beta_2"):
            if not (isinstance(getattr(self, name), Real) and 0 <= getattr(self, name) < 1 + (name == "momentum")):
                raise ValueError(f"{name} must be in [0, 1), got {getattr(self, name)!r}")
        if not (isinstance(self.validation_fraction, Real) and 0 < self.validation_fraction < 1):
            raise ValueError(f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}")
        batch = self.batch_size
        if batch != "auto" and not (isinstance(batch, Integral) and not isinstance(batch, bool) and batch >= 1):
            raise ValueError(f"batch_size must be 'auto' or a positive integer, got {batch!r}")
        if not (isinstance(self.n_iter_no_change, Integral) and self.n_iter_no_change >= 1):
            raise ValueError(f"n_iter_no_change must be a positive integer, got {self.n_iter_no_change!r}")
        return [int(s) for s in sizes]

    def _build(self, widths: list[int], dtype: str) -> None:
        """The network (``chainrule.training.workflow.build_model``, as ``chainrule train`` builds it)
        and its optimizer, the weights set to scikit-learn's Glorot-uniform draws from ``random_state``."""
        state = backend.generator().bit_generator.state  # leave chainrule's global generator as it was
        try:
            activation = ACTIVATIONS[self.activation]
            self._model = build_model(widths[0], widths[1:-1], widths[-1], activation, dtype=dtype)
        finally:
            backend.generator().bit_generator.state = state
        factor = 2.0 if self.activation == "logistic" else 6.0
        for layer in self._linears():
            fan_in, fan_out = layer.in_features, layer.out_features
            bound = numpy.sqrt(factor / (fan_in + fan_out))
            layer.weight.data[...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T
            layer.bias.data[...] = self._random_state.uniform(-bound, bound, fan_out)
        self._optimizer = self._make_optimizer()
        self.n_iter_ = self.t_ = self._no_improvement_count = 0
        self.n_layers_ = len(widths)
        self.loss_curve_ = []
        self.best_loss_ = None if self.early_stopping else numpy.inf
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_validation_score_ = -numpy.inf if self.early_stopping else None

    def _make_optimizer(self) -> optim.Optimizer:
        """Adam or SGD over two groups, the weights (which get the L2 decay) and the intercepts."""
        groups = [
            {"params": [layer.weight for layer in self._linears()], "weight_decay": 0.0},
            {"params": [layer.bias for layer in self._linears()], "weight_decay": 0.0},
        ]
        if self.solver == "adam":
            return optim.Adam(groups, lr=self.learning_rate_init, betas=(self.beta_1, self.beta_2), eps=self.epsilon)
        momentum, nesterov = self.momentum, self.nesterovs_momentum and self.momentum > 0
        return optim.SGD(groups, lr=self.learning_rate_init, momentum=momentum, nesterov=nesterov)

    def __getstate__(self) -> dict[str, Any]:
        # The optimizer travels as its state_dict: its flat buffers are views of the parameters,
        # which pickling would copy apart.
        state = dict(super().__getstate__())  # a copy: the estimator itself keeps its optimizer
        if "_optimizer" in state:
            state["_optimizer"] = state["_optimizer"].state_dict()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        optimizer = state.pop("_optimizer", None)
        super().__setstate__(state)
        if optimizer is not None:
            self._optimizer = self._make_optimizer()
            self._optimizer.load_state_dict(optimizer)

    def _fit(self, X: Any, y: Any, incremental: bool, classes: Any = None) -> _BaseMLP:
        widths = self._check_parameters()
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True; fit with early_stopping=False")
        first = not hasattr(self, "_model") or not (self.warm_start or incremental)
        if first:
            self._random_state = check_random_state(self.random_state)
        X, y = self._validate_input(X, y, reset=first, classes=classes)
        if first:
            dtype = "float32" if X.dtype == numpy.float32 else "float64"
            self._build([X.shape[1], *widths, y.shape[1]], dtype)
        validation = None
        if self.early_stopping:
            stratify = y if isinstance(self, ClassifierMixin) and y.shape[1] == 1 else None
            X, X_val, y, y_val = train_test_split(
                X, y, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
            )
            if len(X_val) < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
                )
            validation = (X_val, self._decode(y_val))
            self._best_weights = [p.data.copy() for p in self._model.parameters()]
        self._converged = False
        epochs = 1 if incremental else self.max_iter
        self.n_iter_ = 0  # the epochs of this call, as scikit-learn counts them
        self._train(X, self._targets(y), epochs, _Epochs(self, validation, len(X)))
        if self.early_stopping:
            for parameter, best in zip(self._model.parameters(), self._best_weights):
                parameter.data[...] = best
            del self._best_weights
        if not incremental and not self._converged and self.n_iter_ >= self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _train(self, x: Any, y: Any, epochs: int, bookkeeping: _Epochs) -> None:
        """``epochs`` passes over ``(x, y)`` by chainrule's training loop (the one path all training takes)."""
        batch = min(200, len(x)) if self.batch_size == "auto" else min(int(self.batch_size), len(x))
        if self.batch_size != "auto" and self.batch_size > len(x):
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", stacklevel=4
            )
        trainer = Trainer(self._model, self._loss(), self._optimizer, seed=0)
        trainer.generator = _ScikitLearnOrder(self._random_state, len(x))
        trainer.fit(x, y, epochs=epochs, batch_size=batch, shuffle=self.shuffle, callbacks=[bookkeeping], verbose=0)
        if trainer.diverged:
            raise ValueError(f"{trainer.history.stop_reason} Try a smaller learning_rate_init.")

    def _outputs(self, X: Any) -> numpy.ndarray:
        """The network's outputs (logits for a classifier) for validated rows."""
        check_is_fitted(self, "_model")
        X = validate_data(self, X, reset=False, dtype=(numpy.float64, numpy.float32))
        return backend.to_numpy(predict(self._model, X))


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multi-layer perceptron regressor with scikit-learn's interface, trained by chainrule.

    The network is  x → [Linear → activation] × len(hidden_layer_sizes) → Linear → ŷ,  fitted to
    minimise  ½ (1/n) Σᵢ Σₖ (ŷᵢₖ − yᵢₖ)² + (α / 2n) Σₗ ‖Wₗ‖²  per batch of n rows and k outputs
    (scikit-learn's ``squared_error``, whose reported value divides the first term by k).
    See :mod:`chainrule.sklearn` for every convention.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        The width of each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        The hidden layers' activation.
    solver : {"adam", "sgd"}, default "adam"
    alpha : float, default 0.0001
        Strength of the L2 penalty on the weights.
    batch_size : int or "auto", default "auto"
        Rows per step; "auto" is min(200, n_samples).
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        The schedule of ``solver="sgd"``.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
        The exponent of "invscaling".
    max_iter : int, default 200
        Epochs at most (each row is seen once per epoch).
    shuffle : bool, default True
        Shuffle the rows each epoch.
    random_state : int, RandomState or None
        Seeds the initial weights, the validation split and the shuffling.
    tol : float, default 1e-4
        The improvement that counts as progress.
    verbose : bool, default False
        Print the loss after each epoch.
    warm_start : bool, default False
        ``fit`` continues from the current weights instead of starting again.
    momentum : float, default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Stop when the R² on a held-out ``validation_fraction`` stops improving; keep the best weights.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float
        Adam's β₁, β₂ and ε.
    n_iter_no_change : int, default 10
        Epochs without progress by ``tol`` before stopping.

    Attributes
    ----------
    loss_, best_loss_ : float
        The last and the best epoch's loss (``best_loss_`` is None with early stopping).
    loss_curve_ : list of float
        The loss of each epoch (its batches' losses weighted by their rows).
    validation_scores_, best_validation_score_ : list of float, float
        R² on the validation split per epoch, and the best (with early stopping; else None).
    coefs_, intercepts_ : list of ndarray
        The weights (fan_in, fan_out) and biases of each layer.
    n_iter_ : int
        Epochs run.
    t_ : int
        Rows seen in training.
    n_layers_, n_outputs_ : int
    out_activation_ : str
        ``"identity"``.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X had column names.

    Examples
    --------
    >>> from chainrule.sklearn import MLPRegressor
    >>> model = MLPRegressor(hidden_layer_sizes=(64,), max_iter=500, random_state=0).fit(X, y)
    >>> model.score(X_test, y_test)   # R²
    """

    def _validate_input(self, X: Any, y: Any, reset: bool, classes: Any = None) -> tuple[numpy.ndarray, numpy.ndarray]:
        X, y = validate_data(
            self, X, y, multi_output=True, y_numeric=True, dtype=(numpy.float64, numpy.float32), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if reset:
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
            self.out_activation_ = "identity"
        return X, (y.reshape(-1, 1) if y.ndim == 1 else y)

    def _targets(self, y: numpy.ndarray) -> numpy.ndarray:
        return y

    def _decode(self, y: numpy.ndarray) -> numpy.ndarray:
        return y

    def _loss(self) -> nn.Module:
        """½ (1/n) Σᵢ Σₖ (ŷᵢₖ − yᵢₖ)²: scikit-learn's gradient, k/2 times the mean over every element."""
        return _Scaled(nn.MSELoss(), 0.5 * self.n_outputs_)

    def _reported(self, loss: float) -> float:
        """The loss as scikit-learn reports it: ½ · mean over every element (its gradient is k times that)."""
        return loss / self.n_outputs_

    def _score(self, X: Any, y: Any) -> float:
        return float(r2_score(y, self.predict(X)))

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Fit the network to ``X`` (n_samples, n_features) and ``y`` (n_samples,) or (n_samples, n_outputs)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any) -> MLPRegressor:
        """One epoch over ``(X, y)``, continuing from the current weights (and optimizer state)."""
        return self._fit(X, y, incremental=True)

    def predict(self, X: Any) -> numpy.ndarray:
        """The predictions, (n_samples,) for one output, else (n_samples, n_outputs)."""
        outputs = self._outputs(X)
        return outputs.ravel() if self.n_outputs_ == 1 else outputs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multi-layer perceptron classifier with scikit-learn's interface, trained by chainrule.

    The network is  x → [Linear → activation] × len(hidden_layer_sizes) → Linear → z, and
    p = softmax(z) for more than two classes, p = σ(z) (one logit) for two classes and for each
    label of a multi-label target. It minimises the cross-entropy  −(1/n) Σᵢ Σₖ yᵢₖ ln pᵢₖ
    (with the (1 − y) ln(1 − p) terms for logistic outputs) plus (α / 2n) Σₗ ‖Wₗ‖² per batch.

    Parameters are those of :class:`MLPRegressor`; ``early_stopping`` watches accuracy.

    Attributes
    ----------
    classes_ : ndarray or list of ndarray
        The class labels (for a multi-label target, the label indices).
    loss_, best_loss_, loss_curve_, validation_scores_, best_validation_score_, coefs_,
    intercepts_, n_iter_, t_, n_layers_, n_outputs_, n_features_in_, feature_names_in_ :
        As for :class:`MLPRegressor` (validation scores are accuracies).
    out_activation_ : str
        ``"softmax"`` or ``"logistic"``.

    Examples
    --------
    >>> from chainrule.sklearn import MLPClassifier
    >>> clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]), clf.score(X_test, y_test)
    """

    def _validate_input(self, X: Any, y: Any, reset: bool, classes: Any = None) -> tuple[numpy.ndarray, numpy.ndarray]:
        X, y = validate_data(self, X, y, multi_output=True, dtype=(numpy.float64, numpy.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            self._label_binarizer = LabelBinarizer().fit(y if classes is None else classes)
            self.classes_ = self._label_binarizer.classes_
            self.out_activation_ = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
        elif not numpy.isin(unique_labels(y), self.classes_).all():
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}.")
        encoded = self._label_binarizer.transform(y)
        if reset:
            self.n_outputs_ = encoded.shape[1]
        return X, encoded

    def _targets(self, y: numpy.ndarray) -> numpy.ndarray:
        """Class indices for softmax outputs, 0/1 columns (in the model's dtype) for logistic ones."""
        if self.out_activation_ == "softmax":
            return y.argmax(axis=1)
        return y.astype(next(self._model.parameters()).data.dtype)

    def _decode(self, y: numpy.ndarray) -> numpy.ndarray:
        return self._label_binarizer.inverse_transform(y)

    def _loss(self) -> nn.Module:
        if self.out_activation_ == "softmax":
            return nn.CrossEntropyLoss()
        loss = nn.BCEWithLogitsLoss()  # a mean over every element: × outputs for the sum over labels
        return loss if self.n_outputs_ == 1 else _Scaled(loss, float(self.n_outputs_))

    def _reported(self, loss: float) -> float:
        return loss

    def _score(self, X: Any, y: Any) -> float:
        return float(accuracy_score(y, self.predict(X)))

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Fit the network to ``X`` (n_samples, n_features) and the labels ``y`` (or a 0/1 label matrix)."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> MLPClassifier:
        """One epoch over ``(X, y)``; the first call needs every class in ``classes``."""
        if not hasattr(self, "_model") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, incremental=True, classes=classes if not hasattr(self, "_model") else None)

    def _probabilities(self, outputs: numpy.ndarray) -> numpy.ndarray:
        """softmax(z) over the classes, or σ(z) for logistic outputs (chainrule's own functions)."""
        with no_grad():
            z = Tensor(outputs)
            p = F.softmax(z, dim=1) if self.out_activation_ == "softmax" else F.sigmoid(z)
        return backend.to_numpy(p.data)

    def predict_proba(self, X: Any) -> numpy.ndarray:
        """Class probabilities (n_samples, n_classes): softmax(z), or [1 − σ(z), σ(z)] for two classes;
        for a multi-label target σ(z) per label."""
        p = self._probabilities(self._outputs(X))
        if self.n_outputs_ == 1 and self._label_binarizer.y_type_ == "binary":
            return numpy.hstack([1 - p, p])
        return p

    def predict_log_proba(self, X: Any) -> numpy.ndarray:
        """ln of :meth:`predict_proba`."""
        with numpy.errstate(divide="ignore"):
            return numpy.log(self.predict_proba(X))

    def predict(self, X: Any) -> numpy.ndarray:
        """The most probable class of each row (each label with p > ½ for a multi-label target)."""
        p = self._probabilities(self._outputs(X))
        return self._label_binarizer.inverse_transform(p.ravel() if self.n_outputs_ == 1 else p)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
