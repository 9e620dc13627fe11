"""Each source's record as Lambda's filters see it: its metadata keys (and their JSON types), the key of
its payload, how the payload is encoded, and what Lambda does when the payload and the pattern disagree
on being JSON. From the Lambda guide's per-service filtering pages (with-kinesis-filtering,
with-ddb-filtering, with-sqs-filtering, kafka-filtering, with-mq-filtering).
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from dataclasses import dataclass
from typing import Any

from esmctl.filters.rules import DECODER, loads
from esmctl.kinds import DOCDB, DYNAMODB, KAFKA, KINESIS, MQ, MSK, SQS

# What Lambda does with a record whose payload is not in the format the pattern expects for it
DROP = "drop"  # Kinesis, DynamoDB, SQS: the record is dropped
METADATA_ONLY = "metadata only"  # Kafka, MQ: "Lambda filters (on the other metadata properties only)"

# the payload's state once decoded
JSON, PLAIN, UNDECODABLE, ABSENT = "json", "plain", "undecodable", "absent"

S, N, B = "string", "number", "bool"


def _ddb_attribute() -> dict:
    """A DynamoDB attribute value in a stream record: typed, every number and binary written as a string
    (the guide: "converted to strings in the JSON record object")."""
    attr: dict[str, Any] = {"S": S, "N": S, "B": S, "BOOL": B, "NULL": B, "SS": S, "NS": S, "BS": S}
    attr["L"] = attr  # a list of attribute values: arrays match element by element
    attr["M"] = {"*": attr}
    return attr


_DDB_IMAGE = {"*": _ddb_attribute()}


@dataclass(frozen=True)
class Envelope:
    kind: str
    name: str
    payload: str  # the key whose value is filtered as JSON
    encoding: str  # "base64", "text" (SQS body) or "object" (DynamoDB: JSON already)
    keys: dict[str, Any]  # the record's top-level keys as the filter sees them -> their JSON type
    mismatch: str  # DROP or METADATA_ONLY
    plain_patterns: bool  # whether a rule list on the payload key (a plain-string pattern) is allowed

    def describe_keys(self) -> str:
        return ", ".join(k for k in self.keys if k != self.payload)


KINESIS_ENVELOPE = Envelope(
    KINESIS, "Kinesis", "data", "base64",
    {"kinesisSchemaVersion": S, "partitionKey": S, "sequenceNumber": S, "data": "any",
     "approximateArrivalTimestamp": N, "encryptionType": S},
    DROP, plain_patterns=False)
DYNAMODB_ENVELOPE = Envelope(
    DYNAMODB, "DynamoDB", "dynamodb", "object",
    {"eventID": S, "eventName": ("INSERT", "MODIFY", "REMOVE"), "eventVersion": S, "eventSource": S,
     "awsRegion": S, "eventSourceARN": S, "userIdentity": {"type": S, "principalId": S},
     "dynamodb": {"ApproximateCreationDateTime": N, "Keys": _DDB_IMAGE, "NewImage": _DDB_IMAGE,
                  "OldImage": _DDB_IMAGE, "SequenceNumber": S, "SizeBytes": N, "StreamViewType": S}},
    DROP, plain_patterns=False)
SQS_ENVELOPE = Envelope(
    SQS, "SQS", "body", "text",
    {"messageId": S, "receiptHandle": S, "body": "any", "attributes": {"*": S},
     "messageAttributes": {"*": {"stringValue": S, "binaryValue": S, "stringListValues": S,
                                 "binaryListValues": S, "dataType": S}},
     "md5OfBody": S, "md5OfMessageAttributes": S, "eventSource": S, "eventSourceARN": S, "awsRegion": S},
    DROP, plain_patterns=True)
KAFKA_ENVELOPE = Envelope(
    KAFKA, "Kafka", "value", "base64",
    {"topic": S, "partition": N, "offset": N, "timestamp": N, "timestampType": S, "key": S, "value": "any",
     "headers": "any"},
    METADATA_ONLY, plain_patterns=True)
MQ_ENVELOPE = Envelope(
    MQ, "Amazon MQ", "data", "base64",
    {"messageID": S, "messageType": S, "deliveryMode": N, "replyTo": "any", "type": "any", "expiration": S,
     "priority": N, "correlationId": S, "redelivered": B, "destination": {"physicalName": S}, "data": "any",
     "timestamp": N, "brokerInTime": N, "brokerOutTime": N, "properties": {"*": S}, "basicProperties": "any"},
    METADATA_ONLY, plain_patterns=True)

ENVELOPES = {KINESIS: KINESIS_ENVELOPE, DYNAMODB: DYNAMODB_ENVELOPE, SQS: SQS_ENVELOPE, MSK: KAFKA_ENVELOPE,
             KAFKA: KAFKA_ENVELOPE, MQ: MQ_ENVELOPE}
PAYLOAD_KEYS = {"data": "Kinesis and Amazon MQ", "dynamodb": "DynamoDB", "body": "SQS", "value": "Kafka"}
SOURCE_KINDS = {"kinesis": KINESIS, "dynamodb": DYNAMODB, "sqs": SQS, "kafka": KAFKA, "mq": MQ}
UNFILTERABLE = frozenset({DOCDB})


def envelope(kind: str) -> Envelope:
    return ENVELOPES[kind]


# ------------------------------------------------------------------------------------ records as seen

_scan = DECODER.scan_once


def view(env: Envelope, record: dict) -> tuple[dict, str]:
    """The record as Lambda's filter sees it (the payload decoded), and the payload's state: JSON (an
    object or array), PLAIN (a string), UNDECODABLE (bytes that are not UTF-8) or ABSENT."""
    if env.kind == KINESIS and type(record.get("kinesis")) is dict:
        record = record["kinesis"]  # a record of a Lambda event: the filters see its `kinesis` object
    raw = record.get(env.payload)
    if raw is None:
        return record, ABSENT
    if env.encoding == "object":
        if isinstance(raw, (dict, list)):
            return record, JSON
        raw = raw if isinstance(raw, str) else json.dumps(raw)
        text: str | None = raw
    elif env.encoding == "text":
        text = raw if isinstance(raw, str) else json.dumps(raw)
    else:
        text = _unbase64(raw)
        if text is None:
            return {**record, env.payload: raw}, UNDECODABLE
    first = text[:1]
    if first == "{" or first == "[":
        try:  # json's scanner straight: its decode() around it costs a fifth of the parse
            value, end = _scan(text, 0)
            if end == len(text) or not text[end:].strip():
                return {**record, env.payload: value}, JSON
        except (ValueError, StopIteration):
            pass
    elif first.isspace() and text.lstrip()[:1] in ("{", "["):
        try:
            return {**record, env.payload: loads(text)}, JSON
        except ValueError:
            pass
    return {**record, env.payload: text}, PLAIN


def encoding_problem(env: Envelope, record: dict) -> str | None:
    """What is wrong with the way a record carries its payload: Kinesis, Kafka and Amazon MQ records carry theirs
    base64-encoded, so a payload that is not base64 text is a mistake of the file the record came from (Lambda's
    filters never see such a record), not a record they drop. None when nothing is."""
    if env.encoding != "base64":
        return None
    if env.kind == KINESIS and type(record.get("kinesis")) is dict:
        record = record["kinesis"]
    raw = record.get(env.payload)
    if raw is None:
        return None
    try:
        if not isinstance(raw, str):
            raise ValueError
        binascii.a2b_base64(raw, strict_mode=True) if _STRICT_BASE64 else base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return f"{env.payload} is not base64 text: {env.name} records carry it base64-encoded"
    return None


def _unbase64(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    try:
        if _STRICT_BASE64:
            return binascii.a2b_base64(raw, strict_mode=True).decode("utf-8")
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None


_STRICT_BASE64 = sys.version_info >= (3, 11)  # a2b_base64's strict_mode: the same checks, 5 times faster


def wrap(env: Envelope, payload: str, index: int, source: str = "") -> dict:
    """One payload (a line of --payloads) as a record of this source, the way its Lambda event carries it."""
    encoded = base64.b64encode(payload.encode()).decode()
    if env.kind == KINESIS:
        return {"kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": str(index),
                            "sequenceNumber": str(index), "data": encoded,
                            "approximateArrivalTimestamp": 0.0},
                "eventSource": "aws:kinesis", "eventSourceARN": source}
    if env.kind == DYNAMODB:
        image = loads(payload)
        if not isinstance(image, dict):
            raise ValueError("a DynamoDB payload is the record's `dynamodb` object: Keys, NewImage, OldImage")
        name = "MODIFY" if "NewImage" in image and "OldImage" in image else \
            "REMOVE" if "OldImage" in image else "INSERT"
        return {"eventID": str(index), "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                "eventSourceARN": source, "dynamodb": image}
    if env.kind == SQS:
        return {"messageId": str(index), "body": payload, "attributes": {}, "messageAttributes": {},
                "eventSource": "aws:sqs", "eventSourceARN": source}
    if env.kind in (KAFKA, MSK):
        return {"topic": "topic", "partition": 0, "offset": index, "timestamp": 0, "timestampType": "CREATE_TIME",
                "value": encoded, "headers": []}
    return {"messageID": f"ID:{index}", "messageType": "jms/text-message", "data": encoded, "timestamp": 0,
            "redelivered": False}


def records_of(document: Any) -> list[dict]:
    """The records in a Lambda event of any of the sources (Records, Kafka's records by topic and
    partition, MQ's messages), or in a plain list of records."""
    if isinstance(document, dict):
        if isinstance(document.get("Records"), list):
            return document["Records"]
        if isinstance(document.get("records"), dict):  # Kafka: {"topic-0": [...]}
            return [r for batch in document["records"].values() if isinstance(batch, list) for r in batch]
        if isinstance(document.get("messages"), list):  # ActiveMQ
            return document["messages"]
        if isinstance(document.get("rmqMessagesByQueue"), dict):  # RabbitMQ
            return [m for batch in document["rmqMessagesByQueue"].values() if isinstance(batch, list) for m in batch]
        return [document]
    if isinstance(document, list):
        return document
    raise ValueError("expected a Lambda event, a JSON array of records or one record per line")


def guess_kind(record: Any) -> str | None:
    """The kind of source a record comes from, by its shape; None when it cannot be told."""
    if not isinstance(record, dict):
        return None
    source = str(record.get("eventSource") or "")
    for marker, kind in (("kinesis", KINESIS), ("dynamodb", DYNAMODB), ("sqs", SQS), ("kafka", KAFKA),
                         ("Kafka", KAFKA), ("mq", MQ)):
        if marker in source:
            return kind
    if "kinesis" in record:
        return KINESIS
    if "dynamodb" in record:
        return DYNAMODB
    if "body" in record and ("messageId" in record or "receiptHandle" in record):
        return SQS
    if "value" in record and "topic" in record:
        return KAFKA
    if "data" in record and ("messageID" in record or "basicProperties" in record):
        return MQ
    return None
