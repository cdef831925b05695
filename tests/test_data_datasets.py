"""chainrule.data.datasets and .idx: every bundled dataset against scikit-learn's copy, the Portland
least-squares check of SOURCES.txt, MNIST on the real files and on tiny IDX files, King County and
California housing from ../shared/data."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn import datasets as sk

from chainrule.data import DataError, Preprocessor, list_datasets, load_dataset, read_idx
from chainrule.data.synthetic import make_teacher_student

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():  # the tests run from /work/main; the data lives in /work/shared/data
    SHARED = Path("/work/shared/data")


def test_list_datasets():
    infos = {info.name: info for info in list_datasets()}
    bundled = ["portland-housing", "iris", "digits", "wine", "breast-cancer", "diabetes", "teacher-student"]
    assert [info.name for info in list_datasets()][:7] == bundled
    assert all(infos[name].bundled for name in bundled)
    for name in ("mnist", "king-county", "king-county-log", "california-housing"):
        assert not infos[name].bundled and infos[name].files
    assert all(info.source and info.licence and info.description for info in infos.values())
    with pytest.raises(DataError, match=r"unknown dataset 'irises'; choose one of portland-housing, iris"):
        load_dataset("irises")
    with pytest.raises(DataError, match=r"'mnist' is not bundled; pass data_dir .*--data-dir"):
        load_dataset("mnist")


def test_portland_least_squares_matches_the_course():
    data = load_dataset("portland-housing")
    table = data.train
    assert data.test is None and data.target == "price" and data.task == "regression"
    assert table.columns == ["size_sqft", "bedrooms", "price"] and table.n_rows == 47
    design = np.column_stack([np.ones(47), table["size_sqft"], table["bedrooms"]])
    theta = np.linalg.lstsq(design, table["price"], rcond=None)[0]
    np.testing.assert_allclose(theta, [89597.91, 139.2107, -8738.019], rtol=1e-6)
    assert round(float(theta @ [1.0, 1650.0, 3.0]), 2) == 293081.46


@pytest.mark.parametrize(
    ("name", "loader", "shape", "classes"),
    [
        ("iris", sk.load_iris, (150, 4), ["setosa", "versicolor", "virginica"]),
        ("wine", sk.load_wine, (178, 13), ["class_0", "class_1", "class_2"]),
        ("breast-cancer", sk.load_breast_cancer, (569, 30), ["malignant", "benign"]),
        ("digits", sk.load_digits, (1797, 64), list(range(10))),
    ],
)
def test_bundled_classification_sets_equal_sklearn(name, loader, shape, classes):
    data = load_dataset(name)
    reference = loader()
    features = [c for c in data.train.columns if c != data.target]
    assert data.task == "classification" and len(features) == shape[1] and data.train.n_rows == shape[0]
    np.testing.assert_array_equal(data.train.numeric_matrix(features), reference.data)
    labels = [classes[i] for i in reference.target]
    assert data.train[data.target].tolist() == labels
    preprocessor, x, y, x_test, y_test = data.arrays()
    assert x.shape == shape and x.dtype == np.float32 and x_test is None and y_test is None
    assert preprocessor.classes_.tolist() == sorted(classes)
    assert preprocessor.inverse_transform_target(y).tolist() == labels


def test_diabetes_equals_sklearn_unscaled():
    data = load_dataset("diabetes")
    reference = sk.load_diabetes(scaled=False)
    assert data.train.columns == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6", "progression"]
    np.testing.assert_array_equal(data.train.numeric_matrix(data.train.columns[:10]), reference.data)
    np.testing.assert_array_equal(data.train["progression"], reference.target)
    preprocessor, _, y, _, _ = data.arrays()
    assert preprocessor.task == "regression" and y.shape == (442, 1)
    np.testing.assert_allclose(preprocessor.inverse_transform_target(y)[:, 0], reference.target, rtol=1e-6)


def test_teacher_student_is_the_seed_003_data():
    data = load_dataset("teacher-student")
    x, y = make_teacher_student(3000, teacher_sizes=(3, 5, 1), activation="sigmoid", seed=0)
    assert (data.train.n_rows, data.test.n_rows) == (2000, 1000)
    np.testing.assert_array_equal(data.train.numeric_matrix(["x1", "x2", "x3"]), x[:2000])
    np.testing.assert_array_equal(data.test["y"], y[2000:, 0])
    preprocessor, x_train, y_train, x_test, y_test = data.arrays()
    assert x_train.shape == (2000, 3) and y_test.shape == (1000, 1)
    mean, std = x[:2000].mean(axis=0), x[:2000].std(axis=0)
    np.testing.assert_allclose(x_test, (x[2000:] - mean) / std, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(preprocessor.inverse_transform_target(y_train), y[:2000], rtol=1e-6)


def write_idx(path: Path, magic: int, array: np.ndarray, compress: bool = False) -> None:
    """An IDX file by the format's definition: magic, big-endian uint32 sizes, then the bytes."""
    data = magic.to_bytes(4, "big") + b"".join(s.to_bytes(4, "big") for s in array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_from_tiny_idx_files(tmp_path, compress):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compress else ""
    images = {"train": rng.integers(0, 256, (5, 3, 2), dtype=np.uint8), "t10k": rng.integers(0, 256, (2, 3, 2))}
    labels = {"train": np.array([3, 1, 4, 1, 5], np.uint8), "t10k": np.array([5, 1], np.uint8)}
    for part in ("train", "t10k"):
        write_idx(tmp_path / f"{part}-images-idx3-ubyte{suffix}", 2051, images[part].astype(np.uint8), compress)
        write_idx(tmp_path / f"{part}-labels-idx1-ubyte{suffix}", 2049, labels[part], compress)
    data = load_dataset("mnist", data_dir=tmp_path)
    preprocessor, x_train, y_train, x_test, y_test = data.arrays()
    np.testing.assert_array_equal(x_train, images["train"].reshape(5, 6).astype(np.float32) / np.float32(255))
    assert x_train.dtype == np.float32 and x_test.shape == (2, 6)
    np.testing.assert_array_equal(preprocessor.inverse_transform_target(y_train), [3, 1, 4, 1, 5])
    np.testing.assert_array_equal(y_test, [3, 0])  # indices into classes_ = [1, 3, 4, 5]
    np.testing.assert_array_equal(preprocessor.inverse_transform_target(y_test), [5, 1])
    assert not preprocessor.standardize
    again = Preprocessor.from_dict(json.loads(json.dumps(preprocessor.to_dict())))
    np.testing.assert_array_equal(again.transform(data.test), x_test)


def test_idx_errors(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"PK\x03\x04 not idx at all")
    with pytest.raises(DataError, match=r"is not an IDX file \(its first bytes 50 4b 03 04"):
        read_idx(path)
    write_idx(path, 2049, np.zeros(4, np.uint8))
    with pytest.raises(DataError, match=r"has magic number 2049, not 2051 \(images\); .*swapped"):
        read_idx(path, expected_magic=2051)
    path.write_bytes((2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2, 2, 2)) + b"\x00" * 5)
    with pytest.raises(DataError, match=r"holds 5 bytes of values but its header \(2, 2, 2\) needs 8; .*truncated"):
        read_idx(path)
    path.write_bytes(b"\x1f\x8b\x08\x00\x00")
    with pytest.raises(DataError, match=r"damaged gzip file"):
        read_idx(path)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: damaged gzip file"):
        load_dataset("mnist", data_dir=tmp_path)
    path.unlink()
    with pytest.raises(DataError, match=r"holds no train-images-idx3-ubyte \(plain or .gz\) for mnist; it has \[\]"):
        load_dataset("mnist", data_dir=tmp_path)
    with pytest.raises(DataError, match=r"does not exist; pass the folder"):
        load_dataset("mnist", data_dir=tmp_path / "nowhere")


