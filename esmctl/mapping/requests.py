"""What to send AWS for a mapping: CreateEventSourceMapping and UpdateEventSourceMapping parameters, and which
changes an update cannot make (each needs a new mapping)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from esmctl import servicemodel
from esmctl.kinds import KAFKA
from esmctl.mapping.compare import Comparison, FieldChange, Mapping
from esmctl.mapping.defaults import (
    CLEAR_MEMBERS,
    EXCLUDED_BY,
    MEMBERWISE,
    NESTED_DEFAULTS,
    QUEUE_MODE_DEFAULTS,
    UNSET_BY_REPLACE,
    clear_value,
    queue_mode,
)
from esmctl.mapping.values import instant, pattern_text


def to_api(name: str, value: Any) -> Any:
    """A value from a spec (or a canonical one) in the shape the API takes."""
    if name == "FilterCriteria" and isinstance(value, dict) and value.get("Filters"):
        return {**value, "Filters": [{**f, "Pattern": pattern_text(f.get("Pattern"))} for f in value["Filters"]]}
    if name == "DestinationConfig" and isinstance(value, dict):
        # No destination (`{}`, `{OnFailure: {}}`) is the default, and only an empty Destination puts it back:
        # `{}` changes nothing, and AWS refuses an OnFailure without one. create_params leaves it out.
        on_failure = value.get("OnFailure")
        if not isinstance(on_failure, dict) or not on_failure.get("Destination"):
            return {**value, "OnFailure": {**(on_failure if isinstance(on_failure, dict) else {}), "Destination": ""}}
    if name == "StartingPositionTimestamp" and value is not None:
        return instant(value)
    return value


def create_only_items(name: str, value: Any) -> list[Any]:
    """The items of a list that UpdateEventSourceMapping cannot take: a SourceAccessConfiguration of a Type the
    model's documentation says "cannot be specified in an UpdateEventSourceMapping API call" (VIRTUAL_HOST)."""
    if name != "SourceAccessConfigurations" or not isinstance(value, list):
        return []
    rules = servicemodel.access_types()
    return [item for item in value if isinstance(item, dict) and isinstance(item.get("Type"), str)
            and item["Type"] in rules and rules[item["Type"]].create_only]


def create_only_types(name: str, *values: Any) -> set[str]:
    return {item["Type"] for value in values for item in create_only_items(name, value)}


def without_create_only_items(name: str, value: Any) -> Any:
    """A value to send in an update: never with what only a create takes (a change of it is a replace)."""
    dropped = create_only_items(name, value)
    return [item for item in value if item not in dropped] if dropped else value


def replace_reasons(comparison: Comparison) -> list[str]:
    """The changes UpdateEventSourceMapping cannot make (from botocore's model, and what AWS cannot unset in place
    where the mapping would read other data or hold what the spec's settings exclude): each needs a new mapping."""

    out = []
    immutable = servicemodel.immutable_members()
    for change in comparison.changes:
        if change.name in servicemodel.create_only() or (change.name in EXCLUDED_BY and change.after is None):
            out.append(change.name)
        elif unset := [m for m in UNSET_BY_REPLACE.get(change.name, ()) if isinstance(change.before, dict)
                       and change.before.get(m) is not None and (change.after or {}).get(m) is None]:
            out += [f"{change.name}.{m}" for m in unset]
        elif change.name in immutable and isinstance(change.after, dict):
            before = change.before if isinstance(change.before, dict) else {}
            for member in sorted(immutable[change.name]):
                if member in change.after and change.after.get(member) != before.get(member):
                    out.append(f"{change.name}.{member}")
        elif create_only_items(change.name, change.after) != create_only_items(change.name, change.before):
            out.append(f"{change.name}.{'/'.join(sorted(create_only_types(change.name, change.before, change.after)))}")
    return out


def update_params(want: Mapping, changes: list[FieldChange]) -> dict[str, Any]:
    """UpdateEventSourceMapping parameters for the changed fields: the spec's value, or what puts
    the default back for a field the spec left out."""
    immutable = servicemodel.immutable_members()
    out: dict[str, Any] = {}
    for change in changes:
        if change.name not in servicemodel.updatable():
            continue
        if change.name in MEMBERWISE:  # members left out are sent as their defaults, which AWS may keep
            given = copy.deepcopy(want.params.get(change.name) or {})
            value = to_api(change.name, {**NESTED_DEFAULTS.get(change.name, {}).get(want.kind, {}), **given})
        elif change.name in want.params and want.params[change.name] is not None:
            value = to_api(change.name, copy.deepcopy(want.params[change.name]))
        elif want.kind == KAFKA and queue_mode(want.config) and change.name in QUEUE_MODE_DEFAULTS:
            value = QUEUE_MODE_DEFAULTS[change.name]
        else:
            value = clear_value(change.name, want.kind)
        if change.name in CLEAR_MEMBERS and isinstance(value, dict) and isinstance(change.after, dict):
            # a member the spec dropped, removed with its clearing value (compare put it in the change)
            value = {**{k: change.after[k] for k in CLEAR_MEMBERS[change.name] if k in change.after}, **value}
        if change.name in immutable and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k not in immutable[change.name]}
        out[change.name] = without_create_only_items(change.name, value)
    return out


def create_params(want: Mapping, *, source_arn: str | None = None, tags: dict[str, str] | None = None,
                  start_at: datetime | None = None) -> dict[str, Any]:
    """CreateEventSourceMapping parameters: what the spec gives, in the API's shapes."""
    out = {name: to_api(name, copy.deepcopy(value)) for name, value in want.params.items() if value is not None}
    written = want.params.get("FunctionName")
    # A name is sent as written; an ARN as the function ARN it resolved to (`arn:aws:lambda:R:A:NAME`, which
    # Lambda's pattern allows without `function:`, is not read so by every endpoint).
    out["FunctionName"] = written if written and not str(written).startswith("arn:") else want.function
    out.pop("EventSourceArn", None)
    if source_arn or want.source_arn:  # a consumer's ARN; none yet for one to be registered
        out["EventSourceArn"] = source_arn or want.source_arn
    if "DestinationConfig" in out and not (out["DestinationConfig"].get("OnFailure") or {}).get("Destination"):
        out.pop("DestinationConfig")  # an empty destination is the default; AWS refuses it spelled out
    if start_at is not None:
        out["StartingPosition"] = "AT_TIMESTAMP"
        out["StartingPositionTimestamp"] = start_at
    if tags:
        out["Tags"] = dict(tags)
    return out
