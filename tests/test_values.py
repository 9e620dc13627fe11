"""Values as AWS means them: filter patterns compared by JSON type, clearing values that clear, the
function's `$LATEST`, the legacy "forever" values on export, limits and Kafka's retry cap.

Pure logic in memory (tests/reported.py is the oracle of what AWS reports); what a user runs, end to end
against the AWS-like layer."""

from __future__ import annotations

import json

import yaml

from esmctl import kinds, schema, servicemodel
from esmctl.mapping import requests, values
from esmctl.plan.planner import diff  # noqa: F401
from esmctl.plan.types import Action, Plan, Position, Reads  # noqa: F401
from tests import reported
from tests.helpers import client, kinesis, mappings, spec_file
from tests.reported import desired, live

KINESIS = {"EventSourceArn": reported.STREAM, "StartingPosition": "TRIM_HORIZON"}


def filters(*patterns):
    return {"FilterCriteria": {"Filters": [{"Pattern": p} for p in patterns]}}


# -- 1. filter patterns compare by JSON type -------------------------------------------------------
def test_a_pattern_of_true_is_not_a_pattern_of_one():
    have = live({**KINESIS, **filters('{"x": [1]}')})
    [change] = diff([desired({**KINESIS, **filters({"x": [True]})})], [have]).changes
    assert change.steps[0].params == {"FilterCriteria": {"Filters": [{"Pattern": '{"x":[true]}'}]}}
    have = live({**KINESIS, **filters('{"x": [false]}')})
    assert not diff([desired({**KINESIS, **filters({"x": [0]})})], [have]).empty
    # the same JSON in another spelling is still no change
    assert diff([desired({**KINESIS, **filters({"x": [True, 1.5]})})],
                [live({**KINESIS, **filters('{ "x" : [true, 1.5] }')})]).empty


def test_diff_sees_true_against_a_live_one(esmctl, world, box, tmp_path):
    client(box, "lambda").create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON",
        FilterCriteria={"Filters": [{"Pattern": '{"data": {"paid": [1]}}'}]})
    path = spec_file(tmp_path, [kinesis(world, **filters({"data": {"paid": [True]}}))])
    r = esmctl("diff", path)
    assert r.exit_code == 2, r.stdout + r.stderr
    assert "FilterCriteria" in r.stdout
    assert esmctl("apply", path).exit_code == 0
    assert json.loads(mappings(box)[0]["FilterCriteria"]["Filters"][0]["Pattern"]) == {"data": {"paid": [True]}}
    assert esmctl("diff", path).exit_code == 0


# -- 2. DestinationConfig: {} clears the destination -------------------------------------------------
def test_an_empty_destination_config_sends_the_clearing_value():
    have = live({**KINESIS, "DestinationConfig": {"OnFailure": {"Destination": reported.DLQ}}})
    for empty in ({}, {"OnFailure": {}}, {"OnFailure": {"Destination": ""}}):
        [change] = diff([desired({**KINESIS, "DestinationConfig": empty})], [have]).changes
        assert change.steps[0].params == {"DestinationConfig": {"OnFailure": {"Destination": ""}}}, empty
        # a new mapping gets none: AWS refuses an OnFailure without a Destination, and none is the default
        assert "DestinationConfig" not in requests.create_params(desired({**KINESIS, "DestinationConfig": empty}))