def test_mnist_real_files():
    data = load_dataset("mnist", data_dir=SHARED / "mnist")
    assert (data.train.n_rows, data.test.n_rows) == (60000, 10000)
    _, x_train, y_train, x_test, y_test = data.arrays()
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784) and x_train.dtype == np.float32
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_king_county_and_log_price():
    data = load_dataset("king-county", data_dir=SHARED)
    assert data.train.n_rows == 21613 and "id" not in data.train and "date" not in data.train
    assert len(data.train.columns) == 19 and data.target == "price"
    assert data.train["price"][0] == 221900.0 and data.train["price"].max() == 7700000.0
    logged = load_dataset("king-county-log", data_dir=SHARED / "kc_house_data.csv.gz")
    assert "price" not in logged.train and logged.target == "log_price"
    np.testing.assert_allclose(logged.train["log_price"], np.log(data.train["price"]), rtol=1e-15)
    _, x, _, _, _ = logged.arrays()
    assert x.shape == (21613, 18)


def test_california_housing_imputes_and_one_hot_encodes():
    data = load_dataset("california-housing", data_dir=SHARED)
    assert data.train.n_rows == 20640 and int(np.isnan(data.train["total_bedrooms"]).sum()) == 207
    preprocessor, x, y, _, _ = data.arrays()
    assert x.shape == (20640, 13) and np.isfinite(x).all()
    np.testing.assert_allclose(preprocessor.inverse_transform_target(y)[:, 0], data.train["median_house_value"], 1e-6)
    assert preprocessor.feature_names_out[8:] == [
        "ocean_proximity=<1H OCEAN",
        "ocean_proximity=INLAND",
        "ocean_proximity=ISLAND",
        "ocean_proximity=NEAR BAY",
        "ocean_proximity=NEAR OCEAN",
    ]
    assert preprocessor.fill_[4] == float(np.nanmedian(data.train["total_bedrooms"]))
    with pytest.raises(DataError, match=r"column 'total_bedrooms' row 291 .* is empty"):
        Preprocessor(target="median_house_value").fit(data.train)


def test_idx_that_inflates_past_its_header_is_rejected_before_inflating(tmp_path):
    import tracemalloc
    import zlib

    path = tmp_path / "bomb-images-idx3-ubyte.gz"
    header = (2051).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2, 28, 28))
    stream = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip
    with open(path, "wb") as handle:  # 2 images declared, 256 MiB of zeros inside: about 250 KB on disk
        handle.write(stream.compress(header))
        block = bytes(1 << 20)
        for _ in range(256):
            handle.write(stream.compress(block))
        handle.write(stream.flush())
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    with pytest.raises(DataError, match=r"holds more than the 1568 bytes of values its header \(2, 28, 28\) declares"):
        read_idx(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1 << 20  # nothing near the 256 MiB was inflated into memory
