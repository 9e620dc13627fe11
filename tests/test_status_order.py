"""`status` leads with what is wrong, counts it, says "no data", and draws lag against the limit; `list` reads
in function and source order. End to end against the emulator, the scales in memory."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone

from rich.console import Console

from esmctl.commands import health
from esmctl.status import Health, Lag, Limits, assess
from tests.helpers import client, put_age


def make(box, world, fn: str, source: str, **kw) -> str:
    extra = {} if source in ("jobs", "jobs-dlq") else {"StartingPosition": "LATEST"}
    return client(box, "lambda").create_event_source_mapping(FunctionName=fn, EventSourceArn=world[source],
                                                             **extra, **kw)["UUID"]


def rows_of(stdout: str) -> list[tuple[str, str, str]]:
    """(function, source, verdict's first word) per row of the piped table."""
    verdicts = ("UNHEALTHY:", "lagging:", "ok")
    return [(*line.split()[:2], next(w for w in line.split()[2:] if w in verdicts))
            for line in stdout.splitlines()[1:-1]]


def test_status_puts_what_is_wrong_first_then_by_function_and_source_with_a_summary(esmctl, world, box):
    make(box, world, "orders-fn", "orders")
    make(box, world, "jobs-fn", "jobs")
    make(box, world, "audit-fn", "orders-table-stream")
    failing = make(box, world, "orders-fn", "clicks")
    make(box, world, "audit-fn", "orders")  # IteratorAge is per function: audit-fn lags on both its sources
    box.proxy.overrides[failing] = {"LastProcessingResult": "PROBLEM: Function call failed"}
    put_age(box, "audit-fn", [(2, 200_000)])  # over half of 5m, under it
    put_age(box, "orders-fn", [(2, 1_000)])
    client(box, "cloudwatch").put_metric_data(Namespace="AWS/SQS", MetricData=[{
        "MetricName": "ApproximateAgeOfOldestMessage", "Dimensions": [{"Name": "QueueName", "Value": "jobs"}],
        "Timestamp": datetime.now(timezone.utc) - timedelta(minutes=2), "Value": 3, "Unit": "Seconds"}])
    r = esmctl("status", "--max-lag", "5m")
    assert r.exit_code == 3, r.stderr
    assert rows_of(r.stdout) == [
        ("orders-fn", "kinesis:clicks", "UNHEALTHY:"),
        ("audit-fn", "dynamodb:orders-table/stream/" + world["orders-table-stream"].rsplit("/", 1)[1], "lagging:"),
        ("audit-fn", "kinesis:orders", "lagging:"),
        ("jobs-fn", "sqs:jobs", "ok"),
        ("orders-fn", "kinesis:orders", "ok"),
    ]
    assert "lagging: IteratorAge 3.3 min, over half of 5.0 min" in r.stdout
    assert r.stdout.splitlines()[-1] == "5 mappings, 1 unhealthy, 2 lagging."
    docs = json.loads(esmctl("status", "--max-lag", "5m", "-o", "json").stdout)
    assert [d["Verdict"] for d in docs] == ["unhealthy", "lagging", "lagging", "ok", "ok"]
    # without a limit an age of minutes is still lagging (exit 0: nothing to judge it unhealthy by)
    r = esmctl("status", "--function", "audit-fn")
    assert r.exit_code == 0 and "lagging: IteratorAge 3.3 min (no --max-lag to judge it by)" in r.stdout
    assert r.stdout.splitlines()[-1] == "2 mappings, 0 unhealthy, 2 lagging."


def test_no_data_is_said_and_require_data_fails_the_gate(esmctl, world, box):
    make(box, world, "orders-fn", "orders")
    r = esmctl("status", "--max-lag", "5m")
    assert r.exit_code == 0 and "no data: no lag in the window to judge" in r.stdout
    assert r.stdout.splitlines()[-1] == "1 mapping, 0 unhealthy, 1 no data."
    r = esmctl("status", "--max-lag", "5m", "--require-data")
    assert r.exit_code == 3 and "UNHEALTHY: no IteratorAge data in the window (--require-data)" in r.stdout
    assert esmctl("status").stdout.splitlines()[-1] == "1 mapping, 0 unhealthy."  # no limit: nothing to judge
    put_age(box, "orders-fn", [(1, 500)])
    assert esmctl("status", "--max-lag", "5m", "--require-data").exit_code == 0


def test_require_data_asks_no_lag_of_a_mapping_the_spec_keeps_disabled():
    off = Health("u1", "arn:aws:lambda:us-east-1:123456789012:function:a", "", "Disabled", kind="kinesis",
                 lag=Lag("IteratorAge", "ms", None, []))
    five_minutes = Limits(age=timedelta(minutes=5))
    judged = assess(off, expect_enabled=False, limits=five_minutes, require_data=True)
    assert judged.problems == [] and judged.verdict == "ok"  # not "no data (--require-data makes it unhealthy)"
    on = Health("u2", "arn:aws:lambda:us-east-1:123456789012:function:a", "", "Enabled", kind="kinesis",
                lag=Lag("IteratorAge", "ms", None, []))
    assert assess(on, limits=five_minutes, require_data=True).problems == [
        "no IteratorAge data in the window (--require-data)"]


def test_the_queue_age_of_a_mapping_the_spec_keeps_disabled_is_shown_not_judged():
    # nothing reads a queue whose one mapping is meant to be off: its oldest message ages, as it should
    five_minutes = Limits(age=timedelta(minutes=5))
    off = Health("u1", "arn:aws:lambda:us-east-1:123456789012:function:a", "arn:aws:sqs:us-east-1:123456789012:q",
                 "Disabled", kind="sqs", lag=Lag("ApproximateAgeOfOldestMessage", "ms", 3_600_000, []))
    judged = assess(off, expect_enabled=False, limits=five_minutes)
    assert judged.problems == [] and judged.verdict == "ok" and judged.lag.value == 3_600_000
    half = Health("u1", "arn:aws:lambda:us-east-1:123456789012:function:a", "", "Disabled", kind="kinesis",
                  lag=Lag("IteratorAge", "ms", 200_000, []))
    assert assess(half, expect_enabled=False, limits=five_minutes).verdict == "ok"
    # meant to be Enabled, the same age is what a gate is for
    on = Health("u2", "arn:aws:lambda:us-east-1:123456789012:function:a", "arn:aws:sqs:us-east-1:123456789012:q",
                "Enabled", kind="sqs", lag=Lag("ApproximateAgeOfOldestMessage", "ms", 3_600_000, []))
    assert assess(on, limits=five_minutes).problems == ["ApproximateAgeOfOldestMessage 60.0 min is over 5.0 min"]


def test_list_is_by_function_then_source(esmctl, world, box):
    for fn, source in (("orders-fn", "orders"), ("jobs-fn", "jobs"), ("audit-fn", "orders"), ("orders-fn", "clicks"),
                       ("audit-fn", "clicks")):
        make(box, world, fn, source)
    r = esmctl("list")
    assert [line.split()[1:3] for line in r.stdout.splitlines()[1:]] == [
        ["audit-fn", "kinesis:clicks"], ["audit-fn", "kinesis:orders"], ["jobs-fn", "sqs:jobs"],
        ["orders-fn", "kinesis:clicks"], ["orders-fn", "kinesis:orders"]]
    # -o json is the AWS CLI's document, in the API's order (test_mapping compares it with the AWS CLI's)
    assert len(json.loads(esmctl("list", "-o", "json").stdout)["EventSourceMappings"]) == 5


def _lag(values: list[float]) -> Lag:
    at = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return Lag("IteratorAge", "ms", max(values), [(at + timedelta(minutes=i), v) for i, v in enumerate(values)])


def test_the_sparkline_is_drawn_against_the_limit_or_a_scale_the_rows_share():
    healthy = Health("u1", "arn:aws:lambda:us-east-1:123456789012:function:a", "", "Enabled", kind="kinesis",
                     lag=_lag([200, 600, 300, 400]))
    behind = Health("u2", "arn:aws:lambda:us-east-1:123456789012:function:b", "", "Enabled", kind="kinesis",
                    lag=_lag([60_000, 120_000, 240_000, 400_000]))
    five_minutes = Limits(age=timedelta(minutes=5))
    rows = health.status_rows([assess(healthy, limits=five_minutes), assess(behind, limits=five_minutes)],
                              trend=True, limits=five_minutes)
    assert rows[0]["Lag"].endswith(" ▁▁▁▁")  # a fraction of a second against 5 minutes: flat
    assert rows[1]["Lag"].endswith(" ▂▄▇█")  # 1, 2, 4 minutes of 5, then over the limit: a full bar
    # no limit: the largest lag shown is the full bar for every row
    rows = health.status_rows([healthy, behind], trend=True)
    assert rows[0]["Lag"].endswith(" ▁▁▁▁") and rows[1]["Lag"].endswith(" ▂▃▅█")
    assert health.status_rows([healthy], trend=True)[0]["Lag"].endswith(" ▃█▄▆")  # alone, its own scale


def test_the_status_card_has_no_empty_rows():
    h = assess(Health("6ee30961-a17d-4075-b669-6d30b6aa2a54",
                      "arn:aws:lambda:us-east-1:123456789012:function:settlement-reconciliation-for-partner-banks-fn",
                      "arn:aws:sqs:us-east-1:123456789012:payments-settlement-retry-queue-for-the-eu-west-partners",
                      "Enabled", "", "No records processed"))
    console = Console(width=60, file=io.StringIO(), color_system=None)
    console.print(health._status_renderable([h], 60))
    text = console.file.getvalue()
    assert "VERDICT" in text and "FUNCTION" in text  # a card: the table does not fit 60 columns
    assert "METRICS" not in text and "REASON" not in text  # nothing to say there
