"""Losses as modules, with PyTorch's formulas and ``reduction="mean"|"sum"|"none"``.

Each is declared once in the registry (``@loss(...)``, :mod:`chainrule.nn.registry`): its name on
the command line and in checkpoints, its op, the task ``chainrule train`` offers it for, what its
mean divides by, and its formula and derivative in text and LaTeX for ``chainrule.explain``.
"""

from __future__ import annotations

from typing import Any

from chainrule.nn import functional as F
from chainrule.nn.module import Module
from chainrule.nn.registry import Formula, loss
from chainrule.ops import losses
from chainrule.tensor import Tensor

_SQUARES = Formula("Σ_k ({h}_k − y_k)²", r"\sum_k ({h}_k - y_k)^2")
_SQUARES_DERIVATIVE = Formula("2({h} − {y})", "2({h} - {y})")
_SQUARES_NUMBERS = Formula("2 × ({h_factor} − {y_factor})")
_SQUARE = Formula("({h} − {y})²", "({h} - {y})^2")
_SQUARE_NUMBERS = Formula("({h_value} − {y_factor})²", "({h_value} - {y_factor})^2")


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        F.check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


@loss(
    "mse",
    op=losses.MSELoss,
    task="regression",
    mean_over="elements",
    formula=_SQUARES,
    derivative=_SQUARES_DERIVATIVE,
    numbers=_SQUARES_NUMBERS,
    term=_SQUARE,
    term_numbers=_SQUARE_NUMBERS,
)
class MSELoss(_Loss):
    """Mean squared error:  L = (1/n) Σᵢ (hᵢ − yᵢ)² over all n elements.

    ``reduction="sum"`` gives Σᵢ (hᵢ − yᵢ)², ``"none"`` the element-wise squares.
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.mse_loss(prediction, target, self.reduction)


@loss(
    "cross-entropy",
    op=losses.CrossEntropyLoss,
    task="classification",
    mean_over="samples",
    formula=Formula("−ln softmax({h})_y", r"-\ln \mathrm{softmax}({h})_y"),
    derivative=Formula("softmax({output})_{k} − [{k} = class {c}]"),
)
class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy from logits (N, C) and integer class labels (N,).

    ℓᵢ = −w_{yᵢ} ln softmax(zᵢ)_{yᵢ}; the mean divides by Σᵢ w_{yᵢ}.  ``weight`` (C,) weights the
    classes (for imbalanced data).
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.weight, self.reduction)


@loss(
    "bce",
    op=losses.BCEWithLogitsLoss,
    task=None,
    mean_over="elements",
    formula=Formula(
        "Σ_k −[y_k ln σ({h}_k) + (1 − y_k) ln(1 − σ({h}_k))]",
        r"\sum_k -[y_k \ln\sigma({h}_k) + (1 - y_k)\ln(1 - \sigma({h}_k))]",
    ),
    derivative=Formula("σ({h}) − {y}", r"\sigma({h}) - {y}"),
)
class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy from logits:  ℓ = −[y ln σ(z) + (1 − y) ln(1 − σ(z))], stable for any z."""

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


