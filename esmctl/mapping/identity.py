"""A mapping's identity: its kind of source, its function, and the Key Lambda refuses a duplicate of.

Identity (`Key`) is Lambda's own rule for refusing a duplicate (409):
  Kinesis, DynamoDB, SQS, DocumentDB   (qualified function ARN, source ARN)
  Amazon MSK / Amazon MQ              + the topic / the queue (one function may read several)
  self-managed Kafka                  (function, the sorted set of brokers, topic): it has no ARN
  a Kinesis stream consumer           (function, stream ARN/consumer/NAME): the name, not the ARN's
                                      creation epoch, so `Consumer: NAME` and the ARN are one mapping
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from esmctl import arns
from esmctl.kinds import DOCDB, DYNAMODB, KAFKA, KINESIS, MQ, MSK, SQS

# Fields of a mapping that are identity, not configuration: they are in its Key.
IDENTITY_FIELDS = frozenset({"FunctionName", "EventSourceArn", "Topics", "Queues", "SelfManagedEventSource"})


# -- sources --------------------------------------------------------------------------------------
def source_type(params: dict[str, Any]) -> str:
    """The kind of source a mapping's parameters (spec or API) describe; "" when it cannot be told."""
    return kind_of(params, arns.parse(params.get("EventSourceArn")))


def kind_of(params: dict[str, Any], source: arns.Arn | None) -> str:
    """source_type, with the parameters' EventSourceArn read already (`source`: None when it is no ARN)."""
    if not params.get("EventSourceArn"):
        return KAFKA if params.get("SelfManagedEventSource") else ""
    return SOURCE_SERVICES.get(source.service, "") if source is not None else ""


# The kind of source by the service of its ARN.
SOURCE_SERVICES = {"kinesis": KINESIS, "dynamodb": DYNAMODB, "sqs": SQS, "kafka": MSK, "mq": MQ, "rds": DOCDB,
                   "docdb": DOCDB}


@lru_cache(maxsize=1 << 15)  # the planner asks for each mapping's slot several times
def stream_of(text: str) -> str:
    """The stream ARN of a Kinesis consumer ARN; any other text itself."""
    arn = arns.parse(text)
    return str(arn.stream) if arn is not None and arn.is_consumer else text


def consumer_identity(stream_arn: str, name: str) -> str:
    """A consumer as identity: its stream and name, not the creation epoch AWS appends to its ARN."""
    return consumer_key(stream_arn, arns.parse(stream_arn), name)


def consumer_key(stream_arn: str, parsed: arns.Arn | None, name: str) -> str:
    """consumer_identity, with the stream's (or a consumer's) ARN read already."""
    stream = str(parsed.stream) if parsed is not None and parsed.is_consumer else stream_arn
    return f"{stream}/consumer/{name}"


def brokers(params: dict[str, Any]) -> list[str]:
    endpoints = (params.get("SelfManagedEventSource") or {}).get("Endpoints") or {}
    return sorted(endpoints.get("KAFKA_BOOTSTRAP_SERVERS") or [])


def short_arn(arn: str | None) -> str:
    """`kinesis:orders`, `sqs:jobs`, `orders-fn:live`: enough to recognise a source or function."""
    if not arn:
        return ""
    if arn.startswith("kafka://"):
        return "kafka:" + arn.removeprefix("kafka://")
    parsed = arns.parse(arn)
    return parsed.short() if parsed is not None else arn


# Why a source ARN names nothing a mapping can read, by its kind (offline: the resource part's form).
_KINESIS = re.compile(r"stream/[^/]+(/consumer/[^/]+)?")
_DYNAMODB_STREAM = re.compile(r"table/[^/]+/stream/[^/]+")
_DYNAMODB_TABLE = re.compile(r"table/[^/]+")


def source_problem(arn: arns.Arn, kind: str) -> str:
    """Why a source ARN of this kind names nothing a mapping can read from; "" when its resource part is of the
    right form."""
    resource = arn.resource
    if kind == KINESIS and not _KINESIS.fullmatch(resource):
        name = resource.rsplit("/", 1)[-1] or "NAME"
        return (f"is not a Kinesis stream's ARN: its resource part is stream/NAME "
                f"({arn.with_resource('stream/' + name)}?)")
    if kind == DYNAMODB and not _DYNAMODB_STREAM.fullmatch(resource):
        if _DYNAMODB_TABLE.fullmatch(resource):
            return (f"this is the table's ARN; a mapping reads its stream: {arn.with_resource(resource + '/stream/')}"
                    "<label> (the table's LatestStreamArn)")
        return "is not a DynamoDB stream's ARN: its resource part is table/TABLE/stream/LABEL"
    if kind == SQS and "/" in resource:
        if resource.startswith("queue/"):
            return f"an SQS queue's ARN ends in the queue's name, without queue/: {arn.with_resource(resource[6:])}"
        return "an SQS queue's ARN ends in the queue's name, which has no /"
    return ""


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
        arn = arns.parse(self.arn)
        return arn.name if arn is not None else ""

    @property
    def region(self) -> str:
        arn = arns.parse(self.arn)
        return arn.region if arn is not None else ""

    @property
    def account(self) -> str:
        arn = arns.parse(self.arn)
        return arn.account if arn is not None else ""


