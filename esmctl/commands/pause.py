"""`esmctl pause` and `esmctl resume`: stop mappings for an incident, and start exactly those again.

Thin: which mappings and what to do to them is `pauses.pause` / `pauses.resume`, in one account and
region (one Aws); this module reads the options, asks before writing, prints, and decides the outcome.
"""

from __future__ import annotations

import functools
from typing import Any

import click

from esmctl.commands import output, shared
from esmctl.commands.shared import (
    Seconds,
    common_options,
    complete_function,
    ctrl_c,
    load_spec,
    pass_settings,
    source_arns,
    var_option,
)
from esmctl.context import Settings
from esmctl.errors import EsmctlError, Interrupted, UsageProblem
from esmctl.views.mappings import change_title_of
from esmctl.views.tables import ident, prose


def _reason(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """--reason goes into a tag value: refused before anything is sent if it cannot."""
    if value is None:
        return ""
    from esmctl.mapping.marks import pause_reason_problem
    from esmctl.schema import tag_value_refused

    problem = pause_reason_problem(value, tag_value_refused(value))
    if problem:
        raise click.BadParameter(problem, ctx=ctx, param=param)
    return value


def _selection_options(f):
    f = var_option(f)
    f = click.option("--source", "sources", multiple=True, metavar="ARN",
                     callback=functools.partial(source_arns, placeholders=True),
                     help="The mappings of this event source; repeatable.")(f)
    f = click.option("--function", "functions", multiple=True, metavar="NAME|ARN", shell_complete=complete_function,
                     help="The mappings of this function (every alias and version, unless one is given); "
                          "repeatable.")(f)
    return click.argument("files", nargs=-1, type=click.Path(allow_dash=True))(f)


def _run_options(f):
    f = click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
                     help="Mappings changed at once (Lambda allows 15 requests/s per account and region).")(f)
    f = click.option("--timeout", type=Seconds(), default=300, show_default=True,
                     help="Seconds for every wait together.")(f)
    f = click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")(f)
    return click.option("-y", "--yes", is_flag=True, help="Don't ask.")(f)


# What happened to each mapping stays at any width, with which mapping it is and why; the UUID and the
# state go first when the terminal is narrow.
RESULT_COLUMNS = [
    ident("OUTCOME", "Outcome", keep=True), ident("FUNCTION", "Function", keep=True, breakable=True, min_width=10),
    ident("SOURCE", "Source", keep=True, breakable=True, min_width=14), ident("UUID", priority=40),
    ident("STATE", "State", priority=30), prose("DETAILS", "Details", keep=True, min_width=20),
]


def result_rows(results: list[Any]) -> list[dict[str, str]]:
    from esmctl.mapping.identity import short_arn

    return [{"Outcome": r.outcome.upper() if r.outcome == "failed" else r.outcome,
             "Function": short_arn(r.item.function_arn) or "-", "Source": short_arn(r.item.source_arn) or "-",
             "UUID": r.item.uuid or "", "State": r.state or "", "Details": r.message} for r in results]


def interrupted_outcomes(results: list[Any], action: str) -> str:
    """`interrupted: 3 of 8 mapping(s) paused, 2 interrupted, 3 not started; run esmctl pause again to finish`."""
    from collections import Counter

    count = Counter(r.outcome for r in results)
    done = "paused" if action == "pause" else "resumed"
    parts = [f"{count[done]} of {len(results)} mapping(s) {done}"]
    parts += [f"{count[o]} {o}" for o in ("interrupted", "not started", "failed") if count[o]]
    return f"interrupted: {', '.join(parts)}; run esmctl {action} again to finish"


