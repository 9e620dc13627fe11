"""Are the mappings keeping up? State, LastProcessingResult and each source's own lag, with a verdict.

Lag is what the source says about how far behind the mapping is: IteratorAge for Kinesis and DynamoDB
streams (per function), the age of the oldest message for an SQS queue, OffsetLag (records) for Kafka.
A mapping `esmctl pause` disabled (tag marks.PAUSED_TAG) is paused, not unhealthy: `read_pauses` reads
the tags of the Disabled mappings expected Enabled, and `assess` does not judge a paused one.
The verdict is pure (`assess`); `collect_metrics` reads the metrics for many mappings in as few
GetMetricData calls as possible (one per 500 queries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from esmctl import arns, kinds
from esmctl.mapping import identity, marks
from esmctl.metrics import function_dimensions, time_range

PER_MAPPING_METRICS = {
    "common": ["PolledEventCount", "InvokedEventCount", "FilteredOutEventCount", "FailedInvokeEventCount",
               "DroppedEventCount"],
    kinds.KINESIS: ["OnFailureDestinationDeliveredEventCount"],
    kinds.DYNAMODB: ["OnFailureDestinationDeliveredEventCount"],
    kinds.SQS: ["DeletedEventCount"],
}
AGE, RECORDS = "ms", "records"
# What a row comes to, worst first: status lists them in this order, then by function and source.
UNHEALTHY, LAGGING, NO_DATA, PAUSED, OK = "unhealthy", "lagging", "no data", "paused", "ok"
VERDICTS = (UNHEALTHY, LAGGING, NO_DATA, PAUSED, OK)
# Without --max-lag, an age this long is lagging (not unhealthy: no limit was given to judge it by).
LAGGING_AGE = timedelta(minutes=1)
NOT_CREATED = "not created: the spec lists it, AWS has no such mapping"
NO_MAPPINGS_OF_FUNCTION = "no mappings: the function reads from no source"
NO_MAPPINGS_OF_SOURCE = "no mappings: no function reads this source"
NO_MAPPINGS_ON_THE_SOURCES = "no mappings: the function reads none of the sources asked for"
NOT_READ_BY_THE_FUNCTIONS = "no mappings: none of the functions asked for reads this source"


@dataclass
class Lag:
    """How far behind a mapping is, by its source's own measure, over the window."""

    metric: str  # IteratorAge, ApproximateAgeOfOldestMessage, OffsetLag
    unit: str  # AGE (milliseconds) or RECORDS
    value: float | None = None  # the window's maximum; None: no data
    series: list[tuple[datetime, float]] = field(default_factory=list)  # per period, oldest first
    messages_visible: float | None = None  # SQS: the newest ApproximateNumberOfMessagesVisible


# The lag metric of each kind of source: (namespace, name, unit, per function?)
LAG_METRICS = {
    kinds.KINESIS: ("AWS/Lambda", "IteratorAge", AGE), kinds.DYNAMODB: ("AWS/Lambda", "IteratorAge", AGE),
    kinds.SQS: ("AWS/SQS", "ApproximateAgeOfOldestMessage", AGE),
    kinds.MSK: ("AWS/Lambda", "OffsetLag", RECORDS), kinds.KAFKA: ("AWS/Lambda", "OffsetLag", RECORDS),
}