def test_apply_of_an_empty_destination_config_converges(esmctl, world, box, tmp_path):
    client(box, "lambda").create_event_source_mapping(
        FunctionName="orders-fn", EventSourceArn=world["orders"], StartingPosition="TRIM_HORIZON",
        DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    path = spec_file(tmp_path, [kinesis(world, DestinationConfig={})])
    assert esmctl("diff", path).exit_code == 2
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    assert not mappings(box)[0].get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout


# -- 3. FunctionName fn:$LATEST --------------------------------------------------------------------
def test_latest_is_the_unqualified_function_on_both_sides():
    want = desired({**KINESIS, "FunctionName": "orders-fn:$LATEST"})
    assert want.function == reported.FN
    # a mapping another tool made on fn:$LATEST is the one the spec means, not a second one to create
    have = live(KINESIS, function_arn=reported.FN + ":$LATEST")
    assert diff([want], [have]).empty and diff([desired(KINESIS)], [have]).empty


def test_apply_of_a_latest_function_then_diff_is_clean(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [kinesis(world, fn="orders-fn:$LATEST")])
    r = esmctl("apply", path)
    assert r.exit_code == 0, r.stderr
    [m] = mappings(box)
    assert m["FunctionArn"] == world["orders-fn"]  # sent unqualified: the identity esmctl gave it
    r = esmctl("diff", path)
    assert r.exit_code == 0, r.stdout + r.stderr
    r = esmctl("apply", path)
    assert r.exit_code == 0 and len(mappings(box)) == 1, r.stderr


# -- 4. what YAML reads otherwise, and values out of range: spec errors, never a crash -------------
def test_yaml_surprises_in_patterns_and_an_epoch_out_of_range_are_spec_errors(esmctl, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("""\
version: 1
mappings:
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
    StartingPosition: AT_TIMESTAMP
    StartingPositionTimestamp: 99999999999999
    FilterCriteria:
      Filters:
        - Pattern: {data: {amount: [1e3]}}
        - Pattern: {on: [1], kind: [x]}
""")
    r = esmctl("validate", str(path))
    assert r.exit_code == 1
    assert r.stderr.splitlines()[:3] == [
        f"{path}:6:5: StartingPositionTimestamp: 99999999999999 is out of range for epoch seconds",
        f"{path}:9:37: FilterCriteria.Filters[0].Pattern.data.amount[0]: 1e3 is read by YAML 1.1 as the text '1e3', "
        "not a number: write 1000.0, or quote it",
        f"{path}:10:25: FilterCriteria.Filters[1].Pattern.true: key \"on\" is read by YAML 1.1 as true: quote it "
        "('on') or write true"]
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr


def test_patterns_with_keys_yaml_typed_still_have_json_text():
    assert values.pattern_text({True: [1], "kind": ["x"], 2: [3]}) == '{"2":[3],"kind":["x"],"true":[1]}'
    assert values.parse_pattern({None: [1]}) == {"null": [1]}


# -- 5. export writes what the legacy "forever" values mean ------------------------------------------
def test_export_leaves_out_the_legacy_forever_values(esmctl, world, box, tmp_path):
    box.proxy.legacy_sentinels = True  # an older mapping: 10000 / 604800 for "forever"
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                    StartingPosition="TRIM_HORIZON")
    lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=world["orders-table-stream"],
                                    StartingPosition="LATEST", MaximumRetryAttempts=5, MaximumRecordAgeInSeconds=600)
    assert {m["MaximumRetryAttempts"] for m in mappings(box)} == {10000, 5}
    r = esmctl("export")
    assert r.exit_code == 0, r.stderr
    exported = {m["FunctionName"]: m for m in yaml.safe_load(r.stdout)["mappings"]}
    # left out: on a new mapping 10000 would mean 10000 retries, not "forever"
    assert "MaximumRetryAttempts" not in exported["orders-fn"]
    assert "MaximumRecordAgeInSeconds" not in exported["orders-fn"]
    assert (exported["audit-fn"]["MaximumRetryAttempts"], exported["audit-fn"]["MaximumRecordAgeInSeconds"]) == (5, 600)
    path = tmp_path / "exported.yaml"
    path.write_text(r.stdout)
    assert esmctl("diff", str(path)).exit_code == 0


# -- 6. empty placeholders, and missing ones among other problems -------------------------------------
EMPTY_ACCOUNT = """\
version: 1
mappings:
  - FunctionName: jobs-fn
    EventSourceArn: arn:aws:sqs:us-east-1:${ACCOUNT}:jobs
  - FunctionName: arn:aws:lambda:us-east-1:${ACCOUNT}:function:orders-fn
    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
    StartingPosition: LATEST
    DestinationConfig: {OnFailure: {Destination: "arn:aws:sqs:${REGION}:123456789012:dlq"}}
  - FunctionName: audit-fn
    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
    StartingPosition: LATEST
    DestinationConfig: {OnFailure: {Destination: "arn:aws:s3:::failures"}}
"""


def test_arns_with_an_empty_account_or_region_are_refused(esmctl, tmp_path, monkeypatch):
    path = tmp_path / "spec.yaml"
    path.write_text(EMPTY_ACCOUNT)
    monkeypatch.setenv("REGION", "")
    r = esmctl("validate", str(path), "--var", "ACCOUNT=")
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        f"{path}:4:5: EventSourceArn: has an empty account: 'arn:aws:sqs:us-east-1::jobs' (a placeholder set to "
        "nothing?)",
        f"{path}:5:5: FunctionName: has an empty account: 'arn:aws:lambda:us-east-1::function:orders-fn' "
        "(a placeholder set to nothing?)",
        f"{path}:8:50: DestinationConfig.OnFailure.Destination: has an empty region: "
        "'arn:aws:sqs::123456789012:dlq' (a placeholder set to nothing?)",
        "esmctl: error: 3 problems found in the spec"]  # an S3 bucket's ARN has neither: not a problem
    r = esmctl("validate", str(path), "--var", "ACCOUNT=123456789012", "--var", "REGION=us-east-1")
    assert r.exit_code == 0, r.stderr


