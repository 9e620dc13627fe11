"""`esmctl status` and `esmctl doctor` against the emulator (CloudWatch data put by the tests)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml

from esmctl.metrics import time_range
from esmctl.status import parse_duration
from tests.helpers import client, put_age


def stream_mapping(box, world, fn="orders-fn", stream="orders", **kw):
    return client(box, "lambda").create_event_source_mapping(FunctionName=fn, EventSourceArn=world[stream],
                                                             StartingPosition="LATEST", **kw)


def test_iterator_age_is_the_window_maximum_and_json_shape(esmctl, world, box):
    m = stream_mapping(box, world)
    put_age(box, "orders-fn", [(1, 1000), (3, 5000), (0, 2000), (40, 999_999)])  # the last is outside 15m
    r = esmctl("status", "-o", "json")
    assert r.exit_code == 0, r.stderr
    [doc] = json.loads(r.stdout)
    lag = doc.pop("Lag")
    assert doc == {"UUID": m["UUID"], "FunctionArn": world["orders-fn"], "EventSourceArn": world["orders"],
                   "State": "Enabled", "StateTransitionReason": m["StateTransitionReason"],
                   "LastProcessingResult": "No records processed", "IteratorAgeMs": 5000.0,
                   "Healthy": True, "Verdict": "ok", "Problems": []}
    assert (lag["Metric"], lag["Unit"], lag["Value"]) == ("IteratorAge", "ms", 5000.0)
    assert [v for _, v in lag["Series"]] == [5000.0, 1000.0, 2000.0]  # per minute, oldest first
    r = esmctl("status", "--window", "1h", "-o", "json")
    assert json.loads(r.stdout)[0]["IteratorAgeMs"] == 999_999.0


def test_max_iterator_age_makes_it_unhealthy(esmctl, world, box):
    stream_mapping(box, world)
    put_age(box, "orders-fn", [(2, 90_000)])
    assert esmctl("status", "--max-iterator-age", "2m").exit_code == 0
    r = esmctl("status", "--max-iterator-age", "60s")
    assert r.exit_code == 3
    assert "UNHEALTHY: IteratorAge 90.0 s is over 60.0 s" in r.stdout


def test_no_data_is_null_not_zero(esmctl, world, box):
    stream_mapping(box, world)
    [doc] = json.loads(esmctl("status", "--max-iterator-age", "1s", "-o", "json").stdout)
    assert doc["IteratorAgeMs"] is None and doc["Healthy"] is True


def test_problem_result_and_state_are_unhealthy(esmctl, world, box):
    bad = stream_mapping(box, world)["UUID"]
    off = stream_mapping(box, world, fn="audit-fn", Enabled=False)["UUID"]
    box.proxy.overrides[bad] = {"LastProcessingResult": "PROBLEM: Function call failed"}
    r = esmctl("status", "-o", "json")
    assert r.exit_code == 3
    docs = {d["UUID"]: d for d in json.loads(r.stdout)}
    assert docs[bad]["Problems"] == ["PROBLEM: Function call failed"]
    assert docs[off]["Problems"] == ["state is Disabled, expected Enabled"]


def test_status_of_a_spec_knows_disabled_and_missing(esmctl, world, box, tmp_path):
    stream_mapping(box, world, fn="audit-fn", Enabled=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"version": 1, "mappings": [
        {"FunctionName": "audit-fn", "EventSourceArn": world["orders"], "StartingPosition": "LATEST",
         "Enabled": False},
        {"FunctionName": "orders-fn", "EventSourceArn": world["orders"], "StartingPosition": "LATEST"}]}))
    r = esmctl("status", str(spec), "-o", "json")
    assert r.exit_code == 3
    docs = {d["FunctionArn"].rsplit(":", 1)[1]: d for d in json.loads(r.stdout)}
    assert docs["audit-fn"]["Healthy"] is True
    # null: not an API value; the problem says why
    assert docs["orders-fn"]["State"] is None and docs["orders-fn"]["UUID"] is None
    assert docs["orders-fn"]["Problems"] == ["not created: the spec lists it, AWS has no such mapping"]
    assert docs["orders-fn"]["UUID"] is None
    table = esmctl("status", str(spec))
    assert "UNHEALTHY: not created" in table.stdout


def test_metric_queries_are_batched_500_per_call(esmctl, world, box):
    lam, sqs = client(box, "lambda"), client(box, "sqs")
    uuids = []
    for i in range(28):
        url = sqs.create_queue(QueueName=f"q{i}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for fn in ("orders-fn", "audit-fn", "jobs-fn"):
            uuids.append(lam.create_event_source_mapping(FunctionName=fn, EventSourceArn=arn,
                                                         MetricsConfig={"Metrics": ["EventCount"]})["UUID"])
    stream_mapping(box, world)  # one IteratorAge query more: 84 × 6 + 1 = 505 queries
    client(box, "cloudwatch").put_metric_data(Namespace="AWS/Lambda", MetricData=[{
        "MetricName": "PolledEventCount", "Value": 42, "Timestamp": datetime.now(timezone.utc),
        "Dimensions": [{"Name": "EventSourceMappingUUID", "Value": uuids[0]}]}])
    r = esmctl("status", "-o", "json")
    assert r.exit_code == 0, r.stderr
    assert box.proxy.calls["GetMetricData"] == 2
    docs = {d["UUID"]: d for d in json.loads(r.stdout)}
    assert docs[uuids[0]]["Metrics"]["PolledEventCount"] == 42
    assert docs[uuids[0]]["Metrics"]["DeletedEventCount"] == 0
    assert box.proxy.calls["ListEventSourceMappings"] == 1


def test_qualified_function_uses_the_resource_dimension(world, box):
    from esmctl.metrics import function_dimensions

    assert function_dimensions(world["orders-fn"] + ":live") == [
        {"Name": "FunctionName", "Value": "orders-fn"}, {"Name": "Resource", "Value": "orders-fn:live"}]


def test_time_range_rounds_to_whole_minutes():
    now = datetime(2026, 1, 1, 12, 30, 42, tzinfo=timezone.utc)
    assert time_range(timedelta(minutes=15), now) == (datetime(2026, 1, 1, 12, 15, tzinfo=timezone.utc),
                                                      datetime(2026, 1, 1, 12, 31, tzinfo=timezone.utc))


def test_durations():
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("15m") == timedelta(minutes=15)
    assert parse_duration("1h") == timedelta(hours=1)
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_bad_duration_is_a_usage_error(esmctl):
    r = esmctl("status", "--window", "soon")
    assert r.exit_code == 252 and "not a duration" in r.stderr
    # a refresh every 0 s would list the mappings and read CloudWatch in a busy loop
    for option, value in (("--interval", "0"), ("--interval", "1s"), ("--window", "0s"), ("--window", "30s")):
        r = esmctl("status", "--watch", option, value)
        assert r.exit_code == 252 and "too short" in r.stderr, (option, value)


def test_watch_with_json_prints_a_json_line_per_refresh(esmctl, world, box, monkeypatch):
    stream_mapping(box, world)
    ticks = []

    def sleep(_seconds):
        ticks.append(1)
        if len(ticks) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("esmctl.commands.health.time.sleep", sleep)
    r = esmctl("status", "--watch", "-o", "json")
    lines = r.stdout.splitlines()
    assert r.exit_code == 0 and len(lines) == 2
    assert all(json.loads(line)[0]["State"] == "Enabled" for line in lines)


def test_watch_prints_plain_blocks_when_not_a_terminal(esmctl, world, box, monkeypatch):
    stream_mapping(box, world)
    ticks = []

    def sleep(_seconds):
        ticks.append(1)
        if len(ticks) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("esmctl.commands.health.time.sleep", sleep)
    r = esmctl("status", "--watch", "--interval", "2s")
    assert r.exit_code == 0
    assert r.stdout.count("kinesis:orders") == 2 and "\x1b[" not in r.stdout


def test_watch_interrupted_before_its_first_refresh_has_no_verdict(esmctl, world, box, monkeypatch):
    """Ctrl-C while the first refresh was still reading exited 0: healthy, though nothing was measured."""
    stream_mapping(box, world)

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("esmctl.commands.health.gather_health", interrupted)
    r = esmctl("status", "--watch", "-o", "json")
    assert r.exit_code == 130 and "before the first refresh ended" in r.stderr, (r.exit_code, r.stderr)


# -- doctor -----------------------------------------------------------------------------------


def make_function(box, name: str, policy: dict | None, timeout: int = 3) -> str:
    from esmctl.sandbox.server import _zip

    iam = client(box, "iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=f"{name}-role", PolicyName="p", PolicyDocument=json.dumps(policy))
    return client(box, "lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role,
                                                 Handler="h.h", Code={"ZipFile": _zip()},
                                                 Timeout=timeout)["FunctionArn"]


KINESIS_OK = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["kinesis:Describe*", "kinesis:Get*", "kinesis:List*"], "Resource": "*"},
    {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}


def findings(esmctl, *args):
    r = esmctl("doctor", *args, "-o", "json")
    return r.exit_code, json.loads(r.stdout or "[]")


def test_doctor_stalled_shards_fires_and_not(esmctl, world, box):
    make_function(box, "stall-fn", KINESIS_OK)
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="stall-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    code, found = findings(esmctl, "--function", "stall-fn")
    assert code == 0  # a warning, not an error
    assert [f["check"] for f in found] == ["stalled-shards"] and found[0]["severity"] == "warning"
    lam.create_event_source_mapping(FunctionName="stall-fn", EventSourceArn=world["clicks"], StartingPosition="LATEST",
                                    MaximumRetryAttempts=2,
                                    DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    code, found = findings(esmctl, "--function", "stall-fn")
    assert [f["mapping"]["EventSourceArn"] for f in found] == [world["orders"]]


def test_doctor_concurrency_against_reserved_and_account(esmctl, world, box):
    make_function(box, "busy-fn", KINESIS_OK)
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="busy-fn", EventSourceArn=world["orders"],  # 2 shards
                                    StartingPosition="LATEST", ParallelizationFactor=3, MaximumRetryAttempts=1)
    lam.put_function_concurrency(FunctionName="busy-fn", ReservedConcurrentExecutions=1)
    code, found = findings(esmctl, "--function", "busy-fn")
    assert code == 3
    [f] = [f for f in found if f["check"] == "concurrency"]
    assert f["severity"] == "error" and "need 6" in f["finding"] and "reserved concurrency is 1" in f["finding"]
    lam.put_function_concurrency(FunctionName="busy-fn", ReservedConcurrentExecutions=6)
    code, found = findings(esmctl, "--function", "busy-fn")
    assert code == 0 and not [f for f in found if f["check"] == "concurrency"]
    lam.delete_function_concurrency(FunctionName="busy-fn")
    box.proxy.unreserved_concurrency = 4
    code, found = findings(esmctl, "--function", "busy-fn")
    [f] = [f for f in found if f["check"] == "concurrency"]
    assert f["severity"] == "warning" and "4 unreserved" in f["finding"]


def test_doctor_sums_concurrency_over_the_functions_mappings_and_qualifiers(esmctl, world, box):
    """Reserved concurrency 2, mappings over 1 + 2 shards: 3 needed, a shard stalls — an error, exit 3."""
    make_function(box, "two-fn", KINESIS_OK)
    lam = client(box, "lambda", direct=False)  # through the layer: a mapping on an alias keeps the alias's ARN
    version = lam.publish_version(FunctionName="two-fn")["Version"]
    lam.create_alias(FunctionName="two-fn", Name="live", FunctionVersion=version)
    lam.create_event_source_mapping(FunctionName="two-fn", EventSourceArn=world["clicks"],  # 1 shard
                                    StartingPosition="LATEST", MaximumRetryAttempts=1)
    lam.create_event_source_mapping(FunctionName="two-fn:live", EventSourceArn=world["orders"],  # 2 shards
                                    StartingPosition="LATEST", MaximumRetryAttempts=1)
    lam.put_function_concurrency(FunctionName="two-fn", ReservedConcurrentExecutions=2)
    code, found = findings(esmctl, "--function", "two-fn")
    assert code == 3
    concurrency = [f for f in found if f["check"] == "concurrency"]
    assert concurrency and {f["severity"] for f in concurrency} == {"error"}
    assert all("read 3 shard(s) and need 3" in f["finding"] for f in concurrency)
    # The alias's mapping alone: GetFunction of an alias has no function-level Concurrency (AWS gives "only details
    # that are specific to that version"); the function's own is read, and the verdict is the same whatever the scope
    # (a review found `--function two-fn:live` saying "No findings" while `--function two-fn` said error).
    lam.put_function_concurrency(FunctionName="two-fn", ReservedConcurrentExecutions=1)
    code, found = findings(esmctl, "--function", "two-fn:live")
    [f] = [f for f in found if f["check"] == "concurrency"]
    assert code == 3 and f["severity"] == "error" and "reserved concurrency is 1" in f["finding"], found


def test_doctor_policies_it_cannot_decide_are_unknown_not_denied():
    from esmctl.permissions import allowed_by_documents

    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
    conditional = {"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*",
                                  "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}]}
    assert allowed_by_documents([conditional], "kinesis:GetRecords", stream) is None
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert allowed_by_documents([not_action], "kinesis:GetRecords", stream) is True
    assert allowed_by_documents([not_action], "iam:PassRole", stream) is False
    not_resource = {"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "NotResource": stream}]}
    assert allowed_by_documents([not_resource], "kinesis:GetRecords", stream) is False
    maybe_denied = [{"Statement": [{"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"}]},
                    {"Statement": [{"Effect": "Deny", "Action": "kinesis:*", "Resource": "*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}]
    assert allowed_by_documents(maybe_denied, "kinesis:GetRecords", stream) is None


def test_doctor_permissions_read_from_the_role(esmctl, world, box):
    make_function(box, "bare-fn", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kinesis:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "kinesis:GetRecords", "Resource": world["orders"]}]})
    client(box, "lambda").create_event_source_mapping(
        FunctionName="bare-fn", EventSourceArn=world["orders"], StartingPosition="LATEST", MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    code, found = findings(esmctl, "--function", "bare-fn")
    assert code == 3
    [f] = [f for f in found if f["check"] == "permissions"]
    assert "kinesis:GetRecords, sqs:SendMessage" in f["finding"]
    assert "kinesis:ListShards" not in f["finding"]


def test_doctor_permissions_by_simulation_when_offered(world, box):
    from botocore.stub import Stubber

    from esmctl.aws.calls import Aws
    from esmctl.doctor import diagnose

    role = make_function(box, "sim-fn", None)
    m = client(box, "lambda").create_event_source_mapping(FunctionName="sim-fn", EventSourceArn=world["jobs"])
    aws = Aws(endpoint_url=box.url)
    stub = Stubber(aws.client("iam"))
    role_arn = client(box, "lambda").get_function(FunctionName=role)["Configuration"]["Role"]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        decision = "allowed" if action != "sqs:DeleteMessage" else "implicitDeny"
        stub.add_response("simulate_principal_policy", {"EvaluationResults": [
            {"EvalActionName": action, "EvalDecision": decision}]},
            {"PolicySourceArn": role_arn, "ActionNames": [action], "ResourceArns": [world["jobs"]]})
    with stub:
        found = diagnose(aws, [m])
    stub.assert_no_pending_responses()
    [f] = [f for f in found if f.check == "permissions"]
    assert f.severity == "error" and "does not allow sqs:DeleteMessage" in f.finding


def test_doctor_sqs_visibility_timeout(esmctl, world, box):
    make_function(box, "slow-fn", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}, timeout=120)
    client(box, "lambda").create_event_source_mapping(FunctionName="slow-fn", EventSourceArn=world["jobs"])
    code, found = findings(esmctl, "--function", "slow-fn")  # the seeded queue: 60 s
    assert code == 3
    [f] = found
    assert f["check"] == "visibility-timeout" and "(60s) is shorter than the function's timeout (120s)" in f["finding"]
    sqs = client(box, "sqs")
    sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"],
                             Attributes={"VisibilityTimeout": "720"})
    assert findings(esmctl, "--function", "slow-fn") == (0, [])


def test_doctor_region_check():
    from esmctl.doctor import check_region

    m = {"FunctionArn": "arn:aws:lambda:us-east-1:1:function:f", "EventSourceArn": "arn:aws:sqs:eu-west-1:1:q"}
    [f] = check_region(m)
    assert f.severity == "error" and "us-east-1" in f.finding and "eu-west-1" in f.finding
    assert check_region({**m, "EventSourceArn": "arn:aws:sqs:us-east-1:1:q"}) == []


def test_doctor_table(esmctl, world, box):
    make_function(box, "stall-fn", KINESIS_OK)
    client(box, "lambda").create_event_source_mapping(FunctionName="stall-fn", EventSourceArn=world["orders"],
                                                      StartingPosition="LATEST")
    r = esmctl("doctor", "--function", "stall-fn")
    assert r.exit_code == 0 and "WARNING" in r.stdout and "stalled-shards" in r.stdout


def put_metric(box, namespace: str, name: str, dims: dict, values: list[tuple[int, float]], unit: str = "None"):
    now = datetime.now(timezone.utc)
    client(box, "cloudwatch").put_metric_data(Namespace=namespace, MetricData=[
        {"MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
         "Timestamp": now - timedelta(minutes=ago), "Value": value, "Unit": unit} for ago, value in values])


def test_lag_for_every_kind_of_source(esmctl, world, box):
    lam = client(box, "lambda", direct=False)
    lam.create_event_source_mapping(FunctionName="jobs-fn", EventSourceArn=world["jobs"])
    cluster = "arn:aws:kafka:us-east-1:123456789012:cluster/orders/0a1b2c3d-4e5f-6789-abcd-ef0123456789-1"
    lam.create_event_source_mapping(FunctionName="audit-fn", EventSourceArn=cluster, Topics=["orders"],
                                    StartingPosition="LATEST")
    put_metric(box, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "jobs"}, [(3, 120), (1, 600)],
               "Seconds")
    put_metric(box, "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "jobs"}, [(1, 42)], "Count")
    put_metric(box, "AWS/Lambda", "OffsetLag", {"FunctionName": "audit-fn"}, [(2, 1500), (1, 90_000)], "Count")
    box.proxy.clear_counts()
    r = esmctl("status", "-o", "json")
    assert r.exit_code == 0, r.stderr
    lags = {d["FunctionArn"].rsplit(":", 1)[1]: d["Lag"] for d in json.loads(r.stdout)}
    assert (lags["jobs-fn"]["Metric"], lags["jobs-fn"]["Value"], lags["jobs-fn"]["MessagesVisible"]) == \
        ("ApproximateAgeOfOldestMessage", 600_000.0, 42.0)
    assert (lags["audit-fn"]["Metric"], lags["audit-fn"]["Unit"], lags["audit-fn"]["Value"]) == \
        ("OffsetLag", "records", 90_000.0)
    assert box.proxy.calls["GetMetricData"] == 1  # one call for every mapping's lag
    r = esmctl("status", "--max-lag", "5m", "--max-lag", "100000records", "-o", "json")
    assert r.exit_code == 3
    problems = {d["FunctionArn"].rsplit(":", 1)[1]: d["Problems"] for d in json.loads(r.stdout)}
    assert problems == {"jobs-fn": ["ApproximateAgeOfOldestMessage 10.0 min is over 5.0 min"], "audit-fn": []}
    for records in ("50000records", "50000r", "50000 record"):
        r = esmctl("status", "--max-lag", records, "-o", "json")
        problems = {d["FunctionArn"].rsplit(":", 1)[1]: d["Problems"] for d in json.loads(r.stdout)}
        assert r.exit_code == 3 and problems["audit-fn"] == ["OffsetLag 90,000 records is over 50,000"]
    assert esmctl("status", "--max-lag", "soon").exit_code == 252


def test_a_bare_max_lag_number_is_refused_it_could_mean_seconds_or_records(esmctl, world, box):
    """`--max-lag 300` used to mean 300 Kafka records: on a queue 10 minutes behind, the gate passed."""
    client(box, "lambda", direct=False).create_event_source_mapping(FunctionName="jobs-fn",
                                                                    EventSourceArn=world["jobs"])
    put_metric(box, "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "jobs"}, [(1, 600)], "Seconds")
    r = esmctl("status", "--max-lag", "300")
    assert r.exit_code == 252 and "Traceback" not in r.stderr
    assert "Invalid value for '--max-lag': '300' needs a unit: 300s or 300m for an age (streams, queues), " \
           "300records for Kafka's OffsetLag" in r.stderr
    r = esmctl("status", "--max-lag", "300s", "-o", "json")
    assert r.exit_code == 3 and json.loads(r.stdout)[0]["Problems"] == [
        "ApproximateAgeOfOldestMessage 10.0 min is over 5.0 min"]


@pytest.mark.parametrize("command", ["status", "doctor"])
def test_a_function_that_does_not_exist_fails_the_gate(esmctl, world, box, command):
    client(box, "lambda", direct=False).create_event_source_mapping(FunctionName="jobs-fn",
                                                                    EventSourceArn=world["jobs"])
    r = esmctl(command, "--function", "nosuch-fn")
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr == "esmctl: error: function nosuch-fn not found (in us-east-1)\n"
    r = esmctl(command, "--function", "jobs-fn", "--function", "jobs-fn:nosuch-alias")
    assert r.exit_code == 1 and "function jobs-fn:nosuch-alias not found" in r.stderr


def test_a_function_or_source_without_mappings_is_unhealthy(esmctl, world, box):
    """It exists, but nothing reads for it: a gate asked about it fails (3), and says why on its row."""
    client(box, "lambda", direct=False).create_event_source_mapping(FunctionName="jobs-fn",
                                                                    EventSourceArn=world["jobs"])
    r = esmctl("status", "--function", "orders-fn", "-o", "json")
    assert r.exit_code == 3
    assert json.loads(r.stdout) == [{
        "UUID": None, "FunctionArn": world["orders-fn"], "EventSourceArn": None, "State": None,
        "StateTransitionReason": "", "LastProcessingResult": "", "IteratorAgeMs": None, "Lag": None,
        "Healthy": False, "Verdict": "unhealthy", "Problems": ["no mappings: the function reads from no source"]}]
    r = esmctl("status", "--function", "orders-fn", "--function", "jobs-fn")
    assert r.exit_code == 3 and "UNHEALTHY: no mappings: the function reads from no source" in r.stdout
    r = esmctl("status", "--source", world["clicks"], "-o", "json")
    assert r.exit_code == 3 and json.loads(r.stdout)[0]["Problems"] == ["no mappings: no function reads this source"]
    code, found = findings(esmctl, "--function", "orders-fn")
    assert code == 3 and found == [{
        "severity": "error", "check": "missing",
        "mapping": {"UUID": None, "FunctionArn": world["orders-fn"], "EventSourceArn": None},
        "finding": "no mappings: the function reads from no source",
        "fix": "create one (esmctl mapping create), or check the name"}]
    assert esmctl("status", "--function", "jobs-fn").exit_code == 0
    r = esmctl("status", "--function", "jobs-fn", "--source", world["orders"], "-o", "json")
    assert r.exit_code == 3 and sorted(p for d in json.loads(r.stdout) for p in d["Problems"]) == [
        "no mappings: none of the functions asked for reads this source",
        "no mappings: the function reads none of the sources asked for"]
    r = esmctl("status", "--source", world["orders"], "--source", world["jobs"])  # the first has none
    assert r.exit_code == 3
    assert esmctl("status").exit_code == 0  # the region, asked as a whole: what is there is healthy


def test_doctor_on_a_spec_agrees_with_status_on_what_is_missing(esmctl, world, box, tmp_path):
    stream_mapping(box, world, fn="audit-fn", MaximumRetryAttempts=1,
                   DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    spec = tmp_path / "spec.yaml"
    spec.write_text(yaml.safe_dump({"version": 1, "mappings": [
        {"FunctionName": "audit-fn", "EventSourceArn": world["orders"], "StartingPosition": "LATEST",
         "MaximumRetryAttempts": 1, "DestinationConfig": {"OnFailure": {"Destination": world["orders-dlq"]}}},
        {"FunctionName": "orders-fn", "EventSourceArn": world["clicks"], "StartingPosition": "LATEST"}]}))
    r = esmctl("status", str(spec), "-o", "json")
    assert r.exit_code == 3
    unhealthy = [(d["FunctionArn"], d["EventSourceArn"], d["Problems"]) for d in json.loads(r.stdout)
                 if not d["Healthy"]]
    assert unhealthy == [(world["orders-fn"], world["clicks"],
                          ["not created: the spec lists it, AWS has no such mapping"])]
    code, found = findings(esmctl, str(spec))
    assert code == 3
    assert [(f["mapping"]["FunctionArn"], f["mapping"]["EventSourceArn"], [f["finding"]]) for f in found
            if f["severity"] == "error"] == unhealthy
    assert found[0]["check"] == "missing" and found[0]["fix"] == f"create it: esmctl apply {spec}"
    table = esmctl("doctor", str(spec))
    assert "orders-fn <- kinesis:clicks" in table.stdout and "missing" in table.stdout
    # the same scope: --function narrows a spec for both
    r = esmctl("status", str(spec), "--function", "audit-fn", "-o", "json")
    assert r.exit_code == 0 and [d["FunctionArn"] for d in json.loads(r.stdout)] == [world["audit-fn"]]
    assert findings(esmctl, str(spec), "--function", "audit-fn")[0] == 0


def test_a_long_window_shows_the_trend_at_a_terminal(world, box):
    from esmctl.commands import health
    from esmctl.status import Lag, from_live

    m = stream_mapping(box, world)
    h = from_live(m)
    h.lag = Lag("IteratorAge", "ms", 4000.0, [(datetime(2026, 1, 1, 0, i, tzinfo=timezone.utc), v)
                                              for i, v in enumerate([4000.0, 3000.0, 2000.0, 500.0])])
    [row] = health.status_rows([h], trend=True)
    assert row["Lag"] == "4.0 s █▆▄▁"  # catching up
    [row] = health.status_rows([h])
    assert row["Lag"] == "4.0 s"
