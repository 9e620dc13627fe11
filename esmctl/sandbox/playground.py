"""The playground: a seeded sandbox that looks like a live account once its mappings exist.

moto runs no functions, so nothing would ever reach CloudWatch and every mapping would look idle.
This module plays Lambda's and SQS's part: every `interval` seconds it writes, straight to moto's
CloudWatch, the datapoints a live account would publish for each enabled mapping —

- `AWS/Lambda IteratorAge` (Milliseconds, dimension FunctionName) for functions with Kinesis or
  DynamoDB mappings, `AWS/Lambda OffsetLag` (Count, FunctionName) for those with MSK or
  self-managed Kafka ones;
- `AWS/SQS ApproximateAgeOfOldestMessage` (Seconds) and `ApproximateNumberOfMessagesVisible`
  (Count), dimension QueueName, for mapped queues;
- where MetricsConfig has EventCount, the per-mapping counts (dimension EventSourceMappingUUID):
  Polled, Invoked, FilteredOut, FailedInvoke and DroppedEventCount, plus
  OnFailureDestinationDeliveredEventCount for streams and DeletedEventCount for SQS —

and sets, through the fidelity layer, the LastProcessingResult only AWS would report. Each
function follows a scenario (SCENARIOS: orders-fn healthy, audit-fn lagging, jobs-fn failing;
any other function healthy). A series seen for the first time gets the hour before it backfilled,
one point a minute, so `esmctl status --window 1h` has history and a trend at once; a trouble
is already under way then (audit-fn ~12 minutes behind) and grows a minute per minute.

Values are deterministic (the jitter is seeded by series and time), so tests can drive `tick()`
with no sleeps and assert what they read back.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from esmctl.sandbox.held_mappings import DOCDB, MQ, fn_parts, source_kind

HEALTHY, LAGGING, FAILING = "healthy", "lagging", "failing"
SCENARIOS = {"orders-fn": HEALTHY, "audit-fn": LAGGING, "jobs-fn": FAILING}
FUNCTION_CALL_FAILED = "PROBLEM: Function call failed"
BACKFILL = timedelta(minutes=60)
# How long a trouble has been going on when the playground first sees the mapping.
UNDER_WAY = {LAGGING: timedelta(minutes=12), FAILING: timedelta(minutes=20)}
STREAM_RETENTION = 24 * 3600  # seconds: Kinesis's default and DynamoDB Streams' fixed retention
QUEUE_RETENTION = 4 * 24 * 3600  # SQS's default MessageRetentionPeriod
STREAM, QUEUE, KAFKA, OTHER = "stream", "queue", "kafka", "other"
_SEVERITY = {HEALTHY: 0, LAGGING: 1, FAILING: 2}
_PUT_BATCH = 1000  # PutMetricData's most datums a call

log = logging.getLogger(__name__)


def scenario_of(function_arn: str) -> str:
    return SCENARIOS.get(fn_parts(function_arn)[0], HEALTHY)


def kind_of(m: dict[str, Any]) -> str:
    arn = m.get("EventSourceArn") or ""
    service = arn.split(":")[2] if arn.count(":") >= 5 else ""
    if service in ("kinesis", "dynamodb"):
        return STREAM
    if service == "sqs":
        return QUEUE
    held = source_kind(m)
    return OTHER if held in (MQ, DOCDB, "") else KAFKA


@dataclass
class Series:
    """Something that gets datapoints: a function's IteratorAge or OffsetLag, a queue, a mapping."""
    key: tuple[str, str]  # (what, name): ("IteratorAge", fn), ("OffsetLag", fn), ("queue", name), ("mapping", uuid)
    scenario: str
    onset: datetime  # when its trouble began (for a healthy one: never mind)
    last: datetime  # when its newest datapoint was written
    detail: dict[str, Any]  # what shapes its values: kind, retention cap, filters, destination


