"""Reading and one-epoch figures for large CSV files: chainrule against pandas and pyarrow, in one run.

The benchmark writes its own files (9 numeric features and a target ``y``; 2 million rows ≈ 171 MB
and 11 million rows ≈ 0.95 GB by default), then times each job in a fresh process and records
that process's peak resident memory (``ru_maxrss``, imports included):

* ``pandas``: ``pandas.read_csv(path)``;
* ``pyarrow``: ``pyarrow.csv.read_csv(path)``;
* ``read``: chainrule's ``read_table`` → ``Preprocessor(target="y").fit_transform`` and
  ``transform_target``: the float32 model arrays;
* ``steps``: one epoch of training steps on those arrays in memory (the read not timed): a
  9-32-16-1 ReLU MLP, Adam, MSE, batches of 256 in a random order;
* ``stream``: the same epoch from the file through :class:`chainrule.data.streaming.FileBatches`
  (statistics fitted in one pass, then one epoch read in chunks through the shuffle buffer),
  timed as the fit pass and the epoch.

The issue's goals: ``read`` within 2× the time of ``pandas`` and within the float32 arrays plus
``pandas``' memory; ``stream``'s epoch within 1.5× (``pyarrow`` + ``steps``) and peak under 1 GiB.

    python benchmarks/bench_data.py                    # both files
    python benchmarks/bench_data.py --rows 2000000     # one size
    python benchmarks/bench_data.py --dir /big/disk    # where the files go (deleted at the end)

The machine's load average is printed before and after: on a shared machine the times are noisy.
Each job's CPU time (user + system, every thread) is reported beside its wall time: it varies less
with the load, though a busy machine still inflates it (caches, frequency).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FEATURES = 9
BATCH = 256
HIDDEN = (32, 16)
JOBS = ("pandas", "pyarrow", "read", "steps", "stream")


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` rows of 9 normal features (4 decimals) and y = their mean + noise, written by pyarrow."""
    import numpy
    import pyarrow
    import pyarrow.csv

    rng = numpy.random.default_rng(seed)
    schema = pyarrow.schema([(f"x{j}", pyarrow.float64()) for j in range(FEATURES)] + [("y", pyarrow.float64())])
    with pyarrow.csv.CSVWriter(str(path), schema) as writer:
        for start in range(0, rows, 500_000):
            m = min(500_000, rows - start)
            columns = {f"x{j}": numpy.round(rng.normal(size=m) * 100, 4) for j in range(FEATURES)}
            columns["y"] = numpy.round(sum(columns.values()) / FEATURES + rng.normal(size=m), 4)
            writer.write_table(pyarrow.table(columns, schema=schema))


def _model():
    import chainrule
    from chainrule import nn, optim

    chainrule.manual_seed(0)
    layers, inputs = [], FEATURES
    for width in HIDDEN:
        layers += [nn.Linear(inputs, width), nn.ReLU()]
        inputs = width
    model = nn.Sequential(*layers, nn.Linear(inputs, 1))
    return model, optim.Adam(model.parameters(), lr=1e-3), nn.MSELoss()


def _train(batches) -> int:
    """One pass of training steps over ``(x, y)`` batches; returns the rows seen."""
    from chainrule.tensor import Tensor

    model, optimizer, loss_fn = _model()
    rows = 0
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(Tensor(x)), y).backward()
        optimizer.step()
        rows += len(x)
    return rows


