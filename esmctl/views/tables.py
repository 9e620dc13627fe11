"""Tables and records laid out for a width: pure layout, nothing printed (commands/output.py prints).

A terminal table fits the terminal's width without cutting anything: each Column says whether it
is an identifier (shown whole on one line, or not at all; a breakable one, such as a function or a
source, may go on over a few lines, broken after its `:` and `/`) or prose (wraps), and how much it
matters; `fit` leaves out the least important columns that do not fit and says so under the table,
and breaks long names before it leaves out a column that must stay (a verdict). One record
(`mapping get`) is `Field  value` lines, never broken inside a value. rich lays out the terminal's
tables, tabulate the plain and Markdown ones; both are imported only when something is laid out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from esmctl.views.document import json_text, jsonable


@dataclass(frozen=True)
class Column:
    """A table column: where its cells come from, and what may happen to it on a narrow terminal.

    An identifier (UUID, ARN, name, or a short code such as a state) is shown whole on one line or
    not at all; prose wraps onto more lines. When the terminal is too narrow for every column, the
    lowest priorities are left out first, never a column marked `keep`.
    """

    header: str
    key: str
    identifier: bool
    priority: int = 50
    keep: bool = False
    min_width: int = 10  # prose, or a breakable identifier: the narrowest it is wrapped to
    breakable: bool = False  # an identifier that may go on over lines, broken after its separators


def ident(header: str, key: str | None = None, *, priority: int = 50, keep: bool = False,
          breakable: bool = False, min_width: int = 10) -> Column:
    """An identifier column: whole on one line; `breakable`, over a few lines when the room is short
    (a function or a source, whose short form is read, not pasted; never a UUID)."""
    return Column(header, key or header, identifier=True, priority=priority, keep=keep, min_width=min_width,
                  breakable=breakable)


def prose(header: str, key: str | None = None, *, priority: int = 50, keep: bool = False,
          min_width: int = 10) -> Column:
    """A prose column: wraps onto more lines rather than losing anything."""
    return Column(header, key or header, identifier=False, priority=priority, keep=keep, min_width=min_width)


_GAP = 3  # " │ " between two columns; the table has no outer edge and no padding at its edges
# An identifier this important (list's UUID) comes in with the long names broken over lines, rather than make way
# for the columns after it.
BREAK_NAMES_FOR = 70


@dataclass(frozen=True)
class Fit:
    """The columns shown at a width (indexes, in order), the width of each prose one and of each breakable
    identifier, and the headers left out."""

    shown: list[int]
    prose_widths: dict[int, int]
    hidden: list[str]
    ident_widths: dict[int, int] = field(default_factory=dict)


def fit(columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int) -> Fit | None:
    """Choose the columns for a terminal `width`; None when even the `keep` columns do not fit side by side.

    Each column needs a minimum: an identifier its longest cell (a breakable one its `min_width`, or less
    if its cells are shorter), prose its `min_width` (less if its cells are shorter) or its longest word,
    whichever is more, so that prose wraps between words and an ARN in a message is not cut in two either.
    Columns are taken by priority while they fit with every identifier whole and prose at its minimum; a
    narrow low-priority column may still fit where a wide one did not, and a breakable identifier (or one of
    priority BREAK_NAMES_FOR or more) comes in with the names broken when the minimums fit. The `keep` columns
    always come in, long names broken as needed. The room left goes to the breakable identifiers first, whole
    if they can be, and is then shared evenly among the prose columns (with the broken identifiers, when they
    could not be whole), none wider than its longest cell.
    """
    from rich.cells import cell_len

    natural, minimum = [], []
    for i, column in enumerate(columns):
        longest = max([cell_len(column.header)] + [cell_len(row[i]) for row in cells])
        natural.append(longest)
        if column.identifier and column.breakable:
            # no narrower than it takes to break only at separators (up to twice its min_width)
            unbroken = max([0] + [_unbroken_width(row[i]) for row in cells])
            minimum.append(min(longest, max(column.min_width, cell_len(column.header),
                                            min(unbroken, 2 * column.min_width))))
        elif column.identifier:
            minimum.append(longest)
        else:
            longest_word = max(cell_len(word) for text in [column.header, *(row[i] for row in cells)]
                               for word in text.split() or [""])
            minimum.append(max(longest_word, min(longest, column.min_width)))
    # what a column takes when nothing is squeezed: an identifier whole, prose at its minimum
    comfortable = [natural[i] if c.identifier else minimum[i] for i, c in enumerate(columns)]
    by_priority = sorted(range(len(columns)), key=lambda i: (not columns[i].keep, -columns[i].priority, i))
    shown: list[int] = []
    need = least = 0  # comfortable and minimum widths of the columns taken, with their gaps
    for i in by_priority:
        gap = _GAP if shown else 0
        c = columns[i]
        squeezed_in = c.breakable or (c.identifier and c.priority >= BREAK_NAMES_FOR)
        if c.keep or need + comfortable[i] + gap <= width or (squeezed_in and least + minimum[i] + gap <= width):
            shown.append(i)
            need += comfortable[i] + gap
            least += minimum[i] + gap
    if least > width:
        return None
    growing = [i for i in shown if not columns[i].identifier or columns[i].breakable]
    widths = {i: minimum[i] for i in growing}
    spare = width - least
    if need <= width:  # room for every identifier whole: they take it first
        for i in growing:
            if columns[i].identifier:
                spare -= natural[i] - widths[i]
                widths[i] = natural[i]
    while spare > 0:
        growing = [i for i in growing if widths[i] < natural[i]]
        if not growing:
            break
        share = max(1, spare // len(growing))
        for i in growing:
            step = min(share, natural[i] - widths[i], spare)
            widths[i] += step
            spare -= step
    return Fit(sorted(shown), {i: w for i, w in widths.items() if not columns[i].identifier},
               [c.header for i, c in enumerate(columns) if i not in shown],
               {i: w for i, w in widths.items() if columns[i].identifier})


_BREAK_AFTER = ":/ -._,"  # where a breakable identifier may go on to the next line
_HANG = "  "  # the lines a name goes on over are indented, so that they do not look like the next row's


def _unbroken_width(text: str) -> int:
    """The narrowest a name can be broken to at its separators only (its later lines hanging in)."""
    import re

    from rich.cells import cell_len

    pieces = re.split(f"(?<=[{re.escape(_BREAK_AFTER)}])", text)
    return max([cell_len(pieces[0])] + [len(_HANG) + cell_len(p) for p in pieces[1:] if p])


def break_identifier(text: str, width: int) -> list[str]:
    """A name as lines of at most `width` cells, each broken after a separator where one is near enough
    (`dynamodb:orders-table/`, `  stream/2026-…`), else at the edge; the lines after the first hang two
    spaces in. Without that indent, the lines joined are the name."""
    from rich.cells import cell_len

    lines: list[str] = []
    while cell_len(text) > width - (len(_HANG) if lines else 0):
        room = width - (len(_HANG) if lines else 0)
        fits = room
        while fits > 1 and cell_len(text[:fits]) > room:
            fits -= 1
        cut = max((j + 1 for j in range(fits) if text[j] in _BREAK_AFTER), default=0)
        if cut < max(1, fits // 3):  # no separator, or one so early the line would be mostly empty
            cut = max(1, fits)
        lines.append(text[:cut])
        text = text[cut:]
    lines.append(text)
    return [lines[0], *(_HANG + line for line in lines[1:])]


def table_cells(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[list[str]]:
    return [["" if r.get(c.key) is None else str(r.get(c.key)) for c in columns] for r in rows]


def terminal_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], width: int,
                   title: str | None = None):  # -> rich.console.RenderableType
    """A rich table no wider than `width`, identifiers whole and prose wrapped, with a caption naming
    the columns left out; or, when even the columns to keep do not fit side by side, one block of
    `FIELD  value` lines per row."""
    from rich.console import Group
    from rich.table import Column as RichColumn
    from rich.table import Table
    from rich.text import Text

    cells = table_cells(rows, columns)
    layout = fit(columns, cells, width)
    if layout is None:
        blocks: list[Any] = [Text(title)] if title else []
        for row in cells:
            # an empty field is left out of its card, the labels of every card aligned alike
            fields = [(c.header, v, PROSE if not c.identifier else BREAKABLE if c.breakable else WHOLE)
                      for c, v in zip(columns, row, strict=True) if v.strip()]
            blocks += [record_lines(fields, width, max(len(c.header) for c in columns) + 2), Text("")]
        return Group(*blocks[:-1])
    caption = None
    if layout.hidden:
        caption = f"({', '.join(layout.hidden)} hidden: widen the terminal or use -o json)"
    shown = []
    for i in layout.shown:
        if i in layout.ident_widths:  # lines broken here, at its separators: rich would fold anywhere
            shown.append(RichColumn(columns[i].header, no_wrap=True, width=layout.ident_widths[i]))
        elif columns[i].identifier:
            shown.append(RichColumn(columns[i].header, no_wrap=True))
        else:
            shown.append(RichColumn(columns[i].header, min_width=min(columns[i].min_width, layout.prose_widths[i]),
                                    max_width=layout.prose_widths[i], overflow="fold"))
    t = Table(*shown, title=title, header_style="bold", show_edge=False, pad_edge=False)
    for row in cells:
        t.add_row(*("\n".join(break_identifier(row[i], layout.ident_widths[i])) if i in layout.ident_widths
                    else row[i] for i in layout.shown))
    if caption is None:
        return t
    # Under the table, wrapped between words at the terminal's width: a table's own caption is wrapped at the
    # table's, which a narrow table makes too narrow for a word.
    return Group(t, Text(caption, style="dim", overflow="fold"))


PROSE, BREAKABLE, WHOLE = "prose", "breakable", "whole"  # how a record's value may be laid out over lines


def record_lines(fields: Sequence[tuple[str, str, str]], width: int,
            label_width: int | None = None):  # -> rich.console.Group
    """`FIELD  value` lines; PROSE wraps under itself, between words (a word longer than the room left
    of `width` stays whole on a line of its own); a BREAKABLE identifier too long for the room is broken at its
    separators, as tables break it; a WHOLE one (a UUID, to be copied) goes whole on the line under its label."""
    from rich.cells import cell_len
    from rich.console import Group
    from rich.table import Column as RichColumn
    from rich.table import Table
    from rich.text import Text

    label_width = label_width or max(len(label) for label, _, _ in fields) + 2
    lines: list[Any] = []
    for label, value, how in fields:
        room, wrap = width - label_width, how == PROSE
        if how == WHOLE and cell_len(value) > room > 0:
            lines += [Text(label, style="bold"), Text(value, no_wrap=True, overflow="ignore")]
            continue
        if wrap and all(cell_len(word) <= room for word in value.split()):
            grid = Table.grid(RichColumn(width=label_width, no_wrap=True, style="bold"), RichColumn(overflow="fold"))
            grid.add_row(label, value)
            lines.append(grid)
        elif wrap or cell_len(value) > room > 0:
            # prose between words by hand (rich would fold the long word or cut the line); an identifier too long
            # for the room after its separators, as tables break it
            rows: list[str] = []
            for word in value.split() if wrap else ():
                if rows and cell_len(rows[-1]) + 1 + cell_len(word) <= room:
                    rows[-1] += " " + word
                else:
                    rows.append(word)
            for i, row in enumerate(rows if wrap else break_identifier(value, room)):
                lines.append(Text.assemble(((label if i == 0 else "").ljust(label_width), "bold"), row,
                                           no_wrap=True, overflow="ignore"))
        else:
            label = label.ljust(label_width) if value else label
            lines.append(Text.assemble((label, "bold"), value, no_wrap=True, overflow="ignore"))
    return Group(*lines)


def field_lines(fields: Sequence[tuple[str, Any]]) -> list[str]:
    """One `Field  value` line per field, values aligned (kubectl describe's way): a value is never
    broken, so a long ARN is one line to copy or grep; dicts and lists as compact JSON."""
    if not fields:
        return []
    width = max(len(label) for label, _ in fields) + 2
    return [label.ljust(width) + field_value(value) for label, value in fields]


def field_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json_text(jsonable(value), separators=(",", ":"))
    text = str(value)
    return json_text(text) if "\n" in text or "\r" in text else text


def plain_table(headers: Sequence[str], cells: Sequence[Sequence[str]], markdown: bool = False) -> str:
    from tabulate import tabulate

    return tabulate(cells, headers=headers, tablefmt="github" if markdown else "plain", disable_numparse=True)

