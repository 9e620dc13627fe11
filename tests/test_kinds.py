"""Every kind of source end to end: the real CLI against the AWS-like layer, which holds the MSK,
self-managed Kafka, MQ and DocumentDB mappings moto cannot, and answers as AWS does (defaults it fills
in, what UpdateEventSourceMapping accepts, KMS-encrypted filters, echoed timestamps)."""

from __future__ import annotations

import json

from tests.helpers import ACCOUNT, REGION, client, kinesis, mappings, spec_file

CLUSTER = f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-1"
BROKER = f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:jobs:b-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
DOCDB = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:orders-docdb"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:creds-AbCdEf"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def kafka(topic, brokers=("b-2.example.com:9092", "b-1.example.com:9092"), **extra):
    return {"FunctionName": "orders-fn", "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS":
                                                                                  list(brokers)}},
            "Topics": [topic], "StartingPosition": "TRIM_HORIZON", **extra}


def msk(topic, **extra):
    return {"FunctionName": "orders-fn", "EventSourceArn": CLUSTER, "Topics": [topic], "StartingPosition": "LATEST",
            **extra}


def plan(esmctl, path):
    r = esmctl("plan", path, "-o", "json")
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)


def test_self_managed_kafka_mappings_by_topic_in_any_broker_order(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kafka("orders"), kafka("payments")])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert sorted(m["Topics"][0] for m in mappings(box)) == ["orders", "payments"]
    # the same spec, brokers in another order, entries in another order: in sync
    path = spec_file(tmp_path, [kafka("payments", brokers=("b-1.example.com:9092", "b-2.example.com:9092")),
                                kafka("orders")])
    assert esmctl("diff", path).exit_code == 0
    # a change of one is an update of that one (it used to plan a replace of the wrong mapping)
    path = spec_file(tmp_path, [kafka("orders"), kafka("payments", BatchSize=50)])
    [change] = plan(esmctl, path)["changes"]
    assert change["action"] == "update" and change["topic"] == "payments"
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0


def test_msk_and_mq_mappings_one_per_topic_or_queue_with_aws_defaults(esmctl, world, box, tmp_path):
    mq = [{"FunctionName": "jobs-fn", "EventSourceArn": BROKER, "Queues": [q],
           "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": SECRET}]} for q in ("jobs", "retries")]
    path = spec_file(tmp_path, [msk("orders"), msk("payments"), *mq])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert len(mappings(box)) == 4
    # AWS generated the consumer groups: not drift
    assert all(m["AmazonManagedKafkaEventSourceConfig"]["ConsumerGroupId"] for m in mappings(box)
               if m.get("Topics"))
    assert esmctl("diff", path).exit_code == 0


def test_kafka_schema_registry_changes_in_place_and_a_consumer_group_is_a_replace(esmctl, world, box, tmp_path):
    assert esmctl("apply", spec_file(tmp_path, [msk("orders")])).exit_code == 0
    [before] = mappings(box)
    registry = {"SchemaRegistryURI": "https://registry.example.com", "EventRecordFormat": "JSON",
                "AccessConfigs": [{"Type": "BASIC_AUTH", "URI": SECRET}]}
    path = spec_file(tmp_path, [msk("orders", AmazonManagedKafkaEventSourceConfig={"SchemaRegistryConfig": registry})])
    [change] = plan(esmctl, path)["changes"]
    assert change["action"] == "update"
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    [after] = mappings(box)
    assert after["UUID"] == before["UUID"]  # the offsets stay
    assert after["AmazonManagedKafkaEventSourceConfig"]["SchemaRegistryConfig"]["SchemaRegistryURI"] == \
        registry["SchemaRegistryURI"]
    assert esmctl("diff", path).exit_code == 0
    path = spec_file(tmp_path, [msk("orders", AmazonManagedKafkaEventSourceConfig={"ConsumerGroupId": "mine"})])
    [change] = plan(esmctl, path)["changes"]
    assert change["action"] == "replace" and "ConsumerGroupId" in change["reason"]


def test_documentdb_full_document_is_aws_default_and_changes_in_place(esmctl, world, box, tmp_path):
    doc = {"FunctionName": "audit-fn", "EventSourceArn": DOCDB, "StartingPosition": "LATEST",
           "DocumentDBEventSourceConfig": {"DatabaseName": "orders"},
           "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": SECRET}]}
    path = spec_file(tmp_path, [doc])
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0  # FullDocument "Default" filled by AWS: no perpetual replace
    doc["DocumentDBEventSourceConfig"]["FullDocument"] = "UpdateLookup"
    path = spec_file(tmp_path, [doc])
    [change] = plan(esmctl, path)["changes"]
    assert change["action"] == "update"
    assert esmctl("apply", path).exit_code == 0
    [m] = mappings(box)
    assert m["DocumentDBEventSourceConfig"]["FullDocument"] == "UpdateLookup"
    del doc["DocumentDBEventSourceConfig"]["FullDocument"]  # removed: AWS's default comes back, once
    path = spec_file(tmp_path, [doc])
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0
    [m] = mappings(box)
    assert m["DocumentDBEventSourceConfig"]["FullDocument"] == "Default"


