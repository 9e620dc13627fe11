"""The AWS-like layer itself (esmctl/sandbox/fidelity.py), spoken to with plain boto3 clients:
what it adds to moto must answer as AWS does, since esmctl's other tests rely on it."""

from __future__ import annotations

import gc
import json
import threading
import time
import urllib.request
import uuid as uuidlib
from datetime import datetime, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError

from esmctl.sandbox import server
from tests.helpers import REGION, Clock

ACCOUNT = "123456789012"
MSK = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/orders/5f2c9a8e-1b2d-4c3e-9f4a-0a1b2c3d4e5f-3"
MQ = f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:orders:b-1234a5b6-78cd-901e-2fgh-3i45j6k178l9"
DOCDB = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders-docdb"
BROKERS = ["kafka-2.example.com:9092", "kafka-1.example.com:9092"]
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FILTERS = {"Filters": [{"Pattern": '{"body": {"type": ["order"]}}'}]}


def lam(box):
    """A Lambda client on the layer. One attempt in all (botocore's `max_attempts` counts retries):
    these tests expect errors, and a retry would hide which call met them."""
    return boto3.client("lambda", endpoint_url=box.url, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


def raw(box, path: str) -> dict:
    """A layer reply as JSON on the wire (botocore drops null members when it parses)."""
    # moto finds the region (and so the backend) in the signature's credential scope.
    auth = f"AWS4-HMAC-SHA256 Credential=testing/20240101/{REGION}/lambda/aws4_request, SignedHeaders=host, Signature=0"
    req = urllib.request.Request(box.url + path, headers={"Authorization": auth})
    return json.loads(urllib.request.urlopen(req, timeout=60).read())


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def msk(fn: str = "orders-fn", topic: str = "orders", **extra) -> dict:
    return {"FunctionName": fn, "EventSourceArn": MSK, "Topics": [topic], "StartingPosition": "LATEST", **extra}


def kafka(fn: str = "orders-fn", topic: str = "orders", brokers: list[str] = BROKERS, **extra) -> dict:
    return {"FunctionName": fn, "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": brokers}},
            "Topics": [topic], "StartingPosition": "TRIM_HORIZON", **extra}


def mq(fn: str = "orders-fn", queue: str = "orders", **extra) -> dict:
    return {"FunctionName": fn, "EventSourceArn": MQ, "Queues": [queue], **extra}


def docdb(fn: str = "orders-fn", collection: str = "orders", **extra) -> dict:
    return {"FunctionName": fn, "EventSourceArn": DOCDB, "StartingPosition": "LATEST",
            "DocumentDBEventSourceConfig": {"DatabaseName": "shop", "CollectionName": collection}, **extra}


def slow_upstream(monkeypatch, box, delay: float) -> dict[str, int]:
    """Make the layer's creates take `delay` at moto (the create, or the function lookup of a
    held kind) and count how many are in flight at once."""
    proxy, forward, lock = box.proxy, box.proxy._forward, threading.Lock()
    seen = {"now": 0, "max": 0}

    def slow(method: str, path: str, body: bytes, headers: dict):
        if (method, path.rstrip("/")) == ("POST", "/2015-03-31/event-source-mappings") \
                or path.startswith("/2015-03-31/functions/"):
            with lock:
                seen["now"] += 1
                seen["max"] = max(seen["max"], seen["now"])
            time.sleep(delay)
            with lock:
                seen["now"] -= 1
        return forward(method, path, body, headers)

    monkeypatch.setattr(proxy, "_forward", slow)
    return seen


def at_once(calls: list) -> list:
    """Run the calls in threads released together; their results or ClientErrors, in order."""
    start, out = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i: int) -> None:
        start.wait()
        try:
            out[i] = calls[i]()
        except ClientError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


# -- 1. an atomic duplicate check --------------------------------------------------------------
@pytest.mark.parametrize("kind", ["sqs", "kinesis", "msk", "self-managed kafka"])
def test_concurrent_creates_of_one_identity_give_one_201_and_409s(kind, box, world, monkeypatch):
    requests = {"sqs": lambda i: {"FunctionName": "jobs-fn" if i % 2 else world["jobs-fn"],
                                  "EventSourceArn": world["jobs"]},
                "kinesis": lambda i: {"FunctionName": "orders-fn", "EventSourceArn": world["orders"],
                                      "StartingPosition": "LATEST"},
                "msk": lambda i: msk(),
                # the same brokers in another order are the same source
                "self-managed kafka": lambda i: kafka(brokers=BROKERS[::1 if i % 2 else -1])}[kind]
    slow_upstream(monkeypatch, box, 0.03)  # without the lock, every thread would pass the check
    clients = [lam(box) for _ in range(6)]
    results = at_once([lambda c=c, i=i: c.create_event_source_mapping(**requests(i))
                       for i, c in enumerate(clients)])
    created = [r for r in results if isinstance(r, dict)]
    refused = [r for r in results if isinstance(r, ClientError)]
    assert len(created) == 1 and len(refused) == 5
    assert {r.response["Error"]["Code"] for r in refused} == {"ResourceConflictException"}
    assert {r.response["ResponseMetadata"]["HTTPStatusCode"] for r in refused} == {409}
    assert all(created[0]["UUID"] in str(r) for r in refused)
    assert [m["UUID"] for m in lam(box).list_event_source_mappings()["EventSourceMappings"]] == [created[0]["UUID"]]


def overlapping_upstream(monkeypatch, box) -> dict[str, int]:
    """Make each of the layer's creates wait at moto (the create, or the function lookup of a held kind) until
    another is there too (10 s at most), and count how many are in flight at once: creates that may overlap
    always do, however slowly the machine runs the threads; creates held apart never do."""
    proxy, forward, lock, two = box.proxy, box.proxy._forward, threading.Lock(), threading.Event()
    seen = {"now": 0, "max": 0}

    def rendezvous(method: str, path: str, body: bytes, headers: dict):
        if (method, path.rstrip("/")) == ("POST", "/2015-03-31/event-source-mappings") \
                or path.startswith("/2015-03-31/functions/"):
            with lock:
                seen["now"] += 1
                seen["max"] = max(seen["max"], seen["now"])
                if seen["now"] > 1:
                    two.set()
            two.wait(30)
            with lock:
                seen["now"] -= 1
        return forward(method, path, body, headers)

    monkeypatch.setattr(proxy, "_forward", rendezvous)
    return seen


