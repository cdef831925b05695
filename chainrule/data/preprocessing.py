"""``Preprocessor``: the fitted transform from a raw :class:`~chainrule.data.table.Table` to model arrays.

It is fitted once on the training rows — a table in memory, or the chunks of a file streamed in
one pass (:meth:`Preprocessor.fit_chunks`) — and stored with the model (:meth:`Preprocessor.to_dict`
is plain JSON), so ``predict`` on raw rows applies exactly the same transform:

* each column's kind is decided by the rules of :mod:`chainrule.data.columns` (numbers, numbers
  with separators/currency/%, dates → four numeric features, categories; identifiers,
  near-unique text, empty and constant columns dropped with a warning), and the decisions are
  kept as data in ``columns_`` (:meth:`Preprocessor.describe`);
* numeric features: ``z = (x − mean) / std`` with the training mean and population standard
  deviation, computed without overflow or underflow (:class:`~chainrule.data.statistics.Moments`);
* categorical features: one-hot, one column per kept category (sorted), plus ``c=<other>`` when
  more than ``max_categories`` categories were seen (the rare ones, listed in ``rare_``, map there); a category not
  seen in fitting maps to ``<other>`` where the column has it, else to a row of zeros, with a
  warning (``unknown="error"``: an error naming the row);
* the target: regression → float32 ``(n, 1)``, standardised by the same rule when
  ``standardize_target``; classification → int64 class indices ``(n,)`` into the sorted
  ``classes_``. A constant target (one value, one class) is an error.

Missing cells are an error naming the column and row unless ``impute`` is ``"mean"``,
``"median"`` or ``"most_frequent"`` (text features always take the most frequent category); the
target is never imputed. Infinity is always an error.

Streaming (:meth:`Preprocessor.fit_chunks`): column kinds and the task are decided on the first
chunk, the statistics (means, deviations, categories, classes) on all chunks, equal to the
in-memory ones to float64 rounding. ``impute="median"`` and ``"most_frequent"`` for numbers
need the whole column and so one chunk.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from chainrule import backend
from chainrule.data import columns as rules
from chainrule.data.columns import OTHER, ColumnInfo
from chainrule.data.statistics import Moments, count_values, power_of_two_near
from chainrule.data.table import DataError, DataWarning, Table, number_text

TASKS = ("regression", "classification")
IMPUTE = ("mean", "median", "most_frequent")
UNKNOWN = ("other", "error")
MAX_INFERRED_CLASSES = 20
"""A whole-number target with more distinct values than this is inferred to be a regression target."""
MAX_CATEGORIES = 100
"""Categories a categorical feature keeps by default; the rarer ones map to ``<other>``."""
FORMAT = "chainrule.data.Preprocessor"
VERSION = 2
_NUMERIC_KINDS = ("numeric", "formatted", "date")


def infer_task(values: numpy.ndarray) -> str:
    """``"classification"`` or ``"regression"`` for a target column, by this rule.

    * Text (or bool, stored as 0/1) targets are classification, unless their cells are numbers
      (at least half plain numbers, or 90% numbers with separators, currency or %).
    * A numeric target whose values are all whole numbers is classification when it has at most
      2 distinct values, or at most ``MAX_INFERRED_CLASSES`` (20) distinct values and no more than
      half as many distinct values as rows (so 10 distinct prices in 10 rows stay regression).
    * Every other numeric target is regression.

    Pass ``task=`` to override the rule.
    """
    kind = _target_kind(values)
    if kind == "categorical":
        return "classification"
    if kind == "numeric" and values.dtype == object:  # stray text counts as missing here (reported later)
        numbers = numpy.array([_to_float(cell) for cell in values])
    else:
        numbers = _target_numbers(Table({"y": values}), "y", kind)
    numbers = numbers[numpy.isfinite(numbers)]
    if len(numbers) == 0 or not bool(numpy.all(numbers == numpy.round(numbers))):
        return "regression"
    distinct = numpy.unique(numbers)
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


def _target_kind(values: numpy.ndarray) -> str:
    """``"numeric"``, ``"formatted"`` or ``"categorical"`` for a target column's cells."""
    if values.dtype != object:
        return "numeric"
    sample = rules.sample_present(values)
    if sample and rules.plain_number_share(sample) >= 0.5:
        return "numeric"
    if sample and rules.formatted_number_share(sample) >= rules.FORMATTED_SHARE:
        return "formatted"
    return "categorical"


def _target_numbers(table: Table, name: str, kind: str) -> numpy.ndarray:
    if kind == "formatted" and table.is_text(name):
        values, bad = rules.parse_formatted(table[name])
        if bad is not None:
            raise _not_formatted(table, name, bad)
        return values
    return table.numeric(name)


def _keys(values: numpy.ndarray) -> numpy.ndarray:
    """Category keys as text (numbers as :func:`~chainrule.data.table.number_text` writes them); missing → None."""
    return values if values.dtype == object else number_text(values)


