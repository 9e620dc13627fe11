"""What AWS fills in for a field left out, per kind of source, and a mapping's configuration in one canonical form.

Pure: no AWS calls. Which fields UpdateEventSourceMapping can change, and which kinds of source a
field is for, come from botocore's service model (servicemodel.py). What AWS fills in for a field left
out, and what to send to put that default back, is written here per kind of source: botocore's
model does not hold it.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from esmctl import servicemodel
from esmctl.kinds import DOCDB, DYNAMODB, KAFKA, KINDS, KINESIS, MSK, SQS
from esmctl.mapping.identity import IDENTITY_FIELDS
from esmctl.mapping.states import LiveState
from esmctl.mapping.values import (
    SCALARS,
    copied,
    instant,
    is_unreadable,
    parse_pattern,
    same_json,
    sorted_json,
    unreadable,
)

# What the service reports that describes a mapping rather than configures it.
READ_ONLY_FIELDS = frozenset({
    "UUID", "FunctionArn", "LastModified", "LastProcessingResult", "State", "StateTransitionReason",
    "EventSourceMappingArn", "FilterCriteriaError", "ResponseMetadata",
})

_STREAMS = (KINESIS, DYNAMODB)
_KAFKAS = (MSK, KAFKA)
# What AWS reports for a field the mapping was created without, per kind (absent: no such default).
DEFAULTS: dict[str, dict[str, Any]] = {
    "Enabled": dict.fromkeys(KINDS, True),
    "BatchSize": {**dict.fromkeys(KINDS, 100), SQS: 10},
    # Kafka, MQ and DocumentDB start with a 500 ms window that the whole-second field cannot express.
    "MaximumBatchingWindowInSeconds": dict.fromkeys((*_STREAMS, SQS), 0),
    "ParallelizationFactor": dict.fromkeys(_STREAMS, 1),
    "TumblingWindowInSeconds": dict.fromkeys(_STREAMS, 0),
    "MaximumRetryAttempts": dict.fromkeys((*_STREAMS, *_KAFKAS), -1),
    "MaximumRecordAgeInSeconds": dict.fromkeys((*_STREAMS, *_KAFKAS), -1),
    "BisectBatchOnFunctionError": dict.fromkeys((*_STREAMS, *_KAFKAS), False),
    "DestinationConfig": dict.fromkeys((*_STREAMS, *_KAFKAS), {"OnFailure": {}}),
    "FunctionResponseTypes": dict.fromkeys((*_STREAMS, *_KAFKAS, SQS), []),
    "FilterCriteria": dict.fromkeys(KINDS, {}),
    "KMSKeyArn": dict.fromkeys(KINDS, ""),
    "MetricsConfig": dict.fromkeys(KINDS, {"Metrics": []}),
    "ScalingConfig": {SQS: {}},
    "SourceAccessConfigurations": dict.fromkeys(_KAFKAS, []),
}
# What UpdateEventSourceMapping needs to put a default back, where that is not the default itself:
# AWS refuses {"OnFailure": {}} ("The Destination field is required for an OnFailure configuration");
# the model's pattern for Destination admits "", which removes it.
CLEAR_VALUES: dict[str, Any] = {"DestinationConfig": {"OnFailure": {"Destination": ""}}}
# Members AWS fills into a structure given without them.
NESTED_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "ProvisionedPollerConfig": {SQS: {"MinimumPollers": 2, "MaximumPollers": 200},
                                MSK: {"MinimumPollers": 1, "MaximumPollers": 200},
                                KAFKA: {"MinimumPollers": 1, "MaximumPollers": 200}},
    "DocumentDBEventSourceConfig": {DOCDB: {"FullDocument": "Default"}},
    "SelfManagedKafkaEventSourceConfig": {KAFKA: {"ConsumptionMode": "Stream"}},
}
# Members of a structure that an update removes with this value (PollerGroupName: "" leaves the poller group).
CLEAR_MEMBERS: dict[str, dict[str, Any]] = {"ProvisionedPollerConfig": {"PollerGroupName": ""}}
# Structures every mapping of their kind has (AWS reports them even when not given): compared member
# by member, a member left out meaning its default (or whatever AWS generated).
MEMBERWISE = frozenset({"AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
                        "DocumentDBEventSourceConfig"})
# Members AWS generates when they are not given: compared only where the spec sets them.
GENERATED_MEMBERS = {"AmazonManagedKafkaEventSourceConfig": "ConsumerGroupId",
                     "SelfManagedKafkaEventSourceConfig": "ConsumerGroupId"}
# Why a field the spec stopped setting cannot go back to the default in place.
NO_WAY_BACK: dict[str, str] = {
    "MaximumBatchingWindowInSeconds": "AWS cannot go back to the 500 ms default batching window in place "
                                      "(only a new mapping has it)",
    "ProvisionedPollerConfig": "esmctl does not switch a mapping back to on-demand polling by itself (a Kafka "
                               "mapping goes back once its schema registry configuration is removed)",
    "LoggingConfig": "AWS documents no way to unset it in place",
    "SourceAccessConfigurations": "it is required for this kind of source",
}
# What a replace takes, where a difference of what a mapping reads cannot be undone in place (a change of one is
# planned as a replace, needing --allow-replace, never left as a note):
# - a member the spec no longer sets that AWS cannot unset (CollectionName: the model's minimum length is 1), and
#   without which the mapping reads other data (no collection: every collection of the database);
UNSET_BY_REPLACE: dict[str, tuple[str, ...]] = {"DocumentDBEventSourceConfig": ("CollectionName",)}
# - a field the spec no longer sets that AWS cannot unset in place (NO_WAY_BACK), where a field the spec does set
#   excludes it (the facts sheet: ScalingConfig is exclusive with ProvisionedPollerConfig): kept, the mapping would
#   hold both.
EXCLUDED_BY: dict[str, str] = {"ProvisionedPollerConfig": "ScalingConfig"}
# Self-managed Kafka in ConsumptionMode Queue (a share group): AWS's defaults that differ from Stream mode's
# (botocore's model: "the value -1 (infinite retries) is not supported and the default is 0").
QUEUE_MODE_DEFAULTS: dict[str, Any] = {"MaximumRetryAttempts": 0}


# Kafka in Stream mode with an on-failure destination: AWS retries a batch at most this many times, and reports
# this for "forever" (-1, or nothing).
KAFKA_DESTINATION_RETRIES = 10


def kafka_retries_capped(params: dict[str, Any], kind: str) -> bool:
    """Whether AWS caps this mapping's retries at KAFKA_DESTINATION_RETRIES: Kafka in Stream mode with an on-failure
    destination."""
    destination = params.get("DestinationConfig")
    on_failure = destination.get("OnFailure") if isinstance(destination, dict) else None
    return kind in _KAFKAS and not queue_mode(params) and isinstance(on_failure, dict) \
        and bool(on_failure.get("Destination"))


def queue_mode(params: dict[str, Any]) -> bool:
    return ((params.get("SelfManagedKafkaEventSourceConfig") or {}).get("ConsumptionMode") == "Queue")


def group_carries(want: dict[str, Any], have: dict[str, Any]) -> bool:
    """Whether a new mapping with `want`'s settings may join the consumer group of one with `have`'s: only in one
    ConsumptionMode (a Queue mode mapping reads as a share group, and Kafka keeps one kind of group under an ID)."""
    return queue_mode(want) == queue_mode(have)


# Older mappings report the pre-2020 "forever" values; a spec's -1 (or nothing) accepts them.
LEGACY_FOREVER = {"MaximumRetryAttempts": 10000, "MaximumRecordAgeInSeconds": 604800}


_FORMED_FROM_SCALARS = frozenset({"FilterCriteria", "StartingPositionTimestamp"})  # given as text, formed below


def canonical_value(name: str, value: Any, kind: str) -> Any:
    """One field's value in the form both sides are compared in."""
    if type(value) in SCALARS and name not in _FORMED_FROM_SCALARS:  # a number, text or flag is its own form
        return value
    if is_unreadable(value):
        return value
    if name == "FilterCriteria":
        filters = (value or {}).get("Filters") or [] if isinstance(value, dict) else []
        if not filters:
            return {}
        patterns = [parse_pattern(f.get("Pattern")) if isinstance(f, dict) else f for f in filters]
        return {"Filters": [{"Pattern": p} for p in sorted_json(patterns)]}
    if name == "DestinationConfig" and isinstance(value, dict):
        out = {}
        for side in ("OnFailure", "OnSuccess"):
            given = value.get(side)
            if side == "OnFailure" or given:
                out[side] = {k: v for k, v in (given or {}).items() if v}
        return out
    if name in ("FunctionResponseTypes",) and isinstance(value, list):
        return sorted(set(value))
    if name == "MetricsConfig" and isinstance(value, dict):
        return {**value, "Metrics": sorted(set(value.get("Metrics") or []))}
    if name == "SourceAccessConfigurations" and isinstance(value, list):
        return sorted_json(value)
    if name == "StartingPositionTimestamp" and value is not None:
        try:
            return instant(value)
        except ValueError:
            return value
    if name in NESTED_DEFAULTS and isinstance(value, dict):
        return {**NESTED_DEFAULTS[name].get(kind, {}), **value}
    if name == "KMSKeyArn" and value is None:
        return ""
    return copied(value)