def _cpu() -> float:
    """CPU seconds of this process so far, every thread (user + system): less sensitive to a busy machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def worker(job: str, path: str) -> dict:
    """Run one job in this process; returns its seconds (and parts) and the peak memory."""
    import numpy

    result: dict = {"job": job}
    start, cpu = time.perf_counter(), _cpu()
    if job == "pandas":
        import pandas

        result["rows"] = len(pandas.read_csv(path))
    elif job == "pyarrow":
        import pyarrow.csv

        result["rows"] = pyarrow.csv.read_csv(path).num_rows
    elif job in ("read", "steps"):
        from chainrule.data import Preprocessor, read_table

        table = read_table(path)
        pre = Preprocessor(target="y")
        x = pre.fit_transform(table)
        y = pre.transform_target(table)
        del table
        result["rows"] = len(x)
        if job == "steps":
            from chainrule.data import DataLoader

            start, cpu = time.perf_counter(), _cpu()  # the steps alone
            result["rows"] = _train(DataLoader(x, y, batch_size=BATCH, shuffle=True, generator=0))
    else:
        from chainrule.data import Preprocessor
        from chainrule.data.streaming import FileBatches

        source = FileBatches(path, Preprocessor(target="y"), batch_size=BATCH)
        source.fit()
        result["fit_seconds"], result["fit_cpu"] = time.perf_counter() - start, _cpu() - cpu
        epoch, epoch_cpu = time.perf_counter(), _cpu()
        result["rows"] = _train(source.epoch(numpy.random.default_rng(0)))
        result["epoch_seconds"], result["epoch_cpu"] = time.perf_counter() - epoch, _cpu() - epoch_cpu
    result["seconds"], result["cpu"] = time.perf_counter() - start, _cpu() - cpu
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_job(job: str, path: Path) -> dict:
    command = [sys.executable, __file__, "--worker", job, str(path)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{job} on {path} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(results: dict, job: str) -> str:
    """``"4.4 s, 580 MiB"`` for one job's figures."""
    if job not in results:
        return "–"
    return f"{results[job]['seconds']:.1f} s (CPU {results[job]['cpu']:.1f} s), {results[job]['peak_mib']:.0f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="*", default=[2_000_000, 11_000_000])
    parser.add_argument("--dir", default=None, help="folder for the generated files (default: the temp folder)")
    parser.add_argument("--jobs", nargs="*", default=list(JOBS), choices=JOBS)
    parser.add_argument("--worker", nargs=2, metavar=("JOB", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return
    print(f"load average before: {os.getloadavg()}, {os.cpu_count()} CPUs")
    rows_out = []
    with tempfile.TemporaryDirectory(dir=args.dir, prefix="bench_data.") as folder:
        for rows in args.rows:
            path = Path(folder) / f"data_{rows}.csv"
            generate(path, rows)
            size = path.stat().st_size
            results = {job: run_job(job, path) for job in args.jobs}
            path.unlink()
            rows_out.append((rows, size, results))
            print(json.dumps({"rows": rows, "bytes": size, **results}))
    print(f"load average after: {os.getloadavg()}")
    print()
    print(
        "| file | pandas.read_csv | pyarrow.csv.read_csv | chainrule read → float32 | in-memory epoch "
        "(steps) | streamed: fit pass + epoch | goals |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for rows, size, results in rows_out:
        stream = results.get("stream")
        streamed = "–"
        if stream:
            streamed = (
                f"{stream['fit_seconds']:.1f} s + {stream['epoch_seconds']:.1f} s (CPU {stream['fit_cpu']:.1f} s + "
                f"{stream['epoch_cpu']:.1f} s), {stream['peak_mib']:.0f} MiB"
            )
        goals = []
        if {"read", "pandas"} <= results.keys():
            read, pandas = results["read"], results["pandas"]
            arrays = rows * (FEATURES + 1) * 4 / 2**20
            goals.append(
                f"read {read['seconds'] / pandas['seconds']:.2f}× pandas (CPU {read['cpu'] / pandas['cpu']:.2f}×; "
                f"≤ 2), {read['peak_mib']:.0f} ≤ {arrays + pandas['peak_mib']:.0f} MiB"
            )
        if stream and {"pyarrow", "steps"} <= results.keys():
            budget = results["pyarrow"]["seconds"] + results["steps"]["seconds"]
            cpu_budget = results["pyarrow"]["cpu"] + results["steps"]["cpu"]
            goals.append(
                f"epoch {stream['epoch_seconds'] / budget:.2f}× (pyarrow + steps) "
                f"(CPU {stream['epoch_cpu'] / cpu_budget:.2f}×; ≤ 1.5)"
            )
        print(
            f"| {rows / 1e6:g}M × 10 ({size / 1e9:.2f} GB) | {_cell(results, 'pandas')} | "
            f"{_cell(results, 'pyarrow')} | {_cell(results, 'read')} | {_cell(results, 'steps')} | {streamed} | "
            f"{'; '.join(goals)} |"
        )


if __name__ == "__main__":
    main()
