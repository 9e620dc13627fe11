"""The planner in memory: no emulator, milliseconds per test.

Live mappings are what AWS reports (tests/reported.py, written apart from esmctl's model), so these
tests hold the planner to AWS's behaviour: identity per kind of source, update vs replace vs hand-off,
the slot rule, and what an interrupted multi-step change leaves for the next run.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from esmctl.mapping import compare, identity, marks
from esmctl.plan.planner import diff  # noqa: F401
from esmctl.plan.types import Action, Plan, Position, Reads  # noqa: F401
from esmctl.views.fleet import plan_detail
from esmctl.views.plan import plan_document, plan_summary
from tests import reported
from tests.reported import desired, live

BROKER, CLUSTER, DLQ, DOCDB_CLUSTER = reported.BROKER, reported.CLUSTER, reported.DLQ, reported.DOCDB_CLUSTER
FN, OTHER_STREAM, QUEUE, SECRET = reported.FN, reported.OTHER_STREAM, reported.QUEUE, reported.SECRET
STREAM, TABLE_STREAM, consumer_arn = reported.STREAM, reported.TABLE_STREAM, reported.consumer_arn

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
KINESIS = {"EventSourceArn": STREAM, "StartingPosition": "TRIM_HORIZON"}


def plan(want, have, **kw):
    """Plan, reading what the plan asks for from `tags`/`positions` as reconcile would."""
    tags = kw.pop("tags", {})
    positions = kw.pop("positions", {})
    function_tags = kw.pop("function_tags", {})
    reads = Reads()
    result = diff(want, have, reads=reads, **kw)
    for _ in range(3):
        if not result.missing:
            break
        reads = Reads(tags={u: tags.get(u, {}) for u in result.missing.tags} | reads.tags,
                      positions={f: positions.get(f) for f in result.missing.positions} | reads.positions,
                      function_tags={f: function_tags.get(f, {}) for f in result.missing.function_tags}
                      | reads.function_tags)
        result = diff(want, have, reads=reads, **kw)
    assert not result.missing
    return result


def ops(change):
    return [s.op for s in change.steps]


# -- in sync, update, replace -----------------------------------------------------------------------
def test_defaults_left_out_are_in_sync():
    want = desired(KINESIS)
    p = plan([want], [live(KINESIS)])
    assert p.empty and p.in_sync == 1


def test_update_sends_only_what_changed_and_puts_defaults_back():
    have = live({**KINESIS, "BatchSize": 500, "MaximumRetryAttempts": 3,
                 "DestinationConfig": {"OnFailure": {"Destination": DLQ}},
                 "FilterCriteria": {"Filters": [{"Pattern": '{"a": [1]}'}]}})
    [change] = plan([desired({**KINESIS, "BatchSize": 200})], [have]).changes
    assert change.action == Action.UPDATE
    [update] = [s for s in change.steps if s.op == "update"]
    assert update.params == {"BatchSize": 200, "MaximumRetryAttempts": -1, "FilterCriteria": {},
                             # AWS refuses {"OnFailure": {}}: an empty Destination removes it
                             "DestinationConfig": {"OnFailure": {"Destination": ""}}}
    assert ops(change) == ["update", "wait-settled"]


def test_create_only_change_is_a_delete_first_replace():
    have = live(KINESIS)
    [change] = plan([desired({**KINESIS, "StartingPosition": "LATEST"})], [have]).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace and change.destructive
    assert ops(change) == ["delete", "wait-gone", "create", "wait-settled"]
    assert change.steps[0].uuid == have.uuid
    assert "StartingPosition" in change.reason.text and "LATEST" in change.reason.text


def test_timestamps_compare_as_instants():
    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    have = live({**KINESIS, "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": at})
    for spelling in ("2024-01-01T00:00:00+00:00", "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z",
                     1704067200, "1704067200", datetime(2024, 1, 1), at.date()):
        want = desired({**KINESIS, "StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": spelling})
        assert plan([want], [have]).empty, spelling


def test_explicit_legacy_values_are_applied_but_accept_them_for_minus_one():
    legacy = live({**KINESIS, "MaximumRetryAttempts": 10000, "MaximumRecordAgeInSeconds": 604800})
    assert plan([desired(KINESIS)], [legacy]).empty  # -1 (left out) accepts the pre-2020 "forever" values
    fresh = live(KINESIS)
    [change] = plan([desired({**KINESIS, "MaximumRecordAgeInSeconds": 604800})], [fresh]).changes
    assert change.steps[0].params == {"MaximumRecordAgeInSeconds": 604800}


def test_filter_patterns_compare_as_json_in_any_order():
    have = live({**KINESIS, "FilterCriteria": {"Filters": [{"Pattern": '{"b": [2]}'}, {"Pattern": '{"a":["x"]}'}]}})
    patterns = [{"Pattern": {"a": ["x"]}}, {"Pattern": '{ "b" : [2] }'}]
    want = desired({**KINESIS, "FilterCriteria": {"Filters": patterns}})
    assert plan([want], [have]).empty


def test_tags_only_where_the_spec_sets_them_and_never_esmctls_own():
    have = live(KINESIS)
    tags = {have.uuid: {"team": "a", "extra": "x", "aws:cloudformation:stack-name": "s", marks.HANDOFF_TAG: "u"}}
    assert plan([desired(KINESIS)], [have], tags=tags).empty
    [change] = plan([desired({**KINESIS, "Tags": {"team": "b"}})], [have], tags=tags).changes
    assert ops(change) == ["tag", "untag"]
    assert change.steps[0].tags == {"team": "b"} and change.steps[1].keys == ("extra",)


# -- identity per kind -----------------------------------------------------------------------------
def kafka(topic, brokers=("b2:9092", "b1:9092"), **extra):
    return {"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": list(brokers)}},
            "Topics": [topic], "StartingPosition": "LATEST", **extra}


def test_self_managed_kafka_mappings_are_told_apart_by_topic_and_broker_order_does_not_matter():
    have = [live(kafka("orders", brokers=("b1:9092", "b2:9092"))), live(kafka("payments"))]
    want = [desired(kafka("payments", BatchSize=100)), desired(kafka("orders"))]
    p = plan(want, have)
    assert p.empty and p.in_sync == 2
    [change] = plan([desired(kafka("orders", BatchSize=50)), desired(kafka("payments"))], have).changes
    assert change.action == Action.UPDATE and change.uuid == have[0].uuid


def test_msk_and_mq_allow_one_mapping_per_topic_or_queue():
    msk = [{"EventSourceArn": CLUSTER, "Topics": [t], "StartingPosition": "LATEST"} for t in ("a", "b")]
    mq = [{"EventSourceArn": BROKER, "Queues": [q], "SourceAccessConfigurations": [
        {"Type": "BASIC_AUTH", "URI": SECRET}]} for q in ("q1", "q2")]
    want = [desired(p) for p in msk + mq]
    assert len({d.key for d in want}) == 4
    p = plan(want, [live(x) for x in msk + mq])
    assert p.empty and p.in_sync == 4


def test_kafka_consumer_group_generated_by_aws_is_not_drift_but_a_new_one_is_a_replace():
    have = live({"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST"})
    assert plan([desired({"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST"})], [have]).empty
    want = desired({"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST",
                    "AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId": "mine"}})
    [change] = plan([want], [have]).changes
    assert change.action == Action.REPLACE
    assert "AmazonManagedKafkaEventSourceConfig.ConsumerGroupId" in change.reason.text


def test_kafka_schema_registry_and_documentdb_full_document_change_in_place():
    registry = {"SchemaRegistryURI": "https://registry", "EventRecordFormat": "JSON",
                "AccessConfigs": [{"Type": "BASIC_AUTH", "URI": SECRET}]}
    have = live({"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST"})
    want = desired({"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST",
                    "AmazonManagedKafkaEventSourceConfig": {"SchemaRegistryConfig": registry}})
    [change] = plan([want], [have]).changes
    assert change.action == Action.UPDATE
    # the generated consumer group is left out: it cannot be sent in an update
    assert change.steps[0].params == {"AmazonManagedKafkaEventSourceConfig": {"SchemaRegistryConfig": registry}}
    doc = {"EventSourceArn": DOCDB_CLUSTER, "StartingPosition": "LATEST",
           "DocumentDBEventSourceConfig": {"DatabaseName": "orders"}}
    assert plan([desired(doc)], [live(doc)]).empty  # FullDocument "Default" is AWS's
    [change] = plan([desired({**doc, "DocumentDBEventSourceConfig": {"DatabaseName": "orders",
                                                                       "FullDocument": "UpdateLookup"}})],
                    [live(doc)]).changes
    assert change.action == Action.UPDATE
    lookup = {**doc, "DocumentDBEventSourceConfig": {"DatabaseName": "orders", "FullDocument": "UpdateLookup"}}
    [change] = plan([desired(doc)], [live(lookup)]).changes  # removed from the spec: the default is sent
    assert change.steps[0].params == {"DocumentDBEventSourceConfig": {"DatabaseName": "orders",
                                                                      "FullDocument": "Default"}}


def test_partial_provisioned_poller_config_is_filled_like_aws():
    sqs = {"EventSourceArn": QUEUE, "ProvisionedPollerConfig": {"MaximumPollers": 50}}
    assert plan([desired(sqs)], [live(sqs)]).empty
    msk = {"EventSourceArn": CLUSTER, "Topics": ["a"], "StartingPosition": "LATEST",
           "ProvisionedPollerConfig": {"MinimumPollers": 3}}
    assert plan([desired(msk)], [live(msk)]).empty


@pytest.mark.parametrize("field,value,kind", [
    ("MaximumBatchingWindowInSeconds", 5, CLUSTER),
    ("LoggingConfig", {"SystemLogLevel": "DEBUG"}, CLUSTER),
])
def test_a_field_aws_cannot_unset_is_said_plainly(field, value, kind):
    base = {"EventSourceArn": kind}
    if kind == CLUSTER:
        base |= {"Topics": ["a"], "StartingPosition": "LATEST"}
    p = plan([desired(base)], [live({**base, field: value})])
    assert p.empty  # nothing to send that would work
    [note] = p.notes
    assert note.text.startswith(f"{field} stays") and "in place" in note.text


def test_removing_source_access_configurations_of_kafka_clears_them():
    sac = [{"Type": "SASL_SCRAM_512_AUTH", "URI": SECRET}]
    base = kafka("orders")
    [change] = plan([desired(base)], [live({**base, "SourceAccessConfigurations": sac})]).changes
    assert change.steps[0].params == {"SourceAccessConfigurations": []}


def test_kms_encrypted_filters_that_cannot_be_read_are_never_changed_blind():
    raw = {**KINESIS, "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k",
           "FilterCriteria": {"Filters": [{"Pattern": '{"a": [1]}'}]}}
    hidden = compare.live_mapping({**live(raw).params, "FilterCriteria": None})
    want = desired({**raw, "FilterCriteria": {"Filters": [{"Pattern": '{"a": [2]}'}]}})
    p = plan([want], [hidden])
    assert p.empty and "cannot be read" in p.notes[0].text
    readable = compare.live_mapping({**live(raw).params, "FilterCriteria": None}, live(raw).params["FilterCriteria"])
    [change] = plan([want], [readable]).changes
    assert change.steps[0].params["FilterCriteria"] == {"Filters": [{"Pattern": '{"a": [2]}'}]}


def test_a_deleting_mapping_counts_as_absent_and_the_create_waits_for_it():
    have = live(KINESIS, state="Deleting")
    [change] = plan([desired(KINESIS)], [have]).changes
    assert change.action == Action.CREATE
    assert ops(change) == ["wait-gone", "create", "wait-settled"] and change.steps[0].uuid == have.uuid


def test_prune_only_touches_the_spec_functions_and_deletes_run_last():
    mine, stray = live(KINESIS), live({**KINESIS, "EventSourceArn": OTHER_STREAM})
    other_fn = live({**KINESIS, "FunctionName": "audit-fn"})
    p = plan([desired(KINESIS)], [mine, stray, other_fn])
    assert [m.uuid for m in p.unmanaged] == [stray.uuid] and p.empty
    p = plan([desired({**KINESIS, "EventSourceArn": QUEUE, "StartingPosition": None})], [mine, stray, other_fn],
             prune=True)
    assert [c.action for c in p.changes] == [Action.DELETE, Action.DELETE, Action.CREATE]
    assert {c.uuid for c in p.changes if c.action == Action.DELETE} == {mine.uuid, stray.uuid}


# -- hand-offs: the slot rule ------------------------------------------------------------------------
def test_stream_to_consumer_is_a_handoff_from_the_datapoints_own_time():
    old = live({**KINESIS, "StartingPosition": "LATEST"})
    want = desired({**KINESIS, "StartingPosition": "LATEST"}, consumer="fanout")
    stale = NOW - timedelta(minutes=12)  # the newest datapoint is 12 minutes old
    [change] = plan([want], [old], positions={FN: Position(stale, 30_000)}, margin=60).changes
    assert change.action == Action.HANDOFF and change.destructive and not change.needs_allow_replace
    assert change.start_at == stale - timedelta(seconds=30 + 60)
    assert ops(change) == ["register-consumer", "create", "wait-settled", "delete", "wait-gone"]
    create = change.steps[1].params
    assert create["StartingPosition"] == "AT_TIMESTAMP" and create["StartingPositionTimestamp"] == change.start_at
    assert create["Tags"] == {marks.HANDOFF_TAG: old.uuid}
    assert "EventSourceArn" not in create  # the consumer's ARN is filled in once it is registered
    assert (change.steps[2].state, change.steps[2].healthy) == ("Enabled", True)


def test_handoff_keeps_the_old_mappings_unmanaged_tags():
    old = live(KINESIS)
    want = desired(KINESIS, consumer="fanout", registered=consumer_arn("fanout"))
    [change] = plan([want], [old], positions={FN: Position(NOW, 0)},
                    tags={old.uuid: {"team": "orders", "aws:x": "y"}}).changes
    assert change.steps[0].params["Tags"] == {"team": "orders", marks.HANDOFF_TAG: old.uuid}
    assert change.steps[0].params["EventSourceArn"] == consumer_arn("fanout")


@pytest.mark.parametrize("state,result,position,why", [
    ("Disabled", "OK", Position(NOW, 0), "is Disabled"),
    ("Enabled", "PROBLEM: Function call failed", Position(NOW, 0), "PROBLEM"),
    ("Enabled", "OK", None, "no IteratorAge datapoint"),
])
def test_handoff_whose_old_position_is_unknown_is_a_replace_that_needs_allow_replace(state, result, position, why):
    old = compare.live_mapping({**live(KINESIS, state=state).params, "LastProcessingResult": result})
    [change] = plan([desired(KINESIS, consumer="fanout")], [old], positions={FN: position}).changes
    assert change.action == Action.REPLACE and change.needs_allow_replace
    assert why in change.reason.text and "position is unknown" in change.reason.text
    assert ops(change) == ["register-consumer", "create", "wait-settled", "delete", "wait-gone"]
    assert "StartingPositionTimestamp" not in change.steps[1].params


def test_iterator_age_shared_with_another_stream_mapping_cannot_place_the_old_one():
    old, other = live(KINESIS), live({**KINESIS, "EventSourceArn": OTHER_STREAM})
    p = plan([desired(KINESIS, consumer="fanout"), desired({**KINESIS, "EventSourceArn": OTHER_STREAM})],
             [old, other], positions={FN: Position(NOW, 0)})
    [change] = p.changes
    assert change.action == Action.REPLACE and "IteratorAge is per function" in change.reason.text


def test_interrupted_handoff_is_finished_not_reported_in_sync():
    old = live(KINESIS)
    new = live({**KINESIS, "EventSourceArn": consumer_arn("fanout")})
    p = plan([desired(KINESIS, consumer="fanout", registered=consumer_arn("fanout"))], [old, new])
    [change] = p.changes
    assert change.action == Action.HANDOFF and change.uuid == old.uuid and p.in_sync == 1
    assert ops(change) == ["wait-settled", "delete", "wait-gone"]
    assert change.steps[0].uuid == new.uuid and (change.steps[0].state, change.steps[0].healthy) == ("Enabled", True)


def test_handoff_to_a_disabled_mapping_waits_for_disabled():
    old = live(KINESIS)
    want = desired({**KINESIS, "Enabled": False}, consumer="fanout")
    [change] = plan([want], [old], positions={FN: Position(NOW, 0)}).changes
    assert change.action == Action.HANDOFF and (change.steps[2].state, change.steps[2].healthy) == ("Disabled", False)


def test_a_slot_with_two_spec_entries_hands_nothing_off():
    direct, unlisted = live(KINESIS), live({**KINESIS, "EventSourceArn": consumer_arn("b")})
    want = [desired(KINESIS), desired(KINESIS, consumer="a")]
    p = plan(want, [direct, unlisted])
    assert [c.action for c in p.changes] == [Action.CREATE]
    assert [m.uuid for m in p.unmanaged] == [unlisted.uuid]


def test_unlisted_mappings_of_other_functions_or_sources_are_never_handed_off():
    other_fn = live({**KINESIS, "FunctionName": "audit-fn"})
    other_stream = live({**KINESIS, "EventSourceArn": OTHER_STREAM})
    [change] = plan([desired(KINESIS, consumer="fanout")], [other_fn, other_stream]).changes
    assert change.action == Action.CREATE


def test_recreated_consumer_moves_the_mapping_to_its_new_arn():
    old = live({**KINESIS, "EventSourceArn": consumer_arn("fanout", epoch=1)})
    want = desired(KINESIS, consumer="fanout", registered=consumer_arn("fanout", epoch=2))
    [change] = plan([want], [old], positions={FN: Position(NOW, 0)}).changes
    assert change.action == Action.HANDOFF and change.key == old.key
    assert change.steps[0].params["EventSourceArn"] == consumer_arn("fanout", epoch=2)


def test_a_mapping_started_by_a_handoff_keeps_its_timestamp_but_a_deliberate_one_is_a_replace():
    at = {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": NOW - timedelta(hours=1)}
    have = live({**KINESIS, **at})
    tags = {have.uuid: {marks.HANDOFF_TAG: "0000"}}
    kept = plan([desired(KINESIS)], [have], tags=tags)
    assert kept.empty and not kept.notes  # nothing to silence: a timestamp goes only with AT_TIMESTAMP
    [change] = plan([desired(KINESIS)], [have], tags={have.uuid: {}}).changes
    assert change.action == Action.REPLACE


def test_dynamodb_table_stream_change_is_a_create_first_replace():
    old = live({"EventSourceArn": TABLE_STREAM, "StartingPosition": "LATEST"})
    new_stream = TABLE_STREAM.replace("2024-01-01", "2025-01-01")
    [change] = plan([desired({"EventSourceArn": new_stream, "StartingPosition": "LATEST"})], [old]).changes
    assert change.action == Action.REPLACE and "cannot start at a timestamp" in change.reason.text
    assert ops(change) == ["create", "wait-settled", "delete", "wait-gone"]


def test_replace_of_a_queue_mapping_does_not_talk_of_stream_positions():
    sqs = {"EventSourceArn": QUEUE}
    p = plan([desired(sqs)], [live(sqs)], prune=False)
    assert p.empty
    p = plan([], [live(sqs)], prune=True)
    assert p.changes == ()  # a spec without the function prunes nothing of it
    p = plan([desired({**sqs, "EventSourceArn": QUEUE + "2"})], [live(sqs)], prune=True)
    [delete] = [c for c in p.changes if c.action == Action.DELETE]
    assert "position" not in delete.reason.text


def test_the_pacer_keeps_every_thread_under_the_rate_and_halves_it_when_throttled():
    import esmctl.aws.pacing as pacing_module
    from esmctl.aws.pacing import Pacer

    slept = []
    real = pacing_module.time.monotonic
    pacing_module.time.monotonic = lambda: 1000.0  # no time passes between calls: only the bucket counts
    try:
        pacer = Pacer(15, 5, sleep=slept.append)
        for _ in range(35):
            pacer.before_send()
        # 5 at once (the burst), then each further one waits its turn at 15/s
        assert len(slept) == 30 and abs(slept[-1] - 30 / 15) < 1e-9
        pacer.slow_down()
        assert pacer.rate == 7.5
        for _ in range(3):
            pacer.speed_up()
        assert pacer.rate == 9.0
    finally:
        pacing_module.time.monotonic = real


@pytest.mark.parametrize("order", ["new first", "old first"])
def test_interrupted_move_to_a_reregistered_consumer_is_finished_whatever_the_listing_order(order):
    # Killed after the create of a move to the consumer's new registration: both mappings exist, with the
    # same name-based identity. The one on the old ARN is the old end of the move, whatever the order.
    old = live({**KINESIS, "EventSourceArn": consumer_arn("fanout", epoch=1)})
    new = live({**KINESIS, "EventSourceArn": consumer_arn("fanout", epoch=2)})
    want = desired(KINESIS, consumer="fanout", registered=consumer_arn("fanout", epoch=2))
    p = plan([want], [new, old] if order == "new first" else [old, new])
    [change] = p.changes
    assert change.action == Action.HANDOFF and change.uuid == old.uuid and p.in_sync == 1 and not p.notes
    assert ops(change) == ["wait-settled", "delete", "wait-gone"] and change.steps[0].uuid == new.uuid


def test_an_unregistered_consumer_moves_every_mapping_of_its_name():
    old = live({**KINESIS, "EventSourceArn": consumer_arn("fanout", epoch=1)})
    [change] = plan([desired(KINESIS, consumer="fanout")], [old], positions={FN: Position(NOW, 0)}).changes
    assert change.action == Action.HANDOFF and change.uuid == old.uuid
    assert ops(change)[0] == "register-consumer"


# -- paused by `esmctl pause` -----------------------------------------------------------------------
PAUSED = {marks.PAUSED_TAG: "2026-11-23T12:00:00Z poison in orders"}


def test_a_paused_mapping_is_not_drift_and_stays_disabled():
    have = live(KINESIS, state="Disabled")
    p = plan([desired(KINESIS)], [have], tags={have.uuid: PAUSED})
    assert p.empty and p.in_sync == 0
    [paused] = p.paused
    assert paused.mapping.uuid == have.uuid
    assert (paused.pause.since, paused.pause.reason) == ("2026-11-23T12:00:00Z", "poison in orders")
    [note] = p.notes
    assert "paused by esmctl pause at 2026-11-23T12:00:00Z (poison in orders)" in note.text
    assert "`esmctl resume` enables it" in note.text


def test_a_mapping_disabled_by_hand_is_drift():
    have = live(KINESIS, state="Disabled")
    [change] = plan([desired(KINESIS)], [have], tags={have.uuid: {"team": "orders"}}).changes
    assert change.action == Action.UPDATE and change.steps[0].params == {"Enabled": True}


def test_only_a_disabled_mapping_the_spec_wants_enabled_has_its_tags_read():
    enabled, disabled = live(KINESIS), live({**KINESIS, "EventSourceArn": OTHER_STREAM}, state="Disabled")
    first = diff([desired(KINESIS), desired({**KINESIS, "EventSourceArn": OTHER_STREAM, "Enabled": False})],
                 [enabled, disabled])
    assert first.empty and not first.missing
    first = diff([desired({**KINESIS, "EventSourceArn": OTHER_STREAM})], [disabled])
    assert first.missing.tags == {disabled.uuid}


def test_a_paused_mapping_gets_its_other_changes_and_stays_disabled():
    have = live(KINESIS, state="Disabled")
    p = plan([desired({**KINESIS, "BatchSize": 500})], [have], tags={have.uuid: PAUSED})
    [change] = p.changes
    assert change.action == Action.UPDATE and change.steps[0].params == {"BatchSize": 500}
    assert [f.name for f in change.fields] == ["BatchSize"]
    assert "stays Disabled" in change.reason.text and len(p.paused) == 1


def test_a_paused_mapping_is_not_replaced():
    have = live(KINESIS, state="Disabled")
    p = plan([desired({**KINESIS, "StartingPosition": "LATEST"})], [have], tags={have.uuid: PAUSED})
    assert p.empty and len(p.paused) == 1
    assert any("StartingPosition" in n.text and "not replaced" in n.text for n in p.notes)
    # the live mapping does not match the spec: the summary must not say it does
    assert p.waiting == (p.notes[-1].key,)
    assert plan_summary(p) == ("No changes to make now; 1 paused by esmctl pause (esmctl resume enables them); "
                               "1 change waiting for esmctl resume (see the notes).")
    assert plan_document(p)["summary"]["waiting"] == 1
    assert plan_detail(p) == "no changes now, 1 waiting for esmctl resume"  # a target's, over --targets
    from esmctl.commands.fleet_runs import PLAN_VIEW
    from esmctl.targets import TargetOutcome
    from esmctl.views.fleet import summary_line

    outcomes = [TargetOutcome(None, "ok", p), TargetOutcome(None, "ok", Plan(()))]
    assert summary_line(outcomes, PLAN_VIEW) == "2 target(s): 1 in sync, 1 with changes waiting for esmctl resume."


def test_a_paused_old_end_of_a_move_holds_the_move():
    old = live(KINESIS, state="Disabled")
    p = plan([desired(KINESIS, consumer="fanout")], [old], tags={old.uuid: PAUSED},
             positions={FN: Position(NOW, 0)})
    assert p.empty and not p.unmanaged and [x.mapping.uuid for x in p.paused] == [old.uuid]
    assert any("waits" in n.text and old.uuid in n.text for n in p.notes)
    assert len(p.waiting) == 1 and "1 change waiting for esmctl resume" in plan_summary(p)
    assert plan([desired(KINESIS, consumer="fanout")], [old], tags={old.uuid: PAUSED}, prune=True).empty


def test_a_paused_mapping_the_spec_disables_is_in_sync_without_reading_tags():
    have = live(KINESIS, state="Disabled")
    first = diff([desired({**KINESIS, "Enabled": False})], [have])
    assert first.empty and not first.missing and first.in_sync == 1 and not first.paused
    assert not first.waiting and plan_summary(first) == "No changes. The live mappings match the spec."


def test_an_interrupted_handoff_to_a_paused_mapping_waits_and_deletes_nothing():
    old = live(KINESIS)
    new = live({**KINESIS, "EventSourceArn": consumer_arn("fanout")}, state="Disabled")
    want = desired(KINESIS, consumer="fanout", registered=consumer_arn("fanout"))
    for prune in (False, True):
        p = plan([want], [old, new], tags={new.uuid: PAUSED}, prune=prune)
        assert p.empty and not p.unmanaged and [x.mapping.uuid for x in p.paused] == [new.uuid]
        assert any("waits" in n.text and f"{new.uuid} is paused" in n.text for n in p.notes)


def test_a_paused_mapping_moved_to_another_function_stays_paused():
    have = live(KINESIS, state="Disabled")
    want = compare.desired_mapping({**KINESIS, "FunctionName": "orders-fn:live"},
                                 identity.function_ref("orders-fn:live", reported.REGION, reported.ACCOUNT),
                                 moved_from=identity.function_ref("orders-fn", reported.REGION, reported.ACCOUNT))
    [change] = plan([want], [have], tags={have.uuid: PAUSED}).changes
    assert change.action == "move" and change.steps[0].params == {"FunctionName": want.key.function}
    assert "stays Disabled" in change.reason.text



@pytest.mark.parametrize("spec_pattern,live_text,in_sync", [
    ({"n": [300]}, '{"n": [300]}', True),
    ({"n": [300.0]}, '{"n": [300.0]}', True),
    ({"n": ["300"]}, '{"n": ["300"]}', True),
    ('{"n": [2.50]}', '{ "n" : [2.50] }', True),
    ({"n": [{"numeric": [">", 300]}]}, '{"n": [{"numeric": [">", 300.0]}]}', True),  # a range: by value
    ({"n": [300]}, '{"n": [300.0]}', False),
    ({"n": [300.0]}, '{"n": [300]}', False),
    ({"n": [300.0]}, '{"n": [3.0e2]}', False),
    ({"n": [300]}, '{"n": ["300"]}', None),  # another type: a change as any other, between the data
    ({"n": [True]}, '{"n": [1]}', None),  # Python's True == 1; JSON's and Lambda's true is not 1
    ({"n": [0]}, '{"n": [false]}', None),
    ({"body": {"numeric": [300]}}, '{"body": {"numeric": [300.0]}}', False),  # a field named numeric: equality
    # a key given twice is ANDed (the guide's DynamoDB example): one half of it is another filter
    ({"d": {"O": {"n": [2]}}}, '{"d": {"N": {"s": [1]}}, "d": {"O": {"n": [2]}}}', None),
    ({"d": {"N": {"s": [1]}, "O": {"n": [2]}}}, '{"d": {"N": {"s": [1]}}, "d": {"O": {"n": [2]}}}', True),
])
def test_an_equality_rules_number_is_compared_by_its_text_as_lambda_matches_it(spec_pattern, live_text, in_sync):
    """Lambda compares the numbers of a filter's equality rules by their text: 300, 300.0 and 3.0e2 keep different
    records, so a spec's 300 against a live 300.0 is drift (a review found it reported in sync); a numeric range's
    numbers compare by value."""
    have = live({**KINESIS, "FilterCriteria": {"Filters": [{"Pattern": live_text}]}})
    want = desired({**KINESIS, "FilterCriteria": {"Filters": [{"Pattern": spec_pattern}]}})
    changes = compare.compare(want, have).changes
    assert (changes == []) is bool(in_sync), changes
    if in_sync is False:  # the same data: shown as the texts found and to send, where the numbers differ
        [change] = changes
        assert change.before == {"Filters": [{"Pattern": live_text}]}


def test_a_value_that_cannot_be_read_is_noted_even_where_both_sides_cannot_be_read():
    # the comparison's shortcut for equal configurations does not take two unreadable values for the same value
    hidden = live({**KINESIS, "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k", "FilterCriteria": None})
    comparison = compare.compare(hidden, hidden)
    assert comparison.changes == [] and any("FilterCriteria: cannot be read" in n for n in comparison.notes)
