"""Calls held on their way through the fidelity layer (the kill -9 tests stop `apply` there)."""

from __future__ import annotations

import threading


class PausedCall:
    """The nth call of an operation, held before or after the layer carries it out.

    `reached` is set when that call arrives; `release()` lets it go on, `release(drop=True)`
    closes its connection with no reply (before: never carried out; after: carried out, the
    reply lost). A call nobody releases is dropped after the layer's `pause_timeout`.
    """

    def __init__(self, operation: str, nth: int, when: str) -> None:
        if when not in ("before", "after") or nth < 1:
            raise ValueError("pause needs nth >= 1 and when 'before' or 'after'")
        self.operation, self.nth, self.when = operation, nth, when
        self.reached = threading.Event()
        self.timed_out = False
        self._released = threading.Event()
        self._drop = False
        self._seen = 0

    def release(self, drop: bool = False) -> None:
        self._drop = drop
        self._released.set()

    def _arrived(self) -> bool:
        """Count a call of the operation; True for the nth."""
        self._seen += 1
        return self._seen == self.nth

    def _hold(self, timeout: float) -> bool:
        """Wait for release; True if the connection is to be dropped."""
        self.reached.set()
        if not self._released.wait(timeout):
            # Dropped rather than carried out late, so a forgotten pause cannot change state
            # behind the next test's back.
            self.timed_out = True
            return True
        return self._drop


class Dropped(Exception):
    """Close the connection without a reply."""
