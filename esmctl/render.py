"""Everything esmctl prints: data to stdout (table, JSON, YAML, Markdown), messages to stderr.

rich draws tables for a terminal; tabulate draws plain tables when stdout is a pipe or a file,
and Markdown on request. Both are imported only when something is printed.

A terminal table fits the terminal's width without cutting anything: each Column says whether it
is an identifier (shown whole on one line, or not at all; a breakable one, such as a function or a
source, may go on over a few lines, broken after its `:` and `/`) or prose (wraps), and how much it
matters; `fit` leaves out the least important columns that do not fit and says so under the table,
and breaks long names before it leaves out a column that must stay (a verdict). One record
(`mapping get`) is `Field  value` lines, never broken inside a value.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click

from esmctl.context import Settings, color_enabled


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def queried(settings: Settings, data: Any) -> Any:
    """The document as JSON has it, narrowed by --query when given."""
    data = jsonable(data)
    return settings.query.search(data) if settings.query is not None else data


def dump(settings: Settings, data: Any) -> None:
    """Print data as JSON or YAML, whichever -o asked for (only the part --query picks, when given)."""
    data = queried(settings, data)
    if settings.output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(jsonable(data), sort_keys=False, default_flow_style=False), nl=False)
    else:
        click.echo(json.dumps(jsonable(data), indent=2))


def _console_colour(settings: Settings) -> dict[str, Any]:
    # rich's no_color drops colours but keeps bold, dim and underline; with no colour system at all
    # it writes no style escapes, which is what --no-color and NO_COLOR promise.
    return {} if color_enabled(settings) else {"color_system": None, "no_color": True}


def _forced_terminal() -> bool:
    # what makes rich write styles to a pipe
    return any(os.environ.get(name) is not None for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"))


def stdout_console(settings: Settings):  # -> rich.console.Console
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, emoji=False, **_console_colour(settings))


def stderr_console(settings: Settings):
    from rich.console import Console

    return Console(stderr=True, highlight=False, emoji=False, **_console_colour(settings))


# -- tables ----------------------------------------------------------------------------------------
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


def _cells(rows: Sequence[dict[str, Any]], columns: Sequence[Column]) -> list[list[str]]:
    return [["" if r.get(c.key) is None else str(r.get(c.key)) for c in columns] for r in rows]


def table(settings: Settings, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
          title: str | None = None, empty: str = "No mappings found.") -> None:
    """Rows as a table: rich at a terminal, tabulate when piped, Markdown with -o markdown."""
    if not rows:
        click.echo(empty, err=True)
        return
    if settings.output == "markdown" or not sys.stdout.isatty():
        click.echo(plain_table([c.header for c in columns], _cells(rows, columns), settings.output == "markdown"))
        return
    print_table(stdout_console(settings), rows, columns, title)


def print_table(console: Any, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
                title: str | None = None) -> None:
    """The table at the console's width (see terminal_table). Not cropped: a record's identifier
    longer than the terminal is left for the terminal to wrap, so that it still copies as one."""
    console.print(terminal_table(rows, columns, console.width, title), crop=False)


def terminal_table(rows: Sequence[dict[str, Any]], columns: Sequence[Column], width: int,
                   title: str | None = None):  # -> rich.console.RenderableType
    """A rich table no wider than `width`, identifiers whole and prose wrapped, with a caption naming
    the columns left out; or, when even the columns to keep do not fit side by side, one block of
    `FIELD  value` lines per row."""
    from rich.console import Group
    from rich.table import Column as RichColumn
    from rich.table import Table
    from rich.text import Text

    cells = _cells(rows, columns)
    layout = fit(columns, cells, width)
    if layout is None:
        blocks: list[Any] = [Text(title)] if title else []
        for row in cells:
            # an empty field is left out of its card, the labels of every card aligned alike
            fields = [(c.header, v, not c.identifier) for c, v in zip(columns, row, strict=True) if v.strip()]
            blocks += [_fields(fields, width, max(len(c.header) for c in columns) + 2), Text("")]
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


def _fields(fields: Sequence[tuple[str, str, bool]], width: int,
            label_width: int | None = None):  # -> rich.console.Group
    """`FIELD  value` lines; prose wraps under itself, between words (a word longer than the room left
    of `width` stays whole on a line of its own); anything else stays on its line."""
    from rich.cells import cell_len
    from rich.console import Group
    from rich.table import Column as RichColumn
    from rich.table import Table
    from rich.text import Text

    label_width = label_width or max(len(label) for label, _, _ in fields) + 2
    lines: list[Any] = []
    for label, value, wrap in fields:
        room = width - label_width
        if wrap and all(cell_len(word) <= room for word in value.split()):
            grid = Table.grid(RichColumn(width=label_width, no_wrap=True, style="bold"), RichColumn(overflow="fold"))
            grid.add_row(label, value)
            lines.append(grid)
        elif wrap:  # between words by hand: rich would fold the long word or cut the line
            rows: list[str] = []
            for word in value.split():
                if rows and cell_len(rows[-1]) + 1 + cell_len(word) <= room:
                    rows[-1] += " " + word
                else:
                    rows.append(word)
            for i, row in enumerate(rows):
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
    return [label.ljust(width) + _field_value(value) for label, value in fields]


def _field_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(jsonable(value), separators=(",", ":"))
    text = str(value)
    return json.dumps(text) if "\n" in text or "\r" in text else text


def fields(settings: Settings, pairs: Sequence[tuple[str, Any]]) -> None:
    """One record as `Field  value` lines: the same at a terminal and in a pipe; a table with -o markdown."""
    if settings.output == "markdown":
        click.echo(plain_table(["FIELD", "VALUE"], [[k, _field_value(v)] for k, v in pairs], markdown=True))
        return
    for line in field_lines(pairs):
        click.echo(line)


def plain_table(headers: Sequence[str], cells: Sequence[Sequence[str]], markdown: bool = False) -> str:
    from tabulate import tabulate

    return tabulate(cells, headers=headers, tablefmt="github" if markdown else "plain", disable_numparse=True)


def emit(settings: Settings, raw: Any, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
         **kw: Any) -> None:
    """The same data as the API's own fields (-o json|yaml) or as table rows."""
    if settings.output in ("json", "yaml"):
        dump(settings, raw)
    else:
        table(settings, rows, columns, **kw)


