"""The command line's contract for bad input, as one reusable check (not a test file itself).

A bad command line must end with exit status 2 and exactly one line on stderr,
``chainrule: error: …``, that names the problem and the fix (the row's fragments); no traceback,
no warning, nothing written or created, and bounded memory (traced by ``tracemalloc``, which sees
NumPy's arrays too).  Other test files extend the table with their own rows::

    from cli_contract import Case, assert_meets_contract, case, make_contract_files

    @pytest.fixture(scope="module")
    def contract_files(tmp_path_factory):
        return make_contract_files(tmp_path_factory.mktemp("contract"))

    @pytest.mark.parametrize("row", MY_CASES, ids=lambda row: row.name)
    def test_my_bad_command_lines(row, contract_files, monkeypatch):
        assert_meets_contract(row, contract_files, monkeypatch)

:func:`make_contract_files` fills a folder with inputs (a regression and a classifier model trained by
``chainrule train``, their CSVs, a model without preprocessing, models whose metadata names other
files); a row's arguments refer to them as ``{houses}``, ``{blobs_csv}``, … (see
:data:`FILES`), and ``{dir}`` is the folder itself.
"""

from __future__ import annotations

import contextlib
import io
import tracemalloc
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from chainrule import io as checkpoints
from chainrule import nn
from chainrule.cli import main

MEMORY_LIMIT = 64 << 20
"""Peak bytes (traced) a rejected command may allocate."""

OUTSIDE = Path("/nonexistent-chainrule-contract")
"""A folder that must never be created, outside the watched folder."""

HOUSES = "size_sqft,bedrooms,price\n" + "".join(
    f"{size},{rooms},{price}\n"
    for size, rooms, price in [
        (2104, 3, 399900), (1600, 3, 329900), (2400, 3, 369000), (1416, 2, 232000), (3000, 4, 539900),
        (1985, 4, 299900), (1534, 3, 314900), (1427, 3, 198999), (1380, 3, 212000), (1494, 3, 242500),
    ]
)  # fmt: skip

FILES = {
    "houses_csv": "houses.csv",
    "houses": "houses.safetensors",  # regression on size_sqft, bedrooms → price, with its history
    "blobs_csv": "blobs.csv",
    "blobs": "blobs.safetensors",  # classifier on two numeric columns a, b → label (yes/no)
    "bare": "bare.safetensors",  # Linear(2, 3) → Tanh → Linear(3, 1), no preprocessing, no history
    "passwd": "passwd.safetensors",  # the blobs classifier whose config names /etc/passwd as its data
    "climb": "climb.safetensors",  # … whose config names ../../etc/passwd
    "huge_csv": "huge.csv",  # the houses columns with a size of 1e300
    "text": "notes.txt",
    "png": "picture.png",
}


@dataclass(frozen=True)
class Case:
    """One bad command line: ``argv`` (with ``{name}`` placeholders for :data:`FILES`) and the
    fragments the error line must contain (the problem and the fix)."""

    name: str
    argv: tuple[str, ...]
    fragments: tuple[str, ...]


def case(name: str, command: str, *fragments: str) -> Case:
    """A :class:`Case` from a command written as one string (split on spaces; ``~`` stands for a space
    inside an argument)."""
    return Case(name, tuple(word.replace("~", " ") for word in command.split()), fragments)


def make_contract_files(folder: Path) -> Path:
    """Write the inputs named in :data:`FILES` into ``folder``; returns it."""
    (folder / "houses.csv").write_text(HOUSES)
    a, b = np.random.default_rng(0).normal(size=(2, 40))
    labels = np.where(a + b > 0, "yes", "no")
    (folder / "blobs.csv").write_text(
        "a,b,label\n" + "".join(f"{x:.3f},{y:.3f},{k}\n" for x, y, k in zip(a, b, labels))
    )
    (folder / "huge.csv").write_text("size_sqft,bedrooms,price\n2104,3,399900\n1e300,3,329900\n")
    (folder / "notes.txt").write_text("not a model\n")
    (folder / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(32))
    (folder / "sub.png").mkdir()
    for data, target, model in [("houses.csv", "price", "houses"), ("blobs.csv", "label", "blobs")]:
        status = main([
            "train", str(folder / data), "--target", target, "--save", str(folder / f"{model}.safetensors"),
            "--hidden", "4", "--epochs", "2", "--quiet",
        ])  # fmt: skip
        assert status == 0
    bare = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    checkpoints.save(folder / "bare.safetensors", bare)
    blobs = checkpoints.load(folder / "blobs.safetensors")
    for name, source in [("passwd", "/etc/passwd"), ("climb", "../../etc/passwd")]:
        config = {**blobs.config, "source": {"csv": source}}
        checkpoints.save(folder / f"{name}.safetensors", blobs.model, preprocessor=blobs.preprocessing, config=config)
    import matplotlib.pyplot  # noqa: F401 - imported once here, so no case's memory counts the import

    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")}


@dataclass
class Outcome:
    """What an in-process run of ``chainrule.cli.main`` did."""

    status: int
    stdout: str
    stderr: str
    warnings: list[str]
    peak_bytes: int


def run(argv: list[str]) -> Outcome:
    """``main(argv)`` in this process with stdout and stderr captured, warnings recorded and the
    peak of traced memory measured."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        tracemalloc.start()
        try:
            status = main(argv)
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    return Outcome(
        status, out.getvalue(), err.getvalue(), [f"{w.category.__name__}: {w.message}" for w in caught], peak
    )


def assert_meets_contract(row: Case, folder: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """Run ``row`` in ``folder`` (the working directory) and check every clause of the contract."""
    monkeypatch.chdir(folder)
    paths = {key: str(folder / name) for key, name in FILES.items()}
    argv = [word.format(dir=folder, **paths) for word in row.argv]
    before = snapshot(folder)
    outcome = run(argv)
    lines = outcome.stderr.splitlines()
    assert outcome.status == 2, (argv, outcome)
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), outcome.stderr
    assert "Traceback" not in outcome.stderr
    for fragment in row.fragments:
        assert fragment.format(dir=folder, **paths) in lines[0], lines[0]
    assert outcome.stdout == "", outcome.stdout
    assert outcome.warnings == [], outcome.warnings
    assert snapshot(folder) == before, "a file was written, changed or created"
    assert not OUTSIDE.exists()
    assert outcome.peak_bytes < MEMORY_LIMIT, f"peak {outcome.peak_bytes / 2**20:.1f} MiB"
    return outcome
