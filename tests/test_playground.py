"""The playground of the seeded sandbox: the CloudWatch data and LastProcessingResult a live
account would have, so `status` shows one healthy, one lagging and one failing mapping. The
simulation's thread never runs a round here: the tests drive `tick()` and `discover()` themselves."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta

import pytest
import yaml

from esmctl.sandbox import playground
from tests.helpers import ACCOUNT, REGION, client, mappings

EXAMPLE = "examples/mappings.yaml"
MINUTE_MS = 60_000


@pytest.fixture
def example(esmctl, box, world, monkeypatch):
    """The example spec applied to the seeded world: function name -> its mapping."""
    monkeypatch.setenv("ACCOUNT", ACCOUNT)
    monkeypatch.setenv("ORDERS_TABLE_STREAM", world["orders-table-stream"])
    r = esmctl("apply", EXAMPLE)
    assert r.exit_code == 0, r.stderr
    return {m["FunctionArn"].rsplit(":", 1)[-1]: m for m in mappings(box)}


@pytest.fixture
def play(box):
    """Starts playgrounds whose thread waits an hour between rounds: only the tests' calls write."""
    started: list[playground.Playground] = []

    def start() -> playground.Playground:
        p = playground.start(box, REGION, interval=3600, poll=3600)
        started.append(p)
        return p

    yield start
    for p in started:
        p.stop()


def series(box, namespace: str, metric: str, dimension: str, value: str, start: datetime, end: datetime,
           stat: str = "Maximum") -> list[float]:
    """One value a minute from `start`, oldest first, straight from moto's CloudWatch."""
    reply = client(box, "cloudwatch").get_metric_data(
        MetricDataQueries=[{"Id": "q", "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": metric,
                       "Dimensions": [{"Name": dimension, "Value": value}]},
            "Period": 60, "Stat": stat}}],
        StartTime=start, EndTime=end, ScanBy="TimestampAscending")
    [result] = reply["MetricDataResults"]
    return result["Values"]


def handler_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buf.getvalue()


def status(esmctl, *args: str) -> tuple[int, dict[str, dict]]:
    r = esmctl("status", *args, "-o", "json")
    assert r.exit_code in (0, 3), r.stderr
    return r.exit_code, {doc["FunctionArn"].rsplit(":", 1)[-1]: doc for doc in json.loads(r.stdout)}


def test_seed_puts_records_on_the_streams_and_messages_on_the_queue(box, world):
    kinesis, sqs = client(box, "kinesis"), client(box, "sqs")
    for stream, expected in (("orders", 12), ("clicks", 6)):
        found = 0
        for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
            iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            found += len(kinesis.get_records(ShardIterator=iterator)["Records"])
        assert found == expected, stream
    jobs = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=jobs, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "10"


def test_status_of_the_example_shows_one_healthy_one_lagging_one_failing(esmctl, box, play, example):
    play().tick()
    code, health = status(esmctl, EXAMPLE, "--max-lag", "5m")
    assert code == 3
    assert health["orders-fn"]["Healthy"] and health["orders-fn"]["LastProcessingResult"] == "OK"
    assert 0 < health["orders-fn"]["IteratorAgeMs"] < 1000
    audit = health["audit-fn"]
    assert audit["LastProcessingResult"] == "OK" and audit["State"] == "Enabled"
    assert audit["IteratorAgeMs"] > 10 * MINUTE_MS
    [problem] = audit["Problems"]  # only the lag
    assert problem.startswith("IteratorAge 12.") and problem.endswith(" min is over 5.0 min")
    jobs = health["jobs-fn"]
    assert jobs["LastProcessingResult"] == "PROBLEM: Function call failed"
    problem, lag = jobs["Problems"]  # it fails, and the queue backs up (its own lag: the oldest message)
    assert problem == "PROBLEM: Function call failed" and jobs["IteratorAgeMs"] is None
    assert lag.startswith("ApproximateAgeOfOldestMessage 20.") and lag.endswith(" min is over 5.0 min")
    assert jobs["Lag"]["Metric"] == "ApproximateAgeOfOldestMessage" and jobs["Lag"]["MessagesVisible"] > 0

    r = esmctl("doctor", EXAMPLE)  # doctor reads the same mappings and reports on them
    assert r.exit_code == 0, r.stderr
    assert "No findings for 3 mapping(s)." in r.stderr
    r = esmctl("list", "-o", "json")  # what AWS would show in every listing
    assert sorted(m["LastProcessingResult"] for m in json.loads(r.stdout)["EventSourceMappings"]) == [
        "OK", "OK", "PROBLEM: Function call failed"]
    # an hour's window finds the lag too (its Maximum)
    assert status(esmctl, EXAMPLE, "--window", "1h", "--max-iterator-age", "5m")[1]["audit-fn"]["Problems"]


