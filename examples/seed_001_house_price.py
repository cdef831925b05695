"""Seed 001: one step of backpropagation on the 2-2-1 house-price network, every number shown.

The network (seed ``001_1eeb1411025d16b8.txt``) predicts a house price from two inputs, x1 (size)
and x2 (rooms), both already scaled: x = (−0.32, −0.66), target y = −0.54.

Forward pass, in the seed's notation (w^l_kj is the weight from input j to unit k of layer l;
in chainrule it is ``model[2l−2].weight[k−1, j−1]``)::

    z^1_k = b^1_k + w^1_k1 x1 + w^1_k2 x2          k = 1, 2
    h^1_k = σ(z^1_k) = 1 / (1 + e^(−z^1_k))          sigmoid hidden layer
    z^2_1 = b^2_1 + w^2_11 h^1_1 + w^2_12 h^1_2
    h^2_1 = z^2_1                                    linear output
    L     = ½ (y − h^2_1)²

Backward pass by the chain rule::

    ∂L/∂h^2_1  = −(y − h^2_1)
    ∂L/∂w^2_1j = ∂L/∂h^2_1 · 1 · h^1_j               ∂L/∂b^2_1 = ∂L/∂h^2_1 · 1
    ∂L/∂w^1_kj = ∂L/∂h^2_1 · w^2_1k · h^1_k (1 − h^1_k) · x_j
    ∂L/∂b^1_k  = ∂L/∂h^2_1 · w^2_1k · h^1_k (1 − h^1_k)

Update, with learning rate η = 0.2:  w ← w − η ∂L/∂w for all 9 parameters (``optim.SGD``).

Run ``python examples/seed_001_house_price.py``.  It prints the forward pass, the 9 gradients
(autograd's, beside the figures printed in the seed), the updated parameters and the loss before
and after the step (0.68456 → 0.35064), and lists the places where the seed's text is wrong.
"""

import chainrule
from chainrule import nn, optim

X = [[-0.32, -0.66]]  # one sample: (size, rooms)
Y = [[-0.54]]  # its price
LEARNING_RATE = 0.2

# (seed's name, chainrule parameter, index, figure printed in the seed's text)
GRADIENTS = [
    ("w^1_11", "0.weight", (0, 0), -0.028),
    ("w^1_12", "0.weight", (0, 1), -0.058),
    ("w^1_21", "0.weight", (1, 0), -0.018),
    ("w^1_22", "0.weight", (1, 1), -0.038),
    ("b^1_1", "0.bias", (0,), 0.088),
    ("b^1_2", "0.bias", (1,), -0.057),
    ("w^2_11", "2.weight", (0, 0), 0.5663),
    ("w^2_12", "2.weight", (0, 1), 0.4961),
    ("b^2_1", "2.bias", (0,), 1.17),
]
# the seed's updated values, same order
UPDATED_IN_SEED = [0.2056, 0.1616, 0.5036, 0.6076, 0.0824, 0.2386, 0.1867, 0.1008, 0.166]

# Where the text of 001_1eeb1411025d16b8.txt is wrong: (line of the file, what it says, the fix).
SLIPS = [
    (
        212,
        "∂L∂b12=∂L∂h21∂h21∂h11[∂h11∂z11∂z12∂b12]=1.17∗0.20∗0.424∗(1−0.424)∗1=−0.057",
        "a product of positive factors: ∂L/∂b^1_2 = +0.057 (exactly +0.05716)",
    ),
    (
        220,
        "b12(updated)=b12−η∂L∂b12=0.25−0.2∗(−0.57)=0.2386",
        "the gradient is +0.057, not −0.57; 0.25 − 0.2·0.057 = 0.2386 is the right result",
    ),
    (
        148,
        "∂z11∂w112=∂∂w112(b11+w111x1+w112x2)=x1=0.66",
        "∂z^1_1/∂w^1_12 = x2 = −0.66 (line 152 then uses −0.66)",
    ),
    (
        210,
        "∂L∂w122=∂L∂h21∂h21∂h11[∂h11∂z11∂z12∂w122]=1.17∗0.20∗0.424∗(1−0.424)∗(−0.32)=−0.038",
        "the last factor is x2 = −0.66, not x1 = −0.32 (−0.038 is the value with −0.66)",
    ),
    (
        208,
        "∂L∂w121=∂L∂h21∂h21∂h11[∂h11∂z11∂z12∂w121]",
        "the second hidden unit's chain is ∂h^2_1/∂h^1_2 · ∂h^1_2/∂z^1_2, also on lines 210 and 212 "
        "(the numbers use h^1_2 = 0.424)",
    ),
    (71, "∂z21∂h21=(h11)=0.484", "it is ∂z^2_1/∂w^2_11 = h^1_1; line 69 also has a stray ½ in front"),
    (84, "∂z21∂w212=(h21)=0.424", "∂z^2_1/∂w^2_12 = h^1_2, not h^2_1"),
    (86, "∂L∂w112=1.17∗1∗0.424=0.4961", "this is ∂L/∂w^2_12, not ∂L/∂w^1_12"),
    (97, "∂z12∂b21=∂∂b21(b21+w211h11+w212h12)", "∂z^2_1/∂b^2_1 (also line 99)"),
    (134, "∂z11∂w111=∂∂w111(b21+w111x1+w112x2)=x1=−0.32", "the bias in z^1_1 is b^1_1, not b^2_1"),
    (144, "∂L∂w212=∂L∂h21∂h21∂h11∂h11∂w112", "the left side is ∂L/∂w^1_12"),
    (160, "∂L∂b11=∂L∂h21∂h21∂h11[∂h11∂z11∂z11∂b112]", "b112 is b^1_1 (also line 158); line 164 writes ∂s11 for ∂z11"),
    (198, "∂z12∂w121=∂∂w121(b21+w121x1+w122x2)=x1=−0.32", "the bias in z^1_2 is b^1_2, not b^2_1"),
    (216, "w111(updated)=w121−η∂L∂w121=0.5−0.2∗(−0.018)=0.5036", "the left side is w^1_21(updated)"),
    (
        228,
        "w1(updated)=[w111(updated)w111(updated)w121(updated)w122(updated)]",
        "the second entry is w^1_12(updated); on the same line w2(updated)=[w222(updated)… means w^2_11",
    ),
    (
        73,
        "∂L∂w211=1.17∗1∗0.484=0.5663",
        "4-decimal figures are computed from rounded factors: exactly 0.56662; likewise the updated "
        "b^1_1 = 0.08247, w^1_21 = 0.50366, w^1_22 = 0.60754 (seed: 0.0824, 0.5036, 0.6076)",
    ),
]


