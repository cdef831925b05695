"""Column statistics fitted in one pass over chunks: mean, standard deviation, range, counts.

:class:`Moments` merges the moments of chunks by Chan, Golub and LeVeque's rule: for parts
``a`` and ``b`` with ``n = n_a + n_b`` and ``δ = mean_b − mean_a``,

    mean = mean_a + δ · n_b / n,    M₂ = M₂,a + M₂,b + δ² · n_a n_b / n,    σ² = M₂ / n,

so one chunk (the whole column in memory) and many chunks (a file streamed) give the same figures
to float64 rounding. Each chunk is first divided by a power of two ``s`` near its largest
magnitude (exact for normal numbers), and M₂ is kept in units of ``s²``, so a column of 1e200
does not overflow (1e400) nor one of 1e-300 underflow (1e-600).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import numpy


def power_of_two_near(value: float) -> float:
    """``2^e`` with ``value = m · 2^e``, ``0.5 ≤ |m| < 1`` (1.0 for 0): dividing by it is exact."""
    return 1.0 if value == 0 or not math.isfinite(value) else math.ldexp(1.0, math.frexp(value)[1])


class Moments:
    """Count, mean, population standard deviation, minimum and maximum of a column's numbers.

    NaN cells are counted in ``missing`` and left out of the rest. ``update`` with each chunk,
    or ``merge`` two.
    """

    __slots__ = ("high", "low", "m2", "mean", "missing", "n", "scale")

    def __init__(self) -> None:
        self.n = self.missing = 0
        self.mean = self.m2 = 0.0  # m2 in units of scale²
        self.scale = 1.0
        self.low, self.high = math.inf, -math.inf

    def update(self, values: numpy.ndarray) -> None:
        """Add a chunk of values (float64, NaN for missing)."""
        low, high = float(numpy.min(values, initial=math.inf)), float(numpy.max(values, initial=-math.inf))
        present = values
        if math.isnan(low) or math.isnan(high):  # NaN propagates through min and max
            present = values[~numpy.isnan(values)]
            self.missing += len(values) - len(present)
            if not len(present):
                return
            low, high = float(present.min()), float(present.max())
        if not len(present):
            return
        scale = power_of_two_near(max(abs(low), abs(high)))
        z = present * (1.0 / scale)  # exact: a power of two
        mean = float(z.mean())
        z -= mean
        part = Moments()
        part.n, part.mean, part.scale, part.low, part.high = len(present), mean * scale, scale, low, high
        part.m2 = float(numpy.square(z, out=z).sum())  # pairwise summation; no BLAS threads for a dot
        self.merge(part)

    def merge(self, other: Moments) -> None:
        """Fold ``other``'s values into these (Chan et al.'s rule, in a common power-of-two unit)."""
        self.missing += other.missing
        if other.n == 0:
            return
        if self.n == 0:
            self.n, self.mean, self.m2, self.scale = other.n, other.mean, other.m2, other.scale
            self.low, self.high = other.low, other.high
            return
        scale = max(self.scale, other.scale)
        n = self.n + other.n
        delta = other.mean / scale - self.mean / scale
        m2 = self.m2 * (self.scale / scale) ** 2 + other.m2 * (other.scale / scale) ** 2
        self.m2 = m2 + delta * delta * (self.n * other.n / n)
        self.mean = scale * (self.mean / scale + delta * (other.n / n))
        self.n, self.scale = n, scale
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)

    def filled(self, value: float) -> Moments:
        """The moments after every missing cell is replaced by ``value`` (imputation)."""
        result = Moments()
        result.merge(self)
        result.missing = 0
        fill = Moments()
        fill.update(numpy.full(self.missing, value, dtype=numpy.float64))
        result.merge(fill)
        return result

    @property
    def constant(self) -> bool:
        """True when every present value is the same (or there is none)."""
        return self.n == 0 or self.low == self.high

    @property
    def std(self) -> float:
        """Population standard deviation ``σ = s · √(M₂ / n)``."""
        return self.scale * math.sqrt(self.m2 / self.n) if self.n else 0.0


def count_values(counts: Counter, values: Iterable) -> None:
    """Add a chunk of category keys to ``counts`` (``None`` cells are not counted)."""
    keys = numpy.asarray([value for value in values if value is not None], dtype=object)
    if len(keys):
        distinct, number = numpy.unique(keys.astype(str), return_counts=True)
        counts.update(dict(zip(distinct.tolist(), number.tolist())))
