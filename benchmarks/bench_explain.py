"""What one weight's derivation costs on a live model, against a training step of the same model.

The page (``chainrule serve``) shows the chain rule of the weight under the cursor while training
runs at 100 steps per second or more; it calls ``chainrule.diagnostics.derive_parameter`` on the
live model each time it redraws.  This times, best of several rounds, on a 2-8-8-1 tanh network
(float32) and 500 rows, as the page's spiral:

* one training step (SGD, fused forward and backward);
* the traced layer-by-layer pass alone (``diagnostics.trace.trace``);
* ``derive_parameter`` for one weight, on the 500 rows and on one sample, then ``to_dict()`` and
  ``json.dumps`` of the result;
* the whole walk-through (``chainrule.explain``), as the command line builds it.

Run from the repository root::

    python benchmarks/bench_explain.py
"""

from __future__ import annotations

import json
import timeit

import numpy

import chainrule
from chainrule import nn, optim
from chainrule.diagnostics import derive_parameter
from chainrule.diagnostics.trace import trace


def best(function, number: int = 200, repeat: int = 7) -> float:
    """Microseconds per call, the fastest of ``repeat`` rounds of ``number`` calls."""
    return min(timeit.repeat(function, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(), nn.Linear(8, 1))
    rng = numpy.random.default_rng(0)
    x = rng.normal(size=(500, 2)).astype(numpy.float32)
    y = rng.normal(size=(500, 1)).astype(numpy.float32)
    loss_fn, optimizer = nn.MSELoss(), optim.SGD(model.parameters(), lr=0.03)
    xt, yt = chainrule.tensor(x), chainrule.tensor(y)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(xt), yt).backward()
        optimizer.step()

    batch = derive_parameter(model, loss_fn, x, y, "w2_34", lr=0.03)
    data = batch.to_dict()
    rows = [
        ("training step, 500 rows", best(step)),
        ("trace, 500 rows", best(lambda: trace(model, loss_fn, x, y))),
        ("derive_parameter(w2_34), 500 rows", best(lambda: derive_parameter(model, loss_fn, x, y, "w2_34", lr=0.03))),
        ("derive_parameter(w2_34), 1 sample", best(lambda: derive_parameter(model, loss_fn, x[0], y[0], "w2_34"))),
        ("to_dict(), 500 rows", best(batch.to_dict)),
        ("json.dumps(to_dict()), 500 rows", best(lambda: json.dumps(data))),
        ("explain(param=w2_34), 1 sample", best(lambda: chainrule.explain(model, loss_fn, x[0], y[0], "w2_34"), 10, 3)),
    ]
    for name, microseconds in rows:
        print(f"{name:38s} {microseconds / 1000:8.3f} ms")
    print(f"JSON of one weight's derivation on 500 rows: {len(json.dumps(data))} bytes")


if __name__ == "__main__":
    main()
