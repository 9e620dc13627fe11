"""What AWS reports for a mapping created with given parameters: the oracle of the in-memory tests.

Written from AWS's documentation and replies (shared/docs/lambda-esm-facts.md), on purpose apart
from esmctl.mapping.defaults' tables, so that the planner is tested against AWS's behaviour, not against itself.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import datetime, timezone
from typing import Any

from esmctl import kinds
from esmctl.mapping import compare, identity, values

ACCOUNT = "123456789012"
REGION = "us-east-1"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-fn"
STREAM = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders"
OTHER_STREAM = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/clicks"
TABLE_STREAM = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2024-01-01T00:00:00.000"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:jobs"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
CLUSTER = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-1"
BROKER = f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:jobs:b-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
DOCDB_CLUSTER = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders-docdb"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:mq-creds-AbCdEf"

_uuids = (f"00000000-0000-4000-8000-{i:012d}" for i in itertools.count(1))
_STREAM = {"BatchSize": 100, "MaximumBatchingWindowInSeconds": 0, "ParallelizationFactor": 1,
           "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "BisectBatchOnFunctionError": False,
           "TumblingWindowInSeconds": 0, "DestinationConfig": {"OnFailure": {}}, "FunctionResponseTypes": []}


def consumer_arn(name: str, epoch: int = 1700000000, stream: str = STREAM) -> str:
    return f"{stream}/consumer/{name}:{epoch}"


def reported(params: dict[str, Any], *, state: str = "", uuid: str | None = None,
             function_arn: str | None = None) -> dict[str, Any]:
    """The mapping AWS reports (Get/List, as botocore parses it) after CreateEventSourceMapping(params)."""
    p = {k: copy.deepcopy(v) for k, v in params.items() if v is not None}
    p.pop("Tags", None)
    kind = identity.source_type(p)
    out: dict[str, Any] = {"UUID": uuid or next(_uuids)}
    fn = p.pop("FunctionName", "orders-fn")
    out["FunctionArn"] = function_arn or (fn if fn.startswith("arn:") else
                                          f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fn}")
    out["EventSourceMappingArn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{out['UUID']}"
    enabled = p.pop("Enabled", True)
    out["State"] = state or ("Enabled" if enabled else "Disabled")
    out["StateTransitionReason"] = "USER_INITIATED"
    out["LastProcessingResult"] = "No records processed"
    if kind in (kinds.KINESIS, kinds.DYNAMODB):
        out.update(copy.deepcopy(_STREAM))
    elif kind == kinds.SQS:
        out.update({"BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": []})
    else:
        out["BatchSize"] = 100
    if kind == kinds.MSK:
        out["AmazonManagedKafkaEventSourceConfig"] = {"ConsumerGroupId": "generated-0001"}
    if kind == kinds.KAFKA:
        out["SelfManagedKafkaEventSourceConfig"] = {"ConsumerGroupId": "generated-0002"}
    for key, value in p.items():
        if key == "FilterCriteria":
            # AWS keeps the pattern text as sent; spacing and key order are the sender's
            value = {"Filters": [{"Pattern": f["Pattern"] if isinstance(f["Pattern"], str)
                                  else json.dumps(f["Pattern"], indent=1)} for f in value.get("Filters", [])]}
            if not value["Filters"]:
                value = {}
        elif key == "DestinationConfig":
            value = {"OnFailure": {k: v for k, v in (value.get("OnFailure") or {}).items() if v}}
        elif key == "StartingPositionTimestamp":
            value = values.instant(value).astimezone(timezone.utc)  # echoed as epoch; botocore parses it
        elif key in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig"):
            value = {**out.get(key, {}), **value}
        elif key == "DocumentDBEventSourceConfig":
            value = {"FullDocument": "Default", **value}
        elif key == "ProvisionedPollerConfig":
            value = {"MinimumPollers": 2 if kind == kinds.SQS else 1, "MaximumPollers": 200, **value}
        elif key == "SelfManagedEventSource":
            value = {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": sorted(value["Endpoints"]["KAFKA_BOOTSTRAP_SERVERS"])}}
        out[key] = value
    out["LastModified"] = datetime(2024, 1, 1, tzinfo=timezone.utc)
    return out


def live(params: dict[str, Any], **kw: Any) -> compare.Mapping:
    return compare.live_mapping(reported(params, **kw))


def desired(params: dict[str, Any], *, consumer: str | None = None, registered: str | None = None,
            where: str = "spec.yaml:3:3") -> compare.Mapping:
    ref = identity.function_ref(params.get("FunctionName", "orders-fn"), REGION, ACCOUNT)
    params = {"FunctionName": "orders-fn", **{k: v for k, v in params.items() if v is not None}}
    c = identity.Consumer(params["EventSourceArn"], consumer, registered) if consumer else None
    return compare.desired_mapping(params, ref, where=where, consumer=c)
