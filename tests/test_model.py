"""The model of a mapping in memory, over every kind of source, with generated specs (Hypothesis).

For specs esmctl accepts and the mapping AWS reports after creating them (tests/reported.py):
the plan is empty; removing a key gives exactly the update that puts AWS's default back; and no
change that UpdateEventSourceMapping can make is ever planned as a replace.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esmctl import arns, schema, servicemodel
from esmctl.mapping import compare, defaults, identity, marks, requests, values
from esmctl.plan.planner import diff  # noqa: F401
from esmctl.plan.types import Action, Plan, Position, Reads  # noqa: F401
from tests.reported import BROKER, CLUSTER, DLQ, DOCDB_CLUSTER, QUEUE, SECRET, STREAM, TABLE_STREAM, desired, reported
from tests.reported import live as live_mapping

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_bools = st.booleans()
_pattern = st.fixed_dictionaries({"data": st.fixed_dictionaries(
    {"kind": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2, unique=True)})})
_filters = st.lists(_pattern, min_size=1, max_size=3, unique_by=lambda p: str(p)).map(
    lambda ps: {"Filters": [{"Pattern": p} for p in ps]})
_timestamp = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2025, 1, 1),
                          timezones=st.just(timezone.utc)).map(lambda d: d.replace(microsecond=0))
_stream_fields = {
    "BatchSize": st.integers(1, 10000),
    "MaximumBatchingWindowInSeconds": st.integers(0, 300),
    "ParallelizationFactor": st.integers(1, 10),
    "MaximumRetryAttempts": st.integers(-1, 10000),
    "MaximumRecordAgeInSeconds": st.one_of(st.just(-1), st.integers(60, 604800)),
    "BisectBatchOnFunctionError": _bools,
    "TumblingWindowInSeconds": st.integers(0, 900),
    "DestinationConfig": st.just({"OnFailure": {"Destination": DLQ}}),
    "FunctionResponseTypes": st.just(["ReportBatchItemFailures"]),
    "FilterCriteria": _filters,
    "Enabled": _bools,
    "MetricsConfig": st.just({"Metrics": ["EventCount"]}),
}
_sqs_fields = {
    "BatchSize": st.integers(1, 10),
    "MaximumBatchingWindowInSeconds": st.integers(0, 300),
    "FunctionResponseTypes": st.just(["ReportBatchItemFailures"]),
    "FilterCriteria": _filters,
    "ScalingConfig": st.integers(2, 1000).map(lambda n: {"MaximumConcurrency": n}),
    "Enabled": _bools,
}
_kafka_fields = {
    "BatchSize": st.integers(1, 10000),
    "MaximumBatchingWindowInSeconds": st.integers(0, 300),
    "FilterCriteria": _filters,
    "Enabled": _bools,
    "MaximumRetryAttempts": st.integers(-1, 10000),
    "BisectBatchOnFunctionError": _bools,
    "ProvisionedPollerConfig": st.integers(1, 200).map(lambda n: {"MinimumPollers": n}),
}
KINDS = {
    "kinesis": ({"EventSourceArn": STREAM, "StartingPosition": st.sampled_from(["LATEST", "TRIM_HORIZON"])},
                _stream_fields),
    "dynamodb": ({"EventSourceArn": TABLE_STREAM, "StartingPosition": st.sampled_from(["LATEST", "TRIM_HORIZON"])},
                 _stream_fields),
    "sqs": ({"EventSourceArn": QUEUE}, _sqs_fields),
    "msk": ({"EventSourceArn": CLUSTER, "Topics": st.sampled_from([["orders"], ["payments"]]),
             "StartingPosition": st.sampled_from(["LATEST", "TRIM_HORIZON"])}, _kafka_fields),
    "kafka": ({"SelfManagedEventSource": st.permutations(["b1:9092", "b2:9092", "b3:9092"]).map(
        lambda b: {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": list(b)}}), "Topics": st.just(["events"]),
        "StartingPosition": st.just("TRIM_HORIZON")}, _kafka_fields),
    "mq": ({"EventSourceArn": BROKER, "Queues": st.just(["q"]),
            "SourceAccessConfigurations": st.just([{"Type": "BASIC_AUTH", "URI": SECRET}])},
           {"BatchSize": st.integers(1, 10000), "FilterCriteria": _filters, "Enabled": _bools}),
    "docdb": ({"EventSourceArn": DOCDB_CLUSTER, "StartingPosition": st.just("AT_TIMESTAMP"),
               "StartingPositionTimestamp": _timestamp,
               "DocumentDBEventSourceConfig": st.sampled_from([{"DatabaseName": "db"}, {
                   "DatabaseName": "db", "CollectionName": "orders", "FullDocument": "UpdateLookup"}])},
              {"BatchSize": st.integers(1, 10000), "Enabled": _bools}),  # DocumentDB takes no filters
}


@st.composite
def specs(draw, kind: str | None = None):
    """A spec mapping esmctl accepts (checked against the model and the service's rules)."""
    kind = kind or draw(st.sampled_from(sorted(KINDS)))
    identifying, optional = KINDS[kind]
    params = {"FunctionName": "orders-fn"}
    params.update({k: draw(v) if isinstance(v, st.SearchStrategy) else v for k, v in identifying.items()})
    chosen = draw(st.lists(st.sampled_from(sorted(optional)), unique=True, max_size=len(optional)))
    params.update({k: draw(optional[k]) for k in chosen})
    api = {k: requests.to_api(k, v) for k, v in params.items()}
    problems = schema.check_params(api)
    assert not problems, (params, problems)
    return kind, params


@SETTINGS
@given(specs())
def test_a_spec_and_what_aws_reports_after_applying_it_are_in_sync(spec):
    _, params = spec
    want = desired(params)
    have = compare.live_mapping(reported(requests.create_params(want)))
    plan = diff([want], [have])
    assert plan.empty and not plan.notes, [c.fields for c in plan.changes] + list(plan.notes)


@SETTINGS
@given(specs(), st.data())
def test_removing_a_key_gives_exactly_the_update_that_restores_the_default(spec, data):
    kind, params = spec
    kind = identity.source_type(params)
    # (a spec's -1 accepts the "forever" values older mappings report: removing an explicit 10000 or
    # 604800 is no change, by design — see test_explicit_legacy_values_are_applied_but_accept_them_for_minus_one)
    updatable = sorted(k for k in params if k in servicemodel.updatable() and defaults.has_default(k, kind)
                       and defaults.canonical({k: params[k]}, kind)[k] != defaults.DEFAULTS[k][kind]
                       and params[k] != defaults.LEGACY_FOREVER.get(k))
    if not updatable:
        return
    key = data.draw(st.sampled_from(updatable))
    have = compare.live_mapping(reported(requests.create_params(desired(params))))
    trimmed = {k: v for k, v in params.items() if k != key}
    [change] = diff([desired(trimmed)], [have]).changes
    assert change.action == Action.UPDATE
    [update] = [s for s in change.steps if s.op == "update"]
    assert update.params == {key: defaults.clear_value(key, identity.source_type(params))}
    # and what AWS then reports is in sync
    after = compare.live_mapping(reported({**requests.create_params(desired(trimmed))}, uuid=have.uuid))
    assert diff([desired(trimmed)], [after]).empty


@SETTINGS
@given(st.sampled_from(sorted(KINDS)).flatmap(lambda k: st.tuples(specs(k), specs(k))))
def test_no_change_update_can_make_is_planned_as_a_replace(pair):
    (_, before), (_, after) = pair
    # the same identity and start: only updatable fields differ
    for key in servicemodel.create_only() | {"FunctionName"}:
        if key in before:
            after[key] = copy.deepcopy(before[key])
        else:
            after.pop(key, None)
    # nor what an update cannot unset where the mapping would read other data, or hold what the spec excludes
    for key, members in defaults.UNSET_BY_REPLACE.items():
        for member in members:
            if member in (before.get(key) or {}) and key in after:
                after[key] = {**after[key], member: (after[key] or {}).get(member) or before[key][member]}
    for key, excluder in defaults.EXCLUDED_BY.items():
        if key in before and key not in after:
            after.pop(excluder, None)
    have = compare.live_mapping(reported(requests.create_params(desired(before))))
    plan = diff([desired(after)], [have])
    assert not [c for c in plan.changes if c.action == Action.REPLACE], plan.changes


# -- the model, field by field -----------------------------------------------------------------------
def test_field_classes_come_from_botocore():
    assert servicemodel.create_only() == {"EventSourceArn", "StartingPosition", "StartingPositionTimestamp", "Tags",
                                    "Topics", "Queues", "SelfManagedEventSource"}
    for name in ("AmazonManagedKafkaEventSourceConfig", "SelfManagedKafkaEventSourceConfig",
                 "DocumentDBEventSourceConfig", "ProvisionedPollerConfig", "LoggingConfig"):
        assert name in servicemodel.updatable()
    # read from the model's documentation ("you cannot update this value", "You cannot change ...")
    assert servicemodel.immutable_members() == {"AmazonManagedKafkaEventSourceConfig": {"ConsumerGroupId"},
                                          "SelfManagedKafkaEventSourceConfig": {"ConsumerGroupId", "ConsumptionMode"}}
    assert servicemodel.kinds_of("ParallelizationFactor") == {"kinesis", "dynamodb"}
    assert servicemodel.kinds_of("ScalingConfig") == {"sqs"}
    assert servicemodel.kinds_of("MaximumRetryAttempts") == {"kinesis", "dynamodb", "msk", "kafka"}
    assert servicemodel.kinds_of("FunctionResponseTypes") == {"kinesis", "dynamodb", "msk", "kafka", "sqs"}


@pytest.mark.parametrize("spelling", [
    "2024-01-01T00:00:00+00:00", "2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00Z", "2024-01-01 00:00:00",
    1704067200, 1704067200.0, "1704067200", datetime(2024, 1, 1), date(2024, 1, 1),
    datetime(2024, 1, 1, 0, 0, 0, 400000, tzinfo=timezone.utc),
])
def test_instants_in_every_spelling(spelling):
    assert values.instant(spelling) == datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("bad", ["yesterday", True, None, float("nan"), [2024], 99999999999999, -1e20, 1e300,
                                 "9999-12-31T23:00:00-05:00"])
def test_not_instants(bad):
    with pytest.raises(ValueError):
        values.instant(bad)


def test_identity_rules():
    fn = identity.function_ref("orders-fn", "us-east-1", "123456789012")
    consumer = identity.Consumer(STREAM, "fanout")
    by_name = compare.desired_mapping({"EventSourceArn": STREAM}, fn, consumer=consumer)
    by_arn = compare.desired_mapping({"EventSourceArn": STREAM + "/consumer/fanout:1700000000"}, fn)
    assert by_name.key == by_arn.key
    alias = identity.function_ref("orders-fn:live", "us-east-1", "123456789012")
    assert compare.desired_mapping({"EventSourceArn": STREAM}, alias).key != \
        compare.desired_mapping({"EventSourceArn": STREAM}, fn).key
    a = identity.source_identity({"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b:1", "a:1"]}},
                               "Topics": ["t"]})
    assert a == ("kafka://a:1,b:1", "t")