def test_a_missing_placeholder_does_not_hide_the_files_other_problems(esmctl, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("""\
version: 1
region: ${REGION}
mappings:
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/orders
    StartingPosition: LATEST
    BatchSize: ${BATCH}
    ParallelizationFactor: 11
  - FunctionName: jobs-fn
    EventSourceArn: arn:aws:sqs:us-east-1:123456789012:jobs
    StartingPosition: LATEST
""")
    r = esmctl("validate", str(path))
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        f"{path}:2:9: region: no value for ${{REGION}}: pass --var REGION=... or set it in the environment",
        f"{path}:5:21: mappings[0].EventSourceArn: no value for ${{REGION}}: pass --var REGION=... or set it in the "
        "environment",
        f"{path}:5:21: mappings[0].EventSourceArn: no value for ${{ACCOUNT}}: pass --var ACCOUNT=... or set it in the "
        "environment",
        f"{path}:7:16: mappings[0].BatchSize: no value for ${{BATCH}}: pass --var BATCH=... or set it in the "
        "environment",
        f"{path}:8:5: ParallelizationFactor: is 11; the maximum is 10 (allowed: 1–10)",
        f"{path}:11:5: StartingPosition: is not for SQS sources (only Kinesis, DynamoDB, Amazon MSK, self-managed "
        "Kafka, DocumentDB)",
        "esmctl: error: 6 problems found in the spec"]


# -- 7. what botocore's model documents: VIRTUAL_HOST, SourceAccessConfigurations, kafka://, consumers ---
RABBIT = {"EventSourceArn": reported.BROKER, "Queues": ["jobs"]}


def sac(*items):
    return {"SourceAccessConfigurations": [{"Type": t, **({"URI": u} if u is not None else {})} for t, u in items]}


def test_virtual_host_is_never_sent_in_an_update_and_a_change_of_it_is_a_replace():
    have = live({**RABBIT, **sac(("BASIC_AUTH", reported.SECRET), ("VIRTUAL_HOST", "/prod"))})
    other_secret = reported.SECRET.replace("mq-creds", "mq-creds-2")
    [change] = diff([desired({**RABBIT, **sac(("BASIC_AUTH", other_secret), ("VIRTUAL_HOST", "/prod"))})],
                    [have]).changes
    assert change.action == Action.UPDATE
    assert change.steps[0].params == {"SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": other_secret}]}
    [change] = diff([desired({**RABBIT, **sac(("BASIC_AUTH", reported.SECRET), ("VIRTUAL_HOST", "/test"))})],
                    [have]).changes
    assert change.action == Action.REPLACE and "SourceAccessConfigurations.VIRTUAL_HOST" in change.reason.text


def test_the_rules_of_each_access_type_come_from_the_models_documentation():
    rules = servicemodel.access_types()
    assert set(rules) == set(servicemodel.input_shape().members["SourceAccessConfigurations"].member
                             .members["Type"].enum)
    assert [t for t, r in rules.items() if r.create_only] == ["VIRTUAL_HOST"]
    assert sorted(t for t, r in rules.items() if not r.uri) == ["IAM_AUTH", "IAM_OAUTHBEARER_AUTH"]
    assert rules["OAUTHBEARER_AUDIENCE"].requires == {"OAUTHBEARER_AUTH", "IAM_OAUTHBEARER_AUTH"}
    assert "OAUTHBEARER_SCOPE" in rules["IAM_OAUTHBEARER_AUTH"].excludes
    assert rules["SASL_SCRAM_512_AUTH"].kinds == {kinds.MSK, kinds.KAFKA}
    assert rules["VIRTUAL_HOST"].kinds == {kinds.MQ}


def test_the_thin_update_refuses_a_virtual_host():
    update = {"UUID": "00000000-0000-4000-8000-000000000001", **sac(("VIRTUAL_HOST", "/prod"))}
    assert schema.check_params(update, "UpdateEventSourceMapping") == [
        ("SourceAccessConfigurations[0].Type", "VIRTUAL_HOST cannot be given in an update (botocore's model): it is "
                                               "set when the mapping is created")]