def test_creates_of_different_identities_still_run_in_parallel(box, world, monkeypatch):
    seen = overlapping_upstream(monkeypatch, box)
    clients = [lam(box) for _ in range(6)]
    requests = [msk(topic=f"t{i}") for i in range(3)] + \
               [{"FunctionName": fn, "EventSourceArn": world["jobs"]} for fn in ("orders-fn", "audit-fn", "jobs-fn")]
    results = at_once([lambda c=c, r=r: c.create_event_source_mapping(**r)
                       for c, r in zip(clients, requests, strict=True)])
    assert all(isinstance(r, dict) for r in results), results
    assert seen["max"] > 1  # creates of different identities overlapped at moto


# -- 2. the kinds moto cannot hold -------------------------------------------------------------
def test_msk_mapping_is_created_read_listed_and_counted_as_aws_does(box, world):
    client = lam(box)
    box.proxy.clear_counts()
    before = time.time()
    m = client.create_event_source_mapping(**msk(BatchSize=50, Tags={"team": "orders"}))
    assert m["ResponseMetadata"]["HTTPStatusCode"] == 201
    uuidlib.UUID(m["UUID"], version=4)
    assert m["EventSourceMappingArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT}:event-source-mapping:{m['UUID']}"
    assert m["FunctionArn"] == world["orders-fn"] and m["EventSourceArn"] == MSK
    assert m["State"] == "Enabled" and m["StateTransitionReason"] == "USER_INITIATED"
    assert m["LastProcessingResult"] == "No records processed"
    assert m["BatchSize"] == 50 and m["Topics"] == ["orders"] and m["StartingPosition"] == "LATEST"
    assert before - 1 <= m["LastModified"].timestamp() <= time.time() + 1
    uuidlib.UUID(m["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"])  # generated, and reported
    assert "Tags" not in m

    got = client.get_event_source_mapping(UUID=m["UUID"])
    assert {k: v for k, v in got.items() if k != "ResponseMetadata"} == \
           {k: v for k, v in m.items() if k != "ResponseMetadata"}
    for query in ({}, {"EventSourceArn": MSK}, {"FunctionName": "orders-fn"}, {"FunctionName": world["orders-fn"]}):
        assert [x["UUID"] for x in client.list_event_source_mappings(**query)["EventSourceMappings"]] == [m["UUID"]]
    assert client.list_event_source_mappings(FunctionName="audit-fn")["EventSourceMappings"] == []
    assert client.list_event_source_mappings(EventSourceArn=MQ)["EventSourceMappings"] == []
    assert box.proxy.calls["CreateEventSourceMapping"] == 1 and box.proxy.calls["GetEventSourceMapping"] == 1
    assert box.proxy.writes() == 1


def test_kafka_and_mq_identity_includes_the_topic_or_queue(box, world):
    client = lam(box)
    first = client.create_event_source_mapping(**msk(topic="orders"))
    client.create_event_source_mapping(**msk(topic="refunds"))  # same function and cluster, other topic
    client.create_event_source_mapping(**msk(fn="audit-fn", topic="orders"))  # other function
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**msk(topic="orders", BatchSize=10))
    assert code(exc) == "ResourceConflictException"
    assert exc.value.response["Error"]["Message"] == (
        f'The event source arn (" {MSK} ") and function (" orders-fn ") provided mapping already exists. '
        f"Please update or delete the existing mapping with UUID {first['UUID']}")
    with pytest.raises(ClientError) as exc:  # an ARN names the same function
        client.create_event_source_mapping(**msk(fn=world["orders-fn"], topic="orders"))
    assert code(exc) == "ResourceConflictException"

    client.create_event_source_mapping(**mq(queue="orders"))
    client.create_event_source_mapping(**mq(queue="refunds"))
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**mq(queue="orders"))
    assert code(exc) == "ResourceConflictException"
    assert len(client.list_event_source_mappings()["EventSourceMappings"]) == 5


def test_self_managed_kafka_has_no_arn_sorted_brokers_and_a_consumer_group(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(**kafka(SelfManagedKafkaEventSourceConfig={"ConsumerGroupId": "orders"}))
    assert "EventSourceArn" not in m
    assert m["SelfManagedEventSource"]["Endpoints"]["KAFKA_BOOTSTRAP_SERVERS"] == sorted(BROKERS)
    assert m["SelfManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "orders"}  # kept as given
    other = client.create_event_source_mapping(**kafka(brokers=["kafka-9.example.com:9092"]))
    uuidlib.UUID(other["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"])  # generated
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**kafka(brokers=sorted(BROKERS)))
    assert code(exc) == "ResourceConflictException" and m["UUID"] in str(exc.value)
    client.create_event_source_mapping(**kafka(topic="refunds"))
    assert client.list_event_source_mappings(EventSourceArn=MSK)["EventSourceMappings"] == []
    assert len(client.list_event_source_mappings()["EventSourceMappings"]) == 3


def test_documentdb_fills_full_document_and_is_one_per_function_and_cluster(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(**docdb())
    assert m["DocumentDBEventSourceConfig"] == {"DatabaseName": "shop", "CollectionName": "orders",
                                                "FullDocument": "Default"}
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**docdb(collection="refunds"))
    assert code(exc) == "ResourceConflictException"
    other = client.create_event_source_mapping(**docdb(fn="audit-fn", DocumentDBEventSourceConfig={
        "DatabaseName": "shop", "FullDocument": "UpdateLookup"}))
    assert other["DocumentDBEventSourceConfig"]["FullDocument"] == "UpdateLookup"


def test_held_create_checks_the_function_and_qualifies_its_arn(box, world):
    client = lam(box)
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**mq(fn="no-such-fn"))
    assert code(exc) == "ResourceNotFoundException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    version = client.publish_version(FunctionName="orders-fn")["Version"]
    client.create_alias(FunctionName="orders-fn", Name="live", FunctionVersion=version)
    m = client.create_event_source_mapping(**mq(fn="orders-fn:live"))
    assert m["FunctionArn"] == world["orders-fn"] + ":live"
    unqualified = client.create_event_source_mapping(**mq(fn="orders-fn"))  # another identity
    assert unqualified["FunctionArn"] == world["orders-fn"]
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**mq(fn="orders-fn:nope"))
    assert code(exc) == "ResourceNotFoundException"
    assert [x["UUID"] for x in client.list_event_source_mappings(
        FunctionName="orders-fn:live")["EventSourceMappings"]] == [m["UUID"]]


