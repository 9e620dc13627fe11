"""What a mapping is: its kind of source, its identity, the defaults AWS fills in, one canonical form.

Pure: no AWS calls. Which fields UpdateEventSourceMapping can change, and which kinds of source a
field is for, come from botocore's service model (servicemodel.py). What AWS fills in for a field left
out, and what to send to put that default back, is written here per kind of source: botocore's
model does not hold it.

Identity (`Key`) is Lambda's own rule for refusing a duplicate (409):
  Kinesis, DynamoDB, SQS, DocumentDB   (qualified function ARN, source ARN)
  Amazon MSK / Amazon MQ              + the topic / the queue (one function may read several)
  self-managed Kafka                  (function, the sorted set of brokers, topic): it has no ARN
  a Kinesis stream consumer           (function, stream ARN/consumer/NAME): the name, not the ARN's
                                      creation epoch, so `Consumer: NAME` and the ARN are one mapping
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from functools import cache
from typing import Any

from esmctl import servicemodel
from esmctl.errors import Place
from esmctl.kinds import DOCDB, DYNAMODB, KAFKA, KAFKA_TYPES, KIND_NAMES, KINDS, KINESIS, MQ, MSK, SQS, STREAM_TYPES  # noqa: F401

TRANSITIONAL_STATES = frozenset({"Creating", "Enabling", "Disabling", "Updating", "Deleting"})
SETTLED_STATES = frozenset({"Enabled", "Disabled"})


@dataclass(frozen=True)
class LiveState:
    """A live mapping's State as the facts a decision needs, so that none is guessed from the word.

    Enabled/Enabling are meant to run and Disabled/Disabling not; Creating and Updating say nothing of it
    until they settle (an update may be the one that disables it), so `enabled` is None for them: a
    decision that depends on it waits for the mapping to settle and reads it again.
    """

    name: str

    @property
    def settled(self) -> bool:
        return self.name in SETTLED_STATES

    @property
    def enabled(self) -> bool | None:
        if self.name in ("Enabled", "Enabling"):
            return True
        if self.name in ("Disabled", "Disabling"):
            return False
        return None

    @property
    def going_away(self) -> bool:
        return self.name == "Deleting"

    @property
    def running(self) -> bool:
        """Reading its source now, as far as can be told: Enabled, settled."""
        return self.name == "Enabled"

    def __str__(self) -> str:
        return self.name or "in no known state"
# A mapping created by a hand-off starts AT_TIMESTAMP where its predecessor was; this tag says so, so
# that its StartingPosition is not taken for drift from the spec's.
HANDOFF_TAG = "esmctl:handoff-from"
RESERVED_TAG_PREFIXES = ("aws:", "esmctl:")
# `esmctl pause` marks each mapping it disables with this tag (value: when, and why); `plan` leaves a
# mapping so marked Disabled, and `esmctl resume` enables exactly those. See pause_mark.
PAUSED_TAG = "esmctl:paused"

# Fields of a mapping that are identity, not configuration: they are in its Key.
IDENTITY_FIELDS = frozenset({"FunctionName", "EventSourceArn", "Topics", "Queues", "SelfManagedEventSource"})
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


# Older mappings report the pre-2020 "forever" values; a spec's -1 (or nothing) accepts them.
LEGACY_FOREVER = {"MaximumRetryAttempts": 10000, "MaximumRecordAgeInSeconds": 604800}


class _Unreadable:
    """A live value esmctl could not read (filters encrypted with a KMS key it cannot decrypt with)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"<unreadable: {self.why}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Unreadable)

    __hash__ = object.__hash__


def unreadable(why: str) -> _Unreadable:
    return _Unreadable(why)


def is_unreadable(value: Any) -> bool:
    return isinstance(value, _Unreadable)


# -- sources --------------------------------------------------------------------------------------
def arn_service(arn: str | None) -> str:
    parts = (arn or "").split(":")
    return parts[2] if len(parts) > 5 and parts[0] == "arn" else ""


def arn_region(arn: str | None) -> str:
    parts = (arn or "").split(":")
    return parts[3] if len(parts) > 4 else ""


def source_type(params: dict[str, Any]) -> str:
    """The kind of source a mapping's parameters (spec or API) describe; "" when it cannot be told."""
    arn = params.get("EventSourceArn") or ""
    if not arn:
        return KAFKA if params.get("SelfManagedEventSource") else ""
    return {"kinesis": KINESIS, "dynamodb": DYNAMODB, "sqs": SQS, "kafka": MSK, "mq": MQ,
            "rds": DOCDB, "docdb": DOCDB}.get(arn_service(arn), "")