@pytest.mark.parametrize(("spelling", "want"), [
    ("orders-fn", ("arn:aws:lambda:us-east-1:123456789012:function:orders-fn", "")),
    ("orders-fn:$LATEST", ("arn:aws:lambda:us-east-1:123456789012:function:orders-fn", "")),
    ("210987654321:function:orders-fn:3", ("arn:aws:lambda:us-east-1:210987654321:function:orders-fn", "3")),
    ("arn:aws-cn:lambda:cn-north-1:210987654321:function:orders-fn:live",
     ("arn:aws-cn:lambda:cn-north-1:210987654321:function:orders-fn", "live")),
    # Lambda's pattern lets `function:` out of an ARN; this spelling stopped validate with an IndexError
    ("arn:aws:lambda:eu-west-1:210987654321:orders-fn:live",
     ("arn:aws:lambda:eu-west-1:210987654321:function:orders-fn", "live")),
])
def test_function_spellings(spelling, want):
    ref = identity.function_ref(spelling, "us-east-1", "123456789012")
    assert (ref.arn, ref.qualifier) == want
    assert ref.name == "orders-fn"


def test_arn_values():
    consumer = arns.parse(STREAM + "/consumer/fanout:1700000000")
    assert consumer.is_consumer and consumer.consumer_name == "fanout" and str(consumer.stream) == STREAM
    assert identity.stream_of(str(consumer)) == STREAM and identity.stream_of("not an arn") == "not an arn"
    assert identity.short_arn(str(consumer)) == "kinesis:orders/consumer/fanout"
    assert identity.short_arn("kafka://b:9092") == "kafka:b:9092" and identity.short_arn("orders-fn") == "orders-fn"
    table = arns.parse(TABLE_STREAM)
    assert table.is_table_stream and str(table.table) == TABLE_STREAM.split("/stream/")[0]
    function = arns.parse("arn:aws:lambda:us-east-1:123456789012:function:orders-fn:live")
    assert (function.name, function.qualifier) == ("orders-fn", "live")
    assert str(function.unqualified) == "arn:aws:lambda:us-east-1:123456789012:function:orders-fn"
    assert arns.parse("arn:aws:iam::123456789012:role/service/esm-role").name == "esm-role"
    for not_one in (None, 7, "", "orders-fn", "arn:aws:lambda:us-east-1:123456789012"):
        assert arns.parse(not_one) is None and not arns.is_consumer(not_one)
    assert identity.source_type({"EventSourceArn": 7}) == ""  # a mistyped value is said by the spec's checks