def test_held_states_follow_enabled_and_transitional_views(box, world):
    client = lam(box)
    assert client.create_event_source_mapping(**mq(Enabled=False))["State"] == "Disabled"
    box.proxy.transitional_views = 2
    m = client.create_event_source_mapping(**msk())
    assert m["State"] == "Creating"
    with pytest.raises(ClientError) as exc:
        client.update_event_source_mapping(UUID=m["UUID"], BatchSize=10)
    assert code(exc) == "ResourceInUseException"
    states = [client.get_event_source_mapping(UUID=m["UUID"])["State"] for _ in range(3)]
    assert states == ["Creating", "Creating", "Enabled"]
    assert client.update_event_source_mapping(UUID=m["UUID"], Enabled=False)["State"] == "Disabling"
    assert [client.get_event_source_mapping(UUID=m["UUID"])["State"] for _ in range(3)] == \
           ["Disabling", "Disabling", "Disabled"]


def test_held_update_changes_only_what_update_has_and_keeps_the_consumer_group(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(**msk())
    group = m["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
    registry = {"SchemaRegistryURI": "arn:aws:glue:us-east-1:123456789012:registry/orders",
                "EventRecordFormat": "JSON"}
    u = client.update_event_source_mapping(UUID=m["UUID"], BatchSize=10, MaximumBatchingWindowInSeconds=5,
                                           AmazonManagedKafkaEventSourceConfig={"SchemaRegistryConfig": registry})
    assert u["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert u["BatchSize"] == 10 and u["MaximumBatchingWindowInSeconds"] == 5
    assert u["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": group, "SchemaRegistryConfig": registry}
    assert u["Topics"] == ["orders"] and u["LastModified"] >= m["LastModified"]
    # the same ConsumerGroupId is no change; another is refused
    client.update_event_source_mapping(UUID=m["UUID"], AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": group})
    with pytest.raises(ClientError) as exc:
        client.update_event_source_mapping(UUID=m["UUID"],
                                           AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "other"})
    assert code(exc) == "InvalidParameterValueException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert client.get_event_source_mapping(UUID=m["UUID"])["AmazonManagedKafkaEventSourceConfig"][
        "ConsumerGroupId"] == group

    k = client.create_event_source_mapping(**kafka())
    u = client.update_event_source_mapping(UUID=k["UUID"],
                                           SelfManagedKafkaEventSourceConfig={"ConsumptionMode": "Queue"})
    assert u["SelfManagedKafkaEventSourceConfig"]["ConsumptionMode"] == "Queue"
    assert u["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"] == \
           k["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"]
    with pytest.raises(ClientError) as exc:
        client.update_event_source_mapping(UUID=k["UUID"], SelfManagedKafkaEventSourceConfig={"ConsumerGroupId": "x"})
    assert code(exc) == "InvalidParameterValueException"

    d = client.create_event_source_mapping(**docdb())
    u = client.update_event_source_mapping(UUID=d["UUID"], DocumentDBEventSourceConfig={"FullDocument": "UpdateLookup"})
    assert u["DocumentDBEventSourceConfig"] == {"DatabaseName": "shop", "CollectionName": "orders",
                                                "FullDocument": "UpdateLookup"}

    # FunctionName moves a mapping to another function (and that function's identity)
    moved = client.update_event_source_mapping(UUID=m["UUID"], FunctionName="audit-fn")
    assert moved["FunctionArn"] == world["audit-fn"]
    assert [x["UUID"] for x in client.list_event_source_mappings(FunctionName="audit-fn")["EventSourceMappings"]] \
        == [m["UUID"]]
    client.create_event_source_mapping(**msk())  # orders-fn's identity is free again
    with pytest.raises(ClientError) as exc:
        client.update_event_source_mapping(UUID=m["UUID"], FunctionName="orders-fn")
    assert code(exc) == "ResourceConflictException"
    with pytest.raises(ClientError) as exc:
        client.update_event_source_mapping(UUID=m["UUID"], FunctionName="no-such-fn")
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        client.update_event_source_mapping(UUID=str(uuidlib.uuid4()), BatchSize=10)
    assert code(exc) == "ResourceNotFoundException"


def test_update_ignores_what_update_does_not_have(box, world):
    """botocore validates client-side; a raw request with a create-only member changes nothing."""
    m = lam(box).create_event_source_mapping(**msk())
    req = urllib.request.Request(f"{box.url}/2015-03-31/event-source-mappings/{m['UUID']}", method="PUT",
                                 data=json.dumps({"Topics": ["other"], "BatchSize": 7}).encode())
    reply = json.loads(urllib.request.urlopen(req, timeout=60).read())
    assert reply["Topics"] == ["orders"] and reply["BatchSize"] == 7


def test_held_delete_lingers_as_deleting_and_blocks_a_duplicate_meanwhile(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(**mq())
    box.proxy.transitional_views = 2
    gone = client.delete_event_source_mapping(UUID=m["UUID"])
    assert gone["State"] == "Deleting" and gone["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert [x["State"] for x in client.list_event_source_mappings()["EventSourceMappings"]] == ["Deleting"]
    with pytest.raises(ClientError) as exc:
        client.create_event_source_mapping(**mq())
    assert code(exc) == "ResourceConflictException"
    assert client.get_event_source_mapping(UUID=m["UUID"])["State"] == "Deleting"
    with pytest.raises(ClientError) as exc:
        client.get_event_source_mapping(UUID=m["UUID"])
    assert code(exc) == "ResourceNotFoundException"
    client.create_event_source_mapping(**mq())
    with pytest.raises(ClientError) as exc:
        client.delete_event_source_mapping(UUID=m["UUID"])
    assert code(exc) == "ResourceNotFoundException"


def test_tags_of_held_mappings(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(**msk(Tags={"team": "orders", "env": "test"}))
    arn = m["EventSourceMappingArn"]
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "orders", "env": "test"}
    box.proxy.clear_counts()
    client.tag_resource(Resource=arn, Tags={"owner": "me"})
    client.untag_resource(Resource=arn, TagKeys=["env"])
    assert client.list_tags(Resource=arn)["Tags"] == {"team": "orders", "owner": "me"}
    assert box.proxy.writes() == 2
    # moto's own mappings keep moto's tag API
    sqs = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"], Tags={"a": "b"})
    assert client.list_tags(Resource=sqs["EventSourceMappingArn"])["Tags"] == {"a": "b"}
    client.delete_event_source_mapping(UUID=m["UUID"])
    m2 = client.create_event_source_mapping(**msk())
    assert client.list_tags(Resource=m2["EventSourceMappingArn"])["Tags"] == {}


def test_held_and_moto_mappings_page_together(box, world):
    client = lam(box)
    box.proxy.page_size = 2
    made = {client.create_event_source_mapping(**msk(topic=f"t{i}"))["UUID"] for i in range(3)}
    made.add(client.create_event_source_mapping(**kafka())["UUID"])
    made.add(client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])["UUID"])
    box.proxy.clear_counts()
    pages = list(client.get_paginator("list_event_source_mappings").paginate())
    assert {m["UUID"] for p in pages for m in p["EventSourceMappings"]} == made
    assert box.proxy.calls["ListEventSourceMappings"] == 3


def test_partial_provisioned_poller_configs_get_aws_bounds(box, world):
    client = lam(box)
    assert client.create_event_source_mapping(**msk(ProvisionedPollerConfig={"MinimumPollers": 3}))[
        "ProvisionedPollerConfig"] == {"MinimumPollers": 3, "MaximumPollers": 200}
    assert client.create_event_source_mapping(**kafka(ProvisionedPollerConfig={"MaximumPollers": 50}))[
        "ProvisionedPollerConfig"] == {"MinimumPollers": 1, "MaximumPollers": 50}
    sqs = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"],
                                             ProvisionedPollerConfig={"MaximumPollers": 50})
    assert sqs["ProvisionedPollerConfig"] == {"MinimumPollers": 2, "MaximumPollers": 50}
    client.update_event_source_mapping(UUID=sqs["UUID"], ProvisionedPollerConfig={"MinimumPollers": 5})
    assert client.get_event_source_mapping(UUID=sqs["UUID"])["ProvisionedPollerConfig"] == \
           {"MinimumPollers": 5, "MaximumPollers": 200}


# -- 3. StartingPositionTimestamp ---------------------------------------------------------------
def test_starting_position_timestamp_is_reported_as_epoch_seconds(box, world):
    client = lam(box)
    at = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)
    made = [client.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                               StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=at),
            client.create_event_source_mapping(**msk(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=at))]
    for m in made:
        assert m["StartingPositionTimestamp"] == at
        assert client.get_event_source_mapping(UUID=m["UUID"])["StartingPositionTimestamp"] == at
    assert [m["StartingPositionTimestamp"] for m in client.list_event_source_mappings()["EventSourceMappings"]] \
        == [at, at]
    for m in made:  # a JSON number on the wire, as AWS sends it
        assert raw(box, f"/2015-03-31/event-source-mappings/{m['UUID']}")["StartingPositionTimestamp"] \
            == at.timestamp()
    plain = client.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders"],
                                               StartingPosition="LATEST")
    assert "StartingPositionTimestamp" not in client.get_event_source_mapping(UUID=plain["UUID"])