def is_consumer_arn(arn: str | None) -> bool:
    return bool(arn) and ":kinesis:" in arn and "/consumer/" in arn


def stream_of(arn: str) -> str:
    """The stream ARN of a Kinesis consumer ARN (or the ARN itself)."""
    return arn.split("/consumer/")[0] if is_consumer_arn(arn) else arn


def consumer_name(arn: str) -> str:
    return arn.split("/consumer/", 1)[1].split(":")[0] if is_consumer_arn(arn) else ""


def consumer_identity(stream_arn: str, name: str) -> str:
    """A consumer as identity: its stream and name, not the creation epoch AWS appends to its ARN."""
    return f"{stream_of(stream_arn)}/consumer/{name}"


def brokers(params: dict[str, Any]) -> list[str]:
    endpoints = (params.get("SelfManagedEventSource") or {}).get("Endpoints") or {}
    return sorted(endpoints.get("KAFKA_BOOTSTRAP_SERVERS") or [])


def short_arn(arn: str | None) -> str:
    """`kinesis:orders`, `sqs:jobs`, `orders-fn:live`: enough to recognise a source or function."""
    if not arn:
        return ""
    if arn.startswith("kafka://"):
        return "kafka:" + arn.removeprefix("kafka://")
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return arn
    service, resource = parts[2], parts[5]
    if service == "kinesis":
        resource = resource.removeprefix("stream/")
        if "/consumer/" in resource:
            stream, consumer = resource.split("/consumer/", 1)
            resource = f"{stream}/consumer/{consumer.split(':')[0]}"
    elif service == "dynamodb":
        resource = resource.removeprefix("table/")
    elif service == "lambda":
        return resource.removeprefix("function:")
    elif service == "kafka":
        resource = resource.removeprefix("cluster/").split("/")[0]
    elif service == "mq":
        resource = resource.removeprefix("broker:").split(":")[0]
    elif service == "rds":
        resource = resource.removeprefix("cluster:")
    return f"{service}:{resource}"


# -- functions ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionRef:
    """A function as the identity rule sees it: its ARN and qualifier (alias or version)."""

    arn: str  # unqualified
    qualifier: str = ""

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.qualifier}" if self.qualifier else self.arn

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[1]

    @property
    def region(self) -> str:
        return arn_region(self.arn)


def function_ref(name_or_arn: str, region: str, account: str, partition: str = "aws") -> FunctionRef:
    """Resolve `fn`, `fn:alias`, `123456789012:function:fn`, or a full ARN to a FunctionRef.

    Lambda accepts all of these spellings as the same function; esmctl resolves them without a
    call per function (the account comes from one STS call).
    """
    s = name_or_arn.strip()
    if s.startswith("arn:"):
        parts = s.split(":")
        # arn:partition:lambda:region:account:function:name[:qualifier]
        partition, region, account = parts[1], parts[3], parts[4]
        rest = parts[6:]
    elif ":function:" in s:  # account:function:name[:qualifier]
        parts = s.split(":")
        account, rest = parts[0], parts[2:]
    else:
        rest = s.split(":")
    name = rest[0]
    qualifier = rest[1] if len(rest) > 1 else ""
    if qualifier == "$LATEST":
        qualifier = ""
    return FunctionRef(f"arn:{partition}:lambda:{region}:{account}:function:{name}", qualifier)


def without_latest(name_or_arn: str) -> str:
    """A function's name or ARN without a `:$LATEST` qualifier: a mapping on `fn:$LATEST` invokes what one on
    `fn` does, so esmctl sends, and knows a live mapping by, the unqualified function (as function_ref does)."""
    return name_or_arn[: -len(":$LATEST")] if name_or_arn.endswith(":$LATEST") else name_or_arn


def function_spelling_key(name_or_arn: str) -> tuple[str, str, str]:
    """What can be told of a function without AWS: (name, qualifier, "region:account" when an ARN)."""
    ref = function_ref(name_or_arn, "", "")
    where = ":".join(ref.arn.split(":")[3:5]) if name_or_arn.strip().startswith("arn:") else ""
    return ref.name, ref.qualifier, where


# -- identity -------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Key:
    """A mapping's identity: the function (ARN with qualifier), the source, and a topic or queue."""

    function: str
    source: str
    part: str = ""

    def describe(self) -> str:
        what = f"{short_arn(self.function)} <- {short_arn(self.source)}"
        return f"{what} ({self.part})" if self.part else what