def _most_frequent(counts: Counter) -> Any:
    """The most frequent key (the smallest among ties)."""
    top = max(counts.values())
    return min(key for key, count in counts.items() if count == top)


class Preprocessor:
    """Fitted preprocessing from a raw table to ``float32`` features and encoded targets.

    Parameters
    ----------
    target:
        The target column, or None for features only (then :meth:`transform_target` is unavailable).
    features:
        The feature columns, in order; None takes every column except the target.
    categorical:
        The features to one-hot encode. None infers them (:mod:`chainrule.data.columns`: text that
        is no numbers, dates or near-unique text). A list makes exactly those columns categorical,
        and every other feature numbers or dates (text in them is then an error naming the cell).
    task:
        ``"regression"`` or ``"classification"``; None infers it at fit time (:func:`infer_task`).
    standardize:
        Standardise numeric features, ``z = (x − mean)/std``; False passes them through unchanged.
    standardize_target:
        Standardise a regression target the same way (better-conditioned training); predictions go
        back to original units through :meth:`inverse_transform_target`.
    impute:
        None (missing cells are an error), ``"mean"``, ``"median"`` or ``"most_frequent"``.
    max_categories:
        Categories a categorical feature keeps (the most frequent); the others map to ``<other>``.
    unknown:
        ``"other"``: a category not seen in fitting maps to ``<other>`` (or a row of zeros) with a
        warning; ``"error"``: it is an error naming the row.
    drop_constant:
        Drop features with a single value (with a warning); False keeps them (as zeros when
        standardised), as image pixels that are blank in every picture.

    Attributes (after :meth:`fit`)
    ------------------------------
    columns_:
        One :class:`~chainrule.data.columns.ColumnInfo` per column looked at: role, kind, reason.
    input_columns:
        The raw columns ``transform`` needs (the features kept).
    feature_names_out:
        Names of the output columns: numeric features (``c``, or ``c.year`` … for a date), then
        ``"column=category"`` one-hot columns.
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
        max_categories: int = MAX_CATEGORIES,
        unknown: str = "other",
        drop_constant: bool = True,
    ) -> None:
        if task is not None and task not in TASKS:
            raise ValueError(f"task must be one of {TASKS} or None (infer it), got {task!r}")
        if impute is not None and impute not in IMPUTE:
            raise ValueError(f"impute must be one of {IMPUTE} or None (missing values are an error), got {impute!r}")
        if unknown not in UNKNOWN:
            raise ValueError(f"unknown must be one of {UNKNOWN}, got {unknown!r}")
        if isinstance(max_categories, bool) or not isinstance(max_categories, int) or max_categories < 1:
            raise ValueError(f"max_categories must be a positive integer, got {max_categories!r}")
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
        self.max_categories = max_categories
        self.unknown = unknown
        self.drop_constant = bool(drop_constant)
        self._fitted = False

    def __repr__(self) -> str:
        state = "unfitted"
        if self._fitted:
            state = f"{len(self.input_columns)} columns → {len(self.feature_names_out)} features"
        return f"Preprocessor(target={self.target!r}, task={self.task!r}, {state})"

    # deciding ------------------------------------------------------------------------------

    def _decide(self, table: Table) -> None:
        """Each column's kind (and the task) from the first rows."""
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
        self.columns_: list[ColumnInfo] = [self._feature_kind(name, table[name]) for name in features]
        if self.target is not None:
            values = table[self.target]
            kind = _target_kind(values)
            if self.task is None:
                self.task = infer_task(values)
            if self.task == "classification":
                kind = "categorical" if values.dtype == object else "numeric"
            reason = {"numeric": "numbers", "formatted": "numbers with separators, currency or %",
                      "categorical": "class labels"}[kind]  # fmt: skip
            self.columns_.append(ColumnInfo(self.target, "target", kind, f"{self.task} target: {reason}"))

    def _feature_kind(self, name: str, values: numpy.ndarray) -> ColumnInfo:
        """One feature column's kind, by the rules of :mod:`chainrule.data.columns`."""
        if self.categorical is not None and name in self.categorical:
            return ColumnInfo(name, "feature", "categorical", "named in categorical")
        if values.dtype != object:
            distinct = rules.near_unique_whole_numbers(values) if rules.looks_like_id(name) else None
            if distinct is not None:
                reason = (
                    f"ID-like: the name looks like an identifier and {distinct} of its {len(values)} values are "
                    "distinct whole numbers; name it in categorical to keep it"
                )
                return ColumnInfo(name, "dropped", "id", reason, details={"distinct": distinct})
            return ColumnInfo(name, "feature", "numeric", "numbers")
        sample = rules.sample_present(values)
        if not sample or rules.plain_number_share(sample) >= 0.5:
            return ColumnInfo(name, "feature", "numeric", "numbers")
        if rules.formatted_number_share(sample) >= rules.FORMATTED_SHARE:
            reason = "numbers written with thousands separators, currency or % signs (12% = 0.12)"
            return ColumnInfo(name, "feature", "formatted", reason)
        form = rules.date_format(sample)
        if form is not None:
            outputs = [f"{name}.{part}" for part in rules.DATE_PARTS]
            reason = f"dates ({form}) → year, month, day of week, days since 1970-01-01"
            return ColumnInfo(name, "feature", "date", reason, outputs, {"format": form})
        distinct = len(set(sample))
        if distinct >= rules.NEAR_UNIQUE_MIN and 2 * distinct > len(sample):
            reason = (
                f"near-unique text: {distinct} distinct values in {len(sample)} cells (an identifier, a name or "
                "free text, not a category); name it in categorical to keep it"
            )
            return ColumnInfo(name, "dropped", "text", reason, details={"distinct": distinct})
        if self.categorical is not None:
            return ColumnInfo(name, "feature", "numeric", "not named in categorical")
        return ColumnInfo(name, "feature", "categorical", "text")

    # fitting -------------------------------------------------------------------------------

    def fit(self, table: Table) -> Preprocessor:
        """Learn the column kinds, means, standard deviations, categories, fill values and classes."""
        if not isinstance(table, Table):
            raise TypeError(f"fit needs a chainrule.data.Table, got {type(table).__name__}; use read_csv, from_arrays")
        return self.fit_chunks([table])

    def fit_chunks(self, chunks: Iterable[Table]) -> Preprocessor:
        """:meth:`fit` in one pass over the chunks of a table (e.g. :func:`~chainrule.data.iter_tables`).

        Column kinds and the task are decided on the first chunk; the statistics cover every row.
        """
        self._fitted = False
        fitting = None
        for table in chunks:
            if table.n_rows == 0:
                continue
            if fitting is None:
                self._decide(table)
                fitting = _Fitting(self)
            fitting.update(table)
        if fitting is None:
            raise DataError("there are no rows to fit on; give data with at least one row")
        fitting.finish()
        self._fitted = True
        return self

    def fit_transform(self, table: Table) -> numpy.ndarray:
        """``fit(table)`` then ``transform(table)``."""
        return self.fit(table).transform(table)

    # transforming ---------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError("this Preprocessor is not fitted yet; call fit(table) first")

    def describe(self) -> list[dict[str, Any]]:
        """Every column's decision as plain data: ``{"name", "role", "kind", "reason", "outputs", "details"}``."""
        self._check_fitted()
        return [info.to_dict() for info in self.columns_]

    @property
    def feature_names_out(self) -> list[str]:
        """The output columns: numeric features, then one ``"column=category"`` per one-hot column."""
        self._check_fitted()
        onehot = [
            f"{name}={c}"
            for name, cats, other in zip(self.categorical_, self.categories_, self.other_)
            for c in [*cats, *([OTHER] if other else [])]
        ]
        return self.numeric_ + onehot

    def _numeric_infos(self) -> list[ColumnInfo]:
        return [info for info in self.columns_ if info.role == "feature" and info.kind in _NUMERIC_KINDS]

    def transform(self, table: Table) -> numpy.ndarray:
        """Features as float32 ``(n_rows, len(feature_names_out))``; extra columns (and the target) are ignored.

        Raises
        ------
        DataError
            A column the preprocessor was fitted on is missing (all of them named), a cell is not a
            number (or date), infinite, missing (without ``impute``), or an unknown category with
            ``unknown="error"``.
        """
        self._check_fitted()
        _check_columns(table, self.input_columns, "fitted on")
        fast = self._pass_through(table)
        if fast is not None:
            return fast
        out = numpy.empty((table.n_rows, len(self.feature_names_out)), dtype=numpy.float32)
        j = 0
        for info in self._numeric_infos():
            for values in _numeric_parts(table, info):
                out[:, j] = self._scaled(table, info.name, j, values)
                j += 1
        for index, name in enumerate(self.categorical_):
            width = len(self.categories_[index]) + int(self.other_[index])
            self._one_hot(table, name, index, out[:, j : j + width])
            j += width
        return backend.xp.asarray(out)

    def _pass_through(self, table: Table) -> numpy.ndarray | None:
        """The stored float block itself, when nothing is to be done to it (unstandardised numbers)."""
        block = table._block
        if self.standardize or self.categorical_ or block is None or block[1] != self.numeric_:
            return None
        if any(info.kind != "numeric" for info in self._numeric_infos()):
            return None
        x = block[0]
        if not bool(backend.xp.isfinite(x).all()):
            return None  # the column-by-column path names the bad cell or imputes
        return x.astype(backend.float32, copy=False)

    def _scaled(self, table: Table, column: str, j: int, values: numpy.ndarray) -> numpy.ndarray:
        """Output feature ``j`` from its float64 values: infinity and missing checked, filled, standardised."""
        _check_finite(table, column, values)
        missing = numpy.isnan(values)
        if missing.any():
            if self.fill_ is None:
                raise _missing_error_at(table, column, int(numpy.flatnonzero(missing)[0]))
            values = numpy.where(missing, self.fill_[j], values)
        if self.standardize:
            values = standardized(values, self.mean_[j], self.std_[j])
        return _float32_range(table, column, values)

    def _codes(self, table: Table, name: str, index: int) -> numpy.ndarray:
        """Each row's category index (``len(categories)`` for ``<other>``, −1 for none)."""
        categories = self.categories_[index]
        keys = _keys(table[name])
        missing = keys == None  # noqa: E711 (element-wise)
        if missing.any():
            if self.category_fill_ is None:
                raise _missing_error_at(table, name, int(numpy.flatnonzero(missing)[0]))
            keys = numpy.where(missing, self.category_fill_[index], keys)
        distinct, inverse = numpy.unique(keys.astype(str), return_inverse=True)
        lookup = {category: j for j, category in enumerate(categories)}
        lookup.update(dict.fromkeys(self.rare_[index], len(categories)))  # seen in fitting, mapped to <other>
        codes = numpy.array([lookup.get(key, -1) for key in distinct.tolist()], dtype=numpy.int64)[inverse.reshape(-1)]
        unseen = codes < 0
        if unseen.any():
            shown = ", ".join(repr(c) for c in categories[:10]) + (", …" if len(categories) > 10 else "")
            row = int(numpy.flatnonzero(unseen)[0])
            if self.unknown == "error":
                raise DataError(
                    f"column {name!r} {table.row_name(row)}: category {keys[row]!r} was not seen in fitting; "
                    f"the known categories are {shown}; correct the value or refit on data that has it"
                )
            examples = ", ".join(repr(k) for k in sorted(set(keys[unseen].tolist()))[:5])
            where = f"{name}={OTHER}" if self.other_[index] else "a row of zeros (none of the known categories)"
            warnings.warn(
                f"column {name!r}: {int(unseen.sum())} row(s) hold categories not seen in fitting ({examples}); "
                f"encoded as {where}; pass unknown='error' (--unknown error) to make this an error",
                DataWarning,
                stacklevel=4,
            )
            if self.other_[index]:
                codes[unseen] = len(categories)
        return codes

    def _one_hot(self, table: Table, name: str, index: int, out: numpy.ndarray) -> None:
        """One-hot columns ``out[i, j] = 1`` when row ``i`` holds category ``j``."""
        codes = self._codes(table, name, index)
        out[...] = 0.0
        rows = numpy.flatnonzero(codes >= 0)
        out[rows, codes[rows]] = 1.0

    def transform_target(self, table: Table) -> numpy.ndarray:
        """The target: float32 ``(n, 1)`` (standardised if asked) for regression, int64 ``(n,)`` class indices else."""
        self._check_fitted()
        if self.target is None:
            raise RuntimeError("this Preprocessor has no target; pass target=COLUMN when making it")
        if self.target not in table:
            raise DataError(f"target column {self.target!r} is not in the data; the columns are {table.columns}")
        if self.task == "regression":
            y = self.target_values(table)
            if self.target_mean_ is not None:
                y = standardized(y, self.target_mean_, self.target_std_)
            return backend.xp.asarray(_float32_range(table, self.target, y).astype(numpy.float32)[:, None])
        keys = _class_keys(table, self.target, text=self.classes_.dtype == object)
        distinct, inverse = numpy.unique(keys, return_inverse=True)
        lookup = {label: i for i, label in enumerate(self.classes_.tolist())}
        codes = numpy.array([lookup.get(key, -1) for key in distinct.tolist()], dtype=numpy.int64)
        codes = codes[inverse.reshape(-1)]
        if (codes < 0).any():
            row = int(numpy.flatnonzero(codes < 0)[0])
            raise DataError(
                f"target column {self.target!r} {table.row_name(row)}: class {keys[row].item()!r} was not seen in "
                f"fitting; the classes are {self.classes_.tolist()}"
            )
        return backend.xp.asarray(codes)

    def target_values(self, table: Table) -> numpy.ndarray:
        """A regression target in its own units, float64 ``(n,)``: parsed, checked finite and present."""
        kind = next(info.kind for info in self.columns_ if info.role == "target")
        y = _target_numbers(table, self.target, kind)
        _check_finite(table, self.target, y)
        missing = numpy.isnan(y)
        if missing.any():
            raise _missing_error_at(table, self.target, int(numpy.flatnonzero(missing)[0]), target=True)
        return y

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
            "max_categories": self.max_categories,
            "unknown": self.unknown,
            "drop_constant": self.drop_constant,
            "features": self.input_columns,
            "columns": self.describe(),
            "numeric": {"names": self.numeric_, "mean": self.mean_, "std": self.std_, "fill": self.fill_},
            "categorical": {
                "names": self.categorical_,
                "categories": self.categories_,
                "other": self.other_,
                "rare": self.rare_,
                "fill": self.category_fill_,
            },
            "target_mean": self.target_mean_,
            "target_std": self.target_std_,
            "classes": None if self.classes_ is None else self.classes_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Preprocessor:
        """The fitted preprocessor that :meth:`to_dict` described, every field checked.

        Raises
        ------
        DataError
            Not a saved Preprocessor, another version, or a field missing, of the wrong type or
            inconsistent with the others (the message names the field).
        """
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise DataError(f"not a saved chainrule Preprocessor (expected a dict with format {FORMAT!r})")
        if state.get("version") == 1:
            state = _from_version_1(state)
        if state.get("version") != VERSION:
            raise DataError(
                f"saved Preprocessor version {state.get('version')!r} is not {VERSION}; use the chainrule that saved it"
            )
        try:
            return cls._from_checked(state)
        except (KeyError, TypeError, ValueError) as error:
            text = f"missing field {error}" if isinstance(error, KeyError) else str(error)
            raise DataError(f"saved Preprocessor is incomplete or damaged ({text}); save it again") from None

    @classmethod
    def _from_checked(cls, state: dict[str, Any]) -> Preprocessor:
        self = cls(
            target=_typed(state, "target", (str, type(None))),
            features=_names(state, "features"),
            task=_typed(state, "task", (str, type(None))),
            standardize=_typed(state, "standardize", bool),
            standardize_target=_typed(state, "standardize_target", bool),
            impute=_typed(state, "impute", (str, type(None))),
            max_categories=_typed(state, "max_categories", int),
            unknown=_typed(state, "unknown", str),
            drop_constant=_typed(state, "drop_constant", bool),
        )
        if self.task not in TASKS and not (self.task is None and self.target is None):
            raise ValueError(f"task {self.task!r} is not one of {TASKS}")
        columns = _typed(state, "columns", list)
        self.columns_ = [ColumnInfo.from_dict(info, f"columns[{i}]") for i, info in enumerate(columns)]
        self.input_columns = list(self.features)
        numeric, categorical = _typed(state, "numeric", dict), _typed(state, "categorical", dict)
        self.numeric_ = _names(numeric, "names", "numeric.")
        expected = [name for info in self._numeric_infos() for name in info.outputs]
        if self.numeric_ != expected:
            raise ValueError(f"numeric.names {self.numeric_} are not the outputs of the columns {expected}")
        n = len(self.numeric_)
        self.mean_ = _numbers(numeric, "mean", n, "numeric.", self.standardize)
        self.std_ = _numbers(numeric, "std", n, "numeric.", self.standardize)
        self.fill_ = _numbers(numeric, "fill", n, "numeric.", self.impute is not None)
        if self.std_ is not None and not all(s > 0 for s in self.std_):
            raise ValueError("numeric.std must be positive numbers")
        self.categorical_ = _names(categorical, "names", "categorical.")
        kept = [info.name for info in self.columns_ if info.role == "feature" and info.kind == "categorical"]
        if self.categorical_ != kept:
            raise ValueError(f"categorical.names {self.categorical_} are not the categorical columns {kept}")
        k = len(self.categorical_)
        self.categories_ = [
            _names({"c": c}, "c", f"categorical.categories[{i}]")
            for i, c in enumerate(_sized(categorical, "categories", k, "categorical."))
        ]
        others = _sized(categorical, "other", k, "categorical.")
        self.other_ = [bool(_check(o, bool, "categorical.other")) for o in others]
        self.rare_ = [
            _names({"r": r}, "r", f"categorical.rare[{i}]")
            for i, r in enumerate(_sized(categorical, "rare", k, "categorical."))
        ]
        if any(bool(rare) != other for rare, other in zip(self.rare_, self.other_)):
            raise ValueError("categorical.rare must list categories exactly for the columns with other")
        fill = categorical.get("fill")
        self.category_fill_ = None if fill is None else [_check(f, str, "categorical.fill") for f in fill]
        if (self.category_fill_ is None) != (self.impute is None) or (fill is not None and len(fill) != k):
            raise ValueError("categorical.fill must hold one category per column exactly when impute is set")
        used = [info.name for info in self.columns_ if info.role == "feature"]
        if used != self.input_columns:
            raise ValueError(f"features {self.input_columns} are not the feature columns {used}")
        self.target_mean_ = _typed(state, "target_mean", (int, float, type(None)))
        self.target_std_ = _typed(state, "target_std", (int, float, type(None)))
        classes = _typed(state, "classes", (list, type(None)))
        regression = self.task == "regression"
        if self.target is not None and regression == (classes is not None):
            raise ValueError("classes must be given for classification and only then")
        if regression and self.standardize_target and not (self.target_std_ or 0) > 0:
            raise ValueError("target_std must be a positive number")
        if classes is None:
            self.classes_ = None
        elif all(isinstance(c, str) for c in classes):
            self.classes_ = numpy.array(classes, dtype=object)
        elif all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in classes):
            self.classes_ = numpy.array(classes)
        else:
            raise ValueError("classes must be all text or all numbers")
        self._fitted = True
        return self


