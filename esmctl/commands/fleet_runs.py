"""The spec commands over a fleet's targets (--targets, or a spec's `targets:`): plan, diff, apply, pause,
resume, status and doctor, each target run by fleet.Fleet and the run shown as one document: a section per
target (text, Markdown) or one JSON/YAML document, then a table of the targets and a summary line.

Every problem with the targets or their specs is found offline, before anything is asked of AWS (`prepare`).
The exit code is decided once, by the README's policy: a failure anywhere 1, else unhealthy anywhere 3, else
changes anywhere 2.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from esmctl import spec
from esmctl.commands import output
from esmctl.commands.shared import say_warnings
from esmctl.context import Settings
from esmctl.errors import EXIT_INTERRUPTED, EsmctlError, Interrupted, Outcome
from esmctl.fleet import Fleet, Job, load
from esmctl.mapping import marks
from esmctl.plan.types import Status
from esmctl.targets import (
    AUTOMATIC,
    CHANGES,
    FAILED,
    INTERRUPTED,
    OK,
    SKIPPED,
    UNHEALTHY,
    Applied,
    Target,
    TargetOutcome,
)
from esmctl.views.fleet import (
    TARGET_COLUMNS,
    View,
    apply_detail,
    calls_line,
    error_lines,
    exit_code,
    plan_detail,
    run_document,
    summary_line,
    target_rows,
)
from esmctl.views.plan import plan_document, plan_summary
from esmctl.views.results import apply_document, result_label

if TYPE_CHECKING:
    from esmctl.execute import Interrupt


# -- showing a run ------------------------------------------------------------------------------------------
def _apply_section(settings: Settings, applied: Applied) -> None:
    if applied.applied:
        output.results(settings, applied.results)
    else:
        click.echo(plan_summary(applied.plan) if applied.plan.empty else "Not applied.")


PLAN_VIEW = View(section=output.plan, document=lambda p: {"plan": plan_document(p)}, detail=plan_detail,
                 ok="in sync")
APPLY_VIEW = View(section=_apply_section,
                  document=lambda a: apply_document(a.plan, a.results, applied=a.applied, interrupted=a.interrupted),
                  detail=apply_detail, ok="in sync")


def show(settings: Settings, command: str, outcomes: list[TargetOutcome], view: View, *,
         changes_code: bool = True, sections: bool = True, interrupted: bool = False) -> int:
    """Print the run as one document: a section per target (text, Markdown) or one JSON/YAML document,
    then a table of the targets and a summary line. Returns the exit code (130 when Ctrl-C cut it short)."""
    code = EXIT_INTERRUPTED if interrupted else exit_code(outcomes, changes_code)
    if settings.verbose:
        for o in outcomes:
            click.echo(calls_line(o), err=True)
    if settings.output in ("json", "yaml"):
        output.dump(settings, run_document(command, outcomes, view, changes_code=changes_code,
                                           interrupted=interrupted, code=code))
        return code
    if sections:
        target_sections(settings, outcomes, view)
    _heading(settings, "Targets")
    output.table(settings, target_rows(outcomes, view), TARGET_COLUMNS)
    line = summary_line(outcomes, view)
    click.echo(f"\n**{line}**" if settings.output == "markdown" else line)
    return code


def target_sections(settings: Settings, outcomes: list[TargetOutcome], view: View) -> None:
    for o in outcomes:
        if not o.error and o.result is not None and view.quiet(o.result):
            continue  # the targets table says it
        _heading(settings, o.target.label)
        if o.result is not None:
            view.section(settings, o.result)
        if o.error:
            for line in error_lines(o, settings.output == "markdown"):
                click.echo(line)
        click.echo()


def _heading(settings: Settings, text: str) -> None:
    from esmctl.context import color_enabled

    if settings.output == "markdown":
        click.echo(f"### {text}\n")
    elif sys.stdout.isatty() and color_enabled(settings):
        click.secho(f"== {text} ==", bold=True)
    else:
        click.echo(f"== {text} ==")


# -- the commands ---------------------------------------------------------------------------------------------
@dataclass
class Prepared:
    fleet: Fleet
    given: dict[str, str]  # --var
    specs: dict[Target, spec.Spec]


def prepare(settings: Settings, files: Sequence[str], variables: Sequence[str]) -> Prepared:
    """The targets, and each one's spec: every problem found offline, before anything is asked of AWS."""
    if settings.region_from_flag:
        raise click.UsageError("--region does not go with --targets: the targets name the regions")
    given = spec.parse_vars(variables)
    _check_load(settings.fleet.targets, files, given)
    targets, specs = load(settings.fleet.targets, settings.fleet.in_spec, files, given)
    regions = {t.region for t in targets}
    unknown = [r for r in settings.fleet.region_order if r not in regions]
    if unknown:
        raise click.UsageError(f"--region-order: no target is in {', '.join(unknown)} (the targets are in "
                               f"{', '.join(sorted(regions))})")
    return Prepared(Fleet(settings, targets, say=lambda text: output.message(settings, text)), given, specs)


