"""What a column is, decided as a practitioner would, and the decision kept as data.

Rules for a feature column, looked at on the rows the preprocessor is fitted on (the first chunk
of a streamed file), in this order:

1. named in ``categorical`` → **categorical**;
2. numbers (a float column, or text where at least half the cells are plain numbers, its stray
   text then an error naming the cell) → **numeric**, unless the name looks like an identifier
   (``id``, ``…_id``, ``index``) and its values are whole numbers, more than half of them
   distinct → dropped (**id**);
3. text where at least 90% of the cells are numbers written with thousands separators, a
   currency sign or a percent sign (``"1,200"``, ``"$3.50"``, ``"12%"`` = 0.12) → **formatted**
   numeric;
4. text where every sampled cell is a date or datetime in one format (ISO 8601
   ``2014-10-13``/``2014-10-13T08:30:00``/with a zone, ``20141013T000000``, ``2014/10/13``,
   ``10/13/2014``, ``13/10/2014``, ``13.10.2014``) → **date**: four numeric features, year,
   month, day of week (Monday 0) and days since 1970-01-01 (fractional with a time of day);
5. text with at least 20 distinct values that are more than half of its cells → dropped as
   near-unique **text** (an identifier, a name, free text);
6. other text → **categorical** (or numeric, and its text an error, when ``categorical`` is a list).

After fitting on all rows: a column with no values (**empty**) or one value (**constant**) is
dropped, and a categorical column keeps its ``max_categories`` most frequent categories (ties by
name), the rest mapped to one ``<other>`` category. Each dropped column and each cut is a
:class:`~chainrule.data.dialect.DataWarning`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy

SAMPLE_CELLS = 10_000
"""Non-missing cells of a text column that decide its kind."""
NEAR_UNIQUE_MIN = 20
"""A text column with fewer distinct values is never dropped as near-unique."""
FORMATTED_SHARE = 0.9
"""Share of a text column's sampled cells that must be formatted numbers for the column to be one."""
OTHER = "<other>"
"""The category that rare and unseen categories map to."""
DATE_PARTS = ("year", "month", "day_of_week", "days")
"""The numeric features made from a date column ``c``: ``c.year``, ``c.month``, ``c.day_of_week``, ``c.days``."""
KINDS = ("numeric", "formatted", "date", "categorical", "id", "text", "constant", "empty")
ROLES = ("feature", "target", "dropped")

