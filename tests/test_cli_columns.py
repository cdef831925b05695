"""``chainrule train`` column options: --features, --categorical, --impute, through the real script."""

from __future__ import annotations

from test_cli import assert_usage_error, chainrule

from chainrule import io

ROWS = "size,rooms,city,price\n1600,3,north,330\n,4,south,400\n2400,3,north,369\n1400,2,south,232\n3000,4,north,540\n"


def test_missing_value_is_an_error_naming_the_fix_then_imputed_on_request(tmp_path):
    data = tmp_path / "houses.csv"
    data.write_text(ROWS)
    model = tmp_path / "m.safetensors"
    refused = chainrule("train", data, "--target", "price", "--save", model, "--epochs", "2", "--quiet")
    assert_usage_error(refused, "column 'size' row 2", "missing value", "--impute")
    assert not model.exists()
    done = chainrule(
        "train", data, "--target", "price", "--impute", "mean", "--save", model, "--epochs", "2", "--quiet"
    )
    assert done.returncode == 0, done.stderr
    state = io.load(model).preprocessor.to_dict()
    assert state["impute"] == "mean"
    # the mean of the four known sizes fills the gap
    assert state["numeric"]["names"][0] == "size"
    assert state["numeric"]["fill"][0] == (1600 + 2400 + 1400 + 3000) / 4


def test_features_select_columns_and_categorical_one_hot_encodes(tmp_path):
    data = tmp_path / "houses.csv"
    data.write_text(ROWS.replace(",4,south", "2000,4,south"))
    model = tmp_path / "m.safetensors"
    result = chainrule("train", data, "--target", "price", "--features", "rooms, city", "--categorical", "rooms,city",
                       "--save", model, "--epochs", "2", "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    preprocessor = io.load(model).preprocessor
    assert preprocessor.input_columns == ["rooms", "city"]
    # rooms has three values (2, 3, 4) and city two: five one-hot features
    assert len(preprocessor.feature_names_out) == 5


def test_malformed_or_unknown_column_lists_are_usage_errors(tmp_path):
    data = tmp_path / "houses.csv"
    data.write_text(ROWS)
    model = tmp_path / "m.safetensors"
    assert_usage_error(chainrule("train", data, "--target", "price", "--features", "size,,rooms", "--save", model),
                       "column names separated by commas")  # fmt: skip
    assert_usage_error(chainrule("train", data, "--target", "price", "--features", "size,floor", "--save", model),
                       "floor")  # fmt: skip
    assert_usage_error(chainrule("train", "--dataset", "iris", "--features", "a", "--save", model), "--dataset")
    assert not model.exists()