# -- 4. clearing an OnFailure destination -------------------------------------------------------
def test_on_failure_without_destination_is_refused(box, world):
    client = lam(box)
    for req in ({"FunctionName": "orders-fn", "EventSourceArn": world["orders"], "StartingPosition": "LATEST"},
                msk()):
        with pytest.raises(ClientError) as exc:
            client.create_event_source_mapping(**req, DestinationConfig={"OnFailure": {}})
        assert code(exc) == "InvalidParameterValueException"
        assert exc.value.response["Error"]["Message"] == \
               "The Destination field is required for an OnFailure configuration."
        m = client.create_event_source_mapping(**req)
        with pytest.raises(ClientError) as exc:
            client.update_event_source_mapping(UUID=m["UUID"], DestinationConfig={"OnFailure": {}})
        assert code(exc) == "InvalidParameterValueException"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("source", ["orders", "orders-table-stream", "msk"])
def test_an_empty_destination_clears_it_and_an_empty_config_changes_nothing(source, box, world):
    client = lam(box)
    dlq = {"OnFailure": {"Destination": world["orders-dlq"]}}
    req = msk() if source == "msk" else {"FunctionName": "orders-fn", "EventSourceArn": world[source],
                                         "StartingPosition": "LATEST"}
    m = client.create_event_source_mapping(**req, DestinationConfig=dlq)
    assert m["DestinationConfig"] == dlq
    client.update_event_source_mapping(UUID=m["UUID"], DestinationConfig={}, BatchSize=20)
    assert client.get_event_source_mapping(UUID=m["UUID"])["DestinationConfig"] == dlq
    u = client.update_event_source_mapping(UUID=m["UUID"], DestinationConfig={"OnFailure": {"Destination": ""}})
    assert u["DestinationConfig"] == {"OnFailure": {}}
    assert client.get_event_source_mapping(UUID=m["UUID"])["DestinationConfig"] == {"OnFailure": {}}
    client.update_event_source_mapping(UUID=m["UUID"], DestinationConfig=dlq)
    assert client.get_event_source_mapping(UUID=m["UUID"])["DestinationConfig"] == dlq


