"""doctor over the region, the fix for each kind of source, destinations that do not exist, two qualifiers on one
source; plan and diff notice a function that does not exist. End to end against the emulator."""

from __future__ import annotations

import json

from esmctl.sandbox.server import _zip
from tests.helpers import client, spec_file

KINESIS_READ = {"Effect": "Allow", "Action": ["kinesis:Describe*", "kinesis:Get*", "kinesis:List*"], "Resource": "*"}
SQS_READ = {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": "*"}


def function(box, name: str, *statements: dict) -> None:
    iam = client(box, "iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=f"{name}-role", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": list(statements)}))
    client(box, "lambda").create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="h.h",
                                          Code={"ZipFile": _zip()})


def doctor(esmctl, *args: str) -> tuple[int, list[dict]]:
    r = esmctl("doctor", *args, "-o", "json")
    return r.exit_code, json.loads(r.stdout or "[]")


def test_doctor_without_arguments_covers_every_mapping_in_the_region(esmctl, world, box):
    function(box, "a-fn", KINESIS_READ)
    function(box, "b-fn")  # a role that allows nothing
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="a-fn", EventSourceArn=world["orders"], StartingPosition="LATEST")
    lam.create_event_source_mapping(FunctionName="b-fn", EventSourceArn=world["jobs"])
    code, found = doctor(esmctl)
    assert code == 3
    assert {(f["mapping"]["FunctionArn"].rsplit(":", 1)[1], f["check"]) for f in found} == {
        ("a-fn", "stalled-shards"), ("b-fn", "permissions")}
    r = esmctl("doctor")
    assert r.exit_code == 3 and "a-fn" in r.stdout and "b-fn" in r.stdout


def test_the_permissions_fix_names_the_managed_policy_of_the_mappings_kind_only(esmctl, world, box):
    function(box, "queue-fn")
    function(box, "stream-fn", {"Effect": "Allow", "Action": "kinesis:DescribeStream", "Resource": "*"})
    lam = client(box, "lambda")
    lam.create_event_source_mapping(FunctionName="queue-fn", EventSourceArn=world["jobs"])
    lam.create_event_source_mapping(FunctionName="stream-fn", EventSourceArn=world["orders"],
                                    StartingPosition="LATEST", MaximumRetryAttempts=1,
                                    DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    fixes = {f["mapping"]["FunctionArn"].rsplit(":", 1)[1]: f["fix"] for f in doctor(esmctl)[1]
             if f["check"] == "permissions"}
    assert fixes == {
        "queue-fn": "attach the AWSLambdaSQSQueueExecutionRole managed policy to the role",
        "stream-fn": "attach the AWSLambdaKinesisExecutionRole managed policy to the role; "
                     f"allow sqs:SendMessage on {world['orders-dlq']}"}


def test_an_on_failure_destination_that_does_not_exist_is_an_error_read_once(esmctl, world, box):
    function(box, "dest-fn", KINESIS_READ, {"Effect": "Allow", "Action": ["sqs:SendMessage", "sns:Publish"],
                                            "Resource": "*"})
    gone_queue = world["orders-dlq"].replace("orders-dlq", "gone-dlq")
    gone_topic = f"arn:aws:sns:us-east-1:{gone_queue.split(':')[4]}:gone-topic"
    lam = client(box, "lambda")
    for source, dest in (("orders", gone_queue), ("clicks", gone_queue), ("orders-table-stream", gone_topic)):
        lam.create_event_source_mapping(FunctionName="dest-fn", EventSourceArn=world[source],
                                        StartingPosition="LATEST", MaximumRetryAttempts=1,
                                        DestinationConfig={"OnFailure": {"Destination": dest}})
    ok = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                         StartingPosition="LATEST", MaximumRetryAttempts=1,
                                         DestinationConfig={"OnFailure": {"Destination": world["orders-dlq"]}})
    box.proxy.clear_counts()
    code, found = doctor(esmctl)
    assert code == 3
    missing = [f for f in found if f["check"] == "destination"]
    assert sorted((f["mapping"]["EventSourceArn"], f["severity"]) for f in missing) == sorted(
        (world[s], "error") for s in ("orders", "clicks", "orders-table-stream"))
    assert any("the OnFailure destination sqs:gone-dlq does not exist" in f["finding"] for f in missing)
    assert any("sns:gone-topic does not exist" in f["finding"] for f in missing)
    assert ok["UUID"] not in {f["mapping"]["UUID"] for f in missing}
    # one read per destination: two queues (one named twice) and a topic
    assert (box.proxy.calls["GetQueueUrl"], box.proxy.calls["GetTopicAttributes"]) == (2, 1)


def test_two_qualifiers_of_one_function_on_one_source_are_flagged(esmctl, world, box):
    lam = client(box, "lambda", direct=False)  # AWS's FunctionArn of an alias mapping: the alias's
    version = lam.publish_version(FunctionName="orders-fn")["Version"]
    lam.create_alias(FunctionName="orders-fn", Name="live", FunctionVersion=version)
    first = lam.create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                            StartingPosition="LATEST")["UUID"]
    second = lam.create_event_source_mapping(FunctionName="orders-fn:live", EventSourceArn=world["orders"],
                                             StartingPosition="LATEST")["UUID"]
    lam.create_event_source_mapping(FunctionName="orders-fn:live", EventSourceArn=world["clicks"],
                                    StartingPosition="LATEST")  # another source: fine
    _, found = doctor(esmctl, "--function", "orders-fn")
    [f] = [f for f in found if f["check"] == "qualifiers"]
    assert f["severity"] == "warning"
    assert f["finding"].startswith("orders-fn and orders-fn:live both read kinesis:orders: every record is processed")
    assert first in f["finding"] and second in f["finding"]


