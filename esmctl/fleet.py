"""Run plan, diff, apply, status and doctor over many accounts and regions, as CloudFormation StackSets do.

A targets file names accounts × regions, each reached through a role assumed with the caller's
credentials (botocore's AssumeRoleCredentialFetcher), a profile, or the caller's credentials as they
are, with variables for the spec's ${NAME} placeholders (ACCOUNT and REGION come with every target).
Each target runs the single-target code as it is — reconcile.plan and reconcile.apply, the health
checks — with a Settings and an Aws of its own:

    targets.load_targets(file)        Targets, every problem with its FILE:LINE:COL (the targets file's format
                                      is targets.py's)
    targets.load_specs(targets, …)    each target's spec, checked offline before anything is asked of AWS
    Fleet(settings, targets).run(job) the jobs in parallel (--max-concurrency), region after region with
                                      --region-order, none started once more than --failure-tolerance failed
    show(...)                         one document (text, Markdown, JSON): a section and a status per target

Lambda's 15 requests/s are per account and region: the targets of one account and region share one
pacer, while another region of the account, or another account, has its own. A target that fails (no
access, throttled, a change refused) never stops the others; the exit code is decided once, by the
README's policy: a failure anywhere 1, else unhealthy anywhere 3, else changes anywhere 2.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import click

from esmctl import model, render, spec
from esmctl.aws.calls import Aws
from esmctl.aws.errors import BOTOCORE_ERRORS, describe_error, explain
from esmctl.aws.pacing import Pacer, new_pacer
from esmctl.aws.session import AssumeRole
from esmctl.context import Settings
from esmctl.plan.types import Status
from esmctl.targets import (
    AUTOMATIC,
    CHANGES,
    FAILED,
    OK,
    SKIPPED,
    UNHEALTHY,
    Applied,
    Target,
    TargetOutcome,
    load_specs,
    load_targets,
    spec_targets,
    waves,
)
from esmctl.views.fleet import APPLY_VIEW, PLAN_VIEW, PLANNED_VIEW, View, show, target_sections

if TYPE_CHECKING:
    from esmctl.execute import Interrupt
from esmctl.errors import (
    EsmctlError,
    Interrupted,
    Outcome,
    SpecError,
)

MAX_DEFAULT_CONCURRENCY = 16


# -- running targets ------------------------------------------------------------------------------------
Job = Callable[[Target, Settings], tuple[str, Any, "str | None"]]  # -> (status, result, error)


class Fleet:
    """The targets of one command: their sessions, a pacer for each account and region, and a runner.

    Targets reached the same way (one role, one profile, or the caller's credentials) share one botocore
    session: a role is assumed once for every region of its account, and refreshed by botocore when its
    keys near their end. Each target still has its own Aws, in its own region.
    """

    def __init__(self, settings: Settings, targets: list[Target]) -> None:
        self.settings = settings
        self.targets = targets
        pairs = {(t.account, t.region) for t in targets}
        self.concurrency = settings.fleet.max_concurrency or min(MAX_DEFAULT_CONCURRENCY, len(pairs))
        self._pacers: dict[tuple[str, str], Pacer | None] = {}
        self._holders: dict[tuple, Aws] = {}  # a way in -> the Aws whose session the targets reached so share
        self._accounts: dict[tuple, str | BaseException] = {}  # a way in -> the account it acts in, or why not
        self._checking: dict[tuple, threading.Lock] = {}
        self._sessions: dict[Target, Settings] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _way_in(target: Target) -> tuple:
        if target.role_arn:
            return ("role", target.role_arn, target.external_id, target.session_name, target.profile)
        return ("profile", target.profile)

    def settings_for(self, target: Target) -> Settings:
        """The target's own Settings: its region, and an Aws acting in its account with its credentials and
        its account and region's pacer."""
        with self._lock:
            if target in self._sessions:
                return self._sessions[target]
            pair = (target.account, target.region)
            if pair not in self._pacers:
                self._pacers[pair] = new_pacer()
            base = self.settings
            key = self._way_in(target)
            holder = self._holders.get(key)
            credentials = None
            if target.role_arn and holder is None:
                credentials = AssumeRole(base.aws, target.role_arn, session_name=target.session_name,
                                         external_id=target.external_id, region=target.region)
            aws = Aws(target.profile or base.profile, target.region, base.endpoint_url, credentials=credentials,
                      pacer=self._pacers[pair], shares=holder)
            self._holders.setdefault(key, aws)
            self._checking.setdefault(key, threading.Lock())
            own = replace(base, region=target.region, region_from_flag=False, _aws=aws)
            self._sessions[target] = own
            return own

    def _check_account(self, target: Target, aws: Aws) -> None:
        """Make sure the target's credentials act in its account, once per way in: a role is assumed (it acts
        in its own account, which the targets file checked); a profile's or the caller's credentials are
        asked (GetCallerIdentity). A role that cannot be assumed is said here, before anything else."""
        key = self._way_in(target)
        with self._checking[key]:
            if key not in self._accounts:
                try:
                    if target.role_arn:
                        with explain(f"assuming {target.role_arn}"):
                            aws.credentials().get_frozen_credentials()
                        self._accounts[key] = target.account
                    else:
                        with explain("checking the credentials (sts get-caller-identity)"):
                            self._accounts[key] = aws.client("sts").get_caller_identity()["Account"]
                except Exception as exc:  # said again for each target reached this way, not asked again
                    self._accounts[key] = exc
        found = self._accounts[key]
        if isinstance(found, BaseException):
            raise found
        if found != target.account:
            raise EsmctlError(f"the credentials act in account {found}, not in {target.account}")
        aws.use_account(found)

    def run(self, job: Job, targets: Sequence[Target] | None = None, *, failed_before: int = 0,
            on_done: Callable[[TargetOutcome], None] | None = None,
            interrupt: Interrupt | None = None) -> list[TargetOutcome]:
        """Each target's job: up to `concurrency` at once, wave after wave (see `waves`); once more than
        --failure-tolerance targets have failed (counting `failed_before`), or Ctrl-C came (`interrupt`), no
        new one starts."""
        targets = list(self.targets if targets is None else targets)
        tolerance = self.settings.fleet.failure_tolerance
        outcomes: dict[Target, TargetOutcome] = {}
        failed = [failed_before]
        lock = threading.Lock()

        def one(target: Target) -> None:
            with lock:
                stop = tolerance is not None and failed[0] > tolerance
            if interrupt:
                outcome = TargetOutcome(target, SKIPPED, error="interrupted before it began: nothing was sent for it")
            elif stop:
                outcome = TargetOutcome(target, SKIPPED, error=f"more than {tolerance} target(s) failed "
                                                                f"(--failure-tolerance {tolerance})")
            else:
                outcome = self._attempt(target, job)
            with lock:
                failed[0] += outcome.status == FAILED
                outcomes[target] = outcome
            if on_done is not None:
                on_done(outcome)

        for wave in waves(targets, self.settings.fleet.region_order):
            if not wave:
                continue
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(wave)), thread_name_prefix="target") as pool:
                list(pool.map(one, wave))
        return [outcomes[t] for t in targets]

    def _attempt(self, target: Target, job: Job) -> TargetOutcome:
        started = time.monotonic()
        own: Settings | None = None
        try:
            own = self.settings_for(target)
            self._check_account(target, own.aws)
            status, result, error = job(target, own)
            outcome = TargetOutcome(target, status, result, error)
        except Exception as exc:  # a target's failure is its own: the others go on
            if self.settings.verbose:
                click.echo(f"{target.id}: " + "".join(traceback.format_exception(exc)).rstrip(), err=True)
            outcome = TargetOutcome(target, FAILED, error=_describe(exc))
        outcome.seconds = time.monotonic() - started
        if own is not None and own._aws is not None:
            outcome.calls, outcome.throttled = dict(own._aws.calls), own._aws.throttled
        return outcome


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SpecError):
        return "\n".join(map(str, exc.problems))
    if isinstance(exc, EsmctlError):
        return exc.format_message()
    if isinstance(exc, BOTOCORE_ERRORS):
        return describe_error(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --verbose for the traceback)"