def message(settings: Settings, text: str) -> None:
    """A note for the person at the terminal: stderr, so stdout stays data."""
    click.echo(text, err=True)


def animated(settings: Settings) -> bool:
    """Spinners, bars and in-place refreshes: only at a terminal that may get escape codes. With
    --no-color (or NO_COLOR, or TERM=dumb) output is plain text, cursor movements included."""
    return sys.stderr.isatty() and color_enabled(settings) and os.environ.get("TERM") != "dumb"


@contextmanager
def spinner(settings: Settings, text: str) -> Iterator[Any]:
    """A spinner on stderr at a terminal; silence in CI. Yields a function to update its text."""
    if not animated(settings):
        yield lambda _text: None
        return
    with stderr_console(settings).status(text) as status:
        yield status.update


@contextmanager
def progress(settings: Settings, text: str, total: int) -> Iterator[Any]:
    """A progress bar on stderr at a terminal, a line per step otherwise. Yields `advance(line)`."""
    if not animated(settings):
        yield lambda line: click.echo(line, err=True)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=stderr_console(settings), transient=True) as bar:
        task = bar.add_task(text, total=total)

        def advance(line: str) -> None:
            bar.console.print(line, markup=False, highlight=False)
            bar.advance(task)

        yield advance


# Which mapping it is (the function and the stream or queue it reads: a long one is broken over lines), and
# STATE and LAST RESULT, which say whether it works, stay at any width. The UUID, the handle the other
# commands take, is whole or left out (said under the table; -o json has it): on an 80-column terminal it
# makes way for the source. How the mapping is configured goes first.
MAPPING_COLUMNS: list[Column] = [
    ident("UUID", priority=70), ident("FUNCTION", "Function", keep=True, breakable=True, min_width=12),
    ident("SOURCE", "Source", keep=True, breakable=True, min_width=16),
    ident("STATE", "State", keep=True), ident("BATCH", "BatchSize", priority=20),
    ident("START", "StartingPosition", priority=30), prose("LAST RESULT", "LastProcessingResult", keep=True),
]


