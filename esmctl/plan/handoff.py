"""Where a hand-off starts, and whether a move may delete its old mapping.

A new mapping that takes over a stream from an old one starts AT_TIMESTAMP where the old one is: its position
(the time of the newest record it processed, from IteratorAge) less the margin and its batching window, so
that no record is skipped. The old end of a move is deleted without --allow-replace only when the new mapping
provably starts at or before its position. A replace of a Kafka mapping keeps the old one's consumer group
(kept_group), which decides where the new one starts. Pure: what is not read yet is recorded in plan.known.Known.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from esmctl import kinds
from esmctl.mapping import defaults, identity, marks, values
from esmctl.mapping.compare import Mapping
from esmctl.plan.known import Known, unqualified


class Positions:
    """The positions of the old ends of hand-offs, for one plan (the margin before each)."""

    def __init__(self, known: Known, margin: float) -> None:
        self.known = known
        self.margin = margin

    def proof(self, new: Mapping, old: Mapping) -> str:
        """"" when `new` provably starts at or before `old`'s position; else why it cannot be told."""
        if new.kind == kinds.DYNAMODB:
            return "a new DynamoDB stream holds other records than the old one"
        start = new.config.get("StartingPosition")
        if start == "TRIM_HORIZON":
            return ""  # the whole stream: nothing skipped (records are processed again)
        tags = self.known.tags(new)
        if tags is None:
            return "not read yet"
        if old.uuid in (tags.get(marks.HANDOFF_TAG) or "").split(","):
            return ""  # a hand-off created it where the old one was
        started = new.config.get("StartingPositionTimestamp")
        what = f"{new.uuid} starts at {start or 'an unknown position'}"
        if start != "AT_TIMESTAMP" or not isinstance(started, datetime):
            return what
        what += f" {values.iso(started)}"
        if old.config.get("StartingPosition") == "AT_TIMESTAMP" and \
                isinstance(old_start := old.config.get("StartingPositionTimestamp"), datetime) and started <= old_start:
            return ""  # before the old one even started
        position, unknown = self.start([old], margin=0)
        if position is None:
            return f"{what}, and {old.uuid}'s position is unknown ({unknown})"
        if started <= position:
            return ""
        return f"{what}, after {old.uuid}'s position ({values.iso(position)})"

    def start(self, olds: list[Mapping], margin: float | None = None) -> tuple[datetime | None, str]:
        """The earliest position of the old mappings less the margin, or why it cannot be told."""
        starts, unknown = [], []
        for old in olds:
            if not old.live_state.running:
                unknown.append(f"{old.uuid} is {old.live_state}")
            elif old.last_result.upper().startswith("PROBLEM"):
                unknown.append(f"{old.uuid} reports {old.last_result!r}")
            elif sharing := [m for m in self.known.streams_of.get(unqualified(old.key.function), [])
                             if m is not old and _same_metric(m.key.function, old.key.function)]:
                unknown.append(f"IteratorAge is per function, and {identity.short_arn(old.key.function)} has "
                               f"{len(sharing)} other stream mapping(s) that run or may run (Creating, Updating)")
            elif old.key.function not in self.known.reads.positions:
                self.known.missing_positions.add(old.key.function)
                unknown.append("not read yet")
            elif (position := self.known.reads.positions[old.key.function]) is None:
                minutes = self.known.reads.window.total_seconds() / 60
                unknown.append(f"no IteratorAge datapoint for {identity.short_arn(old.key.function)} in the last "
                               f"{minutes:g} minutes")
            else:
                # Records the old mapping had read but was still batching are older than its IteratorAge says:
                # the whole window is covered, on top of the margin.
                starts.append(marks.handoff_start(position.at, position.iterator_age_ms,
                                                  (self.margin if margin is None else margin) + batching_window(old)))
        if unknown:
            return None, "; ".join(unknown)
        return min(starts), ""


def batching_window(m: Mapping) -> float:
    """The batching window of a mapping, in seconds (0 without one)."""
    value = m.config.get("MaximumBatchingWindowInSeconds")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _same_metric(function: str, old_function: str) -> bool:
    """Do both mappings' invocations count in the IteratorAge series read for `old_function`?
    The FunctionName series counts every alias and version; a Resource series only its own."""
    a, b = identity.function_ref(function, "", ""), identity.function_ref(old_function, "", "")
    return a.arn == b.arn and (not b.qualifier or a.qualifier == b.qualifier)


def position_lost(d: Mapping, group_kept: str | None = None) -> str:
    """What a replace created at the spec's StartingPosition costs, in words for its reason. `group_kept`: the Kafka
    consumer group the new mapping joins, the old one's: it resumes from the group's committed offsets (Kafka reads
    StartingPosition only for a group without them)."""
    if d.kind not in kinds.STREAM_TYPES | kinds.KAFKA_TYPES:
        return ""
    if group_kept:
        return (f" (it joins consumer group {group_kept}, the old mapping's: it resumes from the group's committed "
                "offsets)")
    start = d.config.get("StartingPosition")
    kafka = d.kind in kinds.KAFKA_TYPES
    if start == "LATEST":
        return f" ({'a new consumer group, ' if kafka else ''}LATEST: records that arrive meanwhile are skipped)"
    if start == "TRIM_HORIZON":
        return (" (a new consumer group, TRIM_HORIZON: the topic is read again from its oldest records)" if kafka
                else " (TRIM_HORIZON: the whole stream is processed again)")
    return " (a new consumer group: the committed offsets are not carried over)" if kafka \
        else " (the stream position is not carried over)"


def kept_group(d: Mapping, live: Mapping) -> dict[str, Any]:
    """A Kafka consumer group the spec does not name: the replacement joins the old one's group, which
    resumes from the group's committed offsets instead of starting over (within one ConsumptionMode)."""
    if not defaults.group_carries(d.config, live.config):
        return {}
    out = {}
    for name, member in defaults.GENERATED_MEMBERS.items():
        group = (live.config.get(name) or {}).get(member)
        if group and not (d.params.get(name) or {}).get(member):
            out[name] = {member: group}
    return out


def group_kept(d: Mapping, live: Mapping, keep: dict[str, Any]) -> str | None:
    """The Kafka consumer group a replace's new mapping joins where it is the old one's (None: another, or none)."""
    for name, member in defaults.GENERATED_MEMBERS.items():
        old = (live.config.get(name) or {}).get(member)
        new = (keep.get(name) or {}).get(member) or (d.params.get(name) or {}).get(member)
        if old and new == old:
            return old
    return None
