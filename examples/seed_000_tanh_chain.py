"""Seed 000: the chain rule on a 1-1-1 tanh chain, checked against autograd.

The network of seed ``000_2a95d0a6f126f1a5.txt`` has one unit per layer.  With h0 = x::

    z_i = w_i h_{i−1} + b_i,    h_i = tanh(z_i)     (i = 1, 2)
    L   = ½ (y − h2)²

so L is a function of w1, b1, w2 and b2.  The chain rule, one local derivative per arrow::

    ∂L/∂w2 = ∂L/∂h2 · ∂h2/∂z2 · ∂z2/∂w2 = [−(y − h2)] [1 − h2²] [h1]
    ∂L/∂b2 = [−(y − h2)] [1 − h2²] · 1
    ∂L/∂w1 = [−(y − h2)] [1 − h2²] · w2 · [1 − h1²] · x
    ∂L/∂b1 = [−(y − h2)] [1 − h2²] · w2 · [1 − h1²] · 1

using ∂/∂h2 ½(y − h2)² = −(y − h2) and tanh′(z) = 1 − tanh²(z) = 1 − h².  Each parameter is then
updated by w ← w − η ∂L/∂w.  (The text writes ``h2=tanz(z2)`` for h2 = tanh(z2).)

Run ``python examples/seed_000_tanh_chain.py``: it builds the chain with ``chainrule.nn`` in
float64, backpropagates, and prints autograd's four gradients beside the formulas above.
"""

import chainrule
from chainrule import nn, optim

X, Y = 0.8, 0.5  # one input and its target (the text gives no numbers; any will do)
W1, B1, W2, B2 = 0.5, 0.1, -0.3, 0.2
LEARNING_RATE = 0.1


def build_chain(w1: float, b1: float, w2: float, b2: float) -> nn.Sequential:
    """x → z1 = w1·x + b1 → h1 = tanh(z1) → z2 = w2·h1 + b2 → h2 = tanh(z2), in float64."""
    chain = nn.Sequential(
        nn.Linear(1, 1, dtype=chainrule.float64),
        nn.Tanh(),
        nn.Linear(1, 1, dtype=chainrule.float64),
        nn.Tanh(),
    )
    chain.load_state_dict({"0.weight": [[w1]], "0.bias": [b1], "2.weight": [[w2]], "2.bias": [b2]})
    return chain


def main() -> None:
    """Backpropagate through the chain and compare with the chain rule written out."""
    chain = build_chain(W1, B1, W2, B2)
    x = chainrule.tensor([[X]], dtype=chainrule.float64)
    y = chainrule.tensor([[Y]], dtype=chainrule.float64)
    loss_fn = nn.HalfSquaredErrorLoss()

    h1 = chain[1](chain[0](x))
    h2 = chain[3](chain[2](h1))
    loss = loss_fn(h2, y)
    loss.backward()
    h1, h2 = h1.item(), h2.item()
    print(f"Forward: h1 = tanh(w1·x + b1) = {h1:.6f},  h2 = tanh(w2·h1 + b2) = {h2:.6f}")
    print(f"         L = ½(y − h2)² = {loss.item():.6f}")

    upstream = -(Y - h2) * (1 - h2**2)  # ∂L/∂z2
    formulas = {
        "w2": ("−(y − h2)(1 − h2²)·h1", upstream * h1, chain[2].weight),
        "b2": ("−(y − h2)(1 − h2²)", upstream, chain[2].bias),
        "w1": ("−(y − h2)(1 − h2²)·w2·(1 − h1²)·x", upstream * W2 * (1 - h1**2) * X, chain[0].weight),
        "b1": ("−(y − h2)(1 − h2²)·w2·(1 − h1²)", upstream * W2 * (1 - h1**2), chain[0].bias),
    }
    print("\n          autograd      chain rule by hand")
    for name, (formula, by_hand, parameter) in formulas.items():
        print(f"∂L/∂{name} = {parameter.grad.item():+.10f}  {by_hand:+.10f}  = {formula}")

    optim.SGD(chain.parameters(), lr=LEARNING_RATE).step()
    with chainrule.no_grad():
        new_loss = loss_fn(chain(x), y).item()
    print(f"\nAfter w ← w − {LEARNING_RATE}·∂L/∂w: w2 = {chain[2].weight.item():.6f}, L = {new_loss:.6f}")


if __name__ == "__main__":
    main()
