"""ONNX export (``chainrule.io.to_onnx``, ``chainrule export``) against chainrule itself, run by onnxruntime.

For each bundled dataset, California housing (imputation, one-hot) and MNIST a small model is
trained with a fixed seed, exported with its preprocessor, checked by ``onnx.checker`` and run by
onnxruntime on the raw columns; its outputs equal chainrule's to 1e-5 relative (float32): the
predictions in the target's units, the class probabilities (softmax of ``predict``) and labels.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from cli_contract import OUTSIDE, assert_meets_contract, case, make_contract_files
from conftest import assert_close

import chainrule as cr
from chainrule import io, nn, optim
from chainrule.cli import main
from chainrule.data import Preprocessor, Table, list_datasets, load_dataset, read_csv
from chainrule.io.onnx import ACTIVATIONS, OPSET, build_onnx, onnx_inputs
from chainrule.nn import registry
from chainrule.training import fit, predict

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():  # the tests run from /work/main; the data lives in /work/shared/data
    SHARED = Path("/work/shared/data")
TOLERANCE = 1e-5
BUNDLED = [info.name for info in list_datasets() if info.bundled]


def run_onnx(proto, feeds: dict) -> dict[str, np.ndarray]:
    """The graph's outputs by name, computed by onnxruntime."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def softmax(logits: np.ndarray) -> np.ndarray:
    with cr.no_grad():
        return nn.functional.softmax(cr.tensor(logits), dim=1).numpy()


def trained(preprocessor: Preprocessor, x: np.ndarray, y: np.ndarray, hidden: int = 16, epochs: int = 3):
    """A small Linear → Tanh → Linear model trained on (x, y) with seed 0."""
    cr.manual_seed(0)
    classes = len(preprocessor.classes_) if preprocessor.task == "classification" else 0
    model = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.Tanh(), nn.Linear(hidden, classes or y.shape[1]))
    loss = nn.CrossEntropyLoss() if classes else nn.MSELoss()
    fit(model, loss, optim.Adam(model.parameters(), lr=0.01), x, y, epochs=epochs, seed=0, verbose=0)
    return model


def assert_equal_to_chainrule(model, preprocessor: Preprocessor, table, dataset: str) -> None:
    """The exported graph's outputs on ``table``'s raw columns against chainrule's ``predict``."""
    proto = build_onnx(model, preprocessor)
    assert proto.opset_import[0].version == OPSET
    outputs = run_onnx(proto, onnx_inputs(preprocessor, table))
    logits = predict(model, preprocessor.transform(table))
    if preprocessor.task == "regression":
        expected = preprocessor.inverse_transform_target(logits)
        assert outputs["prediction"].dtype == np.float64
        assert_close(outputs["prediction"], expected, TOLERANCE, "onnxruntime", f"{dataset} predictions")
    else:
        assert_close(outputs["probabilities"], softmax(logits), TOLERANCE, "onnxruntime", f"{dataset} probabilities")
        assert (outputs["label"] == preprocessor.inverse_transform_target(logits)).all()


@pytest.mark.parametrize("dataset", BUNDLED)
def test_every_bundled_dataset_exports_with_its_preprocessing(dataset):
    data = load_dataset(dataset)
    preprocessor, x, y, *_ = data.arrays()
    model = trained(preprocessor, x, y)
    assert_equal_to_chainrule(model, preprocessor, data.train if data.test is None else data.test, dataset)


def test_california_housing_exports_imputation_one_hot_and_the_target_scale():
    data = load_dataset("california-housing", SHARED)
    preprocessor, x, y, *_ = data.arrays()
    assert preprocessor.fill_ is not None and preprocessor.categorical_ == ["ocean_proximity"]
    model = trained(preprocessor, x, y, epochs=1)
    rows = data.train.take(slice(0, 4000))
    assert np.isnan(onnx_inputs(preprocessor, rows)["numeric"]).any()  # the empty total_bedrooms are imputed
    assert_equal_to_chainrule(model, preprocessor, rows, "california-housing")