@loss(
    "l1",
    op=losses.L1Loss,
    task="regression",
    mean_over="elements",
    formula=Formula("Σ_k |{h}_k − y_k|", r"\sum_k |{h}_k - y_k|"),
    derivative=Formula("sign({h} − {y})", r"\operatorname{sign}({h} - {y})"),
)
class L1Loss(_Loss):
    """Mean absolute error:  L = (1/n) Σᵢ |hᵢ − yᵢ| over all n elements;  ∂L/∂hᵢ = sign(hᵢ − yᵢ)/n.

    ``reduction="sum"`` gives Σᵢ |hᵢ − yᵢ|, ``"none"`` the element-wise |hᵢ − yᵢ|.
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.l1_loss(prediction, target, self.reduction)


@loss(
    "huber",
    op=losses.HuberLoss,
    task="regression",
    mean_over="elements",
    formula=Formula(
        "Σ_k H({h}_k − y_k)   [H(r) = ½r² for |r| < {delta}, else {delta}(|r| − {delta}/2)]",
        r"\sum_k H({h}_k - y_k) \quad \left[H(r) = \tfrac{1}{2} r^2"
        r" \text{ for } |r| < {delta}, \text{ else } {delta}(|r| - {delta}/2)\right]",
    ),
    derivative=Formula("clip({h} − {y}, −{delta}, {delta})", r"\operatorname{clip}({h} - {y}, -{delta}, {delta})"),
    arguments=("delta",),
)
class HuberLoss(_Loss):
    """Huber loss: quadratic near zero, linear in the tails.  With d = h − y,

    ℓ = ½ d²  for |d| < δ,   ℓ = δ (|d| − ½ δ)  otherwise;   ∂ℓ/∂h = clip(d, −δ, δ).

    Averaged over all elements by default (``reduction="mean"``), as ``torch.nn.HuberLoss``.
    """

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = delta

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.huber_loss(prediction, target, self.reduction, self.delta)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, delta={self.delta}"


@loss(
    "bce-probabilities",
    op=losses.BCELoss,
    task=None,
    mean_over="elements",
    formula=Formula(
        "Σ_k −[y_k ln {h}_k + (1 − y_k) ln(1 − {h}_k)]", r"\sum_k -[y_k \ln {h}_k + (1 - y_k)\ln(1 - {h}_k)]"
    ),
    derivative=Formula("({h} − {y}) / ({h}(1 − {h}))", r"\frac{{h} - {y}}{{h}(1 - {h})}"),
    numbers=Formula("({h_value} − {y_factor}) / ({h_factor} × (1 − {h_factor}))"),
)
class BCELoss(_Loss):
    """Binary cross-entropy of probabilities h ∈ [0, 1] (after a sigmoid) and targets y ∈ [0, 1]:

    ℓ = −w [y ln h + (1 − y) ln(1 − h)],   ∂ℓ/∂h = w (h − y) / (h (1 − h)).

    As in PyTorch, each logarithm is clamped at −100 (so h = 0 or 1 gives a finite loss) and
    h(1 − h) at 10⁻¹² in the derivative.  ``weight`` rescales each element (broadcast to h).
    Prefer :class:`BCEWithLogitsLoss` on logits: it needs no clamps.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(prediction, target, self.weight, self.reduction)


@loss(
    "nll",
    op=losses.NLLLoss,
    task=None,
    mean_over="samples",
    formula=Formula("−{h}_y", "-{h}_y"),
    derivative=Formula("−[{k} = class {c}]"),
)
class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities x (N, C) and integer class labels y (N,):

    ℓᵢ = −w_{yᵢ} x_{i,yᵢ};  the mean divides by Σᵢ w_{yᵢ} (by N without ``weight``).

    ``NLLLoss()(log_softmax(z), y)`` equals ``CrossEntropyLoss()(z, y)``.
    """

    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight

    def forward(self, log_probs: Tensor, target: Any) -> Tensor:
        return F.nll_loss(log_probs, target, self.weight, self.reduction)


@loss(
    "half-squared",
    op=None,
    task="regression",
    mean_over="samples",
    formula=Formula("½ Σ_k (y_k − {h}_k)²", r"\frac{1}{2} \sum_k (y_k - {h}_k)^2"),
    derivative=Formula("−({y} − {h})", "-({y} - {h})"),
    numbers=Formula("−({y_value} − {h_factor})"),
    term=Formula("({y} − {h})²", "({y} - {h})^2"),
    term_numbers=Formula("({y_value} − {h_factor})²", "({y_value} - {h_factor})^2"),
    term_scale=Formula("½ ", r"\frac{1}{2} "),
)
class HalfSquaredErrorLoss(_Loss):
    """The seeds' loss (000, 001):  L = ½ Σ_k (y_k − h_k)² for one sample.

    Summed over the outputs k of each sample, then averaged over the samples
    (``reduction="mean"``), summed (``"sum"``) or kept per sample (``"none"``).  Its derivative,
    ∂L/∂h_k = −(y_k − h_k) = h_k − y_k, has no factor 2: that is why the ½ is there.
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.half_squared_error(prediction, target, self.reduction)


@loss(
    "sse",
    op=None,
    task="regression",
    mean_over="samples",
    formula=_SQUARES,
    derivative=_SQUARES_DERIVATIVE,
    numbers=_SQUARES_NUMBERS,
    term=_SQUARE,
    term_numbers=_SQUARE_NUMBERS,
)
class SumSquaredErrorLoss(_Loss):
    """Seed 002's cost:  C = Σ_j (a_j − y_j)² for one sample, over the outputs j.

    Averaged over the n samples by default, so its gradient is the mean of the n per-sample
    gradients; ``reduction="sum"`` adds them, ``"none"`` keeps one C per sample.
    """

    def forward(self, prediction: Tensor, target: Any) -> Tensor:
        return F.sum_squared_error(prediction, target, self.reduction)
