"""A mapping, desired (from a spec) or live (from AWS), in one canonical form, and how the two differ."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from esmctl.errors import Place, Spot
from esmctl.mapping.defaults import (
    CLEAR_MEMBERS,
    DEFAULTS,
    EXCLUDED_BY,
    GENERATED_MEMBERS,
    MEMBERWISE,
    NESTED_DEFAULTS,
    NO_WAY_BACK,
    UNSET_BY_REPLACE,
    canonical,
    group_carries,
    satisfies,
)
from esmctl.mapping.identity import Consumer, FunctionRef, Key, source_identity, source_type, without_latest
from esmctl.mapping.states import LiveState
from esmctl.mapping.values import is_unreadable, pattern_text, plain, same_json, unreadable, written_numbers


@dataclass(frozen=True)
class Mapping:
    """A mapping, desired (from a spec) or live (from AWS), in one canonical form.

    `config` holds every configuration field with AWS's defaults filled in, so a field left out of
    the spec equals its default. `params` keeps what the spec wrote (sent on create) or what AWS
    reported.
    """

    key: Key
    kind: str
    config: dict[str, Any]
    params: dict[str, Any]
    source_arn: str | None  # the EventSourceArn; None for self-managed Kafka and an unregistered consumer
    uuid: str | None = None
    state: str = ""
    where: Place | None = None  # of a desired mapping's entry in the spec
    consumer: Consumer | None = None
    tags: dict[str, str] | None = None  # desired: the tags the spec manages (None: not managed)
    moved_from: str | None = None  # desired: the qualified function ARN its `MovedFrom` names
    spot: Spot | None = field(default=None, compare=False, repr=False)  # desired: where each field was written

    def place_of(self, name: str) -> Place | None:
        """Where the spec wrote the field `name` of this desired mapping (else its entry; None: not from a spec)."""
        return self.spot.of(name) if self.spot is not None else self.where

    @property
    def function(self) -> str:
        return self.key.function

    @property
    def arn(self) -> str:
        return self.params.get("EventSourceMappingArn", "")

    @property
    def last_result(self) -> str:
        return self.params.get("LastProcessingResult") or ""

    @property
    def enabled(self) -> bool | None:
        """Meant to run? None for a live mapping in Creating or Updating: not known until it settles."""
        value = self.config.get("Enabled", True)
        return None if is_unreadable(value) else value is not False

    @property
    def live_state(self) -> LiveState:
        return LiveState(self.state)

    def title(self) -> str:
        return self.key.describe()


def live_mapping(raw: dict[str, Any], filters: Any = None) -> Mapping:
    """A mapping as AWS reported it. `filters`: the FilterCriteria read with GetEventSourceMapping
    where the listing hides them (KMS-encrypted), or an unreadable marker."""
    kind = source_type(raw)
    params = dict(raw)
    if filters is not None:
        params["FilterCriteria"] = filters
    elif filters_hidden(raw):
        params["FilterCriteria"] = unreadable("encrypted with a KMS key; not read")
    source, part = source_identity(raw)
    return Mapping(Key(without_latest(raw.get("FunctionArn", "")), source, part), kind, canonical(params, kind), params,
                   raw.get("EventSourceArn"), uuid=raw.get("UUID"), state=raw.get("State", ""))


def filters_hidden(raw: dict[str, Any]) -> bool:
    """ListEventSourceMappings shows FilterCriteria as null when they are encrypted with a KMS key."""
    return bool(raw.get("KMSKeyArn")) and raw.get("FilterCriteria") is None


def desired_mapping(params: dict[str, Any], function: FunctionRef, *, where: Place | None = None,
                    consumer: Consumer | None = None, moved_from: FunctionRef | None = None,
                    spot: Spot | None = None) -> Mapping:
    """A spec's mapping with its function resolved (and its consumer, when it reads through one)."""
    kind = source_type(params)
    params = dict(params)
    tags = params.pop("Tags", None)
    if consumer is not None:
        source, part, arn = consumer.identity, "", consumer.arn
    else:
        (source, part), arn = source_identity(params), params.get("EventSourceArn")
    return Mapping(Key(function.qualified_arn, source, part), kind, canonical(params, kind), params, arn,
                   where=where, consumer=consumer, tags=dict(tags) if tags is not None else None,
                   moved_from=moved_from.qualified_arn if moved_from is not None else None, spot=spot)


@dataclass(frozen=True)
class FieldChange:
    name: str
    before: Any
    after: Any


@dataclass
class Comparison:
    """How a live mapping differs from the desired one."""

    changes: list[FieldChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what differs but cannot be changed, and why

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.changes]


