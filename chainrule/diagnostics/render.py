"""A walk-through as a list of blocks, and its three renderings: terminal text, Markdown with LaTeX, HTML.

Blocks hold :class:`~chainrule.diagnostics.notation.Math` formulas, so each renderer picks the
spelling it needs: ``w²₁₁`` in the terminal, ``w^{2}_{11}`` in Markdown, ``w<sup>2</sup><sub>11</sub>``
in Jupyter.  The terminal text keeps lines within :data:`WIDTH` characters: paragraphs and table
cells wrap at spaces, a long equation continues on the next line before one of its " = ", and a
long vector or matrix shows its first numbers and a count of those left out (Markdown and HTML
always hold every number).
"""

from __future__ import annotations

import html as html_lib
import textwrap
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

WIDTH = 100
"""Longest line of the terminal rendering (``to_text``), in characters."""
NARROWEST_ARRAY = 24
"""Fewest characters a table column of vectors or matrices is narrowed to."""
ARRAY_SLACK = 16
"""A shortened array stays on its equation's line if that leaves it at most this many characters
fewer than a continuation line would."""
NARROWEST_COLUMN = 12
"""Fewest characters a table column is narrowed to."""
WRAPPED_LINES = 3
"""A vector or matrix is written in full over at most this many lines (of an equation or a table
cell); a longer one shows its first numbers and a count of the rest."""


def _cell(value: Math | str) -> Math:
    return raw(value) if isinstance(value, str) else value


def _markdown_cell(value: Math | str) -> str:
    """A formula as ``$latex$``; plain text (a quote, a name, a number) as itself, ``|`` escaped."""
    if isinstance(value, str):
        return value.replace("|", r"\|") if value else " "
    return f"${value.latex}$"


def _equation_text(block: Equation, attribute: str, sep: str) -> str:
    return sep.join(getattr(part, attribute) for part in block.parts)


def _wrap(text: str, width: int | None, indent: str = "", subsequent: str | None = None) -> list[str]:
    """``text`` (after ``indent``) in lines of at most ``width`` characters, broken at spaces."""
    line = indent + text
    if width is None or len(line) <= width:
        return [line]
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent if subsequent is None else subsequent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [line]


def _long(part: Math, width: int) -> bool:
    """Whether ``part`` holds vectors or matrices too long to write in full in :data:`WRAPPED_LINES`
    lines of ``width``."""
    return part.fit is not None and len(_wrap(part.text, width)) > WRAPPED_LINES


def _equation_lines(block: Equation, width: int | None) -> list[str]:
    """One equation: on one line if it fits, else continued before " = " on lines indented under
    it (a part longer than a line wraps at spaces); vectors and matrices too long for
    :data:`WRAPPED_LINES` lines show their first numbers (on the line they start, if it has room
    for all but :data:`ARRAY_SLACK` characters of a line of their own)."""
    lead = "  " + "    " * block.indent
    follow = lead + "    "
    parts = list(block.parts)
    note = f"    ({block.note})" if block.note else ""
    line = lead + " = ".join(part.text for part in parts) + note
    if width is None or len(line) <= width:
        return [line]
    lines: list[str] = []
    fresh = width - len(follow) - 2
    current = lead + (parts[0].shortened(width - len(lead)) if _long(parts[0], fresh) else parts[0].text)
    for part in parts[1:]:
        room = width - len(current) - 3
        long = _long(part, fresh)
        if len(part.text) <= room:
            current += " = " + part.text
        elif long and room >= fresh - ARRAY_SLACK:
            current += " = " + part.shortened(room)
        elif not long and not lines and current == lead + parts[0].text:  # "x = [a, b, …" wraps after "x ="
            current += " = " + part.text
        else:
            lines.append(current)
            current = follow + "= " + (part.shortened(fresh) if long else part.text)
    if note and len(current) + len(note) <= width:
        current += note
    elif note:
        lines.append(current)
        current = follow + note.strip()
    lines.append(current)
    out = []
    for line in lines:
        indent = line[: len(line) - len(line.lstrip())]
        out += _wrap(line.lstrip(), width, indent, follow + "  ")
    return out


def _column_widths(rows: list[list[Math]], width: int | None) -> list[int]:
    """Each column's width: its longest cell, narrowed until the table fits ``width``: first the
    columns of vectors and matrices (widest first, to :data:`NARROWEST_ARRAY`), then the text
    columns from the right (prose such as a comment column is last, formulas first)."""
    columns = range(len(rows[0]))
    widths = [max(len(row[i].text) for row in rows) for i in columns]
    if width is None:
        return widths
    arrays = [i for i in columns if any(row[i].fit is not None for row in rows[1:])]
    texts = [i for i in reversed(columns) if i not in arrays]
    over = 2 + sum(widths) + 2 * (len(widths) - 1) - width
    while over > 0:
        narrow = [i for i in arrays if widths[i] > NARROWEST_ARRAY]
        if narrow:
            widest = max(narrow, key=lambda i: widths[i])
            widths[widest] -= 1
            over -= 1
            continue
        column = next((i for i in texts if widths[i] > NARROWEST_COLUMN), None)
        if column is None:
            break
        cut = min(over, widths[column] - NARROWEST_COLUMN)
        widths[column] -= cut
        over -= cut
    return widths


def _table_lines(block: Table, width: int | None) -> list[str]:
    """An aligned table, narrowed to fit ``width`` (:func:`_column_widths`), its text cells
    wrapped and its arrays wrapped (up to :data:`WRAPPED_LINES` lines) or shortened."""
    header = [raw(h) for h in block.header]
    rows = [header] + [[_cell(c) for c in row] for row in block.rows]
    widths = _column_widths(rows, width)

    def cell_lines(cell: Math, column_width: int) -> list[str]:
        if len(cell.text) <= column_width:
            return [cell.text]
        wrapped = _wrap(cell.text, column_width)
        if cell.fit is None or len(wrapped) <= WRAPPED_LINES:
            return wrapped
        text = cell.shortened(column_width)
        return [text] if len(text) <= column_width else _wrap(text, column_width)

    lines = []
    for number, row in enumerate(rows):
        cells = [cell_lines(cell, w) for cell, w in zip(row, widths)]
        for depth in range(max(len(c) for c in cells)):
            texts = [c[depth] if depth < len(c) else "" for c in cells]
            lines.append("  " + "  ".join(t.ljust(w) for t, w in zip(texts, widths)).rstrip())
        if number == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def to_text(blocks: Sequence[Block], width: int | None = WIDTH) -> str:
    """The terminal rendering: underlined titles, one indented equation per line, aligned tables,
    every line at most ``width`` characters where it can be (``None``: no limit)."""
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            if lines:
                lines.append("")
            lines += [block.title, ("=" if block.level == 1 else "-") * len(block.title)]
        elif isinstance(block, Paragraph):
            lines += _wrap(block.text, width)
        elif isinstance(block, Equation):
            lines += _equation_lines(block, width)
        else:
            lines += _table_lines(block, width)
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
