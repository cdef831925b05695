"""Named datasets: small ones bundled with the package, large ones read from a folder.

Bundled (files in ``chainrule/data/bundled/``, sources and licences in ``chainrule/data/NOTICE``):
``portland-housing``, ``iris``, ``digits``, ``wine``, ``breast-cancer``, ``diabetes``, and the
generated ``teacher-student``. Read from ``data_dir``: ``mnist`` (the four IDX files, gzip or
raw), ``king-county`` / ``king-county-log`` (``kc_house_data.csv[.gz]``) and
``california-housing`` (``california_housing.csv[.gz]`` or ``housing.csv``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy

from chainrule import backend
from chainrule.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from chainrule.data.preprocessing import Preprocessor
from chainrule.data.readers import read_csv
from chainrule.data.table import DataError, Table, from_arrays

BUNDLED = Path(__file__).parent / "bundled"
"""The folder of the bundled data files."""

SKLEARN_SOURCE = "scikit-learn 1.9.1 wheel, sklearn/datasets/data/"
SKLEARN_LICENCE = "BSD-3-Clause (scikit-learn)"


@dataclass
class LoadedDataset:
    """A loaded dataset: training rows, test rows where the dataset defines a split, and what they mean.

    Attributes
    ----------
    name, description, source, licence:
        What it is and where it comes from.
    train, test:
        :class:`Table` s; ``test`` is None when the dataset has no fixed split (use
        :func:`~chainrule.data.split.train_test_split`).
    target, task:
        The target column and ``"regression"`` or ``"classification"``.
    preprocessing:
        Keyword arguments of the :class:`Preprocessor` suited to it (see :meth:`preprocessor`).
    """

    name: str
    train: Table
    test: Table | None
    target: str
    task: str
    description: str
    source: str
    licence: str
    preprocessing: dict[str, Any] = field(default_factory=dict)

    def preprocessor(self) -> Preprocessor:
        """An unfitted :class:`Preprocessor` with this dataset's target, task and settings."""
        return Preprocessor(target=self.target, task=self.task, **self.preprocessing)

    def arrays(
        self, preprocessor: Preprocessor | None = None
    ) -> tuple[Preprocessor, numpy.ndarray, numpy.ndarray, numpy.ndarray | None, numpy.ndarray | None]:
        """``(preprocessor, x_train, y_train, x_test, y_test)``, the preprocessor fitted on ``train``.

        ``x`` is float32 ``(n, features)``; ``y`` as :meth:`Preprocessor.transform_target` gives it.
        ``x_test`` and ``y_test`` are None when there is no test split.
        """
        preprocessor = self.preprocessor() if preprocessor is None else preprocessor
        x_train = preprocessor.fit_transform(self.train)
        y_train = preprocessor.transform_target(self.train)
        if self.test is None:
            return preprocessor, x_train, y_train, None, None
        x_test, y_test = preprocessor.transform(self.test), preprocessor.transform_target(self.test)
        return preprocessor, x_train, y_train, x_test, y_test


@dataclass(frozen=True)
class DatasetInfo:
    """One entry of :func:`list_datasets`: what a name loads, without loading it.

    ``files`` names what ``data_dir`` must hold for datasets that are not bundled.
    """

    name: str
    description: str
    task: str
    target: str
    source: str
    licence: str
    bundled: bool
    files: str = ""
    preprocessing: dict[str, Any] = field(default_factory=dict)
    load: Callable[[Path | None], tuple[Table, Table | None]] = field(default=None, repr=False, compare=False)


# bundled loaders -------------------------------------------------------------------------------


def _portland(_: Path | None) -> tuple[Table, None]:
    return read_csv(BUNDLED / "portland_housing.csv"), None


def _sklearn_csv(file: str, feature_names: list[str], target: str) -> tuple[Table, None]:
    """scikit-learn's CSV layout: a first line ``n_rows,n_features,class_0,class_1,…``, then numbers, label last."""
    path = BUNDLED / file
    with open(path, encoding="utf-8") as handle:
        first = handle.readline().strip().split(",")
    n_rows, n_features, class_names = int(first[0]), int(first[1]), first[2:]
    data = numpy.loadtxt(path, delimiter=",", skiprows=1, dtype=numpy.float64)
    if data.shape != (n_rows, n_features + 1) or len(feature_names) != n_features:
        raise DataError(f"{path}: expected {n_rows}×{n_features + 1} values, found {data.shape}; reinstall chainrule")
    columns: dict[str, Any] = dict(zip(feature_names, data[:, :-1].T))
    columns[target] = numpy.array([class_names[int(label)] for label in data[:, -1]], dtype=object)
    return Table(columns, source=str(path)), None


def _iris(_: Path | None) -> tuple[Table, None]:
    return _sklearn_csv("iris.csv", ["sepal_length", "sepal_width", "petal_length", "petal_width"], "species")


