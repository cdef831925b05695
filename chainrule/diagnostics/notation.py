"""The seeds' notation: layers numbered 1..L, symbols such as w²₁₁, and parameter names.

A network ``Sequential(Linear, f, Linear, g, …)`` has layers l = 1..L, one per ``Linear``:

    zˡ = Wˡ hˡ⁻¹ + bˡ,   hˡ = f(zˡ),   h⁰ = x,

and ``weight[k, j]`` of the l-th ``Linear`` is the seed's wˡ_kj (indices from 1, from unit j of
layer l − 1 to unit k of layer l).  A parameter is named as in PyTorch, ``"0.weight[1,0]"``, or
with the seed's alias ``"w1_21"`` (wˡ_kj with l = 1, k = 2, j = 1) and ``"b2_1"`` (b²₁); without
an index (``"0.weight"``, ``"W1"``, ``"b2"``) it names the whole tensor.

:class:`Math` carries one formula in three spellings (terminal text, LaTeX, HTML), so one
derivation renders in the terminal, in Markdown and in Jupyter; :func:`fill` spells a formula of
the registry (:mod:`chainrule.nn.registry`) for one unit.  A vector or matrix (:func:`array`) is
written in full in LaTeX and HTML, and its terminal text can be shortened to a width (``fit``),
with a count of the numbers left out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from chainrule import nn
from chainrule.nn import registry

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")


@dataclass(frozen=True)
class Math:
    """One formula as terminal ``text``, ``latex`` (without ``$``) and ``html``.

    ``fit``, for formulas that hold vectors or matrices, gives a terminal spelling at most that
    many characters wide (numbers left out, and counted); None when ``text`` cannot be shortened.
    """

    text: str
    latex: str
    html: str
    fit: Callable[[int], str] | None = field(default=None, compare=False, repr=False)

    def __add__(self, other: Math | str) -> Math:
        return join([self, other], "", "", "")

    def shortened(self, width: int) -> str:
        """The terminal text, shortened to ``width`` characters where it can be (see ``fit``)."""
        return self.text if self.fit is None or len(self.text) <= width else self.fit(width)

    def to_dict(self) -> dict[str, str]:
        """``{"text": …, "latex": …, "html": …}`` (the JSON form of a formula)."""
        return {"text": self.text, "latex": self.latex, "html": self.html}


_LATEX_SYMBOLS = {
    "−": "-",
    "×": r"\times ",
    "·": r"\cdot ",
    "⊙": r"\odot ",
    "←": r"\leftarrow ",
    "≤": r"\le ",
    "≥": r"\ge ",
    "∂": r"\partial ",
    "Σ": r"\sum ",
    "σ": r"\sigma ",
    "δ": r"\delta ",
    "Δ": r"\Delta ",
    "η": r"\eta ",
    "ℓ": r"\ell ",
    "Φ": r"\Phi ",
    "φ": r"\varphi ",
    "π": r"\pi ",
    "√": r"\surd ",
    "…": r"\ldots ",
    "½": r"\tfrac{1}{2}",
    "′": "'",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
}
_LATEX_SUPERSCRIPT = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ˡᴸᵀ", [*"0123456789+-lL", r"\top"]))
_LATEX_SUBSCRIPT = dict(zip("₀₁₂₃₄₅₆₇₈₉", "0123456789"))
_LATEX_TOKEN = re.compile(
    r"(?P<space_before> ?)(?P<words>[A-Za-z][A-Za-z0-9]*[a-z][A-Za-z0-9]*(?: [A-Za-z][A-Za-z0-9]*[a-z][A-Za-z0-9]*)*)"
    r"(?P<space_after> ?)|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻ˡᴸᵀ]+)|(?P<sub>[₀₁₂₃₄₅₆₇₈₉]+)|_(?P<index>[A-Za-z0-9]+)|(?P<other>.)",
    re.DOTALL,
)


@functools.lru_cache(maxsize=8192)
def to_latex(text: str) -> str:
    """The terminal spelling of a formula as LaTeX: w²₁₁ → ``w^{2}_{11}``, y_kj → ``y_{kj}``, ∂ → ``\\partial``,
    − → ``-``, words → ``\\text{…}`` (single letters stay variables)."""
    out = []
    for match in _LATEX_TOKEN.finditer(text):
        if match["words"]:
            before = r"\ " if match["space_before"] else ""
            after = r"\ " if match["space_after"] else ""
            out.append(f"{before}\\text{{{match['words']}}}{after}")
        elif match["sup"]:
            out.append("^{" + "".join(_LATEX_SUPERSCRIPT[c] for c in match["sup"]) + "}")
        elif match["sub"]:
            out.append("_{" + "".join(_LATEX_SUBSCRIPT[c] for c in match["sub"]) + "}")
        elif match["index"]:
            out.append("_{" + match["index"] + "}")
        else:
            out.append(_LATEX_SYMBOLS.get(match["other"], match["other"]))
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def to_html(text: str) -> str:
    """The terminal spelling of a formula as HTML: escaped, w²₁₁ → ``w<sup>2</sup><sub>11</sub>``,
    y_k → ``y<sub>k</sub>`` (after a letter; a name such as w1_21 is left alone)."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    superscripts = "".join(_LATEX_SUPERSCRIPT)
    escaped = re.sub(
        f"[{superscripts}]+",
        lambda m: "<sup>" + "".join(_LATEX_SUPERSCRIPT[c].replace(r"\top", "T") for c in m[0]) + "</sup>",
        escaped,
    )
    escaped = re.sub("[₀-₉]+", lambda m: "<sub>" + "".join(_LATEX_SUBSCRIPT[c] for c in m[0]) + "</sub>", escaped)
    return re.sub(r"(?<=[^\W\d_]|>)_([A-Za-z0-9]+)", r"<sub>\1</sub>", escaped)  # y_k, but not w1_21


