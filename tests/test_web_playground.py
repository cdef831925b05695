"""chainrule.data.playground: Playground's 2-D sets, seeded, with its input features."""

import math

import numpy as np
import pytest

from chainrule.data.playground import PLANE, PLAYGROUND_SETS, grid, make_playground, playground_features


@pytest.mark.parametrize("name", sorted(PLAYGROUND_SETS))
def test_every_set_is_seeded_shaped_and_inside_the_plane(name):
    x, y, task = make_playground(name, 300, noise=0.2, seed=7)
    again, y_again, _ = make_playground(name, 300, noise=0.2, seed=7)
    other, _, _ = make_playground(name, 300, noise=0.2, seed=8)
    assert x.shape == (300, 2) and x.dtype == np.float64 and len(y) == 300
    np.testing.assert_array_equal(x, again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(x, other)
    assert task == PLAYGROUND_SETS[name][0]
    if task == "classification":
        assert set(np.unique(y)) == {0, 1} and y.dtype == np.int64
    else:
        assert y.dtype == np.float64
    assert np.abs(x).max() <= PLANE + 1.5 if name == "gauss" else np.abs(x).max() <= PLANE


def test_clean_sets_follow_their_rules():
    x, y, _ = make_playground("circle", 400, seed=0)
    np.testing.assert_array_equal(y, (np.hypot(x[:, 0], x[:, 1]) < 2.5).astype(int))
    assert y.sum() == 200  # half inside
    x, y, _ = make_playground("xor", 400, seed=0)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(int))
    assert np.abs(x).min() >= 0.3  # pushed away from the axes
    x, y, _ = make_playground("plane", 400, seed=0)
    np.testing.assert_allclose(y, (x[:, 0] + x[:, 1]) / 10)
    x, y, _ = make_playground("spiral", 500, seed=0)
    radius = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_allclose(radius[:250], 5 * np.arange(250) / 250)  # arm 1: r = 5 i/n
    angle = 1.75 * 2 * math.pi * 100 / 250 + math.pi  # arm 0, point 100
    np.testing.assert_allclose(x[350], [2 * math.sin(angle), 2 * math.cos(angle)], atol=1e-12)
    assert (y[:250] == 1).all() and (y[250:] == 0).all()


def test_noise_flips_labels_near_the_boundary_only_when_asked():
    def inside(x):
        return (np.hypot(x[:, 0], x[:, 1]) < 2.5).astype(int)

    x, clean, _ = make_playground("circle", 500, seed=3)
    np.testing.assert_array_equal(clean, inside(x))
    x, noisy, _ = make_playground("circle", 500, noise=0.5, seed=3)
    assert 0 < (noisy != inside(x)).sum() < 250


def test_features_and_grid():
    f = playground_features([[1.0, 2.0], [-0.5, 0.25]], ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"])
    np.testing.assert_allclose(f[0], [1, 2, 1, 4, 2, math.sin(1), math.sin(2)])
    np.testing.assert_allclose(f[1], [-0.5, 0.25, 0.25, 0.0625, -0.125, math.sin(-0.5), math.sin(0.25)])
    g = grid(4)
    assert g.shape == (16, 2)
    np.testing.assert_allclose(g[0], [-4.5, 4.5])  # top left first
    np.testing.assert_allclose(g[-1], [4.5, -4.5])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: make_playground("moons"), "unknown Playground data set 'moons'"),
        (lambda: make_playground("circle", 1), "n_samples must be an integer ≥ 2"),
        (lambda: make_playground("circle", noise=2), "noise must be a number from 0 to 1"),
        (lambda: playground_features([[0.0, 0.0]], ["x3"]), "input features must be one or more of"),
        (lambda: playground_features([[0.0, 0.0]], []), "input features must be one or more of"),
    ],
)
def test_bad_arguments_name_the_fix(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("'", "'")):
        call()
