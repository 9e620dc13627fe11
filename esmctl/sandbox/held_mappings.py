"""The event source mappings moto cannot hold, kept by the fidelity layer itself.

moto stores only Kinesis, DynamoDB and SQS mappings. Amazon MSK, self-managed Kafka, Amazon MQ
and DocumentDB mappings live here, in memory, and are built and changed as AWS does: the
values AWS fills in (ConsumerGroupId, FullDocument, poller bounds, sorted brokers), only the
members UpdateEventSourceMapping has, an immutable ConsumerGroupId. The rules both kinds of
mapping share live here too, so there is one copy of each: a mapping's identity (what makes a
second create a 409) and how a DestinationConfig in a request changes the stored one.

The fidelity layer (fidelity.py) does the HTTP, the locking and the transitional states; this
module only knows mappings as dicts shaped like the API's JSON.
"""

from __future__ import annotations

import copy
import datetime
import functools
import threading
import time
import uuid as uuidlib
from typing import Any

MSK, KAFKA, MQ, DOCDB = "msk", "self-managed-kafka", "mq", "docdb"
_SERVICE_KIND = {"kafka": MSK, "mq": MQ, "rds": DOCDB}
_KAFKA_BROKERS = "KAFKA_BOOTSTRAP_SERVERS"
# AWS fills a partial ProvisionedPollerConfig with these bounds.
_POLLER_BOUNDS = {MSK: (1, 200), KAFKA: (1, 200), "sqs": (2, 200)}
# Members whose nested values change one by one on update (the rest of the block stays).
_MERGED_ON_UPDATE = ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
                     "DocumentDBEventSourceConfig")
_GROUP_CONFIGS = ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig")


class AwsError(Exception):
    """An error reply as AWS would give it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def fn_parts(name_or_arn: str) -> tuple[str, str]:
    """(function name, qualifier) of any spelling Lambda accepts."""
    s = name_or_arn
    if ":function:" in s:
        s = s.split(":function:", 1)[1]
    elif s.startswith("arn:"):
        s = s.split(":")[-1]
    name, _, qualifier = s.partition(":")
    return name, qualifier


def source_kind(m: dict[str, Any]) -> str:
    """The kind of a mapping (or create request) this module holds, or "" for one moto holds."""
    arn = m.get("EventSourceArn") or ""
    if not arn:
        return KAFKA if m.get("SelfManagedEventSource") else ""
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    return _SERVICE_KIND.get(service, "")


def _brokers(m: dict[str, Any]) -> list[str]:
    return list(((m.get("SelfManagedEventSource") or {}).get("Endpoints") or {}).get(_KAFKA_BROKERS) or [])


def identity(m: dict[str, Any]) -> tuple:
    """What AWS allows one mapping of: the function (with its qualifier) and the source, which for
    Kafka and MQ includes the topic or queue (one function may read several topics of a cluster)."""
    fn = fn_parts(m.get("FunctionArn") or m.get("FunctionName") or "")
    kind = source_kind(m)
    topic, queue = (m.get("Topics") or [""])[0], (m.get("Queues") or [""])[0]  # each holds exactly one
    if kind == MSK:
        return (*fn, kind, m["EventSourceArn"], topic)
    if kind == KAFKA:
        return (*fn, kind, tuple(sorted(_brokers(m))), topic)
    if kind == MQ:
        return (*fn, kind, m["EventSourceArn"], queue)
    return (*fn, kind, m.get("EventSourceArn") or "")


def conflict_message(existing: dict[str, Any], function_name: str) -> str:
    """AWS's 409 wording; a self-managed Kafka source has no ARN, so its brokers stand in."""
    source = existing.get("EventSourceArn") or ",".join(sorted(_brokers(existing)))
    return (f'The event source arn (" {source} ") and function (" {function_name} ") provided mapping already '
            f"exists. Please update or delete the existing mapping with UUID {existing['UUID']}")


def epoch(value: Any) -> float | int:
    """A timestamp as epoch seconds, the way Lambda's JSON carries it (botocore sends a number)."""
    if isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except ValueError:
        return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def with_poller_bounds(config: Any, mapping: dict[str, Any]) -> Any:
    """A ProvisionedPollerConfig with the bounds AWS fills in when a request leaves them out
    (only Kafka and SQS mappings have provisioned pollers)."""
    arn = mapping.get("EventSourceArn") or ""
    kind = "sqs" if arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"] else source_kind(mapping)
    if not isinstance(config, dict) or kind not in _POLLER_BOUNDS:
        return config
    low, high = _POLLER_BOUNDS[kind]
    return {"MinimumPollers": low, "MaximumPollers": high, **config}


