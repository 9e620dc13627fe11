"""A mapping's identity: its kind of source, its function, and the Key Lambda refuses a duplicate of.

Identity (`Key`) is Lambda's own rule for refusing a duplicate (409):
  Kinesis, DynamoDB, SQS, DocumentDB   (qualified function ARN, source ARN)
  Amazon MSK / Amazon MQ              + the topic / the queue (one function may read several)
  self-managed Kafka                  (function, the sorted set of brokers, topic): it has no ARN
  a Kinesis stream consumer           (function, stream ARN/consumer/NAME): the name, not the ARN's
                                      creation epoch, so `Consumer: NAME` and the ARN are one mapping
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from esmctl.kinds import DOCDB, DYNAMODB, KAFKA, KINESIS, MQ, MSK, SQS

# Fields of a mapping that are identity, not configuration: they are in its Key.
IDENTITY_FIELDS = frozenset({"FunctionName", "EventSourceArn", "Topics", "Queues", "SelfManagedEventSource"})


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


@dataclass(frozen=True)
class Consumer:
    """A Kinesis enhanced fan-out consumer a mapping reads through."""

    stream_arn: str
    name: str
    arn: str | None = None  # None: not registered yet; the executor registers it and fills the ARN in

    @property
    def identity(self) -> str:
        return consumer_identity(self.stream_arn, self.name)