# -- 5. KMS-encrypted filter criteria -----------------------------------------------------------
@pytest.mark.parametrize("source", ["sqs", "mq"])
def test_encrypted_filters_are_null_in_list_and_plain_in_get_and_delete(source, box, world):
    client = lam(box)
    req = mq() if source == "mq" else {"FunctionName": "jobs-fn", "EventSourceArn": world["jobs"]}
    m = client.create_event_source_mapping(**req, KMSKeyArn=KMS_KEY, FilterCriteria=FILTERS)
    plain = client.create_event_source_mapping(**{**req, "FunctionName": "audit-fn"}, FilterCriteria=FILTERS)
    listed = {x["UUID"]: x for x in raw(box, "/2015-03-31/event-source-mappings/")["EventSourceMappings"]}
    assert listed[m["UUID"]]["FilterCriteria"] is None and "FilterCriteriaError" not in listed[m["UUID"]]
    assert listed[plain["UUID"]]["FilterCriteria"] == FILTERS  # no KMS key: shown as is
    assert "FilterCriteria" not in client.list_event_source_mappings(FunctionName=req["FunctionName"])[
        "EventSourceMappings"][0]
    assert client.get_event_source_mapping(UUID=m["UUID"])["FilterCriteria"] == FILTERS

    box.proxy.kms_decrypt_denied = True
    got = client.get_event_source_mapping(UUID=m["UUID"])
    assert "FilterCriteria" not in got
    assert got["FilterCriteriaError"]["ErrorCode"] == "AccessDeniedException"
    assert KMS_KEY in got["FilterCriteriaError"]["Message"]
    assert client.get_event_source_mapping(UUID=plain["UUID"])["FilterCriteria"] == FILTERS

    box.proxy.kms_decrypt_denied = False
    assert client.delete_event_source_mapping(UUID=m["UUID"])["FilterCriteria"] == FILTERS


# -- 6. pausing or failing a chosen call --------------------------------------------------------
def call_in_thread(fn) -> tuple[threading.Thread, dict]:
    out: dict = {}

    def run() -> None:
        try:
            out["reply"] = fn()
        except Exception as exc:  # noqa: BLE001 - the test inspects what the client saw
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, out


def test_pause_before_holds_the_nth_call_until_released(box, world):
    client = lam(box)
    ms = [client.create_event_source_mapping(FunctionName=fn, EventSourceArn=world["jobs"])["UUID"]
          for fn in ("orders-fn", "audit-fn")]
    handle = box.proxy.pause("DeleteEventSourceMapping", nth=2, when="before")
    client.delete_event_source_mapping(UUID=ms[0])  # the first goes through
    assert not handle.reached.is_set()
    t, out = call_in_thread(lambda: lam(box).delete_event_source_mapping(UUID=ms[1]))
    assert handle.reached.wait(60)
    assert client.get_event_source_mapping(UUID=ms[1])["State"] == "Enabled"  # not carried out yet
    handle.release()
    t.join(60)
    assert out["reply"]["State"] == "Deleting"
    assert client.list_event_source_mappings()["EventSourceMappings"] == []


def test_pause_before_and_drop_never_carries_the_call_out(box, world):
    client = lam(box)
    handle = box.proxy.pause("CreateEventSourceMapping")
    t, out = call_in_thread(lambda: lam(box).create_event_source_mapping(FunctionName="jobs-fn",
                                                                         EventSourceArn=world["jobs"]))
    assert handle.reached.wait(60)
    handle.release(drop=True)
    t.join(60)
    assert isinstance(out["error"], ConnectionClosedError)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    assert box.proxy.calls["CreateEventSourceMapping"] == 1


def test_pause_after_and_drop_carries_the_call_out_but_loses_the_reply(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    handle = box.proxy.pause("DeleteEventSourceMapping", when="after")
    t, out = call_in_thread(lambda: lam(box).delete_event_source_mapping(UUID=m["UUID"]))
    assert handle.reached.wait(60)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []  # already carried out
    handle.release(drop=True)
    t.join(60)
    assert isinstance(out["error"], ConnectionClosedError)


def test_paused_calls_never_hang_the_layer(box, world):
    client = lam(box)
    box.proxy.pause_timeout = 0.05
    handle = box.proxy.pause("ListEventSourceMappings")
    with pytest.raises(ConnectionClosedError):
        client.list_event_source_mappings()
    assert handle.reached.is_set() and handle.timed_out

    box.proxy.pause_timeout = 30
    handle = box.proxy.pause("CreateEventSourceMapping")
    t, out = call_in_thread(lambda: lam(box).create_event_source_mapping(FunctionName="jobs-fn",
                                                                         EventSourceArn=world["jobs"]))
    assert handle.reached.wait(60)
    box.proxy.reset()  # releases it, dropped: nothing lands after the reset
    t.join(60)
    assert isinstance(out["error"], ConnectionClosedError)
    assert client.list_event_source_mappings()["EventSourceMappings"] == []


def test_fail_next_can_target_the_nth_call(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    box.proxy.fail_next["GetEventSourceMapping"] = (500, "ServiceException", "injected", 2)
    client.get_event_source_mapping(UUID=m["UUID"])
    with pytest.raises(ClientError) as exc:
        client.get_event_source_mapping(UUID=m["UUID"])
    assert code(exc) == "ServiceException"
    client.get_event_source_mapping(UUID=m["UUID"])
    box.proxy.fail_next["GetEventSourceMapping"] = (429, "TooManyRequestsException", "Rate exceeded")  # the next one
    with pytest.raises(ClientError) as exc:
        client.get_event_source_mapping(UUID=m["UUID"])
    assert code(exc) == "TooManyRequestsException"
    assert client.get_event_source_mapping(UUID=m["UUID"])["UUID"] == m["UUID"]


# -- 7. reset ---------------------------------------------------------------------------------
def test_reset_forgets_everything_the_layer_holds(box, world):
    client = lam(box)
    m = client.create_event_source_mapping(**msk(Tags={"a": "b"}))
    client.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                       StartingPosition="AT_TIMESTAMP",
                                       StartingPositionTimestamp=datetime(2024, 5, 1, tzinfo=timezone.utc))
    box.proxy.kms_decrypt_denied = True
    box.proxy.fail_next["ListTags"] = (500, "ServiceException", "injected", 3)
    box.proxy.pause("GetEventSourceMapping", nth=5)
    box.reset()
    assert box.proxy.calls == {} and not box.proxy.kms_decrypt_denied and box.proxy.fail_next == {}
    assert client.list_event_source_mappings()["EventSourceMappings"] == []
    assert box.proxy.held.all() == [] and not box.proxy.held.holds_arn(m["EventSourceMappingArn"])
    reseeded = server.seed(box.moto_url, REGION)
    k = client.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=reseeded["orders"],
                                           StartingPosition="LATEST")
    for _ in range(6):  # the old pause is gone
        assert "StartingPositionTimestamp" not in client.get_event_source_mapping(UUID=k["UUID"])


