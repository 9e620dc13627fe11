"""Pause and resume mappings: `esmctl pause` stops them for an incident, `esmctl resume` starts exactly
those again. The work in one account and region, on one Aws:

    survey(aws, selection, action)     one paginated listing → the mappings asked for; ListTags only for
                                       those whose state leaves a doubt → Items: what to do to each, or why not
    carry_out(aws, items, action)      the writes, a few mappings at a time → Results
    pause(aws, selection) / resume(…)  both, with a `confirm` hook between them

A pause is marked with one tag, model.PAUSED_TAG (`esmctl:paused` = when [and why]). The mark is what
tells a paused mapping from one Disabled by hand or by a spec: `resume` enables only marked mappings,
and `plan`/`apply` leave a marked Disabled mapping Disabled. So each mapping's calls come in an order
that leaves, wherever the process is killed, a state the same command, run again, finishes:

    pause:   tag the mark → disable → wait until Disabled
             killed after the tag: Enabled and marked; pause again disables it (resume just drops the mark).
             Disable first would leave, killed before the tag, a Disabled mapping without the mark: one
             that resume never enables and apply enables at once.
    resume:  enable → wait until Enabled → untag the mark
             killed before the untag: Enabled and marked; resume again drops the mark. Untag first would
             leave, killed before the enable, a Disabled mapping without the mark: stuck as if by hand.
             If the mapping does not come up Enabled, the mark stays, and resume can be run again.

Throttling is ridden out by the session (botocore's retries and aws.Pacer); ResourceInUse (a mapping
Creating or Updating) by waiting for it to settle, as `apply` does; waits are aws.Watcher's, shared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from esmctl import model
from esmctl.aws import Aws, NotFound, WaitTimeout, explain
from esmctl.errors import EsmctlError

if TYPE_CHECKING:
    from esmctl.spec import Spec

PAUSE, RESUME = "pause", "resume"
# What happened to each mapping (Result.outcome).
PAUSED, RESUMED, SKIPPED, FAILED = "paused", "resumed", "skipped", "failed"
WOULD = {PAUSE: "would pause", RESUME: "would resume"}  # --dry-run


@dataclass(frozen=True)
class Selection:
    """Which mappings: a spec's (narrowed by functions and sources when given), or those of some
    functions (any qualifier unless one is given) and/or sources."""

    spec: Spec | None = None
    functions: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Item:
    """A mapping asked for, and what the command is to do to it (`todo`), or why nothing."""

    function_arn: str
    source_arn: str | None
    mapping: dict | None = None  # as listed; None: a spec's mapping not created, or a selector that found none
    pause: model.Pause | None = None  # its mark, when its tags were read
    todo: bool = False
    why: str = ""  # why nothing is done (todo False), or what will be done
    enable: bool = True  # resume: False where the spec says Enabled: false (only the mark goes)
    failed: bool = False  # a --function or --source that found nothing

    @property
    def uuid(self) -> str | None:
        return (self.mapping or {}).get("UUID")

    @property
    def state(self) -> str:
        return (self.mapping or {}).get("State", "")

    @property
    def arn(self) -> str:
        return (self.mapping or {}).get("EventSourceMappingArn", "")


@dataclass
class Result:
    item: Item
    outcome: str  # PAUSED, RESUMED, SKIPPED, FAILED, or WOULD[action]
    message: str
    state: str = ""  # as last seen
    pause: model.Pause | None = None  # the mark now
    done: list[str] = field(default_factory=list)  # the calls made, in order

    @property
    def ok(self) -> bool:
        return self.outcome != FAILED

    def document(self) -> dict[str, Any]:
        """`-o json`: one object per mapping (README, "Pause and resume")."""
        return {"UUID": self.item.uuid, "FunctionArn": self.item.function_arn or None,
                "EventSourceArn": self.item.source_arn, "Outcome": self.outcome, "Message": self.message,
                "State": self.state or None,
                "Paused": {"Since": self.pause.since, "Reason": self.pause.reason} if self.pause else None}


# -- the whole command, in one account and region ----------------------------------------------------
def pause(aws: Aws, selection: Selection, *, reason: str = "", dry_run: bool = False,
          confirm: Callable[[list[Item]], None] | None = None, now: datetime | None = None,
          concurrency: int = 4, timeout: float = 300) -> list[Result]:
    """Disable the selected Enabled mappings, each marked paused (at `now`, with `reason`) first."""
    return _run(aws, selection, PAUSE, dry_run=dry_run, confirm=confirm, concurrency=concurrency, timeout=timeout,
                mark=model.pause_mark(now or datetime.now(timezone.utc), reason))


def resume(aws: Aws, selection: Selection, *, dry_run: bool = False,
           confirm: Callable[[list[Item]], None] | None = None, concurrency: int = 4,
           timeout: float = 300) -> list[Result]:
    """Enable the selected mappings that `pause` marked (only those), then drop their marks."""
    return _run(aws, selection, RESUME, dry_run=dry_run, confirm=confirm, concurrency=concurrency, timeout=timeout)


def _run(aws: Aws, selection: Selection, action: str, *, dry_run: bool, confirm: Callable[[list[Item]], None] | None,
         concurrency: int, timeout: float, mark: str = "") -> list[Result]:
    items = survey(aws, selection, action)
    if dry_run:
        return [unchanged(i, action, dry_run=True) for i in items]
    if confirm is not None and any(i.todo for i in items):
        confirm([i for i in items if i.todo])
    return carry_out(aws, items, action, mark=mark, concurrency=concurrency, timeout=timeout)


# -- reading ------------------------------------------------------------------------------------------
def survey(aws: Aws, selection: Selection, action: str) -> list[Item]:
    """What `action` would do to each mapping asked for. Reads only: one listing, a few ListTags."""
    from esmctl.listing import select_from

    aws.region  # noqa: B018 - a missing profile or region is said once, before any call
    if selection.spec is not None:
        from esmctl.reconcile import resolve

        with explain("resolving functions and consumers"):
            desired = resolve(aws, selection.spec)
        live = select_from(aws, selection.functions or None, selection.sources)
        by_key: dict[model.Key, dict] = {}
        for m in live:
            if m.get("State") != "Deleting":
                by_key.setdefault(model.live_mapping(m).key, m)
        # --function and --source narrow the spec's mappings as they narrowed the listing
        in_functions = _function_filter(aws, selection.functions)
        desired = [d for d in desired if in_functions(d.key.function)
                   and (not selection.sources or (d.source_arn or d.key.source) in selection.sources)]
        chosen = [(by_key.get(d.key), d) for d in desired]
    else:
        live = select_from(aws, selection.functions or None, selection.sources)
        chosen = [(m, None) for m in live]
    need_tags = [m for m, _ in chosen if m is not None and _needs_tags(m, action)]
    with explain("reading tags"), ThreadPoolExecutor(max_workers=4) as pool:
        tags = dict(zip([m["UUID"] for m in need_tags],
                        pool.map(lambda m: _tags(aws, m), need_tags), strict=True))
    items = [_classify(m, d, tags.get(m["UUID"]) if m else None, action) for m, d in chosen]
    if selection.spec is None:
        items += _unmatched(aws, selection, live)
    return sorted(items, key=lambda i: (i.function_arn, i.source_arn or "", i.uuid or ""))


def _function_filter(aws: Aws, functions: tuple[str, ...]) -> Callable[[str], bool]:
    from esmctl.listing import matches_function

    if not functions:
        return lambda _arn: True
    wanted = [aws.function_ref(f) for f in functions]
    return lambda arn: matches_function(arn, wanted)


def _needs_tags(m: dict, action: str) -> bool:
    """Pause reads the tags of Disabled mappings only (paused already, or by hand?): an Enabled one is paused
    whatever its tags say. Resume reads every mapping's: an Enabled one may keep the mark of a killed resume."""
    if m.get("State") == "Deleting":
        return False
    return action == RESUME or not model.live_mapping(m).enabled


