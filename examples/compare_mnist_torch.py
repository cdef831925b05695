"""MNIST epoch time: chainrule's fit loop beside PyTorch's own loop, same model and settings.

The model is 784-128-64-10 (ReLU), trained with Adam (lr 1e-3) at batch size 32 on the 60,000
training images, as ``chainrule train --dataset mnist --hidden 128,64 --optimizer adam`` does.
Both loops shuffle every epoch and run in this process one after the other, so the figures
are comparable (PyTorch on the CPU, with its default threads).

    python examples/compare_mnist_torch.py --data-dir ../shared/data/mnist [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import chainrule
from chainrule import nn, optim
from chainrule.data import load_dataset
from chainrule.training import Trainer


def chainrule_epochs(x, y, x_test, y_test, epochs: int, batch_size: int) -> tuple[list[float], float]:
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3), seed=0)
    history = trainer.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0)
    return history.seconds, float((trainer.predict(x_test).argmax(1) == y_test).mean())


def torch_epochs(x, y, x_test, y_test, epochs: int, batch_size: int) -> tuple[list[float], float]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    generator = torch.Generator().manual_seed(0)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(xs), generator=generator)
        xe, ye = xs[order], ys[order]
        for i in range(0, len(xs), batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(xe[i : i + batch_size]), ye[i : i + batch_size])
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    with torch.no_grad():
        accuracy = float((model(torch.from_numpy(x_test)).argmax(1).numpy() == y_test).mean())
    return seconds, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    _, x, y, x_test, y_test = load_dataset("mnist", args.data_dir).arrays()
    y_test = np.asarray(y_test)
    print(f"MNIST {x.shape[0]} training images, 784-128-64-10 ReLU, Adam lr 1e-3, batch {args.batch_size}")
    print(f"PyTorch {torch.__version__} threads {torch.get_num_threads()}, NumPy {np.__version__}")
    for name, run in (("chainrule", chainrule_epochs), ("pytorch", torch_epochs)):
        seconds, accuracy = run(x, y, x_test, y_test, args.epochs, args.batch_size)
        times = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{name:<10} epoch seconds: {times}  (best {min(seconds):.2f})  test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
