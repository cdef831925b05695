"""How fast a small step could be: the same array work as chainrule's step, written out in NumPy.

The issue's "plain NumPy, hand-written backward" column, measured beside chainrule and PyTorch.
Each step here makes the NumPy calls that chainrule's fused ``Sequential``, loss and optimizer
make (``dot`` products, bias sums as 1ᵀ G, the cross-entropy of ``ops.losses``, a packed SGD or
Adam update on one flat array) and nothing else: no modules, tensors, graph nodes or checks.
Its time is the floor of any engine that keeps NumPy's arrays; chainrule's time above it is the
engine's cost.  The three run in interleaved blocks, as in ``bench_mlp.py``, whose networks,
weights and data are used; the first losses of all three are checked to agree.

Run::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_numpy_floor.py

Prints a table; ratios are medians of per-round ratios against PyTorch.
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
from collections.abc import Callable

import numpy
import torch
from bench_mlp import NETWORKS, SETUPS, build, interleave, make_steps

FLOAT = numpy.float32


def numpy_step(sizes: tuple[int, ...], batch: int, setup: str) -> Callable:
    """One training step in plain NumPy, from the weights and data ``bench_mlp`` uses."""
    optimizer_name, activation, loss_name = setup.split("/")
    model, _ = build(sizes, activation)
    weights = [(layer.weight.data, layer.bias.data) for layer in model if hasattr(layer, "weight")]
    flat = numpy.concatenate([a for pair in weights for a in pair], axis=None)
    views, grad_views, grad = [], [], numpy.empty_like(flat)
    offset = 0
    for w, b in weights:
        for array in (w, b):
            views.append(flat[offset : offset + array.size].reshape(array.shape))
            grad_views.append(grad[offset : offset + array.size].reshape(array.shape))
            offset += array.size
    layers = [(views[2 * i], views[2 * i + 1]) for i in range(len(weights))]
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(FLOAT)
    mse = loss_name == "mse"
    y = rng.standard_normal((batch, sizes[-1])).astype(FLOAT) if mse else rng.integers(0, sizes[-1], batch)
    ones_n, ones_c = numpy.ones(batch, FLOAT), numpy.ones(sizes[-1], FLOAT)
    starts, zero, one = numpy.arange(0, batch * sizes[-1], sizes[-1]), FLOAT(0), FLOAT(1)
    lr = FLOAT(0.01 if optimizer_name == "sgd" else 1e-3)
    m, v, work = numpy.zeros_like(flat), numpy.zeros_like(flat), numpy.empty_like(flat)
    t = [0]

    def step() -> float:
        hs, h = [], x
        for i, (w, b) in enumerate(layers):
            z = h.dot(w.T)
            z += b[None] if batch == 1 else b
            hs.append(h)
            if i < len(layers) - 1:
                z = numpy.tanh(z) if activation == "tanh" else numpy.maximum(z, zero)
            h = z
        if mse:
            diff = h - y
            loss = numpy.vdot(diff, diff) / diff.size
            g = diff * FLOAT(2 / diff.size)
        else:
            if numpy.maximum.reduce(y.view(numpy.uint64)) >= sizes[-1]:
                raise ValueError("labels")
            picks = starts + y
            shifted = h - numpy.maximum.reduce(h, axis=1, keepdims=True)
            e = numpy.exp(shifted)
            sums = e.dot(ones_c)
            losses = numpy.log(sums)
            losses -= shifted.take(picks)
            loss = ones_n.dot(losses) / batch
            g = e / sums[:, None]
            g.reshape(-1)[picks] -= ones_n
            g *= FLOAT(1 / batch)
        for i in range(len(layers) - 1, -1, -1):
            w, _ = layers[i]
            if i < len(layers) - 1:
                g = g * (one - hs[i + 1] * hs[i + 1]) if activation == "tanh" else g * (hs[i + 1] > zero)
            grad_views[2 * i + 1][...] = ones_n.dot(g)
            grad_views[2 * i][...] = g.T.dot(hs[i])
            if i:
                g = g.dot(w)
        if optimizer_name == "sgd":
            flat.__isub__(grad * lr)
        else:
            t[0] += 1
            m.__imul__(FLOAT(0.9))
            numpy.multiply(grad, FLOAT(0.1), out=work)
            m.__iadd__(work)
            v.__imul__(FLOAT(0.999))
            numpy.multiply(grad, grad, out=work)
            work.__imul__(FLOAT(0.001))
            v.__iadd__(work)
            correction = math.sqrt(1 - 0.999 ** t[0])
            numpy.sqrt(v, out=work)
            work.__iadd__(1e-8 * correction)
            numpy.divide(m, work, out=work)
            work.__imul__(1e-3 * correction / (1 - 0.9 ** t[0]))
            flat.__isub__(work)
        return loss

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", nargs="+", default=["2-2-1", "64-32-10"], choices=list(NETWORKS))
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=list(SETUPS))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--block", type=float, default=0.1, help="seconds per timed block")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds of busy waiting before each block")
    args = parser.parse_args()
    torch.set_num_threads(2)
    header = ("network", "setup", "NumPy", "chainrule", "PyTorch", "NumPy/PT", "chainrule/PT")
    print("{:<10} {:<13} {:>8} {:>10} {:>8} {:>9} {:>12}".format(*header))
    for name, setup in itertools.product(args.networks, args.setups):
        sizes, batch = NETWORKS[name]
        ours, theirs = make_steps(sizes, batch, setup)  # runs (and compares) the first three steps
        floor = numpy_step(sizes, batch, setup)
        for _ in range(3):
            floor()
        losses = [float(floor()), float(ours().item()), float(theirs().item())]  # the fourth step of each
        if not numpy.allclose(losses, losses[2], rtol=1e-3, atol=1e-6):
            raise AssertionError(f"{name} {setup}: losses of NumPy, chainrule, PyTorch differ: {losses}")
        times = interleave({"numpy": floor, "chainrule": ours, "torch": theirs}, args.rounds, args.block, args.pause)
        medians = {k: statistics.median(v) for k, v in times.items()}
        ratio = {k: statistics.median(a / b for a, b in zip(times[k], times["torch"])) for k in ("numpy", "chainrule")}
        print(
            f"{name:<10} {setup:<13} {medians['numpy'] * 1e6:6.1f}µs {medians['chainrule'] * 1e6:8.1f}µs "
            f"{medians['torch'] * 1e6:6.0f}µs {ratio['numpy']:9.3f} {ratio['chainrule']:12.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
