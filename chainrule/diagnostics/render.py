"""A walk-through as a list of blocks, and its three renderings: terminal text, Markdown with LaTeX, HTML.

Blocks hold :class:`~chainrule.diagnostics.notation.Math` formulas, so each renderer picks the
spelling it needs: ``w²₁₁`` in the terminal, ``w^{2}_{11}`` in Markdown, ``w<sup>2</sup><sub>11</sub>``
in Jupyter.
"""

from __future__ import annotations

import html as html_lib
from collections.abc import Sequence
from dataclasses import dataclass, field

from chainrule.diagnostics.notation import Math, raw
from chainrule.diagnostics.notation import to_html as formula_html


@dataclass
class Heading:
    """A section title (level 1 or 2)."""

    title: str
    level: int = 2


@dataclass
class Paragraph:
    """Plain text (may hold Unicode maths)."""

    text: str


@dataclass
class Equation:
    """``parts`` joined by " = ", with an optional note after it; ``indent`` nests it under the line above."""

    parts: Sequence[Math]
    note: str = ""
    indent: int = 0


@dataclass
class Table:
    """A table of formulas or text."""

    header: Sequence[str]
    rows: Sequence[Sequence[Math | str]] = field(default_factory=list)


Block = Heading | Paragraph | Equation | Table


def _cell(value: Math | str) -> Math:
    return raw(value) if isinstance(value, str) else value


def _markdown_cell(value: Math | str) -> str:
    """A formula as ``$latex$``; plain text (a quote, a name, a number) as itself, ``|`` escaped."""
    if isinstance(value, str):
        return value.replace("|", r"\|") if value else " "
    return f"${value.latex}$"


def _equation_text(block: Equation, attribute: str, sep: str) -> str:
    return sep.join(getattr(part, attribute) for part in block.parts)


def to_text(blocks: Sequence[Block]) -> str:
    """The terminal rendering: underlined titles, one indented equation per line, aligned tables."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            if lines:
                lines.append("")
            lines += [block.title, ("=" if block.level == 1 else "-") * len(block.title)]
        elif isinstance(block, Paragraph):
            lines.append(block.text)
        elif isinstance(block, Equation):
            line = "  " + "    " * block.indent + _equation_text(block, "text", " = ")
            lines.append(line + (f"    ({block.note})" if block.note else ""))
        else:
            cells = [list(block.header)] + [[_cell(c).text for c in row] for row in block.rows]
            widths = [max(len(row[i]) for row in cells) for i in range(len(block.header))]
            for number, row in enumerate(cells):
                lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
                if number == 0:
                    lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines) + "\n"


def to_markdown(blocks: Sequence[Block]) -> str:
    """Markdown with LaTeX maths: ``$$ … $$`` display equations, ``$ … $`` for formulas in table
    cells; text cells (quotes of the seed, names) stay plain text."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"{'#' * (block.level + 1)} {block.title}\n")
        elif isinstance(block, Paragraph):
            out.append(block.text + "\n")
        elif isinstance(block, Equation):
            note = rf" \quad \text{{({block.note})}}" if block.note else ""
            out.append(f"$$ {_equation_text(block, 'latex', ' = ')}{note} $$\n")
        else:
            out.append("| " + " | ".join(block.header) + " |")
            out.append("|" + "---|" * len(block.header))
            for row in block.rows:
                out.append("| " + " | ".join(_markdown_cell(c) for c in row) + " |")
            out.append("")
    return "\n".join(out)


_CELL = "padding: 2px 12px 2px 0; text-align: left; vertical-align: top; border-bottom: 1px solid #ddd"
"""Inline styles (Jupyter keeps them; it may drop a <style> block): left-aligned, padded table cells."""


def to_html(blocks: Sequence[Block]) -> str:
    """HTML for Jupyter (``_repr_html_``) and ``--format html``: headings, equations with sub- and
    superscripts, tables with padded left-aligned cells; inline styles only."""
    out = ['<div class="chainrule-explain" style="font-family: monospace; line-height: 1.5">']
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level + 2}>{formula_html(block.title)}</h{block.level + 2}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{formula_html(block.text)}</p>")
        elif isinstance(block, Equation):
            note = f" <i>({html_lib.escape(block.note)})</i>" if block.note else ""
            style = f' style="margin-left: {2 * block.indent + 1}em"'
            out.append(f"<div{style}>{_equation_text(block, 'html', ' = ')}{note}</div>")
        else:
            out.append('<table style="border-collapse: collapse; margin: 0.5em 0 0.5em 1em">')
            out.append("<tr>" + "".join(f'<th style="{_CELL}">{formula_html(h)}</th>' for h in block.header) + "</tr>")
            for row in block.rows:
                cells = (html_lib.escape(c) if isinstance(c, str) else c.html for c in row)
                out.append("<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in cells) + "</tr>")
            out.append("</table>")
    out.append("</div>")
    return "\n".join(out)
