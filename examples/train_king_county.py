"""King County house sales (21,613 rows, all numeric features, log price): R² on a held-out 20%.

    chainrule train --dataset king-county-log --data-dir ../shared/data --hidden 64,32 \
        --epochs 40 --save kc.safetensors
    chainrule evaluate kc.safetensors --dataset king-county-log --data-dir ../shared/data --json

    python examples/train_king_county.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse

import chainrule
from chainrule import nn, optim
from chainrule.data import load_dataset, train_test_split
from chainrule.optim.lr_scheduler import CosineAnnealingLR
from chainrule.training import LearningRateScheduler, Trainer, predict, r2, rmse


def main(data_dir: str, epochs: int = 40) -> float:
    dataset = load_dataset("king-county-log", data_dir)
    train, test = train_test_split(dataset.train, test_size=0.2, seed=0)
    preprocessor = dataset.preprocessor()
    x, y = preprocessor.fit_transform(train), preprocessor.transform_target(train)
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(x.shape[1], 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    schedule = LearningRateScheduler(CosineAnnealingLR(optimizer, T_max=epochs))
    Trainer(model, nn.MSELoss(), optimizer, seed=0).fit(
        x, y, epochs=epochs, batch_size=32, callbacks=[schedule], verbose=0
    )
    log_price = preprocessor.inverse_transform_target(predict(model, preprocessor.transform(test)))
    truth = test.numeric("log_price")
    score = r2(log_price, truth)
    print(f"King County, {len(truth)} held-out sales: R² {score:.4f} on ln(price), RMSE {rmse(log_price, truth):.4f}")
    return score


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="King County log-price regression")
    parser.add_argument("--data-dir", default="../shared/data")
    main(parser.parse_args().data_dir)