def _from_version_1(state: dict[str, Any]) -> dict[str, Any]:
    """A version-1 preprocessor (chainrule 0.1: numeric and one-hot columns only) in version 2's layout:
    every column kept, no <other> category, an unseen category an error as it was then."""
    try:
        numeric, categorical = dict(state["numeric"]), dict(state["categorical"])
        names, cats = list(numeric["names"]), list(categorical["names"])
        columns = [ColumnInfo(name, "feature", "numeric", "numbers", [name]).to_dict() for name in names]
        columns += [
            ColumnInfo(name, "feature", "categorical", "text", [f"{name}={c}" for c in kept]).to_dict()
            for name, kept in zip(cats, categorical["categories"])
        ]
        order = {name: i for i, name in enumerate(state["features"])}
        columns.sort(key=lambda info: order.get(info["name"], len(order)))
        if state["target"] is not None:
            kind = "numeric" if state["task"] == "regression" else "categorical"
            columns.append(ColumnInfo(state["target"], "target", kind, f"{state['task']} target").to_dict())
    except (KeyError, TypeError) as error:
        raise DataError(f"saved Preprocessor is incomplete or damaged ({error!r}); save it again") from None
    categorical.update(other=[False] * len(cats), rare=[[] for _ in cats])
    return dict(state, version=VERSION, max_categories=MAX_CATEGORIES, unknown="error", drop_constant=False,
                columns=columns, numeric=numeric, categorical=categorical)  # fmt: skip