def mapping_row(m: dict[str, Any]) -> dict[str, Any]:
    from esmctl.model import short_arn

    return {**m, "Function": short_arn(m.get("FunctionArn")), "Source": short_arn(m.get("EventSourceArn"))}


def mappings(settings: Settings, items: list[dict[str, Any]]) -> None:
    """A listing: the table by function then source (the API's order is by UUID, which says nothing to a reader);
    as JSON or YAML, ListEventSourceMappings' own document, in its order, as the AWS CLI prints it."""

    rows = sorted((mapping_row(m) for m in items), key=lambda r: (r["Function"] or "", r["Source"] or "",
                                                                  r.get("UUID") or ""))
    emit(settings, {"EventSourceMappings": items}, rows, MAPPING_COLUMNS)


def mapping(settings: Settings, item: dict[str, Any]) -> None:
    """One mapping: every field, one per line (see field_lines)."""
    if settings.output in ("json", "yaml"):
        dump(settings, item)
    else:
        fields(settings, list(item.items()))


# -- plans and apply results -------------------------------------------------------------------
_PLAN_STYLE = {"create": "green", "update": "yellow", "move": "yellow", "replace": "red", "delete": "red",
               "handoff": "magenta"}


def _value(v: Any) -> str:
    if v is None:
        return "(unset)"
    if isinstance(v, (dict, list)):
        return json.dumps(jsonable(v), separators=(", ", ": "), sort_keys=True)
    return json.dumps(v) if isinstance(v, (str, bool)) else str(v)


def title(function_arn: str | None, source_arn: str | None) -> str:
    """`orders-fn <- kinesis:orders`: how a mapping is named in messages."""
    from esmctl.model import short_arn

    return f"{short_arn(function_arn)} <- {short_arn(source_arn)}"


def change_title_of(m: dict[str, Any]) -> str:
    """The title of a live mapping as the API reports it."""
    from esmctl import model

    return model.live_mapping(m).title()


def _change_document(c: Any) -> dict[str, Any]:
    after = c.after
    source = (after.source_arn if after else None) or (c.before[0].source_arn if c.before else None)
    entry: dict[str, Any] = {
        "action": c.action.value, "function": c.key.function, "source": source or c.key.source, "uuid": c.uuid,
        "fields": {f.name: {"before": jsonable(f.before), "after": jsonable(f.after)} for f in shown_fields(c)},
    }
    if c.key.part:
        entry["topic" if (after or c.before[0]).kind in ("msk", "kafka") else "queue"] = c.key.part
    if after is not None and after.consumer is not None:
        entry["consumer"] = {"stream": after.consumer.stream_arn, "name": after.consumer.name,
                             "arn": after.consumer.arn}
    if len(c.before) > 1 or (c.action.destructive and c.action.value != "delete" and c.before):
        entry["replaces"] = [m.uuid for m in c.before]
    if c.reason:
        entry["reason"] = c.reason.text
    if after is not None and after.where:
        entry["where"] = str(after.where)
    if c.start_at:
        entry["startingPositionTimestamp"] = jsonable(c.start_at)
    entry["steps"] = [s.describe() for s in c.steps]
    return entry


def shown_fields(c: Any) -> list[Any]:
    """A change's fields as a plan shows them. A create sends the spec's Tags with the mapping, so they
    are shown as `Tags.KEY` entries, the way an update shows its tag changes."""
    fields = list(c.fields)
    if c.action.value == "create" and c.after is not None and c.after.tags:
        from esmctl.model import FieldChange

        named = {f.name for f in fields}
        fields += [FieldChange(f"Tags.{k}", None, v) for k, v in sorted(c.after.tags.items())
                   if f"Tags.{k}" not in named]
    return fields


