"""Pause and resume as planners: `esmctl pause` stops mappings for an incident, `esmctl resume` starts exactly
those again. The work in one account and region, on one Aws:

    survey(aws, selection, action)     one paginated listing → the mappings asked for; a mapping in Creating or
                                       Updating is read again once it settles (whether it runs is never
                                       guessed); ListTags only for those whose state leaves a doubt → Items
    plan(items, action, mark)          pure: a plan.types.Plan of PAUSE or RESUME changes, typed steps
    carry_out(aws, items, action)      that plan on execute.Executor, the one executor `apply` uses (pacing,
                                       one poll for every wait, Ctrl-C, what exists now) → Results
    pause(aws, selection) / resume(…)  all three, with a `confirm` hook before the writes

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

Throttling is ridden out by the session (botocore's retries and aws.Pacer); ResourceInUse by the executor,
as for `apply`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from esmctl import model
from esmctl.aws import Aws, NotFound, explain
from esmctl.plan.types import Action, Change, Plan, Reason, Status, Step, Tag, Untag, Update, WaitSettled

if TYPE_CHECKING:
    from esmctl.execute import Interrupt
    from esmctl.spec import Spec

PAUSE, RESUME = Action.PAUSE, Action.RESUME
# What happened to each mapping (Result.outcome).
PAUSED, RESUMED, SKIPPED, FAILED = "paused", "resumed", "skipped", "failed"
INTERRUPTED, NOT_STARTED = "interrupted", "not started"
WOULD = {PAUSE: "would pause", RESUME: "would resume"}  # --dry-run
RERUN = {PAUSE: "run esmctl pause again", RESUME: "run esmctl resume again"}


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
        return self.outcome not in (FAILED, INTERRUPTED, NOT_STARTED)

    def document(self) -> dict[str, Any]:
        """`-o json`: one object per mapping (README, "Pause and resume")."""
        return {"UUID": self.item.uuid, "FunctionArn": self.item.function_arn or None,
                "EventSourceArn": self.item.source_arn, "Outcome": self.outcome, "Message": self.message,
                "State": self.state or None,
                "Paused": {"Since": self.pause.since, "Reason": self.pause.reason} if self.pause else None}


# -- the whole command, in one account and region ----------------------------------------------------
def pause(aws: Aws, selection: Selection, *, reason: str = "", dry_run: bool = False,
          confirm: Callable[[list[Item]], None] | None = None, now: datetime | None = None,
          concurrency: int = 4, timeout: float = 300, **run: Any) -> list[Result]:
    """Disable the selected Enabled mappings, each marked paused (at `now`, with `reason`) first. `run`:
    `interrupt`, `on_done` and `guard`, as _run takes them."""
    return _run(aws, selection, PAUSE, dry_run=dry_run, confirm=confirm, concurrency=concurrency, timeout=timeout,
                mark=model.pause_mark(now or datetime.now(timezone.utc), reason), **run)


def resume(aws: Aws, selection: Selection, *, dry_run: bool = False,
           confirm: Callable[[list[Item]], None] | None = None, concurrency: int = 4,
           timeout: float = 300, **run: Any) -> list[Result]:
    """Enable the selected mappings that `pause` marked (only those), then drop their marks."""
    return _run(aws, selection, RESUME, dry_run=dry_run, confirm=confirm, concurrency=concurrency, timeout=timeout,
                **run)


def _run(aws: Aws, selection: Selection, action: Action, *, dry_run: bool,
         confirm: Callable[[list[Item]], None] | None, concurrency: int, timeout: float, mark: str = "",
         interrupt: Interrupt | None = None, on_done: Callable[[Result], None] | None = None,
         guard: Callable[[], AbstractContextManager[None]] = nullcontext) -> list[Result]:
    """Survey, ask (`confirm`), then carry out inside `guard()` (the command's Ctrl-C handling, which sets
    `interrupt`: only the writes run under it, so Ctrl-C at the question ends esmctl at once)."""
    items = survey(aws, selection, action, timeout=timeout)
    if dry_run:
        return [unchanged(i, action, dry_run=True) for i in items]
    if confirm is not None and any(i.todo for i in items):
        confirm([i for i in items if i.todo])
    with guard():
        return carry_out(aws, items, action, mark=mark, concurrency=concurrency, timeout=timeout,
                         interrupt=interrupt, on_done=on_done)


# -- reading ------------------------------------------------------------------------------------------
def survey(aws: Aws, selection: Selection, action: Action, timeout: float = 120) -> list[Item]:
    """What `action` would do to each mapping asked for. Reads only: one listing, a few ListTags; and, for
    mappings in Creating or Updating, the polls that wait (up to `timeout`) for them to settle."""
    action = Action(action)
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
    chosen, unsettled = _settled(aws, chosen, timeout)
    need_tags = [m for m, _ in chosen if m is not None and _needs_tags(m, action)]
    with explain("reading tags"), ThreadPoolExecutor(max_workers=4) as pool:
        tags = dict(zip([m["UUID"] for m in need_tags],
                        pool.map(lambda m: _tags(aws, m), need_tags), strict=True))
    items = [_classify(m, d, tags.get(m["UUID"]) if m else None, action) for m, d in chosen]
    items += [Item(m.get("FunctionArn", ""), m.get("EventSourceArn") or model.live_mapping(m).key.source, m,
                   failed=True, why=f"still {m.get('State')} after {timeout:g}s: whether it runs is not known until it "
                                    f"settles; {RERUN[action]} then") for m in unsettled]
    if selection.spec is None:
        items += _unmatched(aws, selection, live)
    return sorted(items, key=lambda i: (i.function_arn, i.source_arn or "", i.uuid or ""))


def _settled(aws: Aws, chosen: list[tuple[dict | None, Any]], timeout: float
             ) -> tuple[list[tuple[dict | None, Any]], list[dict]]:
    """`chosen` with each mapping in Creating or Updating read again once it has settled (one poll a round
    for all of them): whether it is meant to run decides what pause and resume do, and is not known before.
    Also returns those still unsettled at the deadline (left out of `chosen`)."""
    waiting = {m["UUID"]: False for m, _ in chosen if m is not None and _unknown(m)}
    if not waiting:
        return chosen, []
    with explain("waiting for mappings in Creating or Updating to settle"):
        settled, late = aws.watcher.wait_many(waiting, deadline=time.monotonic() + timeout)
    out: list[tuple[dict | None, Any]] = []
    for m, d in chosen:
        if m is not None and m["UUID"] in waiting:
            if m["UUID"] in late:
                continue
            m = settled.get(m["UUID"])  # None: deleted meanwhile
            if m is None and d is None:
                continue
        out.append((m, d))
    return out, [late[u] or {"UUID": u, "State": "gone"} for u in late]


def _unknown(m: dict) -> bool:
    return model.LiveState(m.get("State", "")).enabled is None and m.get("State") != "Deleting"


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
    state = m.get("State", "")
    enabled = model.LiveState(state).enabled
    if state == "Deleting":
        return _with(item, why="being deleted")
    if enabled is None:  # survey reads such a mapping again once it settles: never decided on a guess
        return _with(item, failed=True, why=f"{state}: whether it runs is not known until it settles")
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


# -- planning -----------------------------------------------------------------------------------------
def plan(items: list[Item], action: Action, mark: str = "") -> Plan:
    """The changes that pause (with `mark` as the tag's value) or resume the items to do. Pure."""
    action = Action(action)
    if action is PAUSE and not mark:
        raise ValueError("a pause needs its mark")
    return Plan(tuple(_change(i, action, mark) for i in items if i.todo))


def _change(item: Item, action: Action, mark: str) -> Change:
    uuid, arn = item.uuid, item.arn
    live = model.live_mapping(item.mapping or {})
    steps: list[Step]
    if action is PAUSE:
        pause = model.read_pause({model.PAUSED_TAG: mark})
        steps = [Tag(uuid=uuid, arn=arn, tags={model.PAUSED_TAG: mark}), Update(uuid=uuid, params={"Enabled": False}),
                 WaitSettled(uuid=uuid, state="Disabled", final=True)]
        return Change(action, live.key, (live,), None, (), tuple(steps),
                      Reason("pause", f"Disabled; {pause.describe()}"))
    steps = []
    enable = item.enable and live.enabled is False
    if enable:
        steps.append(Update(uuid=uuid, params={"Enabled": True}))
    if enable or not live.live_state.settled:
        steps.append(WaitSettled(uuid=uuid, state="Enabled" if item.enable else "Disabled"))
    steps.append(Untag(uuid=uuid, arn=arn, keys=(model.PAUSED_TAG,)))
    if not item.enable:
        state = live.state
        left = "left Disabled" if live.enabled is False else f"left {state} (apply disables it)"
        text = f"the spec says Enabled: false: {left}; pause mark removed"
    else:
        text = "Enabled; pause mark removed" if enable else "was Enabled already; pause mark removed"
    return Change(action, live.key, (live,), None, (), tuple(steps), Reason("resume", text))


# -- writing ------------------------------------------------------------------------------------------
def carry_out(aws: Aws, items: list[Item], action: Action, *, mark: str = "", concurrency: int = 4,
              timeout: float = 300, on_done: Callable[[Result], None] | None = None,
              interrupt: Interrupt | None = None) -> list[Result]:
    """Pause or resume the items to do on the one executor; the others are reported as they are.
    `timeout`: seconds for every wait together."""
    from esmctl.execute import Executor

    action = Action(action)
    planned = plan(items, action, mark)
    by_uuid = {i.uuid: i for i in items if i.todo}

    def step(r: Any) -> None:
        if on_done is not None:
            on_done(_result(by_uuid[r.change.uuid], r, action, mark))

    executor = Executor(aws, concurrency=concurrency, timeout=timeout, on_step=step, interrupt=interrupt,
                        rerun=RERUN[action])
    done = {r.change.uuid: _result(by_uuid[r.change.uuid], r, action, mark) for r in executor.execute(planned)}
    return [done[i.uuid] if i.todo else unchanged(i, action) for i in items]


def _result(item: Item, r: Any, action: Action, mark: str) -> Result:
    """What the executor's result for one mapping means to the person who paused or resumed it."""
    calls = [_API[type(s)] for s in r.done if s.sends]
    marked = any(isinstance(s, Tag) for s in r.done)
    if r.status is Status.DONE:
        if action is PAUSE:
            return Result(item, PAUSED, r.message, "Disabled", model.read_pause({model.PAUSED_TAG: mark}), calls)
        outcome = RESUMED if item.enable else SKIPPED
        state = "Enabled" if item.enable else item.state
        return Result(item, outcome, r.message, r.state or state, None, calls)
    pause = model.read_pause({model.PAUSED_TAG: mark}) if marked else item.pause
    outcome = {Status.INTERRUPTED: INTERRUPTED, Status.NOT_STARTED: NOT_STARTED}.get(r.status, FAILED)
    return Result(item, outcome, r.message, item.state, pause, calls)


_API = {Tag: "TagResource", Update: "UpdateEventSourceMapping", Untag: "UntagResource"}


def unchanged(item: Item, action: Action, dry_run: bool = False) -> Result:
    action = Action(action)
    if item.failed:
        outcome = FAILED
    elif item.todo and dry_run:
        outcome = WOULD[action]
    else:
        outcome = SKIPPED
    return Result(item, outcome, item.why, item.state, item.pause)