class _Fitting:
    """The statistics of one pass over the chunks, and the fitted attributes they give."""

    def __init__(self, pre: Preprocessor) -> None:
        self.pre = pre
        self.numeric = pre._numeric_infos()
        for info in self.numeric:
            if info.kind != "date":
                info.outputs = [info.name]
        self.moments = [[Moments() for _ in info.outputs] for info in self.numeric]
        self.kept_values: list[list[list[numpy.ndarray]]] = [[[] for _ in info.outputs] for info in self.numeric]
        self.categorical = [info for info in pre.columns_ if info.role == "feature" and info.kind == "categorical"]
        self.counts = [Counter() for _ in self.categorical]
        self.target = Moments() if pre.target is not None and pre.task == "regression" else None
        self.classes: Counter = Counter()
        self.chunks = 0

    def update(self, table: Table) -> None:
        pre = self.pre
        self.chunks += 1
        keep = pre.impute in ("median", "most_frequent")
        if keep and self.chunks > 1:
            raise DataError(
                f"impute={pre.impute!r} needs every value of a column at once, and this data comes in chunks; "
                "use impute='mean' for a streamed file, or read it whole"
            )
        for i, info in enumerate(self.numeric):
            for k, values in enumerate(_numeric_parts(table, info)):
                _check_finite(table, info.name, values)
                if pre.impute is None and numpy.isnan(values).any():
                    raise _missing_error_at(table, info.name, int(numpy.flatnonzero(numpy.isnan(values))[0]))
                self.moments[i][k].update(values)
                if keep:
                    self.kept_values[i][k].append(values[~numpy.isnan(values)])
        for i, info in enumerate(self.categorical):
            keys = _keys(table[info.name])
            absent = keys == None  # noqa: E711 (element-wise)
            if pre.impute is None and absent.any():
                raise _missing_error_at(table, info.name, int(numpy.flatnonzero(absent)[0]))
            count_values(self.counts[i], keys)
        if pre.target is None:
            return
        if self.target is not None:
            self.target.update(pre.target_values(table))
        else:
            keys = _class_keys(table, pre.target)
            distinct, number = numpy.unique(keys, return_counts=True)
            self.classes.update(dict(zip(distinct.tolist(), number.tolist())))

    def finish(self) -> None:
        pre = self.pre
        pre.numeric_, pre.mean_, pre.std_ = [], [] if pre.standardize else None, [] if pre.standardize else None
        pre.fill_ = [] if pre.impute is not None else None
        for i, info in enumerate(self.numeric):
            kept = []
            for k, (name, moments) in enumerate(zip(info.outputs, self.moments[i])):
                if moments.n == 0 or (pre.drop_constant and moments.constant):
                    continue
                kept.append(name)
                if pre.impute is not None:
                    fill = self._fill(moments, self.kept_values[i][k])
                    pre.fill_.append(fill)
                    moments = moments.filled(fill)
                pre.numeric_.append(name)
                if pre.standardize:
                    pre.mean_.append(moments.mean)
                    pre.std_.append(moments.std if moments.std > 0 and not moments.constant else 1.0)
            if not kept:
                empty = all(m.n == 0 for m in self.moments[i])
                self._drop(info, "empty" if empty else "constant", self.moments[i][0])
            info.outputs = kept
        pre.categorical_, pre.categories_, pre.other_, pre.rare_ = [], [], [], []
        pre.category_fill_ = [] if pre.impute is not None else None
        for i, info in enumerate(self.categorical):
            counts = self.counts[i]
            if len(counts) < 2 and (pre.drop_constant or not counts):
                self._drop(info, "constant" if counts else "empty", None, counts)
                continue
            ranked = sorted(counts, key=lambda key: (-counts[key], key))
            kept = sorted(ranked[: pre.max_categories])
            other = len(ranked) > len(kept)
            info.details = {"categories": len(ranked), "kept": len(kept)}
            if other:
                rows = sum(counts[key] for key in ranked[len(kept) :])
                info.details["other_rows"] = rows
                info.reason += f"; the {len(ranked) - len(kept)} rarest of {len(ranked)} categories map to {OTHER}"
                warnings.warn(
                    f"column {info.name!r} has {len(ranked)} categories; kept the {len(kept)} most frequent, the "
                    f"other {len(ranked) - len(kept)} ({rows} rows) map to {info.name}={OTHER}; pass max_categories= "
                    "(--max-categories) to keep more",
                    DataWarning,
                    stacklevel=4,
                )
            pre.categorical_.append(info.name)
            pre.categories_.append(kept)
            pre.other_.append(other)
            pre.rare_.append(sorted(ranked[len(kept) :]))
            if pre.category_fill_ is not None:
                pre.category_fill_.append(_most_frequent(counts))
            info.outputs = [f"{info.name}={c}" for c in [*kept, *([OTHER] if other else [])]]
        for info in pre.columns_:
            if info.role == "dropped" and info.kind in ("id", "text"):
                _warn_dropped(info)
        pre.input_columns = [info.name for info in pre.columns_ if info.role == "feature"]
        if not pre.input_columns:
            raise DataError(
                "every feature column was dropped ("
                + "; ".join(f"{i.name}: {i.kind}" for i in pre.columns_ if i.role == "dropped")
                + "); give columns that vary, or name them in categorical"
            )
        self._finish_target()

    def _fill(self, moments: Moments, kept: list[numpy.ndarray]) -> float:
        impute = self.pre.impute
        if impute == "mean":
            return moments.mean
        values = numpy.concatenate(kept)
        if impute == "median":
            return float(numpy.median(values))
        distinct, counts = numpy.unique(values, return_counts=True)
        return float(distinct[int(numpy.argmax(counts))])

    def _drop(self, info: ColumnInfo, kind: str, moments: Moments | None, counts: Counter | None = None) -> None:
        info.role, info.kind = "dropped", kind
        if kind == "empty":
            info.reason = "no values: every cell is missing"
        else:
            value = moments.low if moments is not None else next(iter(counts))
            info.reason = f"constant: every row holds {value!r}, which tells the model nothing"
        _warn_dropped(info)

    def _finish_target(self) -> None:
        pre = self.pre
        pre.target_mean_ = pre.target_std_ = None
        pre.classes_ = None
        if pre.target is None:
            return
        if self.target is not None:
            if self.target.constant:
                raise DataError(
                    f"the target {pre.target!r} is constant (every row holds {self.target.low!r}); a model cannot "
                    "learn from it; choose another target column or check the data"
                )
            if pre.standardize_target:
                pre.target_mean_, pre.target_std_ = self.target.mean, self.target.std
            return
        if len(self.classes) < 2:
            label = next(iter(self.classes), None)
            raise DataError(
                f"the target {pre.target!r} has one class ({label!r}) in every row; a classifier needs at least two; "
                "choose another target column or check the data"
            )
        classes = sorted(self.classes)
        if all(isinstance(c, str) for c in classes):
            pre.classes_ = numpy.array(classes, dtype=object)
        else:
            array = numpy.array(classes, dtype=numpy.float64)
            pre.classes_ = array.astype(numpy.int64) if bool((array == numpy.round(array)).all()) else array


