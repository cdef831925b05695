"""The training workflow (chainrule.training.workflow): the config's defaults and checks, a run
equal to the same steps written by hand, tables in memory, test splits, the memory estimate, the
plan's decisions and what saving needs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_cli import HOUSES

import chainrule
from chainrule import io, nn, optim
from chainrule.data import Preprocessor, read_csv, train_test_split
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.training import LearningRateScheduler, Trainer, workflow
from chainrule.training.workflow import ConfigError, TrainConfig, prepare, train


@pytest.fixture
def houses(tmp_path):
    path = tmp_path / "houses.csv"
    path.write_text(HOUSES)
    return path


def test_defaults_are_todays_options():
    config = TrainConfig()
    assert (config.hidden, config.activation, config.optimizer, config.lr) == ((32, 16), "relu", "adam", 1e-3)
    assert (config.schedule, config.epochs, config.batch_size, config.seed) == ("cosine", 50, 32, 0)
    assert config.validation_share == 0.0 and TrainConfig(early_stopping=5).validation_share == 0.1
    for option in dataclasses.fields(TrainConfig):
        assert option.metadata["help"], option.name


def test_values_are_normalised_and_round_trip():
    config = TrainConfig(
        data="d.csv", target="y", hidden=[8, 4], activation="ReLU", optimizer="AdamW", features=["a", " b"]
    )
    assert (config.hidden, config.activation, config.optimizer, config.features) == (
        (8, 4),
        "relu",
        "adamw",
        ("a", "b"),
    )
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict({**config.to_dict(), "epochs_run": 3, "samples": 15}) == config


BAD = [
    ({"lr": 0}, "lr must be a positive number such as 0.001; got 0"),
    ({"lr": float("nan")}, "lr must be a positive number"),
    ({"lr": "0.1"}, "lr must be a positive number"),
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"epochs": 2.0}, "epochs must be a positive integer"),
    ({"batch_size": True}, "batch_size must be a positive integer"),
    ({"seed": -1}, "seed must be an integer from 0 to 18446744073709551615"),
    ({"seed": 2**64}, "seed must be an integer from 0"),
    ({"hidden": (16, 0)}, r"hidden must be positive layer widths such as \(16, 8\)"),
    ({"hidden": 16}, "hidden must be positive layer widths"),
    ({"activation": "swish"}, "activation must be one of identity, sigmoid, tanh, relu, leaky-relu, gelu, .*'swish'"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of sgd, momentum"),
    ({"loss": "hinge"}, "loss must be one of mse"),
    ({"schedule": "step"}, "schedule must be one of cosine, constant"),
    ({"dtype": "float16"}, "dtype must be one of float32, float64"),
    ({"task": "ranking"}, "task must be one of regression, classification"),
    ({"impute": "zero"}, "impute must be one of mean, median, most_frequent"),
    ({"validation_split": 1.0}, "validation_split must be at least 0 and below 1"),
    ({"test_size": -0.1}, "test_size must be at least 0 and below 1"),
    ({"weight_decay": -1e-4}, "weight_decay must be a number ≥ 0"),
    ({"clip_grad_norm": float("inf")}, "clip_grad_norm must be a positive number"),
    ({"early_stopping": 0}, "early_stopping must be a positive number of epochs"),
    ({"features": "size"}, r"features must be a list of column names such as \['size_sqft', 'bedrooms'\]"),
    ({"categorical": ["a", ""]}, "categorical must be a list of column names"),
    ({"data": 3}, "data must be a path"),
    ({"data": "d.csv", "dataset": "iris"}, "dataset and a CSV file were both given"),
]


@pytest.mark.parametrize(("options", "message"), BAD, ids=[next(iter(o)) for o, _ in BAD])
def test_bad_values_name_the_option(options, message):
    with pytest.raises(ConfigError, match=message) as caught:
        TrainConfig(**options)
    assert caught.value.field == next(reversed(options))
    assert caught.value.message("--x").startswith("--x ")


def by_hand(config: TrainConfig):
    """The run of ``config`` on a dataset, written out step by step as chainrule train did it."""
    dataset, train_table, test_table = workflow.dataset_tables(config.dataset)
    pre = Preprocessor(target=dataset.target, task=dataset.task, **dataset.preprocessing)
    x, y = pre.fit_transform(train_table), pre.transform_target(train_table)
    x, x_val, y, y_val = train_test_split(x, y, test_size=0.1, seed=config.seed, stratify=y)
    chainrule.manual_seed(config.seed)
    model = nn.Sequential(nn.Linear(x.shape[1], 8), nn.Tanh(), nn.Linear(8, len(pre.classes_)))
    optimizer = optim.SGD(model.parameters(), lr=config.lr, momentum=0.9)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"], seed=config.seed)
    schedule = LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=config.epochs))
    history = trainer.fit(x, y, epochs=config.epochs, batch_size=config.batch_size, validation_data=(x_val, y_val),
                          callbacks=[schedule], verbose=0)  # fmt: skip
    return model, history, workflow.score(model, pre, test_table)


def test_a_run_equals_the_same_steps_written_by_hand():
    config = TrainConfig(
        dataset="wine", hidden=(8,), activation="tanh", optimizer="momentum", lr=0.05, epochs=4,
        batch_size=16, validation_split=0.1, seed=3,
    )  # fmt: skip
    result = train(config)
    model, history, test_scores = by_hand(config)
    for ours, theirs in zip(result.model.parameters(), model.parameters()):
        np.testing.assert_array_equal(ours.data, theirs.data)
    assert result.history.history == history.history
    assert result.metrics["test"] == test_scores and result.metrics["test"]["samples"] == 36
    assert set(result.metrics) == {"train", "validation", "test"}
    assert result.config["epochs_run"] == 4 and result.config["source"]["dataset"] == "wine"
    assert not result.diverged and result.trainer.epoch == 4


def test_a_table_in_memory_trains_as_its_csv_file(houses):
    from_file = train(TrainConfig(data=str(houses), target="price", hidden=(4,), epochs=3))
    in_memory = train(TrainConfig(target="price", hidden=(4,), epochs=3), table=read_csv(houses))
    for a, b in zip(from_file.model.parameters(), in_memory.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert from_file.metrics == in_memory.metrics and in_memory.plan.task_from == "inferred"
    with pytest.raises(ConfigError, match="target is needed with a CSV file"):
        prepare(TrainConfig(), table=read_csv(houses))
    with pytest.raises(ConfigError, match="data is missing"):
        prepare(TrainConfig())


def test_a_csv_test_split_is_held_out_and_scored(tmp_path):
    rows = "x,label\n" + "".join(f"{i},{'ab'[i % 3 == 0]}\n" for i in range(30))
    (tmp_path / "c.csv").write_text(rows)
    plan = prepare(TrainConfig(data=str(tmp_path / "c.csv"), target="label", test_size=0.2, epochs=1))
    labels = plan.test_table["label"]
    assert len(plan.test_table) == 6 and sorted(labels) == ["a", "a", "a", "a", "b", "b"]  # stratified 2:1
    assert plan.source == {"csv": str(tmp_path / "c.csv"), "test_size": 0.2, "split_seed": 0}
    assert plan.summary()["rows"] == {"train": 24, "validation": 0, "test": 6}
    assert set(plan.fit().metrics) == {"train", "test"}
    with pytest.raises(ConfigError, match="test_size goes with a CSV"):
        prepare(TrainConfig(dataset="iris", test_size=0.3))
    with pytest.raises(ConfigError, match=r"validation_split 0\.99 holds out 24 of the 24 training rows"):
        prepare(TrainConfig(data=str(tmp_path / "c.csv"), target="label", test_size=0.2, validation_split=0.99))


def test_options_that_do_not_fit_the_data():
    with pytest.raises(ConfigError, match="loss huber does not fit a classification task; choose cross-entropy"):
        prepare(TrainConfig(dataset="iris", loss="huber"))
    with pytest.raises(ConfigError, match="target price is not dataset 'iris''s target 'species'"):
        prepare(TrainConfig(dataset="iris", target="price"))
    with pytest.raises(ConfigError, match=r"features goes with a CSV; a dataset \(--dataset\)"):
        prepare(TrainConfig(dataset="iris", features=("a",)))


def test_a_network_too_large_for_memory_is_refused_before_it_is_built(monkeypatch):
    assert workflow.parameter_count(2, (3,), 1) == 3 * 3 + 4 * 1
    # 6 arrays of P float32 values, the float64 draw of the largest layer, 3 activations per row
    assert workflow.training_memory(2, (3,), 1, 4, "float32") == 6 * 13 * 4 + 8 * 6 + 3 * 4 * 6 * 4
    with pytest.raises(ConfigError, match=r"hidden 1000000000000 makes a network of 3,000,000,000,001 parameters"):
        prepare(TrainConfig(dataset="iris", hidden=(10**12,)))  # refused before the data is read
    built = []
    monkeypatch.setattr(workflow, "build_model", lambda *args: built.append(args))
    monkeypatch.setattr(workflow, "available_memory", lambda: 2**30)
    with pytest.raises(ConfigError, match=r"hidden 20000,20000 .* needs about 11\.9 GiB .* the 1\.0 GiB"):
        prepare(TrainConfig(dataset="iris", hidden=(20_000, 20_000)))  # whatever the data
    # 10⁶ units fit between 1 input and 1 output, not between digits' 64 pixels and 10 classes
    with pytest.raises(ConfigError, match=r"hidden 1000000 makes a network of 75,000,010 parameters"):
        prepare(TrainConfig(dataset="digits", hidden=(10**6,)))
    assert built == []


def test_the_plan_records_every_decision():
    plan = prepare(TrainConfig(dataset="iris", hidden=(5,), early_stopping=3, epochs=7))
    summary = plan.summary()
    assert summary["task"] == "classification" and summary["task_from"] == "dataset"
    roles = [(column["name"], column["role"], column["kind"]) for column in summary["columns"]]
    features = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    assert roles == [(name, "feature", "numeric") for name in features] + [("species", "target", "categorical")]
    assert summary["classes"] == ["setosa", "versicolor", "virginica"]
    assert summary["parameters"] == 5 * 5 + 6 * 3 == plan.parameters
    assert summary["rows"] == {"train": 108, "validation": 12, "test": 30} and not summary["streaming"]
    assert (summary["optimizer"], summary["lr"], summary["schedule"], summary["epochs"]) == ("adam", 1e-3, "cosine", 7)
    assert plan.trainer.epoch == 0 and plan.trainer.history.epoch == []  # nothing trained yet


def test_the_result_holds_what_saving_needs(tmp_path):
    result = train(TrainConfig(dataset="portland-housing", hidden=(3,), epochs=2, dtype="float64"))
    io.save(tmp_path / "m.safetensors", **result.save_arguments())
    checkpoint = io.load(tmp_path / "m.safetensors")
    assert checkpoint.config == result.config and checkpoint.metrics == result.metrics
    assert checkpoint.config["hidden"] == [3] and checkpoint.config["dtype"] == "float64"
    assert checkpoint.optimizer_type == "Adam" and checkpoint.trainer_state["epoch"] == 2
    assert checkpoint.model[0].weight.dtype == np.float64
    assert TrainConfig.from_dict(checkpoint.config).hidden == (3,)


def test_a_diverging_run_returns_with_the_reason():
    with pytest.warns(chainrule.training.DivergenceWarning):
        result = train(TrainConfig(dataset="iris", lr=1e6, epochs=3))
    assert result.diverged and result.metrics == {} and "likely cause" in result.history.stop_reason
    assert result.config["stop_reason"] == result.history.stop_reason


def test_a_streamed_file_trains_as_the_same_rows_in_memory(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    size, rooms = rng.uniform(800, 3000, 60), rng.integers(1, 5, 60)
    price = 100 * size + 5000 * rooms + rng.normal(0, 1000, 60)
    path = tmp_path / "h.csv"
    path.write_text("size;rooms;price\n" + "".join(f"{a:.1f};{b};{c:.0f}\n" for a, b, c in zip(size, rooms, price)))
    options = dict(data=str(path), target="price", hidden=(4,), optimizer="sgd", lr=0.05, epochs=5, batch_size=100,
                   dtype="float64", schedule="constant")  # fmt: skip
    in_memory = train(TrainConfig(**options, streaming=False))
    streamed = train(TrainConfig(**options, streaming=True, delimiter=";"))
    assert streamed.plan.streaming and not in_memory.plan.streaming and streamed.config["streaming"]
    for a, b in zip(in_memory.model.parameters(), streamed.model.parameters()):  # one full batch per epoch:
        np.testing.assert_allclose(a.data, b.data, rtol=1e-10, atol=1e-12)  # the same steps, in another row order
    assert streamed.metrics["train"] == pytest.approx(in_memory.metrics["train"], rel=1e-9)
    # held-out rows: a hash of the row number, scored after training; the split is recorded
    held = prepare(TrainConfig(**options, streaming=True, test_size=0.25))
    rows = held.rows()
    assert rows["train"] + rows["test"] == 60 and 5 <= rows["test"] <= 25
    assert held.source["split"] == "hashed row number" and held.probe(7).shape == (7, 2)
    assert set(held.fit().metrics) == {"train", "test"}
    # without streaming= a file over 1/8 of the memory available is streamed
    monkeypatch.setattr(workflow, "available_memory", lambda: 8 * path.stat().st_size - 1)
    assert prepare(TrainConfig(**options)).streaming
    with pytest.raises(ConfigError, match="validation_split needs the rows in memory"):
        prepare(TrainConfig(**options, validation_split=0.2))
