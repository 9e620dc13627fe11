"""The one executor: carries out a plan (of `apply`, of a saved plan, of `pause` or `resume`, in one target
of a fleet) — each change's steps in order, the changes in parallel, deletes of prunes last.

The executor only performs the steps a planner wrote (plan.types); it decides nothing about what
should change. Each step kind has its handler (`Executor._handlers`). Two things are filled in as they become
known: the ARN of a consumer registered by
an earlier step, and the UUID of the mapping a change creates (steps with uuid None).

- A create that meets 409 (its reply was lost and retried, or someone made it meanwhile) adopts the
  existing mapping when it is the same one, updating what differs in place.
- Updates and deletes refused with ResourceInUse wait for the mapping to settle and try again.
- Every wait shares one deadline: --timeout is for the whole apply.
- A failed change says what exists now ("deleted X; creating Y failed; re-run apply to create it"), or,
  when a re-run would fail the same way (a function or source that does not exist, parameters AWS
  refuses), what to correct in the spec (results.py words it).
- A prune is skipped when another change of the same function failed: nothing is deleted on the
  strength of a change that did not happen.
- Interrupted (Ctrl-C, see Interrupt), no change or step starts and every wait ends at once; the calls
  already sent are let return, so each result still says what exists now (done, interrupted, not started).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, ClassVar

from esmctl.aws.calls import Aws
from esmctl.aws.errors import Conflict, NotFound
from esmctl.aws.waiting import WaitTimeout, Watcher
from esmctl.consumers import ensure_consumer
from esmctl.errors import EsmctlError, Interrupted
from esmctl.mapping import compare, marks, requests, states, values
from esmctl.plan.types import (
    Action,
    Change,
    Create,
    Delete,
    ForgetTags,
    Plan,
    RecordTags,
    RegisterConsumer,
    Status,
    Step,
    Tag,
    Untag,
    Update,
    WaitGone,
    WaitSettled,
)
from esmctl.results import Result, Run, calls_made, existing, standing, success, what_exists_now, what_to_fix


class Interrupt:
    """Ctrl-C during an apply, as the executor's threads see it. Once set, no change or step starts and
    every wait ends within POLL seconds (its sleep raises Interrupted); a call already sent is let return.

    set() takes no lock, as it runs in a signal handler: the handler runs in the main thread, which may then be
    inside a wait holding that wait's lock (a threading.Event's, as this was: Ctrl-C there could hang esmctl)."""

    POLL = 0.05  # how soon a wait notices

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def __bool__(self) -> bool:
        return self._set

    def sleep(self, seconds: float) -> None:
        """time.sleep for the waits, cut short by Ctrl-C."""
        end = time.monotonic() + max(0.0, seconds)
        while not self._set:
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, self.POLL))
        raise Interrupted()

    def check(self, *_: Any) -> None:
        if self._set:
            raise Interrupted()


class Deadline:
    """One time limit for a whole apply."""

    def __init__(self, seconds: float, started: float | None = None) -> None:
        self.seconds = seconds  # --timeout, as given
        self.at = (time.monotonic() if started is None else started) + seconds

    def left(self) -> float:
        return max(0.0, self.at - time.monotonic())


@dataclass
class _Partial:
    """A change whose steps ran up to its last waits."""

    change: Change
    run: Run
    done: list[Step]
    waits: list[Step]
    result: Result


class Executor:
    _handlers: ClassVar[dict[type[Step], Callable[..., None]]]  # each step kind's, below the class
    def __init__(self, aws: Aws, *, concurrency: int = 4, wait: bool = True, timeout: float = 600,
                 started: float | None = None, on_step: Callable[[Result], None] | None = None,
                 interrupt: Interrupt | None = None, rerun: str = "re-run apply") -> None:
        """`timeout` counts from `started` (time.monotonic(); default now): an apply's began with its plan."""
        self.aws = aws
        self.rerun = rerun  # what finishes a change that failed half-way (a saved plan is carried out once)
        self.concurrency = max(1, concurrency)
        self.wait = wait
        self.deadline = Deadline(timeout, started)
        self.on_step = on_step or (lambda _r: None)  # after each change: for progress
        self.interrupt = interrupt if interrupt is not None else Interrupt()
        # The executor's own watcher, whose waits Ctrl-C ends at once (one poll still serves every thread).
        self.watcher = Watcher(aws, sleep=self.interrupt.sleep)

    def execute(self, plan: Plan) -> list[Result]:
        if plan.missing or plan.problems:  # a planner decides nothing it has not read; a refused plan is not run
            raise ValueError(f"a plan that cannot be carried out (missing {plan.missing}, problems {plan.problems})")
        first = [c for c in plan.changes if c.action is not Action.DELETE]
        results = self._settle(self._parallel(first))
        failed = {r.change.key.function for r in results if not r.ok}
        prunes = []
        for c in plan.changes:
            if c.action is not Action.DELETE:
                continue
            if c.key.function in failed and not self.interrupt:
                r = Result(c, False, "skipped: another change of this function failed, so nothing is pruned",
                           c.uuid, exists=[c.uuid], skipped=True)
                self.on_step(r)
                results.append(r)
            else:
                prunes.append(c)
        results += self._settle(self._parallel(prunes))
        order = {id(c): i for i, c in enumerate(plan.changes)}
        return sorted(results, key=lambda r: order[id(r.change)])

    def _parallel(self, changes: list[Change]) -> list[_Partial]:
        if not changes:
            return []
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="esmctl-apply") as pool:
            return list(pool.map(self._run, changes))

    def _settle(self, partials: list[_Partial]) -> list[Result]:
        """The last waits of every change at once: one poll per round for all of them, not one per mapping."""
        targets = {}
        for p in partials:
            for step in p.waits:
                targets[step.uuid or p.run.new] = isinstance(step, WaitGone)
        settled: dict[str, dict | None] | None = {}
        late: dict[str, dict | None] = {}
        began, failure = False, None
        if targets and self.interrupt:
            settled = None
        elif targets:
            began = True
            try:
                settled, late = self.watcher.wait_many(targets, deadline=self.deadline.at)
            except Interrupted:
                settled = None
            except Exception as exc:  # noqa: BLE001 - a poll failed (denied, unreachable): each wait says so
                failure = exc
        results = []
        for p in partials:
            result = p.result
            if failure is not None and p.waits:
                result = self._failed(p.change, p.run, p.done, p.waits[0], failure)
            elif settled is None and p.waits:  # Ctrl-C: these waits never ended
                result = self._interrupted(p.change, p.run, p.done, p.waits[0], cut_short=began)
            for step in p.waits if settled is not None and failure is None else ():
                uuid = step.uuid or p.run.new
                if uuid in late:
                    state = "still there" if isinstance(step, WaitGone) and late[uuid] else \
                        (late[uuid] or {}).get("State", "unknown")
                    error = EsmctlError(f"timed out waiting for {uuid} (last seen: {state}; --timeout "
                                        f"{self.deadline.seconds:g}s is for the whole apply)")
                    result = self._failed(p.change, p.run, p.done, step, error)
                    break
                if isinstance(step, WaitSettled):
                    try:
                        result.state = _check_settled(step, uuid, settled.get(uuid), p.change)
                    except EsmctlError as exc:
                        result = self._failed(p.change, p.run, p.done, step, exc)
                        break
                p.done.append(step)
            if result.status is not Status.NOT_STARTED:
                self.on_step(result)
            results.append(result)
        return results

    # -- one change -------------------------------------------------------------------------------
    def _run(self, change: Change) -> _Partial:
        """A change's steps up to its last waits (those wait for every change at once, in _settle)."""
        run = Run(consumer_arn=change.after.consumer.arn if change.after and change.after.consumer else None)
        done: list[Step] = []
        steps = list(change.steps)
        waits: list[Step] = []
        while steps and steps[-1].final:
            waits.insert(0, steps.pop())
        for i, step in enumerate(steps):
            if self.interrupt:
                return _Partial(change, run, done, [], self._interrupted(change, run, done, step))
            if step.sends and not any(s.sends for s in done) and not self.deadline.left():
                # A change begun past the deadline would end in its first wait, half-made (a replace: deleted)
                text = (f"skipped: the --timeout deadline ({self.deadline.seconds:g}s for the whole apply) passed "
                        f"before it began; nothing was sent for it; {self.rerun}")
                return _Partial(change, run, done, [], Result(change, False, text, change.uuid, done,
                                                              existing(change, run, done), skipped=True))
            if isinstance(step, Delete) and not self.deadline.left() and any(isinstance(s, Create) for s in steps[i:]):
                # past the deadline, a delete whose create comes after it would leave nothing reading the data
                late = EsmctlError(f"not sent: the --timeout deadline ({self.deadline.seconds:g}s for the whole "
                                   "apply) passed before it")
                return _Partial(change, run, done, [], self._failed(change, run, done, step, late))
            try:
                self._do(step, change, run)
            except Interrupted:
                return _Partial(change, run, done, [], self._interrupted(change, run, done, step, cut_short=True))
            except Exception as exc:  # noqa: BLE001 - one change's failure must not stop the others
                return _Partial(change, run, done, [], self._failed(change, run, done, step, exc))
            done.append(step)
        result = Result(change, True, success(change, run), standing(change, run), done,
                        existing(change, run, done), source=run.consumer_arn, state=run.state)
        return _Partial(change, run, done, waits if self.wait else [], result)

    def _do(self, step: Step, change: Change, run: Run) -> None:
        self._handlers[type(step)](self, step, change, run)

    def _register(self, step: RegisterConsumer, change: Change, run: Run) -> None:
        consumer = ensure_consumer(self.aws, step.stream, step.name, deadline=self.deadline.at,
                                   on_poll=self.interrupt.check)
        run.consumer_arn = consumer["ConsumerARN"]

    def _update(self, step: Update, change: Change, run: Run) -> None:
        uuid = step.uuid or run.new
        reply = self._retry_in_use(uuid, lambda: self.aws.update_mapping(uuid, step.params))
        run.state = (reply or {}).get("State") or run.state  # as last seen (Disabling), if the run ends here

    def _tag(self, step: Tag | RecordTags, change: Change, run: Run) -> None:
        self.aws.tag_mapping(step.arn, step.tags)

    def _untag(self, step: Untag | ForgetTags, change: Change, run: Run) -> None:
        self.aws.untag_mapping(step.arn, list(step.keys))

    def _delete(self, step: Delete, change: Change, run: Run) -> None:
        uuid = step.uuid or run.new
        try:
            self._retry_in_use(uuid, lambda: self.aws.delete_mapping(uuid))
        except NotFound:
            pass  # already gone: what the step wanted

    def _wait_settled(self, step: WaitSettled, change: Change, run: Run) -> None:
        uuid = step.uuid or run.new
        run.state = _check_settled(step, uuid, self._wait(uuid, gone=False), change)

    def _wait_gone(self, step: WaitGone, change: Change, run: Run) -> None:
        self._wait(step.uuid or run.new, gone=True)

    def _create(self, step: Create, change: Change, run: Run) -> None:
        params = dict(step.params)
        if run.consumer_arn:
            params["EventSourceArn"] = run.consumer_arn
        try:
            created = self.aws.create_mapping(params)
            run.new, run.state = created["UUID"], created.get("State") or run.state
        except Conflict:
            run.new = self._adopt(change, params)
            run.adopted = True

    def _adopt(self, change: Change, params: dict[str, Any]) -> str:
        """The identity exists (a lost reply that was retried, or another caller): take it if it is
        the same mapping, updating what differs in place; refuse if only a new mapping could match."""
        want = change.after
        source = params.get("EventSourceArn")
        for raw in self.aws.list_mappings(source=source):
            found = compare.live_mapping(raw)
            if found.key != change.key or found.state == "Deleting":
                continue
            if change.action is Action.HANDOFF and (why := self._unproven_start(change, found)):
                # Adopting it would delete the old mapping on the strength of a start nobody checked.
                raise EsmctlError(f"a mapping of this identity exists ({found.uuid}) and {why}: the old mapping "
                                  "is kept; plan again (finishing the move without that needs --allow-replace)")
            comparison = compare.compare(want, found)
            starts = {"StartingPosition", "StartingPositionTimestamp"}
            changes = [c for c in comparison.changes if c.name not in starts or change.start_at is None]
            fixed = requests.replace_reasons(compare.Comparison(changes))
            if fixed:
                raise EsmctlError(f"a mapping of this identity exists ({found.uuid}) with {', '.join(fixed)} "
                                  "different: plan again")
            update = requests.update_params(want, changes)
            if update:
                uuid = found.uuid
                self._retry_in_use(uuid, lambda: self.aws.update_mapping(uuid, update))  # noqa: B023 - called at once
            self._adopt_tags(found, params.get("Tags") or {}, want.tags if want is not None else None)
            return found.uuid
        raise EsmctlError("Lambda reported a conflict, but no mapping of this identity was found")

    def _adopt_tags(self, found: compare.Mapping, tags: dict[str, str], managed: dict[str, str] | None) -> None:
        """The tags the create would have set, on the mapping adopted instead; where the spec manages Tags
        (`managed`), its other tags a spec can manage go, as an update's would."""
        if not found.arn or (not tags and managed is None):
            return
        have = self.aws.mapping_tags(found.arn)
        if missing := {k: v for k, v in tags.items() if have.get(k) != v}:
            self.aws.tag_mapping(found.arn, missing)
        if managed is not None and (extra := sorted(set(marks.managed_tags(have)) - set(managed))):
            self.aws.untag_mapping(found.arn, extra)

    def _unproven_start(self, change: Change, found: compare.Mapping) -> str:
        """"" when the mapping found in a hand-off's place provably starts at or before the old ones' position:
        the hand-off's own create (its tag names them), TRIM_HORIZON, or AT_TIMESTAMP at or before the
        hand-off's start; else what is known of its start."""
        start = found.config.get("StartingPosition")
        if start == "TRIM_HORIZON":
            return ""
        started = found.config.get("StartingPositionTimestamp")
        if start == "AT_TIMESTAMP" and change.start_at is not None and started is not None \
                and started <= change.start_at:
            return ""
        named = (self.aws.mapping_tags(found.arn).get(marks.HANDOFF_TAG) or "").split(",") if found.arn else []
        if all(m.uuid in named for m in change.before):
            return ""
        return f"starts at {start or 'an unknown position'}{f' {values.iso(started)}' if started else ''}, " \
               "not provably at or before the old mapping's position"

    def _retry_in_use(self, uuid: str, call: Callable[[], Any]) -> Any:
        """A mapping that is Creating/Updating refuses changes (ResourceInUse): wait, then try again."""
        try:
            return self.watcher.retrying(uuid, call, deadline=self.deadline.at)
        except WaitTimeout as exc:
            raise EsmctlError(f"{exc.message} (--timeout {self.deadline.seconds:g}s is for the whole apply)") from exc

    def _wait(self, uuid: str, *, gone: bool) -> dict | None:
        try:
            return self.watcher.wait(uuid, gone=gone, deadline=self.deadline.at)
        except WaitTimeout as exc:
            raise EsmctlError(f"{exc.message} (--timeout {self.deadline.seconds:g}s is for the whole apply)") from exc

    # -- telling what happened ---------------------------------------------------------------------
    def _failed(self, change: Change, run: Run, done: list[Step], step: Step, exc: BaseException) -> Result:
        error = exc.format_message() if isinstance(exc, EsmctlError) else f"{type(exc).__name__}: {exc}"
        exists = existing(change, run, done)
        did_text = calls_made(done, run)
        text = (f"{did_text}; " if did_text else "") + f"{step.describe()} failed: {error.rstrip('.')}"
        text += "; " + what_exists_now(change, run, exists, what_to_fix(change, step, exc), self.rerun)
        return Result(change, False, text, run.new or change.uuid, done, exists, source=run.consumer_arn,
                      state=run.state)

    def _interrupted(self, change: Change, run: Run, done: list[Step], step: Step, *,
                     cut_short: bool = False) -> Result:
        """A change Ctrl-C stopped before `step` (or, cut_short, during it): what was sent, what exists."""
        exists = existing(change, run, done)
        did_text = calls_made(done, run)
        sent = run.new or any(s.sends for s in done) or (cut_short and step.sends)
        if not sent:
            text, status = "interrupted before it began: nothing was sent for it", Status.NOT_STARTED
        else:
            when = "while" if cut_short else "before"
            if not step.sends:
                what = f"interrupted {when} " + step.describe().replace("wait until", "waiting until", 1)
            else:
                what = f"interrupted {'during' if cut_short else 'before'} the step: {step.describe()}"
            text, status = (f"{did_text}; " if did_text else "") + what, Status.INTERRUPTED
        text += "; " + what_exists_now(change, run, exists, rerun=self.rerun)
        return Result(change, False, text, run.new or change.uuid, done, exists, source=run.consumer_arn,
                      status=status, state=run.state)


