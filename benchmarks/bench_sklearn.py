"""chainrule.sklearn's MLPs beside scikit-learn's own, on the same data, split, scaling and network.

Three datasets: California housing (``../shared/data``; 8 numeric columns with the empty
total_bedrooms imputed by the median, ocean_proximity one-hot; target in $100k, as scikit-learn's
``fetch_california_housing``), digits and breast cancer (scikit-learn's bundled copies). For each
seed: a stratified (classification) 75/25 split with that seed, ``StandardScaler`` fitted on the
training rows, the inputs in float64 or float32 (scikit-learn and chainrule both train in the
inputs' dtype), then both estimators with the same parameters, ``random_state=seed``, and a fixed
number of epochs (``n_iter_no_change`` above ``max_iter``, so neither stops early). The two fits
are timed interleaved (the order alternates from seed to seed), so load from other processes
falls on both. Reported: the mean test score (R² or accuracy) over the seeds with its standard
deviation, the mean fit time of each, and the mean of the per-seed time ratios. BLAS runs one
thread in both (``--threads``): on a shared machine, spinning BLAS workers slow whichever
library runs beside another process.

Run (unset OpenBLAS overrides for this command only, see README)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_sklearn.py [--seeds 5]

Prints a Markdown table and writes ``benchmarks/results/bench_sklearn.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy
import sklearn
import threadpoolctl
from sklearn import neural_network
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import chainrule
from chainrule.sklearn import MLPClassifier, MLPRegressor

RESULTS = Path(__file__).parent / "results"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")

DATASETS = {  # name: (task, hidden layers, epochs)
    "california-housing": ("regression", (100,), 50),
    "digits": ("classification", (100,), 100),
    "breast-cancer": ("classification", (100,), 100),
}


def load(name: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The dataset's features (raw, before scaling) and target."""
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "breast-cancer":
        return load_breast_cancer(return_X_y=True)
    data = chainrule.data.load_dataset("california-housing", SHARED)
    preprocessor = chainrule.data.Preprocessor(target=data.target, impute="median", standardize=False)
    x = preprocessor.fit_transform(data.train).astype(numpy.float64)
    return x, data.train.numeric(data.target) / 1e5


def run(name: str, seed: int, dtype: str, chainrule_first: bool) -> dict[str, float]:
    """Both fits on one seed's split, with inputs of ``dtype`` (each library trains in it): scores and seconds."""
    task, hidden, epochs = DATASETS[name]
    x, y = load(name)
    stratify = y if task == "classification" else None
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=stratify)
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train).astype(dtype), scaler.transform(x_test).astype(dtype)
    if task == "regression":
        y_train = y_train.astype(dtype)
    settings = dict(hidden_layer_sizes=hidden, max_iter=epochs, n_iter_no_change=epochs + 1, random_state=seed)
    classes = {
        "scikit-learn": neural_network.MLPRegressor if task == "regression" else neural_network.MLPClassifier,
        "chainrule": MLPRegressor if task == "regression" else MLPClassifier,
    }
    order = ["chainrule", "scikit-learn"] if chainrule_first else ["scikit-learn", "chainrule"]
    result: dict[str, float] = {}
    for library in order:
        model = classes[library](**settings)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(x_train, y_train)
        result[f"{library} seconds"] = time.perf_counter() - start
        result[f"{library} score"] = float(model.score(x_test, y_test))
        assert model.n_iter_ == epochs
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds per dataset (default 5)")
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated names")
    parser.add_argument("--dtypes", default="float64,float32", help="input dtypes, comma-separated")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads of both libraries (default 1)")
    args = parser.parse_args()
    threadpoolctl.threadpool_limits(args.threads)
    cases = [(name, dtype) for dtype in args.dtypes.split(",") for name in args.datasets.split(",")]
    load_before = os.getloadavg()
    runs: dict[str, list[dict[str, float]]] = {f"{name} {dtype}": [] for name, dtype in cases}
    for seed in range(args.seeds):  # interleaved: every case, both libraries, per seed
        for name, dtype in cases:
            runs[f"{name} {dtype}"].append(run(name, seed, dtype, chainrule_first=seed % 2 == 0))
    rows = []
    for name, dtype in cases:
        task, hidden, epochs = DATASETS[name]
        row = {"dataset": name, "dtype": dtype, "metric": "R²" if task == "regression" else "accuracy"}
        row.update(hidden=hidden, epochs=epochs)
        name = f"{name} {dtype}"
        for library in ("scikit-learn", "chainrule"):
            scores = [r[f"{library} score"] for r in runs[name]]
            row[f"{library} score"] = statistics.mean(scores)
            row[f"{library} score sd"] = statistics.stdev(scores) if len(scores) > 1 else 0.0
            row[f"{library} seconds"] = statistics.mean(r[f"{library} seconds"] for r in runs[name])
        row["time ratio"] = statistics.mean(r["chainrule seconds"] / r["scikit-learn seconds"] for r in runs[name])
        rows.append(row)
    load_after = os.getloadavg()
    print(f"{args.seeds} seeds, {args.threads} BLAS thread(s); load average {load_before[0]:.1f} before, ", end="")
    print(f"{load_after[0]:.1f} after")
    libraries = ("scikit-learn", "chainrule")
    header = ["dataset", "dtype", "metric", "epochs", *(f"{lib} score" for lib in libraries)]
    header += [*(f"{lib} fit" for lib in libraries), "time ratio"]
    print("| " + " | ".join(header) + " |")
    print("| --- | --- | --- |" + " ---: |" * (len(header) - 3))
    for row in rows:
        cells = [row["dataset"], row["dtype"], row["metric"], str(row["epochs"])]
        cells += [f"{row[f'{lib} score']:.4f} ± {row[f'{lib} score sd']:.4f}" for lib in libraries]
        cells += [f"{row[f'{lib} seconds']:.2f} s" for lib in libraries]
        print("| " + " | ".join([*cells, f"{row['time ratio']:.2f}"]) + " |")
    RESULTS.mkdir(exist_ok=True)
    info = {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scikit-learn": sklearn.__version__,
        "blas": threadpoolctl.threadpool_info(),
        "load average": [load_before, load_after],
        "seeds": args.seeds,
        "threads": args.threads,
    }
    (RESULTS / "bench_sklearn.json").write_text(json.dumps({"info": info, "rows": rows, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