def test_plan_and_diff_notice_a_function_that_does_not_exist(esmctl, world, box, tmp_path):
    path = spec_file(tmp_path, [
        {"FunctionName": "orders-fn", "EventSourceArn": world["orders"], "StartingPosition": "LATEST"},
        {"FunctionName": "no-such-fn", "EventSourceArn": world["clicks"], "StartingPosition": "LATEST"},
        {"FunctionName": "orders-fn:nope", "EventSourceArn": world["clicks"], "StartingPosition": "LATEST"}])
    box.proxy.clear_counts()
    for command in ("plan", "diff"):
        r = esmctl(command, path)
        assert r.exit_code == 1, (r.stdout, r.stderr)
        assert f"{path}:6:17: FunctionName: no-such-fn does not exist in us-east-1: create the function (or alias) " \
               "first, or correct the name" in r.stderr
        assert f"{path}:9:17: FunctionName: orders-fn:nope does not exist" in r.stderr
        assert "Plan:" not in r.stdout
    assert box.proxy.calls["GetFunction"] == 6  # one per function (and alias) to create for, per run
    assert box.proxy.calls["CreateEventSourceMapping"] == 0
    # a mapping that exists is not asked about: its function is not looked up
    client(box, "lambda").create_event_source_mapping(FunctionName="orders-fn", EventSourceArn=world["orders"],
                                                      StartingPosition="LATEST")
    box.proxy.clear_counts()
    assert esmctl("diff", spec_file(tmp_path, [{"FunctionName": "orders-fn", "EventSourceArn": world["orders"],
                                                 "StartingPosition": "LATEST"}], "one.yaml")).exit_code == 0
    assert box.proxy.calls["GetFunction"] == 0


def test_permissions_apply_to_the_resources_iam_checks_them_on(esmctl, world, box):
    """An S3 destination needs PutObject on the bucket's objects and ListBucket on the bucket (the Lambda guide's
    on-failure pages); a mapping through a Kinesis consumer needs the stream's actions on the stream and
    SubscribeToShard on the consumer."""
    stream = world["orders"]
    stream_actions = {"Effect": "Allow", "Action": ["kinesis:Describe*", "kinesis:Get*", "kinesis:List*"],
                      "Resource": stream}
    function(box, "s3-fn", stream_actions, {"Effect": "Allow", "Action": "s3:PutObject",
                                            "Resource": "arn:aws:s3:::failures/*"},
             {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::failures"})
    function(box, "s3-bucket-only-fn", stream_actions, {"Effect": "Allow", "Action": "s3:PutObject",
                                                        "Resource": "arn:aws:s3:::failures"})
    # scoped to the keys Lambda writes (aws/lambda/<UUID>/…): enough; denied them: not
    function(box, "s3-scoped-fn", stream_actions, {"Effect": "Allow", "Action": "s3:PutObject",
                                                   "Resource": "arn:aws:s3:::failures/aws/lambda/*"},
             {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::failures"})
    function(box, "s3-denied-fn", stream_actions, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
             {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::failures/aws/*"})
    arn = client(box, "kinesis", direct=False).register_stream_consumer(
        StreamARN=stream, ConsumerName="fan")["Consumer"]["ConsumerARN"]
    function(box, "fan-fn", stream_actions, {"Effect": "Allow", "Action": "kinesis:SubscribeToShard",
                                             "Resource": f"{stream}/consumer/*"})
    client(box, "s3").create_bucket(Bucket="failures")
    lam = client(box, "lambda", direct=False)
    for name in ("s3-fn", "s3-bucket-only-fn", "s3-scoped-fn", "s3-denied-fn"):
        lam.create_event_source_mapping(FunctionName=name, EventSourceArn=stream, StartingPosition="LATEST",
                                        MaximumRetryAttempts=1,
                                        DestinationConfig={"OnFailure": {"Destination": "arn:aws:s3:::failures"}})
    lam.create_event_source_mapping(FunctionName="fan-fn", EventSourceArn=arn, StartingPosition="LATEST",
                                    MaximumRetryAttempts=1)
    found = {f["mapping"]["FunctionArn"].rsplit(":", 1)[1]: f for f in doctor(esmctl)[1] if f["check"] == "permissions"}
    assert sorted(found) == ["s3-bucket-only-fn", "s3-denied-fn"], found  # no false error for the others
    assert found["s3-bucket-only-fn"]["fix"] == ("allow s3:PutObject on arn:aws:s3:::failures/*, s3:ListBucket on "
                                                 "arn:aws:s3:::failures")


def test_the_older_forever_values_stall_a_shard_as_minus_one_does():
    from esmctl.doctor import check_stalls

    stream = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
    legacy = {"EventSourceArn": stream, "StartingPosition": "LATEST", "MaximumRetryAttempts": 10000,
              "MaximumRecordAgeInSeconds": 604800, "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    assert [f.check for f in check_stalls(legacy)] == ["stalled-shards"]
    assert check_stalls({**legacy, "MaximumRetryAttempts": 9999}) == []
