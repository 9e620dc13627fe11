"""Pause and resume as planners, pure: what `esmctl pause` (stop mappings for an incident) and `esmctl resume`
(start exactly those again) do to each mapping. esmctl/pausing.py reads the mappings and runs the plan.

    classify(mapping, spec, tags, action)  an Item: what to do to one mapping, or why nothing
    plan(items, action, mark)              a plan.types.Plan of PAUSE or RESUME changes, typed steps
    result_of(item, result, action, mark)  what the executor's result means to the person who paused

A pause is marked with one tag, marks.PAUSED_TAG (`esmctl:paused` = when [and why]). The mark is what
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

"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from esmctl.mapping import compare, marks, states
from esmctl.plan.types import Action, Change, Plan, Reason, Status, Step, Tag, Untag, Update, WaitSettled

if TYPE_CHECKING:
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
    pause: marks.Pause | None = None  # its mark, when its tags were read
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
    pause: marks.Pause | None = None  # the mark now
    done: list[str] = field(default_factory=list)  # the calls made, in order

    @property
    def ok(self) -> bool:
        return self.outcome not in (FAILED, INTERRUPTED, NOT_STARTED)

    @property
    def cut_short(self) -> bool:
        """Ctrl-C stopped it (before it began, or half-way): not done, and not failed either."""
        return self.outcome in (INTERRUPTED, NOT_STARTED)

    def document(self) -> dict[str, Any]:
        """`-o json`: one object per mapping (README, "Pause and resume")."""
        return {"UUID": self.item.uuid, "FunctionArn": self.item.function_arn or None,
                "EventSourceArn": self.item.source_arn, "Outcome": self.outcome, "Message": self.message,
                "State": self.state or None,
                "Paused": {"Since": self.pause.since, "Reason": self.pause.reason} if self.pause else None}


# -- deciding ----------------------------------------------------------------------------------------
def classify(m: dict | None, d: compare.Mapping | None, tags: dict[str, str] | None, action: str) -> Item:
    if m is None:
        assert d is not None
        return Item(d.key.function, d.source_arn or d.key.source, why="not created: the spec lists it, AWS has no "
                                                                      "such mapping")
    item = Item(m.get("FunctionArn", ""), m.get("EventSourceArn") or compare.live_mapping(m).key.source, m,
                marks.read_pause(tags))
    state = m.get("State", "")
    enabled = states.LiveState(state).enabled
    if state == "Deleting":
        return _with(item, why="being deleted")
    if enabled is None:  # survey reads such a mapping again once it settles: never decided on a guess
        return _with(item, failed=True, why=f"{state}: whether it runs is not known until it settles")
    if action == PAUSE:
        if enabled:
            return _with(item, todo=True, why=f"{state}: mark it paused, then disable it")
        if item.pause is not None and state == "Disabling":  # an interrupted pause: not paused until Disabled
            return _with(item, todo=True, why=f"Disabling, {item.pause.describe()} (an interrupted pause?): wait "
                                              "until it is Disabled")
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


def agreed(asked: list[Item], now: list[Item], action: Action) -> list[Item]:
    """The mappings as read again after the question (`now`), doing only what was asked and agreed to (`asked`):
    one to do now but not then, or otherwise (resume: enable it, or only drop the mark), is not done without a
    new question; one not to do now says what changed. Pure."""
    action = Action(action)
    then = {i.uuid: i for i in asked if i.todo}
    out = []
    for item in now:
        before = then.get(item.uuid) if item.uuid else None
        if item.todo and (before is None or before.enable != item.enable):
            item = _with(item, todo=False, failed=True, why=f"changed since the question ({item.why}): not done "
                                                           f"without asking again; {RERUN[action]}")
        elif before is not None and not item.todo:
            item = _with(item, why=f"changed since the question: {item.why}")
        out.append(item)
    return out


def _with(item: Item, **changes: Any) -> Item:
    from dataclasses import replace

    return replace(item, **changes)


# -- planning -----------------------------------------------------------------------------------------
def plan(items: list[Item], action: Action, mark: str = "") -> Plan:
    """The changes that pause (with `mark` as the tag's value) or resume the items to do. Pure."""
    action = Action(action)
    if action is PAUSE and not mark:
        raise ValueError("a pause needs its mark")
    return Plan(tuple(_change(i, action, mark) for i in items if i.todo))


def _change(item: Item, action: Action, mark: str) -> Change:
    uuid, arn = item.uuid, item.arn
    live = compare.live_mapping(item.mapping or {})
    steps: list[Step]
    if action is PAUSE:
        pause = marks.read_pause({marks.PAUSED_TAG: mark})
        steps = [Tag(uuid=uuid, arn=arn, tags={marks.PAUSED_TAG: mark}), Update(uuid=uuid, params={"Enabled": False}),
                 WaitSettled(uuid=uuid, state="Disabled", final=True)]
        if live.enabled is False and item.pause is not None:  # marked and Disabling: its pause, finished
            pause, steps = item.pause, steps[2:]
        return Change(action, live.key, (live,), None, (), tuple(steps),
                      Reason("pause", f"Disabled; {pause.describe()}"))
    steps = []
    enable = item.enable and live.enabled is False
    if enable:
        steps.append(Update(uuid=uuid, params={"Enabled": True}))
    if enable or not live.live_state.settled:
        steps.append(WaitSettled(uuid=uuid, state="Enabled" if item.enable else "Disabled"))
    steps.append(Untag(uuid=uuid, arn=arn, keys=(marks.PAUSED_TAG,)))
    if not item.enable:
        state = live.state
        left = "left Disabled" if live.enabled is False else f"left {state} (apply disables it)"
        text = f"the spec says Enabled: false: {left}; pause mark removed"
    else:
        text = "Enabled; pause mark removed" if enable else "was Enabled already; pause mark removed"
    return Change(action, live.key, (live,), None, (), tuple(steps), Reason("resume", text))


# -- what it did --------------------------------------------------------------------------------------
def result_of(item: Item, r: Any, action: Action, mark: str) -> Result:
    """What the executor's result for one mapping means to the person who paused or resumed it."""
    calls = [_API[type(s)] for s in r.done if s.sends]
    marked = any(isinstance(s, Tag) for s in r.done)
    if r.status is Status.DONE:
        if action is PAUSE:
            pause = marks.read_pause({marks.PAUSED_TAG: mark}) if marked else item.pause
            return Result(item, PAUSED, r.message, "Disabled", pause, calls)
        outcome = RESUMED if item.enable else SKIPPED
        state = "Enabled" if item.enable else item.state
        return Result(item, outcome, r.message, r.state or state, None, calls)
    pause = marks.read_pause({marks.PAUSED_TAG: mark}) if marked else item.pause
    outcome = {Status.INTERRUPTED: INTERRUPTED, Status.NOT_STARTED: NOT_STARTED}.get(r.status, FAILED)
    return Result(item, outcome, r.message, r.state or item.state, pause, calls)  # as a wait last saw it, if one did


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
