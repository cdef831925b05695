"""Training-step speed of chainrule against PyTorch on the same MLPs, weights and data.

One step = ``zero_grad``, forward, loss, ``backward``, ``step``, through each library's public
API.  Both libraries start from the same weights and see the same batch; the two are timed in
alternating blocks (chainrule, PyTorch, GEMM, then the reverse order, …), each after a short busy
wait so that neither library's spinning worker threads slow the other's block.  Reported: the median
per-step time of each library, and the median of the per-round ratios (blocks run moments apart,
so load from other processes mostly cancels), and beside it the ratio of the two libraries'
fastest blocks.  Each row's rounds are split over two passes through all rows, so that a slow
spell of the machine touches only part of them.  The float32 GEMM rate of NumPy's BLAS is measured
in the same rounds, and a training step is counted as 6 × batch × weights floating-point
operations (2 for the forward product, 4 for the two backward products; the first layer's input
gradient is not needed, so the true count of the large network is 5/6 of that and its "share"
can pass 100%).  Before timing, the first three losses of both libraries are checked to agree.

Run (unset OpenBLAS overrides for this command only, see README)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_mlp.py

Prints a table and writes ``benchmarks/results/bench_mlp.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy
import threadpoolctl
import torch
from count_instructions import MORE_SETUPS, OPTIMIZERS, SETUPS

import chainrule
from chainrule import nn, optim

NETWORKS = {  # name: (layer sizes, batch)
    "2-2-1": ((2, 2, 1), 1),
    "64-32-10": ((64, 32, 10), 32),
    "784-128-64-10": ((784, 128, 64, 10), 128),
    "1024-1024-1024-10": ((1024, 1024, 1024, 10), 512),
}
RESULTS = Path(__file__).parent / "results"


def build(sizes: tuple[int, ...], activation: str, seed: int = 0) -> tuple[nn.Sequential, torch.nn.Sequential]:
    """The same MLP in both libraries, with chainrule's initial weights copied into PyTorch's."""
    chainrule.manual_seed(seed)
    ours, theirs = [], []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        ours.append(nn.Linear(n_in, n_out))
        theirs.append(torch.nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            ours.append(nn.Tanh() if activation == "tanh" else nn.ReLU())
            theirs.append(torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU())
    model, reference = nn.Sequential(*ours), torch.nn.Sequential(*theirs)
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
            q.copy_(torch.from_numpy(p.data.copy()))
    return model, reference


def make_steps(sizes: tuple[int, ...], batch: int, setup: str) -> tuple[Callable, Callable]:
    """One training step of each library, as closures over model, optimizer and data."""
    optimizer_name, activation, loss_name = setup.split("/")
    model, reference = build(sizes, activation)
    rng = numpy.random.default_rng(1)
    x = rng.standard_normal((batch, sizes[0])).astype(numpy.float32)
    if loss_name == "mse":
        y = rng.standard_normal((batch, sizes[-1])).astype(numpy.float32)
        loss_ours, loss_theirs = nn.MSELoss(), torch.nn.MSELoss()
    else:
        y = rng.integers(0, sizes[-1], batch)
        loss_ours, loss_theirs = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    name, options = OPTIMIZERS[optimizer_name]
    opt_ours = getattr(optim, name)(model.parameters(), **options)
    opt_theirs = getattr(torch.optim, name)(reference.parameters(), **options)
    x_ours, y_ours = chainrule.tensor(x), chainrule.tensor(y)
    x_theirs, y_theirs = torch.from_numpy(x), torch.from_numpy(y)

    def step_ours() -> float:
        opt_ours.zero_grad()
        loss = loss_ours(model(x_ours), y_ours)
        loss.backward()
        opt_ours.step()
        return loss

    def step_theirs() -> float:
        opt_theirs.zero_grad()
        loss = loss_theirs(reference(x_theirs), y_theirs)
        loss.backward()
        opt_theirs.step()
        return loss

    # the same start gives the same first losses (float32 rounding apart)
    first = [(float(step_ours().item()), float(step_theirs().item())) for _ in range(3)]
    for a, b in first:
        if abs(a - b) > 1e-3 * max(1.0, abs(b)):
            raise AssertionError(f"{setup} {sizes}: losses differ, chainrule {a} vs PyTorch {b}")
    return step_ours, step_theirs


def gemm_step(batch: int = 512, n: int = 1024) -> Callable:
    """The three float32 products of an n → n layer at this batch, straight through NumPy's BLAS.

    x Wᵀ (forward), G W (∂L/∂x) and Gᵀ x (∂L/∂W): 6 × batch × n² operations, the work a training
    step does per weight, so its rate is the ceiling for the large network.
    """
    rng = numpy.random.default_rng(2)
    x, g = (rng.standard_normal((batch, n)).astype(numpy.float32) for _ in range(2))
    w = rng.standard_normal((n, n)).astype(numpy.float32)

    def step() -> None:
        x @ w.T, g @ w, g.T @ x

    step.flops = 6 * batch * n * n
    return step


def block_time(step: Callable, steps: int) -> float:
    """Seconds per step over a block of ``steps`` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def steps_per_block(step: Callable, target: float) -> int:
    """How many steps make a block of about ``target`` seconds."""
    return max(1, round(target / max(block_time(step, 3), 1e-7)))