def _tags(aws: Aws, m: dict) -> dict[str, str] | None:
    try:
        return aws.mapping_tags(m["EventSourceMappingArn"])
    except NotFound:
        return None  # deleted since the listing


def _classify(m: dict | None, d: model.Mapping | None, tags: dict[str, str] | None, action: str) -> Item:
    if m is None:
        assert d is not None
        return Item(d.key.function, d.source_arn or d.key.source, why="not created: the spec lists it, AWS has no "
                                                                      "such mapping")
    item = Item(m.get("FunctionArn", ""), m.get("EventSourceArn") or model.live_mapping(m).key.source, m,
                model.read_pause(tags))
    enabled = model.live_mapping(m).enabled
    state = m.get("State", "")
    if state == "Deleting":
        return _with(item, why="being deleted")
    if action == PAUSE:
        if enabled:
            return _with(item, todo=True, why=f"{state}: mark it paused, then disable it")
        if item.pause is not None:
            return _with(item, why=f"already {item.pause.describe()}")
        return _with(item, why=f"{state}, not by esmctl pause: resume leaves it {state}")
    if item.pause is None:
        if enabled:
            return _with(item, why=f"not paused ({state})")
        return _with(item, why=f"{state}, not by esmctl pause: left {state}")
    if d is not None and not d.enabled:
        return _with(item, todo=True, enable=False,
                     why=f"the spec says Enabled: false: it stays {state}, only the pause mark is removed")
    if enabled:
        return _with(item, todo=True, why=f"{state} and still marked (an interrupted resume?): remove the mark")
    return _with(item, todo=True, why=f"{item.pause.describe()}: enable it, then remove the mark")