def _what_a_world_holds(box) -> dict:
    lam_, kin, sqs = (server.account_client(box.url, s) for s in ("lambda", "kinesis", "sqs"))
    jobs = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    shards = {s["StreamName"]: kin.describe_stream_summary(StreamName=s["StreamName"])["StreamDescriptionSummary"]
              ["OpenShardCount"] for s in kin.list_streams()["StreamSummaries"]}
    return {"functions": sorted(f["FunctionArn"] for f in lam_.list_functions()["Functions"]), "shards": shards,
            "queues": sorted(sqs.list_queues()["QueueUrls"]),
            "jobs": sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["ApproximateNumberOfMessages"])
            ["Attributes"]["ApproximateNumberOfMessages"],
            "mappings": lam_.list_event_source_mappings()["EventSourceMappings"]}


def test_a_restored_snapshot_is_the_world_seed_made_and_each_restore_starts_from_it_again(box):
    box.reset()
    names = server.seed(box.moto_url, REGION)
    seeded = _what_a_world_holds(box)
    snapshot = box.snapshot()
    # what a test does after a restore: a mapping, messages taken, a stream gone, something the layer holds
    lam(box).create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=names["orders"],
                                         StartingPosition="LATEST")
    lam(box).create_event_source_mapping(**msk())
    sqs = server.account_client(box.url, "sqs")
    sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"], MaxNumberOfMessages=10)
    server.account_client(box.url, "kinesis").delete_stream(StreamName="clicks")
    assert _what_a_world_holds(box) != seeded
    for _ in range(2):
        box.restore(snapshot)
        assert box.proxy.held.all() == [] and box.proxy.calls == {}
        assert _what_a_world_holds(box) == seeded and seeded["jobs"] == "10" and seeded["mappings"] == []
        sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"], MaxNumberOfMessages=10)
        gc.collect()  # what the reset dropped is gone: the copies' own indexes still find them (Lambda's by ARN)
        lam(box).delete_function(FunctionName="jobs-fn")


def test_the_layer_hands_moto_what_its_server_would(box, world):
    """moto is called in place, as its server would call it: a header name with an underscore is dropped (werkzeug's
    server drops it: WSGI cannot tell it from a dash), so `x_moto_account_id` cannot choose moto's account; an error
    moto does not handle is werkzeug's 500 page, not one of the layer's."""
    server.seed(box.moto_url, REGION, account="999999999999")
    client = lam(box)
    client.meta.events.register("before-sign.lambda.ListFunctions",
                                lambda request, **_: request.headers.add_header("x_moto_account_id", "999999999999"))
    assert {f["FunctionArn"].split(":")[4] for f in client.list_functions()["Functions"]} == {server.ACCOUNT}

    def broken(environ, start_response):
        raise RuntimeError("moto fell over")

    from esmctl.sandbox.upstream import Upstream

    status, _, body = Upstream(box.moto_url, app=broken)._forward("GET", "/", b"", {"Host": "127.0.0.1"})
    assert status == 500 and b"Internal Server Error" in body and b"fidelity layer" not in body


# -- accounts: STS AssumeRole, and state per account and region ------------------------------------
OTHER = "222222222222"


def assumed(box, role_arn: str, service: str = "lambda", region: str = REGION, **extra) -> object:
    """A client acting with the keys AssumeRole gave for role_arn (through the layer)."""
    sts = boto3.client("sts", endpoint_url=box.url, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="esmctl-test", **extra)["Credentials"]
    return boto3.client(service, endpoint_url=box.url, region_name=region, aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"],
                        config=Config(retries={"total_max_attempts": 1}))


def test_a_snapshot_keeps_what_the_layer_holds_for_its_mappings(box):
    """Mappings made before a snapshot come back as they were: the kinds the layer holds, the alias in a
    FunctionArn, a consumer source and a StartingPositionTimestamp (moto keeps none of these)."""
    box.reset()
    names = server.seed(box.moto_url, REGION)
    client, kinesis = lam(box), server.account_client(box.url, "kinesis")
    client.create_alias(FunctionName="orders-fn", Name="live",
                        FunctionVersion=client.publish_version(FunctionName="orders-fn")["Version"])
    consumer = kinesis.register_stream_consumer(StreamARN=names["clicks"], ConsumerName="efo")["Consumer"]
    made = [client.create_event_source_mapping(FunctionName="orders-fn:live", EventSourceArn=names["orders"],
                                               StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=1700000000),
            client.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=consumer["ConsumerARN"],
                                               StartingPosition="LATEST"),
            client.create_event_source_mapping(**mq())]
    client.tag_resource(Resource=made[2]["EventSourceMappingArn"], Tags={"team": "a"})
    def got() -> list[dict]:  # each reply without its ResponseMetadata (its Date header is the second it came)
        return [{k: v for k, v in client.get_event_source_mapping(UUID=m["UUID"]).items() if k != "ResponseMetadata"}
                for m in made]

    seen = got()
    snapshot = box.snapshot()
    for _ in range(2):
        box.restore(snapshot)
        assert got() == seen
        assert client.list_tags(Resource=made[2]["EventSourceMappingArn"])["Tags"] == {"team": "a"}
        client.delete_event_source_mapping(UUID=made[2]["UUID"])  # the restored copy changes, not the snapshot


def test_keys_assumed_before_a_snapshot_act_in_their_account_after_a_restore(box):
    box.reset()
    server.seed(box.moto_url, REGION, account=OTHER)
    role = server.create_role(box.moto_url, OTHER, "deployer")
    theirs = assumed(box, role)
    box.restore(box.snapshot())
    made = theirs.create_event_source_mapping(**mq())  # a kind the layer holds, in the role's account
    assert made["EventSourceMappingArn"].split(":")[4] == OTHER
    assert theirs.get_event_source_mapping(UUID=made["UUID"])["UUID"] == made["UUID"]
    assert [m["UUID"] for m in theirs.list_event_source_mappings()["EventSourceMappings"]] == [made["UUID"]]


