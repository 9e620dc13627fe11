"""The only code that prints: data to stdout (table, JSON, YAML, Markdown), messages, questions and progress
to stderr. The views (esmctl/views/) lay the output out; this module chooses how it reaches the reader:
rich at a terminal, tabulate when stdout is a pipe or a file, Markdown on request. Both are imported only when
something is printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from esmctl.context import Settings, color_enabled
from esmctl.views.document import json_text, jsonable, queried, yaml_text
from esmctl.views.mappings import MAPPING_COLUMNS, mapping_rows
from esmctl.views.plan import plan_document, plan_lines, plan_summary, wrapped
from esmctl.views.results import RESULT_COLUMNS, result_rows
from esmctl.views.tables import Column, field_lines, field_value, plain_table, table_cells, terminal_table


def dump(settings: Settings, data: Any) -> None:
    """Print data as JSON or YAML, whichever -o asked for (only the part --query picks, when given)."""
    data = queried(settings, data)
    if settings.output == "yaml":
        click.echo(yaml_text(jsonable(data)), nl=False)
    else:
        click.echo(json_text(jsonable(data), indent=2))


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
def table(settings: Settings, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
          title: str | None = None, empty: str = "No mappings found.") -> None:
    """Rows as a table: rich at a terminal, tabulate when piped, Markdown with -o markdown."""
    if not rows:
        click.echo(empty, err=True)
        return
    if settings.output == "markdown" or not sys.stdout.isatty():
        click.echo(plain_table([c.header for c in columns], table_cells(rows, columns), settings.output == "markdown"))
        return
    print_table(stdout_console(settings), rows, columns, title)


def print_table(console: Any, rows: Sequence[dict[str, Any]], columns: Sequence[Column],
                title: str | None = None) -> None:
    """The table at the console's width (see terminal_table). Not cropped: a record's identifier
    longer than the terminal is left for the terminal to wrap, so that it still copies as one."""
    console.print(terminal_table(rows, columns, console.width, title), crop=False)


def fields(settings: Settings, pairs: Sequence[tuple[str, Any]]) -> None:
    """One record as `Field  value` lines: the same at a terminal and in a pipe; a table with -o markdown."""
    if settings.output == "markdown":
        click.echo(plain_table(["FIELD", "VALUE"], [[k, field_value(v)] for k, v in pairs], markdown=True))
        return
    for line in field_lines(pairs):
        click.echo(line)


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


# -- views -----------------------------------------------------------------------------------------
def mappings(settings: Settings, items: list[dict[str, Any]]) -> None:
    """A listing: the table by function then source; as JSON or YAML, ListEventSourceMappings' own document, in
    its order, as the AWS CLI prints it."""
    emit(settings, {"EventSourceMappings": items}, mapping_rows(items), MAPPING_COLUMNS)


def mapping(settings: Settings, item: dict[str, Any]) -> None:
    """One mapping: every field, one per line (see field_lines)."""
    if settings.output in ("json", "yaml"):
        dump(settings, item)
    else:
        fields(settings, list(item.items()))


def plan(settings: Settings, plan: Any, replace_allowed: bool = False) -> None:
    """The plan on stdout: text (coloured at a terminal), JSON/YAML, or a Markdown diff block (`replace_allowed`:
    an apply given --allow-replace, whose summary does not remind of it)."""
    if settings.output in ("json", "yaml"):
        dump(settings, plan_document(plan))
        return
    lines = plan_lines(plan)
    if settings.output == "markdown":
        # A ```diff block keeps + and - lines from turning into bullets in a pull-request comment.
        if lines:
            click.echo("```diff\n" + "\n".join(text for _, text in lines) + "\n```")
        summary = plan_summary(plan, replace_allowed)
        click.echo(f"\n**{summary}**" if lines else f"**{summary}**")
        return
    if not (sys.stdout.isatty() or _forced_terminal()):
        # not a terminal: no styles and no wrapping, so the lines as they are, without importing rich (~25-60 ms)
        click.echo("".join(f"{text}\n" for _, text in lines) + plan_summary(plan, replace_allowed))
        return
    from rich.markup import escape

    console = stdout_console(settings)
    console.soft_wrap = True
    for style, text in lines:
        if console.is_terminal and text.startswith(("    # ", "! ")) and len(text) > console.width:
            text = wrapped(text, console.width)  # a long reason, at the terminal's width, its lines hanging in
        console.print(f"[{style}]{escape(text)}[/]" if style else escape(text))
    console.print(f"[bold]{escape(plan_summary(plan, replace_allowed))}[/]")


def results(settings: Settings, results: list[Any]) -> None:
    table(settings, result_rows(results), RESULT_COLUMNS, empty="Nothing to do.")


def consent_to_apply(yes: bool, destructive: int, targets: int | None = None) -> bool:
    """apply's question, as Terraform asks it: at a terminal without --yes, once, before any change (`Enabled:
    false` stops processing as `pause` does), the changes that delete, replace or hand off counted in it. True
    with --yes or a yes at the terminal; False where nothing can be asked (the caller refuses the destructive
    changes there, which alone need --yes). `targets`: the number of targets with changes, for --targets."""
    if yes:
        return True
    if not sys.stdin.isatty():
        return False
    where = f" in {targets} target(s)" if targets is not None else ""
    risky = f" {destructive} of them delete, replace or hand off mappings." if destructive else ""
    confirm(f"Do you want to perform these actions{where}?{risky}", yes, "")
    return True


def confirm(question: str, yes: bool, refusal: str) -> bool:
    """Go on only with --yes, or after a yes at a terminal; otherwise stop before any write. True when a person
    answered (time passed: what was read before the question may have changed), False with --yes."""
    from esmctl.errors import EsmctlError, Interrupted

    if yes:
        return False
    if not sys.stdin.isatty():
        raise EsmctlError(f"{refusal}: pass --yes (stdin is not a terminal, so esmctl cannot ask)")
    try:
        answer = click.confirm(question, default=False, err=True)
    except click.Abort:  # Ctrl-C (or the end of input) at the question: 130, as Ctrl-C anywhere else
        click.echo("", err=True)
        raise Interrupted("interrupted at the question: nothing was changed") from None
    if not answer:
        raise EsmctlError("aborted: nothing was changed")
    return True
