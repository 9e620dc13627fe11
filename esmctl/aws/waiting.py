"""Waiting for mappings to settle (or go): Lambda has no waiters for event source mappings."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from esmctl.aws.errors import InUse, Throttled, explain
from esmctl.errors import EsmctlError
from esmctl.mapping import states


def poll_interval() -> float:
    # Seconds between polls while waiting; tests shorten it.
    return float(os.environ.get("ESMCTL_POLL_INTERVAL", "2"))


class Mappings(Protocol):
    """What a Watcher polls (esmctl.aws.calls.Aws)."""

    def get_mapping(self, uuid: str) -> dict | None: ...

    def list_mappings(self, source: str | None = None) -> list[dict]: ...


class WaitTimeout(EsmctlError):
    """A wait ran out of time; says which state the mapping was last seen in."""


def _unread(uuid: str) -> dict:
    """What a wait says of a mapping no poll could read before its deadline (each throttled): not gone."""
    return {"UUID": uuid, "State": "not known (every poll of it was throttled)"}


class Watcher:
    """Waits for many mappings at once, for any number of threads.

    One poll per round serves every waiter: GetEventSourceMapping for one or two mappings, else one
    paginated listing, never a call per mapping per waiter. A waiter only trusts a poll that started
    after it began to wait, so it never takes a state from before its own write for the answer.
    """

    def __init__(self, aws: Mappings, sleep: Callable[[float], None] = time.sleep) -> None:
        self._aws = aws
        self._sleep = sleep
        self._cond = threading.Condition()
        self._waiting: Counter[str] = Counter()
        self._seen: dict[str, tuple[int, dict | None]] = {}  # uuid -> (poll number, mapping or None if gone)
        self._started = 0  # polls started
        self._polling = False
        self._delay = 0.0

    def wait(self, uuid: str, *, gone: bool = False, deadline: float,
             on_poll: Callable[[dict | None], None] | None = None) -> dict | None:
        with self._cond:
            self._waiting[uuid] += 1
            need = self._started + 1
            looked = False  # past the deadline without ever having seen the mapping: one look, to say its state
            try:
                while True:
                    number, mapping = self._seen.get(uuid, (0, None))
                    if number >= need:
                        if on_poll:
                            on_poll(mapping)
                        if (mapping is None) if gone else (mapping is None or
                                                           mapping.get("State") not in states.TRANSITIONAL_STATES):
                            return mapping
                        need = number + 1
                    left = deadline - time.monotonic()
                    if left <= 0 and (uuid in self._seen or looked):
                        state = "still there" if gone and mapping else (mapping or {}).get("State", "unknown")
                        raise WaitTimeout(f"timed out waiting for {uuid} to be {'gone' if gone else 'settled'} "
                                          f"(last seen: {state})")
                    if left <= 0:  # the deadline came before the first look (a slow start): the timeout says the state
                        looked, left = True, 0.0
                    if self._polling:
                        self._cond.wait(timeout=left or None)
                    else:
                        self._poll_once(left)
            finally:
                self._waiting[uuid] -= 1
                if not self._waiting[uuid]:
                    del self._waiting[uuid]
                    if not self._waiting:
                        self._delay = 0.0

    def retrying(self, uuid: str, call: Callable[[], Any], *, deadline: float,
                 on_poll: Callable[[dict | None], None] | None = None) -> Any:
        """call(); while the mapping refuses it with ResourceInUse (Creating, Updating…), wait for it to settle
        and call again, until `deadline`. Every command that changes a mapping goes through here."""
        while True:
            try:
                return call()
            except InUse:
                if time.monotonic() >= deadline:
                    raise
                self.wait(uuid, deadline=deadline, on_poll=on_poll)

    def wait_many(self, targets: dict[str, bool], *, deadline: float) -> tuple[dict[str, dict | None],
                                                                                dict[str, dict | None]]:
        """Wait for many mappings in one loop (uuid -> gone?): one poll per round for all of them.
        Returns (settled or gone: uuid -> last seen, still waiting at the deadline: uuid -> last seen)."""
        pending, done, delay = dict(targets), {}, 0.0
        latest: dict[str, dict | None] = {}
        while pending:
            if delay:
                self._sleep(max(0.0, min(delay, deadline - time.monotonic())))
            try:
                latest = {**latest, **self._look(pending)}
            except Throttled:  # still throttled after botocore's retries: a poll, not the wait, failed; poll again
                delay = min(max(0.5, delay * 2), poll_interval())
                if time.monotonic() >= deadline:
                    return done, {u: latest[u] if u in latest else _unread(u) for u in pending}
                continue
            for uuid, gone in list(pending.items()):
                m = latest[uuid]
                if (m is None) if gone else (m is None or m.get("State") not in states.TRANSITIONAL_STATES):
                    done[uuid] = m
                    del pending[uuid]
            if pending and time.monotonic() >= deadline:
                return done, {u: latest.get(u) for u in pending}
            delay = min(max(0.5, delay * 2), poll_interval())
        return done, {}

    def settle(self, uuids: Iterable[str], *, timeout: float) -> tuple[dict[str, dict | None], dict[str, dict | None]]:
        """Wait for mappings in Creating or Updating to settle, one poll a round for all, for at most `timeout`
        seconds. Returns (settled or gone: uuid -> mapping or None, still changing: uuid -> last seen)."""
        with explain("waiting for mappings in Creating or Updating to settle"):
            return self.wait_many(dict.fromkeys(uuids, False), deadline=time.monotonic() + timeout)

    def _look(self, uuids: Iterable[str]) -> dict[str, dict | None]:
        """The mappings as they are now (None: gone): a Get for one or two, else one paginated listing."""
        uuids = list(uuids)
        if len(uuids) <= 2:
            return {u: self._aws.get_mapping(u) for u in uuids}
        listing = {m["UUID"]: m for m in self._aws.list_mappings()}
        return {u: listing.get(u) for u in uuids}

    def _poll_once(self, left: float) -> None:
        """Poll for every waiter (called with the lock held; released while AWS is asked)."""
        self._polling = True
        self._started += 1
        number, pending, delay = self._started, sorted(self._waiting), self._delay
        self._delay = min(max(0.5, self._delay * 2), poll_interval())
        seen: dict[str, dict | None] = {}
        self._cond.release()
        try:
            if delay:
                self._sleep(min(delay, left))
            seen = self._look(pending)
        except Throttled:
            pass  # still throttled after botocore's retries: nothing seen this round; the waiters poll again
        finally:
            self._cond.acquire()
            self._polling = False
            for uuid, mapping in seen.items():
                self._seen[uuid] = (number, mapping)
            self._cond.notify_all()