def test_a_snapshot_keeps_s3s_objects_and_bucket_names(box, monkeypatch):
    """An object's bytes are in a file moto closes at a reset (every key it ever made, the snapshot's copies too),
    and S3 keeps which account owns each bucket name beside its backends (one namespace for all)."""
    monkeypatch.setenv("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "true")
    box.reset()
    s3, theirs = server.account_client(box.url, "s3"), server.account_client(box.url, "s3", account=OTHER)
    s3.create_bucket(Bucket="failed-events")
    s3.put_object(Bucket="failed-events", Key="k", Body=b"v")
    snapshot = box.snapshot()
    for _ in range(2):
        box.restore(snapshot)
        assert s3.get_object(Bucket="failed-events", Key="k")["Body"].read() == b"v"
    assert theirs.get_object(Bucket="failed-events", Key="k")["Body"].read() == b"v"
    with pytest.raises(ClientError) as exc:
        theirs.create_bucket(Bucket="failed-events")
    assert code(exc) == "BucketAlreadyExists"
    s3.create_bucket(Bucket="failed-events")  # one's own bucket again: as it was, its objects kept
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="failed-events")["Contents"]] == ["k"]


def test_assume_role_acts_in_the_roles_account_and_is_refused_for_a_missing_role(box):
    role = server.create_role(box.moto_url, OTHER, "deployer")
    assert assumed(box, role, "sts").get_caller_identity()["Account"] == OTHER
    sts = boto3.client("sts", endpoint_url=box.url, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    with pytest.raises(ClientError) as exc:  # moto alone would hand out keys for any ARN
        sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER}:role/nobody", RoleSessionName="esmctl-test")
    assert code(exc) == "AccessDenied" and "not authorized to perform: sts:AssumeRole" in str(exc.value)


