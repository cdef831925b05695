"""chainrule.plots: each figure is written and is not blank (size, several distinct colours)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import chainrule
from chainrule import nn, plots
from chainrule.cli import main
from chainrule.diagnostics.examples import house_price


def _assert_drawn(path, min_colours=6):
    assert path.is_file()
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200
    colours = np.unique((image[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) >= min_colours


HISTORY = {"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.8], "lr": [0.1] * 3}


def test_history_curves(tmp_path):
    _assert_drawn(plots.plot_history(HISTORY, tmp_path / "history.png"))
    svg = plots.plot_history(HISTORY, tmp_path / "history.svg")
    assert svg.read_text().lstrip().startswith("<?xml")


def test_network_diagram_by_weight_and_gradient(tmp_path):
    model, loss_fn, x, y = house_price()
    _assert_drawn(plots.plot_network(model, tmp_path / "w.png", x=x, y=y, loss_fn=loss_fn))
    _assert_drawn(plots.plot_network(model, tmp_path / "g.png", x=x, y=y, loss_fn=loss_fn, by="gradient"))
    with pytest.raises(ValueError, match="needs x, y and loss_fn"):
        plots.plot_network(model, tmp_path / "bad.png", by="gradient")


def test_decision_boundary(tmp_path):
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))
    x = np.random.default_rng(0).normal(size=(50, 2))
    _assert_drawn(plots.plot_decision_boundary(model, x, (x[:, 0] > 0).astype(int), tmp_path / "b.png"))


def test_descent_path_follows_autograd_on_seed_003():
    points = plots.descent_path(plots.seed_003_function, 0.0, 0.1, 3)
    np.testing.assert_allclose([float(p) for p in points], [0.0, -0.4, -0.72, -0.976])


def test_descent_plots(tmp_path):
    _assert_drawn(plots.plot_descent_1d(tmp_path / "d1.png"))
    _assert_drawn(plots.plot_descent_2d(tmp_path / "d2.png", resolution=30))


def test_save_training_plots(tmp_path):
    paths = plots.save_training_plots(HISTORY, tmp_path / "run", model=house_price()[0])
    assert [p.name for p in paths] == ["history.png", "network.png"]
    for path in paths:
        _assert_drawn(path)


def test_bad_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        plots.plot_history(HISTORY, tmp_path / "history.jpg")


def test_cli_plot(tmp_path, capsys):
    assert main(["plot", "descent", str(tmp_path / "d.png")]) == 0
    assert main(["plot", "network", str(tmp_path / "n.svg"), "--example", "house-price", "--by", "gradient"]) == 0
    assert (tmp_path / "n.svg").is_file()
    assert main(["plot", "network", str(tmp_path / "n.png")]) == 2


CHAINRULE = shutil.which("chainrule", path=str(Path(sys.executable).parent)) or "chainrule"


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([CHAINRULE, *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def ring_model(tmp_path_factory) -> Path:
    """A classifier of points inside/outside a ring (2 features), trained by ``chainrule train`` on a CSV."""
    folder = tmp_path_factory.mktemp("ring")
    points = np.random.default_rng(0).uniform(-2, 2, size=(160, 2))
    labels = np.where(np.hypot(points[:, 0], points[:, 1]) < 1.2, "inside", "outside")
    rows = "".join(f"{a:.4f},{b:.4f},{label}\n" for (a, b), label in zip(points, labels))
    (folder / "ring.csv").write_text("x_cm,y_cm,where\n" + rows)
    model = folder / "ring.safetensors"
    result = run_cli("train", folder / "ring.csv", "--target", "where", "--hidden", "8", "--activation", "tanh",
                       "--lr", "0.05", "--epochs", "40", "--save", model, "--quiet")  # fmt: skip
    assert result.returncode == 0, result.stderr
    return model


def test_cli_plot_history_of_a_trained_model(ring_model, tmp_path):
    result = run_cli("plot", "history", ring_model, tmp_path / "history.png")
    assert result.returncode == 0, result.stderr
    _assert_drawn(tmp_path / "history.png")
    result = run_cli("plot", "history", tmp_path / "h.svg", ring_model)  # either order
    assert result.returncode == 0 and (tmp_path / "h.svg").is_file(), result.stderr


def test_cli_plot_boundary_of_a_two_feature_classifier(ring_model, tmp_path):
    data = ring_model.with_name("ring.csv")
    result = run_cli("plot", "boundary", ring_model, tmp_path / "boundary.png", "--data", data)
    assert result.returncode == 0, result.stderr
    _assert_drawn(tmp_path / "boundary.png")
    # the training CSV named in the model file is never opened unless the user names it
    result = run_cli("plot", "boundary", ring_model, tmp_path / "b.png")
    assert result.returncode == 2 and "--data DATA.csv" in result.stderr and "ring.csv" in result.stderr
    assert not (tmp_path / "b.png").exists()


def test_cli_plot_refuses_models_it_cannot_draw(ring_model, tmp_path):
    portland = tmp_path / "portland.safetensors"
    trained = run_cli("train", "--dataset", "portland-housing", "--epochs", "1", "--save", portland, "--quiet")
    assert trained.returncode == 0, trained.stderr
    result = run_cli("plot", "boundary", portland, tmp_path / "b.png")
    assert result.returncode == 2 and "not a classifier" in result.stderr
    result = run_cli("plot", "history", tmp_path / "h.png")
    assert result.returncode == 2 and "needs a model" in result.stderr
    assert not (tmp_path / "b.png").exists()


def test_example_plots_gallery_draws_every_plot(tmp_path):
    script = Path(__file__).resolve().parents[1] / "examples" / "plots_gallery.py"
    result = subprocess.run([sys.executable, script, tmp_path / "gallery"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = ["descent_1d", "descent_2d", "network_weights", "network_gradients", "history", "gradient_norms",
             "boundary", "network_trained"]  # fmt: skip
    assert result.stdout.split() == [str(tmp_path / "gallery" / f"{name}.png") for name in names]
    for name in names:
        _assert_drawn(tmp_path / "gallery" / f"{name}.png")