def _with(item: Item, **changes: Any) -> Item:
    from dataclasses import replace

    return replace(item, **changes)


def _unmatched(aws: Aws, selection: Selection, live: list[dict]) -> list[Item]:
    """A --function or --source that found no mapping: a failure (a misspelt name must not pass for done)."""
    from esmctl import status
    from esmctl.listing import matches_function

    out = []
    for name in selection.functions:
        ref = aws.function_ref(name)
        if any(matches_function(m["FunctionArn"], [ref]) for m in live):
            continue
        with explain(f"looking up function {name}"):
            found = aws.get_function(name)
        if found is None:
            out.append(Item(ref.qualified_arn, None, failed=True, why=f"function {name} not found in {aws.region}"))
        else:
            why = status.NO_MAPPINGS_ON_THE_SOURCES if selection.sources else status.NO_MAPPINGS_OF_FUNCTION
            out.append(Item(found["Configuration"]["FunctionArn"], None, failed=True, why=why))
    for source in selection.sources:
        if not any(m.get("EventSourceArn") == source for m in live):
            why = status.NOT_READ_BY_THE_FUNCTIONS if selection.functions else status.NO_MAPPINGS_OF_SOURCE
            out.append(Item("", source, failed=True, why=why))
    return out


# -- writing ------------------------------------------------------------------------------------------
def carry_out(aws: Aws, items: list[Item], action: str, *, mark: str = "", concurrency: int = 4,
              timeout: float = 300, on_done: Callable[[Result], None] | None = None) -> list[Result]:
    """Pause (with `mark` as the tag's value) or resume the items to do, a few at a time; the others are
    reported as they are. `timeout`: seconds for every wait together."""
    if action == PAUSE and not mark:
        raise ValueError("a pause needs its mark")
    deadline = time.monotonic() + timeout
    todo = [i for i in items if i.todo]

    def one(item: Item) -> Result:
        result = _pause_one(aws, item, mark, deadline) if action == PAUSE else _resume_one(aws, item, deadline)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(todo) or 1)),
                            thread_name_prefix=f"esmctl-{action}") as pool:
        done = dict(zip([id(i) for i in todo], pool.map(one, todo), strict=True))
    return [done[id(i)] if id(i) in done else unchanged(i, action) for i in items]