def test_assume_role_checks_the_external_id_the_trust_policy_asks_for(box):
    role = server.create_role(box.moto_url, OTHER, "deployer", external_id="ext-42")
    sts = boto3.client("sts", endpoint_url=box.url, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    for extra in ({}, {"ExternalId": "wrong"}):
        with pytest.raises(ClientError) as exc:
            sts.assume_role(RoleArn=role, RoleSessionName="esmctl-test", **extra)
        assert code(exc) == "AccessDenied"
    assert assumed(box, role, "sts", ExternalId="ext-42").get_caller_identity()["Account"] == OTHER


def test_mappings_the_layer_holds_are_per_account_and_region(box, world):
    other = server.seed(box.moto_url, REGION, account=OTHER)
    role = server.create_role(box.moto_url, OTHER, "deployer")
    mine, theirs = lam(box), assumed(box, role)
    kept = mine.create_event_source_mapping(**mq())  # a kind the layer holds, in moto's default account
    gone = mine.create_event_source_mapping(**mq(queue="refunds"))
    box.proxy.transitional_views = 3
    mine.delete_event_source_mapping(UUID=gone["UUID"])  # Deleting, still listed where it was
    assert theirs.list_event_source_mappings()["EventSourceMappings"] == []
    with pytest.raises(ClientError) as exc:
        theirs.get_event_source_mapping(UUID=kept["UUID"])
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        theirs.delete_event_source_mapping(UUID=gone["UUID"])
    assert code(exc) == "ResourceNotFoundException"
    # the same function name, broker and queue in the other account is another mapping (no 409)
    made = theirs.create_event_source_mapping(**mq())
    assert made["FunctionArn"] == other["orders-fn"] and f":{OTHER}:" in made["EventSourceMappingArn"]
    assert [m["UUID"] for m in theirs.list_event_source_mappings()["EventSourceMappings"]] == [made["UUID"]]
    assert {m["UUID"] for m in mine.list_event_source_mappings()["EventSourceMappings"]} == {kept["UUID"], gone["UUID"]}
    west = assumed(box, role, region="eu-west-1")
    assert west.list_event_source_mappings()["EventSourceMappings"] == []


def test_the_rate_limit_is_per_account_and_region(box, world):
    server.seed(box.moto_url, REGION, account=OTHER)
    role = server.create_role(box.moto_url, OTHER, "deployer")
    clients = [lam(box), assumed(box, role), assumed(box, role, region="eu-west-1")]
    box.proxy.clock = clock = Clock()  # no time passes unless the test says: only the calls count
    box.proxy.rate_limit = 3  # a bucket of 3, refilled at 3 per second
    for client in clients:
        for _ in range(3):  # each bucket is full: no 429
            client.list_event_source_mappings()
    for client in clients:
        with pytest.raises(ClientError) as exc:
            client.list_event_source_mappings()
        assert code(exc) == "TooManyRequestsException"
    assert box.proxy.throttled["ListEventSourceMappings"] == 3
    clock.advance(0.5)  # half a second: 1.5 tokens back in each bucket, so one more call and not two
    for client in clients:
        client.list_event_source_mappings()
        with pytest.raises(ClientError) as exc:
            client.list_event_source_mappings()
        assert code(exc) == "TooManyRequestsException"
    clock.advance(60)  # a long quiet spell fills a bucket up to its size, no further
    for client in clients:
        for _ in range(3):
            client.list_event_source_mappings()
        with pytest.raises(ClientError):
            client.list_event_source_mappings()
    assert box.proxy.throttled["ListEventSourceMappings"] == 9


def test_latency_is_a_calls_whole_time_its_work_included(box, world):
    """A call to AWS takes about as long whatever else is asked of it: the emulator's own work (one Python process,
    where AWS serves accounts and regions apart) is within the latency, not added to it, so that calls made at once
    are not answered one after the other as that process gets to them (a fleet's 12 targets, their pages)."""
    clock = Clock()
    box.proxy.clock, box.proxy.sleep, box.proxy.latency = clock, clock.sleep, 0.25
    for work, waited in ((0.1, [0.15]), (0.4, [])):  # the work took 0.1 s: 0.15 s more; 0.4 s: no more
        held = box.proxy.pause("ListEventSourceMappings")
        call = threading.Thread(target=lam(box).list_event_source_mappings)
        call.start()
        assert held.reached.wait(10)
        clock.advance(work)
        held.release()
        call.join(10)
        assert clock.slept == pytest.approx(waited)
        clock.slept.clear()


def test_latency_waits_through_the_sleep_it_is_given(box, world):
    clock = Clock()
    box.proxy.clock, box.proxy.sleep, box.proxy.latency = clock, clock.sleep, 0.25
    lam(box).list_event_source_mappings()
    assert clock.slept == [0.25]  # once per call, before it is answered


def test_reset_and_restore_put_every_knob_back_as_start_gave_it(box, world):
    """A user's suite restores a snapshot before each test: the layer's knobs (latency, rate limit, transitional
    views, page size, legacy sentinels) go back to what `server.start` gave, as the clock and the injected failures
    already did (a review found a test's latency and real-clock rate limit leaking into the next)."""
    snapshot = box.snapshot()
    proxy = box.proxy
    proxy.latency, proxy.rate_limit, proxy.transitional_views, proxy.page_size = 0.5, 15, 3, 2
    proxy.legacy_sentinels = True
    box.restore(snapshot)
    assert (proxy.latency, proxy.rate_limit, proxy.transitional_views, proxy.page_size, proxy.legacy_sentinels) == \
        (0.0, None, 0, 100, False)
    proxy.latency = 0.5
    box.reset()
    assert proxy.latency == 0.0


def test_the_layer_takes_many_connections_at_once():
    """An AWS endpoint takes every connection its callers open at once. The layer's listen queue held 5: under
    load, the sixth of an apply's 20 threads (or of a fleet's 12 targets) had its connection dropped by the kernel
    and sent again a second later. Here nothing accepts (the layer is made, not started): 40 connections are all
    taken by the kernel all the same."""
    import socket

    from esmctl.sandbox.fidelity import FidelityProxy

    proxy = FidelityProxy("http://127.0.0.1:9", port=0)
    host, port = proxy._server.server_address[:2]
    socks = []
    try:
        for _ in range(40):
            s = socket.socket()
            s.settimeout(5)  # a dropped connection is sent again after 1 s, and dropped again
            s.connect((host, port))
            socks.append(s)
    finally:
        for s in socks:
            s.close()
        proxy._server.server_close()
    assert len(socks) == 40


def test_a_source_that_is_not_there_is_refused_as_aws_refuses_it(box, world):
    """moto makes a mapping on any consumer ARN of a stream and describes any stream label of a table; AWS knows
    only the consumers registered (an ARN names one registration, its time included) and the streams a table has."""
    client, kinesis = lam(box), server.account_client(box.url, "kinesis")
    streams = server.account_client(box.url, "dynamodbstreams")
    registered = kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName="efo")["Consumer"]
    registered = registered["ConsumerARN"]
    other_time = registered.rsplit(":", 1)[0] + ":1000000000"
    never = world["orders"] + "/consumer/never:1000000000"
    for arn in (other_time, never):
        with pytest.raises(ClientError) as refused:
            client.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=arn, StartingPosition="LATEST")
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException", arn
        with pytest.raises(ClientError) as refused:
            kinesis.describe_stream_consumer(ConsumerARN=arn)
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException", arn
    assert kinesis.describe_stream_consumer(ConsumerARN=registered)["ConsumerDescription"]["ConsumerARN"] == registered
    made = client.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=registered,
                                              StartingPosition="LATEST")
    assert made["EventSourceArn"] == registered
    assert [m["UUID"] for m in client.list_event_source_mappings()["EventSourceMappings"]] == [made["UUID"]]
    label = world["orders-table-stream"]
    assert streams.describe_stream(StreamArn=label)["StreamDescription"]["StreamArn"] == label
    with pytest.raises(ClientError) as refused:
        streams.describe_stream(StreamArn=label.rsplit("/", 1)[0] + "/2000-01-01T00:00:00.000")
    assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_every_lambda_call_is_named_counted_and_faulted_by_its_operation(box, world):
    """Operation names from botocore's model: CreateFunction, GetFunction, Invoke… were all "POST/GET functions",
    so fail_next, pause and throttle_next of them did nothing (a review, as a user writing tests of their own)."""
    client = lam(box)
    box.proxy.clear_counts()
    client.get_function(FunctionName="orders-fn")
    assert box.proxy.calls["GetFunction"] == 1
    box.proxy.fail_next["GetFunction"] = (500, "ServiceException", "injected")
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName="orders-fn")
    assert code(exc) == "ServiceException"
    box.proxy.throttle_next["PutFunctionConcurrency"] = 1
    with pytest.raises(ClientError) as exc:
        client.put_function_concurrency(FunctionName="orders-fn", ReservedConcurrentExecutions=5)
    assert code(exc) == "TooManyRequestsException"
    # every control-plane API shares the 15/s (GetAccountSettings, concurrency…); GetFunction has a quota of its own
    box.proxy.clock = Clock()  # no time passes: only the calls count
    box.proxy.rate_limit = 2
    client.get_account_settings()
    client.put_function_concurrency(FunctionName="orders-fn", ReservedConcurrentExecutions=5)
    with pytest.raises(ClientError) as exc:
        client.list_event_source_mappings()
    assert code(exc) == "TooManyRequestsException"
    client.get_function(FunctionName="orders-fn")  # its own 100/s
    box.proxy.rate_limit = 0
    # a lost reply, for any operation: carried out, then a 500
    uuid = client.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])["UUID"]
    box.proxy.lose_reply.add("UpdateEventSourceMapping")
    with pytest.raises(ClientError):
        client.update_event_source_mapping(UUID=uuid, BatchSize=5)
    assert client.get_event_source_mapping(UUID=uuid)["BatchSize"] == 5 and not box.proxy.lose_reply


def test_a_marker_no_listing_gave_is_a_400_and_a_consumer_deregistered_by_name_is_that_one(box, world):
    with pytest.raises(ClientError) as exc:
        lam(box).list_event_source_mappings(Marker="not-a-marker")
    assert code(exc) == "InvalidParameterValueException"
    kinesis = boto3.client("kinesis", endpoint_url=box.url, region_name=REGION, aws_access_key_id="testing",
                           aws_secret_access_key="testing")
    for name in ("a", "b"):
        kinesis.register_stream_consumer(StreamARN=world["orders"], ConsumerName=name)
    kinesis.deregister_stream_consumer(StreamARN=world["orders"], ConsumerName="a")  # moto deleted "b"
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=world["orders"])["Consumers"]] == ["b"]