_ID_NAME = re.compile(r"^(id|index|unnamed: ?0|.*[_ .-]id|.*[a-z]Id)$", re.IGNORECASE)
_FORMATTED = re.compile(r"^\(?([-+]?)\s*[$€£¥]?\s*([-+]?)(\d{1,3}(?:,\d{3})+|\d+)(\.\d*)?\s*(%|[$€£¥])?\)?$")
_DATE_FORMATS = (
    ("iso", re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")),
    ("%Y%m%dT%H%M%S", re.compile(r"^\d{8}T\d{6}$")),
    ("%Y/%m/%d", re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$")),
    ("%m/%d/%Y", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
    ("%d/%m/%Y", re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$")),
    ("%d.%m.%Y", re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")),
)
DATE_FORMATS = tuple(name for name, _ in _DATE_FORMATS)
"""The date formats recognised: ``"iso"`` (ISO 8601) and ``strptime`` formats."""
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class ColumnInfo:
    """One column's role, type and why: the preprocessor's decision as data.

    Attributes
    ----------
    name:
        The column.
    role:
        ``"feature"``, ``"target"`` or ``"dropped"``.
    kind:
        ``"numeric"``, ``"formatted"`` (numbers with separators, currency or %), ``"date"``,
        ``"categorical"``, or why a column was dropped: ``"id"``, ``"text"`` (near-unique),
        ``"constant"``, ``"empty"``. A target is ``"numeric"``, ``"formatted"`` or ``"categorical"``.
    reason:
        One sentence for people (the training summary prints it).
    outputs:
        The model input features made from it (none for a dropped column or the target).
    details:
        Kind-specific facts: ``{"format": "iso"}`` for a date, ``{"categories": 120, "kept": 100,
        "other_rows": 431}`` for a categorical column, ``{"distinct": 9800}`` for near-unique text.
    """

    name: str
    role: str
    kind: str
    reason: str
    outputs: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"name": self.name, "role": self.role, "kind": self.kind, "reason": self.reason,
                "outputs": list(self.outputs), "details": dict(self.details)}  # fmt: skip

    @classmethod
    def from_dict(cls, state: Any, where: str) -> ColumnInfo:
        """The decision :meth:`to_dict` described; ``where`` names it in errors (``"columns[2]"``)."""
        if not isinstance(state, dict):
            raise ValueError(f"{where} must be a dict, got {type(state).__name__}")
        info = cls(
            name=_field(state, "name", str, where),
            role=_field(state, "role", str, where),
            kind=_field(state, "kind", str, where),
            reason=_field(state, "reason", str, where),
            outputs=_field(state, "outputs", list, where),
            details=_field(state, "details", dict, where),
        )
        if info.role not in ROLES or info.kind not in KINDS:
            raise ValueError(f"{where}: role {info.role!r} / kind {info.kind!r} is not one of {ROLES} / {KINDS}")
        if not all(isinstance(name, str) for name in info.outputs):
            raise ValueError(f"{where}.outputs must be a list of names")
        if info.kind == "date" and info.details.get("format") not in DATE_FORMATS:
            raise ValueError(f"{where}.details.format must be one of {DATE_FORMATS}")
        return info


def _field(state: dict, key: str, kind: type, where: str) -> Any:
    if key not in state:
        raise ValueError(f"{where} lacks {key!r}")
    value = state[key]
    if not isinstance(value, kind):
        raise ValueError(f"{where}.{key} must be a {kind.__name__}, got {type(value).__name__}")
    return value


def looks_like_id(name: str) -> bool:
    """True for names such as ``id``, ``house_id``, ``userId``, ``index``, ``Unnamed: 0``."""
    return bool(_ID_NAME.match(name.strip()))


def sample_present(values: numpy.ndarray) -> list[str]:
    """Up to :data:`SAMPLE_CELLS` non-missing cells of a text column, stripped."""
    sample = []
    for cell in values:
        if cell is not None:
            sample.append(cell.strip())
            if len(sample) == SAMPLE_CELLS:
                break
    return sample


def plain_number_share(cells: list[str]) -> float:
    """The share of ``cells`` that ``float()`` reads."""
    return sum(_is_float(cell) for cell in cells) / len(cells) if cells else 0.0


def formatted_number_share(cells: list[str]) -> float:
    """The share of ``cells`` that are numbers with thousands separators, currency or %, or plain."""
    return sum(bool(_FORMATTED.match(cell)) for cell in cells) / len(cells) if cells else 0.0


def date_format(cells: list[str]) -> str | None:
    """The first of :data:`DATE_FORMATS` that reads every distinct sampled cell, or None."""
    distinct = sorted(set(cells))[:1000]
    if not distinct:
        return None
    for name, pattern in _DATE_FORMATS:
        if all(pattern.match(cell) for cell in distinct):
            try:
                for cell in distinct:
                    _parse_date(cell, name)
            except ValueError:
                continue
            return name
    return None


def _is_float(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _by_distinct(values: numpy.ndarray, parse: Any, width: int) -> tuple[numpy.ndarray, int | None]:
    """``parse`` applied once per distinct cell: ``(float64 (n, width), first row that failed or None)``.

    Missing cells (None) give NaN.
    """
    out = numpy.full((len(values), width), numpy.nan)
    present = numpy.flatnonzero(values != None)  # noqa: E711 (element-wise)
    if not len(present):
        return out, None
    cells = values[present].astype(str)
    distinct, inverse = numpy.unique(cells, return_inverse=True)
    parsed = numpy.empty((len(distinct), width))
    for i, cell in enumerate(distinct.tolist()):
        try:
            parsed[i] = parse(cell.strip())
        except ValueError:
            return out, int(present[numpy.flatnonzero(inverse == i)[0]])
    out[present] = parsed[inverse.reshape(-1)]
    return out, None


def parse_formatted(values: numpy.ndarray) -> tuple[numpy.ndarray, int | None]:
    """Numbers written with separators, currency or % as float64 (``"12%"`` → 0.12, ``"(5)"`` → −5).

    Returns ``(values, first row that is no such number or None)``.
    """
    column, bad = _by_distinct(values, _formatted_value, 1)
    return column[:, 0], bad


def _formatted_value(cell: str) -> float:
    match = _FORMATTED.match(cell)
    if not match:
        raise ValueError(cell)
    sign_a, sign_b, whole, fraction, suffix = match.groups()
    value = float(whole.replace(",", "") + (fraction or ""))
    if "-" in (sign_a, sign_b) or (cell.startswith("(") and cell.endswith(")")):
        value = -value
    return value / 100.0 if suffix == "%" else value


def parse_dates(values: numpy.ndarray, form: str) -> tuple[numpy.ndarray, int | None]:
    """Dates as float64 ``(n, 4)``: year, month, day of week (Monday 0), days since 1970-01-01 UTC.

    Returns ``(features, first row that is no date in format ``form`` or None)``.
    """
    return _by_distinct(values, lambda cell: _date_features(_parse_date(cell, form)), len(DATE_PARTS))


def _parse_date(cell: str, form: str) -> datetime:
    if form == "iso":
        moment = datetime.fromisoformat(cell[:-1] + "+00:00" if cell.endswith("Z") else cell)
    else:
        moment = datetime.strptime(cell, form)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _date_features(moment: datetime) -> tuple[float, float, float, float]:
    days = (moment - _EPOCH).total_seconds() / 86400.0
    return float(moment.year), float(moment.month), float(moment.weekday()), days


def near_unique_whole_numbers(values: numpy.ndarray) -> int | None:
    """The number of distinct values when they are whole numbers, at least :data:`NEAR_UNIQUE_MIN`
    and more than half the present cells (an identifier column); else None."""
    present = values[~numpy.isnan(values)]
    if len(present) < NEAR_UNIQUE_MIN or not bool(numpy.all(present == numpy.round(present))):
        return None
    distinct = len(numpy.unique(present))
    return distinct if 2 * distinct > len(present) else None
