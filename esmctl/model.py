"""What a mapping is: source types, the defaults AWS fills in, identity, and normal form.

Everything here is pure: no AWS calls. Both sides of a comparison (the spec and the live
mapping) go through `normalise`, so a field left out and its AWS default compare equal.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

KINESIS = "kinesis"
DYNAMODB = "dynamodb"
SQS = "sqs"
KAFKA = "kafka"  # Amazon MSK and self-managed Apache Kafka
MQ = "mq"
DOCDB = "docdb"

STREAM_TYPES = {KINESIS, DYNAMODB}
TRANSITIONAL_STATES = {"Creating", "Enabling", "Disabling", "Updating", "Deleting"}

# Fields the service returns that describe the mapping rather than configure it.
READ_ONLY_FIELDS = {
    "UUID", "FunctionArn", "LastModified", "LastProcessingResult", "State",
    "StateTransitionReason", "EventSourceMappingArn", "FilterCriteriaError",
    "ResponseMetadata",
}

# UpdateEventSourceMapping cannot change these: a change means delete + create.
REPLACE_FIELDS = (
    "EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "Topics", "Queues",
    "SelfManagedEventSource", "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig", "DocumentDBEventSourceConfig",
)

_STREAM_DEFAULTS: dict[str, Any] = {
    "BatchSize": 100,
    "MaximumBatchingWindowInSeconds": 0,
    "ParallelizationFactor": 1,
    "MaximumRetryAttempts": -1,
    "MaximumRecordAgeInSeconds": -1,
    "BisectBatchOnFunctionError": False,
    "TumblingWindowInSeconds": 0,
    "DestinationConfig": {"OnFailure": {}},
    "FunctionResponseTypes": [],
}
_COMMON_DEFAULTS: dict[str, Any] = {
    "Enabled": True,
    "FilterCriteria": {},
    "ScalingConfig": {},
    "MetricsConfig": {"Metrics": []},
    "KMSKeyArn": "",
}

DEFAULTS: dict[str, dict[str, Any]] = {
    KINESIS: {**_COMMON_DEFAULTS, **_STREAM_DEFAULTS},
    DYNAMODB: {**_COMMON_DEFAULTS, **_STREAM_DEFAULTS},
    SQS: {**_COMMON_DEFAULTS, "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0,
          "FunctionResponseTypes": []},
    # Kafka, MQ and DocumentDB start with a 500 ms window the whole-second field cannot
    # express: MaximumBatchingWindowInSeconds has no default we could send back.
    KAFKA: {**_COMMON_DEFAULTS, "BatchSize": 100, "DestinationConfig": {"OnFailure": {}}},
    MQ: {**_COMMON_DEFAULTS, "BatchSize": 100},
    DOCDB: {**_COMMON_DEFAULTS, "BatchSize": 100},
}

# Older mappings report the pre-2020 "forever" sentinels; they mean the same as -1.
_SAME_AS_MINUS_ONE = {"MaximumRetryAttempts": 10000, "MaximumRecordAgeInSeconds": 604800}


def source_type(params: dict[str, Any]) -> str:
    """The kind of event source a mapping's parameters describe."""
    arn = params.get("EventSourceArn") or ""
    if not arn:
        return KAFKA if params.get("SelfManagedEventSource") else ""
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service == "kinesis":
        return KINESIS
    if service == "dynamodb":
        return DYNAMODB
    if service == "sqs":
        return SQS
    if service == "kafka":
        return KAFKA
    if service == "mq":
        return MQ
    if service == "rds":
        return DOCDB
    return ""


def is_consumer_arn(arn: str) -> bool:
    return ":kinesis:" in arn and "/consumer/" in arn


def stream_of(arn: str) -> str:
    """The stream ARN of a Kinesis consumer ARN (or the ARN itself)."""
    return arn.split("/consumer/")[0] if is_consumer_arn(arn) else arn


def short_arn(arn: str | None) -> str:
    """`kinesis:orders`, `sqs:jobs`, `dynamodb:table/stream/...` — enough to recognise a source."""
    if not arn:
        return ""
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
    return f"{service}:{resource}"


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