@dataclass
class Health:
    uuid: str | None
    function_arn: str
    source_arn: str | None
    state: str
    reason: str = ""
    last_result: str = ""
    kind: str = ""
    lag: Lag | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    paused: marks.Pause | None = None  # Disabled by `esmctl pause`, until `esmctl resume`
    lagging: str = ""  # healthy, but behind (see assess): why
    no_data: bool = False  # a lag limit applies, and the source said nothing in the window
    source_name: str = ""  # what it reads, for a reader, where it has no ARN (self-managed Kafka)

    @property
    def source(self) -> str:
        """What it reads, for a reader: its source ARN, else its name (self-managed Kafka's brokers and topic)."""
        return self.source_arn or self.source_name

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        """UNHEALTHY, LAGGING, NO_DATA, PAUSED or OK: what the row comes to, worst first in VERDICTS."""
        if self.problems:
            return UNHEALTHY
        if self.paused is not None:
            return PAUSED
        return LAGGING if self.lagging else NO_DATA if self.no_data else OK

    @property
    def iterator_age_ms(self) -> float | None:
        return self.lag.value if self.lag and self.lag.metric == "IteratorAge" else None

    def document(self) -> dict[str, Any]:
        doc = {
            "UUID": self.uuid, "FunctionArn": self.function_arn or None, "EventSourceArn": self.source_arn,
            "State": self.state or None, "StateTransitionReason": self.reason, "LastProcessingResult": self.last_result,
            "IteratorAgeMs": self.iterator_age_ms, "Lag": None, "Healthy": self.healthy,
            "Verdict": self.verdict, "Problems": list(self.problems),
        }
        if self.lag is not None:
            doc["Lag"] = {"Metric": self.lag.metric, "Unit": self.lag.unit, "Value": self.lag.value,
                          "Series": [[t.isoformat(), v] for t, v in self.lag.series]}
            if self.lag.messages_visible is not None:
                doc["Lag"]["MessagesVisible"] = self.lag.messages_visible
        if self.metrics:
            doc["Metrics"] = dict(self.metrics)
        if self.paused is not None:
            doc["Paused"] = {"Since": self.paused.since, "Reason": self.paused.reason}
        return doc


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `1h`, `2d`, or a plain number of seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", str(text))
    if not m:
        raise ValueError(f"{text!r} is not a duration (e.g. 90s, 15m, 1h)")
    n, unit = float(m.group(1)), m.group(2) or "s"
    return timedelta(**{"ms": {"milliseconds": n}, "s": {"seconds": n}, "m": {"minutes": n},
                        "h": {"hours": n}, "d": {"days": n}}[unit])


def format_age(ms: float | None) -> str:
    if ms is None:
        return "no data"
    seconds = ms / 1000
    if seconds < 1:
        return f"{ms:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def format_lag(lag: Lag | None) -> str:
    if lag is None:
        return "-"
    if lag.value is None:
        return "no data"
    if lag.unit == RECORDS:
        return f"{lag.value:,.0f} records"
    text = format_age(lag.value)
    if lag.messages_visible is not None:
        text += f", {lag.messages_visible:,.0f} msgs"
    return text


def sparkline(lag: Lag | None, top: float | None = None, width: int = 12) -> str:
    """The lag over the window as ▁▂▃▄▅▆▇█ (the last `width` periods): catching up, or falling behind.

    `top` is what a full bar stands for — the --max-lag limit, or one scale shared by the rows — so that
    bars compare: a healthy lag of a fraction of the limit stays low, whatever its own ups and downs
    (values over `top` are full bars). Without it, the series' own maximum."""
    if lag is None or not lag.series:
        return ""
    values = [v for _, v in lag.series][-width:]
    top = max(values) if top is None else top
    if top <= 0:
        return "▁" * len(values)
    return "".join("▁▂▃▄▅▆▇█"[max(0, min(7, int(v / top * 7.999)))] for v in values)


def sparkline_scales(healths: list[Health], limits: Limits) -> dict[str, float]:
    """The full bar of each unit: the limit when one is given, else the largest lag of that unit shown."""
    scales: dict[str, float] = {}
    for h in healths:
        if h.lag is not None and h.lag.series:
            scales[h.lag.unit] = max(scales.get(h.lag.unit, 0.0), max(v for _, v in h.lag.series))
    if limits.age is not None:
        scales[AGE] = limits.age.total_seconds() * 1000
    if limits.records is not None:
        scales[RECORDS] = float(limits.records)
    return scales


def ordered(healths: list[Health]) -> list[Health]:
    """What is wrong first (VERDICTS' order), then by function and source: the way status lists them."""
    return sorted(healths, key=lambda h: (VERDICTS.index(h.verdict), identity.short_arn(h.function_arn) or "",
                                          identity.short_arn(h.source) or "", h.uuid or ""))


