"""Before and after in the same run: chainrule at a git revision against the working tree.

The package as it was at ``REVISION`` is extracted next to the working tree's, renamed
``chainrule_before`` (its imports rewritten), and both train the networks of ``bench_mlp.py`` from
the same weights and data in one process, in alternating blocks (order reversed every round).
Printed per row: each version's fastest block, and the median of the per-round ratios
after / before, which cancels most of this shared machine's drift.  No PyTorch needed.

Run from the repository root::

    python benchmarks/compare_revisions.py 8633e58 --networks 2-2-1 64-32-10
    python benchmarks/compare_revisions.py 8633e58 --loop fit    # a step of an epoch through fit

With ``--loop fit`` each timed call is one epoch of ``--batches`` steps through
``chainrule.training.fit``, and the times are per step.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy
from count_instructions import LOOPS, MORE_SETUPS, NETWORKS, SETUPS, fit_epoch, training_step

ROOT = Path(__file__).resolve().parent.parent


def extract(revision: str, into: Path) -> None:
    """``chainrule`` at ``revision`` as the package ``chainrule_before`` under ``into``."""
    archive = subprocess.run(["git", "archive", revision, "chainrule"], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    package = into / "chainrule_before"
    (into / "chainrule").rename(package)
    for path in package.rglob("*.py"):
        path.write_text(re.sub(r"\bchainrule\b", "chainrule_before", path.read_text()))


def block(step: Callable, steps: int) -> float:
    """Seconds per step over ``steps`` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("revision", help="the git revision to compare with (e.g. a commit before a change)")
    parser.add_argument("--networks", nargs="+", default=["2-2-1", "64-32-10"], choices=list(NETWORKS))
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS + MORE_SETUPS)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--block", type=float, default=0.02, help="seconds per timed block")
    parser.add_argument("--loop", choices=LOOPS, default="step", help="the hand-written step, or fit's loop")
    parser.add_argument("--batches", type=int, default=20, help="steps per fit call with --loop fit")
    args = parser.parse_args()
    per_call = args.batches if args.loop == "fit" else 1
    with tempfile.TemporaryDirectory() as folder:
        extract(args.revision, Path(folder))
        sys.path[:0] = [folder, str(ROOT)]
        print(f"{'network':<14} {'setup':<17} {'before':>9} {'after':>9}  after/before (median of rounds)")
        for network, setup in itertools.product(args.networks, args.setups):
            versions = [importlib.import_module(name) for name in ("chainrule_before", "chainrule")]
            if args.loop == "fit":
                before, after = (fit_epoch(version, network, setup, args.batches) for version in versions)
            else:
                before, after = (training_step(version, network, setup) for version in versions)
            losses = [(float(before().item()), float(after().item())) for _ in range(3)]
            if not numpy.allclose(*zip(*losses), rtol=1e-4, atol=1e-6):
                raise AssertionError(f"{network} {setup}: the two versions' first losses differ: {losses}")
            steps = max(1, round(args.block / block(after, 5)))
            times: dict[str, list[float]] = {"before": [], "after": []}
            for r in range(args.rounds):
                order = ("before", "after") if r % 2 == 0 else ("after", "before")
                for name in order:
                    times[name].append(block(before if name == "before" else after, steps))
            ratio = statistics.median(a / b for a, b in zip(times["after"], times["before"]))
            fastest = {name: min(values) / per_call * 1e6 for name, values in times.items()}
            print(
                f"{network:<14} {setup:<17} {fastest['before']:7.1f}µs {fastest['after']:7.1f}µs  {ratio:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