WINE_FEATURES = ["alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols", "flavanoids",
                 "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                 "od280/od315_of_diluted_wines", "proline"]  # fmt: skip
_NUCLEUS = ("radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
            "concave_points", "symmetry", "fractal_dimension")  # fmt: skip
BREAST_CANCER_FEATURES = [f"mean_{n}" for n in _NUCLEUS] + [f"{n}_error" for n in _NUCLEUS]
BREAST_CANCER_FEATURES += [f"worst_{n}" for n in _NUCLEUS]
DIABETES_FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def _wine(_: Path | None) -> tuple[Table, None]:
    return _sklearn_csv("wine_data.csv", WINE_FEATURES, "cultivar")


def _breast_cancer(_: Path | None) -> tuple[Table, None]:
    return _sklearn_csv("breast_cancer.csv", BREAST_CANCER_FEATURES, "diagnosis")


def _digits(_: Path | None) -> tuple[Table, None]:
    data = numpy.loadtxt(BUNDLED / "digits.csv.gz", delimiter=",", dtype=numpy.float64)
    names = [f"pixel_{row}_{col}" for row in range(8) for col in range(8)]
    return from_arrays(data[:, :64], data[:, 64], feature_names=names, target_name="digit"), None


def _diabetes(_: Path | None) -> tuple[Table, None]:
    x = numpy.loadtxt(BUNDLED / "diabetes_data_raw.csv.gz", dtype=numpy.float64)
    y = numpy.loadtxt(BUNDLED / "diabetes_target.csv.gz", dtype=numpy.float64)
    return from_arrays(x, y, feature_names=DIABETES_FEATURES, target_name="progression"), None


TEACHER_STUDENT_ROWS = (2000, 1000)
"""Train and test rows of ``teacher-student``, as in ``examples/seed_003_teacher_student.py``."""


def _teacher_student(_: Path | None) -> tuple[Table, Table]:
    from chainrule.data.synthetic import make_teacher_student

    n_train, n_test = TEACHER_STUDENT_ROWS
    x, y = make_teacher_student(n_train + n_test, teacher_sizes=(3, 5, 1), activation="sigmoid", seed=0)
    table = from_arrays(x, y[:, 0], feature_names=["x1", "x2", "x3"], target_name="y")
    return table.take(slice(0, n_train)), table.take(slice(n_train, None))


# loaders reading from data_dir ------------------------------------------------------------------


def _find(data_dir: Path, names: tuple[str, ...], dataset: str) -> Path:
    """The first of ``names`` (each also tried with ``.gz``) in ``data_dir``; ``data_dir`` may be the file itself."""
    if data_dir.is_file():
        return data_dir
    if not data_dir.is_dir():
        raise DataError(f"data_dir {data_dir} does not exist; pass the folder that holds the {dataset} files")
    for name in names:
        for candidate in (data_dir / name, data_dir / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    there = sorted(p.name for p in data_dir.iterdir())[:12]
    raise DataError(
        f"{data_dir} holds no {' or '.join(names)} (plain or .gz) for {dataset}; it has {there}; "
        "pass the folder with that file"
    )


MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _mnist_part(data_dir: Path, images_name: str, labels_name: str) -> Table:
    if data_dir.is_file():
        raise DataError(f"{data_dir} is a file; for mnist pass the folder that holds the four IDX files")
    images = read_idx(_find(data_dir, (images_name,), "mnist"), IMAGES_MAGIC)
    labels = read_idx(_find(data_dir, (labels_name,), "mnist"), LABELS_MAGIC)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(
            f"{images_name} holds {images.shape} and {labels_name} {labels.shape}; expected (n, rows, cols) images "
            "and n labels from the same MNIST release"
        )
    x = images.reshape(len(images), -1).astype(numpy.float32) / numpy.float32(255.0)
    names = [f"pixel{i}" for i in range(x.shape[1])]
    return from_arrays(x, labels, feature_names=names, target_name="label")


def _mnist(data_dir: Path | None) -> tuple[Table, Table]:
    return _mnist_part(data_dir, *MNIST_FILES["train"]), _mnist_part(data_dir, *MNIST_FILES["test"])


def _king_county(data_dir: Path | None, log_price: bool = False) -> tuple[Table, None]:
    table = read_csv(_find(data_dir, ("kc_house_data.csv",), "king-county"))
    if "price" not in table:
        raise DataError(f"{table.source} has no 'price' column; pass King County's kc_house_data.csv")
    keep = [name for name in table.columns if name not in ("id", "date")]
    table = table.select(keep)
    if not log_price:
        return table, None
    columns = {name: table[name] for name in keep if name != "price"}
    columns["log_price"] = backend.xp.log(table.numeric("price"))
    return Table(columns, source=table.source), None


def _california(data_dir: Path | None) -> tuple[Table, None]:
    return read_csv(_find(data_dir, ("california_housing.csv", "housing.csv"), "california-housing")), None


_DATASETS = [
    DatasetInfo("portland-housing", "Portland, OR house sales: size (sq ft) and bedrooms → price (USD); 47 rows",
                "regression", "price", "Andrew Ng, Coursera Machine Learning, ex1data2.txt", "no licence stated",
                True, load=_portland),
    DatasetInfo("iris", "Fisher's iris flowers: 4 measurements (cm) → species; 150 rows, 3 classes",
                "classification", "species", SKLEARN_SOURCE + "iris.csv", SKLEARN_LICENCE, True, load=_iris),
    DatasetInfo("digits", "8×8 handwritten digits, pixels 0..16 → digit; 1797 rows, 10 classes",
                "classification", "digit", SKLEARN_SOURCE + "digits.csv.gz", SKLEARN_LICENCE, True,
                preprocessing={"drop_constant": False}, load=_digits),
    DatasetInfo("wine", "Wines of three cultivars: 13 chemical measurements → cultivar; 178 rows",
                "classification", "cultivar", SKLEARN_SOURCE + "wine_data.csv", SKLEARN_LICENCE, True, load=_wine),
    DatasetInfo("breast-cancer", "Wisconsin diagnostic breast cancer: 30 cell-nucleus features → diagnosis; 569 rows",
                "classification", "diagnosis", SKLEARN_SOURCE + "breast_cancer.csv", SKLEARN_LICENCE, True,
                load=_breast_cancer),
    DatasetInfo("diabetes", "Diabetes: age, sex, BMI, blood pressure, 6 serum values (unscaled) → disease "
                "progression after one year; 442 rows", "regression", "progression",
                SKLEARN_SOURCE + "diabetes_data_raw.csv.gz, diabetes_target.csv.gz", SKLEARN_LICENCE, True,
                load=_diabetes),
    DatasetInfo("teacher-student", "Generated (seed 003): x ~ N(0, 1) in 3 columns, y = a random sigmoid 3-5-1 "
                "teacher network without biases (seed 0); 2000 train / 1000 test rows", "regression", "y",
                "generated by chainrule.data.synthetic.make_teacher_student", "generated, no licence needed", True,
                load=_teacher_student),
    DatasetInfo("mnist", "MNIST handwritten digits, 28×28 pixels scaled to [0, 1] → digit; 60000 train / 10000 test",
                "classification", "label", "Y. LeCun, C. Cortes, C. J. C. Burges, the MNIST database",
                "see the MNIST database's terms", False,
                files="train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
                "t10k-labels-idx1-ubyte (each raw or .gz)", load=_mnist,
                preprocessing={"standardize": False, "drop_constant": False}),
    DatasetInfo("king-county", "King County (Seattle) house sales 2014-15: 18 numeric features → price (USD); "
                "id and date dropped; 21613 rows", "regression", "price",
                "Kaggle 'House Sales in King County, USA'", "see the Kaggle dataset's terms", False,
                files="kc_house_data.csv or kc_house_data.csv.gz", load=_king_county),
    DatasetInfo("king-county-log", "King County as above with target log_price = ln(price) in place of price",
                "regression", "log_price", "Kaggle 'House Sales in King County, USA'",
                "see the Kaggle dataset's terms", False, files="kc_house_data.csv or kc_house_data.csv.gz",
                load=lambda data_dir: _king_county(data_dir, log_price=True)),
    DatasetInfo("california-housing", "California census block groups 1990: 8 numeric features and "
                "ocean_proximity (one-hot) → median_house_value; 207 empty total_bedrooms imputed by the median; "
                "20640 rows", "regression", "median_house_value",
                "Pace & Barry (1997) via StatLib; copy from A. Géron's handson-ml2",
                "see StatLib's terms", False, files="california_housing.csv(.gz) or housing.csv(.gz)",
                preprocessing={"impute": "median"}, load=_california),
]  # fmt: skip
DATASETS: dict[str, DatasetInfo] = {info.name: info for info in _DATASETS}
"""Every dataset name and what it loads."""


def list_datasets() -> list[DatasetInfo]:
    """All datasets, bundled first, in a stable order (for ``chainrule datasets``)."""
    return sorted(DATASETS.values(), key=lambda info: (not info.bundled, _DATASETS.index(info)))


def load_dataset(name: str, data_dir: str | Path | None = None) -> LoadedDataset:
    """Load dataset ``name``: bundled ones from the package, the others from ``data_dir``.

    ``data_dir`` is ignored for bundled datasets. For ``king-county`` and ``california-housing``
    it may also be the CSV file itself.

    Raises
    ------
    DataError
        Unknown name (the known ones listed), no ``data_dir`` for a dataset that needs one, or
        missing or damaged files there.
    """
    info = DATASETS.get(name)
    if info is None:
        raise DataError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    if not info.bundled and data_dir is None:
        raise DataError(
            f"dataset {name!r} is not bundled; pass data_dir (CLI: --data-dir DIR), a folder holding {info.files}"
        )
    train, test = info.load(None if info.bundled else Path(data_dir))
    return LoadedDataset(
        name=info.name,
        train=train,
        test=test,
        target=info.target,
        task=info.task,
        description=info.description,
        source=info.source,
        licence=info.licence,
        preprocessing=dict(info.preprocessing),
    )