def test_mnist_exports():
    data = load_dataset("mnist", SHARED / "mnist")
    preprocessor = data.preprocessor()
    train = data.train.take(slice(0, 2000))
    x, y = preprocessor.fit_transform(train), preprocessor.transform_target(train)
    model = trained(preprocessor, x, y, hidden=32, epochs=2)
    assert_equal_to_chainrule(model, preprocessor, data.test.take(slice(0, 1000)), "mnist")


def test_binary_single_logit_with_text_categories_missing_cells_and_float64():
    """A one-logit classifier (σ(z) > ½ ⇔ z > 0) on a numeric and a text column with missing
    cells (imputed), in float64: probabilities [1 − σ(z), σ(z)], string labels."""
    rng = np.random.default_rng(0)
    n = 200
    size = rng.normal(100, 30, n)
    size[::17] = np.nan
    colour = rng.choice(np.array(["red", "green", "blue"], dtype=object), n)
    colour[::13] = None
    label = np.where(np.nan_to_num(size, nan=100) + 20 * (colour == "red") > 105, "big", "small").astype(object)
    table = Table({"size": size, "colour": colour, "label": label})
    preprocessor = Preprocessor(target="label", impute="mean")
    x = preprocessor.fit_transform(table)
    y = preprocessor.transform_target(table).astype(np.float64)[:, None]
    assert preprocessor.categorical_ == ["colour"] and list(preprocessor.classes_) == ["big", "small"]
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(x.shape[1], 4), nn.ReLU(), nn.Linear(4, 1)).double()
    fit(model, nn.BCEWithLogitsLoss(), optim.Adam(model.parameters(), lr=0.05), x, y, epochs=20, seed=0, verbose=0)
    outputs = run_onnx(build_onnx(model, preprocessor), onnx_inputs(preprocessor, table))
    z = predict(model, preprocessor.transform(table))
    p = 1 / (1 + np.exp(-z))
    assert outputs["probabilities"].dtype == np.float64
    assert_close(outputs["probabilities"], np.c_[1 - p, p], 1e-12, "onnxruntime", "single-logit probabilities")
    assert (outputs["label"] == preprocessor.inverse_transform_target(z)).all()
    assert set(outputs["label"]) == {"big", "small"}


OPTIONS = {"leaky-relu": {"negative_slope": 0.2}, "softplus": {"beta": 2.0, "threshold": 5.0}, "elu": {"alpha": 0.5}}
"""Options other than the defaults, so that the exported formula uses them."""


def activations() -> list[nn.Module]:
    """One module of every activation in chainrule's registry (with :data:`OPTIONS` where given)."""
    return [entry.make(**OPTIONS.get(name, {})) for name, entry in registry.ACTIVATIONS.items()]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", [*activations(), nn.Softmax(dim=1)], ids=repr)
def test_every_activation_exports(activation, dtype):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), activation, nn.Linear(5, 2)).to(dtype)
    x = np.random.default_rng(0).normal(0, 3, (64, 3)).astype(dtype)
    outputs = run_onnx(build_onnx(model), {"input": x})
    exact_gelu = getattr(activation, "approximate", None) == "none"  # erf in float32 (onnxruntime has no double Erf)
    tolerance = TOLERANCE if dtype == "float32" or exact_gelu else 1e-12
    assert_close(outputs["output"], predict(model, x), tolerance, "onnxruntime", repr(activation))


def test_the_exporter_table_names_every_activation_of_the_registry():
    assert set(ACTIVATIONS) == set(registry.ACTIVATIONS)


def test_batch_norm_dropout_and_flatten_export_in_evaluation_mode():
    cr.manual_seed(0)
    layers = [nn.Flatten(), nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 3)]
    model = nn.Sequential(*layers)
    x = np.random.default_rng(0).normal(size=(100, 4)).astype(np.float32)
    fit(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1), x, x[:, :3], epochs=2, seed=0, verbose=0)
    assert not np.allclose(model[2].running_mean, 0)
    outputs = run_onnx(build_onnx(model), {"input": x})
    assert_close(outputs["output"], predict(model, x), TOLERANCE, "onnxruntime", "batch norm")


def test_an_unknown_layer_is_named():
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    with pytest.raises(TypeError, match="cannot export a Square layer to ONNX; exportable layers: Linear"):
        build_onnx(nn.Sequential(nn.Linear(2, 2), Square()))


