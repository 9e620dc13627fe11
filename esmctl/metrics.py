"""CloudWatch queries for mapping health: which metric, which dimensions, which time range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from esmctl import arns


def time_range(window: timedelta, now: datetime | None = None) -> tuple[datetime, datetime]:
    """From now − window rounded down to the minute, to now rounded up: the newest point counts."""
    now = now or datetime.now(timezone.utc)
    start = (now - window).replace(second=0, microsecond=0)
    end_minute = now.replace(second=0, microsecond=0)
    end = end_minute if now == end_minute else end_minute + timedelta(minutes=1)
    return start, end


def function_dimensions(function_arn: str) -> list[dict[str, str]]:
    """IteratorAge dimensions: FunctionName, plus Resource (name:qualifier) for an alias or version."""
    arn = arns.parse(function_arn)
    name = arn.name if arn is not None and arn.is_function else function_arn
    dims = [{"Name": "FunctionName", "Value": name}]
    if arn is not None and arn.qualifier:
        dims.append({"Name": "Resource", "Value": f"{name}:{arn.qualifier}"})
    return dims


def iterator_age_queries(function_arns: list[str]) -> list[tuple[dict[str, Any], str]]:
    out = []
    for i, arn in enumerate(dict.fromkeys(function_arns)):
        out.append(({"Id": f"age{i}", "Namespace": "AWS/Lambda", "MetricName": "IteratorAge",
                     "Dimensions": function_dimensions(arn), "Stat": "Maximum"}, arn))
    return out


def newest_iterator_ages(aws: Any, function_arns: list[str], window: timedelta) -> dict[str, Any]:
    """Each function's newest IteratorAge datapoint in the window, as a plan.Position (None: none)."""
    from esmctl.plan.types import Position

    start, end = time_range(window)
    queries = iterator_age_queries(function_arns)
    series = aws.metric_data([q for q, _ in queries], start, end)
    out: dict[str, Any] = {}
    for q, arn in queries:
        points = series.get(q["Id"]) or []
        out[arn] = Position(points[0][0], points[0][1]) if points else None
    return out
