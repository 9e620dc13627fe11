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


def _console_colour(settings: Settings) -> dict[str, Any]:
    # rich's no_color drops colours but keeps bold, dim and underline; with no colour system at all
    # it writes no style escapes, which is what --no-color and NO_COLOR promise.
    return {} if color_enabled(settings) else {"color_system": None, "no_color": True}


def stdout_console(settings: Settings):  # -> rich.console.Console
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, **_console_colour(settings))


def stderr_console(settings: Settings):
    from rich.console import Console

    return Console(stderr=True, highlight=False, **_console_colour(settings))


def table(settings: Settings, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
          title: str | None = None, empty: str = "No mappings found.") -> None:
    """Rows as a table: rich at a terminal, tabulate when piped, Markdown with -o markdown."""
    if not rows:
        click.echo(empty, err=True)
        return
    headers = [h for h, _ in columns]
    cells = [["" if r.get(k) is None else str(r.get(k)) for _, k in columns] for r in rows]
    if settings.output == "markdown" or not sys.stdout.isatty():
        click.echo(plain_table(headers, cells, settings.output == "markdown"))
        return
    console = stdout_console(settings)
    console.print(rich_table(headers, cells, title, console.width))


_PROSE_COLUMNS = {"REASON", "LAST RESULT", "VERDICT", "FINDING", "FIX", "RESULT", "VALUE", "USED BY", "METRICS",
                  "MAPPING", "ITERATOR AGE"}


def rich_table(headers: Sequence[str], cells: Sequence[Sequence[str]], title: str | None = None,
               width: int | None = None):
    from rich.table import Table

    t = Table(title=title, header_style="bold", show_edge=False, pad_edge=False)
    # Identifiers keep their width (a UUID whole) and prose columns take the wrapping — as long as
    # that fits the terminal; when it does not, everything folds rather than columns being cut off.
    widths = [None if h in _PROSE_COLUMNS else min(max([len(h)] + [len(row[i]) for row in cells]), 36)
              for i, h in enumerate(headers)]
    if width is not None and sum(w or 8 for w in widths) + 3 * len(widths) > width:
        widths = [None] * len(widths)
    for h, min_width in zip(headers, widths, strict=True):
        t.add_column(h, overflow="fold", min_width=min_width)
    for row in cells:
        t.add_row(*row)
    return t


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


@contextmanager
def spinner(settings: Settings, text: str) -> Iterator[Any]:
    """A spinner on stderr at a terminal; silence in CI. Yields a function to update its text."""
    if not sys.stderr.isatty():
        yield lambda _text: None
        return
    with stderr_console(settings).status(text) as status:
        yield status.update


@contextmanager
def progress(settings: Settings, text: str, total: int) -> Iterator[Any]:
    """A progress bar on stderr at a terminal, a line per step otherwise. Yields `advance(line)`."""
    if not sys.stderr.isatty():
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


# -- plans and apply results -------------------------------------------------------------------
_PLAN_STYLE = {"create": "green", "update": "yellow", "replace": "red", "delete": "red", "handoff": "magenta"}


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
        "action": c.action, "function": c.key.function, "source": source or c.key.source, "uuid": c.uuid,
        "fields": {f.name: {"before": jsonable(f.before), "after": jsonable(f.after)} for f in c.fields},
    }
    if c.key.part:
        entry["topic" if (after or c.before[0]).kind in ("msk", "kafka") else "queue"] = c.key.part
    if after is not None and after.consumer is not None:
        entry["consumer"] = {"stream": after.consumer.stream_arn, "name": after.consumer.name,
                             "arn": after.consumer.arn}
    if len(c.before) > 1 or (c.action in ("handoff", "replace") and c.before):
        entry["replaces"] = [m.uuid for m in c.before]
    if c.reason:
        entry["reason"] = c.reason
    if after is not None and after.where:
        entry["where"] = after.where
    if c.start_at:
        entry["startingPositionTimestamp"] = jsonable(c.start_at)
    entry["steps"] = [s.describe() for s in c.steps]
    return entry