def _check_load(path: str, files: Sequence[str], given: dict[str, str]) -> None:
    for name in AUTOMATIC:
        if name in given:
            raise click.UsageError(f"--var {name}: with targets, esmctl sets {name} for each target")
    if path == "-" and "-" in files:
        raise click.UsageError("the targets file and a spec cannot both be standard input")


def validate(files: Sequence[str], variables: Sequence[str], path: str, in_spec: bool) -> tuple[int, int, list[str]]:
    """`validate` with targets: the spec checked for each target, offline. Returns (targets, mappings, the specs'
    warnings)."""
    given = spec.parse_vars(variables)
    _check_load(path, files, given)
    targets, specs = load(path, in_spec, files, given)
    return len(targets), sum(len(s.mappings) for s in specs.values()), \
        [w for s in specs.values() for m in s.mappings for w in m.warnings]


def plan(settings: Settings, command: str, files: Sequence[str], variables: Sequence[str], *, prune: bool,
         margin: float, exit_on_changes: bool) -> Outcome:
    """`plan`/`diff --targets`: each target's plan; exit 2 on changes anywhere when asked (diff,
    --detailed-exitcode), 1 when any target failed."""
    from esmctl import reconcile

    prepared = prepare(settings, files, variables)
    say_warnings(prepared.specs.values())
    # as a single target's plan and diff: a create for a function missing in a target fails that target
    options = reconcile.Options(prune=prune, margin=margin)

    def job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        planned = reconcile.plan(own.aws, prepared.specs[target], options).plan
        return (OK if planned.empty else CHANGES), planned, None

    outcomes = _run_with_progress(settings, prepared.fleet, job, "planning")
    code = show(settings, command, outcomes, PLAN_VIEW, changes_code=exit_on_changes)
    return _finish(outcomes, code)


