"""What a change's result says: the Result the executor returns for each change, and the sentences that tell
what it did, what exists now, and what a re-run does about it (or what to correct first, when a re-run would
fail the same way). esmctl/execute.py fills them in as it carries the steps out; views/results.py shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from esmctl.aws.errors import InvalidRequest, NotFound
from esmctl.mapping import identity
from esmctl.plan.types import (
    Action,
    Change,
    Create,
    Delete,
    RegisterConsumer,
    Status,
    Step,
    Tag,
    Untag,
    Update,
    WaitSettled,
)


@dataclass
class Result:
    """One change carried out, or not: whether it did what the plan says, in a sentence, and what exists now."""

    change: Change
    ok: bool
    message: str
    uuid: str | None = None  # the mapping that stands for the change now (new, updated, or deleted)
    done: list[Step] = field(default_factory=list)
    exists: list[str] = field(default_factory=list)  # UUIDs of the change's mappings that exist after it
    skipped: bool = False
    source: str | None = None  # a consumer's ARN, once registered (the plan could not know it)
    status: Status | None = None
    state: str = ""  # the State the mapping was last seen in: by a wait, or in a create or update reply

    def __post_init__(self) -> None:
        if self.status is None:
            self.status = Status.DONE if self.ok else Status.SKIPPED if self.skipped else Status.FAILED

    @property
    def cut_short(self) -> bool:
        """Ctrl-C stopped it (before it began, or half-way): not done, and not failed either."""
        return self.status in (Status.INTERRUPTED, Status.NOT_STARTED)


@dataclass
class Run:
    """What one change's steps have learnt so far."""

    consumer_arn: str | None = None
    new: str | None = None
    adopted: bool = False
    state: str = ""  # the State the mapping was last seen in: by a wait, or in a create or update reply


def calls_made(done: list[Step], run: Run) -> str:
    """The calls a change made, as a sentence: `deleted X; created Y`."""
    return "; ".join(_past(s, run) for s in done if isinstance(s, (RegisterConsumer, Create, Delete, Update, Tag,
                                                                      Untag)))


def _past(step: Step, run: Run) -> str:
    if isinstance(step, Create):
        return f"{'adopted' if run.adopted else 'created'} {run.new}" if run.new else "create"
    if isinstance(step, RegisterConsumer):
        return f"registered consumer {step.name}"
    verb = {Delete: "deleted", Update: "updated", Tag: "tagged", Untag: "untagged"}[type(step)]
    return f"{verb} {step.target()}"


def existing(change: Change, run: Run, done: list[Step]) -> list[str]:
    deleted = {s.uuid for s in done if isinstance(s, Delete)}
    olds = [m.uuid for m in change.before if m.uuid not in deleted]
    return ([run.new] if run.new else []) + olds


def what_to_fix(change: Change, step: Step, exc: BaseException) -> str | None:
    """What to correct when AWS refused a create or an update for a reason a re-run cannot change
    (a function or source that does not exist, parameters AWS refuses); None when a re-run may do."""
    if not isinstance(step, (Create, Update)) or not isinstance(exc, (NotFound, InvalidRequest)):
        return None
    where = f" at {change.after.where}" if change.after is not None and change.after.where else ""

    def at(name: str) -> str:  # the field's own place, where the spec is at hand
        place = change.after.place_of(name) if change.after is not None else None
        return f" at {place}" if place else ""

    if isinstance(exc, InvalidRequest):
        return (f"AWS refuses the request as it stands: correct what its message names (in the spec{where}, or "
                "the function's execution role) before applying again")
    if isinstance(step, Update):
        return None  # the mapping went away meanwhile: a re-run plans a create
    text = exc.message.lower()
    function = identity.short_arn(change.key.function)
    if "function" in text:
        return f"function {function} does not exist: create it, or correct FunctionName{at('FunctionName')}"
    source = identity.short_arn(change.after.source_arn if change.after is not None else None) or change.key.source
    if "source" in text or "stream" in text or "queue" in text:
        return f"the source {source} does not exist: create it, or correct EventSourceArn{at('EventSourceArn')}"
    return f"function {function} or the source {source} does not exist: create it, or correct the spec{where}"


def what_exists_now(change: Change, run: Run, exists: list[str], fix: str | None = None,
                    rerun: str = "re-run apply") -> str:
    """What exists now, and what a re-run does about it (or, with `fix`, what to correct first)."""
    if change.action is Action.DELETE:
        return f"{change.uuid} still exists" if exists else f"{change.uuid} is gone"
    if change.action is Action.PAUSE:
        return f"{change.uuid}: {rerun}"
    if change.action is Action.RESUME:
        return f"{change.uuid} is still marked paused: {rerun}"
    if change.action in (Action.UPDATE, Action.MOVE):
        return f"{change.uuid} exists, unchanged; {fix}" if fix else \
            f"{change.uuid} exists; {rerun} to finish the {change.action}"
    olds = [m.uuid for m in change.before if m.uuid in exists]
    if not exists:
        return f"no mapping of {change.title()} exists now: {fix or f'{rerun} to create it'}"
    if run.new and olds:
        return f"both {run.new} and {', '.join(olds)} exist now: {rerun} to finish"
    if run.new:
        return f"{run.new} exists now: {rerun} to check it"
    return f"{', '.join(olds)} is unchanged: nothing was replaced" + (f"; {fix}" if fix else "")


def success(change: Change, run: Run) -> str:
    if change.action in (Action.PAUSE, Action.RESUME):
        return change.reason.text
    new = f"{'adopted the existing mapping' if run.adopted else 'created'} {run.new or ''}".strip()
    if any(isinstance(s, RegisterConsumer) for s in change.steps):
        new = f"registered consumer {change.after.consumer.name}; {new}"
    deleted = ", ".join(s.uuid for s in change.steps if isinstance(s, Delete))
    updated = ", ".join(dict.fromkeys(s.uuid for s in change.steps if isinstance(s, Update) and s.uuid))
    if change.action is Action.CREATE:
        return new
    if change.action is Action.UPDATE:
        return "updated"
    if change.action is Action.MOVE:
        return f"moved from {identity.short_arn(change.before[0].key.function)}"
    if change.action is Action.DELETE:
        return "deleted"
    if run.new:  # a replace or a hand-off that made its new mapping
        return f"{'replaced' if change.action is Action.REPLACE else 'handed off from'} {deleted}: {new}"
    # finishing a move: the new mapping existed, perhaps updated first
    return f"{f'updated {updated}; ' if updated else ''}finished the move: deleted {deleted}"


def standing(change: Change, run: Run) -> str | None:
    """The mapping that stands for the change now: the one it created, else the one it waited for (a
    finished move's new end), else the one it changed."""
    waited = next((s.uuid for s in change.steps if isinstance(s, WaitSettled) and s.uuid), None)
    return run.new or (waited if change.action in (Action.REPLACE, Action.HANDOFF) else None) or change.uuid
