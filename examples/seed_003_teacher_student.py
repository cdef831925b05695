"""Seed 003's experiment: data made by a random "teacher" network, learnt by a different "student".

Seed ``003_84858f22480b3ab5.txt``: "I created a custom dataset using a neural network with random
weights and used an entirely different neural network with a different number of layers and
neurons per layer to learn weights in such a way that the relationship between the dependent and
independent variable is accurately mimicked."

* Teacher: 3-5-1, sigmoid after every layer, no biases, weights ~ N(0, 1)
  (:func:`chainrule.data.synthetic.make_teacher_student`); inputs x ~ N(0, 1), targets y = teacher(x).
* Student: 3-8-4-1 (two hidden layers, not one), sigmoid after every layer, with biases, PyTorch's
  default initialisation.
* Training: mean squared error (1/n) Σᵢ (ŷᵢ − yᵢ)², mini-batches of 32, Adam (η = 0.01), 100
  passes over 2,000 training samples with :func:`chainrule.training.fit`.
* Result: the test MSE on 1,000 held-out samples as a fraction of the targets' variance (the MSE
  of always predicting the mean).  A least-squares straight line is shown for comparison: the
  teacher is non-linear, so the line cannot get under 1 %; the student does.

Run ``python examples/seed_003_teacher_student.py``.
"""

import itertools

import chainrule
from chainrule import backend, nn, optim
from chainrule.data.synthetic import make_teacher_student
from chainrule.training import fit

N_TRAIN, N_TEST = 2000, 1000
EPOCHS, BATCH_SIZE, LEARNING_RATE = 100, 32, 0.01
SEED = 0


def build_student(sizes: tuple[int, ...] = (3, 8, 4, 1)) -> nn.Sequential:
    """Linear layers of the given widths, each followed by a sigmoid, in float64."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out, dtype=chainrule.float64), nn.Sigmoid()]
    return nn.Sequential(*layers)


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
    optimizer = optim.Adam(student.parameters(), lr=LEARNING_RATE)
    print(f"\nStudent 3-8-4-1, Adam η = {LEARNING_RATE}, batch {BATCH_SIZE}:")
    history = fit(
        student,
        nn.MSELoss(),
        optimizer,
        x_train,
        y_train,
        epochs=EPOCHS,
        batch_size=BATCH_SIZE,
        validation_data=(x_test, y_test),
        seed=SEED,
        verbose=0,
    )
    for epoch in range(19, EPOCHS, 20):
        print(f"  epoch {epoch + 1:3d}: test MSE {history.history['val_loss'][epoch] / variance:.3%} of the variance")
    with chainrule.no_grad():
        test_mse = ((student(chainrule.tensor(x_test)).data - y_test) ** 2).mean()
    print(f"\nStudent: test MSE = {test_mse:.3e} = {test_mse / variance:.3%} of the targets' variance")


if __name__ == "__main__":
    main()
