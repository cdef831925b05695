"""Instructions one chainrule training step executes, counted by valgrind (the same on every run).

Wall-clock time on a shared machine drifts by tens of per cent between processes; the number of
instructions a step runs does not, so it tells whether a change to the engine made a step cheaper.
Each network × setup runs in a fresh process under ``valgrind --tool=callgrind`` twice, for ``n``
and for ``3n`` steps; the difference divided by ``2n`` is the count per step, with the imports and
the set-up cancelled out.  The networks, batches and setups are those of ``bench_mlp.py``, built
here without PyTorch.  Needs valgrind (``apt install valgrind``); 1–2 minutes per row.

Run::

    python benchmarks/count_instructions.py --networks 2-2-1 64-32-10

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


def training_step(library: Any, network: str, setup: str) -> Callable[[], Any]:
    """One training step of ``network`` for ``setup`` as bench_mlp.py builds it, in ``library``
    (the ``chainrule`` package, or another version of it), as a closure returning the loss."""
    import numpy

    nn, optim = library.nn, library.optim
    sizes, batch = NETWORKS[network]
    optimizer_name, activation, loss_name = setup.split("/")
    library.manual_seed(0)
    layers: list = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
    model = nn.Sequential(*layers)
    rng = numpy.random.default_rng(1)
    x = library.tensor(rng.standard_normal((batch, sizes[0])).astype(numpy.float32))
    if loss_name == "mse":
        y = library.tensor(rng.standard_normal((batch, sizes[-1])).astype(numpy.float32))
        loss_fn = nn.MSELoss()
    else:
        y, loss_fn = library.tensor(rng.integers(0, sizes[-1], batch)), nn.CrossEntropyLoss()
    parameters = model.parameters()
    name, options = OPTIMIZERS[optimizer_name]
    optimizer = getattr(optim, name)(parameters, **options)

    def step() -> Any:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def train(network: str, setup: str, steps: int) -> None:
    """Run ``steps`` training steps of ``network`` for ``setup``."""
    import chainrule

    step = training_step(chainrule, network, setup)
    for _ in range(steps):
        step()


def count(network: str, setup: str, steps: int) -> int:
    """Instructions of a process that trains ``steps`` steps (valgrind's total)."""
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, __file__, "--child", network, setup, str(steps),
    ]  # fmt: skip
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def per_step(network: str, setup: str, steps: int) -> float:
    """Instructions per step: (count at 3n − count at n) / 2n."""
    return (count(network, setup, 3 * steps) - count(network, setup, steps)) / (2 * steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", nargs="+", default=["2-2-1", "64-32-10"], choices=list(NETWORKS))
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS + MORE_SETUPS)
    parser.add_argument("--steps", type=int, default=200, help="n: the runs take n and 3n steps")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        network, setup, steps = args.child
        train(network, setup, int(steps))
        return
    rows = [(network, setup) for network in args.networks for setup in args.setups]
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        counts = pool.map(lambda row: per_step(*row, args.steps), rows)
        for (network, setup), instructions in zip(rows, counts):
            print(f"{network:<15} {setup:<17} {instructions / 1000:8.1f} k instructions per step", flush=True)


if __name__ == "__main__":
    main()