def plan_document(plan: Any) -> dict[str, Any]:
    """The machine-readable plan (`-o json|yaml`); its shape is documented in docs/plan-format.md."""
    from esmctl.plan.types import PLAN_ACTIONS

    return {
        "version": 1,
        "changes": [_change_document(c) for c in plan.changes],
        "unmanaged": [{"uuid": m.uuid, "function": m.key.function, "source": m.source_arn or m.key.source,
                       "short": m.title()} for m in plan.unmanaged],
        "notes": [{"mapping": n.key.describe(), "function": n.key.function, "note": n.text} for n in plan.notes],
        "paused": [{"uuid": p.mapping.uuid, "function": p.mapping.key.function,
                    "source": p.mapping.source_arn or p.mapping.key.source, "short": p.mapping.title(),
                    "since": p.pause.since, "reason": p.pause.reason} for p in plan.paused],
        "summary": {**{a.value: plan.count(a) for a in PLAN_ACTIONS}, "in_sync": plan.in_sync},
    }


def apply_document(plan: Any, results: list[Any], *, applied: bool, interrupted: bool = False) -> dict[str, Any]:
    """`apply -o json`: always the same shape, whether anything changed or not (or Ctrl-C stopped it)."""
    return {"plan": plan_document(plan), "applied": applied, "interrupted": interrupted,
            "results": result_documents(results)}


def plan_lines(plan: Any) -> list[tuple[str, str]]:
    """The plan as (style, text) lines, Terraform's way: a symbol per change, only the changed
    fields, old → new. The summary line is not among them (see plan_summary)."""
    out: list[tuple[str, str]] = []
    for c in plan.changes:
        head = f"{c.action.symbol} {c.action.value} {c.title()}"
        if c.uuid:
            head += f" ({c.uuid})"
        out.append((_PLAN_STYLE[c.action.value], head))
        if c.reason:
            out.append(("dim", f"    # {c.reason.text}"))
        for f in shown_fields(c):
            if c.action.value == "create":
                out.append(("", f"      {f.name}: {_value(f.after)}"))
            elif f.after is None and f.name == "EventSourceArn":
                out.append(("", f"      {f.name}: {_value(f.before)} → (deleted)"))
            else:
                out += [("", f"      {name}: {before} → {after}") for name, before, after in leaf_changes(f)]
    for n in plan.notes:
        out.append(("yellow", f"! {n.key.describe()}: {n.text}"))
    if plan.unmanaged:
        out.append(("dim", "Unmanaged: live mappings of the spec's functions that the spec does not list "
                           "(apply --prune would delete them):"))
        for m in plan.unmanaged:
            out.append(("dim", f"    {m.uuid}  {m.title()}"))
    return out


def leaf_changes(f: Any) -> list[tuple[str, str, str]]:
    """A changed field as (dotted name, before, after) of each value that changed inside it: a structure
    (DestinationConfig, ScalingConfig…) by its leaves, `DestinationConfig.OnFailure.Destination: orders-dlq →
    jobs-dlq`, not two whole JSON documents. Lists are compared whole; two ARNs that differ only in their
    resource show only that."""
    def walk(name: str, before: Any, after: Any) -> list[tuple[str, str, str]]:
        structures = all(isinstance(v, dict) or v is None for v in (before, after))
        if structures and (isinstance(before, dict) or isinstance(after, dict)):
            b, a = before or {}, after or {}
            leaves = [leaf for k in sorted(set(b) | set(a), key=str) if b.get(k) != a.get(k)
                      for leaf in walk(f"{name}.{k}", b.get(k), a.get(k))]
            return leaves or [(name, _value(before), _value(after))]
        if isinstance(before, dict) or isinstance(after, dict):  # a structure against a value: both whole
            return [(name, _value(before), _value(after))]
        return [(name, *_arn_pair(before, after))]

    return walk(f.name, f.before, f.after)


def _arn_pair(before: Any, after: Any) -> tuple[str, str]:
    if isinstance(before, str) and isinstance(after, str) and before.startswith("arn:") and after.startswith("arn:"):
        b, a = before.split(":", 5), after.split(":", 5)
        if len(b) == len(a) == 6 and b[:5] == a[:5] and ":" not in b[5] + a[5]:
            return b[5], a[5]
    return _value(before), _value(after)


