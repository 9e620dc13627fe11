"""A live mapping's State as the facts a decision needs (settled, meant to run, going away)."""

from __future__ import annotations

from dataclasses import dataclass

TRANSITIONAL_STATES = frozenset({"Creating", "Enabling", "Disabling", "Updating", "Deleting"})
SETTLED_STATES = frozenset({"Enabled", "Disabled"})


@dataclass(frozen=True)
class LiveState:
    """A live mapping's State as the facts a decision needs, so that none is guessed from the word.

    Enabled/Enabling are meant to run and Disabled/Disabling not; Creating and Updating say nothing of it
    until they settle (an update may be the one that disables it), so `enabled` is None for them: a
    decision that depends on it waits for the mapping to settle and reads it again.
    """

    name: str

    @property
    def settled(self) -> bool:
        return self.name in SETTLED_STATES

    @property
    def enabled(self) -> bool | None:
        if self.name in ("Enabled", "Enabling"):
            return True
        if self.name in ("Disabled", "Disabling"):
            return False
        return None

    @property
    def going_away(self) -> bool:
        return self.name == "Deleting"

    @property
    def running(self) -> bool:
        """Reading its source now, as far as can be told: Enabled, settled."""
        return self.name == "Enabled"

    def __str__(self) -> str:
        return self.name or "in no known state"
