"""Shared test helpers: relative differences (recorded), float64 finite differences, seeded data.

Every comparison goes through :func:`assert_close`, which records the largest relative difference
seen per kind ("finite differences", "PyTorch", …).  Run the suite without xdist to have them
printed at the end:

    python -m pytest -q -p no:xdist tests/test_gradcheck_ops.py tests/test_against_torch.py tests/test_optim.py
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import settings

import chainrule as cr

# In CI (CI=true) hypothesis draws the same examples every run, so a run's result is reproducible.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

LARGEST: dict[str, float] = {}
"""Kind of comparison → the largest relative difference seen in this process."""


def relative_difference(actual, expected) -> float:
    """max |actual − expected| / max |expected| (0 when both are 0), in float64."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(np.abs(expected).max(initial=0.0), np.abs(actual).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(actual - expected).max(initial=0.0) / scale)


def assert_close(actual, expected, tol: float, kind: str, what: str = "") -> None:
    """Assert equal shapes and a relative difference below ``tol``; record it under ``kind``."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    difference = relative_difference(actual, expected)
    LARGEST[kind] = max(LARGEST.get(kind, 0.0), difference)
    assert difference < tol, f"{what}: relative difference {difference:.3e} ≥ {tol:g} against {kind}"


def check_gradients(f: Callable, *arrays, tol: float = 1e-6, eps: float = 1e-6, seed: int = 0) -> None:
    """Autograd's gradient of f(*tensors) against central finite differences, in float64.

    The output is contracted with fixed random weights R (L = Σ R ⊙ f), so every output element
    counts; ∂L/∂xᵢ ≈ (L(xᵢ + ε) − L(xᵢ − ε)) / 2ε for every element of every input.
    """
    arrays = [np.array(a, dtype=np.float64) for a in arrays]
    tensors = [cr.tensor(a.copy(), requires_grad=True) for a in arrays]
    out = f(*tensors)
    weights = np.random.default_rng(seed).standard_normal(out.shape)
    (out * cr.tensor(weights)).sum().backward()

    def loss(values: list) -> float:
        with cr.no_grad():
            return float((f(*[cr.tensor(v) for v in values]).numpy() * weights).sum())

    for position, (array, tensor) in enumerate(zip(arrays, tensors)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            shifted = [a.copy() for a in arrays]
            shifted[position][index] = array[index] + eps
            up = loss(shifted)
            shifted[position][index] = array[index] - eps
            numeric[index] = (up - loss(shifted)) / (2 * eps)
        assert tensor.grad is not None, f"input {position} received no gradient"
        assert_close(tensor.grad, numeric, tol, "finite differences", f"∂L/∂input{position}")


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded NumPy generator for test data."""
    return np.random.default_rng(1234)


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the largest relative differences seen (only without xdist: workers keep their own)."""
    if LARGEST:
        terminalreporter.write_line(
            "largest relative differences: "
            + ", ".join(f"{kind} {value:.2e}" for kind, value in sorted(LARGEST.items()))
        )
