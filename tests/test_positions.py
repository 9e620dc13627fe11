"""Every change keeps the stream position, in memory: what a move may delete without --allow-replace.

An old mapping in a slot is deleted without consent only when the new one provably starts at or
before its position: the hand-off tag names it, TRIM_HORIZON, or AT_TIMESTAMP no later than where the
old one was. A move to another function is an update of FunctionName, which Lambda makes in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from esmctl.mapping import compare, identity, marks, values
from esmctl.plan.planner import diff  # noqa: F401
from esmctl.plan.types import Action, Plan, Position, Reads  # noqa: F401
from tests import reported
from tests.reported import desired, live
from tests.test_plan import ops, plan

FN, STREAM, TABLE_STREAM, consumer_arn = reported.FN, reported.STREAM, reported.TABLE_STREAM, reported.consumer_arn
CLUSTER = reported.CLUSTER
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
KINESIS = {"EventSourceArn": STREAM, "StartingPosition": "LATEST"}
ON_CONSUMER = {**KINESIS, "EventSourceArn": consumer_arn("fanout")}


def want_consumer(**params):
    return desired({**KINESIS, **params}, consumer="fanout", registered=consumer_arn("fanout"))


# -- finishing a move ---------------------------------------------------------------------------------
def test_a_mapping_made_by_hand_at_latest_is_not_a_finished_move_without_consent():
    old, by_hand = live(KINESIS), live(ON_CONSUMER)  # no hand-off tag: nobody placed it
    [change] = plan([want_consumer()], [old, by_hand]).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace and change.uuid == old.uuid
    assert f"{by_hand.uuid} starts at LATEST" in change.reason.text and "skip" in change.reason.text
    assert ops(change) == ["wait-settled", "delete", "wait-gone"]


@pytest.mark.parametrize("how", ["tag", "trim horizon", "before the old start", "before the old position"])
def test_a_new_mapping_that_provably_starts_at_or_before_the_old_position_finishes_the_move(how):
    old_params, new_params, tags, positions = dict(KINESIS), dict(ON_CONSUMER), {}, {}
    if how == "trim horizon":
        new_params["StartingPosition"] = "TRIM_HORIZON"
    elif how == "before the old start":
        old_params.update(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=NOW)
        new_params.update(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=NOW - timedelta(seconds=1))
    elif how == "before the old position":
        # the new one is Disabled, so the function's IteratorAge is the old one's alone
        new_params.update(StartingPosition="AT_TIMESTAMP", StartingPositionTimestamp=NOW - timedelta(minutes=2),
                          Enabled=False)
        positions = {FN: Position(NOW, 60_000)}  # the old one was a minute behind at NOW
    old = live(old_params)
    new = live(new_params)
    if how == "tag":
        tags = {new.uuid: {marks.HANDOFF_TAG: f"0000,{old.uuid}"}}
    # the spec says where the new mapping starts (else its start would be drift of its own)
    start = {k: v for k, v in new_params.items() if k.startswith("StartingPosition") or k == "Enabled"}
    want = want_consumer(**start)
    [change] = plan([want], [old, new], tags=tags, positions=positions).changes
    assert change.action == Action.HANDOFF and not change.needs_allow_replace, change.reason.text
    assert ops(change) == ["wait-settled", "delete", "wait-gone"] and change.uuid == old.uuid


def test_a_new_mapping_that_starts_after_the_old_position_needs_consent():
    old = live(KINESIS)
    start = {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": NOW - timedelta(seconds=30)}
    new = live({**ON_CONSUMER, **start, "Enabled": False})
    [change] = plan([want_consumer(**start, Enabled=False)], [old, new], positions={FN: Position(NOW, 60_000)}).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace
    assert "after" in change.reason.text and values.iso(NOW - timedelta(seconds=60)) in change.reason.text


def test_a_running_new_mapping_cannot_be_placed_by_the_functions_iterator_age():
    # IteratorAge is per function: with the new mapping running, it no longer tells where the old one is.
    old = live(KINESIS)
    start = {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": NOW - timedelta(hours=1)}
    new = live({**ON_CONSUMER, **start})
    [change] = plan([want_consumer(**start)], [old, new], positions={FN: Position(NOW, 0)}).changes
    assert change.action == Action.REPLACE and "IteratorAge is per function" in change.reason.text


def test_a_dynamodb_table_stream_move_is_never_finished_without_consent():
    new_stream = TABLE_STREAM.replace("2024-01-01", "2025-01-01")
    old = live({"EventSourceArn": TABLE_STREAM, "StartingPosition": "TRIM_HORIZON"})
    new = live({"EventSourceArn": new_stream, "StartingPosition": "TRIM_HORIZON"})
    [change] = plan([desired({"EventSourceArn": new_stream, "StartingPosition": "TRIM_HORIZON"})], [old, new]).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace and "DynamoDB" in change.reason.text


def test_finishing_waits_for_the_new_mapping_to_run_cleanly():
    old = live(KINESIS)
    new = compare.live_mapping({**reported.reported({**ON_CONSUMER, "StartingPosition": "TRIM_HORIZON"}),
                              "LastProcessingResult": "PROBLEM: SubscribeToShard access denied"})
    [change] = plan([want_consumer(StartingPosition="TRIM_HORIZON")], [old, new]).changes
    assert change.action == Action.HANDOFF and (change.steps[0].state, change.steps[0].healthy) == ("Enabled", True)
    assert "PROBLEM" in change.reason.text


# -- moving to another function, alias or version ---------------------------------------------------
def moved(params, moved_from, **kw):
    ref = identity.function_ref(params["FunctionName"], reported.REGION, reported.ACCOUNT)
    old = identity.function_ref(moved_from, reported.REGION, reported.ACCOUNT)
    return compare.desired_mapping(params, ref, where="spec.yaml:3:3", moved_from=old, **kw)


@pytest.mark.parametrize("to,from_", [("audit-fn", "orders-fn"), ("orders-fn:live", "orders-fn"),
                                      ("orders-fn:2", "orders-fn:1")])
def test_moved_from_is_an_in_place_update_of_the_function(to, from_):
    old = live({**KINESIS, "FunctionName": from_}, function_arn=identity.function_ref(
        from_, reported.REGION, reported.ACCOUNT).qualified_arn)
    want = moved({**KINESIS, "FunctionName": to, "BatchSize": 50}, from_)
    p = plan([want], [old])
    [change] = p.changes
    assert change.action == Action.MOVE and change.uuid == old.uuid and not change.destructive
    assert ops(change) == ["update", "wait-settled"]
    update = change.steps[0].params
    assert update == {"FunctionName": want.key.function, "BatchSize": 50}
    assert change.fields[0] == compare.FieldChange("FunctionName", old.key.function, want.key.function)
    assert not p.unmanaged
    # once moved, the same spec is in sync (MovedFrom stays harmless, like Terraform's moved blocks)
    after = live({**KINESIS, "FunctionName": to, "BatchSize": 50}, function_arn=want.key.function)
    assert plan([want], [after]).empty


def test_a_move_with_a_create_only_change_is_a_replace():
    old = live({**KINESIS, "StartingPosition": "TRIM_HORIZON"})
    [change] = plan([moved({**KINESIS, "FunctionName": "audit-fn"}, "orders-fn")], [old]).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace and "StartingPosition" in change.reason.text
    assert ops(change)[:2] == ["delete", "wait-gone"]  # another identity, but the same data: delete first
    kafka = {"EventSourceArn": CLUSTER, "Topics": ["orders"], "StartingPosition": "LATEST"}
    want = moved({**kafka, "FunctionName": "audit-fn",
                  "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "new-group"}}, "orders-fn")
    [change] = plan([want], [live(kafka)]).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace and "ConsumerGroupId" in change.reason.text
    assert change.fields[0].name == "FunctionName" and "moves from orders-fn" in change.reason.text
    sqs = {"EventSourceArn": reported.QUEUE}
    assert plan([moved({**sqs, "FunctionName": "audit-fn"}, "orders-fn")], [live(sqs)]).changes[0].action == Action.MOVE


def test_moved_from_a_mapping_the_spec_still_lists_moves_nothing():
    old = live(KINESIS)
    p = plan([desired(KINESIS), moved({**KINESIS, "FunctionName": "audit-fn"}, "orders-fn")], [old])
    assert [c.action for c in p.changes] == [Action.CREATE] and p.in_sync == 1


# -- what a replace keeps ----------------------------------------------------------------------------
def test_a_kafka_replace_keeps_the_consumer_group_the_spec_does_not_name():
    topic = {"EventSourceArn": CLUSTER, "Topics": ["orders"], "StartingPosition": "LATEST"}
    have = live(topic)  # AWS generated ConsumerGroupId "generated-0001"
    [change] = plan([desired({**topic, "StartingPosition": "TRIM_HORIZON"})], [have]).changes
    create = next(s for s in change.steps if s.op == "create").params
    assert change.action == Action.REPLACE
    assert create["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "generated-0001"}
    named = {**topic, "StartingPosition": "TRIM_HORIZON",
             "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "mine"}}
    [change] = plan([desired(named)], [have]).changes
    create = next(s for s in change.steps if s.op == "create").params
    assert create["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "mine"}


def test_a_kafka_replace_records_the_group_it_keeps_and_a_create_after_an_interruption_joins_it():
    topic = {"EventSourceArn": CLUSTER, "Topics": ["orders"], "StartingPosition": "LATEST", "Tags": {"a": "b"}}
    have = live({k: v for k, v in topic.items() if k != "Tags"})  # ConsumerGroupId "generated-0001"
    want = desired({**topic, "StartingPosition": "TRIM_HORIZON"})  # the spec manages the tags, names no group
    [change] = plan([want], [have], tags={have.uuid: {"a": "b"}}).changes
    assert ops(change) == ["record-tags", "delete", "wait-gone", "create", "forget-tags", "wait-settled"]
    [(_, record)] = marks.tag_records(change.steps[0].fields()["tags"]).items()
    assert record.keep == {"AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "generated-0001"}}
    assert record.tags == {}  # the spec has them
    assert "joins consumer group generated-0001, the old mapping's" in change.reason.text
    assert "TRIM_HORIZON" not in change.reason.text  # the group's offsets decide where it starts, not the spec
    # killed between the delete and the create: the next run's create joins the recorded group
    [change] = plan([want], [], function_tags={FN: change.steps[0].fields()["tags"]}).changes
    assert change.action == Action.CREATE and ops(change) == ["create", "forget-tags", "wait-settled"]
    assert change.steps[0].params["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "generated-0001"}
    assert change.steps[0].params["Tags"] == {"a": "b"} and "consumer group generated-0001" in change.reason.text
    # a spec that names a group has it, record or not; a new group is said to start at the spec's position
    named = desired({**topic, "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "mine"}})
    record = marks.tag_record(named.key, {}, datetime.now(timezone.utc), record.keep)
    [change] = plan([named], [], function_tags={FN: record}).changes
    assert change.steps[0].params["AmazonManagedKafkaEventSourceConfig"] == {"ConsumerGroupId": "mine"}
    [change] = plan([named], [have], tags={have.uuid: {"a": "b"}}).changes
    assert "a new consumer group, LATEST" in change.reason.text and "record-tags" not in ops(change)


def test_a_kafka_replace_shows_the_generated_group_kept_but_not_into_another_consumption_mode():
    brokers = {"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["k1:9092"]}},
               "Topics": ["events"]}
    registry = {"SchemaRegistryURI": "https://registry.example.com", "EventRecordFormat": "JSON",
                "SchemaValidationConfigs": [{"Attribute": "VALUE"}]}
    have = live({**brokers, "StartingPosition": "LATEST",
                 "SelfManagedKafkaEventSourceConfig": {"ConsumptionMode": "Stream", "ConsumerGroupId": "g-1"}})
    want = desired({**brokers, "StartingPosition": "TRIM_HORIZON",
                    "SelfManagedKafkaEventSourceConfig": {"SchemaRegistryConfig": registry}})
    [change] = plan([want], [have]).changes
    assert change.action == Action.REPLACE
    [shown] = [c for c in change.fields if c.name == "SelfManagedKafkaEventSourceConfig"]
    assert shown.after["ConsumerGroupId"] == "g-1"  # not "(unset)": it is kept (a review)
    create = next(s for s in change.steps if s.op == "create").params
    assert create["SelfManagedKafkaEventSourceConfig"]["ConsumerGroupId"] == "g-1"
    # Queue mode reads as a share group, and Kafka keeps one kind of group under an ID: a new one
    queued = live({**brokers, "SelfManagedKafkaEventSourceConfig": {"ConsumptionMode": "Queue",
                                                                    "ConsumerGroupId": "g-2"}})
    streamed = desired({**brokers, "StartingPosition": "TRIM_HORIZON",
                        "SelfManagedKafkaEventSourceConfig": {"ConsumptionMode": "Stream"}})
    [change] = plan([streamed], [queued]).changes
    [shown] = [c for c in change.fields if c.name == "SelfManagedKafkaEventSourceConfig"]
    assert "ConsumerGroupId" not in shown.after and "a new consumer group" in change.reason.text
    create = next(s for s in change.steps if s.op == "create").params
    assert "ConsumerGroupId" not in create["SelfManagedKafkaEventSourceConfig"]


def test_what_aws_cannot_unset_in_place_and_changes_what_is_read_is_a_replace():
    docdb = {"EventSourceArn": reported.DOCDB_CLUSTER, "StartingPosition": "LATEST"}
    have = live({**docdb, "DocumentDBEventSourceConfig": {"DatabaseName": "db", "CollectionName": "orders"}})
    # no collection: every collection of the database (the model: CollectionName cannot be "")
    [change] = plan([desired({**docdb, "DocumentDBEventSourceConfig": {"DatabaseName": "db"}})], [have]).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace
    assert "DocumentDBEventSourceConfig.CollectionName cannot be changed in place" in change.reason.text
    # another collection is an update in place
    [change] = plan([desired({**docdb, "DocumentDBEventSourceConfig": {"DatabaseName": "db",
                                                                       "CollectionName": "users"}})], [have]).changes
    assert change.action == Action.UPDATE
    # SQS: provisioned mode left for MaximumConcurrency, which AWS does not combine with it
    polled = live({"EventSourceArn": reported.QUEUE, "ProvisionedPollerConfig": {"MinimumPollers": 4,
                                                                                 "MaximumPollers": 50}})
    [change] = plan([desired({"EventSourceArn": reported.QUEUE, "ScalingConfig": {"MaximumConcurrency": 5}})],
                    [polled]).changes
    assert change.action == Action.REPLACE and "ProvisionedPollerConfig cannot be changed in place" in \
        change.reason.text
    create = next(s for s in change.steps if s.op == "create").params
    assert create["ScalingConfig"] == {"MaximumConcurrency": 5} and "ProvisionedPollerConfig" not in create
    # without ScalingConfig the poller configuration stays, with a note (as before)
    p = plan([desired({"EventSourceArn": reported.QUEUE})], [polled])
    assert p.empty and any("ProvisionedPollerConfig stays" in n.text for n in p.notes)


def test_a_replace_records_the_kept_tags_on_the_function_before_it_deletes():
    have = live(KINESIS)
    [change] = plan([desired({**KINESIS, "StartingPosition": "TRIM_HORIZON"})], [have],
                    tags={have.uuid: {"team": "orders", "aws:cloudformation:stack-name": "x"}}).changes
    assert ops(change) == ["record-tags", "delete", "wait-gone", "create", "forget-tags", "wait-settled"]
    record = change.steps[0].fields()
    [(prefix, kept)] = marks.tag_records(record["tags"]).items()
    assert record["arn"] == FN and prefix == marks.record_prefix(have.key) and kept.tags == {"team": "orders"}
    assert change.steps[3].params["Tags"] == {"team": "orders"}
    assert change.steps[4].fields() == {"arn": FN, "keys": tuple(sorted(record["tags"]))}
    # The spec manages the tags: nothing to record, the spec has them.
    [change] = plan([desired({**KINESIS, "StartingPosition": "TRIM_HORIZON", "Tags": {"a": "b"}})], [have],
                    tags={have.uuid: {"team": "orders"}}).changes
    assert "record-tags" not in ops(change)


def test_a_create_after_an_interrupted_replace_takes_the_recorded_tags():
    want = desired({**KINESIS, "StartingPosition": "TRIM_HORIZON"})
    record = marks.tag_record(want.key, {"team": "orders"}, datetime.now(timezone.utc) - timedelta(hours=1))
    [change] = plan([want], [], function_tags={FN: {**record, "owner": "me"}}).changes
    assert change.action == Action.CREATE and ops(change) == ["create", "forget-tags", "wait-settled"]
    assert change.steps[0].params["Tags"] == {"team": "orders"}
    assert change.steps[1].fields() == {"arn": FN, "keys": tuple(sorted(record))}
    # another identity's record is not this one's
    other = desired({**KINESIS, "EventSourceArn": reported.OTHER_STREAM})
    [change] = plan([other], [], function_tags={FN: record}).changes
    assert ops(change) == ["create", "wait-settled"] and "Tags" not in change.steps[0].params


def test_records_that_are_out_of_date_are_dropped_never_applied():
    want = desired({**KINESIS, "StartingPosition": "TRIM_HORIZON"})
    old_record = marks.tag_record(want.key, {"team": "orders"}, datetime.now(timezone.utc) - timedelta(days=2))
    [change] = plan([want], [], function_tags={FN: old_record}).changes
    assert "Tags" not in change.steps[0].params and change.steps[1].keys == tuple(sorted(old_record))
    # A replace of another mapping finished but was killed before it dropped its record: that mapping exists,
    # so the next create on the function drops the record too.
    done = live({**KINESIS, "EventSourceArn": reported.OTHER_STREAM})
    leftover = marks.tag_record(done.key, {"team": "clicks"}, datetime.now(timezone.utc))
    [change] = plan([want, desired({**KINESIS, "EventSourceArn": reported.OTHER_STREAM})], [done],
                    function_tags={FN: leftover}).changes
    assert ops(change) == ["create", "forget-tags", "wait-settled"] and "Tags" not in change.steps[0].params
    assert change.steps[1].keys == tuple(sorted(leftover))


def test_moved_from_in_a_spec_is_checked_offline(tmp_path):
    from esmctl import spec
    from esmctl.errors import SpecError

    text = ("version: 1\nmappings:\n  - FunctionName: audit-fn\n    MovedFrom: orders-fn\n"
            f"    EventSourceArn: {STREAM}\n    StartingPosition: LATEST\n")
    [entry] = spec.load("spec.yaml", text=text).mappings
    assert entry.moved_from == "orders-fn" and "MovedFrom" not in entry.params
    with pytest.raises(SpecError) as bad:
        spec.load("spec.yaml", text=text.replace("MovedFrom: orders-fn", "MovedFrom: audit-fn"))
    assert [str(p) for p in bad.value.problems] == ["spec.yaml:4:5: MovedFrom: names the mapping's own FunctionName"]
    with pytest.raises(SpecError) as bad:
        spec.load("spec.yaml", text=text.replace("version: 1\n", "version: 1\ndefaults:\n  MovedFrom: x\n"))
    assert "defaults.MovedFrom: set it on each mapping" in str(bad.value.problems[0])


def test_a_moved_from_that_moves_nothing_says_what_still_reads_the_data():
    old = live(KINESIS)  # orders-fn on the stream
    already = live({**KINESIS, "FunctionName": "audit-fn"})
    p = plan([moved({**KINESIS, "FunctionName": "audit-fn"}, "orders-fn")], [old, already])
    assert p.empty and [n.text for n in p.notes] == [
        f"MovedFrom orders-fn: this mapping exists already ({already.uuid}), so nothing moves; {old.uuid} "
        "(kinesis:orders) still reads this data for orders-fn and is left alone"]
    # the old one reads the stream, the spec a consumer of it: not the same mapping, so a create
    p = plan([moved({**KINESIS, "FunctionName": "audit-fn"}, "orders-fn", consumer=identity.Consumer(
        STREAM, "fanout", consumer_arn("fanout")))], [old])
    assert [c.action for c in p.changes] == [Action.CREATE] and "move it first" in p.notes[0].text


def test_moved_from_the_functions_own_arn_is_refused():
    from esmctl import spec
    from esmctl.errors import SpecError

    arn = "arn:aws:lambda:us-east-1:123456789012:function:audit-fn"
    text = (f"version: 1\nmappings:\n  - FunctionName: audit-fn\n    MovedFrom: {arn}\n"
            f"    EventSourceArn: {STREAM}\n    StartingPosition: LATEST\n")
    with pytest.raises(SpecError, match="names the mapping's own FunctionName"):
        spec.load("spec.yaml", text=text)
    assert spec.load("spec.yaml", text=text.replace("function:audit-fn", "function:orders-fn")).mappings


def test_a_handoff_shows_what_else_the_new_mapping_changes():
    old = live({**KINESIS, "BatchSize": 500})
    want = desired({**KINESIS, "BatchSize": 400}, consumer="fanout", registered=consumer_arn("fanout"))
    [change] = plan([want], [old], positions={FN: Position(NOW, 0)}).changes
    assert change.action == Action.HANDOFF
    assert [(f.name, f.before, f.after) for f in change.fields] == [
        ("EventSourceArn", STREAM, consumer_arn("fanout")), ("BatchSize", 500, 400)]