def _class_keys(table: Table, name: str, text: bool | None = None) -> numpy.ndarray:
    """A classification target's labels: text as ``str`` (numbers written as text when ``text``), or numbers;
    a missing or infinite label is an error naming its row."""
    values = table[name]
    if text is None:
        text = values.dtype == object
    if values.dtype != object and not text:
        missing = numpy.isnan(values)
        if missing.any():
            raise _missing_error_at(table, name, int(numpy.flatnonzero(missing)[0]), target=True)
        _check_finite(table, name, values)
        return values
    keys = _keys(values)
    missing = keys == None  # noqa: E711 (element-wise)
    if missing.any():
        raise _missing_error_at(table, name, int(numpy.flatnonzero(missing)[0]), target=True)
    return keys.astype(str)


def _warn_dropped(info: ColumnInfo) -> None:
    warnings.warn(f"column {info.name!r} dropped: {info.reason}", DataWarning, stacklevel=5)


def _numeric_parts(table: Table, info: ColumnInfo) -> list[numpy.ndarray]:
    """The float64 values a numeric, formatted or date column gives (one array, or four for a date)."""
    values = table[info.name]
    if info.kind == "numeric" or (info.kind == "formatted" and values.dtype != object):
        return [table.numeric(info.name)]
    if info.kind == "formatted":
        parsed, bad = rules.parse_formatted(values)
        if bad is not None:
            raise _not_formatted(table, info.name, bad)
        return [parsed]
    form = info.details["format"]
    parts, bad = rules.parse_dates(_keys(values), form)
    if bad is not None:
        raise DataError(
            f"column {info.name!r} {table.row_name(bad)}: {_keys(values)[bad]!r} is not a date in the column's "
            f"format ({form}); correct the cell"
        )
    every = [f"{info.name}.{part}" for part in rules.DATE_PARTS]
    return [parts[:, every.index(name)] for name in info.outputs]