def test_to_onnx_writes_a_checked_file_with_metadata(tmp_path):
    data = load_dataset("iris")
    preprocessor, x, y, *_ = data.arrays()
    model = trained(preprocessor, x, y, epochs=1)
    path = io.to_onnx(model, tmp_path / "iris.onnx", preprocessor)
    assert path == tmp_path / "iris.onnx" and sorted(p.name for p in tmp_path.iterdir()) == ["iris.onnx"]
    onnx.checker.check_model(str(path), full_check=True)
    proto = onnx.load(str(path))
    metadata = {prop.key: prop.value for prop in proto.metadata_props}
    assert metadata["task"] == "classification" and metadata["numeric_columns"].startswith('["sepal_length"')
    assert [i.name for i in proto.graph.input] == ["numeric"]
    assert [o.name for o in proto.graph.output] == ["probabilities", "label"]


def test_without_onnx_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[onnx\]'"):
        build_onnx(nn.Sequential(nn.Linear(2, 1)))


# the command line --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract_files(tmp_path_factory) -> Path:
    return make_contract_files(tmp_path_factory.mktemp("contract"))


def test_chainrule_export_equals_chainrule_predict(contract_files, tmp_path, capsys):
    out = tmp_path / "houses.onnx"
    assert main(["export", str(contract_files / "houses.safetensors"), str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"wrote {out} (ONNX opset {OPSET})" in printed
    assert "inputs: numeric double[N, 2]" in printed and "outputs: prediction double[N, 1]" in printed
    table = read_csv(contract_files / "houses.csv")
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    checkpoint = io.load(contract_files / "houses.safetensors")
    (prediction,) = session.run(None, onnx_inputs(checkpoint.preprocessor, table))
    assert main(["predict", str(contract_files / "houses.safetensors"), str(contract_files / "houses.csv")]) == 0
    written = [float(line.rsplit(",", 1)[1]) for line in capsys.readouterr().out.splitlines()[1:]]
    assert_close(prediction[:, 0], written, TOLERANCE, "onnxruntime", "chainrule predict's CSV")

    out = tmp_path / "blobs.onnx"
    assert main(["export", str(contract_files / "blobs.safetensors"), str(out)]) == 0
    assert "outputs: probabilities float[N, 2], label string[N]" in capsys.readouterr().out

    out = tmp_path / "bare.onnx"  # a model saved without preprocessing: the network alone
    assert main(["export", str(contract_files / "bare.safetensors"), str(out)]) == 0
    assert "inputs: input float[N, 2]" in capsys.readouterr().out
    x = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    (output,) = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    expected = predict(io.load(contract_files / "bare.safetensors").model, x)
    assert_close(output, expected, TOLERANCE, "onnxruntime", "a model without preprocessing")


EXPORT = [
    case("export-no-model", "export", "required: MODEL.safetensors, OUT.onnx"),
    case("export-no-out", "export {houses}", "required: OUT.onnx"),
    case("export-swapped", "export {dir}/m.onnx {houses}", "the model goes first", "chainrule export {houses}"),
    case("export-csv-as-model", "export {houses_csv} m.onnx", "is a CSV file, not a model", "export MODEL"),
    case("export-png-as-model", "export {png} m.onnx", "is a PNG image, not a model"),
    case("export-missing-model", "export {dir}/none.safetensors m.onnx", "does not exist", "--save"),
    case("export-text-as-model", "export {text} m.onnx", "is a CSV file, not a model"),
    case("export-wrong-suffix", "export {houses} m.txt", "must end in .onnx"),
    case("export-over-model", "export {houses} {blobs}", "must end in .onnx"),
    case("export-out-folder", "export {houses} {dir}", "must end in .onnx"),
    case("export-out-named-folder", "export {houses} {dir}/sub.png", "must end in .onnx"),
    case("export-out-missing-folder", f"export {{houses}} {OUTSIDE}/m.onnx", "does not exist", "choose another"),
    case("export-out-unwritable", "export {houses} /proc/m.onnx", "cannot write in /proc"),
    case("export-extra", "export {houses} m.onnx extra", "unrecognized arguments: extra"),
    case("export-option", "export {houses} m.onnx --json", "unrecognized arguments: --json", "an option of"),
]


@pytest.mark.parametrize("row", EXPORT, ids=lambda row: row.name)
def test_bad_export_command_lines_meet_the_contract(row, contract_files, monkeypatch):
    assert_meets_contract(row, contract_files, monkeypatch)


def test_export_without_onnx_meets_the_contract(contract_files, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    row = case("export-without-onnx", "export {houses} m.onnx", "needs the onnx package", "chainrule[onnx]")
    assert_meets_contract(row, contract_files, monkeypatch)


def test_dates_formatted_numbers_and_other_categories_export(tmp_path):
    """The column types of the preprocessor in the graph: a date column's year, month, day of week
    and days computed from its days since 1970 (before and after 1970, leap days, a time of day),
    "$1,200" and "12%" given as parsed numbers, and a categorical column's rare categories and a
    category never seen in fitting in its <other> column."""
    rng = np.random.default_rng(0)
    n = 300
    days = rng.integers(-40_000, 40_000, n)  # 1860 … 2079
    dates = [str(np.datetime64("1970-01-01") + int(d)) + ("T06:30:00" if d % 3 == 0 else "") for d in days]
    dates[:3] = ["2000-02-29", "1900-03-01", "1969-12-31T23:59:59"]
    price = rng.uniform(100, 5000, n)
    money = [f"${p:,.2f}" for p in price]
    share = [f"{s:.1f}%" for s in rng.uniform(0, 100, n)]
    towns = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]).tolist()
    towns[:2] = ["rare-1", "rare-2"]
    target = price / 1000 + np.asarray([d.startswith("19") for d in dates]) + rng.normal(0, 0.1, n)
    lines = [
        "when,money,share,town,y",
        *(f'{w},"{m}",{s},{t},{y}' for w, m, s, t, y in zip(dates, money, share, towns, target)),
    ]
    (tmp_path / "mixed.csv").write_text("\n".join(lines) + "\n")
    table = read_csv(tmp_path / "mixed.csv")
    preprocessor = Preprocessor(target="y", max_categories=4)
    with pytest.warns(Warning):  # the rare categories are cut to <other>
        x = preprocessor.fit_transform(table)
    kinds = {info.name: info.kind for info in preprocessor.columns_}
    assert kinds == {"when": "date", "money": "formatted", "share": "formatted", "town": "categorical", "y": "numeric"}
    assert preprocessor.other_ == [True] and "town=<other>" in preprocessor.feature_names_out
    model = trained(preprocessor, x, preprocessor.transform_target(table), epochs=2)
    assert_equal_to_chainrule(model, preprocessor, table, "mixed columns")

    new = tmp_path / "new.csv"
    new.write_text('when,money,share,town\n1850-06-01,"$2,000.00",50%,zzz\n2100-01-01T12:00:00,$10.00,1%,a\n')
    rows = read_csv(new)
    with pytest.warns(Warning, match="not seen in fitting"):
        assert_equal_to_chainrule(model, preprocessor, rows, "unseen category")


def test_date_features_in_the_graph_equal_the_preprocessors_for_years_1_to_9999():
    from chainrule.data import columns
    from chainrule.io.onnx import _civil_date, _Graph

    graph = _Graph(onnx)
    parts = _civil_date(graph, "days")
    names = ["year", "month", "day_of_week"]
    double = onnx.TensorProto.DOUBLE
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes,
            "dates",
            [onnx.helper.make_tensor_value_info("days", double, ["N", 1])],
            [onnx.helper.make_tensor_value_info(parts[name], double, ["N", 1]) for name in names],
            graph.constants,
        ),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
    )
    days = np.random.default_rng(0).integers(-719_162, 2_932_896, 5000)  # 0001-01-01 … 9999-12-31
    cells = np.array([str(np.datetime64("1970-01-01") + int(d)) + "T18:00" for d in days], dtype=object)
    expected, bad = columns.parse_dates(cells, "iso")
    assert bad is None
    outputs = run_onnx(proto, {"days": expected[:, 3:4]})
    for i, name in enumerate(names):
        assert (outputs[parts[name]][:, 0] == expected[:, i]).all(), name
