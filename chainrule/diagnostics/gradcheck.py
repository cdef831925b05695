r"""``chainrule.gradcheck``: compare autograd with central finite differences, in float64.

For a parameter entry θ and a scalar function L,

    ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / (2ε),   error O(ε²),

and an entry passes when |autograd − numeric| ≤ atol + rtol·|numeric| (PyTorch's rule).  For a
function with a tensor output, the scalar checked is s = Σ u ⊙ f(inputs) with a fixed random u,
so autograd's vector–Jacobian product uᵀJ is compared with the finite differences of s.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainrule import backend, nn
from chainrule.autograd import no_grad
from chainrule.diagnostics.notation import format_number
from chainrule.diagnostics.trace import as_batch, working_copy
from chainrule.tensor import Tensor


@dataclass
class TensorCheck:
    """The check of one tensor: how many entries, the largest absolute and relative errors, pass/fail."""

    name: str
    shape: tuple[int, ...]
    checked: int
    max_abs_error: float
    max_rel_error: float
    passed: bool


@dataclass
class GradcheckReport:
    """Per-tensor results; truthy when every tensor passed."""

    checks: list[TensorCheck]
    eps: float
    atol: float
    rtol: float
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every checked entry of every tensor passed."""
        return all(check.passed for check in self.checks)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        header = ("tensor", "shape", "entries", "max |Δ|", "max rel. error", "")
        rows = [
            (
                c.name,
                "×".join(map(str, c.shape)) or "scalar",
                str(c.checked),
                format_number(c.max_abs_error, 3),
                format_number(c.max_rel_error, 3),
                "ok" if c.passed else "FAIL",
            )
            for c in self.checks
        ]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in [header, *rows]]
        verdict = "passed" if self.passed else "FAILED"
        lines.append(
            f"gradcheck {verdict}: central differences, ε = {self.eps:g}, |Δ| ≤ {self.atol:g} + {self.rtol:g}·|numeric|"
        )
        return "\n".join(lines + self.failures)


def _check_options(eps: Any, atol: Any, rtol: Any, max_entries: Any) -> None:
    """A ValueError naming the first option out of its range."""
    if not (isinstance(eps, numbers.Real) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"gradcheck: eps must be a positive finite number such as 1e-6; got {eps!r}")
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not (isinstance(value, numbers.Real) and math.isfinite(value) and value >= 0):
            raise ValueError(f"gradcheck: {name} must be a finite number ≥ 0 such as 1e-5; got {value!r}")
    if max_entries is not None and not (isinstance(max_entries, numbers.Integral) and max_entries >= 1):
        raise ValueError(f"gradcheck: max_entries must be a whole number ≥ 1, or None for all; got {max_entries!r}")


def _check_finite(values: Any, what: str) -> None:
    """A ValueError when ``values`` hold inf or NaN: no derivative can be checked there."""
    if not backend.xp.isfinite(values).all():
        raise ValueError(
            f"gradcheck: {what} is not finite at this point ({values.reshape(-1)[:3].tolist()}), so there is no "
            "derivative to check; give inputs nearer the data's scale"
        )


def _entries(size: int, limit: int | None, rng: Any) -> Any:
    """Flat indices to check: all, or a random sample of ``limit`` without repeats."""
    if limit is None or size <= limit:
        return range(size)
    return sorted(rng.choice(size, size=limit, replace=False).tolist())


def _check_tensor(
    name: str,
    data: Any,
    analytic: Any,
    objective: Callable[[], float],
    eps: float,
    atol: float,
    rtol: float,
    limit: int | None,
    rng: Any,
) -> tuple[TensorCheck, list[str]]:
    flat, grad = data.reshape(-1), analytic.reshape(-1)
    worst_abs = worst_rel = 0.0
    passed, failures, entries = True, [], _entries(flat.size, limit, rng)
    for i in entries:
        original = flat[i]
        flat[i] = original + eps
        plus = objective()
        flat[i] = original - eps
        minus = objective()
        flat[i] = original
        numeric = (plus - minus) / (2 * eps)
        error = abs(float(grad[i]) - numeric)
        scale = max(abs(float(grad[i])), abs(numeric))
        worst_abs = max(worst_abs, error)
        if scale > atol:
            worst_rel = max(worst_rel, error / scale)
        if not error <= atol + rtol * abs(numeric):
            passed = False
            if len(failures) < 5:
                index = tuple(int(v) for v in backend.xp.unravel_index(i, data.shape))
                failures.append(f"  {name}{list(index)}: autograd {float(grad[i]):.10g}, numeric {numeric:.10g}")
    return TensorCheck(name, tuple(data.shape), len(entries), worst_abs, worst_rel, passed), failures