def plan_summary(plan: Any) -> str:
    paused = f"{len(plan.paused)} paused by esmctl pause (esmctl resume enables them)" if plan.paused else ""
    if plan.empty:
        return "No changes. The live mappings match the spec" + (f"; {paused}." if paused else ".")
    from esmctl.plan.types import Action

    line = "Plan: {} to create, {} to update, {} to replace, {} to delete".format(
        *(plan.count(a) for a in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE)))
    if plan.count(Action.MOVE):
        line += f", {plan.count(Action.MOVE)} to move"
    if plan.count(Action.HANDOFF):
        line += f", {plan.count(Action.HANDOFF)} to hand off"
    if plan.count(Action.REPLACE):
        line += " (replacing needs --allow-replace)"
    return line + (f"; {paused}." if paused else ".")


def plan(settings: Settings, plan: Any) -> None:
    """The plan on stdout: text (coloured at a terminal), JSON/YAML, or a Markdown diff block."""
    if settings.output in ("json", "yaml"):
        dump(settings, plan_document(plan))
        return
    lines = plan_lines(plan)
    if settings.output == "markdown":
        # A ```diff block keeps + and - lines from turning into bullets in a pull-request comment.
        if lines:
            click.echo("```diff\n" + "\n".join(text for _, text in lines) + "\n```")
        click.echo(f"\n**{plan_summary(plan)}**" if lines else f"**{plan_summary(plan)}**")
        return
    if not (sys.stdout.isatty() or _forced_terminal()):
        # not a terminal: no styles and no wrapping, so the lines as they are, without importing rich (~25-60 ms)
        click.echo("".join(f"{text}\n" for _, text in lines) + plan_summary(plan))
        return
    from rich.markup import escape

    console = stdout_console(settings)
    console.soft_wrap = True
    for style, text in lines:
        if console.is_terminal and text.startswith(("    # ", "! ")) and len(text) > console.width:
            text = _wrapped(text, console.width)  # a long reason, at the terminal's width, its lines hanging in
        console.print(f"[{style}]{escape(text)}[/]" if style else escape(text))
    console.print(f"[bold]{escape(plan_summary(plan))}[/]")


def _wrapped(text: str, width: int) -> str:
    """A reason or a note as lines of `width`, broken between words (a word longer than that, an ARN, stays
    whole), the lines after the first under the text after its `# ` or `! `."""
    import textwrap

    head = "    # " if text.startswith("    # ") else "! "
    return "\n".join(textwrap.wrap(text, width=width, subsequent_indent=" " * len(head), break_long_words=False,
                                    break_on_hyphens=False))


def result_documents(results: list[Any]) -> list[dict[str, Any]]:
    return [{"action": r.change.action.value, "function": r.change.key.function,
             "source": r.source or _change_document(r.change)["source"], "uuid": r.uuid, "ok": r.ok,
             "status": r.status.value, "message": r.message, "exists": r.exists,
             "stepsDone": [s.describe() for s in r.done], "skipped": r.skipped}
            for r in results]


_RESULT_LABELS = {"done": "ok", "interrupted": "INTERRUPTED", "not-started": "NOT STARTED"}


def result_label(r: Any) -> str:
    """`ok`, `FAILED` (a skipped prune too), `INTERRUPTED` or `NOT STARTED`: how a result begins."""
    return _RESULT_LABELS.get(r.status.value, "FAILED")


# A result names its mapping (a failed create has no UUID yet) and says what happened; the UUID of
# the mapping is the one column that may go (plan and list show it).
RESULT_COLUMNS: list[Column] = [
    ident("ACTION", "Action", keep=True), ident("MAPPING", "Mapping", keep=True), ident("UUID", priority=90),
    prose("RESULT", "Result", keep=True, min_width=20),
]


def result_rows(results: list[Any]) -> list[dict[str, Any]]:
    """execute.Results as table rows; a done change's result does not repeat the UUID beside it."""
    def said(r: Any) -> str:
        message = r.message.replace(f" {r.uuid}", "") if r.uuid and r.status.value == "done" else r.message
        return f"{result_label(r)}: {message}"

    return [{"Action": r.change.action.value, "Mapping": r.change.title(), "UUID": r.uuid or "", "Result": said(r)}
            for r in results]


def results(settings: Settings, results: list[Any]) -> None:
    table(settings, result_rows(results), RESULT_COLUMNS, empty="Nothing to do.")