def plan_document(plan: Any) -> dict[str, Any]:
    """The machine-readable plan (`-o json|yaml`); its shape is documented in docs/plan-format.md."""
    from esmctl.plan import ACTIONS

    return {
        "version": 1,
        "changes": [_change_document(c) for c in plan.changes],
        "unmanaged": [{"uuid": m.uuid, "function": m.key.function, "source": m.source_arn or m.key.source,
                       "short": m.title()} for m in plan.unmanaged],
        "notes": [{"mapping": n.key.describe(), "function": n.key.function, "note": n.text} for n in plan.notes],
        "summary": {**{a: plan.count(a) for a in ACTIONS}, "in_sync": plan.in_sync},
    }


def apply_document(plan: Any, results: list[Any], *, applied: bool) -> dict[str, Any]:
    """`apply -o json`: always the same shape, whether anything changed or not."""
    return {"plan": plan_document(plan), "applied": applied, "results": result_documents(results)}


def plan_lines(plan: Any) -> list[tuple[str, str]]:
    """The plan as (style, text) lines, Terraform's way: a symbol per change, only the changed
    fields, old → new. The summary line is not among them (see plan_summary)."""
    from esmctl.plan import SYMBOLS

    out: list[tuple[str, str]] = []
    for c in plan.changes:
        head = f"{SYMBOLS[c.action]} {c.action} {c.title()}"
        if c.uuid:
            head += f" ({c.uuid})"
        out.append((_PLAN_STYLE[c.action], head))
        if c.reason:
            out.append(("dim", f"    # {c.reason}"))
        for f in c.fields:
            if c.action == "create":
                out.append(("", f"      {f.name}: {_value(f.after)}"))
            elif f.after is None and f.name == "EventSourceArn":
                out.append(("", f"      {f.name}: {_value(f.before)} → (deleted)"))
            else:
                out.append(("", f"      {f.name}: {_value(f.before)} → {_value(f.after)}"))
    for n in plan.notes:
        out.append(("yellow", f"! {n.key.describe()}: {n.text}"))
    if plan.unmanaged:
        out.append(("dim", "Unmanaged: live mappings of the spec's functions that the spec does not list "
                           "(apply --prune would delete them):"))
        for m in plan.unmanaged:
            out.append(("dim", f"    {m.uuid}  {m.title()}"))
    return out


def plan_summary(plan: Any) -> str:
    if plan.empty:
        return "No changes. The live mappings match the spec."
    line = "Plan: {} to create, {} to update, {} to replace, {} to delete".format(
        *(plan.count(a) for a in ("create", "update", "replace", "delete")))
    if plan.count("handoff"):
        line += f", {plan.count('handoff')} to hand off"
    if plan.count("replace"):
        line += " (replacing needs --allow-replace)"
    return line + "."


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
    from rich.markup import escape

    console = stdout_console(settings)
    console.soft_wrap = True
    for style, text in lines:
        console.print(f"[{style}]{escape(text)}[/]" if style else escape(text))
    console.print(f"[bold]{escape(plan_summary(plan))}[/]")


def result_documents(results: list[Any]) -> list[dict[str, Any]]:
    return [{"action": r.change.action, "function": r.change.key.function,
             "source": _change_document(r.change)["source"], "uuid": r.uuid, "ok": r.ok, "message": r.message,
             "exists": r.exists, "stepsDone": [s.describe() for s in r.done], "skipped": r.skipped}
            for r in results]


def results(settings: Settings, results: list[Any]) -> None:
    rows = [{"Action": r.change.action, "Mapping": r.change.title(), "UUID": r.uuid or "",
             "Result": ("ok: " if r.ok else "FAILED: ") + r.message} for r in results]
    table(settings, rows, [("ACTION", "Action"), ("MAPPING", "Mapping"), ("UUID", "UUID"), ("RESULT", "Result")],
          empty="Nothing to do.")