def test_removing_a_destination_is_accepted_and_a_kafka_window_says_it_cannot(esmctl, world, box, tmp_path):
    dest = {"DestinationConfig": {"OnFailure": {"Destination": world["orders-dlq"]}}}
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world, **dest)])).exit_code == 0
    path = spec_file(tmp_path, [kinesis(world)])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr  # the layer refuses {"OnFailure": {}} as AWS does
    [m] = mappings(box)
    assert m["DestinationConfig"] == {"OnFailure": {}}
    assert box.proxy.bodies["UpdateEventSourceMapping"][-1]["DestinationConfig"] == {"OnFailure": {"Destination": ""}}
    assert esmctl("apply", spec_file(tmp_path, [msk("orders", MaximumBatchingWindowInSeconds=5)])).exit_code == 0
    doc = plan(esmctl, spec_file(tmp_path, [msk("orders")]))
    assert doc["changes"] == []
    [note] = doc["notes"]
    assert note["note"].startswith("MaximumBatchingWindowInSeconds stays 5") and "500 ms" in note["note"]


def test_kms_encrypted_filters_are_read_with_get_and_never_changed_blind(esmctl, world, box, tmp_path):
    filters = {"Filters": [{"Pattern": {"body": {"kind": ["a"]}}}]}
    path = spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY, FilterCriteria=filters)])
    assert esmctl("apply", path).exit_code == 0
    box.proxy.clear_counts()
    assert esmctl("diff", path).exit_code == 0  # the listing hides them; one Get reads them
    assert box.proxy.calls["GetEventSourceMapping"] == 1
    exported = esmctl("export", "-o", "json")
    assert json.loads(exported.stdout)["mappings"][0]["FilterCriteria"] == filters
    box.proxy.kms_decrypt_denied = True
    changed = spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY, FilterCriteria={
        "Filters": [{"Pattern": {"body": {"kind": ["b"]}}}]})])
    doc = plan(esmctl, changed)
    assert doc["changes"] == []
    assert "cannot be read" in doc["notes"][0]["note"] and "kms:Decrypt" in doc["notes"][0]["note"]
    r = esmctl("export")
    assert "FilterCriteria" not in r.stdout and "left out of the export" in r.stderr


def test_filters_are_added_to_a_mapping_with_a_kms_key_and_none(esmctl, world, box, tmp_path):
    # The listing shows null filters whenever a KMS key is set; a Get with no FilterCriteria and no
    # FilterCriteriaError means there are none, so adding some is an ordinary update.
    assert esmctl("apply", spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY)])).exit_code == 0
    filters = {"Filters": [{"Pattern": {"body": {"kind": ["a"]}}}]}
    path = spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY, FilterCriteria=filters)])
    doc = plan(esmctl, path)
    assert [c["action"] for c in doc["changes"]] == ["update"] and doc["notes"] == []
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0
    box.proxy.kms_decrypt_denied = True  # and unreadable ones are said, even when the spec has none
    doc = plan(esmctl, spec_file(tmp_path, [kinesis(world, KMSKeyArn=KMS_KEY)]))
    assert doc["changes"] == [] and "cannot be read" in doc["notes"][0]["note"]