def changed_destination(current: dict[str, Any] | None, sent: dict[str, Any]) -> dict[str, Any] | None:
    """The DestinationConfig after a request sent `sent`, or None when it changes nothing.

    AWS refuses an OnFailure without a Destination; an empty Destination (the model's pattern
    allows "") removes it, and the mapping then reports `{"OnFailure": {}}`. Members the request
    leaves out keep their value, so `{}` changes nothing.
    """
    if not sent:
        return None
    new = copy.deepcopy(current or {})
    for member, target in sent.items():
        if member == "OnFailure":
            if not isinstance(target, dict) or "Destination" not in target:
                raise AwsError(400, "InvalidParameterValueException",
                               "The Destination field is required for an OnFailure configuration.")
            new[member] = {} if target["Destination"] == "" else dict(target)
        else:
            new[member] = target
    return new


@functools.cache
def update_members() -> frozenset[str]:
    """The members UpdateEventSourceMapping takes, from botocore's model (the client's authority)."""
    from botocore.loaders import Loader

    model = Loader().load_service_model("lambda", "service-2")
    return frozenset(model["shapes"]["UpdateEventSourceMappingRequest"]["members"]) - {"UUID"}


def create_request(req: dict[str, Any]) -> dict[str, Any]:
    """A create request (of any kind) as AWS takes it in: DestinationConfig checked and an empty
    Destination dropped, a partial ProvisionedPollerConfig completed."""
    req = copy.deepcopy(req)
    if "DestinationConfig" in req:
        dc = changed_destination(None, req["DestinationConfig"])
        if dc is None:
            del req["DestinationConfig"]
        else:
            req["DestinationConfig"] = dc
    if "ProvisionedPollerConfig" in req:
        req["ProvisionedPollerConfig"] = with_poller_bounds(req["ProvisionedPollerConfig"], req)
    return req


def update_request(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """An update request for a mapping moto holds, rewritten so that moto stores what AWS would."""
    changes = copy.deepcopy(changes)
    if "DestinationConfig" in changes:
        dc = changed_destination(current.get("DestinationConfig"), changes["DestinationConfig"])
        if dc is None:
            del changes["DestinationConfig"]
        else:
            changes["DestinationConfig"] = dc
    if "ProvisionedPollerConfig" in changes:
        changes["ProvisionedPollerConfig"] = with_poller_bounds(changes["ProvisionedPollerConfig"], current)
    return changes


def new_mapping(req: dict[str, Any], function_arn: str) -> dict[str, Any]:
    """A create request (as create_request returns it) turned into the mapping AWS reports: every
    member echoed, the values AWS fills in filled."""
    kind = source_kind(req)
    required = {MSK: "Topics", KAFKA: "Topics", MQ: "Queues"}.get(kind)
    if required and len(req.get(required) or []) != 1:
        raise AwsError(400, "InvalidParameterValueException", f"{required} must contain exactly one item.")
    if kind == KAFKA and not _brokers(req):
        raise AwsError(400, "InvalidParameterValueException",
                       f"SelfManagedEventSource.Endpoints must contain {_KAFKA_BROKERS}.")
    if kind == KAFKA and (req.get("SelfManagedKafkaEventSourceConfig") or {}).get("ConsumptionMode") == "Queue":
        for name in ("StartingPosition", "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds"):
            if name in req:
                raise AwsError(400, "InvalidParameterValueException",
                               f"{name} is not supported when ConsumptionMode is Queue.")
        if req.get("MaximumRetryAttempts") == -1:
            raise AwsError(400, "InvalidParameterValueException",
                           "MaximumRetryAttempts -1 is not supported when ConsumptionMode is Queue.")
    if kind == DOCDB and not (req.get("DocumentDBEventSourceConfig") or {}).get("DatabaseName"):
        raise AwsError(400, "InvalidParameterValueException", "DocumentDBEventSourceConfig.DatabaseName is required.")
    uuid = str(uuidlib.uuid4())
    region, account = function_arn.split(":")[3:5]
    m: dict[str, Any] = {"BatchSize": 100}
    m.update({k: copy.deepcopy(v) for k, v in req.items() if k not in ("FunctionName", "Enabled", "Tags")})
    m.update({
        "UUID": uuid,
        "EventSourceMappingArn": f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}",
        "FunctionArn": function_arn,
        "LastModified": time.time(),
        "State": "Enabled" if req.get("Enabled", True) else "Disabled",
        "StateTransitionReason": "USER_INITIATED",
        "LastProcessingResult": "No records processed",
    })
    if "StartingPositionTimestamp" in m:
        m["StartingPositionTimestamp"] = epoch(m["StartingPositionTimestamp"])
    if kind in (MSK, KAFKA):
        block = "AmazonManagedKafkaEventSourceConfig" if kind == MSK else "SelfManagedKafkaEventSourceConfig"
        m[block] = {"ConsumerGroupId": str(uuidlib.uuid4()), **(m.get(block) or {})}
    if kind == KAFKA:
        m["SelfManagedEventSource"]["Endpoints"][_KAFKA_BROKERS] = sorted(_brokers(m))
        if m["SelfManagedKafkaEventSourceConfig"].get("ConsumptionMode") == "Queue":
            m.setdefault("MaximumRetryAttempts", 0)  # Queue mode's default (botocore's model)
    if kind == DOCDB:
        m["DocumentDBEventSourceConfig"] = {"FullDocument": "Default", **m["DocumentDBEventSourceConfig"]}
    return m


