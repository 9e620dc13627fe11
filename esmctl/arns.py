"""An ARN as a value: its parts read once (by botocore's ArnParser), and what a source ARN must look like.

Offline checks only: whether a source ARN names a resource Lambda can read, per kind of source (a Kinesis
stream, a DynamoDB stream rather than its table, an SQS queue by name).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


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

    @property
    def is_consumer(self) -> bool:
        """A Kinesis stream consumer's: `stream/NAME/consumer/CONSUMER:EPOCH`."""
        return self.service == "kinesis" and "/consumer/" in self.resource

    @property
    def stream(self) -> Arn:
        """The stream of a Kinesis consumer's ARN; any other ARN itself."""
        return self.with_resource(self.resource.split("/consumer/")[0]) if self.is_consumer else self

    @property
    def consumer_name(self) -> str:
        """A Kinesis consumer's name, without the creation epoch its ARN ends in ("" for any other ARN)."""
        return self.resource.split("/consumer/", 1)[1].split(":")[0] if self.is_consumer else ""

    @property
    def is_table_stream(self) -> bool:
        """A DynamoDB table's stream's: `table/TABLE/stream/LABEL`."""
        return self.service == "dynamodb" and "/stream/" in self.resource

    @property
    def table(self) -> Arn:
        """The table of a DynamoDB stream's ARN; any other ARN itself."""
        return self.with_resource(self.resource.split("/stream/")[0]) if self.is_table_stream else self

    @property
    def is_function(self) -> bool:
        """A Lambda function's: `function:NAME`, `function:NAME:ALIAS_OR_VERSION`."""
        return self.service == "lambda" and self.resource.startswith("function:")

    @property
    def name(self) -> str:
        """A function's NAME (of `function:NAME[:QUALIFIER]`), else the resource's last part after a `/` (an SQS queue's
        name, `stream/NAME`, `role/PATH/NAME`, a bucket's name)."""
        if self.is_function:
            return self.resource.split(":")[1]
        return self.resource.rsplit("/", 1)[-1]

    @property
    def qualifier(self) -> str:
        """A function ARN's alias or version ("" when it has none, or is no function's)."""
        parts = self.resource.split(":") if self.is_function else []
        return parts[2] if len(parts) > 2 else ""

    @property
    def unqualified(self) -> Arn:
        """A function ARN without its alias or version; any other ARN itself."""
        return self.with_resource(f"function:{self.name}") if self.qualifier else self

    def short(self) -> str:
        """`kinesis:orders`, `sqs:jobs`, `orders-fn:live`: enough to recognise a source or function."""
        service, resource = self.service, self.resource
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


def parse(text: object) -> Arn | None:
    """The ARN `text` spells, or None when it is not one (not text, or not `arn:` and five more parts)."""
    if not isinstance(text, str) or not text.startswith("arn:"):
        return None
    return _parse(text)


def is_consumer(text: object) -> bool:
    """Whether `text` is a Kinesis stream consumer's ARN."""
    arn = parse(text)
    return arn is not None and arn.is_consumer


@lru_cache(maxsize=1 << 15)  # a plan of 5,000 mappings reads each function and source ARN many times
def _parse(text: str) -> Arn | None:
    from botocore.utils import ArnParser, InvalidArnException

    try:
        parts = ArnParser().parse_arn(text)
    except InvalidArnException:
        return None
    return Arn(parts["partition"], parts["service"], parts["region"], parts["account"], parts["resource"])


def texts_in(value: object, out: set[str]) -> set[str]:
    """Every text in `value` (nested in mappings, their keys too, and lists) that may be an ARN: as written,
    stripped, and without a `:$LATEST` qualifier (a function's ARN is read in all three forms)."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("arn:"):
            out.update((value, stripped, value.removesuffix(":$LATEST"), stripped.removesuffix(":$LATEST")))
    elif isinstance(value, dict):
        for key, item in value.items():
            texts_in(key, out)
            texts_in(item, out)
    elif isinstance(value, list):
        for item in value:
            texts_in(item, out)
    return out
