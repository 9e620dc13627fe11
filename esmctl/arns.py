"""An ARN as a value: its parts read once (by botocore's ArnParser), and what a source ARN must look like.

Offline checks only: whether a source ARN names a resource Lambda can read, per kind of source (a Kinesis
stream, a DynamoDB stream rather than its table, an SQS queue by name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from esmctl import kinds


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    def with_resource(self, resource: str) -> Arn:
        return Arn(self.partition, self.service, self.region, self.account, resource)


def parse(text: object) -> Arn | None:
    """The ARN `text` spells, or None when it is not one."""
    if not isinstance(text, str) or not text.startswith("arn:"):
        return None
    from botocore.utils import ArnParser, InvalidArnException

    try:
        parts = ArnParser().parse_arn(text)
    except InvalidArnException:
        return None
    return Arn(parts["partition"], parts["service"], parts["region"], parts["account"], parts["resource"])


_KINESIS = re.compile(r"stream/[^/]+(/consumer/[^/]+)?")
_DYNAMODB_STREAM = re.compile(r"table/[^/]+/stream/[^/]+")
_DYNAMODB_TABLE = re.compile(r"table/[^/]+")


def source_problem(arn: Arn, kind: str) -> str:
    """Why a source ARN of this kind names nothing a mapping can read from; "" when its resource part is of the
    right form."""
    resource = arn.resource
    if kind == kinds.KINESIS and not _KINESIS.fullmatch(resource):
        name = resource.rsplit("/", 1)[-1] or "NAME"
        return (f"is not a Kinesis stream's ARN: its resource part is stream/NAME "
                f"({arn.with_resource('stream/' + name)}?)")
    if kind == kinds.DYNAMODB and not _DYNAMODB_STREAM.fullmatch(resource):
        if _DYNAMODB_TABLE.fullmatch(resource):
            return (f"this is the table's ARN; a mapping reads its stream: {arn.with_resource(resource + '/stream/')}"
                    "<label> (the table's LatestStreamArn)")
        return "is not a DynamoDB stream's ARN: its resource part is table/TABLE/stream/LABEL"
    if kind == kinds.SQS and "/" in resource:
        if resource.startswith("queue/"):
            return f"an SQS queue's ARN ends in the queue's name, without queue/: {arn.with_resource(resource[6:])}"
        return "an SQS queue's ARN ends in the queue's name, which has no /"
    return ""
