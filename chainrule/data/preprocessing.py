"""``Preprocessor``: the fitted transform from a raw :class:`~chainrule.data.table.Table` to model arrays.

It is fitted once on the training rows and stored with the model (:meth:`Preprocessor.to_dict`
is plain JSON), so ``predict`` on raw rows applies exactly the same transform:

* numeric features: ``z = (x − mean) / std`` with the training mean and (population) standard
  deviation; a constant column has ``std = 0`` and is divided by 1 instead;
* text (categorical) features: one-hot, one column per category seen in fitting, sorted; an
  unknown category at transform time is an error (it names the column, the row and the
  categories there are), not a silent row of zeros;
* the target: regression → float32 ``(n, 1)``, standardised by the same rule when
  ``standardize_target`` (undo it with :meth:`Preprocessor.inverse_transform_target`);
  classification → int64 class indices ``(n,)`` into the sorted ``classes_``.

Missing cells (empty or NaN) are an error naming the column and row unless ``impute`` is
``"mean"``, ``"median"`` or ``"most_frequent"`` (text features always take the most frequent
category); the target is never imputed. Infinity is always an error.

Tables, categories and class labels live in host NumPy memory (text columns are ``object``
arrays, which only NumPy holds); the numeric transform itself goes through ``backend.xp``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy

from chainrule import backend
from chainrule.data.table import DataError, Table

TASKS = ("regression", "classification")
IMPUTE = ("mean", "median", "most_frequent")
MAX_INFERRED_CLASSES = 20
"""A whole-number target with more distinct values than this is inferred to be a regression target."""
FORMAT = "chainrule.data.Preprocessor"
VERSION = 1


def infer_task(values: numpy.ndarray) -> str:
    """``"classification"`` or ``"regression"`` for a target column, by this rule.

    * Text (or bool, stored as 0/1) targets are classification.
    * A numeric target whose values are all whole numbers is classification when it has at most
      2 distinct values, or at most ``MAX_INFERRED_CLASSES`` (20) distinct values and no more than
      half as many distinct values as rows (so 10 distinct prices in 10 rows stay regression).
    * Every other numeric target is regression.

    A text column that is mostly numbers counts as numeric (its stray text is then reported as
    "not a number" by :meth:`Table.numeric`). Pass ``task=`` to override the rule.
    """
    if values.dtype == object and not _looks_numeric(values):
        return "classification"
    numbers = values if values.dtype != object else numpy.array([_to_float(v) for v in values])
    numbers = numbers[numpy.isfinite(numbers)]
    distinct = backend.xp.unique(numbers)
    if len(distinct) == 0 or not bool(backend.xp.all(distinct == backend.xp.round(distinct))):
        return "regression"
    k = len(distinct)
    if k <= 2 or (k <= MAX_INFERRED_CLASSES and 2 * k <= len(numbers)):
        return "classification"
    return "regression"


def _to_float(cell: Any) -> float:
    """``float(cell)``, or NaN for a missing cell or a cell that is no number."""
    try:
        return float(cell)
    except (TypeError, ValueError):
        return math.nan


def _looks_numeric(values: numpy.ndarray) -> bool:
    """True when at least half of a text column's non-missing cells are numbers (a numeric column with typos)."""
    present = [cell for cell in values if cell is not None]
    return bool(present) and 2 * sum(not math.isnan(_to_float(cell)) for cell in present) >= len(present)


def _keys(values: numpy.ndarray) -> numpy.ndarray:
    """Category keys as text: whole numbers without ``.0`` (``98178.0`` → ``"98178"``); missing → ``None``."""
    if values.dtype == object:
        return values
    keys = numpy.empty(len(values), dtype=object)
    for row, value in enumerate(values.tolist()):
        if math.isnan(value):
            keys[row] = None
        else:
            keys[row] = str(int(value)) if value.is_integer() else repr(value)
    return keys


def _most_frequent(values: numpy.ndarray) -> Any:
    """The most frequent value (the smallest among ties)."""
    distinct, counts = numpy.unique(values, return_counts=True)
    return distinct[int(numpy.argmax(counts))]


