"""Data in, arrays out: tables, preprocessing stored with the model, datasets, splits, batches.

API summary (what the training loop, checkpoints and the CLI build on)
=======================================================================

Tables (``chainrule.data.table``)
---------------------------------
``Table``
    Named columns of equal length. A column is a float array (``float64`` from CSV, or the
    dtype given to ``from_arrays``, e.g. MNIST's ``float32``) or a text column (``object`` array
    of ``str``, ``None`` for an empty cell). ``table.columns`` (names), ``table.n_rows``,
    ``len(table)``, ``table[name]`` (one column), ``table.select(names)``, ``table.take(rows)``,
    ``table.numeric(name)`` (float64; text → "column X row N: 'abc' is not a number").
``read_table(path, delimiter=None, header=True, na_values=(...), text=False) -> Table``, ``read_csv``
    CSV (delimiter detected among ``, ; tab |``; plain, ``.gz`` or ``.zst``; BOM or not; quoted
    newlines), Parquet or Arrow/Feather, by pyarrow (``chainrule[arrow]``; the ``csv`` module
    without it). A column whose every non-empty cell is a number becomes float64, any other
    column stays text (the ``Preprocessor`` reports stray text). Missing, empty, header-only,
    binary files and ragged rows raise ``DataError`` (a ``ValueError``) naming the problem and the
    fix; a header of numbers warns (``DataWarning``). ``text=True`` keeps every cell as written.
``iter_tables(path, ..., chunk_bytes=1 MiB) -> Iterator[Table]``
    The same rows in chunks whose rows are numbered as in the file (``chainrule.data.streaming``
    builds on it: ``FileBatches``, ``held_out``).
``from_arrays(x, y=None, feature_names=None, target_name="target") -> Table``
    A 2-D array (kept as one block, no copy, for the fast path) plus an optional target.
``from_dataframe(df) -> Table``
    pandas (optional extra ``chainrule[pandas]``), imported lazily.

Preprocessing (``chainrule.data.preprocessing``)
------------------------------------------------
``Preprocessor(target=None, features=None, categorical=None, task=None, standardize=True,
standardize_target=True, impute=None, max_categories=100, unknown="other", drop_constant=True)``
    ``fit(table)``; ``fit_chunks(tables)`` (one streaming pass); ``describe()`` (each column's
    role, kind, reason and outputs: the decisions of ``chainrule.data.columns``);
    ``transform(table) -> float32 (n, n_features_out)``; ``fit_transform(table)``;
    ``transform_target(table)`` → regression: float32 ``(n, 1)``
    (standardised ``(y − mean)/std`` when ``standardize_target``), classification: int64 ``(n,)``
    class indices into ``classes_``; ``inverse_transform_target(predictions)`` → regression
    values in original units, or class labels from indices / scores ``(n, k)`` (argmax);
    ``to_dict()`` / ``Preprocessor.from_dict(d)`` (JSON-serialisable, for checkpoints);
    ``input_columns``, ``feature_names_out``, ``classes_``, ``task``, ``target``.
    Numeric features: ``z = (x − mean)/std``; formatted numbers parsed; dates → year, month, day
    of week, days; text → one-hot (rare categories → ``<other>``; unseen ones → ``<other>`` or
    zeros with a warning); IDs, near-unique text and constant columns dropped with a warning; a
    constant target is an error. Missing values are an error unless
    ``impute="mean"|"median"|"most_frequent"``; infinity is always an error.

Splits and batches (``chainrule.data.split``)
---------------------------------------------
``train_test_split(*arrays, test_size=0.2, seed=None, stratify=None)``
    → ``[a_train, a_test, b_train, b_test, ...]`` (arrays or Tables), like scikit-learn.
``batches(n, batch_size, shuffle=False, drop_last=False, generator=None)``
    yields index arrays covering ``range(n)``.
``DataLoader(*arrays, batch_size=32, shuffle=False, drop_last=False, generator=None)``
    iterates over tuples of array slices (whole-batch slicing, no per-sample loop);
    ``len(loader)`` is the number of batches.
``DataLoader(dataset, batch_size=1, shuffle=False, drop_last=False, generator=None, collate_fn=None)``
    PyTorch's form: batches of a ``Dataset`` collated into tensors; ``loader.dataset``.

PyTorch's datasets (``chainrule.data.dataset``)
-----------------------------------------------
``Dataset`` (``__getitem__``, ``__len__``), ``TensorDataset(*tensors)`` (``.tensors``; gathered
a batch at a time), ``default_collate(samples)``, as ``torch.utils.data``.

Datasets (``chainrule.data.datasets``)
--------------------------------------
``load_dataset(name, data_dir=None) -> LoadedDataset``
    ``LoadedDataset``: ``name``, ``train`` (Table), ``test`` (Table or None), ``target``, ``task``,
    ``description``, ``source``, ``licence``; ``dataset.preprocessor()`` gives the unfitted
    ``Preprocessor`` suited to it (e.g. ``standardize=False`` for MNIST, median imputation for
    California); ``dataset.arrays(preprocessor=None) -> (preprocessor, x_train, y_train,
    x_test, y_test)`` fits the preprocessor on ``train`` and returns float32 ``x`` and encoded
    ``y`` (``x_test``/``y_test`` are None when the dataset has no test split).
``list_datasets() -> list[DatasetInfo]`` (``name``, ``bundled``, ``task``, ``target``,
``description``, ``source``, ``licence``) for ``chainrule datasets``.
    Bundled: portland-housing, iris, digits, wine, breast-cancer, diabetes, teacher-student.
    Read from ``data_dir``: mnist (IDX files, gzip or raw), king-county, king-county-log,
    california-housing.
"""

from chainrule.data.dataset import Dataset, TensorDataset, default_collate
from chainrule.data.datasets import DatasetInfo, LoadedDataset, list_datasets, load_dataset
from chainrule.data.idx import read_idx
from chainrule.data.preprocessing import Preprocessor, infer_task
from chainrule.data.readers import iter_tables, read_csv, read_table
from chainrule.data.split import DataLoader, batches, train_test_split
from chainrule.data.table import DataError, DataWarning, Table, concat_tables, from_arrays, from_dataframe

__all__ = [
    "DataError",
    "DataLoader",
    "DataWarning",
    "Dataset",
    "DatasetInfo",
    "LoadedDataset",
    "Preprocessor",
    "Table",
    "TensorDataset",
    "batches",
    "concat_tables",
    "default_collate",
    "from_arrays",
    "from_dataframe",
    "infer_task",
    "iter_tables",
    "list_datasets",
    "load_dataset",
    "read_csv",
    "read_idx",
    "read_table",
    "train_test_split",
]