BROKERS = "SelfManagedEventSource: {Endpoints: {KAFKA_BOOTSTRAP_SERVERS: [b1:9092]}}"
MODEL_RULES = f"""\
version: 1
mappings:
  - FunctionName: orders-fn
    {BROKERS}
    Topics: [orders]
    StartingPosition: LATEST
    SourceAccessConfigurations:
      - {{Type: IAM_AUTH, URI: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}}
  - FunctionName: orders-fn
    {BROKERS}
    Topics: [payments]
    StartingPosition: LATEST
    SourceAccessConfigurations:
      - {{Type: IAM_OAUTHBEARER_AUTH}}
      - {{Type: OAUTHBEARER_SCOPE, URI: "orders.read"}}
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kafka:us-east-1:123456789012:cluster/orders/0a1b2c3d-1
    Topics: [orders]
    StartingPosition: LATEST
    SourceAccessConfigurations:
      - {{Type: SASL_SCRAM_256_AUTH, URI: "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}}
  - FunctionName: orders-fn
    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders
    StartingPosition: LATEST
    Consumer: orders consumer
    DestinationConfig: {{OnFailure: {{Destination: "kafka://failures"}}}}
"""


def test_the_models_rules_are_checked_offline_naming_the_field(esmctl, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(MODEL_RULES)
    r = esmctl("validate", str(path))
    assert r.exit_code == 1
    assert r.stderr.splitlines() == [
        f"{path}:8:31: SourceAccessConfigurations[0].URI: is not taken with IAM_AUTH: leave it out (there is no "
        "secret to give)",
        f"{path}:14:16: SourceAccessConfigurations[0].Type: IAM_OAUTHBEARER_AUTH needs OAUTHBEARER_AUDIENCE beside it",
        f"{path}:14:16: SourceAccessConfigurations[0].Type: IAM_OAUTHBEARER_AUTH does not go with OAUTHBEARER_SCOPE",
        f"{path}:15:16: SourceAccessConfigurations[1].Type: OAUTHBEARER_SCOPE needs OAUTHBEARER_AUTH beside it",
        f"{path}:21:16: SourceAccessConfigurations[0].Type: SASL_SCRAM_256_AUTH is not for Amazon MSK sources "
        "(only self-managed Kafka)",
        f"{path}:25:5: Consumer: does not match [a-zA-Z0-9_.-]+: 'orders consumer'",
        f"{path}:26:50: DestinationConfig.OnFailure.Destination: a kafka:// topic is only for Kafka sources (Amazon "
        "MSK, self-managed Kafka): give an SQS queue, SNS topic or S3 bucket ARN",
        "esmctl: error: 7 problems found in the spec"]


def test_consumer_register_refuses_a_name_kinesis_would(esmctl, world, box):
    box.proxy.clear_counts()
    r = esmctl("consumer", "register", "--stream", "orders", "--name", "orders consumer")
    assert r.exit_code == 252
    assert "--name: does not match [a-zA-Z0-9_.-]+: 'orders consumer'" in r.stderr
    assert sum(box.proxy.calls.values()) == 0


# -- 8. Kafka in Stream mode with an on-failure destination: AWS caps retries at 10 ---------------------
MSK_WITH_DLQ = {"EventSourceArn": reported.CLUSTER, "Topics": ["orders"], "StartingPosition": "LATEST",
                "DestinationConfig": {"OnFailure": {"Destination": reported.DLQ}}}
SMK_WITH_TOPIC = {"SelfManagedEventSource": {"Endpoints": {"KAFKA_BOOTSTRAP_SERVERS": ["b1:9092"]}},
                  "Topics": ["orders"], "StartingPosition": "LATEST",
                  "DestinationConfig": {"OnFailure": {"Destination": "kafka://failures"}}}


def test_kafka_retries_capped_at_ten_with_a_destination_are_in_sync():
    for spec in (MSK_WITH_DLQ, SMK_WITH_TOPIC):
        have = live({**spec, "MaximumRetryAttempts": 10})  # what AWS reports for "forever" (-1, or none)
        assert diff([desired(spec)], [have]).empty
        assert diff([desired({**spec, "MaximumRetryAttempts": -1})], [have]).empty
        [change] = diff([desired({**spec, "MaximumRetryAttempts": 3})], [have]).changes
        assert change.steps[0].params == {"MaximumRetryAttempts": 3}
    # without a destination there is no cap: 10 is not -1
    no_destination = {k: v for k, v in MSK_WITH_DLQ.items() if k != "DestinationConfig"}
    [change] = diff([desired(no_destination)], [live({**no_destination, "MaximumRetryAttempts": 10})]).changes
    assert change.steps[0].params == {"MaximumRetryAttempts": -1}


def test_kafka_retries_above_the_cap_are_taken_with_a_destination():
    """The cap is for infinite retries only (lambda-esm-facts.md, "Corrections"): an explicit 11-10000 is accepted."""
    spec = {"FunctionName": "orders-fn", **MSK_WITH_DLQ, "MaximumRetryAttempts": 50}
    assert schema.check_params(spec) == []
    assert schema.check_params({**spec, "MaximumRetryAttempts": 10}) == []


# -- 9. a spec of 10,000 mappings loads ----------------------------------------------------------------
def test_a_spec_of_ten_thousand_mappings_loads(esmctl, tmp_path):
    lines = ["version: 1", "region: us-east-1", "mappings:"]
    for i in range(10_000):
        lines += [f"  - FunctionName: fn-{i % 50:02d}",
                  f"    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders-{i:05d}",
                  "    StartingPosition: TRIM_HORIZON", "    BatchSize: 500"]
    path = tmp_path / "big.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size > 1_500_000  # the old limit was 1,000,000 bytes
    r = esmctl("validate", str(path))
    assert r.exit_code == 0, r.stderr
    assert "valid (10000 mappings)" in r.stderr


def test_an_on_failure_destination_is_a_queue_topic_or_bucket():
    """Lambda sends what a stream or Kafka mapping gave up on to SQS, SNS or S3 only (the facts sheet): a table,
    a function or an event bus there is refused offline, not by AWS half-way through an apply."""
    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
    msk = "arn:aws:kafka:us-east-1:123456789012:cluster/orders/0a1b2c3d-1"

    def problems(source: str, destination: str, **more: object) -> list[tuple[str, str]]:
        params = {"FunctionName": "orders-fn", "EventSourceArn": source, "StartingPosition": "LATEST",
                  "DestinationConfig": {"OnFailure": {"Destination": destination}}, **more}
        return [p for p in schema.check_params(params) if p[0] == "DestinationConfig.OnFailure.Destination"]

    for fine in ("arn:aws:sqs:us-east-1:123456789012:dlq", "arn:aws:sns:us-east-1:123456789012:failures",
                 "arn:aws:s3:::failed-batches", ""):
        assert problems(stream, fine) == [], fine
    assert problems(msk, "kafka://failures", Topics=["orders"]) == []
    queue = {"FunctionName": "jobs-fn", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:jobs",
             "DestinationConfig": {"OnFailure": {"Destination": "arn:aws:dynamodb:us-east-1:123456789012:table/x"}}}
    assert [p for p in schema.check_params(queue) if p[0].startswith("DestinationConfig")] == [
        ("DestinationConfig", "is not for SQS sources (only Kinesis, DynamoDB, Amazon MSK, self-managed Kafka): set a "
         "dead-letter queue on the queue instead")]  # said once, not again as a wrong kind of destination
    assert problems(stream, "arn:aws:dynamodb:us-east-1:123456789012:table/x") == [
        ("DestinationConfig.OnFailure.Destination", "is not an SQS queue, SNS topic or S3 bucket ARN (an ARN of "
         "dynamodb): Lambda sends failed batches to those only")]
    assert problems(msk, "arn:aws:lambda:us-east-1:123456789012:function:x", Topics=["orders"]) == [
        ("DestinationConfig.OnFailure.Destination", "is not an SQS queue, SNS topic or S3 bucket ARN, nor a kafka:// "
         "topic (an ARN of lambda): Lambda sends failed batches to those only")]


def test_validate_places_a_wrong_kind_of_destination(esmctl, tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("version: 1\nmappings:\n  - FunctionName: orders-fn\n"
                    "    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders\n"
                    "    StartingPosition: LATEST\n"
                    "    DestinationConfig: {OnFailure: {Destination: 'arn:aws:events:us-east-1:123456789012:"
                    "event-bus/default'}}\n")
    r = esmctl("validate", str(path))
    assert r.exit_code == 1
    assert r.stderr.splitlines()[0] == (f"{path}:6:50: DestinationConfig.OnFailure.Destination: is not an SQS queue, "
                                        "SNS topic or S3 bucket ARN (an ARN of events): Lambda sends failed "
                                        "batches to those only")


def test_the_epoch_is_a_starting_position_timestamp_like_any_other():
    """`StartingPositionTimestamp: 0` was "is required" (a falsy test took the epoch for nothing; a review)."""
    from esmctl import spec

    text = ("version: 1\nmappings:\n  - FunctionName: orders-fn\n"
            "    EventSourceArn: arn:aws:kinesis:us-east-1:123456789012:stream/orders\n"
            "    StartingPosition: AT_TIMESTAMP\n    StartingPositionTimestamp: 0\n")
    [m] = spec.load("s.yaml", text=text).mappings
    assert m.params["StartingPositionTimestamp"] == 0