def function_ref(name_or_arn: str, region: str, account: str, partition: str = "aws") -> FunctionRef:
    """Resolve `fn`, `fn:alias`, `123456789012:function:fn`, or a full ARN to a FunctionRef.

    Lambda accepts all of these spellings and treats them as the same function; esmctl
    resolves them without a call per function (the account comes from one STS call).
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


def arn_region(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 else ""


def mapping_key(function_arn: str, event_source: str) -> tuple[str, str]:
    """The identity Lambda uses to refuse duplicates: (qualified function ARN, source ARN)."""
    return (function_arn, event_source)


def normalise_pattern(pattern: Any) -> Any:
    """A filter pattern as parsed JSON, so spacing and key order never count as a change."""
    if isinstance(pattern, str):
        try:
            return json.loads(pattern)
        except ValueError:
            return pattern
    return pattern


def pattern_text(pattern: Any) -> str:
    """The JSON string the API takes for a pattern given as a mapping or a string."""
    if isinstance(pattern, str):
        return pattern
    return json.dumps(pattern, separators=(",", ":"), sort_keys=True)


def configurable(params: dict[str, Any]) -> dict[str, Any]:
    """The fields of a mapping (live or desired) that configure it."""
    out = {k: v for k, v in params.items() if k not in READ_ONLY_FIELDS}
    out.pop("FunctionName", None)
    return out


def normalise(params: dict[str, Any], kind: str) -> dict[str, Any]:
    """Fill AWS's defaults for the source type and put every field in one canonical form."""
    out = copy.deepcopy(configurable(params))
    if "Enabled" not in out and params.get("State"):
        # Live mappings report State, not Enabled.
        out["Enabled"] = params["State"] not in ("Disabled", "Disabling")
    for key, value in DEFAULTS.get(kind, _COMMON_DEFAULTS).items():
        if out.get(key) is None:
            out[key] = copy.deepcopy(value)
    for key, sentinel in _SAME_AS_MINUS_ONE.items():
        if out.get(key) == sentinel:
            out[key] = -1
    fc = out.get("FilterCriteria")
    if isinstance(fc, dict):
        filters = fc.get("Filters") or []
        if not filters:
            out["FilterCriteria"] = {}
        else:
            parsed = [normalise_pattern(f.get("Pattern")) for f in filters]
            # Filter order does not matter to Lambda: compare as a sorted list.
            out["FilterCriteria"] = {
                "Filters": [{"Pattern": p} for p in sorted(parsed, key=lambda p: json.dumps(p, sort_keys=True))]
            }
    dc = out.get("DestinationConfig")
    if isinstance(dc, dict):
        on_failure = dc.get("OnFailure") or {}
        out["DestinationConfig"] = {"OnFailure": {k: v for k, v in on_failure.items() if v}}
    for key in ("FunctionResponseTypes",):
        if isinstance(out.get(key), list):
            out[key] = sorted(set(out[key]))
    mc = out.get("MetricsConfig")
    if isinstance(mc, dict):
        out["MetricsConfig"] = {"Metrics": sorted(set(mc.get("Metrics") or []))}
    sac = out.get("SourceAccessConfigurations")
    if isinstance(sac, list):
        out["SourceAccessConfigurations"] = sorted(sac, key=lambda d: json.dumps(d, sort_keys=True))
    if out.get("StartingPositionTimestamp") is not None:
        out["StartingPositionTimestamp"] = _iso(out["StartingPositionTimestamp"])
    if not out.get("Tags"):
        out.pop("Tags", None)
    return out


def _iso(value: Any) -> str:
    from datetime import datetime, timezone

    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)


def clearing_value(field: str, kind: str) -> Any:
    """What to send so that a field the spec no longer sets goes back to AWS's default."""
    return copy.deepcopy(DEFAULTS.get(kind, _COMMON_DEFAULTS).get(field))


def api_value(field: str, value: Any) -> Any:
    """A normalised value turned back into the shape the API takes."""
    if field == "FilterCriteria" and value.get("Filters"):
        return {"Filters": [{"Pattern": pattern_text(f["Pattern"])} for f in value["Filters"]]}
    return value