@cache
def config_fields() -> frozenset[str]:
    """Every field that configures a mapping (derived from botocore's model): all but identity and tags."""

    return frozenset(servicemodel.member_names()) - IDENTITY_FIELDS - {"Tags"}


@cache
def _defaults_of(kind: str) -> tuple[tuple[str, Any, bool], ...]:
    """DEFAULTS for one kind: (field, value, whether the value is a scalar, given as it is)."""
    return tuple((name, per_kind[kind], type(per_kind[kind]) in SCALARS)
                 for name, per_kind in DEFAULTS.items() if kind in per_kind)


def canonical(params: dict[str, Any], kind: str) -> dict[str, Any]:
    """A mapping's configuration in canonical form with AWS's defaults for the kind filled in."""
    fields = config_fields()
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in fields and value is not None:
            out[name] = canonical_value(name, value, kind)
    if "Enabled" not in out and params.get("State"):
        enabled = LiveState(params["State"]).enabled
        out["Enabled"] = enabled if enabled is not None else unreadable(f"{params['State']}: not known until it "
                                                                        "settles")
    if kind == KAFKA and queue_mode(out):
        for name, value in QUEUE_MODE_DEFAULTS.items():
            out.setdefault(name, value)
    for name, value, scalar in _defaults_of(kind):
        if name not in out:
            out[name] = value if scalar else copied(value)
    if out.get("MaximumRetryAttempts") == -1 and kafka_retries_capped(out, kind):
        out["MaximumRetryAttempts"] = KAFKA_DESTINATION_RETRIES
    return out


def clear_value(name: str, kind: str) -> Any:
    """What UpdateEventSourceMapping needs to put a field back to the kind's default."""
    if name in CLEAR_VALUES:
        return copy.deepcopy(CLEAR_VALUES[name])
    return copy.deepcopy(DEFAULTS.get(name, {}).get(kind))


def has_default(name: str, kind: str) -> bool:
    return kind in DEFAULTS.get(name, {})


def satisfies(name: str, want: Any, have: Any) -> bool:
    """Does the live value give what the spec asks for? Equality as JSON has it, plus the legacy "forever"
    values."""
    if want == have:  # Python's equality first: same_json is only stricter
        return same_json(want, have)
    return want == -1 and LEGACY_FOREVER.get(name) == have
