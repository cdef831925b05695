"""Seed 003: gradient descent on y = (x + 2)², the sigmoid's derivative, and a network without biases.

1. Gradient descent (seed ``003_84858f22480b3ab5.txt``).  y = (x + 2)² is least at x = −2.  From
   x = 0 (y = 4), move x against the slope dy/dx = 2(x + 2) in small steps::

       x ← x − η · dy/dx

   The slope is +4 at x = 0 and −4 at x = −4, as the text says: positive means "decrease x",
   negative "increase x".  Each step multiplies the distance to the minimum by (1 − 2η), so
   x + 2 = 2(1 − 2η)^t after t steps.  The text gives no η ("a small number"); with η = 0.1 it
   takes t = ⌈ln(10⁻⁶/2) / ln 0.8⌉ = 66 steps to reach |x + 2| < 10⁻⁶.  Here x is a plain scalar
   tensor with ``requires_grad=True``; ``backward`` gives dy/dx.

2. The sigmoid's derivative: σ(z) = 1/(1 + e⁻ᶻ), σ′(z) = e⁻ᶻ/(1 + e⁻ᶻ)² = σ(z)(1 − σ(z)).  Its
   largest value is σ′(0) = 0.25; the text's line 50 says it lies "between 0 and 0.5".

3. A sigmoid network without biases (the text's figure 2.2, X → Net(3))::

       Z1 = X W1,  A1 = σ(Z1),  Z2 = A1 W2,  A2 = σ(Z2),  Z3 = A2 W3,  A3 = σ(Z3)

   With L = ½ Σ (A3 − Y)², backpropagation in the "delta" notation the text mentions::

       δ3 = (A3 − Y) ⊙ A3(1 − A3),        ∂L/∂W3 = A2ᵀ δ3
       δ2 = (δ3 W3ᵀ) ⊙ A2(1 − A2),        ∂L/∂W2 = A1ᵀ δ2
       δ1 = (δ2 W2ᵀ) ⊙ A1(1 − A1),        ∂L/∂W1 = Xᵀ δ1

   (chainrule's ``Linear(bias=False).weight`` is Wᵀ, shape (out, in)).  The script compares these
   with autograd.

Run ``python examples/seed_003_gradient_descent.py``.
"""

import itertools
import math

import chainrule
from chainrule import nn

LEARNING_RATE = 0.1
TOLERANCE = 1e-6


def descend(learning_rate: float = LEARNING_RATE, tolerance: float = TOLERANCE) -> tuple[float, int]:
    """Gradient descent on y = (x + 2)² from x = 0; returns the final x and the number of steps."""
    x = chainrule.tensor(0.0, dtype=chainrule.float64, requires_grad=True)
    steps = 0
    while abs(x.item() + 2) >= tolerance:
        y = (x + 2) ** 2
        x.grad = None
        y.backward()
        x.data -= learning_rate * x.grad  # in place on the array: no graph is recorded
        steps += 1
    return x.item(), steps


def slope(x: float) -> float:
    """dy/dx of y = (x + 2)² at ``x``, by autograd."""
    x = chainrule.tensor(x, dtype=chainrule.float64, requires_grad=True)
    ((x + 2) ** 2).backward()
    return x.grad.item()


def network_without_biases(sizes: tuple[int, ...] = (3, 5, 4, 1)) -> nn.Sequential:
    """Linear layers with ``bias=False``, each followed by a sigmoid, in float64."""
    layers: list[nn.Module] = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [nn.Linear(n_in, n_out, bias=False, dtype=chainrule.float64), nn.Sigmoid()]
    return nn.Sequential(*layers)


def _sigmoid(z):
    """σ(z) = 1/(1 + e⁻ᶻ) on an array."""
    return 1 / (1 + chainrule.backend.xp.exp(-z))


def delta_rule(model: nn.Sequential, x, y) -> list:
    """∂L/∂W for each layer (as ``weight``, shape (out, in)) by the δ recursion, with arrays only."""
    activations = [x]
    for linear in model[::2]:
        z = activations[-1] @ linear.weight.data.T
        activations.append(_sigmoid(z))
    delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
    grads = []
    for index in range(len(activations) - 2, -1, -1):
        grads.insert(0, (activations[index].T @ delta).T)
        if index:
            a = activations[index]
            delta = (delta @ model[2 * index].weight.data) * a * (1 - a)
    return grads


def main() -> None:
    """Descend on (x + 2)², check σ′ and the bias-free network's gradients."""
    print(f"y = (x + 2)²: dy/dx = {slope(0.0):+} at x = 0, {slope(-4.0):+} at x = −4")
    x, steps = descend()
    predicted = math.ceil(math.log(TOLERANCE / 2) / math.log(abs(1 - 2 * LEARNING_RATE)))
    print(f"Gradient descent, η = {LEARNING_RATE}: x = {x:.9f} after {steps} steps (2(1 − 2η)^t predicts {predicted})")

    z = chainrule.tensor([-30.0, -5.0, -1.0, 0.0, 1.0, 5.0, 30.0], dtype=chainrule.float64, requires_grad=True)
    s = z.sigmoid()
    s.sum().backward()
    print("\nz          σ(z)        autograd σ′(z)   σ(z)(1 − σ(z))")
    for zi, si, gi in zip(z.data, s.data, z.grad):
        print(f"{zi:+6.1f}  {si:.6e}  {gi:.6e}     {si * (1 - si):.6e}")

    chainrule.manual_seed(3)
    model = network_without_biases()
    x = chainrule.randn(4, 3, dtype=chainrule.float64)
    y = chainrule.rand(4, 1, dtype=chainrule.float64)
    nn.HalfSquaredErrorLoss(reduction="sum")(model(x), y).backward()
    print(f"\nSigmoid network without biases: {[name for name, _ in model.named_parameters()]}")
    for index, by_hand in enumerate(delta_rule(model, x.data, y.data)):
        autograd = model[2 * index].weight.grad
        print(f"  ∂L/∂W{index + 1}: largest |autograd − δ rule| = {abs(autograd - by_hand).max():.1e}")


if __name__ == "__main__":
    main()
