"""Instructions one chainrule training step executes, counted by valgrind (the same on every run).

Wall-clock time on a shared machine drifts by tens of per cent between processes; the number of
instructions a step runs does not, so it tells whether a change to the engine made a step cheaper.
Each network × setup runs in a fresh process under ``valgrind --tool=callgrind`` twice, for ``n``
and for ``3n`` steps; the difference divided by ``2n`` is the count per step, with the imports and
the set-up cancelled out.  The networks, batches and setups are those of ``bench_mlp.py``, built
here without PyTorch.  Needs valgrind (``apt install valgrind``); 1–2 minutes per row.

Run::

    python benchmarks/count_instructions.py --networks 2-2-1 64-32-10
    python benchmarks/count_instructions.py --loop fit     # per step of an epoch through fit

``--loop fit`` counts a step of ``chainrule.training.fit`` (the loop, the shuffle, the gather of
each batch and the divergence guard's copy of the weights around the same step); both counts use
the same data, made for 3n steps, so its making cancels out.  The version counted is the
``chainrule`` that ``python`` imports: put another checkout first on ``PYTHONPATH`` to count it.

Counts are comparable between versions of chainrule on one machine (same Python, NumPy, BLAS);
BLAS work is counted too, so only the small networks are worth counting.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

NETWORKS = {"2-2-1": ((2, 2, 1), 1), "64-32-10": ((64, 32, 10), 32), "784-128-64-10": ((784, 128, 64, 10), 128)}
SETUPS = ("sgd/tanh/mse", "adam/tanh/mse", "sgd/relu/ce", "adam/relu/ce")  # optimizer/activation/loss
MORE_SETUPS = ("momentum/tanh/mse", "momentum/relu/ce", "adamw/tanh/mse", "adamw/relu/ce")  # not in the issue
OPTIMIZERS = {  # setup's optimizer: (class name, options), the same in chainrule.optim and torch.optim
    "sgd": ("SGD", {"lr": 0.01}),
    "momentum": ("SGD", {"lr": 0.01, "momentum": 0.9}),
    "adam": ("Adam", {"lr": 1e-3}),
    "adamw": ("AdamW", {"lr": 1e-3}),  # weight decay 0.01, both libraries' default
}


LOOPS = ("step", "fit")
"""What is counted: the hand-written step (``training_step``), or an epoch through
``chainrule.training.fit`` (``fit_epoch``: the loop, shuffling, batch gathering and the divergence
guard's copy around the same step)."""


def _setup(library: Any, network: str, setup: str, rows: int) -> tuple[Any, Any, Any, Any, Any]:
    """``(model, loss_fn, optimizer, x, y)`` for ``network`` and ``setup`` as bench_mlp.py
    builds them, with ``rows`` rows of seeded float32 data (NumPy arrays)."""
    import numpy

    nn, optim = library.nn, library.optim
    sizes = NETWORKS[network][0]
    optimizer_name, activation, loss_name = setup.split("/")
    library.manual_seed(0)
    layers: list = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
    model = nn.Sequential(*layers)
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((rows, sizes[0])).astype(numpy.float32)
    if loss_name == "mse":
        y = rng.standard_normal((rows, sizes[-1])).astype(numpy.float32)
        loss_fn = nn.MSELoss()
    else:
        y, loss_fn = rng.integers(0, sizes[-1], rows), nn.CrossEntropyLoss()
    name, options = OPTIMIZERS[optimizer_name]
    optimizer = getattr(optim, name)(model.parameters(), **options)
    return model, loss_fn, optimizer, x, y


def training_step(library: Any, network: str, setup: str) -> Callable[[], Any]:
    """One training step of ``network`` for ``setup`` as bench_mlp.py builds it, in ``library``
    (the ``chainrule`` package, or another version of it), as a closure returning the loss."""
    model, loss_fn, optimizer, x, y = _setup(library, network, setup, NETWORKS[network][1])
    x, y = library.tensor(x), library.tensor(y)

    def step() -> Any:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def fit_epoch(library: Any, network: str, setup: str, batches: int, rows: int | None = None) -> Callable[[], Any]:
    """One epoch of ``batches`` steps of ``network`` for ``setup`` through ``library.training.fit``
    (shuffled, ``seed=0``, the divergence guard on, quiet), on the first ``batches × batch`` of
    ``rows`` rows (default: just those), as a closure returning the epoch's mean loss."""
    import numpy

    batch = NETWORKS[network][1]
    model, loss_fn, optimizer, x, y = _setup(library, network, setup, rows or batches * batch)
    x, y = x[: batches * batch], y[: batches * batch]
    fit = library.training.fit

    def epoch() -> Any:
        history = fit(model, loss_fn, optimizer, x, y, epochs=1, batch_size=batch, seed=0, verbose=0)
        return numpy.float64(history.history["loss"][-1])

    return epoch


def train(network: str, setup: str, steps: int, loop: str, data_steps: int) -> None:
    """Run ``steps`` training steps of ``network`` for ``setup``: by hand, or as one epoch of
    ``fit`` on data made for ``data_steps`` steps (the same data for every count)."""
    import chainrule

    if loop == "fit":
        fit_epoch(chainrule, network, setup, steps, data_steps * NETWORKS[network][1])()
        return
    step = training_step(chainrule, network, setup)
    for _ in range(steps):
        step()


def count(network: str, setup: str, steps: int, loop: str, data_steps: int) -> int:
    """Instructions of a process that trains ``steps`` steps (valgrind's total)."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, __file__, "--child", network, setup, str(steps), loop, str(data_steps),
    ]  # fmt: skip
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def per_step(network: str, setup: str, steps: int, loop: str = "step") -> float:
    """Instructions per step: (count at 3n − count at n) / 2n."""
    counts = [count(network, setup, k * steps, loop, 3 * steps) for k in (3, 1)]
    return (counts[0] - counts[1]) / (2 * steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", nargs="+", default=["2-2-1", "64-32-10"], choices=list(NETWORKS))
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS + MORE_SETUPS)
    parser.add_argument("--steps", type=int, default=200, help="n: the runs take n and 3n steps")
    parser.add_argument("--loop", choices=LOOPS, default="step", help="the hand-written step, or fit's loop")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        network, setup, steps, loop, data_steps = args.child
        train(network, setup, int(steps), loop, int(data_steps))
        return
    rows = [(network, setup) for network in args.networks for setup in args.setups]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        counts = pool.map(lambda row: per_step(*row, args.steps, args.loop), rows)
        for (network, setup), instructions in zip(rows, counts):
            print(f"{network:<15} {setup:<17} {instructions / 1000:8.1f} k instructions per step", flush=True)


if __name__ == "__main__":
    main()