def source_identity(params: dict[str, Any]) -> tuple[str, str]:
    """The source half of a Key, from a mapping's parameters (spec or API)."""
    kind = source_type(params)
    arn = params.get("EventSourceArn") or ""
    if kind == KAFKA:
        return "kafka://" + ",".join(brokers(params)), _first(params.get("Topics"))
    if kind == MSK:
        return arn, _first(params.get("Topics"))
    if kind == MQ:
        return arn, _first(params.get("Queues"))
    if is_consumer_arn(arn):
        return consumer_identity(arn, consumer_name(arn)), ""
    return arn, ""


def _first(items: Any) -> str:
    return str(items[0]) if isinstance(items, list) and items else ""


def slot(key: Key, kind: str) -> tuple[str, str] | None:
    """The data a mapping reads: a Kinesis stream with all its consumers, a table with all its streams.

    Within a slot the spec lists one mapping for, the spec owns the slot: another mapping of the
    same function there is the old end of a hand-off (or of a replace, for DynamoDB).
    """
    if kind == KINESIS:
        return key.function, stream_of(key.source)
    if kind == DYNAMODB and "/stream/" in key.source:
        return key.function, key.source.split("/stream/")[0]
    return None


# -- values ---------------------------------------------------------------------------------------
def instant(value: Any) -> datetime:
    """A timestamp in one form: an aware UTC datetime, whole seconds.

    Accepts what a spec or the API can hold: datetime (naive = UTC), date (midnight UTC), ISO 8601
    text with any offset or `Z`, and epoch seconds. Raises ValueError otherwise.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a timestamp")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a timestamp")
        try:
            moment = datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, ValueError, OSError):  # which one depends on the platform's time_t
            raise ValueError(f"{value!r} is out of range for epoch seconds") from None
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return instant(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp or epoch seconds") from None
    else:
        raise ValueError(f"{value!r} is not a timestamp")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc).replace(microsecond=0)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000
        raise ValueError(f"{value!r} is out of range for a timestamp") from None


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_pattern(pattern: Any) -> Any:
    """A filter pattern as JSON data, so spacing and key order never count as a change."""
    if isinstance(pattern, str):
        try:
            return json.loads(pattern)
        except ValueError:
            return pattern
    return _json_keys(pattern)


def pattern_text(pattern: Any) -> str:
    """The JSON text the API takes for a pattern given as data or as text."""
    if isinstance(pattern, str):
        return pattern
    return json.dumps(_json_keys(pattern), separators=(",", ":"), sort_keys=True, default=str)


def _json_keys(value: Any) -> Any:
    """Data with every key as the text JSON gives it: YAML can make keys of `on` (true), `1` or a date, and
    keys of several types cannot be sorted (the spec's checks say which key YAML read so)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key_text(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def _key_text(key: Any) -> str:
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return key.isoformat() if isinstance(key, (date, datetime)) else str(key)


def _sorted_json(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


def _copied(value: Any) -> Any:
    """copy.deepcopy for the JSON-like values of a mapping's fields, at a fraction of its cost (a plan of
    1,000 mappings copies tens of thousands): no memo is needed, as YAML and JSON give no cycles."""
    kind = type(value)
    if kind is dict:
        return {k: _copied(v) for k, v in value.items()}
    if kind is list:
        return [_copied(v) for v in value]
    return value if kind in _IMMUTABLE else copy.deepcopy(value)


def canonical_value(name: str, value: Any, kind: str) -> Any:
    """One field's value in the form both sides are compared in."""
    if is_unreadable(value):
        return value
    if name == "FilterCriteria":
        filters = (value or {}).get("Filters") or [] if isinstance(value, dict) else []
        if not filters:
            return {}
        patterns = [parse_pattern(f.get("Pattern")) if isinstance(f, dict) else f for f in filters]
        return {"Filters": [{"Pattern": p} for p in _sorted_json(patterns)]}
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
        return _sorted_json(value)
    if name == "StartingPositionTimestamp" and value is not None:
        try:
            return instant(value)
        except ValueError:
            return value
    if name in NESTED_DEFAULTS and isinstance(value, dict):
        return {**NESTED_DEFAULTS[name].get(kind, {}), **value}
    if name == "KMSKeyArn" and value is None:
        return ""
    return _copied(value)


@cache
def config_fields() -> frozenset[str]:
    """Every field that configures a mapping (derived from botocore's model): all but identity and tags."""

    return frozenset(servicemodel.member_names()) - IDENTITY_FIELDS - {"Tags"}


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
    for name, per_kind in DEFAULTS.items():
        if name not in out and kind in per_kind:
            out[name] = _copied(per_kind[kind])
    if out.get("MaximumRetryAttempts") == -1 and kafka_retries_capped(out, kind):
        out["MaximumRetryAttempts"] = KAFKA_DESTINATION_RETRIES
    return out


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


def same_json(a: Any, b: Any) -> bool:
    """Equality by JSON type: `true` is not `1` and `false` is not `0` (Python's == says they are), as Lambda
    matches filter patterns by type. 1 and 1.0 stay one number, as they are in JSON."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# -- mappings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Consumer:
    """A Kinesis enhanced fan-out consumer a mapping reads through."""

    stream_arn: str
    name: str
    arn: str | None = None  # None: not registered yet; the executor registers it and fills the ARN in

    @property
    def identity(self) -> str:
        return consumer_identity(self.stream_arn, self.name)


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
                    consumer: Consumer | None = None, moved_from: FunctionRef | None = None) -> Mapping:
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
                   moved_from=moved_from.qualified_arn if moved_from is not None else None)


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
                why = NO_WAY_BACK.get(name, "AWS has no default for it to go back to")
                out.notes.append(f"{name} stays {json.dumps(_plain(h))}: the spec no longer sets it, but {why}; "
                                 "set it in the spec to silence this")
            continue
        if isinstance(w, dict) and isinstance(h, dict) and name not in DEFAULTS:
            cleared = {k: v for k, v in CLEAR_MEMBERS.get(name, {}).items() if h.get(k) not in (None, v)}
            w = {**cleared, **w}
            h = _drop_unsettable(name, w, h, out)
        if not satisfies(name, w, h):
            out.changes.append(FieldChange(name, h, w))
    return out


def _compare_members(name: str, w: Any, h: Any, kind: str, out: Comparison) -> None:
    """A structure every mapping of the kind has: each member the spec leaves out is its default."""
    want = {**NESTED_DEFAULTS.get(name, {}).get(kind, {}), **(w or {})}
    have = dict(h or {})
    if GENERATED_MEMBERS.get(name) not in want:
        have.pop(GENERATED_MEMBERS.get(name), None)
    have = _drop_unsettable(name, want, have, out)
    if want != have:
        out.changes.append(FieldChange(name, h, want))


def _drop_unsettable(name: str, want: dict, have: dict, out: Comparison) -> dict:
    """Members set on the mapping that the spec no longer sets, where AWS has no way to unset them."""
    dropped = sorted(set(have) - set(want))
    if dropped:
        out.notes.append(f"{name}: {', '.join(dropped)} stays as it is: AWS documents no way to unset it in "
                         "place; set it in the spec to silence this")
    return {k: v for k, v in have.items() if k not in dropped}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """A canonical value as JSON data (instants as ISO 8601 text)."""
    return _plain(value)


def replace_reasons(comparison: Comparison) -> list[str]:
    """The changes UpdateEventSourceMapping cannot make (from botocore's model): each needs a new mapping."""

    out = []
    immutable = servicemodel.immutable_members()
    for change in comparison.changes:
        if change.name in servicemodel.create_only():
            out.append(change.name)
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
    out["FunctionName"] = want.params.get("FunctionName") or want.function
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


def managed_tags(tags: dict[str, str] | None) -> dict[str, str]:
    """Tags a spec can manage: not AWS's own, not esmctl's bookkeeping."""
    return {k: v for k, v in (tags or {}).items() if not k.startswith(RESERVED_TAG_PREFIXES)}


# A same-identity replace records the tags it keeps from the old mapping on the function before the
# delete (base64 of zlib'd JSON, in tag values of at most 256 characters): a run killed between the
# delete and the create leaves them there for the next run's create. A record is for that next run: one
# older than TAG_RECORD_TTL is dropped, never applied.
TAG_RECORD_PREFIX = "esmctl:tags:"
TAG_RECORD_TTL = timedelta(days=1)
_TAG_VALUE_MAX = 256
_TAG_RECORD_CHUNKS = 8  # a function has at most 50 tags, most of them its owners'


@dataclass(frozen=True)
class TagRecord:
    keys: tuple[str, ...]  # the function tags that hold it
    tags: dict[str, str]  # {} when it cannot be read
    at: datetime | None  # when it was recorded


def record_prefix(key: Key) -> str:
    import hashlib

    digest = hashlib.sha256(f"{key.function}|{key.source}|{key.part}".encode()).hexdigest()[:16]
    return f"{TAG_RECORD_PREFIX}{digest}:"


def tag_record(key: Key, tags: dict[str, str], at: datetime) -> dict[str, str] | None:
    """Function tags that hold `tags` for a mapping of `key`; None when they would take too many."""
    import base64
    import zlib

    body = json.dumps({"at": iso(at), "tags": tags}, sort_keys=True, separators=(",", ":")).encode()
    payload = base64.b64encode(zlib.compress(body)).decode()
    chunks = [payload[i:i + _TAG_VALUE_MAX] for i in range(0, len(payload), _TAG_VALUE_MAX)]
    if len(chunks) > _TAG_RECORD_CHUNKS:
        return None
    prefix = record_prefix(key)
    return {f"{prefix}{i}": chunk for i, chunk in enumerate(chunks)}


def tag_records(function_tags: dict[str, str]) -> dict[str, TagRecord]:
    """Every record on a function, by its prefix (see record_prefix)."""
    import base64
    import binascii
    import zlib

    parts: dict[str, list[tuple[int, str]]] = {}
    for k in function_tags:
        if k.startswith(TAG_RECORD_PREFIX):
            prefix, _, index = k.rpartition(":")
            parts.setdefault(prefix + ":", []).append((int(index) if index.isdigit() else -1, k))
    out = {}
    for prefix, found in parts.items():
        keys = tuple(k for _, k in sorted(found))
        try:
            body = json.loads(zlib.decompress(base64.b64decode("".join(function_tags[k] for k in keys))))
            tags = {str(k): str(v) for k, v in body["tags"].items()}
            at = instant(body["at"])
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, zlib.error):
            tags, at = {}, None  # unreadable (edited by hand?): dropped, never applied
        out[prefix] = TagRecord(keys, tags, at)
    return out


# -- pause marks ----------------------------------------------------------------------------------
# The mark is one tag, so that a pause or a resume changes it in one call: `esmctl:paused` =
# "2026-11-23T12:00:00Z" or "2026-11-23T12:00:00Z the reason". Tag values allow letters, digits,
# white space and _ . : / = + - @ (botocore's TagValue pattern), up to 256 characters.
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
PAUSE_REASON_MAX = _TAG_VALUE_MAX - len("2026-11-23T12:00:00Z ")


@dataclass(frozen=True)
class Pause:
    """What a pause mark says: when (as written, ISO 8601 UTC) and why ("" when no reason was given)."""

    since: str
    reason: str = ""

    def describe(self) -> str:
        return f"paused by esmctl pause at {self.since}" + (f" ({self.reason})" if self.reason else "")


def pause_reason_problem(reason: str) -> str:
    """Why a --reason cannot go into a tag value ("" when it can)."""
    import unicodedata

    if len(reason) > PAUSE_REASON_MAX:
        return f"is {len(reason)} characters long; at most {PAUSE_REASON_MAX} fit in the tag beside the time"
    bad = sorted({c for c in reason if c not in _TAG_PUNCTUATION and unicodedata.category(c)[0] not in "LZN"})
    if bad:
        # an apostrophe goes (ledger's -> ledgers), anything else becomes a space
        fixed = " ".join("".join("" if c in "'’`\"" else " " if c in bad else c for c in reason).split())
        listed = " ".join(bad)
        return (f"{listed} cannot be in a tag value (letters, digits, spaces and _ . : / = + - @ can): try "
                f"--reason {_shell_quoted(fixed)}")
    return ""


def _shell_quoted(text: str) -> str:
    import shlex

    return shlex.quote(text)


def pause_mark(at: datetime, reason: str = "") -> str:
    """The value of the pause tag."""
    since = at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    reason = " ".join(reason.split())
    return f"{since} {reason}" if reason else since


def read_pause(tags: dict[str, str] | None) -> Pause | None:
    """The pause mark among a mapping's tags, if any."""
    value = (tags or {}).get(PAUSED_TAG)
    if value is None:
        return None
    since, _, reason = value.strip().partition(" ")
    return Pause(since or "an unknown time", reason.strip())


def handoff_start(at: datetime, iterator_age_ms: float, margin: float) -> datetime:
    """Where a hand-off starts the new mapping: at most the datapoint's time − its IteratorAge − margin.

    IteratorAge is the age of the last record of a batch when the batch finished; its Maximum over a
    period that starts at `at` bounds how far behind every shard that delivered a batch then was.
    """
    start = at - timedelta(milliseconds=iterator_age_ms, seconds=margin)
    return start.replace(microsecond=0)
