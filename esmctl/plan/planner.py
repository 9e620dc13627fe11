"""Compare desired mappings with live ones and say what must change, step by step. Pure: no I/O.

Both sides are compare.Mapping values (AWS's defaults filled in), so a field left out of the spec equals
its default. What a plan needs beyond one listing comes in `Reads`: the tags of the few mappings
whose tags matter, and where an old mapping is for a hand-off. `diff` names what it missed in
`Plan.missing`; the caller reads that and plans again. plan/known.py holds the live side and the
reads (recording what is missing), plan/handoff.py where a hand-off starts and whether a move may
delete its old end, plan/second_reader.py the refusal of a second mapping of a function on one stream.

Each Change carries the steps `apply` carries out in order. The multi-step ones leave a state a
later run recognises and finishes:

  replace  (same identity)  delete old → wait until gone → create new       (never create-first: 409)
  handoff  (a new source in the same slot: stream ↔ consumer, consumer ↔ consumer)
                            create new AT_TIMESTAMP where the old one is → wait until it runs →
                            delete old.  Killed half-way, both exist: the next plan finishes it.
  replace  (same slot, position unknown, or a DynamoDB table's new stream)
                            create new at its StartingPosition → wait → delete old
  move     (`MovedFrom:` another function, alias or version; same source)
                            update FunctionName in place: Lambda keeps the position

A slot is the data a mapping reads (identity.slot): where the spec lists one mapping of a function in
a slot, any other live mapping of that function there is the old end of a move. It is deleted
without --allow-replace only when the new mapping provably starts at or before the old one's
position (see plan/handoff.py); nothing else that the spec does not list is deleted without --prune.

A mapping `esmctl pause` disabled carries its mark (marks.PAUSED_TAG): where the spec wants it Enabled,
that is not drift. It stays Disabled (other changes are made, in place), is listed in `Plan.paused`
with a note, and nothing replaces it or moves its data elsewhere until `esmctl resume` enables it:
a new mapping would undo the pause, and the paused one keeps the position to resume from. Only the
tags of a Disabled mapping the spec wants Enabled, or of a Disabled old end of a move, are read to
know.

A replace (one that moves to another function too) records what the new mapping keeps of the old one (its
tags, where the spec does not manage Tags; a Kafka consumer group the spec does not name) on the new mapping's
function before deleting it, so that a run killed between the delete and the create (or whose create failed)
still creates the new mapping with them (marks.tag_record); records a later read finds stale are dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from esmctl import kinds
from esmctl.errors import Problem
from esmctl.mapping import compare, identity, marks, requests, values
from esmctl.mapping.compare import FieldChange, Mapping
from esmctl.mapping.identity import Key
from esmctl.plan.handoff import Positions, batching_window, group_kept, kept_group, position_lost
from esmctl.plan.known import Known, unqualified
from esmctl.plan.second_reader import second_reader
from esmctl.plan.types import (
    NEW,
    ORDER,
    Action,
    Change,
    Create,
    Delete,
    ForgetTags,
    Note,
    Paused,
    Plan,
    Reads,
    Reason,
    RecordTags,
    RegisterConsumer,
    Step,
    Tag,
    Untag,
    Update,
    WaitGone,
    WaitSettled,
)


def diff(desired: list[Mapping], live: list[Mapping], *, prune: bool = False, reads: Reads | None = None,
         margin: float = 60) -> Plan:
    """The plan that makes `live` what `desired` says."""
    return _Planner(desired, live, reads or Reads(), margin).plan(prune)


class _Planner:
    def __init__(self, desired: list[Mapping], live: list[Mapping], reads: Reads, margin: float) -> None:
        self.desired = desired
        self.reads = reads
        self.margin = margin
        self.known = known = Known(live, reads)
        self.positions = Positions(known, margin)
        self.wanted = {d.key for d in desired}
        self.slots: dict[tuple[str, str], int] = {}  # how many desired mappings each slot has
        for d in desired:
            s = identity.slot(d.key, d.kind)
            if s is not None:
                self.slots[s] = self.slots.get(s, 0) + 1
        self.problems: list[Problem] = []
        self.notes: list[Note] = []
        self.paused: list[Paused] = []
        self.paused_uuids: set[str] = set()
        self.waiting: list[Key] = []  # desired mappings whose replace or move waits for `esmctl resume`
        # A mapping a `MovedFrom` names is that entry's, before any slot rule may take it for an old end.
        self.moves: dict[int, Mapping] = {}  # id(desired) -> the live mapping it moves
        claimed: set[str] = set()
        for d in desired:
            if d.moved_from and not self.known.by_key.get(d.key) and (found := self._moved(d, claimed)) is not None:
                self.moves[id(d)] = found
                claimed.add(found.uuid)
        self.claimed = claimed

    # -- the plan -------------------------------------------------------------------------------
    def plan(self, prune: bool) -> Plan:
        changes: list[Change] = []
        taken: set[str] = set()  # UUIDs of live mappings the spec accounts for
        created: list[tuple[Mapping, Change]] = []  # new identities with no old end in their slot
        in_sync = 0
        for d in self.desired:
            same = self.known.by_key.get(d.key, [])
            if d.consumer is not None:
                # A consumer's mappings share its name's identity across registrations: the one on the
                # consumer's current ARN is this mapping; any on an earlier registration is the old end
                # of a move (the name cannot be registered twice at once).
                current = next((m for m in same if d.source_arn and m.source_arn == d.source_arn), None)
                stale, extras = [m for m in same if m is not current], []
            else:
                current, stale, extras = (same[0] if same else None), [], same[1:]
            olds = stale + self._slot_olds(d)
            moved = self.moves.get(id(d)) if current is None else None
            if d.moved_from and moved is None:
                self._unmoved(d, current)
            self.known.unsettled(current, moved, *olds)
            if current is not None:
                taken.add(current.uuid)
                pause = self._paused(d, current)
                change = self._in_place(d, current, pause=pause)
                if change is None and pause is None:
                    in_sync += 1
                if olds and pause is None:  # one change: the new mapping must be as the spec says before the olds go
                    changes.append(self._finish(d, current, olds, first=change))
                else:
                    if olds:
                        self._held(d, olds, f"{current.uuid} is paused")
                    if change is not None:
                        changes.append(change)
            elif moved is not None:
                taken.add(moved.uuid)
                pause = self._paused(d, moved)
                change = self._in_place(d, moved, move=True, pause=pause)
                if olds and pause is None:  # the function read this data already: the moved mapping takes over
                    changes.append(self._finish(d, moved, olds, first=change))
                else:
                    if olds:
                        self._held(d, olds, f"{moved.uuid} is paused")
                    if change is not None:  # None: a paused mapping's replace, held
                        changes.append(change)
            elif paused_olds := [m for m in olds if self._paused(d, m, any_spec=True)]:
                self._held(d, olds, f"{', '.join(m.uuid for m in paused_olds)} is paused")
            else:
                changes.append(self._create_or_move(d, olds))
                if not olds:
                    created.append((d, changes[-1]))
            taken.update(m.uuid for m in olds)
            for extra in extras:
                self.notes.append(Note(d.key, f"another mapping with the same identity exists ({extra.uuid}); "
                                              "it is left alone"))
                taken.add(extra.uuid)
        for d, change in created:  # once every desired mapping has taken its live ones
            if (problem := second_reader(d, self.known, taken)) is not None:
                self.problems.append(problem)
                changes.remove(change)
        functions = {d.key.function for d in self.desired}
        unmanaged = tuple(m for m in self.known.present if m.uuid not in taken and m.key.function in functions)
        if prune:
            changes += [self._delete(m) for m in unmanaged]
            unmanaged = ()
        changes.sort(key=lambda c: (ORDER[c.action], c.key))
        return Plan(tuple(changes), unmanaged, tuple(self.notes), in_sync, self.known.missing(), tuple(self.paused),
                    tuple(self.problems), tuple(dict.fromkeys(self.waiting)))

    # -- paused mappings ------------------------------------------------------------------------
    def _paused(self, d: Mapping, live: Mapping, any_spec: bool = False) -> marks.Pause | None:
        """The pause mark of a Disabled live mapping, where the spec wants it Enabled (`any_spec`: whatever
        the spec wants: an old end of a move). Tags are read only for such mappings."""
        if live.enabled is not False or not (d.enabled or any_spec):
            return None  # Enabled; or not known until it settles (Missing.settled): never guessed
        tags = self.known.tags(live)
        pause = marks.read_pause(tags) if tags is not None else None
        if pause is not None and live.uuid not in self.paused_uuids:
            self.paused_uuids.add(live.uuid)
            self.paused.append(Paused(live, pause))
            self.notes.append(Note(live.key, f"{pause.describe()}: stays Disabled; `esmctl resume` enables it"))
        return pause

    def _held(self, d: Mapping, olds: list[Mapping], why: str) -> None:
        """A move whose mappings are paused waits: the new mapping would read what the pause holds back."""
        where_from = ", ".join(f"{identity.short_arn(m.source_arn or m.key.source)} ({m.uuid})" for m in olds)
        self.waiting.append(d.key)
        self.notes.append(Note(d.key, f"a move from {where_from} waits: {why}; after `esmctl resume`, apply "
                                      "plans it"))

    def _slot_olds(self, d: Mapping) -> list[Mapping]:
        """Other live mappings of d's function in d's slot, when the spec lists only d there."""
        s = identity.slot(d.key, d.kind)
        if s is None or self.slots.get(s) != 1:
            return []
        return [m for m in self.known.by_slot.get(s, []) if m.key != d.key and m.key not in self.wanted
                and m.uuid not in self.claimed]

    def _moved(self, d: Mapping, claimed: set[str]) -> Mapping | None:
        """The live mapping d's `MovedFrom` names: the same source and topic/queue, on the old function."""
        old_key = Key(d.moved_from or "", d.key.source, d.key.part)
        if old_key in self.wanted:
            return None  # the spec still lists it: nothing moved
        found = [m for m in self.known.by_key.get(old_key, []) if m.uuid not in claimed]
        if d.consumer is not None and d.source_arn:
            found = sorted(found, key=lambda m: m.source_arn != d.source_arn)  # the current registration first
        return found[0] if found else None

    def _unmoved(self, d: Mapping, current: Mapping | None) -> None:
        """A `MovedFrom` that moves nothing: say what of the old function still reads this data."""
        old_function = d.moved_from or ""
        here = identity.slot(d.key, d.kind) or (d.key.function, d.key.source)
        left = [m for m in self.known.of_function(old_function)
                if m.key.function == old_function and m.uuid not in self.claimed
                and (identity.slot(m.key, m.kind) or (m.key.function, m.key.source))[1:] == here[1:]]
        if not left:
            return
        what = ", ".join(f"{m.uuid} ({identity.short_arn(m.source_arn or m.key.source)})" for m in left)
        if current is not None:
            why = f"this mapping exists already ({current.uuid}), so nothing moves"
        else:
            why = ("a move changes the function only (same source, topic or queue): move it first, then change "
                   "the source")
        self.notes.append(Note(d.key, f"MovedFrom {identity.short_arn(old_function)}: {why}; {what} still reads this "
                                      f"data for {identity.short_arn(old_function)} and is left alone"))

    # -- same identity: in sync, update, or replace (and a move to another function) ---------------
    def _in_place(self, d: Mapping, live: Mapping, move: bool = False,
                  pause: marks.Pause | None = None) -> Change | None:
        comparison = compare.compare(d, live)
        self.notes += [Note(d.key, n) for n in comparison.notes]
        changes = comparison.changes
        if pause is not None:  # Disabled by `esmctl pause`: not drift, and not to be undone here
            changes = [c for c in changes if c.name != "Enabled"]
        start = {"StartingPosition", "StartingPositionTimestamp"}
        if live.config.get("StartingPosition") == "AT_TIMESTAMP" and start & set(comparison.names):
            tags = self.known.tags(live)
            if tags is not None and marks.HANDOFF_TAG in tags:
                # Started where its predecessor was by a hand-off: the spec's start held at the time.
                changes = [c for c in changes if c.name not in start]
        replace_by = requests.replace_reasons(compare.Comparison(changes))
        if replace_by and pause is not None:
            # A new mapping would run (or, Disabled, lose the mark resume looks for) and start elsewhere.
            self.notes.append(Note(d.key, f"{', '.join(replace_by)} cannot be changed in place, and a paused "
                                          "mapping is not replaced: after `esmctl resume`, apply plans the replace"))
            self.waiting.append(d.key)
            return None
        if replace_by:
            return self._replace_in_place(d, live, changes, replace_by)
        tags_set, tags_removed = {}, []
        if d.tags is not None:
            have = self.known.tags(live)
            if have is not None:
                have = marks.managed_tags(have)
                tags_set = {k: v for k, v in d.tags.items() if have.get(k) != v}
                tags_removed = sorted(k for k in have if k not in d.tags)
                changes = changes + [FieldChange(f"Tags.{k}", have.get(k), v) for k, v in sorted(tags_set.items())]
                changes += [FieldChange(f"Tags.{k}", have[k], None) for k in tags_removed]
        if not changes and not move:
            return None
        params = requests.update_params(d, [c for c in changes if not c.name.startswith("Tags.")])
        if move:
            params = {"FunctionName": d.key.function, **params}
            changes = [FieldChange("FunctionName", live.key.function, d.key.function), *changes]
        steps: list[Step] = []
        if params:
            steps.append(Update(uuid=live.uuid, params=params))
        if tags_set:
            steps.append(Tag(uuid=live.uuid, arn=live.arn, tags=tags_set))
        if tags_removed:
            steps.append(Untag(uuid=live.uuid, arn=live.arn, keys=tuple(tags_removed)))
        if params:
            steps.append(WaitSettled(uuid=live.uuid, final=True))
        paused = f"{pause.describe()}: it stays Disabled" if pause is not None else ""
        if move:
            reason = (f"moves {live.uuid} from {identity.short_arn(live.key.function)} in place "
                      "(UpdateEventSourceMapping FunctionName): it goes on from its position")
            return Change(Action.MOVE, d.key, (live,), d, tuple(_shown(changes)), tuple(steps),
                          Reason("move", f"{reason}; {paused}" if paused else reason))
        return Change(Action.UPDATE, d.key, (live,), d, tuple(_shown(changes)), tuple(steps),
                      Reason("paused" if paused else "", paused))

    def _replace_in_place(self, d: Mapping, live: Mapping, changes: list[FieldChange], why: list[str]) -> Change:
        tags = self._new_tags(d, [live])
        keep = kept_group(d, live)
        steps: list[Step] = [Delete(uuid=live.uuid), WaitGone(uuid=live.uuid)]
        create = self._create_steps(d, tags=tags, keep=keep)
        unrecorded = ""
        kept_tags = tags if d.tags is None and tags else {}
        if kept_tags or keep:
            # Only the killed process would know what the new mapping keeps of the old one (its tags, its
            # consumer group): record it on the new mapping's function before the delete (a move's too: the old
            # function's mapping is gone by then); the next run's create of d's identity takes it.
            function = unqualified(d.key.function)
            record = marks.tag_record(d.key, kept_tags, self.reads.now, keep)
            if record is None:  # too many tags: the group alone
                unrecorded = ("; its tags are too many to record on the function first: set Tags in the spec, or "
                              "an interruption between the delete and the create loses them")
                record = marks.tag_record(d.key, {}, self.reads.now, keep) if keep else None
            if record is not None:
                steps.insert(0, RecordTags(uuid=live.uuid, arn=function, tags=record))
                at = next(i for i, s in enumerate(create) if isinstance(s, Create)) + 1
                create.insert(at, ForgetTags(arn=function, keys=tuple(sorted(record))))
        steps += create
        reason = (f"{', '.join(why)} cannot be changed in place: needs --allow-replace; the mapping is deleted, "
                  f"then created again" + position_lost(d, group_kept(d, live, keep)) + unrecorded)
        if move := (live.key.function != d.key.function):
            reason = f"moves from {identity.short_arn(live.key.function)}, but {reason}"
        fields = ([FieldChange("FunctionName", live.key.function, d.key.function)] if move else []) + changes
        return Change(Action.REPLACE, d.key, (live,), d, tuple(_shown(fields)), tuple(steps),
                      Reason("immutable", reason))

    # -- a new identity: create, or move from the old mappings of the slot ------------------------
    def _create_or_move(self, d: Mapping, olds: list[Mapping]) -> Change:
        fields = tuple(FieldChange(k, None, values.plain(d.config.get(k, v))) for k, v in sorted(d.params.items())
                       if k not in identity.IDENTITY_FIELDS)
        if not olds:
            waits: list[Step] = [WaitGone(uuid=m.uuid) for m in self.known.deleting.get(d.key, [])]
            tags, reason = d.tags, ""
            kept, keep, stale = self.known.restored(d)
            steps = self._create_steps(d, tags=kept or tags, keep=keep)
            if kept or keep:
                what = [*(["the tags"] if kept else []),
                        *(f"consumer group {m} (it resumes from the group's committed offsets)"
                          for members in keep.values() for m in members.values())]
                reason = ("an interrupted replace deleted the old mapping: the new one gets "
                          f"{' and '.join(what)}, recorded on the function before the delete")
            if stale:  # records this create uses up, or that are out of date: dropped once it is made
                at = next(i for i, s in enumerate(steps) if isinstance(s, Create)) + 1
                steps.insert(at, ForgetTags(arn=unqualified(d.key.function), keys=tuple(stale)))
            return Change(Action.CREATE, d.key, (), d, fields, tuple(waits + steps),
                          Reason("restored-tags" if kept or keep else "", reason))
        tags = self._new_tags(d, olds)
        where_from = ", ".join(f"{identity.short_arn(m.source_arn or m.key.source)} ({m.uuid})" for m in olds)
        moved = tuple(FieldChange("EventSourceArn", m.source_arn, d.source_arn or d.key.source) for m in olds[:1])
        # what else the new mapping has that the old one had not: a reviewer must see it
        differs = [c for c in compare.compare(d, olds[0]).changes if c.name not in ("StartingPosition",
                                                                                   "StartingPositionTimestamp")]
        moved += tuple(_shown(differs))
        if d.kind == kinds.KINESIS:
            start, unknown = self.positions.start(olds)
            if start is not None:
                steps = self._create_steps(d, tags={**(tags or {}), marks.HANDOFF_TAG: _uuids(olds)}, start_at=start,
                                           settle=True) + self._delete_steps(olds)
                window = max(batching_window(m) for m in olds)
                before = f"its {window:g}s batching window and " if window else ""
                reason = (f"moves from {where_from}: the new mapping starts AT_TIMESTAMP {values.iso(start)} "
                          f"(the old one's position less {before}a {self.margin:g}s margin), then the old one is "
                          "deleted; no record is skipped, records after that time are processed again")
                return Change(Action.HANDOFF, d.key, tuple(olds), d, moved, tuple(steps), Reason("handoff", reason),
                              start_at=start)
            why = f"the old mapping's position is unknown ({unknown})"
        else:
            why = "a DynamoDB stream cannot start at a timestamp"
        steps = self._create_steps(d, tags=tags, settle=True) + self._delete_steps(olds)
        reason = (f"moves from {where_from}, but {why}: needs --allow-replace; the new mapping starts at its "
                  f"StartingPosition, then the old one is deleted" + position_lost(d))
        return Change(Action.REPLACE, d.key, tuple(olds), d, moved, tuple(steps), Reason("position-unknown", reason))

    def _finish(self, d: Mapping, current: Mapping, olds: list[Mapping], first: Change | None = None) -> Change:
        """The new mapping of a move exists and the old ones too (an interrupted hand-off, or a mapping made
        by hand): the old ones are deleted once the new one runs — without --allow-replace only when the new
        one provably starts at or before each old one's position, else records in between would be skipped.
        `first`: the change the new mapping itself needs (an update, a move, a replace); its steps come first,
        so that the wait sees the new mapping as the spec has it."""
        where_from = ", ".join(f"{identity.short_arn(m.source_arn)} ({m.uuid})" for m in olds)
        fields = (first.fields if first else ()) + tuple(FieldChange("EventSourceArn", m.source_arn, None)
                                                         for m in olds)
        settle = {"state": _state(d), "healthy": True} if d.enabled else {"state": _state(d)}
        lead = [s for s in (first.steps if first else ()) if not s.final]
        replaced = first is not None and first.action is Action.REPLACE  # the new mapping is created again first
        steps = [*lead, WaitSettled(uuid=NEW if replaced else current.uuid, **settle), *self._delete_steps(olds)]
        before = ((current,) if replaced else ()) + tuple(olds)
        unproven = [first.reason.text] if replaced else [why for old in olds
                                                         if (why := self.positions.proof(current, old))]
        if unproven:
            reason = (f"finishes a move from {where_from}, but {'; '.join(unproven)}: deleting the old mapping "
                      f"may skip the records between its position and where {current.uuid} started; needs "
                      "--allow-replace")
            return Change(Action.REPLACE, d.key, before, d, fields, tuple(steps), Reason("position-unproven", reason))
        reason = (f"finishes a move: {where_from} also reads this data for {identity.short_arn(d.key.function)}; "
                  f"it is deleted once {current.uuid} is {_state(d)}")
        if first is not None and first.action is Action.MOVE:
            reason = f"{first.reason.text}; then {reason}"
        elif first is not None:
            reason = f"updates {current.uuid}, then {reason}"
        if current.last_result.upper().startswith("PROBLEM"):
            reason += f" and runs cleanly (it reports {current.last_result!r} now)"
        return Change(Action.HANDOFF, d.key, before, d, fields, tuple(steps), Reason("finish-move", reason))

    # -- steps ----------------------------------------------------------------------------------
    def _new_tags(self, d: Mapping, olds: list[Mapping]) -> dict[str, str] | None:
        """The spec's tags where it manages them; else the old mapping's, which a new one must keep."""
        if d.tags is not None:
            return d.tags
        kept: dict[str, str] = {}
        for old in olds:
            kept.update(marks.managed_tags(self.known.tags(old)))
        return kept or None

    def _create_steps(self, d: Mapping, *, tags: dict[str, str] | None, start_at: datetime | None = None,
                      settle: bool = False, keep: dict[str, Any] | None = None) -> list[Step]:
        steps: list[Step] = []
        if d.consumer is not None and d.consumer.arn is None:
            steps.append(RegisterConsumer(stream=d.consumer.stream_arn, name=d.consumer.name))
        params = requests.create_params(d, tags=tags, start_at=start_at)
        for name, members in (keep or {}).items():
            params[name] = {**members, **(params.get(name) or {})}
        steps.append(Create(params=params))
        # Before an old mapping goes, the new one must run (or be Disabled, if the spec says so), cleanly.
        state = {"state": _state(d), **({"healthy": True} if d.enabled else {})}
        steps.append(WaitSettled(**(state if settle else {}), final=not settle))
        return steps

    def _delete_steps(self, olds: list[Mapping]) -> list[Step]:
        return [s for m in olds for s in (Delete(uuid=m.uuid), WaitGone(uuid=m.uuid, final=True))]

    def _delete(self, m: Mapping) -> Change:
        lost = "; a stream mapping's position is lost" if m.kind in kinds.STREAM_TYPES | kinds.KAFKA_TYPES else ""
        return Change(Action.DELETE, m.key, (m,), None, (), tuple(self._delete_steps([m])),
                      Reason("prune", f"not in the spec (--prune){lost}"))


def _state(d: Mapping) -> str:
    return "Enabled" if d.enabled else "Disabled"


def _uuids(olds: list[Mapping]) -> str:
    return ",".join(m.uuid for m in olds)[:256]


def _shown(changes: list[FieldChange]) -> list[FieldChange]:
    return [FieldChange(c.name, values.plain(c.before), values.plain(c.after)) for c in changes]