# -- the commands --------------------------------------------------------------------------------------
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
    targets, specs = load(settings.fleet.targets, settings.fleet.in_spec, files, given)
    regions = {t.region for t in targets}
    unknown = [r for r in settings.fleet.region_order if r not in regions]
    if unknown:
        raise click.UsageError(f"--region-order: no target is in {', '.join(unknown)} (the targets are in "
                               f"{', '.join(sorted(regions))})")
    return Prepared(Fleet(settings, targets), given, specs)


def load(path: str, in_spec: bool, files: Sequence[str], given: dict[str, str]) -> tuple[list[Target],
                                                                                       dict[Target, spec.Spec]]:
    """The targets (of a targets file, or of the spec file `path`'s `targets:`) and each one's spec."""
    for name in AUTOMATIC:
        if name in given:
            raise click.UsageError(f"--var {name}: with targets, esmctl sets {name} for each target")
    if path == "-" and "-" in files:
        raise click.UsageError("the targets file and a spec cannot both be standard input")
    targets = spec_targets(path, given) if in_spec else load_targets(path, given)
    return targets, (load_specs(targets, files, given) if files else {})


def validate(files: Sequence[str], variables: Sequence[str], path: str, in_spec: bool) -> tuple[int, int]:
    """`validate` with targets: the spec checked for each target, offline. Returns (targets, mappings)."""
    targets, specs = load(path, in_spec, files, spec.parse_vars(variables))
    return len(targets), sum(len(s.mappings) for s in specs.values())


