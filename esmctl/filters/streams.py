"""The newest records of a Kinesis stream or a DynamoDB stream, read as Lambda's event carries them, without
consuming anything: stream reads leave nothing behind (no checkpoint, no lease). A queue cannot be read so:
an SQS receive hides the messages for their visibility timeout and counts a receive against each."""

from __future__ import annotations

import base64
from collections import deque
from datetime import datetime
from typing import Any

from esmctl.kinds import DYNAMODB, KINESIS, SQS
from esmctl.mapping import identity

MAX_READS_PER_SHARD = 1000  # GetRecords calls per shard: a bound on a stream far larger than --limit


class Unreadable(ValueError):
    """A source whose records cannot be read without side effects (or at all) from here."""


def newest_records(aws: Any, arn: str, limit: int) -> tuple[str, list[dict]]:
    """(kind, the newest `limit` records of the stream, oldest first)."""
    kind = identity.source_type({"EventSourceArn": arn})
    if kind == KINESIS:
        return kind, _kinesis(aws, identity.stream_of(arn), limit)
    if kind == DYNAMODB:
        return kind, _dynamodb(aws, arn, limit)
    if kind == SQS:
        raise Unreadable("an SQS queue cannot be read without side effects (a receive hides each message for its "
                         "visibility timeout and counts against its maxReceiveCount): save messages to a file and "
                         "give --records FILE, or their bodies with --payloads FILE --source-kind sqs")
    raise Unreadable(f"--from-stream reads Kinesis streams and DynamoDB streams, not {arn}: give --records FILE or "
                     "--payloads FILE")


def _kinesis(aws: Any, arn: str, limit: int) -> list[dict]:
    client = aws.client("kinesis")
    shards = [s for page in client.get_paginator("list_shards").paginate(StreamARN=arn) for s in page["Shards"]]
    found: list[tuple[float, str, dict]] = []
    for shard in shards:
        iterator = client.get_shard_iterator(StreamARN=arn, ShardId=shard["ShardId"],
                                             ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        newest: deque[dict] = deque(maxlen=limit)
        for _ in range(MAX_READS_PER_SHARD):
            page = client.get_records(ShardIterator=iterator, StreamARN=arn, Limit=10000)
            newest.extend(page["Records"])
            iterator = page.get("NextShardIterator")
            if not iterator or (not page["Records"] and not page.get("MillisBehindLatest")):
                break
        for r in newest:
            arrived = _epoch(r.get("ApproximateArrivalTimestamp"))
            found.append((arrived, r["SequenceNumber"], {
                "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": r["PartitionKey"],
                            "sequenceNumber": r["SequenceNumber"],
                            "data": base64.b64encode(r["Data"]).decode(), "approximateArrivalTimestamp": arrived},
                "eventSource": "aws:kinesis", "eventVersion": "1.0",
                "eventID": f"{shard['ShardId']}:{r['SequenceNumber']}", "eventName": "aws:kinesis:record",
                "eventSourceARN": arn}))
    found.sort(key=lambda item: (item[0], item[1]))
    return [record for _, _, record in found[-limit:]] if limit else []


def _dynamodb(aws: Any, arn: str, limit: int) -> list[dict]:
    client = aws.client("dynamodbstreams")
    shards, start = [], None
    while True:
        kwargs = {"StreamArn": arn, **({"ExclusiveStartShardId": start} if start else {})}
        description = client.describe_stream(**kwargs)["StreamDescription"]
        shards += description.get("Shards", [])
        start = description.get("LastEvaluatedShardId")
        if not start:
            break
    found: list[tuple[str, dict]] = []
    for shard in shards:
        iterator = client.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                             ShardIteratorType="TRIM_HORIZON").get("ShardIterator")
        newest: deque[dict] = deque(maxlen=limit)
        for _ in range(MAX_READS_PER_SHARD):
            if not iterator:
                break
            page = client.get_records(ShardIterator=iterator, Limit=1000)
            newest.extend(page["Records"])
            iterator = page.get("NextShardIterator")
            if not page["Records"]:
                break
        for r in newest:
            record = _lambda_form({**r, "eventSourceARN": arn})
            found.append((record["dynamodb"].get("SequenceNumber", ""), record))
    found.sort(key=lambda item: (len(item[0]), item[0]))  # sequence numbers are decimal strings
    return [record for _, record in found[-limit:]] if limit else []


def _lambda_form(value: Any) -> Any:
    """A record as boto3 returns it, as JSON carries it to the function: binary as base64, times as epoch
    seconds."""
    if isinstance(value, dict):
        return {k: _lambda_form(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lambda_form(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return _epoch(value)
    return value


def _epoch(value: Any) -> float:
    return value.timestamp() if isinstance(value, datetime) else float(value or 0)