def test_kafka_logging_needs_provisioned_mode():
    # The Lambda guide (esm-logging): only for Kafka mappings "and with Provisioned mode".
    msk = {"FunctionName": "orders-fn", "EventSourceArn": CLUSTER, "Topics": ["orders"], "StartingPosition": "LATEST",
           "LoggingConfig": {"SystemLogLevel": "INFO"}}
    assert [f for f, _ in schema.check_params(msk)] == ["LoggingConfig"]
    assert schema.check_params({**msk, "ProvisionedPollerConfig": {"MinimumPollers": 1}}) == []


@pytest.mark.parametrize("key", ["aws:owner", "esmctl:owner", "AWS:x"])
def test_reserved_tag_keys_are_refused(key):
    # esmctl never manages them (they would drift forever), and AWS refuses aws: keys.
    sqs = {"FunctionName": "orders-fn", "EventSourceArn": QUEUE, "Tags": {key: "me", "team": "a"}}
    [(field, message)] = schema.check_params(sqs)
    assert field == f"Tags.{key}" and "reserved" in message


SMK_QUEUE = {"FunctionName": "orders-fn", "Topics": ["events"],
             "SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b1:9092"]}},
             "SelfManagedKafkaEventSourceConfig": {"ConsumptionMode": "Queue"}}