def summary(healths: list[Health]) -> str:
    """`83 mappings, 1 unhealthy, 2 lagging`: the count of each verdict but ok (unhealthy always)."""
    counts = {v: sum(1 for h in healths if h.verdict == v) for v in VERDICTS}
    parts = [f"{len(healths)} mapping{'s' if len(healths) != 1 else ''}", f"{counts[UNHEALTHY]} unhealthy"]
    parts += [f"{counts[v]} {v}" for v in (LAGGING, NO_DATA, PAUSED) if counts[v]]
    return ", ".join(parts)


@dataclass(frozen=True)
class Limits:
    """When lag is too much: an age (IteratorAge, oldest message) and a number of records (OffsetLag)."""

    age: timedelta | None = None
    records: int | None = None


def assess(h: Health, *, expect_enabled: bool = True, limits: Limits = Limits(),
           require_data: bool = False) -> Health:
    """Fill `problems` (what makes the mapping unhealthy), and say whether it is lagging (a lag under the
    limit but over half of it; without a limit, an age of LAGGING_AGE or more) or has no lag data where
    a limit applies (a problem with `require_data`: a gate must not pass on silence)."""
    want = "Enabled" if expect_enabled else "Disabled"
    if not h.uuid:  # a spec's mapping not created yet, or (problems given) a function or source without any
        if not h.problems:
            h.problems.append(NOT_CREATED)
        return h
    if h.paused is not None:
        return h  # stopped on purpose: its state, last result and lag are shown, not judged, until resumed
    if h.state != want:
        detail = f" ({h.reason})" if h.reason and h.reason not in ("User action", "User initiated",
                                                                   "USER_INITIATED") else ""
        h.problems.append(f"state is {h.state}, expected {want}{detail}")
    if (h.last_result or "").upper().startswith("PROBLEM"):
        h.problems.append(h.last_result)
    # Meant to be off, a mapping's lag is shown, not judged: what it would read waits, as it should (a queue's oldest
    # message ages while nothing reads it), and silence (no IteratorAge) is its health, not "no data".
    lag = h.lag if expect_enabled else None
    if lag is not None and lag.value is not None:
        if lag.unit == AGE:
            limit = limits.age.total_seconds() * 1000 if limits.age is not None else None
            value, said, limit_said = lag.value, format_age(lag.value), format_age(limit)
        else:
            limit = limits.records
            value, said, limit_said = lag.value, f"{lag.value:,.0f} records", f"{limit or 0:,}"
        if limit is not None and value > limit:
            h.problems.append(f"{lag.metric} {said} is over {limit_said}")
        elif limit is not None and value >= limit / 2:
            h.lagging = f"{lag.metric} {said}, over half of {limit_said}"
        elif limit is None and lag.unit == AGE and value >= LAGGING_AGE.total_seconds() * 1000:
            h.lagging = f"{lag.metric} {said} (no --max-lag to judge it by)"
    elif lag is not None:
        h.no_data = (limits.age if lag.unit == AGE else limits.records) is not None or require_data
        if require_data:
            h.problems.append(f"no {lag.metric} data in the window (--require-data)")
    if h.metrics.get("DroppedEventCount"):
        h.problems.append(f"{h.metrics['DroppedEventCount']:,.0f} events dropped in the window")
    return h


def read_pauses(aws: Any, rows: list[tuple[Health, dict[str, Any] | None, bool]]) -> int:
    """Mark the paused among (Health, live mapping, expected Enabled): only a mapping Disabled where Enabled is
    expected can be, so only those have their tags read (ListTags, a few at a time). Returns how many."""
    from concurrent.futures import ThreadPoolExecutor

    from esmctl.aws.errors import NotFound

    doubtful = [(h, m) for h, m, enabled in rows if enabled and m is not None and m.get("EventSourceMappingArn")
                and h.state in ("Disabled", "Disabling")]

    def pause_of(m: dict[str, Any]) -> marks.Pause | None:
        try:
            return marks.read_pause(aws.mapping_tags(m["EventSourceMappingArn"]))
        except NotFound:
            return None  # deleted since the listing

    with ThreadPoolExecutor(max_workers=4) as pool:
        for (h, _), pause in zip(doubtful, pool.map(pause_of, [m for _, m in doubtful]), strict=True):
            h.paused = pause
    return len(doubtful)