def _check_settled(step: WaitSettled, uuid: str, latest: dict | None, change: Change) -> str:
    """The State a wait ended on, if it is what the step waited for; else why not (EsmctlError)."""
    if latest is None:
        raise EsmctlError(f"{uuid} disappeared")
    state = states.LiveState(latest.get("State", ""))
    if not state.settled or (step.state and state.name != step.state):
        reason = latest.get("StateTransitionReason") or ""
        raise EsmctlError(f"{uuid} is {state}{f' ({reason})' if reason else ''}"
                          + (f", not {step.state}" if step.state else ""))
    result = latest.get("LastProcessingResult") or ""
    if step.healthy and result.upper().startswith("PROBLEM"):
        # Enabled is not running: a new mapping that cannot read (SubscribeToShard denied, say)
        # must not take over from one that can.
        kept = ", ".join(m.uuid for m in change.before) or "the old mapping"
        raise EsmctlError(f"{uuid} is {state} but reports {result!r}: {kept} is kept until it runs cleanly")
    return state.name


Executor._handlers = {
    RegisterConsumer: Executor._register, Create: Executor._create, Update: Executor._update, Tag: Executor._tag,
    RecordTags: Executor._tag, Untag: Executor._untag, ForgetTags: Executor._untag, Delete: Executor._delete,
    WaitSettled: Executor._wait_settled, WaitGone: Executor._wait_gone,
}
