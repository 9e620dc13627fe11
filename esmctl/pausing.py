"""Pause and resume in one account and region: read what to do (`survey`), then carry the plan of
plan.pauses out on the one executor (`carry_out`); `pause`/`resume` do both, with a question between.

    survey(aws, selection, action)     one paginated listing → the mappings asked for; a mapping in Creating or
                                       Updating is read again once it settles (whether it runs is never
                                       guessed); ListTags only for those whose state leaves a doubt → Items
    carry_out(aws, items, action)      plan.pauses.plan(items) on execute.Executor, the executor `apply` uses
                                       (pacing, one poll for every wait, Ctrl-C, what exists now) → Results
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timezone
from typing import Any

from esmctl.aws.calls import Aws
from esmctl.aws.errors import NotFound, explain
from esmctl.execute import Executor, Interrupt
from esmctl.mapping import compare, identity, marks, states
from esmctl.plan.pauses import (
    PAUSE,
    RERUN,
    RESUME,
    Item,
    Result,
    Selection,
    agreed,
    classify,
    plan,
    result_of,
    unchanged,
)
from esmctl.plan.types import Action


# -- the whole command, in one account and region ----------------------------------------------------
def pause(aws: Aws, selection: Selection, *, reason: str = "", dry_run: bool = False,
          confirm: Callable[[list[Item]], bool] | None = None, now: datetime | None = None,
          concurrency: int = 4, timeout: float = 300, **run: Any) -> list[Result]:
    """Disable the selected Enabled mappings, each marked paused (at `now`, with `reason`) first. `run`:
    `interrupt`, `on_done` and `guard`, as _run takes them."""
    return _run(aws, selection, PAUSE, dry_run=dry_run, confirm=confirm, concurrency=concurrency, timeout=timeout,
                mark=marks.pause_mark(now or datetime.now(timezone.utc), reason), **run)


def resume(aws: Aws, selection: Selection, *, dry_run: bool = False,
           confirm: Callable[[list[Item]], bool] | None = None, concurrency: int = 4,
           timeout: float = 300, **run: Any) -> list[Result]:
    """Enable the selected mappings that `pause` marked (only those), then drop their marks."""
    return _run(aws, selection, RESUME, dry_run=dry_run, confirm=confirm, concurrency=concurrency, timeout=timeout,
                **run)


def _run(aws: Aws, selection: Selection, action: Action, *, dry_run: bool,
         confirm: Callable[[list[Item]], bool] | None, concurrency: int, timeout: float, mark: str = "",
         interrupt: Interrupt | None = None, on_done: Callable[[Result], None] | None = None,
         guard: Callable[[], AbstractContextManager[None]] = nullcontext) -> list[Result]:
    """Survey, ask (`confirm`: True when a person answered), then carry out inside `guard()` (the command's Ctrl-C
    handling, which sets `interrupt`: only the writes run under it, so Ctrl-C at the question ends esmctl at once).
    After an answer the mappings are read again, and only what was agreed to and is still to do is done
    (`agreed`): a mapping disabled by hand while the question was up is not marked paused."""
    items = survey(aws, selection, action, timeout=timeout)
    if dry_run:
        return [unchanged(i, action, dry_run=True) for i in items]
    if confirm is not None and any(i.todo for i in items) and confirm([i for i in items if i.todo]):
        items = agreed(items, survey(aws, selection, action, timeout=timeout), action)
    with guard():
        return carry_out(aws, items, action, mark=mark, concurrency=concurrency, timeout=timeout,
                         interrupt=interrupt, on_done=on_done)


# -- reading ------------------------------------------------------------------------------------------
def survey(aws: Aws, selection: Selection, action: Action, timeout: float = 120) -> list[Item]:
    """What `action` would do to each mapping asked for. Reads only: one listing, a few ListTags; and, for
    mappings in Creating or Updating, the polls that wait (up to `timeout`) for them to settle."""
    action = Action(action)
    from esmctl.listing import reads_one_of, select_from

    aws.region  # noqa: B018 - a missing profile or region is said once, before any call
    if selection.spec is not None:
        from esmctl.reconcile import resolve

        with explain("resolving functions and consumers"):
            desired = resolve(aws, selection.spec)
        live = select_from(aws, selection.functions or None, selection.sources)
        by_key: dict[identity.Key, dict] = {}
        for m in live:
            if m.get("State") != "Deleting":
                by_key.setdefault(compare.live_mapping(m).key, m)
        # --function and --source narrow the spec's mappings as they narrowed the listing
        in_functions = _function_filter(aws, selection.functions)
        desired = [d for d in desired if in_functions(d.key.function)
                   and (not selection.sources or reads_one_of(d.source_arn or d.key.source, selection.sources))]
        chosen = [(by_key.get(d.key), d) for d in desired]
    else:
        live = select_from(aws, selection.functions or None, selection.sources)
        chosen = [(m, None) for m in live]
    chosen, unsettled = _settled(aws, chosen, timeout)
    need_tags = [m for m, _ in chosen if m is not None and _needs_tags(m, action)]
    with explain("reading tags"), ThreadPoolExecutor(max_workers=4) as pool:
        tags = dict(zip([m["UUID"] for m in need_tags],
                        pool.map(lambda m: _tags(aws, m), need_tags), strict=True))
    items = [classify(m, d, tags.get(m["UUID"]) if m else None, action) for m, d in chosen]
    items += [Item(m.get("FunctionArn", ""), m.get("EventSourceArn") or compare.live_mapping(m).key.source, m,
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
    waiting = {m["UUID"] for m, _ in chosen if m is not None and _unknown(m)}
    if not waiting:
        return chosen, []
    settled, late = aws.watcher.settle(waiting, timeout=timeout)
    out: list[tuple[dict | None, Any]] = []
    for m, d in chosen:
        if m is not None and m["UUID"] in waiting:
            if m["UUID"] in late:
                continue
            m = settled.get(m["UUID"])  # None: deleted meanwhile
            if m is None and d is None:
                continue
        out.append((m, d))
    listed = {m["UUID"]: m for m, _ in chosen if m is not None}
    return out, [{**listed[u], "State": (late[u] or {}).get("State", "gone")} for u in late]


def _unknown(m: dict) -> bool:
    return states.LiveState(m.get("State", "")).enabled is None and m.get("State") != "Deleting"


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
    return action == RESUME or not compare.live_mapping(m).enabled


def _tags(aws: Aws, m: dict) -> dict[str, str] | None:
    try:
        return aws.mapping_tags(m["EventSourceMappingArn"])
    except NotFound:
        return None  # deleted since the listing


def _unmatched(aws: Aws, selection: Selection, live: list[dict]) -> list[Item]:
    """A --function or --source that found no mapping: a failure (a misspelt name must not pass for done)."""
    from esmctl import status
    from esmctl.listing import matches_function, reads_one_of

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
        if not any(reads_one_of(m.get("EventSourceArn"), [source]) for m in live):
            why = status.NOT_READ_BY_THE_FUNCTIONS if selection.functions else status.NO_MAPPINGS_OF_SOURCE
            out.append(Item("", source, failed=True, why=why))
    return out


# -- writing ------------------------------------------------------------------------------------------
def carry_out(aws: Aws, items: list[Item], action: Action, *, mark: str = "", concurrency: int = 4,
              timeout: float = 300, on_done: Callable[[Result], None] | None = None,
              interrupt: Interrupt | None = None) -> list[Result]:
    """Pause or resume the items to do on the one executor; the others are reported as they are.
    `timeout`: seconds for every wait together."""
    action = Action(action)
    planned = plan(items, action, mark)
    by_uuid = {i.uuid: i for i in items if i.todo}

    def step(r: Any) -> None:
        if on_done is not None:
            on_done(result_of(by_uuid[r.change.uuid], r, action, mark))

    executor = Executor(aws, concurrency=concurrency, timeout=timeout, on_step=step, interrupt=interrupt,
                        rerun=RERUN[action])
    done = {r.change.uuid: result_of(by_uuid[r.change.uuid], r, action, mark) for r in executor.execute(planned)}
    return [done[i.uuid] if i.todo else unchanged(i, action) for i in items]


