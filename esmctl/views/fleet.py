"""A fleet run as one document: a section per target (text, Markdown) or one JSON/YAML document, then a table
of the targets and a summary line. Reads the targets' outcomes (targets.TargetOutcome); decides nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import click

from esmctl import render
from esmctl.context import Settings
from esmctl.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNHEALTHY, worst
from esmctl.targets import CHANGES, FAILED, OK, SKIPPED, UNHEALTHY, Applied, TargetOutcome


@dataclass(frozen=True)
class View:
    """How one command shows a target's result: a section of text, a part of the JSON document, a summary."""

    section: Callable[[Settings, Any], None]
    document: Callable[[Any], dict[str, Any]]
    detail: Callable[[Any], str]
    ok: str  # what `ok` means here: in sync, applied, healthy
    quiet: Callable[[Any], bool] = lambda _result: False  # a result with nothing to show: no section of its own


def _plan_detail(plan: Any) -> str:
    if plan.empty:
        return "in sync"
    from esmctl.plan.types import PLAN_ACTIONS

    counts = [f"{plan.count(a)} to {a}" for a in PLAN_ACTIONS if plan.count(a)]
    return ", ".join(counts).replace("to handoff", "to hand off")


def _apply_detail(applied: Applied) -> str:
    if not applied.applied:
        return _plan_detail(applied.plan) + ("" if applied.plan.empty else " (not applied)")
    failed = sum(not r.ok for r in applied.results)
    done = len(applied.results) - failed
    return f"{done} change(s) applied" + (f", {failed} failed" if failed else "")


def _apply_section(settings: Settings, applied: Applied) -> None:
    if applied.applied:
        render.results(settings, applied.results)
    else:
        click.echo(render.plan_summary(applied.plan) if applied.plan.empty else "Not applied.")


PLAN_VIEW = View(section=render.plan, document=lambda p: {"plan": render.plan_document(p)}, detail=_plan_detail,
                   ok="in sync")
PLANNED_VIEW = View(section=lambda s, a: render.plan(s, a.plan), document=lambda a: {}, detail=lambda a: "",
                      ok="in sync")
APPLY_VIEW = View(section=_apply_section,
                    document=lambda a: render.apply_document(a.plan, a.results, applied=a.applied,
                                                             interrupted=a.interrupted),
                    detail=_apply_detail, ok="in sync")


def target_code(outcome: TargetOutcome, changes_code: bool = True) -> int:
    """A target's own exit status, by the policy of the whole run."""
    if outcome.status in (FAILED, SKIPPED):
        return EXIT_ERROR
    if outcome.status == UNHEALTHY:
        return EXIT_UNHEALTHY
    if outcome.status == CHANGES and changes_code:
        return EXIT_CHANGES
    return EXIT_OK


def exit_code(outcomes: Sequence[TargetOutcome], changes_code: bool = True) -> int:
    """The run's: a failure anywhere wins, then unhealthy anywhere, then changes anywhere (errors.worst)."""
    return worst(target_code(o, changes_code) for o in outcomes)


def show(settings: Settings, command: str, outcomes: list[TargetOutcome], view: View, *,
         changes_code: bool = True, sections: bool = True, interrupted: bool = False) -> int:
    """Print the run as one document: a section per target (text, Markdown) or one JSON/YAML document,
    then a table of the targets and a summary line. Returns the exit code (130 when Ctrl-C cut it short)."""
    code = EXIT_INTERRUPTED if interrupted else exit_code(outcomes, changes_code)
    if settings.verbose:
        _calls(settings, outcomes)
    if settings.output in ("json", "yaml"):
        render.dump(settings, {
            "version": 1, "command": command,
            "targets": [{**o.target.document(), "status": o.status, "exitCode": target_code(o, changes_code),
                         "error": o.error, "seconds": round(o.seconds, 3),
                         **(view.document(o.result) if o.result is not None else {})} for o in outcomes],
            "summary": _counts(outcomes), "interrupted": interrupted, "exitCode": code})
        return code
    if sections:
        target_sections(settings, outcomes, view)
    rows = [{"Target": o.target.id, "Account": o.target.account, "Region": o.target.region,
             "Status": {FAILED: "FAILED", SKIPPED: "NOT STARTED"}.get(o.status, o.status),
             "Detail": (o.error or "").splitlines()[0] if o.status in (FAILED, SKIPPED) or o.result is None
             else view.detail(o.result)} for o in outcomes]
    _heading(settings, "Targets")
    render.table(settings, rows, _TARGET_COLUMNS)
    counts = _counts(outcomes)
    words = {OK: view.ok, CHANGES: "with changes", UNHEALTHY: "unhealthy", FAILED: "failed", SKIPPED: "not started"}
    line = f"{len(outcomes)} target(s): " + ", ".join(f"{counts[s]} {words[s]}" for s in words if counts[s]) + "."
    click.echo(f"\n**{line}**" if settings.output == "markdown" else line)
    return code


def _calls(settings: Settings, outcomes: Sequence[TargetOutcome]) -> None:
    """-v: each target's AWS calls (the keys themselves never leave botocore)."""
    for o in outcomes:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(o.calls.items())) or "none"
        click.echo(f"AWS calls ({o.target.id}): {counts}; throttled and retried: {o.throttled}", err=True)


_TARGET_COLUMNS = [render.ident("TARGET", "Target", keep=True), render.ident("ACCOUNT", "Account", priority=40),
                   render.ident("REGION", "Region", priority=60), render.ident("STATUS", "Status", keep=True),
                   render.prose("DETAIL", "Detail", keep=True, min_width=20)]


def target_sections(settings: Settings, outcomes: list[TargetOutcome], view: View) -> None:
    for o in outcomes:
        if not o.error and o.result is not None and view.quiet(o.result):
            continue  # the targets table says it
        _heading(settings, o.target.label)
        if o.result is not None:
            view.section(settings, o.result)
        if o.error:
            first, *rest = o.error.splitlines()
            word = "NOT STARTED" if o.status == SKIPPED else "FAILED"
            click.echo(f"**{word}**: {first}" if settings.output == "markdown" else f"{word}: {first}")
            for line in rest:
                click.echo(f"    {line}")
        click.echo()


def _heading(settings: Settings, text: str) -> None:
    from esmctl.context import color_enabled

    if settings.output == "markdown":
        click.echo(f"### {text}\n")
    elif sys.stdout.isatty() and color_enabled(settings):
        click.secho(f"== {text} ==", bold=True)
    else:
        click.echo(f"== {text} ==")


def _counts(outcomes: Sequence[TargetOutcome]) -> dict[str, int]:
    return {"targets": len(outcomes), **{s: sum(o.status == s for o in outcomes)
                                         for s in (OK, CHANGES, UNHEALTHY, FAILED, SKIPPED)}}
