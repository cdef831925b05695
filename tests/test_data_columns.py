"""chainrule.data.columns through the Preprocessor: dates, formatted numbers, identifiers, near-unique text,
many and unseen categories, degenerate data (1e200, 1e-300, constant columns and targets), the decisions as data
and their checkpoint round trip."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import numpy as np
import pytest

from chainrule.data import DataError, DataWarning, Preprocessor, Table, from_arrays, read_csv


def days(text: str) -> float:
    moment = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() / 86400


@pytest.mark.parametrize(
    ("cells", "form"),
    [
        (["20141013T000000", "20150225T120000", "20141209T000000"], "%Y%m%dT%H%M%S"),
        (["2014-10-13", "2015-02-25T12:00:00", "2014-12-09 00:00"], "iso"),
        (["10/13/2014", "02/25/2015", "12/09/2014"], "%m/%d/%Y"),
        (["13/10/2014", "25/02/2015", "09/12/2014"], "%d/%m/%Y"),
    ],
)
def test_dates_become_year_month_weekday_and_days(cells, form):
    table = Table({"date": cells, "y": [1.0, 2.0, 4.0]})
    pre = Preprocessor(target="y", standardize=False).fit(table)
    info = pre.describe()[0]
    assert info["kind"] == "date" and info["details"] == {"format": form}
    assert info["outputs"] == pre.feature_names_out == ["date.year", "date.month", "date.day_of_week", "date.days"]
    x = pre.transform(table)
    # 2014-10-13 was a Monday (0), 2015-02-25 a Wednesday (2), 2014-12-09 a Tuesday (1)
    np.testing.assert_array_equal(x[:, :3], [[2014, 10, 0], [2015, 2, 2], [2014, 12, 1]])
    half = 0.5 if form != "%m/%d/%Y" and form != "%d/%m/%Y" else 0.0
    expected = [days("2014-10-13"), days("2015-02-25") + half, days("2014-12-09")]
    np.testing.assert_allclose(x[:, 3], expected, rtol=1e-7)
    assert expected[0] == 16356.0
    with pytest.raises(DataError, match=r"column 'date' row 1: 'soon' is not a date in the column's format"):
        pre.transform(Table({"date": ["soon"]}))


def test_formatted_numbers_are_parsed_and_reported(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('price,share,y\n"$1,200",12%,1\n"€3.50",0.5%,2\n"(1,000,000)",100%,3\n')
    pre = Preprocessor(target="y", standardize=False, standardize_target=False)
    x = pre.fit_transform(read_csv(path))
    np.testing.assert_allclose(x, [[1200.0, 0.12], [3.5, 0.005], [-1e6, 1.0]], rtol=1e-7)
    assert [info["kind"] for info in pre.describe()[:2]] == ["formatted", "formatted"]
    assert "thousands separators, currency or %" in pre.describe()[0]["reason"]
    with pytest.raises(DataError, match=r"column 'price' row 1: 'twelve' is not a number \(plain, or with"):
        pre.transform(Table({"price": ["twelve"], "share": ["1%"]}))
    target = Table({"x": [1.0, 2.0, 3.0], "cost": ["$1,000", "$2,500", "$4,000"]})
    pre = Preprocessor(target="cost").fit(target)
    assert pre.task == "regression" and pre.target_mean_ == 2500.0


def test_identifiers_and_near_unique_text_are_dropped_unless_categorical():
    n = 40
    rng = np.random.default_rng(0)
    table = Table({
        "house_id": np.arange(1000.0, 1000.0 + n),
        "name": [f"owner {i}" for i in range(n)],
        "city": ["a", "b"] * (n // 2),
        "size": rng.normal(size=n),
        "y": rng.normal(size=n),
    })  # fmt: skip
    with pytest.warns(DataWarning) as caught:
        pre = Preprocessor(target="y").fit(table)
    messages = [str(w.message) for w in caught]
    assert any("column 'house_id' dropped: ID-like" in m for m in messages)
    assert any("column 'name' dropped: near-unique text: 40 distinct values in 40 cells" in m for m in messages)
    assert pre.input_columns == ["city", "size"]
    roles = {info["name"]: (info["role"], info["kind"]) for info in pre.describe()}
    assert roles == {"house_id": ("dropped", "id"), "name": ("dropped", "text"), "city": ("feature", "categorical"),
                     "size": ("feature", "numeric"), "y": ("target", "numeric")}  # fmt: skip
    with pytest.warns(DataWarning, match=r"'house_id' dropped"):
        kept = Preprocessor(target="y", categorical=["name", "city"]).fit(table)
    assert "name" in kept.input_columns and len(kept.categories_[0]) == 40


def test_many_categories_keep_the_most_frequent_and_map_the_rest_to_other():
    labels = ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d", "e"]
    table = Table({"c": labels, "x": np.arange(14.0), "y": np.arange(14.0) % 2})
    with pytest.warns(
        DataWarning, match=r"column 'c' has 5 categories; kept the 3 most frequent, the other 2 \(2 rows"
    ):
        pre = Preprocessor(target="y", max_categories=3).fit(table)
    assert pre.feature_names_out == ["x", "c=a", "c=b", "c=c", "c=<other>"]
    info = pre.describe()[0]
    assert info["details"] == {"categories": 5, "kept": 3, "other_rows": 2}
    x = pre.transform(table)
    np.testing.assert_array_equal(x[-2:, 1:], [[0, 0, 0, 1], [0, 0, 0, 1]])
    with pytest.warns(DataWarning, match=r"column 'c': 1 row\(s\) hold categories not seen in fitting \('z'\); "
                      r"encoded as c=<other>"):  # fmt: skip
        unseen = pre.transform(Table({"c": ["z"], "x": [1.0]}))
    np.testing.assert_array_equal(unseen[0, 1:], [0, 0, 0, 1])


def test_twenty_thousand_categories_stay_small():
    n = 20_000
    table = Table({"c": [f"k{i}" for i in range(n)], "x": np.arange(n, dtype=float), "y": np.arange(n) % 2})
    with pytest.warns(DataWarning, match=r"has 20000 categories; kept the 100 most frequent"):
        x = Preprocessor(target="y", categorical=["c"]).fit_transform(table)
    assert x.shape == (n, 102) and x.dtype == np.float32


@pytest.mark.parametrize("scale", [1e200, 1e-300, 1.0])
def test_huge_and_tiny_columns_standardise_like_unit_ones(scale):
    base = np.array([1.0, 2.0, 4.0, 8.0])
    table = Table({"x": base * scale, "y": base * scale * 3})
    pre = Preprocessor(target="y").fit(table)
    z = (base - base.mean()) / base.std()
    np.testing.assert_allclose(pre.transform(table)[:, 0], z, rtol=1e-6)
    np.testing.assert_allclose(pre.transform_target(table)[:, 0], z, rtol=1e-6)
    np.testing.assert_allclose(pre.mean_[0] / scale, 3.75, rtol=1e-15)
    np.testing.assert_allclose(pre.std_[0] / scale, base.std(), rtol=1e-15)
    np.testing.assert_allclose(pre.inverse_transform_target(z[:, None])[:, 0] / scale, base * 3, rtol=1e-12)


def test_constant_targets_are_refused():
    with pytest.raises(DataError, match=r"the target 'y' is constant \(every row holds 3.0\); a model cannot learn"):
        Preprocessor(target="y", task="regression").fit(Table({"x": [1.0, 2.0, 3.0], "y": [3.0, 3.0, 3.0]}))
    one_class = Table({"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 1.0, 1.0, 1.0]})
    with pytest.raises(DataError, match=r"the target 'y' has one class \(1.0\) in every row; a classifier needs"):
        Preprocessor(target="y").fit(one_class)  # inferred classification
    with pytest.raises(DataError, match=r"every feature column was dropped \(x: constant\)"), pytest.warns(DataWarning):
        Preprocessor(target="y").fit(Table({"x": [5.0, 5.0], "y": [1.0, 2.0]}))


def test_decisions_round_trip_through_the_checkpoint_dict():
    table = Table({
        "when": ["2014-10-13", "2015-01-01", "2014-12-31", None],
        "price": ["$1,000", "$2,000", None, "$4,000"],
        "city": ["a", "b", "a", "c"],
        "x": [1.0, 2.0, 3.0, 4.0],
        "label": ["u", "v", "u", "v"],
    })  # fmt: skip
    with pytest.warns(DataWarning, match=r"kept the 2 most frequent"):
        pre = Preprocessor(target="label", impute="mean", max_categories=2).fit(table)
    state = json.loads(json.dumps(pre.to_dict()))
    again = Preprocessor.from_dict(state)
    np.testing.assert_array_equal(again.transform(table), pre.transform(table))
    assert again.describe() == pre.describe() and again.feature_names_out == pre.feature_names_out
    assert [c["kind"] for c in state["columns"]] == ["date", "formatted", "categorical", "numeric", "categorical"]
    for path, value, message in [
        (("numeric", "std"), [1.0], r"numeric.std must be a list of \d+ numbers"),
        (("numeric", "mean"), "x", r"numeric.mean must be a list"),
        (("columns",), [{"name": "x"}], r"columns\[0\] lacks 'role'"),
        (
            ("categorical", "other"),
            [False],
            r"categorical.rare must list categories exactly for the columns with other",
        ),
        (("categorical", "categories"), [], r"categorical.categories has 0 entries for 1 columns"),
        (("classes",), None, r"classes must be given for classification"),
        (("max_categories",), "2", r"max_categories has type str"),
    ]:
        broken = json.loads(json.dumps(state))
        target = broken
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(DataError, match=r"saved Preprocessor is incomplete or damaged \(.*" + message):
            Preprocessor.from_dict(broken)


def test_unseen_category_in_a_column_without_other_is_a_row_of_zeros_or_strict_error():
    table = from_arrays(np.arange(4.0)[:, None], np.array([0, 1, 0, 1]), target_name="y")
    columns = {"x0": table["x0"], "c": ["p", "q", "p", "q"], "y": table["y"]}
    pre = Preprocessor(target="y").fit(Table(columns))
    with pytest.warns(DataWarning, match=r"encoded as a row of zeros"):
        np.testing.assert_array_equal(pre.transform(Table({"x0": [1.0], "c": ["r"]}))[0, 1:], [0.0, 0.0])


def test_a_version_1_preprocessor_still_loads():
    v1 = {"format": "chainrule.data.Preprocessor", "version": 1, "target": "price", "task": "regression",
          "standardize": True, "standardize_target": True, "impute": None, "features": ["size", "city"],
          "numeric": {"names": ["size"], "mean": [2000.0], "std": [500.0], "fill": None},
          "categorical": {"names": ["city"], "categories": [["a", "b"]], "fill": None},
          "target_mean": 3e5, "target_std": 1e5, "classes": None}  # fmt: skip
    pre = Preprocessor.from_dict(v1)
    np.testing.assert_array_equal(pre.transform(Table({"size": [2500.0], "city": ["b"]})), [[1.0, 0.0, 1.0]])
    assert pre.inverse_transform_target(np.array([[0.5]]))[0, 0] == 350000.0
    with pytest.raises(DataError, match=r"category 'c' was not seen in fitting"):  # strict, as version 1 was
        pre.transform(Table({"size": [1.0], "city": ["c"]}))
