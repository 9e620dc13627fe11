"""Live mappings as a spec: only what differs from AWS's defaults, in the spec's own names, with warnings about
what the spec cannot say (the command prints them)."""

from __future__ import annotations

from typing import Any

from esmctl import arns, yaml11
from esmctl.mapping import compare, defaults, marks, values

_IDENTITY = ("Topics", "Queues", "SelfManagedEventSource")
_FIRST = ("StartingPosition", "StartingPositionTimestamp")


def _filters_as_written(criteria: dict[str, Any]) -> dict[str, Any]:
    """A mapping's filters for the spec: each pattern as YAML data, but as its JSON text where data would write a
    number of it otherwise (2.50 as 2.5, 1E3 as 1000.0), which Lambda would match otherwise, or where YAML 1.1
    would read a number of it as text (1e-06: its floats need a dot), as the spec is read back."""
    out = []
    for f in criteria.get("Filters") or []:
        text = f.get("Pattern") if isinstance(f, dict) else None
        data = values.parse_pattern(text)
        keeps = values.written_numbers([data]) == values.written_numbers([text]) and _yaml_reads_back(data)
        out.append({"Pattern": data if keeps else text})
    return {"Filters": out}


def _yaml_reads_back(value: Any) -> bool:
    """Whether every float of value, written as JSON writes it, is a float to YAML 1.1 too."""
    if isinstance(value, dict):
        return all(_yaml_reads_back(v) for v in value.values())
    if isinstance(value, list):
        return all(_yaml_reads_back(v) for v in value)
    return not isinstance(value, float) or yaml11.plain_tag(repr(value)) == yaml11.FLOAT


def to_spec(live: list[dict[str, Any]], region: str, account: str, tags: dict[str, dict[str, str]] | None = None,
            filters: dict[str, Any] | None = None,
            paused: dict[str, dict[str, str]] | None = None) -> tuple[dict[str, Any], list[str]]:
    """A spec that `validate` accepts and `diff` finds in sync with these mappings, and the warnings about what
    it leaves out or says otherwise. `paused`: the tags of the Disabled mappings (UUID -> tags), to tell one
    paused by `esmctl pause` from one disabled by design."""
    mappings = []
    warnings: list[str] = []
    for raw in sorted(live, key=lambda m: (m["FunctionArn"], m.get("EventSourceArn", ""), m["UUID"])):
        m = compare.live_mapping(raw, (filters or {}).get(raw["UUID"]))
        kind_defaults = defaults.canonical({}, m.kind)
        entry: dict[str, Any] = {"FunctionName": _function_name(m.function, region, account)}
        source = raw.get("EventSourceArn")
        consumer = arns.parse(source)
        if consumer is not None and consumer.is_consumer:
            # By name, so that the spec survives the consumer being re-created (a new ARN).
            entry["EventSourceArn"] = str(consumer.stream)
            entry["Consumer"] = consumer.consumer_name
        elif source:
            entry["EventSourceArn"] = source
        for key in _IDENTITY:
            if raw.get(key):
                entry[key] = raw[key]
        for key in (*_FIRST, *sorted(m.config)):
            value = m.config.get(key)
            if key in entry or value in (None, {}, []) or _default(key, value, kind_defaults):
                continue
            if values.is_unreadable(value):
                warnings.append(f"esmctl: warning: {m.title()} ({m.uuid}): {key} {value.why}: left out of the export "
                                "(esmctl plans no change to it)")
                continue
            entry[key] = _filters_as_written(m.params[key]) if key == "FilterCriteria" else values.plain(value)
        pause = marks.read_pause((paused or {}).get(m.uuid))
        if pause is not None and entry.get("Enabled") is False:
            # Disabled for an incident, not by design: the spec says what it is once resumed.
            del entry["Enabled"]
            warnings.append(f"esmctl: warning: {m.title()} ({m.uuid}) is {pause.describe()}: exported as enabled "
                            "(what it is once resumed); apply keeps it paused until `esmctl resume`")
        if tags is not None:
            entry["Tags"] = marks.managed_tags(tags.get(m.uuid, {}))
        mappings.append(_literal(entry))
    return {"version": 1, "region": region, "mappings": mappings}, warnings


def _literal(value: Any) -> Any:
    """Text as it is when the spec is read back: a `${` written `$${`, which a spec reads as a literal `${` (a filter
    may match such text); else it would be read as a placeholder."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, dict):
        return {_literal(k): _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def _default(key: str, value: Any, kind_defaults: dict[str, Any]) -> bool:
    """Whether AWS reports `value` for a field left at its default: the legacy "forever" values (10000 retries,
    604800 s) of older mappings mean -1, and written out they would mean 10000 times on a new mapping."""
    return key in kind_defaults and defaults.satisfies(key, kind_defaults[key], value)


def _function_name(arn: str, region: str, account: str) -> str:
    """The short name (with its qualifier) when the function is in this account and region."""
    function = arns.parse(arn)
    if function is not None and function.is_function and function.region == region and function.account == account:
        return function.resource.removeprefix("function:")
    return arn
