"""MNIST 784-128-64-10 MLP (ReLU, Adam lr 1e-3 with cosine annealing, batch 32, 15 epochs): the
Python twin of

    chainrule train --dataset mnist --data-dir ../shared/data/mnist --hidden 128,64 \
        --activation relu --optimizer adam --epochs 15 --save mnist.safetensors
    chainrule evaluate mnist.safetensors --dataset mnist --data-dir ../shared/data/mnist

    python examples/train_mnist.py --data-dir ../shared/data/mnist
"""

from __future__ import annotations

import argparse

import chainrule
from chainrule import nn, optim
from chainrule.data import load_dataset
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.training import LearningRateScheduler, Trainer


def main(data_dir: str, epochs: int = 15) -> float:
    _, x, y, x_test, y_test = load_dataset("mnist", data_dir).arrays()
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, metrics=["accuracy"], seed=0)
    schedule = LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=epochs))
    history = trainer.fit(x, y, epochs=epochs, batch_size=32, callbacks=[schedule])
    accuracy = trainer.evaluate(x_test, y_test)["accuracy"]
    print(f"MNIST test accuracy {accuracy:.4f}; mean epoch {sum(history.seconds) / len(history.seconds):.1f} s")
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="MNIST MLP")
    parser.add_argument("--data-dir", default="../shared/data/mnist")
    main(parser.parse_args().data_dir)