def interleave(steps: dict[str, Callable], rounds: int, target: float, pause: float) -> dict[str, list[float]]:
    """Per-step times of each function in ``rounds`` alternating blocks (order reversed each round).

    Each block starts after a ``pause`` of busy waiting: OpenBLAS's and PyTorch's OpenMP worker
    threads spin for a while after their last call, and on two cores the spinning pool of one
    library would otherwise slow the next block of the other (PyTorch's large step ran ~1.7×
    slower right after a NumPy block).  The wait keeps this thread busy instead of sleeping: on
    this machine a core that slept 0.2 s ran the next 0.1–0.8 s up to 1.8× slower (a 25 µs step at
    40–49 µs), which put most blocks of the small networks in that slow state.  A tenth of a
    block, untimed, follows the pause.
    """
    sizes = {name: steps_per_block(step, target) for name, step in steps.items()}
    for name, step in steps.items():  # warm-up
        block_time(step, sizes[name])
    times: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            busy_wait(pause)
            block_time(steps[name], max(1, sizes[name] // 10))
            times[name].append(block_time(steps[name], sizes[name]))
    return times


def busy_wait(seconds: float) -> None:
    """Spin for ``seconds`` (a sleep would let the core slow down; see :func:`interleave`)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def run(networks: list[str], setups: list[str], rounds: int, target: float, pause: float, passes: int) -> dict:
    """Time every network × setup; return the rows and the machine description.

    The rounds of each row are split over ``passes`` sweeps through all rows, so that a slow spell
    of this shared machine (seconds to minutes) falls on a part of a row's rounds, not all of them.
    """
    gemm = gemm_step()
    cases = list(itertools.product(networks, setups))
    steps = {case: make_steps(*NETWORKS[case[0]], case[1]) for case in cases}
    times = {case: {"chainrule": [], "torch": [], "gemm": []} for case in cases}
    for sweep in range(passes):
        share = rounds // passes + (sweep < rounds % passes)
        for case in cases:
            ours, theirs = steps[case]
            sweep_times = interleave({"chainrule": ours, "torch": theirs, "gemm": gemm}, share, target, pause)
            for key, values in sweep_times.items():
                times[case][key] += values
        print(f"pass {sweep + 1} of {passes} done", flush=True)
    rows = []
    gemm_rates = []
    print(HEADER)
    for (name, setup), row_times in times.items():
        sizes, batch = NETWORKS[name]
        weights = sum(a * b for a, b in itertools.pairwise(sizes))
        t_ours, t_theirs = statistics.median(row_times["chainrule"]), statistics.median(row_times["torch"])
        # each round's ratio compares blocks run moments apart, so load from other processes
        # mostly cancels; the median of these paired ratios is the figure reported
        ratio = statistics.median(a / b for a, b in zip(row_times["chainrule"], row_times["torch"]))
        # the fastest block of each: what each library does on a quiet machine (shown beside
        # the median ratio, since the shared machine's interruptions weigh more on short steps)
        ratio_of_minima = min(row_times["chainrule"]) / min(row_times["torch"])
        gemm_rate = gemm.flops / statistics.median(row_times["gemm"]) / 1e9
        gemm_rates.append(gemm_rate)
        gflops = 6 * batch * weights / t_ours / 1e9
        rows.append(
            dict(
                network=name,
                batch=batch,
                setup=setup,
                chainrule_s=t_ours,
                torch_s=t_theirs,
                ratio=ratio,
                chainrule_min_s=min(row_times["chainrule"]),
                torch_min_s=min(row_times["torch"]),
                ratio_of_minima=ratio_of_minima,
                chainrule_gflops=gflops,
                torch_gflops=6 * batch * weights / t_theirs / 1e9,
                gemm_gflops=gemm_rate,
                gemm_share=gflops / gemm_rate,
            )
        )
        print(format_row(rows[-1]), flush=True)
    return dict(
        rows=rows,
        gemm_gflops_median=statistics.median(gemm_rates),
        machine=dict(
            processor=platform.processor() or platform.machine(),
            python=platform.python_version(),
            numpy=numpy.__version__,
            torch=torch.__version__,
            torch_threads=torch.get_num_threads(),
            blas=[
                {k: info.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for info in threadpoolctl.threadpool_info()
                if info["user_api"] == "blas"
            ],
        ),
        rounds=rounds,
        passes=passes,
        block_seconds=target,
        pause_seconds=pause,
    )


HEADER = (
    f"{'network':<19} {'setup':<17} {'chainrule':>10} {'PyTorch':>10} {'ratio':>6} {'GFLOP/s':>8} "
    f"{'GEMM':>7} {'share':>6} {'min ratio':>9}"
)


def _duration(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def format_row(row: dict) -> str:
    """One line of the table."""
    return (
        f"{row['network']:<19} {row['setup']:<17} {_duration(row['chainrule_s']):>10} "
        f"{_duration(row['torch_s']):>10} {row['ratio']:>6.2f} {row['chainrule_gflops']:>8.1f} "
        f"{row['gemm_gflops']:>7.0f} {row['gemm_share']:>6.0%} {row['ratio_of_minima']:>9.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS + MORE_SETUPS)
    parser.add_argument("--rounds", type=int, default=16, help="alternating blocks per library and row")
    parser.add_argument("--passes", type=int, default=2, help="sweeps through all rows that share the rounds")
    parser.add_argument("--block", type=float, default=0.1, help="seconds per timed block")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds of busy waiting before each block")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch intra-op threads")
    parser.add_argument("--out", type=Path, default=RESULTS / "bench_mlp.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    kernels = (f"{i['internal_api']} {i['version']} {i['architecture']} x{i['num_threads']}" for i in blas)
    print("BLAS:", ", ".join(kernels))
    print(
        f"PyTorch {torch.__version__} on {torch.get_num_threads()} threads; medians of {args.rounds} blocks "
        f"in {args.passes} passes"
    )
    result = run(args.networks, args.setups, args.rounds, args.block, args.pause, args.passes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"GEMM rate (median): {result['gemm_gflops_median']:.0f} GFLOP/s; wrote {args.out}")


if __name__ == "__main__":
    main()