def unchanged(item: Item, action: str, dry_run: bool = False) -> Result:
    if item.failed:
        outcome = FAILED
    elif item.todo and dry_run:
        outcome = WOULD[action]
    else:
        outcome = SKIPPED
    return Result(item, outcome, item.why, item.state, item.pause)


def _pause_one(aws: Aws, item: Item, mark: str, deadline: float) -> Result:
    uuid, done = item.uuid, []
    step = f"tag {model.PAUSED_TAG}"
    try:
        aws.tag_mapping(item.arn, {model.PAUSED_TAG: mark})
        done.append("TagResource")
        step = "disable"
        _retry_in_use(aws, uuid, lambda: aws.update_mapping(uuid, {"Enabled": False}), deadline)
        done.append("UpdateEventSourceMapping")
        step = "wait until Disabled"
        latest = _settled(aws, uuid, deadline)
        if latest.get("State") != "Disabled":
            raise EsmctlError(f"it is {_state(latest)}, not Disabled (changed by someone else?)")
    except Exception as exc:  # noqa: BLE001 - one mapping's failure must not stop the others
        now = ("marked paused, not Disabled yet: run esmctl pause again to disable it (or esmctl resume to drop "
               "the mark)") if done else "nothing changed"
        return Result(item, FAILED, f"{step} failed: {_error(exc)}; {now}", item.state,
                      model.read_pause({model.PAUSED_TAG: mark}) if done else item.pause, done)
    pause = model.read_pause({model.PAUSED_TAG: mark})
    return Result(item, PAUSED, f"Disabled; {pause.describe()}", "Disabled", pause, done)


def _resume_one(aws: Aws, item: Item, deadline: float) -> Result:
    uuid, done = item.uuid, []
    step = "enable"
    try:
        if item.enable and item.state in ("Disabled", "Disabling"):
            _retry_in_use(aws, uuid, lambda: aws.update_mapping(uuid, {"Enabled": True}), deadline)
            done.append("UpdateEventSourceMapping")
        state = item.state
        if done or item.state in model.TRANSITIONAL_STATES:
            step = "wait until it settles"
            latest = _settled(aws, uuid, deadline)
            state = latest.get("State", "")
            want = "Enabled" if item.enable else "Disabled"
            if state != want:
                raise EsmctlError(f"it is {_state(latest)}, not {want}")
        step = f"untag {model.PAUSED_TAG}"
        aws.untag_mapping(item.arn, [model.PAUSED_TAG])
        done.append("UntagResource")
    except Exception as exc:  # noqa: BLE001 - one mapping's failure must not stop the others
        now = "still marked paused: run esmctl resume again"
        return Result(item, FAILED, f"{step} failed: {_error(exc)}; {now}", item.state, item.pause, done)
    if not item.enable:
        left = "left Disabled" if state in ("Disabled", "Disabling") else f"left {state} (apply disables it)"
        return Result(item, SKIPPED, f"the spec says Enabled: false: {left}; pause mark removed", state, None, done)
    return Result(item, RESUMED, "Enabled; pause mark removed" if done[:1] == ["UpdateEventSourceMapping"] else
                  "was Enabled already; pause mark removed", state, None, done)


def _retry_in_use(aws: Aws, uuid: str, call: Callable[[], Any], deadline: float) -> Any:
    return aws.watcher.retrying(uuid, call, deadline=deadline)


def _settled(aws: Aws, uuid: str, deadline: float) -> dict:
    latest = aws.watcher.wait(uuid, deadline=deadline)
    if latest is None:
        raise EsmctlError(f"{uuid} disappeared")
    return latest


def _state(m: dict) -> str:
    reason = m.get("StateTransitionReason") or ""
    return m.get("State", "in no known state") + (f" ({reason})" if reason and reason not in (
        "User action", "User initiated", "USER_INITIATED") else "")


def _error(exc: BaseException) -> str:
    if isinstance(exc, (EsmctlError, WaitTimeout)):
        return exc.format_message()
    return f"{type(exc).__name__}: {exc}"