def apply(settings: Settings, files: Sequence[str], variables: Sequence[str], *, prune: bool, margin: float,
          allow_replace: bool, yes: bool, dry_run: bool, wait: bool, timeout: float, concurrency: int,
          interrupt: Interrupt, guard: Callable[[], AbstractContextManager[None]]) -> None:
    """`apply --targets`: every target planned first and the plans shown; then, after one confirmation for
    them all, each target's plan carried out. A target whose plan is refused (a replace without
    --allow-replace, a deletion without --yes) fails alone. The writes run inside `guard()` (the command's
    Ctrl-C handling), which sets `interrupt`: then no target and no change starts, the calls in flight
    finish, and every target's results are shown before Interrupted is raised."""
    from esmctl import reconcile

    started = time.monotonic()  # --timeout is for the whole apply: the plans' waits too
    prepared = prepare(settings, files, variables)
    say_warnings(prepared.specs.values())
    fleet = prepared.fleet
    options = reconcile.Options(prune=prune, margin=margin).within(timeout)

    def plan_job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        planned = reconcile.plan(own.aws, prepared.specs[target], options).plan
        return (OK if planned.empty else CHANGES), Applied(planned), None

    outcomes = _run_with_progress(settings, fleet, plan_job, "planning")
    machine = settings.output in ("json", "yaml")
    if not machine:
        planned = View(section=lambda s, a: output.plan(s, a.plan, replace_allowed=allow_replace),
                       document=lambda a: {}, detail=lambda a: "", ok="in sync")
        target_sections(settings, outcomes, planned)
    todo = [o for o in outcomes if o.status == CHANGES]
    if dry_run or not todo:
        _finish(outcomes, show(settings, "apply", outcomes, APPLY_VIEW, sections=False, changes_code=False))
        return

    for o in todo:
        blocked = [c for c in o.result.plan.changes if c.needs_allow_replace and not allow_replace]
        if blocked:
            o.status, o.error = FAILED, ("refusing to replace without --allow-replace (a new stream mapping does not "
                                         "keep the old one's position): "
                                         + "; ".join(f"{c.title()}: {c.reason}" for c in blocked))
    destructive = {o.target: sum(c.destructive for c in o.result.plan.changes) for o in todo if o.status == CHANGES}
    asked = time.monotonic()
    try:
        agreed = not destructive or output.consent_to_apply(yes, sum(destructive.values()), len(destructive))
        started += time.monotonic() - asked  # the time a person took to answer is not the apply's
    except EsmctlError:  # "no" at the question: JSON and YAML still get their one document, nothing applied
        if machine:
            show(settings, "apply", outcomes, APPLY_VIEW, sections=False, changes_code=False)
        raise
    if not agreed:
        for o in todo:  # nothing can be asked: a target whose changes need --yes fails alone
            if destructive.get(o.target):
                o.status, o.error = FAILED, (f"refusing to delete, replace or hand off {destructive[o.target]} "
                                             "mapping(s) without confirmation: pass --yes (stdin is not a "
                                             "terminal, so esmctl cannot ask)")
    go = [o for o in todo if o.status == CHANGES]
    total = sum(len(o.result.plan.changes) for o in go)
    with guard(), output.progress(settings, f"applying {total} change(s) in {len(go)} target(s)", total) as advance:
        def apply_job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
            applied = by_target[target].result

            def step(r: Any) -> None:
                if not output.animated(settings) and r.status is Status.DONE:
                    return  # piped, a done change is said once: in its target's results table
                advance(f"{target.id}: {result_label(r)}: {r.change.action} {r.change.title()}: "
                        f"{r.message}")

            applied.results = reconcile.apply(own.aws, applied.plan, concurrency=concurrency, wait=wait,
                                              timeout=timeout, started=started, on_step=step,
                                              interrupt=interrupt, rerun="re-run apply --targets")
            applied.applied = True
            applied.interrupted = bool(interrupt)
            status, error = _ended(applied.results, "change(s) ")
            return status, applied, error

        by_target = {o.target: o for o in outcomes}
        done = fleet.run(apply_job, [o.target for o in go], failed_before=sum(o.status == FAILED for o in outcomes),
                         interrupt=interrupt)
    for o in done:
        before = by_target[o.target]
        o.result = o.result or before.result  # a target not started, or failed before its apply, keeps its plan
        o.seconds += before.seconds
        o.calls = {k: before.calls.get(k, 0) + o.calls.get(k, 0) for k in {*before.calls, *o.calls}}
        o.throttled += before.throttled
        by_target[o.target] = o
    outcomes = [by_target[o.target] for o in outcomes]
    code = show(settings, "apply", outcomes, APPLY_VIEW, changes_code=False, interrupted=bool(interrupt))
    if interrupt:
        results = [r for o in outcomes if isinstance(o.result, Applied) for r in o.result.results]
        started = sum(1 for o in outcomes if isinstance(o.result, Applied) and o.result.applied)
        raise Interrupted(f"interrupted: {started} of {len(go)} target(s) started; "
                          + _interrupted_counts(results) + "; re-run apply --targets to finish")
    _finish(outcomes, code)


