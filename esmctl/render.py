"""Everything esmctl prints: data to stdout (table, JSON, YAML, Markdown), messages to stderr.

rich draws tables for a terminal; tabulate draws plain tables when stdout is a pipe or a file,
and Markdown on request. Both are imported only when something is printed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import click

from esmctl.context import Settings, color_enabled

Column = tuple[str, str]  # (header, key in the row dict)


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def dump(settings: Settings, data: Any) -> None:
    """Print data as JSON or YAML, whichever -o asked for."""
    if settings.output == "yaml":
        import yaml

        click.echo(yaml.safe_dump(jsonable(data), sort_keys=False, default_flow_style=False), nl=False)
    else:
        click.echo(json.dumps(jsonable(data), indent=2))


def stdout_console(settings: Settings):  # -> rich.console.Console
    from rich.console import Console

    return Console(no_color=not color_enabled(settings), highlight=False, soft_wrap=False)


def stderr_console(settings: Settings):
    from rich.console import Console

    return Console(stderr=True, no_color=not color_enabled(settings), highlight=False)


def table(settings: Settings, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
          title: str | None = None, empty: str = "No mappings found.") -> None:
    """Rows as a table: rich at a terminal, tabulate when piped, Markdown with -o markdown."""
    if not rows:
        click.echo(empty, err=True)
        return
    headers = [h for h, _ in columns]
    cells = [["" if r.get(k) is None else str(r.get(k)) for _, k in columns] for r in rows]
    if settings.output == "markdown" or not sys.stdout.isatty():
        from tabulate import tabulate

        fmt = "github" if settings.output == "markdown" else "plain"
        click.echo(tabulate(cells, headers=headers, tablefmt=fmt, disable_numparse=True))
        return
    from rich.table import Table

    t = Table(title=title, header_style="bold", show_edge=False, pad_edge=False)
    for h in headers:
        t.add_column(h, overflow="fold")
    for row in cells:
        t.add_row(*row)
    stdout_console(settings).print(t)


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


@contextmanager
def spinner(settings: Settings, text: str) -> Iterator[Any]:
    """A spinner on stderr at a terminal; silence in CI. Yields a function to update its text."""
    if not sys.stderr.isatty():
        yield lambda _text: None
        return
    with stderr_console(settings).status(text) as status:
        yield status.update


MAPPING_COLUMNS: list[Column] = [
    ("UUID", "UUID"), ("FUNCTION", "Function"), ("SOURCE", "Source"), ("STATE", "State"),
    ("BATCH", "BatchSize"), ("START", "StartingPosition"), ("LAST RESULT", "LastProcessingResult"),
]


def mapping_row(m: dict[str, Any]) -> dict[str, Any]:
    from esmctl.model import short_arn

    return {**m, "Function": short_arn(m.get("FunctionArn")), "Source": short_arn(m.get("EventSourceArn"))}


def mappings(settings: Settings, items: list[dict[str, Any]]) -> None:
    emit(settings, items, [mapping_row(m) for m in items], MAPPING_COLUMNS)


def mapping(settings: Settings, item: dict[str, Any]) -> None:
    """One mapping: every field, one per line."""
    if settings.output in ("json", "yaml"):
        dump(settings, item)
        return
    rows = [{"Field": k, "Value": json.dumps(jsonable(v)) if isinstance(v, (dict, list)) else v}
            for k, v in item.items()]
    table(settings, rows, [("FIELD", "Field"), ("VALUE", "Value")])
