"""One MNIST epoch (60 000 images, batch 128, 784-128-64-10 ReLU, Adam, cross-entropy): time and memory.

chainrule runs its own training loop, ``chainrule.training.fit``; PyTorch runs the loop people
write by hand, on tensors already in memory (no ``DataLoader``): a new random order each epoch,
``x[idx]`` per batch, ``zero_grad``, forward, loss, ``backward``, ``step``, ``loss.item()``.  Both
start from the same weights (chainrule's, copied into PyTorch) on the same float32 data.  Two more
chainrule runs show what the loop costs: ``fit(..., stop_on_nonfinite=False)`` (no copy of the
weights per batch) and PyTorch's loop written with chainrule (``chainrule-by-hand``).

Each run is a fresh subprocess, alternating chainrule and PyTorch, so that neither inherits the
other's memory or threads.  In each, after imports and loading the data, the peak resident set
size is reset (``5`` written to ``/proc/self/clear_refs``); after the epoch, ``VmHWM`` minus the
RSS at the reset is the memory the training itself took at its peak.  The absolute peak
(``VmHWM``, including the interpreter, the libraries and the 188 MB of float32 images) is
reported too.  The median over the runs is reported.

Run::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mnist_epoch.py

Writes ``benchmarks/results/bench_mnist_epoch.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
MNIST = Path("/work/shared/data/mnist")
SIZES = (784, 128, 64, 10)
BATCH = 128
LIBRARIES = ["chainrule", "torch", "chainrule-noguard", "chainrule-by-hand"]


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in bytes (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def load(data_dir: Path):
    """MNIST training images as float32 in [0, 1], shape (60000, 784), and int64 labels."""
    from chainrule.data import read_idx

    images = read_idx(data_dir / "train-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / "train-labels-idx1-ubyte.gz")
    x = images.reshape(len(images), -1).astype("float32")
    x /= 255
    return x, labels.astype("int64")


def chainrule_model():
    """784-128-64-10 with ReLU, seeded: the weights both libraries start from."""
    import chainrule
    from chainrule import nn

    chainrule.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def run_chainrule(x, y, guard: bool) -> float:
    """One epoch through chainrule.training.fit; returns the mean training loss."""
    from chainrule import nn, optim
    from chainrule.training import fit

    model = chainrule_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    history = fit(
        model, nn.CrossEntropyLoss(), optimizer, x, y, epochs=1, batch_size=BATCH, seed=0, verbose=0,
        stop_on_nonfinite=guard,
    )  # fmt: skip
    return history.history["loss"][-1]


def run_chainrule_by_hand(x, y) -> float:
    """One epoch of the loop PyTorch runs, written with chainrule: what ``fit`` adds is the difference."""
    import numpy

    from chainrule import Tensor, nn, optim

    model = chainrule_model()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    order = numpy.random.default_rng(0).permutation(len(x))
    total = 0.0
    for start in range(0, len(x), BATCH):
        idx = order[start : start + BATCH]
        optimizer.zero_grad()
        loss = loss_fn(model(Tensor(x[idx])), Tensor(y[idx]))
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / len(x)


def run_torch(x, y, threads: int) -> float:
    """One epoch of PyTorch's hand-written loop on in-memory tensors; returns the mean loss."""
    import torch

    torch.set_num_threads(threads)
    reference = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    )
    with torch.no_grad():
        for p, q in zip(chainrule_model().parameters(), reference.parameters()):
            q.copy_(torch.from_numpy(p.data.copy()))
    optimizer = torch.optim.Adam(reference.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    total = 0.0
    for start in range(0, len(x), BATCH):
        idx = order[start : start + BATCH]
        optimizer.zero_grad()
        loss = loss_fn(reference(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(idx)
    return total / len(x)


def child(library: str, threads: int) -> dict:
    """One measured epoch in this process: seconds, mean loss, peak memory."""
    if library == "torch":
        import torch  # noqa: F401  (imported before the baseline, like chainrule)
    import chainrule  # noqa: F401

    x, y = load(MNIST)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    baseline = _status("VmRSS")
    start = time.perf_counter()
    if library == "torch":
        loss = run_torch(x, y, threads)
    elif library == "chainrule-by-hand":
        loss = run_chainrule_by_hand(x, y)
    else:
        loss = run_chainrule(x, y, guard=library == "chainrule")
    seconds = time.perf_counter() - start
    peak = _status("VmHWM")
    return dict(library=library, seconds=seconds, loss=loss, peak_bytes=peak, training_bytes=peak - baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="epochs per library, alternating")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    parser.add_argument("--child", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_mnist_epoch.json")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.threads)))
        return
    libraries = LIBRARIES
    runs: dict[str, list[dict]] = {name: [] for name in libraries}
    for r in range(args.runs):
        for library in libraries if r % 2 == 0 else reversed(libraries):
            command = [sys.executable, __file__, "--child", library, "--threads", str(args.threads)]
            result = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            runs[library].append(result)
            print(
                f"{library:<18} {result['seconds']:6.2f} s  loss {result['loss']:.4f}  "
                f"peak {result['peak_bytes'] / 2**20:6.0f} MiB  training {result['training_bytes'] / 2**20:6.1f} MiB",
                flush=True,
            )
    summary = {
        name: {key: statistics.median(r[key] for r in results) for key in ("seconds", "peak_bytes", "training_bytes")}
        for name, results in runs.items()
    }
    ratio = summary["chainrule"]["seconds"] / summary["torch"]["seconds"]
    print(f"\nmedians of {args.runs} epochs (PyTorch on {args.threads} threads):")
    for name, s in summary.items():
        print(
            f"{name:<18} {s['seconds']:6.2f} s  peak {s['peak_bytes'] / 2**20:6.0f} MiB  "
            f"training {s['training_bytes'] / 2**20:6.1f} MiB"
        )
    print(f"time ratio chainrule / PyTorch: {ratio:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(dict(summary=summary, ratio=ratio, runs=runs, threads=args.threads), indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