def from_live(m: dict[str, Any]) -> Health:
    h = Health(m.get("UUID"), m.get("FunctionArn", ""), m.get("EventSourceArn", ""), m.get("State", "?"),
               m.get("StateTransitionReason", ""), m.get("LastProcessingResult", ""), kind=identity.source_type(m),
               source_name=identity.source_name(m))
    error = m.get("FilterCriteriaError")
    if error:  # Lambda itself cannot read the mapping's KMS-encrypted filters
        h.problems.append(f"FilterCriteriaError: {error.get('ErrorCode', '')}: {error.get('Message', '')}".strip(": "))
    return h


def lag_queries(h: Health) -> list[tuple[str, dict[str, Any]]]:
    """(key, query) for the lag of a mapping's source; the key shares one query between mappings."""
    if h.kind not in LAG_METRICS:
        return []
    namespace, name, _ = LAG_METRICS[h.kind]
    if h.kind == kinds.SQS:
        queue_arn = arns.parse(h.source_arn)
        queue = [{"Name": "QueueName", "Value": queue_arn.name if queue_arn is not None else h.source_arn}]
        return [(f"sqs|{h.source_arn}", {"Namespace": namespace, "MetricName": name, "Dimensions": queue}),
                (f"sqsn|{h.source_arn}", {"Namespace": namespace, "MetricName": "ApproximateNumberOfMessagesVisible",
                                          "Dimensions": queue})]
    return [(f"{name}|{h.function_arn}", {"Namespace": namespace, "MetricName": name,
                                          "Dimensions": function_dimensions(h.function_arn)})]


def collect_metrics(aws: Any, rows: list[tuple[Health, dict[str, Any] | None]], window: timedelta) -> int:
    """Fill each mapping's lag and per-mapping metrics (MetricsConfig EventCount).

    Returns how many queries were sent; they go in batches of 500 per GetMetricData call, and a
    function's or a queue's lag is asked for once, however many mappings share it.
    """
    start, end = time_range(window)
    ids: dict[str, str] = {}
    queries: list[dict[str, Any]] = []
    targets: dict[str, tuple[str, Any]] = {}
    for h, live in rows:
        for key, query in lag_queries(h):
            if key not in ids:
                ids[key] = f"lag{len(ids)}"
                queries.append({**query, "Id": ids[key], "Stat": "Maximum"})
        metrics_config = ((live or {}).get("MetricsConfig") or {}).get("Metrics") or []
        if h.uuid and "EventCount" in metrics_config:
            for name in PER_MAPPING_METRICS["common"] + PER_MAPPING_METRICS.get(h.kind, []):
                qid = f"m{len(targets)}"
                targets[qid] = (name, h)
                queries.append({"Id": qid, "Namespace": "AWS/Lambda", "MetricName": name, "Stat": "Sum",
                                "Dimensions": [{"Name": "EventSourceMappingUUID", "Value": h.uuid}]})
    if not queries:
        return 0
    series = aws.metric_data(queries, start, end)
    for h, _ in rows:
        found = lag_queries(h)
        if not found:
            continue
        points = sorted(series.get(ids[found[0][0]]) or [])
        _, name, unit = LAG_METRICS[h.kind]
        scale = 1000 if h.kind == kinds.SQS else 1  # the queue's age is in seconds
        h.lag = Lag(name, unit, max(v for _, v in points) * scale if points else None,
                    [(t, v * scale) for t, v in points])
        if h.kind == kinds.SQS:
            visible = series.get(ids[found[1][0]]) or []
            h.lag.messages_visible = visible[0][1] if visible else None  # newest first
    for qid, (name, h) in targets.items():
        h.metrics[name] = sum(v for _, v in series.get(qid) or [])
    return len(queries)