def plan(settings: Settings, command: str, files: Sequence[str], variables: Sequence[str], *, prune: bool,
         margin: float, exit_on_changes: bool) -> Outcome:
    """`plan`/`diff --targets`: each target's plan; exit 2 on changes anywhere when asked (diff,
    --detailed-exitcode), 1 when any target failed."""
    from esmctl import reconcile

    prepared = prepare(settings, files, variables)
    options = reconcile.Options(prune=prune, margin=margin)

    def job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        rec = reconcile.plan(own.aws, prepared.specs[target], options)
        reconcile.missing_functions(own.aws, rec)  # as a single target's plan and diff: a failure of the target
        return (OK if rec.plan.empty else CHANGES), rec.plan, None

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
    from esmctl.context import confirm

    deadline = time.monotonic() + timeout
    prepared = prepare(settings, files, variables)
    fleet = prepared.fleet
    options = reconcile.Options(prune=prune, margin=margin)

    def plan_job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        planned = reconcile.plan(own.aws, prepared.specs[target], options).plan
        return (OK if planned.empty else CHANGES), Applied(planned), None

    outcomes = _run_with_progress(settings, fleet, plan_job, "planning")
    machine = settings.output in ("json", "yaml")
    if not machine:
        target_sections(settings, outcomes, PLANNED_VIEW)
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
    count = sum(destructive.values())
    if count and not yes:
        if sys.stdin.isatty():
            where = sum(1 for n in destructive.values() if n)
            confirm(f"{count} change(s) in {where} target(s) delete, replace or hand off mappings. Go on?", yes,
                    "refusing")
        else:
            for o in todo:
                if destructive.get(o.target):
                    o.status, o.error = FAILED, (f"refusing to delete, replace or hand off {destructive[o.target]} "
                                                 "mapping(s) without confirmation: pass --yes (stdin is not a "
                                                 "terminal, so esmctl cannot ask)")
    go = [o for o in todo if o.status == CHANGES]
    total = sum(len(o.result.plan.changes) for o in go)
    with guard(), render.progress(settings, f"applying {total} change(s) in {len(go)} target(s)", total) as advance:
        def apply_job(target: Target, own: Settings) -> tuple[str, Any, str | None]:
            applied = by_target[target].result

            def step(r: Any) -> None:
                if not render.animated(settings) and r.status is Status.DONE:
                    return  # piped, a done change is said once: in its target's results table
                advance(f"{target.id}: {'ok' if r.ok else 'FAILED'}: {r.change.action} {r.change.title()}: "
                        f"{r.message}")

            applied.results = reconcile.apply(own.aws, applied.plan, concurrency=concurrency, wait=wait,
                                              timeout=max(0.0, deadline - time.monotonic()), on_step=step,
                                              interrupt=interrupt, rerun="re-run apply --targets")
            applied.applied = True
            applied.interrupted = bool(interrupt)
            failed = [r for r in applied.results if not r.ok]
            if failed:
                return FAILED, applied, f"{len(failed)} of {len(applied.results)} change(s) failed"
            return OK, applied, None

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
    from esmctl.context import confirm
    from esmctl.plan import pauses

    prepared = prepare(settings, files, variables)
    fleet = prepared.fleet
    mark = model.pause_mark(datetime.now(timezone.utc), reason) if action == pauses.PAUSE else ""

    def survey(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        selection = pauses.Selection(prepared.specs.get(target), functions, sources)
        return OK, pausing.survey(own.aws, selection, action), None

    surveyed = _run_with_progress(settings, fleet, survey, "reading")
    todo = sum(sum(i.todo for i in o.result) for o in surveyed if o.result is not None)
    if todo and not dry_run:
        where = sum(1 for o in surveyed if o.result and any(i.todo for i in o.result))
        effect = "they stop processing until `esmctl resume`" if action == pauses.PAUSE else "they start again"
        confirm(f"{action.capitalize()} {todo} mapping(s) in {where} target(s)? {effect[0].upper()}{effect[1:]}.",
                yes, f"refusing to {action} {todo} mapping(s) without confirmation")
    items = {o.target: o.result for o in surveyed if o.status == OK}

    def carry_out(target: Target, own: Settings) -> tuple[str, Any, str | None]:
        if dry_run:
            results = [pauses.unchanged(i, action, dry_run=True) for i in items[target]]
        else:
            results = pausing.carry_out(own.aws, items[target], action, mark=mark, concurrency=concurrency,
                                       timeout=timeout, interrupt=interrupt)
        failed = [r for r in results if not r.ok]
        return (FAILED if failed else OK), results, (f"{len(failed)} of {len(results)} failed" if failed else None)

    by_target = {o.target: o for o in surveyed}
    with guard():
        done = fleet.run(carry_out, [t for t in items], failed_before=sum(o.status == FAILED for o in surveyed),
                         interrupt=interrupt)
    for o in done:
        by_target[o.target] = o
    outcomes = [by_target[o.target] for o in surveyed]
    view = View(section=lambda s, results: render.table(s, rows(results), columns, empty=f"No mappings to {action}."),
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
    run: Callable[[Settings, tuple[str, ...]], list[Any]]  # a target's Settings and --var pairs -> its items
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
        pairs = tuple(f"{k}={v}" for k, v in target.spec_variables(prepared.given).items())
        items = check.run(own, pairs)
        return (OK if check.healthy(items) else UNHEALTHY), items, None

    outcomes = _run_with_progress(settings, prepared.fleet, job, "checking")
    view = View(section=lambda s, items: render.table(s, check.rows(items), check.columns, empty=check.empty),
                 document=lambda items: {check.key: [check.document(i) for i in items]},
                 detail=check.detail, ok="healthy", quiet=lambda items: not items)
    code = show(settings, check.command, outcomes, view)
    return _finish(outcomes, code)


def _interrupted_counts(results: Sequence[Any]) -> str:
    count = Counter(r.status.value for r in results)
    parts = [f"{count['done']} of {len(results)} change(s) done"]
    return ", ".join(parts + [f"{count[s]} {s.replace('-', ' ')}" for s in ("interrupted", "not-started", "failed")
                              if count[s]])


def _run_with_progress(settings: Settings, fleet: Fleet, job: Job, verb: str) -> list[TargetOutcome]:
    n = len(fleet.targets)
    with render.progress(settings, f"{verb} {n} target(s)", n) as advance:
        animated = render.animated(settings)

        def done(o: TargetOutcome) -> None:
            if animated:  # in CI the document says it all; a terminal shows each target as it ends
                advance(f"{o.target.id}: {o.status}")

        return fleet.run(job, on_done=done)


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