def _command(settings: Settings, action: str, files: tuple[str, ...], functions: tuple[str, ...],
             sources: tuple[str, ...], variables: tuple[str, ...], yes: bool, dry_run: bool, **run: Any) -> Any:
    from esmctl import pausing
    from esmctl.execute import Interrupt
    from esmctl.plan import pauses

    if not files and not functions and not sources:
        raise UsageProblem(f"{action}: give a spec FILE, --function NAME or --source ARN")
    fleet = shared.fleet_mode(settings, files)
    if not fleet and any("${" in s for s in sources):
        raise UsageProblem("--source: ${NAME} is filled for each target with --targets; in one region, give the ARN "
                           "itself")
    if fleet:
        from esmctl.commands import fleet_runs

        interrupt = Interrupt()
        return fleet_runs.pause_or_resume(settings, action, files, functions, sources, variables, yes=yes,
                                          dry_run=dry_run, rows=result_rows, columns=RESULT_COLUMNS,
                                          interrupt=interrupt, guard=lambda: ctrl_c(settings, interrupt), **run)
    selection = pauses.Selection(load_spec(settings, files, variables) if files else None, functions, sources)
    verb = {"pause": "Pause", "resume": "Resume"}[action]
    effect = {"pause": "they stop processing until `esmctl resume`",
              "resume": "they start processing again"}[action]

    def ask(items: list[Any]) -> bool:
        names = ", ".join(change_title_of(i.mapping) for i in items[:5]) + (", …" if len(items) > 5 else "")
        return output.confirm(f"{verb} {len(items)} mapping(s) ({names})? {effect[0].upper()}{effect[1:]}.", yes,
                              f"refusing to {action} {len(items)} mapping(s) without confirmation")

    carry_out = pausing.pause if action == "pause" else pausing.resume
    interrupt = Interrupt()
    results = carry_out(settings.aws, selection, dry_run=dry_run, confirm=ask, interrupt=interrupt,
                        guard=lambda: ctrl_c(settings, interrupt), **run)
    if settings.output in ("json", "yaml"):
        output.dump(settings, [r.document() for r in results])
    else:
        output.table(settings, result_rows(results), RESULT_COLUMNS, empty=f"No mappings to {action}.")
    if interrupt:
        raise Interrupted(interrupted_outcomes(results, action))
    failed = [r for r in results if not r.ok]
    if failed:
        first = "; ".join(r.message for r in failed[:3]) + ("; …" if len(failed) > 3 else "")
        raise EsmctlError(f"{action}: {len(failed)} of {len(results)} failed: {first}")


@click.command("pause")
@_selection_options
@click.option("--reason", callback=_reason, metavar="TEXT",
              help="Why, kept in the pause mark (letters, digits, spaces and _ . : / = + - @).")
@_run_options
@shared.fleet_options
@common_options
@pass_settings
def pause_cmd(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...],
              variables: tuple[str, ...], reason: str, yes: bool, dry_run: bool, timeout: float,
              concurrency: int) -> Any:
    """Stop mappings for an incident: disable them, marked paused, until `esmctl resume` (apply leaves them so).

    The mappings of spec FILES, of --function or of --source. Each Enabled one is tagged esmctl:paused (the
    time, and --reason), then disabled; a stream mapping keeps its position. Mappings already Disabled are
    left as they are (one Disabled by hand is not marked, so resume leaves it Disabled). Run it again after
    an interruption: it finishes. Exit 0 ok, 1 when any mapping failed or a --function/--source found none.
    """
    return _command(settings, "pause", files, functions, sources, variables, yes, dry_run, reason=reason,
             timeout=timeout, concurrency=concurrency)


@click.command("resume")
@_selection_options
@_run_options
@shared.fleet_options
@common_options
@pass_settings
def resume_cmd(settings: Settings, files: tuple[str, ...], functions: tuple[str, ...], sources: tuple[str, ...],
               variables: tuple[str, ...], yes: bool, dry_run: bool, timeout: float, concurrency: int) -> Any:
    """Start again exactly the mappings `esmctl pause` stopped, and remove their pause mark.

    Of the mappings of spec FILES, --function or --source, only those tagged esmctl:paused are enabled
    (a mapping Disabled by hand, or by the spec, stays Disabled); each is enabled, waited for until
    Enabled, then untagged. Run it again after an interruption: it finishes. Exit 0 ok, 1 when any
    mapping failed or a --function/--source found none.
    """
    return _command(settings, "resume", files, functions, sources, variables, yes, dry_run, timeout=timeout,
             concurrency=concurrency)


COMMANDS = [pause_cmd, resume_cmd]