def function_ref(name_or_arn: str, region: str, account: str, partition: str = "aws") -> FunctionRef:
    """Resolve `fn`, `fn:alias`, `123456789012:function:fn`, or a full ARN to a FunctionRef.

    Lambda accepts all of these spellings as the same function; esmctl resolves them without a
    call per function (the account comes from one STS call).
    """
    s = name_or_arn.strip()
    return _ref(s, arns.parse(s), region, account, partition)


def _ref(s: str, arn: arns.Arn | None, region: str, account: str, partition: str) -> FunctionRef:
    if arn is not None:  # arn:partition:lambda:region:account:function:name[:qualifier]
        partition, region, account = arn.partition, arn.region, arn.account
        if arn.is_function:
            name, qualifier = arn.name, arn.qualifier
        else:  # Lambda's pattern lets `function:` out: arn:aws:lambda:REGION:ACCOUNT:NAME[:QUALIFIER]
            name, _, qualifier = arn.resource.partition(":")
    else:
        if ":function:" in s:  # account:function:name[:qualifier]
            parts = s.split(":")
            account, rest = parts[0], parts[2:]
        else:
            rest = s.split(":")
        name, qualifier = rest[0], rest[1] if len(rest) > 1 else ""
    if qualifier == "$LATEST":
        qualifier = ""
    return FunctionRef(f"arn:{partition}:lambda:{region}:{account}:function:{name}", qualifier)


def without_latest(name_or_arn: str) -> str:
    """A function's name or ARN without a `:$LATEST` qualifier: a mapping on `fn:$LATEST` invokes what one on
    `fn` does, so esmctl sends, and knows a live mapping by, the unqualified function (as function_ref does)."""
    return name_or_arn[: -len(":$LATEST")] if name_or_arn.endswith(":$LATEST") else name_or_arn


def function_spelling_key(name_or_arn: str) -> tuple[str, str, str]:
    """What can be told of a function without AWS: (name, qualifier, "region:account" when an ARN)."""
    return spelling_key(name_or_arn, arns.parse(name_or_arn.strip()))


def spelling_key(name_or_arn: str, arn: arns.Arn | None) -> tuple[str, str, str]:
    """function_spelling_key, with the ARN the stripped spelling is read already (None when it is no ARN)."""
    ref = _ref(name_or_arn.strip(), arn, "", "", "aws")
    name = ref.arn.rsplit(":", 1)[-1]
    return name, ref.qualifier, f"{arn.region}:{arn.account}" if arn is not None else ""


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


def source_name(params: dict[str, Any]) -> str:
    """What a mapping reads, for a reader: its EventSourceArn, or for self-managed Kafka, which has none, its
    brokers and topic (`kafka://b1:9092 orders`, as plans name it)."""
    if params.get("EventSourceArn") or not params.get("SelfManagedEventSource"):
        return params.get("EventSourceArn") or ""
    servers, topic = source_identity(params)
    return f"{servers} {topic}".strip()


def source_identity(params: dict[str, Any]) -> tuple[str, str]:
    """The source half of a Key, from a mapping's parameters (spec or API)."""
    parsed = arns.parse(params.get("EventSourceArn") or "")
    return source_identity_of(params, kind_of(params, parsed), parsed)


def source_identity_of(params: dict[str, Any], kind: str, parsed: arns.Arn | None) -> tuple[str, str]:
    """source_identity, with the kind and the EventSourceArn read already."""
    arn = params.get("EventSourceArn") or ""
    if kind == KAFKA:
        return "kafka://" + ",".join(brokers(params)), _first(params.get("Topics"))
    if kind == MSK:
        return arn, _first(params.get("Topics"))
    if kind == MQ:
        return arn, _first(params.get("Queues"))
    if parsed is not None and parsed.is_consumer:
        return consumer_key(arn, parsed, parsed.consumer_name), ""
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
    stream = arns.parse(key.source) if kind == DYNAMODB else None
    if stream is not None and stream.is_table_stream:
        return key.function, str(stream.table)
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