def gradcheck(
    model_or_function: Any,
    loss_fn_or_inputs: Any,
    x: Any = None,
    y: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    max_entries: int | None = 64,
    seed: int = 0,
) -> GradcheckReport:
    """Check autograd's gradients against central finite differences in float64.

    Two forms:

    * ``gradcheck(model, loss_fn, x, y)``: every parameter of a float64 copy of ``model``
      (the model itself is untouched), for L = loss_fn(model(x), y).  Use ``model.eval()``
      first if it has Dropout.
    * ``gradcheck(function, inputs)``: every floating input tensor of ``function(*inputs)``
      (``inputs`` a tensor or a sequence of them), like ``torch.autograd.gradcheck``.

    Parameters
    ----------
    eps : float
        The step ε.
    atol, rtol : float
        An entry passes when |autograd − numeric| ≤ atol + rtol·|numeric|.
    max_entries : int or None
        Entries checked per tensor; larger tensors get a random sample of this many (``seed``).
        ``None`` checks every entry.

    Returns
    -------
    GradcheckReport
        Per tensor: entries checked, largest absolute and relative error, pass/fail; ``bool(report)``
        is True when all passed, ``str(report)`` is a table.

    Raises
    ------
    ValueError
        ``eps`` not a positive finite number, ``atol`` or ``rtol`` negative or not finite,
        ``max_entries`` below 1; or a loss (an output) that is not finite at the given point,
        where finite differences mean nothing.
    """
    _check_options(eps, atol, rtol, max_entries)
    rng = backend.generator(seed)
    if isinstance(model_or_function, nn.Module):
        if x is None or y is None:
            raise TypeError("gradcheck(model, loss_fn, x, y): give the inputs x and the targets y")
        model = working_copy(model_or_function, backend.float64)
        loss_fn = loss_fn_or_inputs
        xs, ys = as_batch(model, loss_fn, x, y)

        def objective() -> float:
            with no_grad():
                return float(loss_fn(model(xs), ys).item())

        with backend.xp.errstate(over="ignore", invalid="ignore"):  # a non-finite loss is refused just below
            loss = loss_fn(model(xs), ys)
        _check_finite(loss.data, "the loss")
        loss.backward()
        named = [(name, p.data, p.grad) for name, p in model.named_parameters() if p.requires_grad]
    elif callable(model_or_function):
        function = model_or_function
        given = loss_fn_or_inputs
        given = [given] if isinstance(given, Tensor) or not isinstance(given, Sequence) else list(given)
        inputs = [Tensor(t.data if isinstance(t, Tensor) else t) for t in given]
        for t in inputs:
            if backend.is_floating(t.dtype):
                t.data = t.data.astype(backend.float64)
                t.requires_grad_(True)
        with backend.xp.errstate(over="ignore", invalid="ignore"):  # a non-finite output is refused just below
            output = function(*inputs)
        _check_finite(output.data, "the function's output")
        weights = backend.generator(seed + 1).standard_normal(output.shape) if output.ndim else backend.xp.ones(())

        def objective() -> float:
            with no_grad():
                return float((function(*inputs).data * weights).sum())

        output.backward(Tensor(weights, dtype=output.dtype))
        named = [(f"input {i}", t.data, t.grad) for i, t in enumerate(inputs) if t.requires_grad]
    else:
        raise TypeError(f"gradcheck needs a Module or a function of tensors, got {type(model_or_function).__name__}")
    checks, failures = [], []
    for name, data, analytic in named:
        if analytic is None:
            analytic = backend.xp.zeros_like(data)
        check, bad = _check_tensor(name, data, analytic, objective, eps, atol, rtol, max_entries, rng)
        checks.append(check)
        failures += bad
    return GradcheckReport(checks, eps, atol, rtol, failures)