def raw(text: str, latex: str | None = None, html: str | None = None) -> Math:
    """A formula given by hand; LaTeX and HTML default to :func:`to_latex` and :func:`to_html` of the text."""
    return Math(text, to_latex(text) if latex is None else latex, to_html(text) if html is None else html)


def join(items: Iterable[Math | str], text: str, latex: str | None = None, html: str | None = None) -> Math:
    """``items`` joined by a separator given in the three spellings (shortened, if some can be,
    by sharing the width left by the others among them)."""
    items = [raw(item) if isinstance(item, str) else item for item in items]
    latex = text if latex is None else latex
    html = text if html is None else html
    fit = None
    shortenable = [item for item in items if item.fit is not None]
    if shortenable:
        fixed = len(text) * (len(items) - 1) + sum(len(item.text) for item in items if item.fit is None)

        def fit(width: int) -> str:
            share = max((width - fixed) // len(shortenable), 1)
            return text.join(item.shortened(share) for item in items)

    return Math(
        text.join(i.text for i in items), latex.join(i.latex for i in items), html.join(i.html for i in items), fit
    )


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def fill(formula: registry.Formula, symbols: Mapping[str, Math], values: Mapping[str, str] | None = None) -> Math:
    """A registry formula spelled for one unit: each ``{name}`` replaced by ``symbols[name]`` (in
    the spelling at hand) or ``values[name]`` (a number as text); any other ``{…}`` (LaTeX's
    ``\\frac{1}{2}``) is left as written.  ``formula.latex=None`` means the LaTeX of the filled text."""
    values = values or {}

    def spell(template: str, attribute: str) -> str:
        def one(match: re.Match) -> str:
            name = match[1]
            if name in symbols:
                return getattr(symbols[name], attribute)
            if name in values:
                return values[name] if attribute == "text" else to_latex(values[name])
            return match[0]

        return _PLACEHOLDER.sub(one, template)

    text = spell(formula.text, "text")
    latex = to_latex(text) if formula.latex is None else spell(formula.latex, "latex")
    return Math(text, latex, to_html(text))


def _indices(index: Sequence[int]) -> str:
    return ("" if all(i < 10 for i in index) else ",").join(str(i) for i in index)


def symbol(base: str, layer: int | None = None, index: Sequence[int] = ()) -> Math:
    """A symbol with a layer superscript and 1-based unit subscripts: ``symbol("w", 2, (1, 1))`` is w²₁₁."""
    return _symbol(base, layer, tuple(index))


@functools.lru_cache(maxsize=8192)
def _symbol(base: str, layer: int | None, index: tuple[int, ...]) -> Math:
    sup = "" if layer is None else str(layer)
    sub = _indices(index)
    latex = to_latex(base) + (f"^{{{sup}}}" if sup else "") + (f"_{{{sub}}}" if sub else "")
    html = base + (f"<sup>{sup}</sup>" if sup else "") + (f"<sub>{sub}</sub>" if sub else "")
    return Math(base + sup.translate(_SUPERSCRIPT) + sub.translate(_SUBSCRIPT), latex, html)


def partial(top: Math, bottom: Math) -> Math:
    """The partial derivative ∂top/∂bottom."""
    return Math(
        f"∂{top.text}/∂{bottom.text}",
        rf"\frac{{\partial {top.latex}}}{{\partial {bottom.latex}}}",
        f"∂{top.html}/∂{bottom.html}",
    )


def format_number(value: float, decimals: int = 4) -> str:
    """``value`` with ``decimals`` decimals and trailing zeros dropped (0.30 → 0.3); tiny values in e-notation."""
    value = float(value)
    if value == 0 or value != value or abs(value) == float("inf"):
        return "0" if value == 0 else str(value)
    if abs(value) < 10.0**-decimals or abs(value) >= 1e6:
        return f"{value:.{max(decimals - 1, 1)}e}"
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


_E_NOTATION = re.compile(r"(-?\d+(?:\.\d+)?)e([+-])0*(\d+)")


def scientific(text: str, times: str, power: str) -> str:
    """Numbers in e-notation within ``text`` written as a power of ten: ``2.536e-07`` → the mantissa,
    ``times``, 10 and ``power`` formatted with the exponent (−7), for LaTeX or HTML."""
    return _E_NOTATION.sub(lambda m: f"{m[1]}{times}10" + power.format(("-" if m[2] == "-" else "") + m[3]), text)


def number(value: float, decimals: int = 4, wrap: bool = False) -> Math:
    """A number as a formula; ``wrap`` puts a negative number in parentheses (for products).

    The terminal keeps e-notation (``2.536e-07``); LaTeX and HTML write a power of ten (2.536 × 10⁻⁷).
    """
    text = format_number(value, decimals)
    if wrap and text.startswith("-"):
        text = f"({text})"
    if "e" not in text:
        return raw(text)
    html = scientific(text, "×", "<sup>{}</sup>").replace("-", "−")
    return raw(text, scientific(to_latex(text), r" \times ", "^{{{}}}"), html)


def product(factors: Iterable[Math], sign: str = "×") -> Math:
    """Factors joined by ``sign`` (× for numbers, · for symbols)."""
    return join(factors, f" {sign} ", r" \times " if sign == "×" else r" \cdot ", f" {sign} ")


def array(values: Any, decimals: int = 4) -> Math:
    """A vector or matrix of numbers: ``[a, b]`` / ``[[a, b], [c, d]]`` and a LaTeX ``bmatrix``,
    in full; its ``fit`` shortens the terminal text (:func:`abbreviated`).

    A vector is written as a column in LaTeX (the seeds' δˡ and hˡ are column vectors).
    """
    rows = values.tolist() if hasattr(values, "tolist") else values
    if not isinstance(rows, list):
        return number(rows, decimals)
    if rows and isinstance(rows[0], list):
        cells = [[format_number(v, decimals) for v in row] for row in rows]
        text = "[" + ", ".join("[" + ", ".join(row) + "]" for row in cells) + "]"
        body = r" \\ ".join(" & ".join(row) for row in cells)
    else:
        cells = [format_number(v, decimals) for v in rows]
        text = "[" + ", ".join(cells) + "]"
        body = r" \\ ".join(cells)
    body = scientific(body, r" \times ", "^{{{}}}")
    return Math(text, rf"\begin{{bmatrix}} {body} \end{{bmatrix}}", text, lambda width: abbreviated(cells, width))


def abbreviated(cells: list, width: int) -> str:
    """A vector (list of number texts) or matrix (list of rows) in at most ``width`` characters
    where possible: its first entries, then how many were left out, e.g. ``[0.1, -0.2, … 782 more]``
    or ``[[0.1, 0.3, … 782 more], … 127 more rows]`` (as many numbers as fit, one or two rows)."""
    matrix = bool(cells) and isinstance(cells[0], list)
    rows = cells if matrix else [cells]
    count_rows, count_columns = len(rows), len(rows[0]) if rows else 0

    def spelled(shown_rows: int, shown_columns: int) -> str:
        def row(values: list) -> str:
            more = f", … {count_columns - shown_columns} more" if shown_columns < count_columns else ""
            return "[" + ", ".join(values[:shown_columns]) + more + "]"

        if not matrix:
            return row(rows[0])
        more = f", … {count_rows - shown_rows} more rows" if shown_rows < count_rows else ""
        return "[" + ", ".join(row(r) for r in rows[:shown_rows]) + more + "]"

    widest = min(count_columns, max(width // 3, 1))  # each number takes at least 3 characters ("0, ")
    best, best_count = None, 0
    for shown_rows in range(1, min(count_rows, 2) + 1):  # the most numbers shown; one row on a tie
        for shown_columns in range(widest, 0, -1):
            text = spelled(shown_rows, shown_columns)
            if len(text) <= width:
                if shown_rows * shown_columns > best_count:
                    best, best_count = text, shown_rows * shown_columns
                break
    if best is not None:
        return best
    return f"({count_rows}×{count_columns} values)" if matrix else f"({count_columns} values)"


# ---------------------------------------------------------------------- layers of a model


@dataclass(frozen=True)
class Layer:
    """Layer l of a network: its ``Linear`` (named ``name`` in the model) and its activation."""

    number: int
    name: str
    linear: nn.Linear
    activation: nn.Module | None

    @property
    def units(self) -> int:
        """The number of units (``out_features``)."""
        return self.linear.out_features

    @property
    def activation_entry(self) -> registry.ActivationEntry:
        """The registry's entry of the activation (the identity's for a layer without one)."""
        if self.activation is None:
            return registry.ACTIVATIONS["identity"]
        return registry.activation_entry(self.activation)

    @property
    def activation_name(self) -> str:
        """How the units are named: ``sigmoid``, ``tanh``, ``relu``, ``gelu``, … or ``linear``
        (no activation, or Identity): the registry entry's label."""
        return self.activation_entry.unit_label


def _leaves(module: nn.Module, prefix: str = "") -> list[tuple[str, nn.Module]]:
    if isinstance(module, nn.Sequential):
        out: list[tuple[str, nn.Module]] = []
        for name, child in module.named_children():
            out.extend(_leaves(child, f"{prefix}.{name}" if prefix else name))
        return out
    return [(prefix, module)]


def network_layers(model: nn.Module) -> list[Layer]:
    """The layers 1..L of a (possibly nested) ``Sequential`` of ``Linear`` and element-wise activations.

    Raises
    ------
    ValueError
        For a module that is neither ``Linear`` nor an element-wise activation (the message names
        it), an activation before the first ``Linear``, or two activations in a row.
    """
    layers: list[Layer] = []
    pending: tuple[str, nn.Linear] | None = None
    activation: nn.Module | None = None
    for name, module in _leaves(model):
        if isinstance(module, nn.Linear):
            if pending is not None:
                layers.append(Layer(len(layers) + 1, pending[0], pending[1], activation))
            pending, activation = (name, module), None
        elif isinstance(module, registry.activation_modules()):
            if pending is None or activation is not None:
                where = "before the first Linear" if pending is None else "right after another activation"
                raise ValueError(
                    f"explain: module {name!r} ({type(module).__name__}) comes {where}; a walk-through "
                    "needs Linear layers each followed by at most one element-wise activation"
                )
            activation = module
        else:
            raise ValueError(
                f"explain: module {name or 'model'!r} is a {type(module).__name__}; walk-throughs cover "
                "Sequential models of Linear layers and the element-wise activations "
                f"{', '.join(a.__name__ for a in registry.activation_modules())} (for Softmax outputs, give the logits "
                "to CrossEntropyLoss instead)"
            )
    if pending is None:
        raise ValueError("explain: the model has no Linear layer; give a Sequential of Linear layers and activations")
    layers.append(Layer(len(layers) + 1, pending[0], pending[1], activation))
    return layers


# ---------------------------------------------------------------------- parameter names


@dataclass(frozen=True)
class ParamRef:
    """One parameter tensor (``index`` None) or one element of it (0-based ``index``)."""

    layer: Layer
    kind: str
    index: tuple[int, ...] | None

    @property
    def tensor_name(self) -> str:
        """PyTorch's name, e.g. ``0.weight``."""
        return f"{self.layer.name}.{self.kind}" if self.layer.name else self.kind

    @property
    def name(self) -> str:
        """PyTorch's name with the index, e.g. ``0.weight[1, 0]``."""
        if self.index is None:
            return self.tensor_name
        return f"{self.tensor_name}[{', '.join(str(i) for i in self.index)}]"

    @property
    def seed_name(self) -> str:
        """The seed's alias, e.g. ``w1_21`` or ``b2_1`` (``W1``/``b2`` for whole tensors)."""
        letter = "w" if self.kind == "weight" else "b"
        if self.index is None:
            return f"{letter.upper() if letter == 'w' else letter}{self.layer.number}"
        return f"{letter}{self.layer.number}_{_indices([i + 1 for i in self.index])}"

    @property
    def symbol(self) -> Math:
        """wˡ_kj, bˡ_k, Wˡ or bˡ."""
        letter = "w" if self.kind == "weight" else "b"
        if self.index is None:
            return symbol(letter.upper() if letter == "w" else letter, self.layer.number)
        return symbol(letter, self.layer.number, [i + 1 for i in self.index])

    @property
    def parameter(self) -> Any:
        """The ``Parameter`` of the layer this reference names."""
        return getattr(self.layer.linear, self.kind)


_TORCH_NAME = re.compile(r"^(?P<name>[\w.]+?)(?:\[(?P<index>[\d,\s]*)\])?$")
_SEED_NAME = re.compile(r"^(?P<kind>[wWb])\^?(?P<layer>\d+)(?:_(?P<index>[\d,_]+))?$")


def _seed_index(kind: str, text: str) -> tuple[int, ...]:
    parts = [p for p in re.split(r"[,_]", text) if p]
    if len(parts) == 1 and kind == "weight":
        if len(text) != 2:
            raise ValueError(
                f"explain: weight alias index {text!r} is ambiguous; write w<l>_<k><j> with one digit each "
                "(w1_21) or separate them (w1_12_3 or w1_12,3)"
            )
        parts = list(text)
    return tuple(int(p) - 1 for p in parts)


def all_names(layers: Sequence[Layer]) -> list[ParamRef]:
    """Every element of every parameter, layer by layer (weights row by row, then biases)."""
    refs = []
    for layer in layers:
        for kind in ("weight", "bias"):
            parameter = getattr(layer.linear, kind)
            if parameter is None:
                continue
            for index in _ndindex(parameter.shape):
                refs.append(ParamRef(layer, kind, index))
    return refs


def _ndindex(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    indices: list[tuple[int, ...]] = [()]
    for size in shape:
        indices = [(*i, k) for i in indices for k in range(size)]
    return indices


def resolve(name: str, layers: Sequence[Layer]) -> ParamRef:
    """The parameter (or element) that ``name`` names: ``"0.weight[1,0]"``, ``"w1_21"``, ``"b2_1"``, ``"W1"``.

    Raises
    ------
    ValueError
        If the name matches no parameter or the index is out of range; the message lists the names.
    """
    name = name.strip()
    known = ", ".join(
        f"{ref.tensor_name} ({'×'.join(map(str, ref.parameter.shape))}) = {ref.seed_name}"
        for layer in layers
        for ref in (ParamRef(layer, "weight", None), ParamRef(layer, "bias", None))
        if ref.parameter is not None
    )
    seed = _SEED_NAME.match(name)
    if seed:
        kind = "weight" if seed["kind"] in "wW" else "bias"
        number = int(seed["layer"])
        if not 1 <= number <= len(layers):
            raise ValueError(f"explain: {name!r} names layer {number}, the model has layers 1..{len(layers)}")
        layer = layers[number - 1]
        index = None if seed["index"] is None else _seed_index(kind, seed["index"])
    else:
        torch = _TORCH_NAME.match(name)
        by_name = {f"{layer.name}.{kind}": (layer, kind) for layer in layers for kind in ("weight", "bias")}
        if not torch or torch["name"] not in by_name:
            raise ValueError(
                f"explain: no parameter {name!r}; the parameters are {known}; name one of them, or one entry "
                "as 0.weight[1, 0] (indices from 0) or in the seed's notation w1_21 = w¹₂₁, b2_1 = b²₁ (from 1)"
            )
        layer, kind = by_name[torch["name"]]
        text = torch["index"]
        index = None if text is None else tuple(int(p) for p in text.replace(" ", "").split(",") if p)
    parameter = getattr(layer.linear, kind)
    if parameter is None:
        raise ValueError(f"explain: layer {layer.number} ({layer.name}) has no bias (bias=False)")
    if index is not None and (
        len(index) != parameter.ndim or any(not 0 <= i < size for i, size in zip(index, parameter.shape))
    ):
        raise ValueError(
            f"explain: index {tuple(index)} is outside {layer.name}.{kind} of shape {tuple(parameter.shape)} "
            "(PyTorch indices start at 0, the seed's w1_21 indices at 1)"
        )
    return ParamRef(layer, kind, index)
