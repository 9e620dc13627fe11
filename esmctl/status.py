"""Are the mappings keeping up? State, LastProcessingResult and IteratorAge, with a verdict.

The verdict is pure (`assess`); `collect` reads the metrics for many mappings in as few
GetMetricData calls as possible (one per 500 queries).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from esmctl import model
from esmctl.metrics import function_dimensions, time_range

PER_MAPPING_METRICS = {
    "common": ["PolledEventCount", "InvokedEventCount", "FilteredOutEventCount", "FailedInvokeEventCount",
               "DroppedEventCount"],
    model.KINESIS: ["OnFailureDestinationDeliveredEventCount"],
    model.DYNAMODB: ["OnFailureDestinationDeliveredEventCount"],
    model.SQS: ["DeletedEventCount"],
}


@dataclass
class Health:
    uuid: str | None
    function_arn: str
    source_arn: str
    state: str
    reason: str = ""
    last_result: str = ""
    iterator_age_ms: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def document(self) -> dict[str, Any]:
        doc = {
            "UUID": self.uuid, "FunctionArn": self.function_arn, "EventSourceArn": self.source_arn,
            "State": self.state or None, "StateTransitionReason": self.reason, "LastProcessingResult": self.last_result,
            "IteratorAgeMs": self.iterator_age_ms, "Healthy": self.healthy, "Problems": list(self.problems),
        }
        if self.metrics:
            doc["Metrics"] = dict(self.metrics)
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


def assess(h: Health, *, expect_enabled: bool = True, max_iterator_age: timedelta | None = None) -> Health:
    """Fill `problems`: what makes the mapping unhealthy."""
    want = "Enabled" if expect_enabled else "Disabled"
    if not h.uuid:
        h.problems.append("not created: the spec lists it, AWS has no such mapping")
        return h
    if h.state != want:
        detail = f" ({h.reason})" if h.reason and h.reason not in ("User action", "User initiated") else ""
        h.problems.append(f"state is {h.state}, expected {want}{detail}")
    if (h.last_result or "").upper().startswith("PROBLEM"):
        h.problems.append(h.last_result)
    if max_iterator_age is not None and h.iterator_age_ms is not None:
        limit_ms = max_iterator_age.total_seconds() * 1000
        if h.iterator_age_ms > limit_ms:
            h.problems.append(f"IteratorAge {format_age(h.iterator_age_ms)} is over {format_age(limit_ms)}")
    return h


def from_live(m: dict[str, Any]) -> Health:
    h = Health(m.get("UUID"), m.get("FunctionArn", ""), m.get("EventSourceArn", ""), m.get("State", "?"),
               m.get("StateTransitionReason", ""), m.get("LastProcessingResult", ""))
    error = m.get("FilterCriteriaError")
    if error:  # Lambda itself cannot read the mapping's KMS-encrypted filters
        h.problems.append(f"FilterCriteriaError: {error.get('ErrorCode', '')}: {error.get('Message', '')}".strip(": "))
    return h


def collect_metrics(aws: Any, rows: list[tuple[Health, dict[str, Any] | None]], window: timedelta) -> int:
    """Fill IteratorAge (stream sources) and per-mapping metrics (MetricsConfig EventCount).

    Returns how many queries were sent; they go in batches of 500 per GetMetricData call.
    """
    start, end = time_range(window)
    queries: list[dict[str, Any]] = []
    targets: dict[str, tuple[str, Any]] = {}
    age_ids: dict[str, str] = {}
    for h, live in rows:
        kind = model.source_type({"EventSourceArn": h.source_arn})
        if kind in model.STREAM_TYPES and h.function_arn and h.function_arn not in age_ids:
            qid = f"age{len(age_ids)}"
            age_ids[h.function_arn] = qid
            queries.append({"Id": qid, "Namespace": "AWS/Lambda", "MetricName": "IteratorAge",
                            "Dimensions": function_dimensions(h.function_arn), "Stat": "Maximum"})
        metrics_config = ((live or {}).get("MetricsConfig") or {}).get("Metrics") or []
        if h.uuid and "EventCount" in metrics_config:
            for name in PER_MAPPING_METRICS["common"] + PER_MAPPING_METRICS.get(kind, []):
                qid = f"m{len(targets)}"
                targets[qid] = (name, h)
                queries.append({"Id": qid, "Namespace": "AWS/Lambda", "MetricName": name, "Stat": "Sum",
                                "Dimensions": [{"Name": "EventSourceMappingUUID", "Value": h.uuid}]})
    if not queries:
        return 0
    series = aws.metric_data(queries, start, end)
    for h, _ in rows:
        qid = age_ids.get(h.function_arn)
        if qid and series.get(qid) and model.source_type({"EventSourceArn": h.source_arn}) in model.STREAM_TYPES:
            h.iterator_age_ms = max(v for _, v in series[qid])
    for qid, (name, h) in targets.items():
        h.metrics[name] = sum(v for _, v in series.get(qid) or [])
    return len(queries)