class Preprocessor:
    """Fitted preprocessing from a raw table to ``float32`` features and encoded targets.

    Parameters
    ----------
    target:
        The target column, or None for features only (then :meth:`transform_target` is unavailable).
    features:
        The feature columns, in order; None takes every column except the target.
    categorical:
        The features to one-hot encode. None infers them: a text column is categorical unless at
        least half of its cells are numbers (then it is numeric and its stray text an error). A
        list makes exactly those columns categorical and every other feature numeric.
    task:
        ``"regression"`` or ``"classification"``; None infers it at fit time (:func:`infer_task`).
    standardize:
        Standardise numeric features, ``z = (x − mean)/std``; False passes them through unchanged.
    standardize_target:
        Standardise a regression target the same way (better-conditioned training); predictions go
        back to original units through :meth:`inverse_transform_target`.
    impute:
        None (missing cells are an error), ``"mean"``, ``"median"`` or ``"most_frequent"``.

    Attributes (after :meth:`fit`)
    ------------------------------
    input_columns:
        The raw columns ``transform`` needs.
    feature_names_out:
        Names of the output columns: numeric features, then ``"column=category"`` one-hot columns.
    classes_:
        Classification only: the class labels, sorted; class index ``i`` means ``classes_[i]``.
    """

    def __init__(
        self,
        target: str | None = None,
        features: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        task: str | None = None,
        standardize: bool = True,
        standardize_target: bool = True,
        impute: str | None = None,
    ) -> None:
        if task is not None and task not in TASKS:
            raise ValueError(f"task must be one of {TASKS} or None (infer it), got {task!r}")
        if impute is not None and impute not in IMPUTE:
            raise ValueError(f"impute must be one of {IMPUTE} or None (missing values are an error), got {impute!r}")
        for name, value in (("features", features), ("categorical", categorical)):
            if isinstance(value, str):
                raise TypeError(f"{name} must be a list of column names, got the string {value!r}; write [{value!r}]")
        if target is not None and features is not None and target in features:
            raise ValueError(f"the target {target!r} is also listed as a feature; remove it from features")
        self.target = target
        self.features = None if features is None else list(features)
        self.categorical = None if categorical is None else list(categorical)
        self.task = task
        self.standardize = bool(standardize)
        self.standardize_target = bool(standardize_target)
        self.impute = impute
        self._fitted = False

    def __repr__(self) -> str:
        state = "unfitted"
        if self._fitted:
            state = f"{len(self.input_columns)} columns → {len(self.feature_names_out)} features"
        return f"Preprocessor(target={self.target!r}, task={self.task!r}, {state})"

    # fitting -------------------------------------------------------------------------------

    def fit(self, table: Table) -> Preprocessor:
        """Learn the feature kinds, means, standard deviations, categories, fill values and classes."""
        if not isinstance(table, Table):
            raise TypeError(f"fit needs a chainrule.data.Table, got {type(table).__name__}; use read_csv, from_arrays")
        if self.target is not None and self.target not in table:
            raise DataError(
                f"target column {self.target!r} is not in the data; the columns are {table.columns}; pass one of them"
            )
        features = self.features if self.features is not None else [c for c in table.columns if c != self.target]
        _check_columns(table, features, "fitted on")
        if not features:
            raise DataError("there are no feature columns; the data needs at least one column besides the target")
        if self.categorical is not None:
            unknown = [name for name in self.categorical if name not in features]
            if unknown:
                raise DataError(f"categorical column(s) {unknown} are not features; the features are {features}")
            categorical = [name for name in features if name in self.categorical]
        else:
            categorical = [name for name in features if table.is_text(name) and not _looks_numeric(table[name])]
        self.input_columns: list[str] = list(features)
        self.numeric_: list[str] = [name for name in features if name not in categorical]
        self.categorical_: list[str] = categorical
        self._fit_numeric(table)
        self._fit_categorical(table)
        self.target_mean_: float | None = None
        self.target_std_: float | None = None
        self.classes_: numpy.ndarray | None = None
        if self.target is not None:
            self._fit_target(table)
        self._fitted = True
        return self

    def _fit_numeric(self, table: Table) -> None:
        x = _finite(table, self.numeric_, table.numeric_matrix(self.numeric_))
        missing = backend.xp.isnan(x)
        if missing.any() and self.impute is None:
            raise _missing_error(table, self.numeric_, missing)
        self.fill_: list[float] | None = None
        if self.impute is not None:
            self.fill_ = [self._fill_value(name, column) for name, column in zip(self.numeric_, x.T)]
            x = backend.xp.where(missing, backend.xp.asarray(self.fill_), x)
        self.mean_: list[float] | None = None
        self.std_: list[float] | None = None
        if self.standardize:
            std = x.std(axis=0, dtype=backend.float64)
            self.mean_ = x.mean(axis=0, dtype=backend.float64).tolist()
            self.std_ = backend.xp.where(std > 0, std, 1.0).tolist()

    def _fill_value(self, name: str, column: numpy.ndarray) -> float:
        """The ``impute`` statistic of a column's non-missing values."""
        present = column[~backend.xp.isnan(column)]
        if len(present) == 0:
            raise DataError(f"column {name!r} has no values to impute from; drop the column or fill it in")
        if self.impute == "mean":
            return float(present.mean(dtype=backend.float64))
        if self.impute == "median":
            return float(backend.xp.median(present))
        return float(_most_frequent(present))

    def _fit_categorical(self, table: Table) -> None:
        self.categories_: list[list[str]] = []
        self.category_fill_: list[str] | None = None if self.impute is None else []
        for name in self.categorical_:
            keys = _keys(table[name])
            present = numpy.array([key for key in keys if key is not None], dtype=object)
            if len(present) < len(keys) and self.impute is None:
                row = next(row for row, key in enumerate(keys) if key is None)
                raise _missing_error_at(table, name, row)
            if len(present) == 0:
                raise DataError(f"column {name!r} has no values; drop the column or fill it in")
            if self.category_fill_ is not None:
                self.category_fill_.append(str(_most_frequent(present.astype(str))))
            self.categories_.append(sorted(set(present.tolist())))

    def _fit_target(self, table: Table) -> None:
        values = table[self.target]
        if self.task is None:
            self.task = infer_task(values)
        if self.task == "regression":
            y = _finite(table, [self.target], table.numeric(self.target)[:, None])
            if backend.xp.isnan(y).any():
                raise _missing_error(table, [self.target], backend.xp.isnan(y), target=True)
            if self.standardize_target:
                std = float(y.std(dtype=backend.float64))
                self.target_mean_ = float(y.mean(dtype=backend.float64))
                self.target_std_ = std if std > 0 else 1.0
            return
        if values.dtype == object:
            keys = _keys(values)
            if any(key is None for key in keys):
                raise _missing_error_at(table, self.target, next(r for r, k in enumerate(keys) if k is None), True)
            self.classes_ = numpy.array(sorted(set(keys.tolist())), dtype=object)
            return
        y = _finite(table, [self.target], values[:, None])
        if backend.xp.isnan(y).any():
            raise _missing_error(table, [self.target], backend.xp.isnan(y), target=True)
        classes = backend.xp.unique(values)
        self.classes_ = classes.astype(numpy.int64) if bool((classes == numpy.round(classes)).all()) else classes

    def fit_transform(self, table: Table) -> numpy.ndarray:
        """``fit(table)`` then ``transform(table)``."""
        return self.fit(table).transform(table)

    # transforming ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("this Preprocessor is not fitted yet; call fit(table) first")

    @property
    def feature_names_out(self) -> list[str]:
        """The output columns: numeric features, then one ``"column=category"`` per one-hot column."""
        self._check_fitted()
        onehot = [f"{name}={c}" for name, cats in zip(self.categorical_, self.categories_) for c in cats]
        return self.numeric_ + onehot

    def transform(self, table: Table) -> numpy.ndarray:
        """Features as float32 ``(n_rows, len(feature_names_out))``; extra columns (and the target) are ignored.

        Raises
        ------
        DataError
            A column the preprocessor was fitted on is missing (all of them named), a cell is not a
            number, infinite, missing (without ``impute``), or an unknown category.
        """
        self._check_fitted()
        _check_columns(table, self.input_columns, "fitted on")
        parts = []
        if self.numeric_:
            x = _finite(table, self.numeric_, table.numeric_matrix(self.numeric_))
            missing = backend.xp.isnan(x)
            if missing.any():
                if self.fill_ is None:
                    raise _missing_error(table, self.numeric_, missing)
                x = backend.xp.where(missing, backend.xp.asarray(self.fill_), x)
            if self.standardize:
                x = (x - backend.xp.asarray(self.mean_)) / backend.xp.asarray(self.std_)
            parts.append(_float32(table, self.numeric_, x))
        for index, (name, categories) in enumerate(zip(self.categorical_, self.categories_)):
            parts.append(self._one_hot(table, name, categories, index))
        if len(parts) == 1:
            return parts[0]
        return backend.xp.concatenate(parts, axis=1)

    def _one_hot(self, table: Table, name: str, categories: list[str], index: int) -> numpy.ndarray:
        """One-hot columns ``onehot[i, j] = 1`` when row ``i`` holds ``categories[j]``."""
        lookup = {category: j for j, category in enumerate(categories)}
        codes = numpy.empty(table.n_rows, dtype=numpy.int64)
        for row, key in enumerate(_keys(table[name])):
            if key is None:
                if self.category_fill_ is None:
                    raise _missing_error_at(table, name, row)
                key = self.category_fill_[index]
            if key not in lookup:
                shown = ", ".join(repr(c) for c in categories[:10]) + (", …" if len(categories) > 10 else "")
                raise DataError(
                    f"column {name!r} {table.row_name(row)}: category {key!r} was not seen in fitting; "
                    f"the known categories are {shown}; correct the value or refit on data that has it"
                )
            codes[row] = lookup[key]
        onehot = backend.xp.zeros((table.n_rows, len(categories)), dtype=backend.float32)
        onehot[backend.xp.arange(table.n_rows), backend.xp.asarray(codes)] = 1.0
        return onehot

    def transform_target(self, table: Table) -> numpy.ndarray:
        """The target: float32 ``(n, 1)`` (standardised if asked) for regression, int64 ``(n,)`` class indices else."""
        self._check_fitted()
        if self.target is None:
            raise RuntimeError("this Preprocessor has no target; pass target=COLUMN when making it")
        if self.target not in table:
            raise DataError(f"target column {self.target!r} is not in the data; the columns are {table.columns}")
        if self.task == "regression":
            y = _finite(table, [self.target], table.numeric(self.target)[:, None])
            if backend.xp.isnan(y).any():
                raise _missing_error(table, [self.target], backend.xp.isnan(y), target=True)
            if self.target_mean_ is not None:
                y = (y - self.target_mean_) / self.target_std_
            return _float32(table, [self.target], y)
        values = table[self.target]
        keys = _keys(values) if self.classes_.dtype == object else values
        lookup = {label: i for i, label in enumerate(self.classes_.tolist())}
        codes = numpy.empty(len(keys), dtype=numpy.int64)
        for row, key in enumerate(keys.tolist()):
            if key is None or (isinstance(key, float) and math.isnan(key)):
                raise _missing_error_at(table, self.target, row, target=True)
            if key not in lookup:
                raise DataError(
                    f"target column {self.target!r} {table.row_name(row)}: class {key!r} was not seen in fitting; "
                    f"the classes are {self.classes_.tolist()}"
                )
            codes[row] = lookup[key]
        return backend.xp.asarray(codes)

    def inverse_transform_target(self, predictions: Any) -> numpy.ndarray:
        """Model outputs back to target units.

        Regression: ``y = z · std + mean`` (float64, same shape; unchanged without
        ``standardize_target``). Classification: class labels ``classes_[i]`` from class indices
        ``(n,)``, from scores ``(n, k)`` by ``argmax``, or from one logit column ``(n, 1)`` of a
        binary model by ``logit > 0``.
        """
        self._check_fitted()
        predictions = backend.to_numpy(backend.xp.asarray(predictions))
        if self.task == "regression":
            values = predictions.astype(numpy.float64)
            return values if self.target_mean_ is None else values * self.target_std_ + self.target_mean_
        k = len(self.classes_)
        if predictions.ndim == 2 and predictions.shape[1] == k and k > 1:
            index = predictions.argmax(axis=1)
        elif predictions.ndim == 2 and predictions.shape[1] == 1 and k == 2:
            index = (predictions[:, 0] > 0).astype(numpy.int64)
        elif predictions.ndim == 1 and predictions.dtype.kind in "iu":
            index = predictions
        else:
            raise ValueError(
                f"predictions of shape {predictions.shape} and dtype {predictions.dtype} fit none of: class "
                f"indices (n,), scores (n, {k}) or, for 2 classes, one logit column (n, 1)"
            )
        if len(index) and (index.min() < 0 or index.max() >= k):
            raise ValueError(f"class indices must lie in 0..{k - 1}; got {int(index.min())}..{int(index.max())}")
        return self.classes_[index]

    # saving ---------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Everything fitted, as JSON-serialisable Python values (stored in checkpoints)."""
        self._check_fitted()
        return {
            "format": FORMAT,
            "version": VERSION,
            "target": self.target,
            "task": self.task,
            "standardize": self.standardize,
            "standardize_target": self.standardize_target,
            "impute": self.impute,
            "features": self.input_columns,
            "numeric": {"names": self.numeric_, "mean": self.mean_, "std": self.std_, "fill": self.fill_},
            "categorical": {"names": self.categorical_, "categories": self.categories_, "fill": self.category_fill_},
            "target_mean": self.target_mean_,
            "target_std": self.target_std_,
            "classes": None if self.classes_ is None else self.classes_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Preprocessor:
        """The fitted preprocessor that :meth:`to_dict` described."""
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise DataError(f"not a saved chainrule Preprocessor (expected a dict with format {FORMAT!r})")
        if state.get("version") != VERSION:
            raise DataError(
                f"saved Preprocessor version {state.get('version')!r} is not {VERSION}; use the chainrule that saved it"
            )
        try:
            self = cls(
                target=state["target"],
                features=state["features"],
                categorical=state["categorical"]["names"],
                task=state["task"],
                standardize=state["standardize"],
                standardize_target=state["standardize_target"],
                impute=state["impute"],
            )
            self.input_columns = list(state["features"])
            self.numeric_ = list(state["numeric"]["names"])
            self.mean_, self.std_, self.fill_ = (state["numeric"][key] for key in ("mean", "std", "fill"))
            self.categorical_ = list(state["categorical"]["names"])
            self.categories_ = [list(c) for c in state["categorical"]["categories"]]
            self.category_fill_ = state["categorical"]["fill"]
            self.target_mean_, self.target_std_ = state["target_mean"], state["target_std"]
            classes = state["classes"]
        except (KeyError, TypeError) as error:
            raise DataError(f"saved Preprocessor is incomplete or damaged ({error!r}); save it again") from None
        if classes is None:
            self.classes_ = None
        elif all(isinstance(c, str) for c in classes):
            self.classes_ = numpy.array(classes, dtype=object)
        else:
            self.classes_ = numpy.array(classes)
        self._fitted = True
        return self


def _check_columns(table: Table, names: Sequence[str], verb: str) -> None:
    """Every column in ``names`` is in ``table``, or one error naming all the missing ones."""
    missing = [name for name in names if name not in table]
    if missing:
        raise DataError(
            f"the data lacks column(s) {missing} that the preprocessor was {verb}; it has {table.columns}; "
            "add or rename those columns"
        )


def _finite(table: Table, names: Sequence[str], x: numpy.ndarray) -> numpy.ndarray:
    """``x`` unchanged, or an error naming the first infinite cell's column and row."""
    infinite = backend.xp.isinf(x)
    if infinite.any():
        row, column = (int(i[0]) for i in backend.xp.nonzero(infinite))
        raise DataError(
            f"column {names[column]!r} {table.row_name(row)}: infinity is not a usable value; "
            "replace it with a finite number or drop the row"
        )
    return x


def _float32(table: Table, names: Sequence[str], x: numpy.ndarray) -> numpy.ndarray:
    """``x`` (the encoded values of columns ``names``) as float32, or an error naming the first cell
    whose value lies beyond float32's range (±3.4e38) once encoded."""
    beyond = backend.xp.abs(x) > numpy.finfo(numpy.float32).max
    if beyond.any():
        row, column = (int(i[0]) for i in backend.xp.nonzero(beyond))
        raise DataError(
            f"column {names[column]!r} {table.row_name(row)}: {table.numeric(names[column])[row]:g} is too large for "
            "the model: encoded as its float32 input it is beyond ±3.4e38; correct the value or drop the row"
        )
    return x.astype(backend.float32, copy=False)


def _missing_error(table: Table, names: Sequence[str], missing: numpy.ndarray, target: bool = False) -> DataError:
    """The error for the first missing cell (row-major order) of ``x``."""
    row, column = (int(i[0]) for i in backend.xp.nonzero(missing))
    return _missing_error_at(table, names[column], row, target)


def _missing_error_at(table: Table, name: str, row: int, target: bool = False) -> DataError:
    fix = (
        "fill it in or drop the row (a target is never imputed)"
        if target
        else "fill it in, drop the row, or impute it (--impute mean|median|most_frequent on the command line, "
        "impute='mean' in Python)"
    )
    return DataError(f"column {name!r} {table.row_name(row)} is empty (a missing value); {fix}")