def test_timestamps_round_trip_in_any_spelling(esmctl, world, box, tmp_path):
    at = {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": "2024-01-01T02:00:00+02:00"}
    path = spec_file(tmp_path, [kinesis(world, **at)])
    assert esmctl("apply", path).exit_code == 0
    box.proxy.clear_counts()
    for spelling in ("2024-01-01T00:00:00Z", 1704067200, "2024-01-01 00:00:00"):
        r = esmctl("diff", spec_file(tmp_path, [kinesis(world, StartingPosition="AT_TIMESTAMP",
                                                        StartingPositionTimestamp=spelling)]))
        assert r.exit_code == 0, (spelling, r.stdout)
    unquoted = tmp_path / "date.yaml"
    unquoted.write_text(f"version: 1\nmappings:\n  - FunctionName: audit-fn\n    EventSourceArn: {world['orders']}\n"
                        "    StartingPosition: AT_TIMESTAMP\n    StartingPositionTimestamp: 2024-01-01\n")
    r = esmctl("apply", str(unquoted))
    assert r.exit_code == 0, r.stderr
    assert esmctl("diff", str(unquoted)).exit_code == 0
    assert box.proxy.writes() == 1


def test_a_spec_without_region_works_in_the_region_of_its_arns(esmctl, world, box, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    path = spec_file(tmp_path, [kinesis(world, FunctionName=world["orders-fn"])])
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0
    assert len(mappings(box)) == 1


def test_a_consumer_by_name_and_by_arn_with_other_function_spellings_are_one_mapping(esmctl, world, box, tmp_path):
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=world["orders"], ConsumerName="fanout")["Consumer"]["ConsumerARN"]
    path = spec_file(tmp_path, [kinesis(world, Consumer="fanout"),
                                kinesis(world, FunctionName=world["orders-fn"], EventSourceArn=arn)])
    r = esmctl("plan", path)
    assert r.exit_code == 1 and "the same mapping as at" in r.stderr
    assert box.proxy.writes() == 1  # only the registration above


def test_deleting_counts_as_gone_and_the_create_waits_for_it(esmctl, world, box, tmp_path):
    lam = client(box, "lambda", direct=False)
    uuid = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                           StartingPosition="TRIM_HORIZON")["UUID"]
    box.proxy.transitional_views = 3
    lam.delete_event_source_mapping(UUID=uuid)  # Deleting for three reads: a create meanwhile would get 409
    path = spec_file(tmp_path, [kinesis(world)])
    r = esmctl("diff", path)
    assert r.exit_code == 2 and "+ create orders-fn <- kinesis:orders" in r.stdout
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stdout + r.stderr
    box.proxy.transitional_views = 0
    [m] = mappings(box)
    assert m["UUID"] != uuid


def test_mapping_create_of_self_managed_kafka(esmctl, world, box):
    source = json.dumps({"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b-1.example.com:9092"]}})
    r = esmctl("mapping", "create", "--function", "orders-fn", "--self-managed-event-source", source,
               "--topics", "orders", "--starting-position", "latest", "-o", "json")
    assert r.exit_code == 0, r.stderr
    created = json.loads(r.stdout)
    assert created["Topics"] == ["orders"] and "EventSourceArn" not in created
    # the listing's table names what it reads, as plans do: its brokers and topic (a review saw a blank SOURCE)
    [row] = [line for line in esmctl("list").stdout.splitlines() if created["UUID"] in line]
    assert "kafka:b-1.example.com:9092 orders" in row
    [row] = [line for line in esmctl("status", "--function", "orders-fn").stdout.splitlines() if "orders-fn" in line]
    assert "kafka:b-1.example.com:9092 orders" in row, row


def test_kafka_queue_mode_is_created_and_stays_in_sync(esmctl, world, box, tmp_path):
    queue = kafka("jobs", SelfManagedKafkaEventSourceConfig={"ConsumptionMode": "Queue"})
    del queue["StartingPosition"]  # not supported in Queue mode
    path = spec_file(tmp_path, [queue])
    assert esmctl("apply", path).exit_code == 0
    assert esmctl("diff", path).exit_code == 0  # AWS's Queue-mode default of 0 retries is no drift
    [m] = mappings(box)
    assert m["MaximumRetryAttempts"] == 0 and "StartingPosition" not in m
    retried = spec_file(tmp_path, [{**queue, "MaximumRetryAttempts": 3}], name="retried.yaml")
    assert esmctl("apply", retried).exit_code == 0
    assert esmctl("apply", path).exit_code == 0  # removed again: 0, not the -1 Queue mode refuses
    assert mappings(box)[0]["MaximumRetryAttempts"] == 0 and esmctl("diff", path).exit_code == 0
    box.proxy.clear_counts()
    r = esmctl("apply", spec_file(tmp_path, [{**queue, "StartingPosition": "LATEST"}], name="bad.yaml"))
    assert r.exit_code == 1 and "ConsumptionMode Queue" in r.stderr and box.proxy.writes() == 0


def test_a_function_arn_without_function_colon_applies_and_then_diffs_clean(esmctl, world, box, tmp_path):
    """Lambda's pattern allows `arn:aws:lambda:REGION:ACCOUNT:NAME` (no `function:`); plan resolves it, so
    apply must create the mapping for that function too (the create sends the resolved function ARN)."""
    fn = world["jobs-fn"].replace(":function:", ":")
    path = spec_file(tmp_path, [{"FunctionName": fn, "EventSourceArn": world["jobs"]}])
    r = esmctl("apply", path, "--yes")
    assert r.exit_code == 0, r.stdout + r.stderr
    [m] = [m for m in mappings(box) if m["EventSourceArn"] == world["jobs"]]
    assert m["FunctionArn"] == world["jobs-fn"]
    assert esmctl("diff", path).exit_code == 0