def pause_or_resume(settings: Settings, action: str, files: Sequence[str], functions: tuple[str, ...],
                    sources: tuple[str, ...], variables: Sequence[str], *, yes: bool, dry_run: bool,
                    rows: Callable[[list[Any]], list[dict[str, str]]], columns: list[Any], reason: str = "",
                    timeout: float = 300, concurrency: int = 4, interrupt: Interrupt,
                    guard: Callable[[], AbstractContextManager[None]]) -> Outcome:
    """`pause`/`resume --targets`: every target surveyed first (reads only), one confirmation for them all,
    then each target's mappings paused or resumed (pausing.carry_out, as in one account and region). A target
    fails alone; exit 1 when any failed."""
    from datetime import datetime, timezone

    from esmctl import pausing
    from esmctl.plan import pauses

    prepared = prepare(settings, files, variables)
    fleet = prepared.fleet
    mark = marks.pause_mark(datetime.now(timezone.utc), reason) if action == pauses.PAUSE else ""
    own_sources = {t: _filled_sources(sources, t.spec_variables(prepared.given)) for t in fleet.targets}

    def survey(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        selection = pauses.Selection(prepared.specs.get(target), functions, own_sources[target])
        return OK, pausing.survey(own.aws, selection, action), None

    surveyed = _run_with_progress(settings, fleet, survey, "reading")
    todo = sum(sum(i.todo for i in o.result) for o in surveyed if o.result is not None)
    if todo and not dry_run:
        where = sum(1 for o in surveyed if o.result and any(i.todo for i in o.result))
        effect = "they stop processing until `esmctl resume`" if action == pauses.PAUSE else "they start again"
        if output.confirm(f"{action.capitalize()} {todo} mapping(s) in {where} target(s)? "
                          f"{effect[0].upper()}{effect[1:]}.", yes,
                          f"refusing to {action} {todo} mapping(s) without confirmation"):
            # read again after the answer: only what was agreed to and is still to do is done (pausing._run)
            asked = {o.target: o.result for o in surveyed if o.status == OK}
            again = {o.target: o for o in _run_with_progress(settings, fleet, survey, "reading again", list(asked))}
            surveyed = [again.get(o.target, o) for o in surveyed]
            for o in surveyed:
                if o.status == OK and o.target in asked:
                    o.result = pauses.agreed(asked[o.target], o.result, action)
    items = {o.target: o.result for o in surveyed if o.status == OK}

    def carry_out(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        if dry_run:
            results = [pauses.unchanged(i, action, dry_run=True) for i in items[target]]
        else:
            results = pausing.carry_out(own.aws, items[target], action, mark=mark, concurrency=concurrency,
                                       timeout=timeout, interrupt=interrupt)
        status, error = _ended(results)
        return status, results, error

    by_target = {o.target: o for o in surveyed}
    with guard():
        done = fleet.run(carry_out, [t for t in items], failed_before=sum(o.status == FAILED for o in surveyed),
                         interrupt=interrupt)
    for o in done:
        by_target[o.target] = o
    outcomes = [by_target[o.target] for o in surveyed]
    view = View(section=lambda s, results: output.table(s, rows(results), columns, empty=f"No mappings to {action}."),
                document=lambda results: {"mappings": [r.document() for r in results]},
                 detail=lambda results: ", ".join(f"{n} {k}" for k, n in Counter(r.outcome for r in results).items())
                 or "nothing selected", ok="done")
    code = show(settings, action, outcomes, view, interrupted=bool(interrupt))
    if interrupt:
        results = [r for o in outcomes if isinstance(o.result, list) for r in o.result]
        counts = Counter(r.outcome for r in results)
        raise Interrupted(f"interrupted: {counts[pauses.PAUSED if action == pauses.PAUSE else pauses.RESUMED]} of "
                          f"{len(results)} mapping(s) done; run esmctl {action} --targets again to finish")
    return _finish(outcomes, code)


@dataclass(frozen=True)
class HealthCheck:
    """How `status` or `doctor` runs on one target and shows what it found."""

    command: str  # status, doctor
    run: Callable[[Settings, Any], list[Any]]  # a target's Settings and checked spec (None without one) -> items
    healthy: Callable[[list[Any]], bool]
    key: str  # the items' key in the JSON document: mappings, findings
    document: Callable[[Any], dict[str, Any]]
    rows: Callable[[list[Any]], list[dict[str, str]]]
    columns: list[Any]
    empty: str
    detail: Callable[[list[Any]], str]


def health(settings: Settings, files: Sequence[str], variables: Sequence[str], check: HealthCheck) -> Outcome:
    """`status`/`doctor --targets`: exit 3 when any target is unhealthy, 1 when any failed."""
    prepared = prepare(settings, files, variables)

    def job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        items = check.run(own, prepared.specs.get(target))  # as prepare checked it: not read again per target
        return (OK if check.healthy(items) else UNHEALTHY), items, None

    outcomes = _run_with_progress(settings, prepared.fleet, job, "checking")
    view = View(section=lambda s, items: output.table(s, check.rows(items), check.columns, empty=check.empty),
                 document=lambda items: {check.key: [check.document(i) for i in items]},
                 detail=check.detail, ok="healthy", quiet=lambda items: not items)
    code = show(settings, check.command, outcomes, view)
    return _finish(outcomes, code)


def _interrupted_counts(results: Sequence[Any]) -> str:
    count = Counter(r.status.value for r in results)
    parts = [f"{count['done']} of {len(results)} change(s) done"]
    return ", ".join(parts + [f"{count[s]} {s.replace('-', ' ')}" for s in ("interrupted", "not-started", "failed")
                              if count[s]])


def _ended(results: Sequence[Any], noun: str = "") -> tuple[str, str | None]:
    """A target's status once its writes have run, and its error: failed where one failed; interrupted where Ctrl-C
    cut one short (`cut_short`) and none failed."""
    cut = sum(r.cut_short for r in results)
    failed = sum(not r.ok for r in results) - cut
    if failed:
        return FAILED, f"{failed} of {len(results)} {noun}failed" + (f", {cut} cut short by Ctrl-C" if cut else "")
    return (INTERRUPTED if cut else OK), None


def _run_with_progress(settings: Settings, fleet: Fleet, job: Job, verb: str,
                       targets: list[Target] | None = None) -> list[TargetOutcome]:
    n = len(fleet.targets if targets is None else targets)
    with output.progress(settings, f"{verb} {n} target(s)", n) as advance:
        animated = output.animated(settings)

        def done(o: TargetOutcome) -> None:
            if animated:  # in CI the document says it all; a terminal shows each target as it ends
                advance(f"{o.target.id}: {o.status}")

        return fleet.run(job, targets, on_done=done)


def _finish(outcomes: list[TargetOutcome], code: int) -> Outcome:
    bad = [o for o in outcomes if o.status in (FAILED, SKIPPED)]
    if bad:
        failed = [o.target.id for o in bad if o.status == FAILED]
        skipped = [o.target.id for o in bad if o.status == SKIPPED]
        parts = [f"{len(failed)} of {len(outcomes)} target(s) failed: {', '.join(failed)}"] if failed else []
        if skipped:
            parts.append(f"{len(skipped)} not started")
        raise EsmctlError("; ".join(parts))
    return Outcome(code)


def _filled_sources(sources: Sequence[str], variables: dict[str, str]) -> tuple[str, ...]:
    """--source over targets, each target's own: `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders` filled with its
    ACCOUNT, REGION and variables, as its spec is (one ARN of one account and region selects nothing elsewhere)."""
    from esmctl import arns, placeholders

    out = []
    for source in sources:
        value, bad, missing = placeholders.fill(source, variables)
        if bad or missing:
            raise click.BadParameter(f"{source!r}: " + (f"{bad[0]} {placeholders.NOT_ONE}" if bad else
                                                        f"no value for ${{{missing[0]}}}: pass --var {missing[0]}=..."),
                                     param_hint="--source")
        if arns.parse(value) is None:
            raise click.BadParameter(f"{source!r} filled is {value!r}, not an ARN", param_hint="--source")
        out.append(value)
    return tuple(out)
