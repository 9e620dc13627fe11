"""Pacing: esmctl's Lambda calls kept under the account and region's request quota."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# Lambda's control plane allows 15 requests/s per account and region, shared by every caller and
# every API. esmctl paces itself to it (ESMCTL_LAMBDA_RATE to share it with others, 0 not to pace),
# with a small burst so that AWS's own bucket keeps room for jitter, and slows down when AWS says
# another caller takes a share.
LAMBDA_RATE = 15.0
LAMBDA_BURST = 5
# The 15 requests/s cover every control-plane API (ListTags, TagResource and UntagResource included) but these,
# which have quotas of their own (Lambda's quotas page: GetFunction 100/s, GetPolicy 15/s; invocations apart):
# paced with the rest, they would take turns that the writes need. The pacer keeps each of them to its own rate.
OWN_QUOTAS = {"GetFunction": 100.0, "GetPolicy": 15.0}
OUTSIDE_THE_QUOTA = frozenset({*OWN_QUOTAS, "Invoke", "InvokeAsync", "InvokeWithResponseStream"})
# The listing a plan starts with (plan, diff, apply) is what the user waits for, and nothing is written while it
# runs: its pages go one after the other, each sent when the last has come back, and a no-op diff over 5,000
# mappings (50 pages) would spend 3 s waiting for tokens. Inside `undelayed_listing()` its pages are charged (the
# writes after it keep the account's average) but not delayed, as long as AWS has not throttled this account and
# region: after a 429 the pacer has slowed down, and every page waits its turn again. Other listings (the waits'
# polls, which run beside the writes) are paced as any call.
CHARGED_NOT_DELAYED = frozenset({"ListEventSourceMappings"})
_thread = threading.local()


@contextmanager
def undelayed_listing() -> Iterator[None]:
    """This thread's listing is a plan's first read: see CHARGED_NOT_DELAYED."""
    _thread.undelayed = True
    try:
        yield
    finally:
        _thread.undelayed = False


def in_the_quota(operation: str) -> bool:
    """Whether a Lambda operation counts against the account and region's 15 requests/s."""
    return operation not in OUTSIDE_THE_QUOTA


def new_pacer(sleep: Callable[[float], None] = time.sleep) -> Pacer | None:
    """A pacer for one account and region's Lambda calls (None when ESMCTL_LAMBDA_RATE is 0: not paced)."""
    rate = float(os.environ.get("ESMCTL_LAMBDA_RATE", LAMBDA_RATE))
    return Pacer(rate, LAMBDA_BURST, sleep) if rate > 0 else None


class Pacer:
    """One request rate for every thread's Lambda calls: a token bucket refilled at `rate` per second.

    AWS throttles the whole account at 15 requests/s; bouncing off that limit costs every other caller
    (deploy tools, the console) a 429 too. So esmctl paces itself under it, halves its rate when AWS
    throttles anyway (someone else takes a share) and creeps back up as calls succeed.
    """

    def __init__(self, rate: float, burst: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] | None = None) -> None:
        self.ceiling = rate
        self.rate = rate
        self.burst = burst
        self._clock = clock or (lambda: time.monotonic())
        self._tokens = float(burst)
        self._at = self._clock()
        self._lock = threading.Lock()
        self._sleep = sleep
        self.charged: Counter[str] = Counter()  # attempts that took a token of the shared quota, by operation
        self._owns: dict[str, Pacer] = {}  # the APIs with quotas of their own, each its own bucket

    def own(self, operation: str) -> Pacer:
        """The bucket of an API with a quota of its own (OWN_QUOTAS)."""
        with self._lock:
            if operation not in self._owns:
                # A burst of half its quota: the other half of AWS's bucket is left to other callers (the 15/s
                # keeps a third, as its writes are what other tools need most).
                rate = OWN_QUOTAS[operation]
                self._owns[operation] = Pacer(rate, max(self.burst, int(rate) // 2), self._sleep, self._clock)
            return self._owns[operation]

    def before_send(self, event_name: str = "", **_: Any) -> None:
        """Wait for a token (botocore calls this before every attempt, retries included) if the call counts
        against the quota (`event_name` is botocore's, `before-send.lambda.OPERATION`)."""
        operation = event_name.rpartition(".")[2]
        if operation in OWN_QUOTAS:
            return self.own(operation).before_send()
        if operation and not in_the_quota(operation):
            return
        with self._lock:
            self.charged[operation] += 1
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            undelayed = (operation in CHARGED_NOT_DELAYED and getattr(_thread, "undelayed", False)
                         and self.rate >= self.ceiling)
            wait = -self._tokens / self.rate if self._tokens < 0 and not undelayed else 0.0
        if wait:
            self._sleep(wait)

    def slow_down(self) -> None:
        with self._lock:
            self.rate = max(1.0, self.rate / 2)
            self._tokens = min(self._tokens, 0.0)

    def speed_up(self) -> None:
        with self._lock:
            self.rate = min(self.ceiling, self.rate + 0.5)
