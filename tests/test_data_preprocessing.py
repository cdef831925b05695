"""chainrule.data.preprocessing: standardisation, one-hot, label encoding, task inference, imputation,
the JSON round trip stored in checkpoints, and the errors for bad cells and mismatched columns."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from chainrule.data import DataError, DataWarning, Preprocessor, Table, from_arrays, infer_task, read_csv


def houses() -> Table:
    return Table(
        {
            "size": [2104.0, 1600.0, 2400.0, 1416.0, 3000.0],
            "city": ["Salem", "Portland", "Salem", "Eugene", "Portland"],
            "rooms": [3.0, 3.0, 3.0, 2.0, 4.0],
            "price": [399900.0, 329900.0, 369000.0, 232000.0, 539900.0],
        }
    )


def test_standardise_one_hot_and_names_match_sklearn():
    table = houses()
    pre = Preprocessor(target="price")
    x = pre.fit_transform(table)
    assert pre.input_columns == ["size", "city", "rooms"]
    assert pre.feature_names_out == ["size", "rooms", "city=Eugene", "city=Portland", "city=Salem"]
    assert x.dtype == np.float32 and x.shape == (5, 5)
    numeric = np.stack([table["size"], table["rooms"]], axis=1)
    np.testing.assert_allclose(x[:, :2], StandardScaler().fit_transform(numeric), rtol=1e-6)
    onehot = OneHotEncoder().fit_transform(table["city"].astype(str)[:, None]).toarray()
    np.testing.assert_array_equal(x[:, 2:], onehot)
    # by hand: rooms mean 3, population std sqrt(0.4)
    np.testing.assert_allclose(x[3, 1], (2 - 3) / np.sqrt(0.4), rtol=1e-6)


def test_constant_column_is_dropped_with_a_warning_or_kept_and_divided_by_one():
    table = from_arrays(np.array([[5.0, 1.0], [5.0, 3.0]]))
    with pytest.warns(DataWarning, match=r"column 'x0' dropped: constant: every row holds 5.0"):
        pre = Preprocessor().fit(table)
    assert pre.feature_names_out == ["x1"] and pre.input_columns == ["x1"]
    assert pre.describe()[0] == {
        "name": "x0",
        "role": "dropped",
        "kind": "constant",
        "outputs": [],
        "details": {},
        "reason": "constant: every row holds 5.0, which tells the model nothing",
    }
    np.testing.assert_array_equal(pre.transform(from_arrays(np.array([[7.0, 2.0]]))), [[0.0]])
    kept = Preprocessor(drop_constant=False).fit(table)
    assert kept.std_ == [1.0, 1.0]
    np.testing.assert_array_equal(kept.transform(from_arrays(np.array([[7.0, 2.0]]))), [[2.0, 0.0]])


def test_regression_target_standardised_and_inverted():
    table = houses()
    pre = Preprocessor(target="price").fit(table)
    assert pre.task == "regression"
    y = pre.transform_target(table)
    price = table["price"]
    assert y.shape == (5, 1) and y.dtype == np.float32
    np.testing.assert_allclose(y[:, 0], (price - price.mean()) / price.std(), rtol=1e-6)
    np.testing.assert_allclose(pre.inverse_transform_target(y)[:, 0], price, rtol=1e-6)
    raw = Preprocessor(target="price", standardize_target=False).fit(table)
    np.testing.assert_array_equal(raw.transform_target(table)[:, 0], price.astype(np.float32))
    np.testing.assert_array_equal(raw.inverse_transform_target(np.array([[1.5]])), [[1.5]])


def test_classification_labels_encoded_and_decoded():
    table = Table({"x": [0.1, 0.2, 0.3, 0.4], "species": ["virginica", "setosa", "versicolor", "setosa"]})
    pre = Preprocessor(target="species").fit(table)
    assert pre.task == "classification"
    assert pre.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    y = pre.transform_target(table)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [2, 0, 1, 0])
    scores = np.array([[0.1, 2.0, 0.3], [5.0, 0.0, 0.0]])
    assert pre.inverse_transform_target(scores).tolist() == ["versicolor", "setosa"]
    assert pre.inverse_transform_target(np.array([2, 1])).tolist() == ["virginica", "versicolor"]
    with pytest.raises(ValueError, match=r"class indices must lie in 0..2"):
        pre.inverse_transform_target(np.array([3]))
    unseen = Table({"x": [0.1], "species": ["rosa"]})
    with pytest.raises(DataError, match=r"target column 'species' row 1: class 'rosa' was not seen in fitting"):
        pre.transform_target(unseen)


def test_numeric_classes_and_binary_logit():
    table = from_arrays(np.arange(4.0)[:, None], np.array([1, 0, 1, 1]), target_name="label")
    pre = Preprocessor(target="label").fit(table)
    assert pre.task == "classification" and pre.classes_.dtype == np.int64 and pre.classes_.tolist() == [0, 1]
    np.testing.assert_array_equal(pre.transform_target(table), [1, 0, 1, 1])
    assert pre.inverse_transform_target(np.array([[-0.3], [2.0]])).tolist() == [0, 1]


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (np.array(["a", "b", "a"], dtype=object), "classification"),
        (np.array([0.0, 1.0, 1.0]), "classification"),  # two whole numbers
        (np.array([0.0, 1.0, 2.0, 1.0, 0.0, 2.0]), "classification"),  # 3 classes in 6 rows
        (np.array([1.0, 2.0, 3.0, 4.0]), "regression"),  # as many distinct values as rows
        (np.arange(30.0).repeat(3), "regression"),  # 30 > 20 distinct whole numbers
        (np.array([0.5, 1.0, 0.5, 1.0]), "regression"),  # not whole numbers
        (np.array(["1", "2", "x", "3"], dtype=object), "regression"),  # a numeric column with a typo
    ],
)
def test_infer_task(values, task):
    assert infer_task(values) == task


def test_json_round_trip_gives_the_same_transform():
    table = Table(
        {
            "size": [2104.0, np.nan, 2400.0, 1416.0],
            "zip": [97201.0, 97301.0, 97201.0, np.nan],
            "city": ["Salem", None, "Salem", "Eugene"],
            "price": [399900.0, 329900.0, 369000.0, 232000.0],
        }
    )
    pre = Preprocessor(target="price", categorical=["zip", "city"], impute="median").fit(table)
    assert pre.feature_names_out == ["size", "zip=97201", "zip=97301", "city=Eugene", "city=Salem"]
    text = json.dumps(pre.to_dict())
    again = Preprocessor.from_dict(json.loads(text))
    np.testing.assert_array_equal(again.transform(table), pre.transform(table))
    np.testing.assert_array_equal(again.transform_target(table), pre.transform_target(table))
    expected = [[0.5 * pre.target_std_ + 332700.0]]  # the mean price
    np.testing.assert_array_equal(again.inverse_transform_target(np.array([[0.5]])), expected)
    assert again.feature_names_out == pre.feature_names_out and again.input_columns == pre.input_columns
    features_only = Preprocessor.from_dict(json.loads(json.dumps(Preprocessor(impute="mean").fit(table).to_dict())))
    assert features_only.target is None and features_only.classes_ is None
    assert features_only.input_columns == ["size", "zip", "city", "price"]
    labelled = Preprocessor(target="species").fit(Table({"x": [1.0, 2.0], "species": ["b", "a"]}))
    back = Preprocessor.from_dict(json.loads(json.dumps(labelled.to_dict())))
    assert back.classes_.tolist() == ["a", "b"]
    assert back.inverse_transform_target(np.array([1, 0])).tolist() == ["b", "a"]
    with pytest.raises(DataError, match=r"not a saved chainrule Preprocessor"):
        Preprocessor.from_dict({"format": "other"})
    broken = pre.to_dict()
    del broken["numeric"]
    with pytest.raises(DataError, match=r"incomplete or damaged"):
        Preprocessor.from_dict(broken)


def test_imputation_values():
    table = Table({"a": [1.0, np.nan, 2.0, 2.0, 10.0], "c": ["x", "y", None, "y", "x"]})
    expected = {"mean": 15.0 / 4, "median": 2.0, "most_frequent": 2.0}
    for impute, fill in expected.items():
        pre = Preprocessor(impute=impute, standardize=False).fit(table)
        x = pre.transform(table)
        assert x[1, 0] == np.float32(fill), impute
        np.testing.assert_array_equal(x[2, 1:], [1.0, 0.0])  # most frequent category: 'x' (tie → smallest)


def test_missing_infinite_and_text_cells_name_column_and_row(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("a,b,y\n1,2,3\n4,,6\n7,8,9\n")
    with pytest.raises(DataError, match=r"column 'b' row 2 \(line 3 of .*d.csv\) is empty \(a missing value\); .*imp"):
        Preprocessor(target="y").fit(read_csv(path))
    path.write_text("a,b,y\n1,2,3\n4,inf,6\n")
    with pytest.raises(DataError, match=r"column 'b' row 2 .*: infinity is not a usable value"):
        Preprocessor(target="y", impute="mean").fit(read_csv(path))
    path.write_text("a,b,y\n1,2,3\n4,5,\n")
    with pytest.raises(DataError, match=r"column 'y' row 2 .* is empty .*a target is never imputed"):
        Preprocessor(target="y", impute="mean").fit(read_csv(path))
    path.write_text("a,b,y\n1,2,3\n4,abc,6\n7,8,9\n")
    with pytest.raises(DataError, match=r"column 'b' row 2 \(line 3 of .*\): 'abc' is not a number"):
        Preprocessor(target="y").fit(read_csv(path))
    with pytest.raises(DataError, match=r"column 'b' row 2 .*'abc' is not a number"):
        Preprocessor(target="y", categorical=[]).fit(read_csv(path))  # every feature declared numeric
    pre = Preprocessor(target="y", categorical=["b"]).fit(read_csv(path))  # declared categorical: fine
    assert pre.feature_names_out == ["a", "b=2", "b=8", "b=abc"]


def test_transform_errors_on_new_rows():
    pre = Preprocessor(target="price").fit(houses())
    renamed = Table({"area": [2000.0], "town": ["Salem"], "rooms": [3.0]})
    with pytest.raises(DataError, match=r"lacks column\(s\) \['size', 'city'\] that the preprocessor was fitted on"):
        pre.transform(renamed)
    extra = Table({"rooms": [3.0], "city": ["Salem"], "size": [2000.0], "note": ["x"]})
    np.testing.assert_array_equal(pre.transform(extra)[0, 2:], [0.0, 0.0, 1.0])  # extra columns are ignored
    unknown = Table({"size": [2000.0], "city": ["Bend"], "rooms": [3.0]})
    with pytest.warns(
        DataWarning,
        match=r"column 'city': 1 row\(s\) hold categories not seen in fitting \('Bend'\); "
        r"encoded as a row of zeros .*unknown='error'",
    ):
        np.testing.assert_array_equal(pre.transform(unknown)[0, 2:], [0.0, 0.0, 0.0])
    strict = Preprocessor(target="price", unknown="error").fit(houses())
    with pytest.raises(DataError, match=r"column 'city' row 1: category 'Bend' was not seen in fitting"):
        strict.transform(unknown)
    with pytest.raises(DataError, match=r"target column 'cost' is not in the data; the columns are \['size'"):
        Preprocessor(target="cost").fit(houses())
    with pytest.raises(RuntimeError, match=r"not fitted yet"):
        Preprocessor().transform(houses())


def test_unstandardised_block_passes_through_without_copy():
    x = np.random.default_rng(0).random((6, 4), dtype=np.float32)
    table = from_arrays(x, np.arange(6) % 2, target_name="label")
    pre = Preprocessor(target="label", task="classification", standardize=False)
    assert pre.fit_transform(table) is x


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"task must be one of"):
        Preprocessor(task="ranking")
    with pytest.raises(ValueError, match=r"impute must be one of"):
        Preprocessor(impute="zero")
    with pytest.raises(TypeError, match=r"write \['city'\]"):
        Preprocessor(categorical="city")
    with pytest.raises(ValueError, match=r"target 'y' is also listed as a feature"):
        Preprocessor(target="y", features=["x", "y"])