def test_kafka_queue_mode_takes_no_position_or_window_and_no_infinite_retries():
    assert schema.check_params(SMK_QUEUE) == []  # no StartingPosition needed
    bad = {**SMK_QUEUE, "StartingPosition": "LATEST", "MaximumBatchingWindowInSeconds": 5, "MaximumRetryAttempts": -1}
    assert sorted(f for f, _ in schema.check_params(bad)) == [
        "MaximumBatchingWindowInSeconds", "MaximumRetryAttempts", "StartingPosition"]


def test_kafka_queue_mode_defaults_are_aws_queue_mode_defaults():
    # AWS reports MaximumRetryAttempts 0 in Queue mode: a spec without it is in sync, and removing it sends 0.
    assert diff([desired(SMK_QUEUE)], [live_mapping({**SMK_QUEUE, "MaximumRetryAttempts": 0})]).empty
    [change] = diff([desired(SMK_QUEUE)], [live_mapping({**SMK_QUEUE, "MaximumRetryAttempts": 3})]).changes
    assert change.steps[0].params == {"MaximumRetryAttempts": 0}


@pytest.mark.parametrize("params,field", [
    ({"EventSourceArn": QUEUE, "SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": SECRET}]},
     "SourceAccessConfigurations"),
    ({"EventSourceArn": STREAM, "StartingPosition": "LATEST", "MetricsConfig": {"Metrics": ["KafkaMetrics"]}},
     "MetricsConfig.Metrics"),
])
def test_settings_for_other_kinds_of_source_are_refused(params, field):
    assert [f for f, _ in schema.check_params({"FunctionName": "orders-fn", **params})] == [field]


@pytest.mark.parametrize("source,message", [
    ({}, "is required"),
    ({"EventSourceArn": "arn:aws:sns:us-east-1:123456789012:topic"}, "is not a source Lambda reads (sns)"),
])
def test_a_mapping_needs_a_source_lambda_reads(source, message):
    [(field, text)] = schema.check_params({"FunctionName": "orders-fn", **source})
    assert field == "EventSourceArn" and message in text


# -- pause marks ------------------------------------------------------------------------------------
def test_a_pause_mark_is_one_tag_value_that_reads_back():
    from datetime import timedelta

    at = datetime(2026, 11, 23, 13, 0, 5, 123, tzinfo=timezone(timedelta(hours=1)))
    assert marks.pause_mark(at) == "2026-11-23T12:00:05Z"
    mark = marks.pause_mark(at, "  INC-42   bad writes ")
    assert mark == "2026-11-23T12:00:05Z INC-42 bad writes" and len(mark) <= 256
    assert marks.read_pause({marks.PAUSED_TAG: mark}) == marks.Pause("2026-11-23T12:00:05Z", "INC-42 bad writes")
    assert marks.read_pause({"team": "x"}) is None and marks.read_pause(None) is None
    long = marks.pause_mark(at, "x" * marks.PAUSE_REASON_MAX)
    assert len(long) == 256 and not marks.pause_reason_problem("x" * marks.PAUSE_REASON_MAX, [])


@pytest.mark.parametrize("reason,ok", [("Störung: Kafka @ team/orders = 42%", False), ("Störung Kafka @ team/orders",
                                       True), ("a,b", False), ("tab\there", False), ("", True)])
def test_a_pause_reason_uses_what_a_tag_value_allows(reason, ok):
    from esmctl.schema import tag_value_refused

    assert (marks.pause_reason_problem(reason, tag_value_refused(reason)) == "") is ok