def test_the_hour_before_is_backfilled_one_point_a_minute(box, play, example):
    p = play()
    first_seen = p.series[("IteratorAge", "audit-fn")].last
    start, end = first_seen - timedelta(minutes=60, seconds=30), first_seen + timedelta(seconds=30)

    audit = series(box, "AWS/Lambda", "IteratorAge", "FunctionName", "audit-fn", start, end)
    assert len(audit) == 61
    assert audit[0] < 1000  # an hour ago it kept up
    assert 12 * MINUTE_MS <= audit[-1] < 12 * MINUTE_MS + 1000  # ~12 minutes behind now
    steps = [audit[i] - audit[i - 1] for i in range(-12, 0)]  # since the lag began: a minute a minute
    assert all(0.98 * MINUTE_MS < step < 1.02 * MINUTE_MS for step in steps)

    orders = series(box, "AWS/Lambda", "IteratorAge", "FunctionName", "orders-fn", start, end)
    assert len(orders) == 61 and max(orders) < 1000

    oldest = series(box, "AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "jobs", start, end)
    visible = series(box, "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "jobs", start, end)
    assert len(oldest) == len(visible) == 61
    assert oldest[0] < 10 and oldest[-1] >= 20 * 60  # failing for 20 minutes: messages pile up
    assert visible[-1] > 200 > visible[0]
    assert oldest[-10:] == sorted(oldest[-10:]) and visible[-10:] == sorted(visible[-10:])


def test_each_tick_adds_a_point_and_the_lag_grows_a_minute_a_minute(box, play, example):
    p = play()
    first_seen = p.series[("IteratorAge", "audit-fn")].last
    later = first_seen + timedelta(minutes=5)
    # IteratorAge of two functions, the queue's two metrics, orders-fn's six EventCount metrics
    assert p.tick(later) == 10
    assert p.tick(later) == 0  # nothing new at the same instant
    [age] = series(box, "AWS/Lambda", "IteratorAge", "FunctionName", "audit-fn", later - timedelta(seconds=30),
                   later + timedelta(seconds=30))
    assert 17 * MINUTE_MS <= age < 17 * MINUTE_MS + 1000


def test_event_count_metrics_where_metrics_config_asks(esmctl, box, world, play, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOUNT", ACCOUNT)
    monkeypatch.setenv("ORDERS_TABLE_STREAM", world["orders-table-stream"])
    spec = yaml.safe_load(open(EXAMPLE))
    for m in spec["mappings"]:
        m["MetricsConfig"] = {"Metrics": ["EventCount"]}
    path = tmp_path / "metrics.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert esmctl("apply", str(path)).exit_code == 0
    play()
    code, health = status(esmctl, str(path))
    assert code == 3
    orders, audit, jobs = (health[f]["Metrics"] for f in ("orders-fn", "audit-fn", "jobs-fn"))
    assert orders["PolledEventCount"] == orders["InvokedEventCount"] + orders["FilteredOutEventCount"]
    assert orders["FilteredOutEventCount"] > 0  # the spec filters on type order
    assert orders["FailedInvokeEventCount"] == orders["DroppedEventCount"] == 0
    assert orders["OnFailureDestinationDeliveredEventCount"] == 0
    assert audit["InvokedEventCount"] > 0 and audit["FailedInvokeEventCount"] == 0
    assert "DeletedEventCount" not in audit
    # the last 15 minutes of jobs-fn: every batch fails, nothing is deleted
    assert jobs["FailedInvokeEventCount"] == jobs["InvokedEventCount"] == jobs["PolledEventCount"] > 0
    assert jobs["DeletedEventCount"] == 0
    assert "OnFailureDestinationDeliveredEventCount" not in jobs


def test_new_mappings_are_discovered_kafka_gets_offset_lag_other_functions_look_healthy(box, world, play):
    p = play()
    assert p.discover() == 0  # no mappings yet
    role = client(box, "iam").get_role(RoleName="esmctl-sandbox-role")["Role"]["Arn"]
    lam = client(box, "lambda", direct=False)
    lam.create_function(FunctionName="ledger-fn", Runtime="python3.12", Role=role, Handler="handler.handler",
                        Code={"ZipFile": handler_zip()}, Timeout=30)
    msk = lam.create_event_source_mapping(
        FunctionName="ledger-fn", Topics=["payments"], StartingPosition="LATEST",
        EventSourceArn=f"arn:aws:kafka:{REGION}:{ACCOUNT}:cluster/payments/5f2c9a8e-1b2d-4c3e-9f4a-0a1b2c3d4e5f-3")
    jobs = lam.create_event_source_mapping(FunctionName="ledger-fn", EventSourceArn=world["jobs-dlq"],
                                           Enabled=False)
    assert p.discover() == 61  # the Kafka mapping's hour; the disabled one gets nothing
    assert p.discover() == 0
    now = p.series[("OffsetLag", "ledger-fn")].last
    lag = series(box, "AWS/Lambda", "OffsetLag", "FunctionName", "ledger-fn", now - timedelta(minutes=60, seconds=30),
                 now + timedelta(seconds=30))
    assert len(lag) == 61 and max(lag) <= 40  # healthy: caught up
    assert lam.get_event_source_mapping(UUID=msk["UUID"])["LastProcessingResult"] == "OK"
    assert "LastProcessingResult" not in lam.get_event_source_mapping(UUID=jobs["UUID"])
