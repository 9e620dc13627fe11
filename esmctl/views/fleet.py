"""A fleet run as one document: what each target's status and exit code are, the JSON/YAML document, the table
of the targets and the summary line. Reads the targets' outcomes (targets.TargetOutcome); decides nothing, and
prints nothing (commands/fleet_runs.py prints the run, a section per target)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from esmctl.context import Settings
from esmctl.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNHEALTHY, worst
from esmctl.targets import CHANGES, FAILED, INTERRUPTED, OK, SKIPPED, UNHEALTHY, Applied, TargetOutcome
from esmctl.views.tables import ident, prose


@dataclass(frozen=True)
class View:
    """How one command shows a target's result: a section of text, a part of the JSON document, a summary."""

    section: Callable[[Settings, Any], None]  # prints the target's section (the command layer's printer)
    document: Callable[[Any], dict[str, Any]]
    detail: Callable[[Any], str]
    ok: str  # what `ok` means here: in sync, applied, healthy
    quiet: Callable[[Any], bool] = lambda _result: False  # a result with nothing to show: no section of its own


def plan_detail(plan: Any) -> str:
    waiting = f"{len(plan.waiting)} waiting for esmctl resume" if plan.waiting else ""
    if plan.empty:
        return f"no changes now, {waiting}" if waiting else "in sync"
    from esmctl.plan.types import PLAN_ACTIONS

    counts = [f"{plan.count(a)} to {a}" for a in PLAN_ACTIONS if plan.count(a)]
    return ", ".join(counts + ([waiting] if waiting else [])).replace("to handoff", "to hand off")


def apply_detail(applied: Applied) -> str:
    if not applied.applied:
        return plan_detail(applied.plan) + ("" if applied.plan.empty else " (not applied)")
    cut = sum(r.cut_short for r in applied.results)
    failed = sum(not r.ok for r in applied.results) - cut
    done = len(applied.results) - failed - cut
    return f"{done} change(s) applied" + (f", {failed} failed" if failed else "") + (f", {cut} cut short by Ctrl-C"
                                                                                    if cut else "")


def target_code(outcome: TargetOutcome, changes_code: bool = True) -> int:
    """A target's own exit status, by the policy of the whole run."""
    if outcome.status in (FAILED, SKIPPED):
        return EXIT_ERROR
    if outcome.status == INTERRUPTED:
        return EXIT_INTERRUPTED
    if outcome.status == UNHEALTHY:
        return EXIT_UNHEALTHY
    if outcome.status == CHANGES and changes_code:
        return EXIT_CHANGES
    return EXIT_OK


def exit_code(outcomes: Sequence[TargetOutcome], changes_code: bool = True) -> int:
    """The run's: a failure anywhere wins, then unhealthy anywhere, then changes anywhere (errors.worst)."""
    return worst(target_code(o, changes_code) for o in outcomes)


def run_document(command: str, outcomes: Sequence[TargetOutcome], view: View, *, changes_code: bool,
                 interrupted: bool, code: int) -> dict[str, Any]:
    """The run as one JSON/YAML document: each target with its status, exit code and result, then the counts."""
    return {
        "version": 1, "command": command,
        "targets": [{**o.target.document(), "status": o.status, "exitCode": target_code(o, changes_code),
                     "error": o.error, "seconds": round(o.seconds, 3),
                     **(view.document(o.result) if o.result is not None else {})} for o in outcomes],
        "summary": counts(outcomes), "interrupted": interrupted, "exitCode": code}


TARGET_COLUMNS = [ident("TARGET", "Target", keep=True), ident("ACCOUNT", "Account", priority=40),
                  ident("REGION", "Region", priority=60), ident("STATUS", "Status", keep=True),
                  prose("DETAIL", "Detail", keep=True, min_width=20)]


def target_rows(outcomes: Sequence[TargetOutcome], view: View) -> list[dict[str, Any]]:
    """The targets table: a row per target, its status and what it found (or the first line of its error)."""
    return [{"Target": o.target.id, "Account": o.target.account, "Region": o.target.region,
             "Status": {FAILED: "FAILED", SKIPPED: "NOT STARTED", INTERRUPTED: "INTERRUPTED"}.get(o.status, o.status),
             "Detail": (o.error or "").splitlines()[0] if o.status in (FAILED, SKIPPED) or o.result is None
             else view.detail(o.result)} for o in outcomes]


def summary_line(outcomes: Sequence[TargetOutcome], view: View) -> str:
    """`3 target(s): 2 in sync, 1 failed.`"""
    counted = counts(outcomes)
    # nothing to do now, but a change waits for `esmctl resume`: not in sync (a plan's, or an apply's, result)
    waiting = sum(1 for o in outcomes if o.status == OK and getattr(getattr(o.result, "plan", o.result), "waiting", ()))
    counted[OK] -= waiting
    words = {OK: view.ok, "waiting": "with changes waiting for esmctl resume", CHANGES: "with changes",
             UNHEALTHY: "unhealthy", FAILED: "failed", SKIPPED: "not started", INTERRUPTED: "interrupted"}
    counted["waiting"] = waiting
    return f"{len(outcomes)} target(s): " + ", ".join(f"{counted[s]} {words[s]}" for s in words if counted[s]) + "."


def calls_line(outcome: TargetOutcome) -> str:
    """-v: a target's AWS calls (the keys themselves never leave botocore)."""
    counted = ", ".join(f"{k}={v}" for k, v in sorted(outcome.calls.items())) or "none"
    return f"AWS calls ({outcome.target.id}): {counted}; throttled and retried: {outcome.throttled}"


def error_lines(outcome: TargetOutcome, markdown: bool) -> list[str]:
    """A failed or skipped target's error under its heading: `FAILED: why`, the further lines indented."""
    first, *rest = (outcome.error or "").splitlines()
    word = "NOT STARTED" if outcome.status == SKIPPED else "FAILED"
    return [f"**{word}**: {first}" if markdown else f"{word}: {first}", *(f"    {line}" for line in rest)]


def counts(outcomes: Sequence[TargetOutcome]) -> dict[str, int]:
    return {"targets": len(outcomes), **{s: sum(o.status == s for o in outcomes)
                                         for s in (OK, CHANGES, UNHEALTHY, FAILED, SKIPPED, INTERRUPTED)}}
