"""`esmctl consumer ...` and `Consumer:` in specs, with hand-offs between a stream and its consumers.

moto cannot map a consumer ARN, omits the `:<epoch>` suffix of consumer ARNs and duplicates a
re-registered name: the AWS-like layer in front of it (esmctl/sandbox/fidelity.py) covers those.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import yaml

from tests.helpers import client, put_age


def consumers(box, world, stream="orders"):
    return client(box, "kinesis", direct=False).list_stream_consumers(StreamARN=world[stream])["Consumers"]


def test_register_is_idempotent_and_waits_for_active(esmctl, world, box):
    box.proxy.consumer_creating_views = 2
    r = esmctl("consumer", "register", "--stream", "orders", "--name", "fanout", "-o", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)["Consumer"]  # RegisterStreamConsumer's document, as the AWS CLI prints it
    assert doc["ConsumerStatus"] == "ACTIVE" and doc["ConsumerName"] == "fanout"
    assert doc["ConsumerARN"].startswith(world["orders"] + "/consumer/fanout:")
    assert box.proxy.calls["DescribeStreamConsumer"] >= 3  # absent, CREATING, CREATING, ACTIVE
    r = esmctl("consumer", "register", "--stream", world["orders"], "--name", "fanout", "-o", "json")
    assert r.exit_code == 0 and "already exists" in r.stderr
    assert json.loads(r.stdout)["Consumer"]["ConsumerARN"] == doc["ConsumerARN"]
    assert box.proxy.calls["RegisterStreamConsumer"] == 1
    assert len(consumers(box, world)) == 1


def test_register_no_wait(esmctl, world, box):
    box.proxy.consumer_creating_views = 5
    r = esmctl("consumer", "register", "--stream", "orders", "--name", "fast", "--no-wait", "-o", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["Consumer"]["ConsumerStatus"] == "CREATING"


def test_list_shows_users_and_flags_orphans(esmctl, world, box):
    kinesis = client(box, "kinesis", direct=False)
    used = kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="used")["Consumer"]
    kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="orphan")
    m = client(box, "lambda", direct=False).create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=used["ConsumerARN"], StartingPosition="LATEST")
    r = esmctl("consumer", "list", "--stream", "orders", "-o", "json")
    by_name = {c["ConsumerName"]: c for c in json.loads(r.stdout)["Consumers"]}  # ListStreamConsumers' document
    # an AWS CLI query works as it is (a review got null from a bare list, exit 0, as if there were none)
    names = esmctl("consumer", "list", "--stream", "orders", "--query", "Consumers[].ConsumerName").stdout
    assert sorted(json.loads(names)) == ["orphan", "used"]
    assert by_name["used"]["Mappings"] == [m["UUID"]] and by_name["orphan"]["Mappings"] == []
    table = esmctl("consumer", "list", "--stream", "orders").stdout
    orphan_line = next(line for line in table.splitlines() if line.startswith("orphan"))
    assert "unused consumers are billed per shard-hour" in orphan_line
    used_line = next(line for line in table.splitlines() if line.startswith("used"))
    assert "orders-fn" in used_line


def test_describe_by_name_and_by_arn(esmctl, world, box):
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="c1")["Consumer"]["ConsumerARN"]
    a = json.loads(esmctl("consumer", "describe", "--stream", "orders", "--name", "c1", "-o", "json").stdout)
    b = json.loads(esmctl("consumer", "describe", "--arn", arn, "-o", "json").stdout)
    assert a["ConsumerDescription"]["ConsumerARN"] == b["ConsumerDescription"]["ConsumerARN"] == arn
    # the AWS CLI's document: its --query works as it is (a review got null)
    r = esmctl("consumer", "describe", "--arn", arn, "--query", "ConsumerDescription.ConsumerARN")
    assert json.loads(r.stdout) == arn
    r = esmctl("consumer", "describe", "--stream", "orders", "--name", "nope")
    assert r.exit_code == 1 and "consumer nope not found" in r.stderr
    assert esmctl("consumer", "describe", "--name", "c1").exit_code == 252


def test_deregister_refused_while_used_then_forced_or_once_unused(esmctl, world, box):
    kinesis = client(box, "kinesis", direct=False)
    arn = kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="c1")["Consumer"]["ConsumerARN"]
    kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="bystander")
    lam = client(box, "lambda", direct=False)
    m = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=arn, StartingPosition="LATEST")
    r = esmctl("consumer", "deregister", "--stream", "orders", "--name", "c1", "--yes")
    assert r.exit_code == 1 and m["UUID"] in r.stderr and "--force" in r.stderr
    assert box.proxy.calls["DeregisterStreamConsumer"] == 0
    r = esmctl("consumer", "deregister", "--arn", arn)
    assert r.exit_code == 1  # --force alone is not enough without --yes off a terminal
    lam.delete_event_source_mapping(UUID=m["UUID"])
    r = esmctl("consumer", "deregister", "--arn", arn)
    assert r.exit_code == 1 and "--yes" in r.stderr
    r = esmctl("consumer", "deregister", "--arn", arn, "--yes")
    assert r.exit_code == 0, r.stderr
    assert [c["ConsumerName"] for c in consumers(box, world)] == ["bystander"]  # by ARN: others kept
    [req] = box.proxy.bodies["DeregisterStreamConsumer"]
    assert req == {"ConsumerARN": arn}


def test_deregister_with_force(esmctl, world, box):
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="c1")["Consumer"]["ConsumerARN"]
    client(box, "lambda", direct=False).create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=arn,
                                                                    StartingPosition="LATEST")
    r = esmctl("consumer", "deregister", "--arn", arn, "--force", "--yes", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert consumers(box, world) == []
    doc = json.loads(r.stdout)  # a status Kinesis has (not an invented DELETED), and whether it is gone
    assert doc["ConsumerDescription"]["ConsumerStatus"] == "DELETING" and doc["Gone"] is True


def spec(tmp_path, world, consumer: str | None, fn="orders-fn", **extra) -> str:
    m = {"FunctionName": fn, "EventSourceArn": world["orders"], "StartingPosition": "LATEST", **extra}
    if consumer:
        m["Consumer"] = consumer
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "mappings": [m]}))
    return str(path)


def test_spec_consumer_registers_then_adopts(esmctl, world, box, tmp_path):
    path = spec(tmp_path, world, "fanout")
    plan = esmctl("plan", path)
    assert "+ create orders-fn <- kinesis:orders/consumer/fanout" in plan.stdout
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert "registered consumer fanout" in r.stdout
    [c] = consumers(box, world)
    [m] = client(box, "lambda", direct=False).list_event_source_mappings()["EventSourceMappings"]
    assert m["EventSourceArn"] == c["ConsumerARN"]
    box.proxy.clear_counts()
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout
    assert box.proxy.calls["RegisterStreamConsumer"] == 0


def test_spec_consumer_that_exists_is_used(esmctl, world, box, tmp_path):
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    assert esmctl("apply", spec(tmp_path, world, "fanout")).exit_code == 0
    assert box.proxy.calls["RegisterStreamConsumer"] == 1  # only ours above
    [m] = client(box, "lambda", direct=False).list_event_source_mappings()["EventSourceMappings"]
    assert m["EventSourceArn"] == arn


def test_handoff_from_stream_to_consumer_creates_first_at_the_old_position(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    old = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                          StartingPosition="LATEST")["UUID"]
    [put] = put_age(box, "orders-fn", [(1, 120_000)])  # a minute ago, two minutes behind
    bucket = put.replace(second=0, microsecond=0)  # the datapoint's time: the start of its minute
    path = spec(tmp_path, world, "fanout")
    plan = esmctl("plan", path, "-o", "json")
    [change] = json.loads(plan.stdout)["changes"]
    assert change["action"] == "handoff" and change["uuid"] == old
    at = datetime.fromisoformat(change["startingPositionTimestamp"])
    assert at == bucket - timedelta(seconds=120 + 60)  # the datapoint's time − IteratorAge − margin
    box.proxy.clear_counts()
    text = esmctl("plan", path).stdout
    assert "<~> handoff orders-fn <- kinesis:orders/consumer/fanout" in text and "AT_TIMESTAMP" in text
    assert esmctl("apply", path).exit_code == 1  # needs --yes off a terminal
    assert box.proxy.writes() == 0

    box.proxy.clear_counts()
    box.proxy.transitional_views = 2
    r = esmctl("apply", path, "--yes", "--handoff-margin", "30", "-o", "json")
    assert r.exit_code == 0, r.stderr
    [result] = json.loads(r.stdout)["results"]
    [c] = consumers(box, world)
    assert result["source"] == c["ConsumerARN"]  # registered by the apply: the plan could not know it
    log = [op for op in box.proxy.log if op in ("RegisterStreamConsumer", "CreateEventSourceMapping",
                                                "DeleteEventSourceMapping")]
    assert log == ["RegisterStreamConsumer", "CreateEventSourceMapping", "DeleteEventSourceMapping"]
    created_at = box.proxy.log.index("CreateEventSourceMapping")
    deleted_at = box.proxy.log.index("DeleteEventSourceMapping")
    assert "GetEventSourceMapping" in box.proxy.log[created_at:deleted_at]  # waited for Enabled
    [req] = box.proxy.bodies["CreateEventSourceMapping"]
    assert req["StartingPosition"] == "AT_TIMESTAMP"
    at = datetime.fromtimestamp(req["StartingPositionTimestamp"], timezone.utc)
    assert at == bucket - timedelta(seconds=120 + 30)
    [m] = lam.list_event_source_mappings()["EventSourceMappings"]
    assert "/consumer/fanout:" in m["EventSourceArn"]
    box.proxy.transitional_views = 0
    assert esmctl("diff", path).exit_code == 0


def test_handoff_back_to_the_stream(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec(tmp_path, world, "fanout")).exit_code == 0
    put_age(box, "orders-fn", [(2, 5_000)])
    path = spec(tmp_path, world, None)
    plan = esmctl("plan", path)
    assert "<~> handoff orders-fn <- kinesis:orders" in plan.stdout
    assert esmctl("apply", path, "--yes").exit_code == 0
    [m] = client(box, "lambda", direct=False).list_event_source_mappings()["EventSourceMappings"]
    assert m["EventSourceArn"] == world["orders"]


def test_recreated_consumer_has_a_new_arn_and_the_mapping_moves(esmctl, world, box, tmp_path):
    path = spec(tmp_path, world, "fanout")
    assert esmctl("apply", path).exit_code == 0
    [c] = consumers(box, world)
    kinesis = client(box, "kinesis", direct=False)
    kinesis.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    import time

    created = int(c["ConsumerARN"].rsplit(":", 1)[1])  # the ARN ends with its creation second
    while time.time() < created + 1:  # a new creation second: a new ARN (often past already)
        time.sleep(0.01)
    new = kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]
    assert new["ConsumerARN"] != c["ConsumerARN"]
    put_age(box, "orders-fn", [(1, 1_000)])
    doc = json.loads(esmctl("plan", path, "-o", "json").stdout)
    [change] = doc["changes"]
    assert change["action"] == "handoff" and change["source"] == new["ConsumerARN"]


def test_dynamodb_stream_change_needs_allow_replace(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders-table-stream"],
                                    StartingPosition="LATEST")
    # the table made again (as its stream turned off and on would): a new stream label, the same table
    ddb = client(box, "dynamodb")
    ddb.delete_table(TableName="orders-table")
    new_stream = ddb.create_table(
        TableName="orders-table", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]
    assert new_stream != world["orders-table-stream"]
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "mappings": [
        {"FunctionName": "audit-fn", "EventSourceArn": new_stream, "StartingPosition": "LATEST"}]}))
    box.proxy.clear_counts()
    doc = json.loads(esmctl("plan", str(path), "-o", "json").stdout)
    [change] = doc["changes"]
    assert change["action"] == "replace" and "cannot start at a timestamp" in change["reason"]
    r = esmctl("apply", str(path), "--yes")
    assert r.exit_code == 1 and "--allow-replace" in r.stderr
    assert box.proxy.writes() == 0


def test_consumer_key_needs_a_kinesis_stream(esmctl, world, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "mappings": [
        {"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"], "Consumer": "x"}]}))
    r = esmctl("validate", str(path))
    assert r.exit_code == 1 and "Consumer: needs a Kinesis stream ARN" in r.stderr


def test_register_rides_out_limit_exceeded(esmctl, world, box):
    box.proxy.fail_next["RegisterStreamConsumer"] = (400, "LimitExceededException",
                                                     "Rate exceeded for stream orders under account 123456789012.")
    r = esmctl("consumer", "register", "--stream", "orders", "--name", "fanout", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert box.proxy.calls["RegisterStreamConsumer"] == 2
    assert [c["ConsumerName"] for c in consumers(box, world)] == ["fanout"]


def test_export_writes_consumers_by_name_and_round_trips(esmctl, world, box, tmp_path):
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    client(box, "lambda", direct=False).create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=arn,
                                                                    StartingPosition="LATEST")
    doc = yaml.safe_load(esmctl("export").stdout)
    assert doc["mappings"] == [{"FunctionName": "orders-fn", "EventSourceArn": world["orders"], "Consumer": "fanout",
                                "StartingPosition": "LATEST"}]
    path = tmp_path / "exported.yaml"
    path.write_text(yaml.safe_dump(doc))
    assert esmctl("diff", str(path)).exit_code == 0