def compare(want: Mapping, have: Mapping) -> Comparison:
    """Every field whose desired value the live mapping does not satisfy."""
    if _alike(want, have):  # most of a plan's mappings: what the field by field walk would find, at a tenth
        return Comparison()
    out = Comparison()
    kind = want.kind or have.kind
    for name in sorted(set(want.config) | set(have.config)):
        w, h = want.config.get(name), have.config.get(name)
        if is_unreadable(h):
            # Whether the spec's value (or its absence) holds cannot be told: said, never changed blind.
            out.notes.append(f"{name}: cannot be read ({h.why}): no change to it is planned")
            continue
        if name in MEMBERWISE:
            _compare_members(name, w, h, kind, out)
            continue
        if name == "StartingPositionTimestamp" and w is not None and h is None:
            continue  # not echoed by every endpoint; AWS echoes it for AT_TIMESTAMP
        if w is None:
            if name == "StartingPositionTimestamp":
                continue  # only with AT_TIMESTAMP, which StartingPosition's own comparison covers
            if h not in (None, {}, [], "") and h != DEFAULTS.get(name, {}).get(kind):
                if want.config.get(EXCLUDED_BY.get(name, "")) not in (None, {}, [], ""):
                    out.changes.append(FieldChange(name, h, None))  # to go: a replace (requests.replace_reasons)
                    continue
                why = NO_WAY_BACK.get(name, "AWS has no default for it to go back to")
                out.notes.append(f"{name} stays {json.dumps(plain(h))}: the spec no longer sets it, but {why}; "
                                 "set it in the spec to silence this")
            continue
        if isinstance(w, dict) and isinstance(h, dict) and name not in DEFAULTS:
            cleared = {k: v for k, v in CLEAR_MEMBERS.get(name, {}).items() if h.get(k) not in (None, v)}
            w = {**cleared, **w}
            h = _drop_unsettable(name, w, h, out)
        if not satisfies(name, w, h):
            out.changes.append(FieldChange(name, h, w))
        elif name == "FilterCriteria" and not written_alike(want, have):
            # the same data, but a number of an equality rule written otherwise (300 and 300.0 keep different
            # records): the change shown as the patterns' texts, where the numbers differ
            before, after = ({"Filters": [{"Pattern": p} for p in patterns_sent(m) or []]} for m in (have, want))
            out.changes.append(FieldChange(name, before, after))
    return out


def _alike(want: Mapping, have: Mapping) -> bool:
    """Nothing to change, nothing to note: the configurations equal, every live value readable, the filters the
    same as JSON has them (Python's == takes true for 1: only the filters' free JSON can hold either, as the model
    types every other field, and the spec's checks and botocore's parser hold the values to it) and their numbers
    written alike."""
    if want.config != have.config or any(is_unreadable(v) for v in have.config.values()):
        return False
    filters = want.config.get("FilterCriteria")
    return filters is None or (same_json(filters, have.config["FilterCriteria"]) and written_alike(want, have))


def patterns_sent(m: Mapping) -> list[str] | None:
    """A mapping's filter patterns as they are (live) or will be (desired) sent: JSON texts, a spec's data as JSON
    writes it, so that their numbers are the texts Lambda compares; None when they cannot be read (KMS)."""
    criteria = m.params.get("FilterCriteria")
    if is_unreadable(criteria):
        return None
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    return [pattern_text(f.get("Pattern")) for f in filters or [] if isinstance(f, dict)]


def written_alike(a: Mapping, b: Mapping) -> bool:
    """Whether the numbers of two mappings' filters' equality rules are written alike (what canonical comparison
    leaves out); True where either cannot be read."""
    pa, pb = patterns_sent(a), patterns_sent(b)
    return pa is None or pb is None or written_numbers(pa) == written_numbers(pb)


def _compare_members(name: str, w: Any, h: Any, kind: str, out: Comparison) -> None:
    """A structure every mapping of the kind has: each member the spec leaves out is its default."""
    want = {**NESTED_DEFAULTS.get(name, {}).get(kind, {}), **(w or {})}
    have = dict(h or {})
    generated = GENERATED_MEMBERS.get(name)
    kept = have.pop(generated, None) if generated not in want else None  # what AWS generated stays (immutable)
    have = _drop_unsettable(name, want, have, out)
    if want != have:  # the group stays (immutable in place; a replace joins it, but in another ConsumptionMode)
        carried = kept is not None and group_carries({name: want}, {name: h or {}})
        out.changes.append(FieldChange(name, h, {**want, generated: kept} if carried else want))


def _drop_unsettable(name: str, want: dict, have: dict, out: Comparison) -> dict:
    """Members set on the mapping that the spec no longer sets, where AWS has no way to unset them (but those
    without which the mapping would read other data: left in, their removal is a replace)."""
    dropped = sorted(set(have) - set(want) - set(UNSET_BY_REPLACE.get(name, ())))
    if dropped:
        out.notes.append(f"{name}: {', '.join(dropped)} stays as it is: AWS documents no way to unset it in "
                         "place; set it in the spec to silence this")
    return {k: v for k, v in have.items() if k not in dropped}
