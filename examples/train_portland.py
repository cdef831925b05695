"""Portland house prices (the seed's house-price example on 47 real houses): an MLP's held-out
RMSE beside closed-form linear regression's, on the same 80/20 split (seed 0).

Linear regression is the least-squares θ = argmin ‖Xθ − y‖² with X = [1, size, bedrooms], solved
in closed form (``lstsq``).  The MLP is what this command trains:

    chainrule train --dataset portland-housing --hidden 8 --activation relu --lr 0.01 \
        --epochs 300 --batch-size 8 --save portland.safetensors
    chainrule evaluate portland.safetensors --dataset portland-housing

    python examples/train_portland.py
"""

from __future__ import annotations

import numpy as np

import chainrule
from chainrule import nn, optim
from chainrule.data import load_dataset, train_test_split
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.training import LearningRateScheduler, Trainer, predict, rmse


def linear_regression_rmse(train, test) -> float:
    """RMSE on ``test`` of least squares fitted on ``train`` (intercept, size, bedrooms)."""

    def design(table):
        return np.column_stack([np.ones(len(table)), table.numeric("size_sqft"), table.numeric("bedrooms")])

    theta, *_ = np.linalg.lstsq(design(train), train.numeric("price"), rcond=None)
    return rmse(design(test) @ theta, test.numeric("price"))


def mlp_rmse(train, test, epochs: int = 300) -> float:
    """RMSE on ``test`` (in dollars) of the MLP trained as the command above trains it."""
    dataset = load_dataset("portland-housing")
    preprocessor = dataset.preprocessor()
    x, y = preprocessor.fit_transform(train), preprocessor.transform_target(train)
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    schedule = LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=epochs))
    Trainer(model, nn.MSELoss(), optimizer, seed=0).fit(
        x, y, epochs=epochs, batch_size=8, callbacks=[schedule], verbose=0
    )
    prices = preprocessor.inverse_transform_target(predict(model, preprocessor.transform(test)))
    return rmse(prices, test.numeric("price"))


def main() -> tuple[float, float]:
    table = load_dataset("portland-housing").train
    train, test = train_test_split(table, test_size=0.2, seed=0)
    linear, mlp = linear_regression_rmse(train, test), mlp_rmse(train, test)
    print(f"Portland, {len(test)} held-out houses: RMSE linear regression ${linear:,.0f}, MLP ${mlp:,.0f}")
    return linear, mlp


if __name__ == "__main__":
    main()