def _not_formatted(table: Table, name: str, row: int) -> DataError:
    return DataError(
        f"column {name!r} {table.row_name(row)}: {table[name][row]!r} is not a number (plain, or with thousands "
        "separators, currency or %); correct the cell"
    )


def standardized(values: numpy.ndarray, mean: float, std: float) -> numpy.ndarray:
    """``z = (x − mean) / std`` in float64, computed in units of a power of two near ``std`` (exact
    scaling), so that no intermediate overflows or underflows for columns of 1e200 or 1e-300."""
    unit = power_of_two_near(std)
    return (values / unit - mean / unit) / (std / unit)


def _check_columns(table: Table, names: Sequence[str], verb: str) -> None:
    """Every column in ``names`` is in ``table``, or one error naming all the missing ones."""
    missing = [name for name in names if name not in table]
    if missing:
        raise DataError(
            f"the data lacks column(s) {missing} that the preprocessor was {verb}; it has {table.columns}; "
            "add or rename those columns"
        )


def _check_finite(table: Table, name: str, values: numpy.ndarray) -> None:
    """An error naming the first infinite cell of a column, if there is one."""
    infinite = numpy.isinf(values)
    if infinite.any():
        raise DataError(
            f"column {name!r} {table.row_name(int(numpy.flatnonzero(infinite)[0]))}: infinity is not a usable "
            "value; replace it with a finite number or drop the row"
        )


