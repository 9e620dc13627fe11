"""Compare desired mappings with live ones and say what must change. Pure: no I/O.

    spec.load ─▶ desired ─┐
                          ├─ plan.diff(desired, live, prune=…) ─▶ Plan ─▶ render / apply
    aws.list ─▶ live ─────┘

Identity is Lambda's own: (qualified function ARN, event source ARN). Both sides are
normalised with AWS's defaults for the source type before comparing, so a field left out of
the spec equals its default, and removing a field from the spec sends the default back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from esmctl import model

CREATE, UPDATE, REPLACE, DELETE, HANDOFF = "create", "update", "replace", "delete", "handoff"
SYMBOLS = {CREATE: "+", UPDATE: "~", REPLACE: "-/+", DELETE: "-", HANDOFF: "<~>"}
Key = tuple[str, str]


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: Any
    after: Any


@dataclass
class Target:
    """A desired mapping with its identity resolved (function ARN, source ARN)."""

    key: Key
    params: dict[str, Any]  # API parameters, FunctionName as the user wrote it
    where: str = ""
    consumer: str | None = None  # Kinesis consumer name, when the mapping reads through one

    @property
    def kind(self) -> str:
        return model.source_type(self.params)


@dataclass
class Change:
    action: str
    key: Key
    uuid: str | None = None
    fields: list[FieldChange] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)  # create: all; update: only what changes
    tags_set: dict[str, str] = field(default_factory=dict)
    tags_removed: list[str] = field(default_factory=list)
    reason: str = ""
    where: str = ""
    live: dict[str, Any] | None = None
    handoff_at: datetime | None = None  # a hand-off's AT_TIMESTAMP, computed when planned

    @property
    def function(self) -> str:
        return self.key[0]

    @property
    def source(self) -> str:
        return self.key[1]

    @property
    def destructive(self) -> bool:
        return self.action in (DELETE, REPLACE, HANDOFF)


@dataclass
class Plan:
    changes: list[Change]
    unmanaged: list[dict[str, Any]] = field(default_factory=list)
    in_sync: int = 0

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def empty(self) -> bool:
        return not self.changes


def _managed_fields(desired: dict[str, Any], kind: str) -> set[str]:
    """Fields esmctl compares: those the spec sets and those with a known AWS default."""
    return (set(desired) | set(model.DEFAULTS.get(kind, {}))) - {"Tags", "EventSourceArn"}


def compare(target: Target, live: dict[str, Any]) -> list[FieldChange]:
    """The fields whose desired value differs from the live one, after normalising both."""
    kind = target.kind or model.source_type(live)
    want = model.normalise(target.params, kind)
    have = model.normalise(live, kind)
    out = []
    for name in sorted(_managed_fields(want, kind)):
        if name == "StartingPositionTimestamp" and name not in have:
            continue  # not echoed by every endpoint; AWS always returns it for AT_TIMESTAMP
        started_at_timestamp = have.get("StartingPosition") == "AT_TIMESTAMP"
        if name in ("StartingPosition", "StartingPositionTimestamp") and started_at_timestamp \
                and want.get("StartingPosition") in ("LATEST", "TRIM_HORIZON"):
            continue  # started at a timestamp by a hand-off: the position matters only at creation
        if want.get(name) != have.get(name):
            out.append(FieldChange(name, have.get(name), want.get(name)))
    return out


def diff_tags(want: dict[str, str] | None, have: dict[str, str] | None) -> tuple[dict[str, str], list[str]]:
    if want is None:  # the spec does not manage tags: leave them alone
        return {}, []
    have = have or {}
    to_set = {k: v for k, v in want.items() if have.get(k) != v}
    to_remove = sorted(k for k in have if k not in want and not k.startswith("aws:"))
    return to_set, to_remove


def diff(targets: list[Target], live: list[dict[str, Any]], *, prune: bool = False,
         live_tags: dict[str, dict[str, str]] | None = None) -> Plan:
    """The plan that makes `live` match `targets`.

    `live_tags` holds the tags of the live mappings whose target sets Tags (by UUID); tags of
    others are never read or changed. With prune, live mappings of the spec's functions that the
    spec does not list are deleted; without it they are reported as unmanaged.
    """
    live_tags = live_tags or {}
    by_key: dict[Key, dict[str, Any]] = {}
    for m in live:
        by_key.setdefault(model.mapping_key(m["FunctionArn"], m.get("EventSourceArn", "")), m)
    changes: list[Change] = []
    in_sync = 0
    wanted = set()
    for t in targets:
        wanted.add(t.key)
        current = by_key.get(t.key)
        if current is None:
            shown = model.normalise(t.params, t.kind)  # filter patterns as JSON, like the other actions
            changes.append(Change(CREATE, t.key, params=dict(t.params), where=t.where,
                                  fields=[FieldChange(k, None, shown.get(k, v)) for k, v in sorted(t.params.items())
                                          if k not in ("FunctionName", "EventSourceArn")]))
            continue
        fields = compare(t, current)
        tags_set, tags_removed = diff_tags(t.params.get("Tags"), live_tags.get(current["UUID"]))
        if not fields and not tags_set and not tags_removed:
            in_sync += 1
            continue
        replace = [f.name for f in fields if f.name in model.REPLACE_FIELDS]
        if replace:
            changes.append(Change(REPLACE, t.key, uuid=current["UUID"], fields=fields, params=dict(t.params),
                                  where=t.where, live=current,
                                  reason=f"{', '.join(replace)} cannot be changed in place"))
            continue
        params = update_params(t, fields, t.kind or model.source_type(current))
        tag_fields = []
        if tags_set or tags_removed:
            have = live_tags.get(current["UUID"]) or {}
            tag_fields = [FieldChange(f"Tags.{k}", have.get(k), v) for k, v in sorted(tags_set.items())]
            tag_fields += [FieldChange(f"Tags.{k}", have.get(k), None) for k in tags_removed]
        changes.append(Change(UPDATE, t.key, uuid=current["UUID"], fields=fields + tag_fields, params=params,
                              tags_set=tags_set, tags_removed=tags_removed, where=t.where, live=current))
    functions = {t.key[0] for t in targets}
    unmanaged = [m for k, m in by_key.items() if k not in wanted and k[0] in functions]
    if prune:
        for m in unmanaged:
            changes.append(Change(DELETE, model.mapping_key(m["FunctionArn"], m.get("EventSourceArn", "")),
                                  uuid=m["UUID"], live=m, reason="not in the spec (--prune)"))
        unmanaged = []
    sort_changes(changes)
    return Plan(changes, unmanaged, in_sync)


def update_params(target: Target, fields: list[FieldChange], kind: str) -> dict[str, Any]:
    """UpdateEventSourceMapping parameters for the changed fields; a field the spec left out
    gets the value that puts AWS's default back."""
    params = {}
    for f in fields:
        value = target.params.get(f.name)
        if value is None:
            value = model.clearing_value(f.name, kind)
        params[f.name] = model.api_value(f.name, value)
    return params


_ORDER = {DELETE: 0, REPLACE: 1, HANDOFF: 2, CREATE: 3, UPDATE: 4}


def sort_changes(changes: list[Change]) -> None:
    """Deletes first (a replacement must never meet its old self), then by identity."""
    changes.sort(key=lambda c: (_ORDER[c.action], c.key))