class Playground:
    """Writes what Lambda and SQS would; `tick()` for one round, `stop()` to end the thread."""

    def __init__(self, box: Any, region: str = "us-east-1", *, interval: float = 10.0, poll: float = 0.5,
                 backfill: timedelta = BACKFILL) -> None:
        import botocore.session
        from botocore.config import Config

        from esmctl import servicemodel

        # Made here, not in the thread: a botocore session is not thread-safe. Its models are read by the
        # process's shared loader, once (a test suite starts a playground for every test that shows one).
        session = botocore.session.Session()
        session.register_component("data_loader", servicemodel.shared_loader(session))
        kw = {"endpoint_url": box.moto_url, "region_name": region, "aws_access_key_id": "testing",
              "aws_secret_access_key": "testing",
              "config": Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=30)}
        self._lambda = session.create_client("lambda", **kw)
        self._cloudwatch = session.create_client("cloudwatch", **kw)
        self.proxy, self.region, self._moto_url = box.proxy, region, box.moto_url
        self.interval, self.poll, self.backfill = interval, poll, backfill
        self.series: dict[tuple[str, str], Series] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""

    # -- the round ----------------------------------------------------------------------------
    def tick(self, now: datetime | None = None) -> int:
        """A datapoint for every series at `now` (new ones get their hour of history first), and
        the mappings' LastProcessingResult. Returns how many datapoints were written."""
        return self._round(now or datetime.now(timezone.utc), only_new=False)

    def discover(self, now: datetime | None = None) -> int:
        """Only the series not seen before: a new mapping shows its history within a poll."""
        return self._round(now or datetime.now(timezone.utc), only_new=True)

    def _round(self, now: datetime, only_new: bool) -> int:
        with self._lock:
            mappings = [m for m in self._mappings() if m.get("State") == "Enabled"]
            data: list[dict[str, Any]] = []
            written: list[Series] = []  # remembered only once their datapoints are in
            for key, (scenario, detail) in self._wanted(mappings).items():
                known = self.series.get(key)
                if known is None:
                    series = Series(key, scenario, now - UNDER_WAY.get(scenario, timedelta(0)), now, detail)
                    minutes = int(self.backfill.total_seconds() // 60)
                    for ago in range(minutes, 0, -1):
                        data += datapoints(series, now - timedelta(minutes=ago), 60.0)
                    data += datapoints(series, now, 60.0)
                    written.append(series)
                elif not only_new and now > known.last:
                    series = Series(key, scenario, known.onset, now, detail)
                    data += datapoints(series, now, (now - known.last).total_seconds())
                    written.append(series)
            self._put(data)
            self.series.update((series.key, series) for series in written)
            self._set_results(mappings)
            return len(data)

    def _mappings(self) -> list[dict[str, Any]]:
        """Straight from moto (not through the layer: that would count calls and use up
        transitional views), plus the kinds the layer holds itself."""
        found = [m for page in self._lambda.get_paginator("list_event_source_mappings").paginate()
                 for m in page.get("EventSourceMappings", [])]
        held = self.proxy.held.all() if self.proxy else []  # every region's
        return found + [m for m in held if m.get("FunctionArn", "").split(":")[3:4] == [self.region]]

    def _wanted(self, mappings: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        """Series key -> (scenario, detail) for the enabled mappings; a function's or a queue's
        series takes the worst scenario of the mappings behind it."""
        wanted: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}

        def want(key: tuple[str, str], scenario: str, detail: dict[str, Any]) -> None:
            old = wanted.get(key)
            if old is None or _SEVERITY[scenario] > _SEVERITY[old[0]]:
                wanted[key] = (scenario, detail)
            if old is not None and "cap" in detail:  # the longest any of the function's sources keeps records
                wanted[key][1]["cap"] = max(old[1]["cap"], detail["cap"])

        for m in mappings:
            kind, scenario = kind_of(m), scenario_of(m.get("FunctionArn", ""))
            function = fn_parts(m.get("FunctionArn", ""))[0]
            if kind == STREAM:
                max_age = m.get("MaximumRecordAgeInSeconds")
                want(("IteratorAge", function), scenario,
                     {"cap": max_age if max_age and max_age > 0 else STREAM_RETENTION})
            elif kind == QUEUE:
                want(("queue", m["EventSourceArn"].rsplit(":", 1)[-1]), scenario, {"cap": QUEUE_RETENTION})
            elif kind == KAFKA:
                want(("OffsetLag", function), scenario, {})
            if "EventCount" in ((m.get("MetricsConfig") or {}).get("Metrics") or []):
                filters = ((m.get("FilterCriteria") or {}).get("Filters")) or []
                destination = (((m.get("DestinationConfig") or {}).get("OnFailure")) or {}).get("Destination")
                want(("mapping", m["UUID"]), scenario,
                     {"kind": kind, "filtered": bool(filters), "destination": bool(destination)})
        return wanted

    def _put(self, data: list[dict[str, Any]]) -> None:
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for d in data:
            by_namespace.setdefault(d.pop("Namespace"), []).append(d)
        for namespace, datums in by_namespace.items():
            for i in range(0, len(datums), _PUT_BATCH):
                self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=datums[i:i + _PUT_BATCH])

    def _set_results(self, mappings: list[dict[str, Any]]) -> None:
        """LastProcessingResult as AWS reports it: the function's error for a failing mapping of
        any kind, "OK" for a stream or Kafka one that processes records (a healthy SQS one: none)."""
        if not self.proxy:  # plain moto (--raw): nothing in front of it to show them
            return
        for m in mappings:
            uuid, kind, scenario = m["UUID"], kind_of(m), scenario_of(m.get("FunctionArn", ""))
            result = FUNCTION_CALL_FAILED if scenario == FAILING else "OK" if kind in (STREAM, KAFKA) else None
            shown = self.proxy.overrides.get(uuid, {})
            if result and shown.get("LastProcessingResult") != result:
                self.proxy.overrides[uuid] = {**shown, "LastProcessingResult": result}

    def put_filter_samples(self) -> None:
        """Records that `esmctl filter test --from-stream` has something to say about, written once, when the
        playground starts (before any mapping: moto would hand them to its stand-in functions): beside the
        seed's orders and refunds, an amount written as a string, an event type the filter does not expect
        and a record that is not JSON on the orders stream; an update and a delete on the orders table."""
        import json

        import boto3

        if self._mappings():  # a later start, or mappings made first: moto would run them now
            return
        kw = {"endpoint_url": self._moto_url, "region_name": self.region, "aws_access_key_id": "testing",
              "aws_secret_access_key": "testing"}
        kinesis, ddb = boto3.client("kinesis", **kw), boto3.client("dynamodb", **kw)
        streams = kinesis.list_streams()["StreamNames"]
        if "orders" in streams:
            samples = [json.dumps({"type": "order", "order_id": "o-2000", "amount": "25"}),
                       json.dumps({"type": "Order", "order_id": "o-2001", "amount": 31}),
                       json.dumps({"kind": "order", "order_id": "o-2002", "amount": 12}),
                       "heartbeat 2001-01-01T00:00:00Z"]
            kinesis.put_records(StreamName="orders", Records=[
                {"PartitionKey": f"customer-{i}", "Data": data.encode()} for i, data in enumerate(samples)])
        if "orders-table" in ddb.list_tables()["TableNames"]:
            ddb.put_item(TableName="orders-table", Item={"id": {"S": "o-1000"}, "status": {"S": "shipped"}})
            ddb.delete_item(TableName="orders-table", Key={"id": {"S": "o-1001"}})

    # -- the thread ---------------------------------------------------------------------------
    def start(self) -> Playground:
        self._safely(self.put_filter_samples)
        self._safely(self.tick)
        self._thread = threading.Thread(target=self._run, name="esmctl-playground", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        next_tick = time.monotonic() + self.interval
        while not self._stop.wait(self.poll):
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + self.interval
                self._safely(self.tick)
            else:
                self._safely(self.discover)

    def _safely(self, step: Any) -> None:
        """The sandbox outlives a failed round (moto busy, reset meanwhile): say so once, go on."""
        try:
            step()
            self._last_error = ""
        except Exception as exc:  # any failure of one round: the next one retries
            message = f"playground: {type(exc).__name__}: {exc}"
            if message != self._last_error:
                log.warning("%s", message)
            self._last_error = message


def start(box: Any, region: str = "us-east-1", **options: Any) -> Playground:
    """Run the playground in a daemon thread (one round at once: what exists gets its history)."""
    return Playground(box, region, **options).start()


# -- the values ---------------------------------------------------------------------------------
def _jitter(series: Series, at: datetime, low: float, high: float, salt: str = "") -> float:
    return random.Random(f"{series.key}|{salt}|{at.timestamp():.0f}").uniform(low, high)


def state(series: Series, at: datetime) -> str:
    """The series' scenario at `at`: healthy before its trouble began."""
    return series.scenario if at >= series.onset else HEALTHY


def behind(series: Series, at: datetime) -> float:
    """Seconds the trouble has been going on at `at` (0 while healthy)."""
    return 0.0 if state(series, at) == HEALTHY else (at - series.onset).total_seconds()


def datapoints(series: Series, at: datetime, seconds: float) -> list[dict[str, Any]]:
    """The datums a series gets at `at`; counts are for the `seconds` since its previous point."""
    what, name = series.key
    late, now_state = behind(series, at), state(series, at)

    def datum(namespace: str, metric: str, dimension: str, value: float, unit: str) -> dict[str, Any]:
        return {"Namespace": namespace, "MetricName": metric, "Dimensions": [{"Name": dimension, "Value": name}],
                "Timestamp": at, "Value": float(value), "Unit": unit}

    if what == "IteratorAge":  # a lagging or failing function falls behind a second per second
        ms = min(series.detail["cap"] * 1000.0, late * 1000 + _jitter(series, at, 150, 600))
        return [datum("AWS/Lambda", "IteratorAge", "FunctionName", round(ms), "Milliseconds")]
    if what == "OffsetLag":
        per_minute = {HEALTHY: 0, LAGGING: 300, FAILING: 600}[now_state]
        lag = late / 60 * per_minute + _jitter(series, at, 0, 40)
        return [datum("AWS/Lambda", "OffsetLag", "FunctionName", round(lag), "Count")]
    if what == "queue":  # messages pile up: nothing is deleted while the function fails
        age = min(series.detail["cap"], late + _jitter(series, at, 1, 8))
        per_minute = {HEALTHY: 0, LAGGING: 4, FAILING: 12}[now_state]
        visible = late / 60 * per_minute + _jitter(series, at, 0, 5)
        return [datum("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", round(age), "Seconds"),
                datum("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", round(visible), "Count")]
    counts = event_counts(series, at, seconds)
    return [datum("AWS/Lambda", metric, "EventSourceMappingUUID", value, "Count") for metric, value in counts.items()]


def event_counts(series: Series, at: datetime, seconds: float) -> dict[str, int]:
    """A mapping's per-mapping metrics over `seconds`, as its scenario would have them."""
    kind, now_state = series.detail["kind"], state(series, at)
    failing = now_state == FAILING
    rate = {HEALTHY: (80, 160), LAGGING: (40, 60), FAILING: (40, 60)}[now_state]  # events a minute
    polled = round(_jitter(series, at, *rate, salt="polled") * seconds / 60)
    filtered = round(polled * 0.1) if series.detail["filtered"] else 0
    invoked = polled - filtered
    failed = invoked if failing else 0
    counts = {"PolledEventCount": polled, "InvokedEventCount": invoked, "FilteredOutEventCount": filtered,
              "FailedInvokeEventCount": failed, "DroppedEventCount": 0}
    if kind == STREAM:  # retries used up: records dropped, and sent on where a destination is set
        exhausted = round(failed * 0.1)
        counts["DroppedEventCount"] = exhausted
        counts["OnFailureDestinationDeliveredEventCount"] = exhausted if series.detail["destination"] else 0
    elif kind == QUEUE:  # a failed batch goes back to the queue; filtered-out messages are deleted
        counts["DeletedEventCount"] = invoked - failed + filtered
    return counts
