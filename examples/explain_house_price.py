"""The chain-rule walk-through from Python: seed 001's house-price network, then a trained model.

1. Seed 001 (``/work/shared/seeds/001_1eeb1411025d16b8.txt``): the 2-2-1 network with a sigmoid
   hidden layer, L = ½(y − h²₁)², one gradient-descent step with η = 0.2.  ``chainrule.explain``
   prints the forward pass, δ for every unit, all 9 gradients as chain-rule products with the
   numbers, the updated parameters and the loss before and after the step (0.6846 → 0.3506):

       ∂L/∂w²₁₁ = ∂L/∂h²₁ · ∂h²₁/∂z²₁ · ∂z²₁/∂w²₁₁ = 1.1701 × 1 × 0.4843 = 0.5666

2. A 2-3-1 tanh network trained on the 47 Portland houses (size in sq ft, bedrooms → price),
   explained on one raw house, 1650 sq ft with 3 bedrooms sold for $300,000:
   ``explain_raw`` applies the preprocessing the model was trained with (standardised inputs and
   price), so the walk-through is in the units the network sees, and maps its output back to dollars.

Each walk-through is printed as terminal text (within 100 columns) and written as Markdown with
LaTeX maths (``house_price.md``, ``portland.md``) and as the derivation's JSON data, every formula in
text, LaTeX and HTML and every number (``house_price.json``, ``portland.json``: what the page
renders), into the folder given on the command line (default: .)::

    python examples/explain_house_price.py [OUT_DIR]

The command-line equivalents are ``chainrule explain --example house-price --format markdown`` and
``chainrule explain MODEL.safetensors --input "1650, 3" --target 300000 --lr 0.1``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import chainrule
from chainrule import nn, optim
from chainrule.data import load_dataset
from chainrule.diagnostics import explain, explain_raw
from chainrule.diagnostics.examples import HOUSE_PRICE_LR, house_price
from chainrule.training import fit


def seed_001() -> chainrule.diagnostics.Explanation:
    """Seed 001's network, one sample, one step with η = 0.2."""
    model, loss_fn, x, y = house_price()
    return explain(model, loss_fn, x, y, lr=HOUSE_PRICE_LR)


def portland() -> chainrule.diagnostics.Explanation:
    """A small network trained on the Portland houses, explained on one raw house."""
    dataset = load_dataset("portland-housing")
    preprocessor, x, y, _, _ = dataset.arrays()
    chainrule.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    fit(model, nn.MSELoss(), optim.Adam(model.parameters(), lr=0.05), x, y, epochs=50, batch_size=8, seed=0, verbose=0)
    return explain_raw(model, preprocessor, nn.MSELoss(), [1650, 3], 300000, lr=0.1)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, explanation in (("house_price", seed_001()), ("portland", portland())):
        print(explanation)
        (out / f"{name}.md").write_text(explanation.to_markdown())
        (out / f"{name}.json").write_text(explanation.to_json(indent=1), encoding="utf-8")
        print(f"Markdown: {out / f'{name}.md'}, JSON: {out / f'{name}.json'}\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
