"""Live mappings as a spec: only what differs from AWS's defaults, in the spec's own names."""

from __future__ import annotations

from typing import Any

from esmctl import model

_FIRST = ("FunctionName", "EventSourceArn", "Consumer", "StartingPosition", "StartingPositionTimestamp")


def to_spec(live: list[dict[str, Any]], region: str, account: str,
            tags: dict[str, dict[str, str]] | None = None) -> dict[str, Any]:
    mappings = []
    for m in sorted(live, key=lambda m: (m["FunctionArn"], m.get("EventSourceArn", ""))):
        kind = model.source_type(m)
        norm = model.normalise(m, kind)
        defaults = model.normalise({}, kind)
        entry: dict[str, Any] = {"FunctionName": _function_name(m["FunctionArn"], region, account)}
        source = m.get("EventSourceArn")
        if source and model.is_consumer_arn(source):
            # By name, so that the spec survives the consumer being re-created (a new ARN).
            entry["EventSourceArn"] = model.stream_of(source)
            entry["Consumer"] = source.split("/consumer/", 1)[1].split(":")[0]
        elif source:
            entry["EventSourceArn"] = source
        for key in _FIRST[3:]:
            if norm.get(key) is not None:
                entry[key] = norm[key]
        for key in sorted(norm):
            if key in entry or key in _FIRST or key == "Tags":
                continue
            if norm[key] != defaults.get(key) and norm[key] not in (None, {}, []):
                entry[key] = norm[key]
        if tags is not None:
            entry["Tags"] = tags.get(m["UUID"], {})
        mappings.append(entry)
    return {"version": 1, "region": region, "mappings": mappings}


def _function_name(arn: str, region: str, account: str) -> str:
    """The short name (with its qualifier) when the function is in this account and region."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[3] == region and parts[4] == account:
        return ":".join(parts[6:])
    return arn
