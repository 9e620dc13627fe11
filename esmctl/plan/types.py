"""The plan's vocabulary, shared by every planner (spec, pause, resume), the executor, the codec and the views.

Modelled on Terraform's `internal/plans`: a change has an `Action` (with its symbol and whether it is
destructive), the live mappings it touches (`before`), the desired one (`after`), the fields that differ,
a `Reason` (a code a program can test, and the words a person reads) and its steps. Each step kind is
its own frozen dataclass: the executor looks its handler up by type and the codec its name; nothing
re-parses an `op` string or a `params` dict keyed per op. Results carry a `Status`.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar

from esmctl.errors import Problem
from esmctl.mapping.compare import FieldChange, Mapping
from esmctl.mapping.identity import Key
from esmctl.mapping.marks import Pause


class Action(str, enum.Enum):
    """What a change does to a mapping. The value is the word plans, JSON and tables use."""

    CREATE = "create"
    UPDATE = "update"
    MOVE = "move"  # UpdateEventSourceMapping FunctionName: the same mapping, another function
    REPLACE = "replace"  # a new mapping for the old: the position is not carried over (needs --allow-replace)
    HANDOFF = "handoff"  # a new mapping starts where the old one is, then the old one goes
    DELETE = "delete"
    PAUSE = "pause"  # mark, then disable (esmctl pause)
    RESUME = "resume"  # enable, then drop the mark (esmctl resume)

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def destructive(self) -> bool:
        """Deletes a mapping (or takes its data away): asked about before it is carried out."""
        return self in (Action.REPLACE, Action.HANDOFF, Action.DELETE)

    @property
    def needs_consent(self) -> bool:
        """Loses a stream position: only with --allow-replace."""
        return self is Action.REPLACE


_SYMBOLS = {Action.CREATE: "+", Action.UPDATE: "~", Action.MOVE: "~", Action.REPLACE: "-/+", Action.HANDOFF: "<~>",
            Action.DELETE: "-", Action.PAUSE: "||", Action.RESUME: ">"}
# The actions a spec's plan has (pause and resume have planners of their own).
PLAN_ACTIONS = (Action.CREATE, Action.UPDATE, Action.MOVE, Action.REPLACE, Action.HANDOFF, Action.DELETE)
# The order a plan lists (and the executor starts) its changes in: deletes first, so that a new mapping
# never meets the old one's identity.
ORDER = {Action.DELETE: 0, Action.REPLACE: 1, Action.HANDOFF: 2, Action.CREATE: 3, Action.MOVE: 4,
         Action.UPDATE: 5, Action.PAUSE: 6, Action.RESUME: 7}


class Status(str, enum.Enum):
    """What became of one change when the executor ran it."""

    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"  # not attempted on purpose (a prune after a failure of the same function)
    INTERRUPTED = "interrupted"  # cut short by Ctrl-C after something was sent
    NOT_STARTED = "not-started"  # Ctrl-C came before anything was sent for it

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclass(frozen=True)
class Reason:
    """Why a change is what it is: `code` for programs and tests, `text` for people."""

    code: str
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.text)

    def __str__(self) -> str:
        return self.text


NO_REASON = Reason("")

# -- steps ----------------------------------------------------------------------------------------
NEW = None  # a step's uuid for the mapping its own change creates (known only once created)


@dataclass(frozen=True, kw_only=True)
class Step:
    """One API call (or wait) of a change. `uuid` None means the mapping this change creates."""

    op: ClassVar[str]
    uuid: str | None = NEW
    final: bool = False  # a last wait, which --no-wait skips; the others guard the next step
    sends: ClassVar[bool] = True  # a write to AWS (not a wait)

    def target(self) -> str:
        return self.uuid or "the new mapping"

    def describe(self) -> str:
        raise NotImplementedError

    def fields(self) -> dict[str, Any]:
        """The step's own values (all but uuid and final): the codec writes them as `params`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("uuid", "final")}

    @classmethod
    def from_fields(cls, uuid: str | None, final: bool, fields: dict[str, Any]) -> Step:
        return cls(uuid=uuid, final=final, **fields)


@dataclass(frozen=True, kw_only=True)
class RegisterConsumer(Step):
    op: ClassVar[str] = "register-consumer"
    stream: str
    name: str

    def describe(self) -> str:
        return f"register consumer {self.name}"


@dataclass(frozen=True, kw_only=True)
class _Request(Step):
    """A step that is one API request: its parameters are the step's whole content, in JSON too."""

    params: dict[str, Any]

    def fields(self) -> dict[str, Any]:
        return self.params

    @classmethod
    def from_fields(cls, uuid: str | None, final: bool, fields: dict[str, Any]) -> Step:
        return cls(uuid=uuid, final=final, params=fields)


@dataclass(frozen=True, kw_only=True)
class Create(_Request):
    op: ClassVar[str] = "create"  # params: CreateEventSourceMapping's

    def describe(self) -> str:
        return "create"


@dataclass(frozen=True, kw_only=True)
class Update(_Request):
    op: ClassVar[str] = "update"  # params: UpdateEventSourceMapping's, less the UUID

    def describe(self) -> str:
        return f"update {self.target()}"


@dataclass(frozen=True, kw_only=True)
class Tag(Step):
    op: ClassVar[str] = "tag"
    arn: str
    tags: dict[str, str]

    def describe(self) -> str:
        return f"tag {self.target()}"


@dataclass(frozen=True, kw_only=True)
class Untag(Step):
    op: ClassVar[str] = "untag"
    arn: str
    keys: tuple[str, ...]

    def describe(self) -> str:
        return f"untag {self.target()}"


