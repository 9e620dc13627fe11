"""What the planner knows of the live side: the live mappings, indexed so that planning stays linear in their
number, and what the extra reads (plan.types.Reads) say. A look-up of something not read yet is recorded, so
that the plan can name what to read before planning again (plan.types.Missing).
"""

from __future__ import annotations

from functools import lru_cache

from esmctl import arns, kinds
from esmctl.mapping import defaults, identity, marks
from esmctl.mapping.compare import Mapping
from esmctl.mapping.identity import Key
from esmctl.plan.types import Missing, Reads


class Known:
    """The live side of one plan, and the reads that came with it."""

    def __init__(self, live: list[Mapping], reads: Reads) -> None:
        self.reads = reads
        self.present = [m for m in live if m.state != "Deleting"]  # a Deleting mapping is as good as gone
        self.deleting: dict[Key, list[Mapping]] = {}
        for m in live:
            if m.state == "Deleting":
                self.deleting.setdefault(m.key, []).append(m)
        # Indexes, so that planning stays linear in the number of mappings.
        self.by_key: dict[Key, list[Mapping]] = {}
        self.by_slot: dict[tuple[str, str], list[Mapping]] = {}
        # unqualified function ARN -> its stream mappings that run, or may (Creating, Updating: not known yet)
        self.streams_of: dict[str, list[Mapping]] = {}
        self.by_function: dict[str, list[Mapping]] = {}  # unqualified function ARN -> its mappings
        for m in self.present:
            self.by_key.setdefault(m.key, []).append(m)
            if (s := identity.slot(m.key, m.kind)) is not None:
                self.by_slot.setdefault(s, []).append(m)
            if m.kind in kinds.STREAM_TYPES and m.enabled is not False:
                self.streams_of.setdefault(unqualified(m.key.function), []).append(m)
            self.by_function.setdefault(unqualified(m.key.function), []).append(m)
        self.missing_tags: set[str] = set()
        self.missing_positions: set[str] = set()
        self.missing_function_tags: set[str] = set()
        self.missing_settled: set[str] = set()

    def unsettled(self, *mappings: Mapping | None) -> None:
        """Whether a mapping runs decides pauses, moves and positions: one in Creating or Updating (enabled
        None) is read again once it settles, never taken for Enabled (nor for Disabled) meanwhile."""
        self.missing_settled.update(m.uuid for m in mappings if m is not None and m.enabled is None)

    def of_function(self, function: str) -> list[Mapping]:
        """The live mappings of a function, under any alias or version (or none)."""
        return self.by_function.get(unqualified(function), [])

    def tags(self, m: Mapping) -> dict[str, str] | None:
        if m.uuid not in self.reads.tags:
            self.missing_tags.add(m.uuid)
            return None
        return self.reads.tags[m.uuid]

    def function_tags(self, function: str) -> dict[str, str] | None:
        arn = unqualified(function)
        if arn not in self.reads.function_tags:
            self.missing_function_tags.add(arn)
            return None
        return self.reads.function_tags[arn]

    def restored(self, d: Mapping) -> tuple[dict[str, str] | None, dict[str, dict[str, str]], list[str]]:
        """What an interrupted replace of d's identity recorded on the function: the tags (None: none to use; read
        only where the spec does not manage d's tags), the settings to keep (a Kafka consumer group the spec does
        not name), and the record keys to drop once d is created: its own, and the function's records that are out
        of date (older than a day, or of a mapping that exists: its replace finished but was killed before it
        dropped the record)."""
        groups = {name: member for name, member in defaults.GENERATED_MEMBERS.items()
                  if not (d.params.get(name) or {}).get(member)}
        if d.tags is not None and d.kind not in kinds.KAFKA_TYPES:
            return None, {}, []
        tags = self.function_tags(d.key.function)
        if not tags:
            return None, {}, []
        live = {marks.record_prefix(m.key) for m in self.of_function(d.key.function)}
        mine, stale, kept, keep = marks.record_prefix(d.key), [], None, {}
        for prefix, record in marks.tag_records(tags).items():
            fresh = record.at is not None and self.reads.now - record.at <= marks.TAG_RECORD_TTL
            if prefix == mine and fresh:
                kept = record.tags if record.tags and d.tags is None else None
                keep = {name: {member: record.keep[name][member]} for name, member in groups.items()
                        if record.keep.get(name, {}).get(member)}
            if prefix == mine or not fresh or prefix in live:
                stale += record.keys
        return kept, keep, sorted(stale)

    def missing(self) -> Missing:
        """What planning asked for that was not read."""
        return Missing(frozenset(self.missing_tags), frozenset(self.missing_positions),
                       frozenset(self.missing_function_tags), frozenset(self.missing_settled))


@lru_cache(maxsize=1 << 15)  # asked for each mapping, several times
def unqualified(function_arn: str) -> str:
    """A function's ARN without its alias or version."""
    arn = arns.parse(function_arn)
    return str(arn.unqualified) if arn is not None else function_arn
