"""chainrule.plots: each figure is written and is not blank (size, several distinct colours)."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

import chainrule
from chainrule import nn, plots
from chainrule.cli import main
from chainrule.explain.examples import house_price


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