def build_model() -> nn.Sequential:
    """The seed's 2-2-1 network in float64, with the seed's initial weights."""
    model = nn.Sequential(
        nn.Linear(2, 2, dtype=chainrule.float64),
        nn.Sigmoid(),
        nn.Linear(2, 1, dtype=chainrule.float64),
        nn.Identity(),
    )
    model[0].weight.data[:] = [[0.2, 0.15], [0.5, 0.6]]  # W1 = [[w^1_11, w^1_12], [w^1_21, w^1_22]]
    model[0].bias.data[:] = [0.1, 0.25]  # b1 = (b^1_1, b^1_2)
    model[2].weight.data[:] = [[0.3, 0.2]]  # W2 = [w^2_11, w^2_12]
    model[2].bias.data[:] = [0.4]  # b2 = b^2_1
    return model


def main() -> None:
    """Run the forward pass, backpropagation and one gradient-descent step, printing each number."""
    model = build_model()
    loss_fn = nn.HalfSquaredErrorLoss()
    optimizer = optim.SGD(model.parameters(), lr=LEARNING_RATE)
    x = chainrule.tensor(X, dtype=chainrule.float64)
    y = chainrule.tensor(Y, dtype=chainrule.float64)

    z1 = model[0](x)
    h1 = model[1](z1)
    h2 = model[3](model[2](h1))
    loss = loss_fn(h2, y)
    print("Forward pass")
    print(f"  z1 = ({z1.data[0, 0]:.5f}, {z1.data[0, 1]:.5f})")
    print(f"  h1 = σ(z1) = ({h1.data[0, 0]:.5f}, {h1.data[0, 1]:.5f})")
    print(f"  h2 = z2 = {h2.item():.5f}   (target y = {Y[0][0]})")
    print(f"  L = ½(y − h2)² = {loss.item():.5f}")

    optimizer.zero_grad()
    loss.backward()
    parameters = dict(model.named_parameters())
    print("\nGradients by backpropagation (autograd)   the seed's text")
    for seed_name, name, index, seed_figure in GRADIENTS:
        value = parameters[name].grad[index]
        mark = "   <- wrong sign in the text" if value * seed_figure < 0 else ""
        print(f"  ∂L/∂{seed_name:7s} = {value:+.5f}   ({name}{list(index)})   {seed_figure:+}{mark}")

    optimizer.step()
    print(f"\nAfter one step w ← w − {LEARNING_RATE}·∂L/∂w              the seed's text")
    for (seed_name, name, index, _), seed_figure in zip(GRADIENTS, UPDATED_IN_SEED):
        print(f"  {seed_name:7s} = {parameters[name].data[index]:.5f}                        {seed_figure}")

    with chainrule.no_grad():
        new_loss = loss_fn(model(x), y)
    print(f"\nLoss: {loss.item():.5f} before the step, {new_loss.item():.5f} after")

    print("\nWhere the seed's text (001_1eeb1411025d16b8.txt) is wrong:")
    for line, says, fix in sorted(SLIPS):
        print(f"  line {line}: {says}\n      -> {fix}")


if __name__ == "__main__":
    main()
