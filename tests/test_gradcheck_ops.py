"""Every op's gradient against central finite differences in float64 (relative error < 1e-6).

One line per case: ``(f, *input arrays)``; operands have shapes that broadcast.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import check_gradients

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

rng = np.random.default_rng(7)


def randn(*shape):
    return rng.standard_normal(shape)


def positive(*shape):
    """Values in [0.5, 2): away from the poles and kinks of log, sqrt, 1/x and xʸ."""
    return rng.uniform(0.5, 2.0, shape)


def probabilities(*shape):
    return rng.uniform(0.05, 0.95, shape)


LABELS = np.array([2, 0, 3, 2, 1])
CLASS_WEIGHT = np.array([0.5, 2.0, 1.0, 1.5])

# Constants used inside cases are drawn once, so every evaluation of a case sees the same ones.
LEFT_413, LEFT_23, RIGHT_43, RIGHT_22 = randn(4, 1, 3), randn(2, 3), randn(4, 3), randn(2, 2)
MASK_34, MASK_23, BCE_WEIGHT = randn(3, 4) > 0, randn(2, 3) > 0, positive(2)

CASES = {
    # arithmetic, with broadcasting and reflected forms
    "add": (lambda a, b: a + b, randn(2, 3, 4), randn(3, 1)),
    "add scalar-shaped": (lambda a, b: a + b, randn(2, 3), randn()),
    "radd number": (lambda a: 2.5 + a, randn(3, 2)),
    "radd array": (lambda a: LEFT_413 + a, randn(2, 3)),
    "sub": (lambda a, b: a - b, randn(4, 1), randn(1, 5)),
    "rsub": (lambda a: 3.0 - a, randn(2, 2)),
    "mul": (lambda a, b: a * b, randn(2, 1, 4), randn(3, 4)),
    "rmul": (lambda a: 1.5 * a, randn(3)),
    "div": (lambda a, b: a / b, randn(3, 4), positive(4)),
    "rdiv": (lambda a: 2.0 / a, positive(2, 3)),
    "pow both": (lambda a, b: a**b, positive(2, 3), randn(3)),
    "pow number": (lambda a: a**3, randn(3, 2)),
    "pow fraction": (lambda a: a**-1.5, positive(4)),
    "rpow": (lambda a: 2.0**a, randn(2, 3)),
    "neg": (lambda a: -a, randn(2, 3)),
    # matrix products
    "matmul 1-D·1-D": (lambda a, b: a @ b, randn(3), randn(3)),
    "matmul 2-D·1-D": (lambda a, b: a @ b, randn(2, 3), randn(3)),
    "matmul 1-D·2-D": (lambda a, b: a @ b, randn(3), randn(3, 4)),
    "matmul 2-D·2-D": (lambda a, b: a @ b, randn(2, 3), randn(3, 4)),
    "matmul batched·2-D": (lambda a, b: a @ b, randn(5, 2, 3), randn(3, 4)),
    "matmul batched·batched": (lambda a, b: a @ b, randn(2, 2, 3), randn(2, 3, 4)),
    "matmul broadcast batch": (lambda a, b: a @ b, randn(3, 1, 2, 3), randn(2, 3, 2)),
    "matmul 1-D·batched": (lambda a, b: a @ b, randn(3), randn(2, 3, 4)),
    "matmul batched·1-D": (lambda a, b: a @ b, randn(2, 4, 3), randn(3)),
    "rmatmul array": (lambda b: LEFT_23 @ b, randn(3, 2)),
    # reductions
    "sum all": (lambda a: a.sum(), randn(2, 3, 4)),
    "sum axis": (lambda a: a.sum(axis=1), randn(2, 3, 4)),
    "sum axes keepdims": (lambda a: a.sum(axis=(0, 2), keepdims=True), randn(2, 3, 4)),
    "sum dim keepdim": (lambda a: a.sum(dim=-1, keepdim=True), randn(2, 3)),
    "mean all": (lambda a: a.mean(), randn(3, 4)),
    "mean axis": (lambda a: a.mean(axis=0), randn(3, 4)),
    "mean negative axes keepdims": (lambda a: a.mean(axis=(-1, -2), keepdims=True), randn(2, 3, 4)),
    "mean dim": (lambda a: a.mean(dim=1), randn(2, 5)),
    "max all": (lambda a: a.max(), randn(3, 4)),
    "max axis": (lambda a: a.max(axis=1), randn(3, 4)),
    "max keepdims": (lambda a: a.max(axis=0, keepdims=True), randn(3, 4)),
    "max dim keepdim": (lambda a: a.max(dim=(0, 2), keepdim=True), randn(2, 3, 4)),
    "min all": (lambda a: a.min(), randn(3, 4)),
    "min axis": (lambda a: a.min(axis=-1), randn(2, 3, 4)),
    "min dim": (lambda a: a.min(dim=0), randn(4, 2)),
    # element-wise
    "exp": (lambda a: a.exp(), randn(2, 3)),
    "log": (lambda a: a.log(), positive(2, 3)),
    "sqrt": (lambda a: a.sqrt(), positive(2, 3)),
    "abs": (lambda a: a.abs(), randn(3, 4)),
    "tanh": (lambda a: a.tanh(), randn(3, 4)),
    "sigmoid": (lambda a: a.sigmoid(), randn(3, 4)),
    "relu": (lambda a: a.relu(), randn(3, 4)),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), randn(3, 4)),
    "softmax last": (lambda a: a.softmax(), randn(3, 4)),
    "softmax axis 0": (lambda a: a.softmax(axis=0), randn(3, 4)),
    "softmax dim 1 of 3-D": (lambda a: F.softmax(a, dim=1), randn(2, 3, 4)),
    "log_softmax last": (lambda a: a.log_softmax(), randn(3, 4)),
    "log_softmax dim 0": (lambda a: a.log_softmax(dim=0), randn(3, 4)),
    "clip both": (lambda a: a.clip(-0.5, 0.5), randn(4, 5)),
    "clip min": (lambda a: a.clip(min=0.2), randn(4, 5)),
    "clamp max": (lambda a: a.clamp(max=-0.1), randn(4, 5)),
    "identity": (lambda a: F.identity(a), randn(3)),
    # movement
    "reshape": (lambda a: a.reshape(4, 3) * RIGHT_43, randn(2, 6)),
    "reshape -1": (lambda a: a.reshape(-1), randn(2, 3, 2)),
    "view tuple": (lambda a: a.view((3, 4)), randn(2, 6)),
    "flatten": (lambda a: a.flatten(1), randn(2, 3, 2)),
    "transpose": (lambda a: a.transpose(), randn(2, 3, 4)),
    "transpose pair": (lambda a: a.transpose(0, 2), randn(2, 3, 4)),
    "transpose order": (lambda a: a.transpose((1, 0, 2)), randn(2, 3, 4)),
    "T": (lambda a: a.T @ RIGHT_22, randn(2, 3)),
    "getitem int": (lambda a: a[1], randn(3, 4)),
    "getitem slices": (lambda a: a[:, 1:3], randn(3, 4)),
    "getitem step negative": (lambda a: a[::-2, -1], randn(5, 4)),
    "getitem ellipsis none": (lambda a: a[..., None, 0], randn(2, 3, 4)),
    "getitem array repeated": (lambda a: a[np.array([0, 2, 0, 0])], randn(3, 4)),
    "getitem list": (lambda a: a[[1, 1, 2]], randn(3, 2)),
    "getitem array pairs": (lambda a: a[np.array([0, 1, 1]), np.array([2, 0, 2])], randn(3, 4)),
    "getitem array and slice": (lambda a: a[[0, 0, 2], 1:], randn(3, 4)),
    "getitem tensor index": (lambda a: a[cr.tensor(np.array([1, 0, 1]))], randn(2, 3)),
    "concatenate axis 0": (lambda a, b: cr.concatenate([a, b]), randn(2, 3), randn(4, 3)),
    "cat dim 1": (lambda a, b, c: cr.cat([a, b, c], dim=1), randn(2, 1), randn(2, 3), randn(2, 2)),
    "stack": (lambda a, b: cr.stack([a, b]), randn(2, 3), randn(2, 3)),
    "stack last": (lambda a, b, c: cr.stack([a, b, c], axis=-1), randn(3), randn(3), randn(3)),
    "where": (lambda a, b: cr.where(MASK_34, a, b), randn(3, 4), randn(4)),
    "where number": (lambda a: cr.where(MASK_23, a, 0.0), randn(2, 3)),
    # fused layers
    "linear": (lambda x, w, b: F.linear(x, w, b), randn(5, 3), randn(2, 3), randn(2)),
    "linear no bias": (lambda x, w: F.linear(x, w), randn(5, 3), randn(4, 3)),
    "linear 1-D input": (lambda x, w, b: F.linear(x, w, b), randn(3), randn(2, 3), randn(2)),
    "linear 3-D input": (lambda x, w, b: F.linear(x, w, b), randn(2, 4, 3), randn(2, 3), randn(2)),
    "dropout fixed mask": (lambda a: F.dropout(a, 0.4, generator=3), randn(4, 5)),
    "batchnorm 2-D": (lambda x: nn.BatchNorm1d(3, dtype="float64")(x), randn(6, 3)),
    "batchnorm 3-D": (lambda x: nn.BatchNorm1d(2, dtype="float64")(x), randn(4, 2, 3)),
    # losses, every reduction
    "mse": (lambda h, y: F.mse_loss(h, y), randn(4, 3), randn(4, 3)),
    "mse sum": (lambda h, y: F.mse_loss(h, y, "sum"), randn(4, 3), randn(4, 3)),
    "mse none": (lambda h, y: F.mse_loss(h, y, "none"), randn(4, 3), randn(4, 3)),
    "l1": (lambda h, y: F.l1_loss(h, y), randn(4, 3), randn(4, 3)),
    "l1 none": (lambda h, y: F.l1_loss(h, y, "none"), randn(4, 3), randn(4, 3)),
    "huber": (lambda h, y: F.huber_loss(h, y, delta=0.7), randn(4, 3), randn(4, 3)),
    "huber sum": (lambda h, y: F.huber_loss(h, y, "sum"), randn(4, 3) * 2, randn(4, 3)),
    "bce": (lambda h, y: F.binary_cross_entropy(h, y), probabilities(5, 2), probabilities(5, 2)),
    "bce weight none": (
        lambda h, y: F.binary_cross_entropy(h, y, weight=BCE_WEIGHT, reduction="none"),
        probabilities(5, 2),
        probabilities(5, 2),
    ),
    "bce with logits": (lambda z, y: F.binary_cross_entropy_with_logits(z, y), randn(5, 2), probabilities(5, 2)),
    "bce with logits sum": (lambda z, y: F.binary_cross_entropy_with_logits(z, y, "sum"), randn(6), probabilities(6)),
    "cross entropy": (lambda z: F.cross_entropy(z, LABELS), randn(5, 4)),
    "cross entropy weight": (lambda z: F.cross_entropy(z, LABELS, weight=CLASS_WEIGHT), randn(5, 4)),
    "cross entropy sum": (lambda z: F.cross_entropy(z, LABELS, reduction="sum"), randn(5, 4)),
    "cross entropy none": (lambda z: F.cross_entropy(z, LABELS, CLASS_WEIGHT, "none"), randn(5, 4)),
    "cross entropy one sample": (lambda z: F.cross_entropy(z, np.array(1)), randn(4)),
    "nll": (lambda x: F.nll_loss(x, LABELS), randn(5, 4)),
    "nll weight": (lambda x: F.nll_loss(x, LABELS, weight=CLASS_WEIGHT), randn(5, 4)),
    "nll none": (lambda x: F.nll_loss(x, LABELS, reduction="none"), randn(5, 4)),
    "nll of log_softmax": (lambda z: F.nll_loss(z.log_softmax(), LABELS, CLASS_WEIGHT, "sum"), randn(5, 4)),
    "half squared error": (lambda h, y: nn.HalfSquaredErrorLoss()(h, y), randn(4, 2), randn(4, 2)),
    "sum squared error": (lambda h, y: nn.SumSquaredErrorLoss(reduction="sum")(h, y), randn(4, 2), randn(4, 2)),
    # compositions: a tensor used on several paths
    "used twice": (lambda a: a * a + a.exp(), randn(3)),
    "mlp": (lambda x, w: (x @ w).tanh().sum(axis=1).sigmoid(), randn(4, 3), randn(3, 2)),
}


@pytest.mark.parametrize("name", CASES)
def test_gradient_matches_finite_differences(name: str) -> None:
    f, *arrays = CASES[name]
    check_gradients(f, *arrays)


def test_every_tensor_op_is_covered() -> None:
    """The table above names each differentiable method of Tensor at least once."""
    methods = ["exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "softmax", "log_softmax"]
    methods += ["clip", "clamp", "sum", "mean", "max", "min", "reshape", "view", "flatten", "transpose"]
    source = Path(__file__).read_text(encoding="utf-8")
    missing = [m for m in methods if f"a.{m}(" not in source]
    assert not missing
