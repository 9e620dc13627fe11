"""Kinesis stream consumers and DynamoDB table streams as AWS answers for them, over moto's (a layer of the fidelity
proxy, under the mapping API: a mapping's source is one of these).

- consumer ARNs end with `:<creation epoch>` as on AWS (moto leaves it out); an ARN names one registration, so one
  with another epoch, like an unknown name, is ResourceNotFound (moto describes the name whatever the epoch);
- a re-registered name fails (ResourceInUseException); consumers stay CREATING for `consumer_creating_views` reads;
- DynamoDB Streams' DescribeStream knows only the streams a table has (moto describes any label of the table).
"""

from __future__ import annotations

import json
import re

from esmctl.sandbox.accounts import Accounts

CONSUMER_EPOCH = re.compile(r"(/consumer/[^:/]+):\d+$")  # the epoch AWS appends to consumer ARNs
_CONSUMER_CALLS = ("DescribeStreamConsumer", "ListStreamConsumers", "DeregisterStreamConsumer")


class Streams(Accounts):
    """The stream-side calls (`_stream_call`) and the consumer a consumer ARN names (`_consumer`). The state they
    keep (`_creating`, `consumer_creating_views`) is FidelityProxy's, reset with it."""

    def _stream_call(self, op: str, method: str, path: str, headers: dict,
                     body: bytes) -> tuple[int, dict, bytes] | None:
        """The reply to a consumer or table-stream call, as AWS gives it; None for any other call."""
        if op == "RegisterStreamConsumer":
            return self._consumer_reply(op, *self._register_consumer(method, path, headers, body))
        if op in _CONSUMER_CALLS:
            req = json.loads(body or b"{}")
            if op == "DeregisterStreamConsumer" and not req.get("ConsumerARN") and req.get("ConsumerName"):
                # moto deregisters the stream's other consumers when named so: the one named, by its ARN
                _, listed = self._upstream_json("POST", "/", {"StreamARN": req.get("StreamARN")}, {
                    **headers, "X-Amz-Target": "Kinesis_20131202.ListStreamConsumers"})
                named = [c for c in (listed or {}).get("Consumers", []) if c.get("ConsumerName") == req["ConsumerName"]]
                if not named:
                    return _not_found(f"Consumer {req['ConsumerName']} under stream {req.get('StreamARN')} not found.")
                body = json.dumps({"ConsumerARN": named[0]["ConsumerARN"]}).encode()
                return self._consumer_reply(op, *self._forward(method, path, body, headers))
            if req.get("ConsumerARN"):
                if self._consumer(req["ConsumerARN"]) is None:  # not registered, or not at that time
                    account = req["ConsumerARN"].split(":")[4] if req["ConsumerARN"].count(":") >= 5 else ""
                    return _not_found(f"Consumer {req['ConsumerARN']}, account {account} not found.")
                req["ConsumerARN"] = CONSUMER_EPOCH.sub(r"\1", req["ConsumerARN"])
                body = json.dumps(req).encode()
            return self._consumer_reply(op, *self._forward(method, path, body, headers))
        if op == "DescribeStream" and (headers.get("X-Amz-Target") or "").startswith("DynamoDBStreams_"):
            return self._table_stream(method, path, headers, body)
        return None

    def _consumer(self, consumer_arn: str) -> dict | None:
        """The registered consumer `consumer_arn` names, as Kinesis describes it, its ARN with the creation epoch
        AWS writes into it (moto's has none); None when there is none: no such name on the stream, or one
        registered at another time (a consumer ARN names one registration)."""
        parts = consumer_arn.split(":")
        if len(parts) < 6:
            return None
        bare = CONSUMER_EPOCH.sub(r"\1", consumer_arn)
        status, reply = self._upstream_json("POST", "/", {"ConsumerARN": bare}, self._as_layer(
            parts[4], parts[3], "kinesis", "application/x-amz-json-1.1", "Kinesis_20131202.DescribeStreamConsumer"))
        described = (reply or {}).get("ConsumerDescription") if status < 300 and isinstance(reply, dict) else None
        if not described:
            return None
        full = f"{described['ConsumerARN']}:{int(float(described.get('ConsumerCreationTimestamp') or 0))}"
        return {**described, "ConsumerARN": full} if full == consumer_arn else None

    def _table_stream(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        """DynamoDB Streams' DescribeStream of a table's stream by its label (its time of creation): moto describes
        any label of an existing table; AWS only the streams the table has had (here its latest)."""
        arn = str(json.loads(body or b"{}").get("StreamArn") or "")
        parts = arn.split(":")
        table = parts[5].split("/")[1] if len(parts) >= 6 and parts[5].count("/") >= 3 else ""
        if table:
            status, reply = self._upstream_json("POST", "/", {"TableName": table}, self._as_layer(
                parts[4], parts[3], "dynamodb", "application/x-amz-json-1.0", "DynamoDB_20120810.DescribeTable"))
            latest = ((reply or {}).get("Table") or {}).get("LatestStreamArn") if isinstance(reply, dict) else None
            if status < 300 and latest != arn:
                return 400, {"Content-Type": "application/x-amz-json-1.0"}, json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                    "message": f"Requested resource not found: Stream: {arn} not found"}).encode()
        return self._forward(method, path, body, headers)

    def _consumer_reply(self, op: str, status: int, headers: dict, data: bytes) -> tuple[int, dict, bytes]:
        """Consumer ARNs as AWS writes them (with the creation epoch), and CREATING for a while."""
        if status >= 300:
            return status, headers, data
        reply = json.loads(data or b"{}")
        found = [reply["Consumer"]] if "Consumer" in reply else []
        found += [reply["ConsumerDescription"]] if "ConsumerDescription" in reply else []
        found += reply.get("Consumers", [])
        with self._lock:
            for c in found:
                bare = c["ConsumerARN"]
                if op == "RegisterStreamConsumer" and self.consumer_creating_views:
                    self._creating[bare] = self.consumer_creating_views
                left = self._creating.get(bare, 0)
                if left:
                    c["ConsumerStatus"] = "CREATING"
                    if op == "DescribeStreamConsumer":
                        self._creating[bare] = left - 1
                c["ConsumerARN"] = f"{bare}:{int(float(c.get('ConsumerCreationTimestamp') or 0))}"
        return status, headers, json.dumps(reply).encode()

    def _register_consumer(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, bytes]:
        req = json.loads(body or b"{}")
        list_headers = {**headers, "X-Amz-Target": "Kinesis_20131202.ListStreamConsumers"}
        _, existing = self._upstream_json("POST", "/", {"StreamARN": req.get("StreamARN")}, list_headers)
        for c in (existing or {}).get("Consumers", []):
            if c.get("ConsumerName") == req.get("ConsumerName"):
                return 400, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps({
                    "__type": "ResourceInUseException",
                    "message": f"Consumer {c['ConsumerARN']} under stream {req.get('StreamARN')} already exists",
                }).encode()
        return self._forward(method, path, body, headers)


def _not_found(message: str) -> tuple[int, dict, bytes]:
    return 400, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
        {"__type": "ResourceNotFoundException", "message": message}).encode()