@dataclass(frozen=True, kw_only=True)
class RecordTags(Step):
    """Tags a replace keeps, recorded on the function before its delete (marks.tag_record)."""

    op: ClassVar[str] = "record-tags"
    arn: str  # the function's
    tags: dict[str, str]

    def describe(self) -> str:
        return f"record {self.target()}'s tags on its function"


@dataclass(frozen=True, kw_only=True)
class ForgetTags(Step):
    op: ClassVar[str] = "forget-tags"
    arn: str  # the function's
    keys: tuple[str, ...]

    def describe(self) -> str:
        return "drop the recorded tags from the function"


@dataclass(frozen=True, kw_only=True)
class Delete(Step):
    op: ClassVar[str] = "delete"

    def describe(self) -> str:
        return f"delete {self.target()}"


@dataclass(frozen=True, kw_only=True)
class WaitSettled(Step):
    """Until the mapping is Enabled or Disabled (`state`: that one), and (`healthy`) reports no PROBLEM."""

    op: ClassVar[str] = "wait-settled"
    sends: ClassVar[bool] = False
    state: str = ""
    healthy: bool = False

    def describe(self) -> str:
        return f"wait until {self.target()} is {self.state or 'settled'}"


@dataclass(frozen=True, kw_only=True)
class WaitGone(Step):
    op: ClassVar[str] = "wait-gone"
    sends: ClassVar[bool] = False

    def describe(self) -> str:
        return f"wait until {self.target()} is gone"


STEP_KINDS: dict[str, type[Step]] = {kind.op: kind for kind in (
    RegisterConsumer, Create, Update, Tag, Untag, RecordTags, ForgetTags, Delete, WaitSettled, WaitGone)}
# What each action may do: a saved plan whose steps say otherwise was not written by esmctl.
ALLOWED_STEPS: dict[Action, frozenset[type[Step]]] = {
    Action.UPDATE: frozenset({Update, Tag, Untag, WaitSettled}),
    Action.MOVE: frozenset({Update, Tag, Untag, WaitSettled}),
    Action.CREATE: frozenset({RegisterConsumer, Create, ForgetTags, WaitGone, WaitSettled}),
    Action.DELETE: frozenset({Delete, WaitGone}),
    Action.PAUSE: frozenset({Tag, Update, WaitSettled}),
    Action.RESUME: frozenset({Update, WaitSettled, Untag}),
}


# -- changes and plans ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    action: Action
    key: Key
    before: tuple[Mapping, ...]  # the live mappings it updates or deletes
    after: Mapping | None  # the desired mapping (None for a delete, a pause, a resume)
    fields: tuple[FieldChange, ...]
    steps: tuple[Step, ...]
    reason: Reason = NO_REASON
    start_at: datetime | None = None  # where a hand-off starts the new mapping

    @property
    def uuid(self) -> str | None:
        return self.before[0].uuid if self.before else None

    @property
    def destructive(self) -> bool:
        return self.action.destructive

    @property
    def needs_allow_replace(self) -> bool:
        return self.action.needs_consent

    def title(self) -> str:
        return self.key.describe()


@dataclass(frozen=True)
class Note:
    """Something the plan cannot change, said plainly."""

    key: Key
    text: str


@dataclass(frozen=True)
class Paused:
    """A live mapping `esmctl pause` disabled, which the spec wants Enabled: left Disabled."""

    mapping: Mapping
    pause: Pause


@dataclass(frozen=True)
class Position:
    """The newest IteratorAge datapoint of a function: the period's start and its Maximum (ms)."""

    at: datetime
    iterator_age_ms: float


@dataclass(frozen=True)
class Reads:
    """What was read beyond the listing."""

    tags: dict[str, dict[str, str]] = field(default_factory=dict)  # live UUID -> tags
    # unqualified function ARN -> its tags (None: there is no such function)
    function_tags: dict[str, dict[str, str] | None] = field(default_factory=dict)
    positions: dict[str, Position | None] = field(default_factory=dict)  # function ARN -> newest datapoint
    window: timedelta = timedelta(minutes=15)  # how far back positions were looked for
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))  # when they were read


@dataclass(frozen=True)
class Missing:
    """What a planner needs read before it can decide: it never guesses instead."""

    tags: frozenset[str] = frozenset()  # UUIDs
    positions: frozenset[str] = frozenset()  # function ARNs
    function_tags: frozenset[str] = frozenset()  # unqualified function ARNs
    # UUIDs of mappings in Creating or Updating whose enabled-ness a decision depends on: read again once settled
    settled: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.tags or self.positions or self.function_tags or self.settled)


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    unmanaged: tuple[Mapping, ...] = ()
    notes: tuple[Note, ...] = ()
    in_sync: int = 0
    missing: Missing = Missing()
    paused: tuple[Paused, ...] = ()
    problems: tuple[Problem, ...] = ()  # a plan with problems is refused whole
    waiting: tuple[Key, ...] = ()  # desired mappings whose replace or move waits for `esmctl resume` (a note each)

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def old_ends(self) -> int:
        """The old ends of moves the plan deletes, which no count above holds: every mapping a hand-off deletes,
        and those a replace deletes beyond the one it replaces (a move whose position is unknown deletes each
        mapping of the function in the slot, one made by hand too)."""
        deletes = [(c.action, sum(isinstance(s, Delete) for s in c.steps)) for c in self.changes
                   if c.action in (Action.HANDOFF, Action.REPLACE)]
        return sum(n - (action is Action.REPLACE and n > 0) for action, n in deletes)

    @property
    def empty(self) -> bool:
        return not self.changes

    def without(self, dropped: set[int]) -> Plan:
        """The plan less the changes whose id() is in `dropped`."""
        return Plan(tuple(c for c in self.changes if id(c) not in dropped), self.unmanaged, self.notes, self.in_sync,
                    self.missing, self.paused, self.problems, self.waiting)
