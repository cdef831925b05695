"""Seed 003's experiment: data made by a random "teacher" network, learnt by a different "student".

Seed ``003_84858f22480b3ab5.txt``: "I created a custom dataset using a neural network with random
weights and used an entirely different neural network with a different number of layers and
neurons per layer to learn weights in such a way that the relationship between the dependent and
independent variable is accurately mimicked."

* Teacher: 3-5-1, sigmoid after every layer, no biases, weights ~ N(0, 1)
  (:func:`chainrule.data.synthetic.make_teacher_student`); inputs x ~ N(0, 1), targets y = teacher(x).
* Student: 3-8-4-1 (two hidden layers, not one), sigmoid after every layer, with biases, PyTorch's
  default initialisation.
* Training: mean squared error (1/n) Σᵢ (ŷᵢ − yᵢ)², mini-batches of 32, SGD with momentum
  (v ← μv + g, w ← w − ηv; η = 0.5, μ = 0.9), 100 passes over 2,000 training samples.
* Result: the test MSE on 1,000 held-out samples as a fraction of the targets' variance (the MSE
  of always predicting the mean).  A least-squares straight line is shown for comparison: the
  teacher is non-linear, so the line cannot get under 1 %; the student does.

Run ``python examples/seed_003_teacher_student.py``.
"""

import itertools

import chainrule
from chainrule import backend, nn, optim
from chainrule.data.synthetic import make_teacher_student

N_TRAIN, N_TEST = 2000, 1000
EPOCHS, BATCH_SIZE = 100, 32
LEARNING_RATE, MOMENTUM = 0.5, 0.9
SEED = 0


def build_student(sizes: tuple[int, ...] = (3, 8, 4, 1)) -> nn.Sequential:
    """Linear layers of the given widths, each followed by a sigmoid, in float64."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out, dtype=chainrule.float64), nn.Sigmoid()]
    return nn.Sequential(*layers)


def train(model: nn.Sequential, x, y, epochs: int = EPOCHS, report_every: int = 0) -> None:
    """Mini-batch SGD with momentum on the mean squared error, in place."""
    loss_fn = nn.MSELoss()
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)
    rng = backend.generator(SEED)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            optimizer.zero_grad()
            loss = loss_fn(model(chainrule.tensor(x[rows])), chainrule.tensor(y[rows]))
            loss.backward()
            optimizer.step()
        if report_every and epoch % report_every == 0:
            print(f"  epoch {epoch:3d}: last batch MSE {loss.item():.2e}")


def main() -> None:
    """Make the data, train the student and compare its test error with the targets' variance."""
    x, y = make_teacher_student(N_TRAIN + N_TEST, teacher_sizes=(3, 5, 1), activation="sigmoid", seed=SEED)
    x_train, y_train, x_test, y_test = x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]
    variance = y_test.var()
    print(f"Teacher 3-5-1 (sigmoid, no biases): {N_TRAIN} training and {N_TEST} test samples")
    print(f"  targets in [{y.min():.3f}, {y.max():.3f}], test variance {variance:.3e}")

    design = backend.xp.concatenate([x_train, backend.xp.ones((N_TRAIN, 1))], axis=1)
    coefficients = backend.xp.linalg.lstsq(design, y_train, rcond=None)[0]
    line = x_test @ coefficients[:-1] + coefficients[-1]
    print(f"  least-squares line: test MSE = {((line - y_test) ** 2).mean() / variance:.2%} of the variance")

    chainrule.manual_seed(SEED)
    student = build_student()
    print(f"\nStudent 3-8-4-1, SGD η = {LEARNING_RATE}, momentum {MOMENTUM}, batch {BATCH_SIZE}:")
    train(student, x_train, y_train, report_every=20)
    with chainrule.no_grad():
        test_mse = ((student(chainrule.tensor(x_test)).data - y_test) ** 2).mean()
    print(f"\nStudent: test MSE = {test_mse:.3e} = {test_mse / variance:.2%} of the targets' variance")


if __name__ == "__main__":
    main()