def _float32_range(table: Table, name: str, values: numpy.ndarray) -> numpy.ndarray:
    """``values`` (float64, encoded) unchanged, or an error naming the first cell whose encoded value lies
    beyond float32's range (±3.4e38): the model's input would be infinite."""
    beyond = numpy.abs(values) > numpy.finfo(numpy.float32).max
    if beyond.any():
        row = int(numpy.flatnonzero(beyond)[0])
        raise DataError(
            f"column {name!r} {table.row_name(row)}: {table.numeric(name)[row]:g} is too large for the model: "
            "encoded as its float32 input it is beyond ±3.4e38; correct the value or drop the row"
        )
    return values


def _missing_error_at(table: Table, name: str, row: int, target: bool = False) -> DataError:
    fix = (
        "fill it in or drop the row (a target is never imputed)"
        if target
        else "fill it in, drop the row, or impute it (--impute mean|median|most_frequent on the command line, "
        "impute='mean' in Python)"
    )
    return DataError(f"column {name!r} {table.row_name(row)} is empty (a missing value); {fix}")


def _check(value: Any, kind: Any, where: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(f"{where} has type {type(value).__name__}")
    return value


def _typed(state: dict, key: str, kind: Any) -> Any:
    if key not in state:
        raise KeyError(key)
    return _check(state[key], kind, key)


def _names(state: dict, key: str, prefix: str = "") -> list[str]:
    names = _typed(state, key, list) if key in state else None
    if names is None:
        raise KeyError(prefix + key)
    if not all(isinstance(name, str) for name in names):
        raise TypeError(f"{prefix}{key} must be a list of strings")
    return list(names)


def _sized(state: dict, key: str, n: int, prefix: str) -> list:
    values = _typed(state, key, list) if key in state else None
    if values is None:
        raise KeyError(prefix + key)
    if len(values) != n:
        raise ValueError(f"{prefix}{key} has {len(values)} entries for {n} columns")
    return values


def _numbers(state: dict, key: str, n: int, prefix: str, present: bool) -> list[float] | None:
    if key not in state:
        raise KeyError(prefix + key)
    values = state[key]
    if values is None and not present:
        return None
    if not isinstance(values, list) or len(values) != n:
        raise ValueError(f"{prefix}{key} must be a list of {n} numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError(f"{prefix}{key} must hold finite numbers")
    return [float(v) for v in values]