def updated_mapping(current: dict[str, Any], changes: dict[str, Any], function_arn: str | None) -> dict[str, Any]:
    """The mapping after UpdateEventSourceMapping sent `changes` (FunctionName resolved by the caller)."""
    new = copy.deepcopy(current)
    for key, value in changes.items():
        if key not in update_members():
            continue  # botocore validates client-side and would not send it; the layer ignores it
        if key == "FunctionName":
            if function_arn:
                new["FunctionArn"] = function_arn
        elif key == "Enabled":
            new["State"] = "Enabled" if value else "Disabled"
        elif key in _MERGED_ON_UPDATE:
            block = dict(new.get(key) or {})
            if key in _GROUP_CONFIGS and "ConsumerGroupId" in value \
                    and value["ConsumerGroupId"] != block.get("ConsumerGroupId"):
                # The model's docs: ConsumerGroupId cannot be updated.
                raise AwsError(400, "InvalidParameterValueException",
                               "ConsumerGroupId cannot be updated for an existing event source mapping.")
            block.update(copy.deepcopy(value))
            new[key] = block
        elif key == "DestinationConfig":
            dc = changed_destination(new.get(key), value)
            if dc is not None:
                new[key] = dc
        elif key == "ProvisionedPollerConfig":
            new[key] = with_poller_bounds(copy.deepcopy(value), current)
        else:
            new[key] = copy.deepcopy(value)
    new["LastModified"] = time.time()
    return new


class HeldMappings:
    """The store: mappings by UUID and their tags by mapping ARN. Hands out copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mappings: dict[str, dict[str, Any]] = {}
        self._tags: dict[str, dict[str, str]] = {}

    def clear(self) -> None:
        with self._lock:
            self._mappings.clear()
            self._tags.clear()

    def state(self) -> dict[str, Any]:
        """A copy of the store (mappings and tags), for `load`."""
        with self._lock:
            return copy.deepcopy({"mappings": self._mappings, "tags": self._tags})

    def load(self, state: dict[str, Any]) -> None:
        """The store as `state` (from `state`), which it takes as its own: the caller hands it a copy."""
        with self._lock:
            self._mappings, self._tags = state["mappings"], state["tags"]

    def get(self, uuid: str) -> dict[str, Any] | None:
        with self._lock:
            m = self._mappings.get(uuid)
            return copy.deepcopy(m) if m else None

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._mappings.values()))

    def put(self, m: dict[str, Any], tags: dict[str, str] | None = None) -> None:
        with self._lock:
            self._mappings[m["UUID"]] = copy.deepcopy(m)
            if tags is not None:
                self._tags[m["EventSourceMappingArn"]] = dict(tags)

    def remove(self, uuid: str) -> dict[str, Any] | None:
        with self._lock:
            m = self._mappings.pop(uuid, None)
            if m:
                self._tags.pop(m["EventSourceMappingArn"], None)
            return m

    def holds_arn(self, arn: str) -> bool:
        with self._lock:
            return any(m["EventSourceMappingArn"] == arn for m in self._mappings.values())

    def tags(self, arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._tags.get(arn, {}))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self._lock:
            self._tags.setdefault(arn, {}).update(tags)

    def untag(self, arn: str, keys: list[str]) -> None:
        with self._lock:
            for k in keys:
                self._tags.get(arn, {}).pop(k, None)
