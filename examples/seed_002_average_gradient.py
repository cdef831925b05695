"""Seed 002: the gradient of C = Σ_j (a_j − y_j)² for one weight, one sample, then all n samples.

Notation of seed ``002_553ad90c5ed5de6f.txt``: layer L is the output layer, j indexes its nodes,
k the nodes of layer L−1, and w_jk^(L) is the weight from node k to node j (``weight[j, k]`` in
chainrule)::

    z_j^(L) = Σ_k w_jk^(L) a_k^(L−1) + b_j^(L)
    a_j^(L) = g^(L)(z_j^(L))                       (here g = σ, the sigmoid)
    C_0     = Σ_j (a_j^(L) − y_j)²                 the loss of one sample

For one weight and one sample, three terms of the chain rule::

    ∂C_0/∂w_jk^(L) = ∂C_0/∂a_j^(L) · ∂a_j^(L)/∂z_j^(L) · ∂z_j^(L)/∂w_jk^(L)
                   = 2(a_j^(L) − y_j) · g′(z_j^(L)) · a_k^(L−1)

and over all n samples the gradient is the mean of the per-sample gradients::

    ∂C/∂w_jk^(L) = (1/n) Σ_{i=0}^{n−1} ∂C_i/∂w_jk^(L)

``nn.SumSquaredErrorLoss()`` is C_0 per sample, averaged over the batch, so one ``backward`` on a
batch of n gives exactly that mean.  Run ``python examples/seed_002_average_gradient.py``: it
compares the batch gradient with the mean of n single-sample gradients, and one weight's gradient
with the formula above.
"""

import chainrule
from chainrule import nn

N_SAMPLES = 6
J, K = 1, 2  # the weight w_jk^(L) written out by hand (0-based: output node 1, hidden node 2)


def build_model() -> nn.Sequential:
    """A 4-5-3 network in float64: tanh hidden layer, sigmoid output layer (g^(L) = σ)."""
    return nn.Sequential(
        nn.Linear(4, 5, dtype=chainrule.float64),
        nn.Tanh(),
        nn.Linear(5, 3, dtype=chainrule.float64),
        nn.Sigmoid(),
    )


def gradients(model: nn.Sequential, x: chainrule.Tensor, y: chainrule.Tensor) -> dict:
    """∂C/∂θ for every parameter θ, with C the mean over the rows of x of Σ_j (a_j − y_j)²."""
    model.zero_grad()
    nn.SumSquaredErrorLoss()(model(x), y).backward()
    return {name: parameter.grad.copy() for name, parameter in model.named_parameters()}


def main() -> None:
    """Compare the batch gradient, the mean of per-sample gradients and the formula."""
    chainrule.manual_seed(2)
    model = build_model()
    x = chainrule.randn(N_SAMPLES, 4, dtype=chainrule.float64)
    y = chainrule.rand(N_SAMPLES, 3, dtype=chainrule.float64)

    batch = gradients(model, x, y)
    per_sample = [gradients(model, x[i : i + 1], y[i : i + 1]) for i in range(N_SAMPLES)]
    print(f"Gradient of C over n = {N_SAMPLES} samples vs the mean of the {N_SAMPLES} per-sample gradients:")
    for name, grad in batch.items():
        mean = sum(sample[name] for sample in per_sample) / N_SAMPLES
        print(f"  {name:9s} largest difference {abs(grad - mean).max():.2e}")

    with chainrule.no_grad():
        a_hidden = model[1](model[0](x)).data  # a_k^(L−1), one row per sample
        a_out = model(x).data  # a_j^(L)
    terms = 2 * (a_out[:, J] - y.data[:, J]) * a_out[:, J] * (1 - a_out[:, J]) * a_hidden[:, K]
    print(f"\nOne weight, w_{J}{K}^(L) (2.weight[{J}, {K}]):")
    for i, term in enumerate(terms):
        print(f"  sample {i}: 2(a_j − y_j)·σ′(z_j)·a_k = {term:+.10f}")
    print(f"  mean over the samples (1/n)Σ_i ∂C_i/∂w   = {terms.mean():+.10f}")
    print(f"  autograd on the batch, ∂C/∂w              = {batch['2.weight'][J, K]:+.10f}")


if __name__ == "__main__":
    main()
