"""Kinesis enhanced fan-out in specs: `Consumer: NAME` resolution, registration, and hand-offs.

A mapping that moves between a stream and a consumer (or between consumers) reads a different
source ARN, so the new mapping can be created before the old one is deleted (no 409). Starting it
AT_TIMESTAMP = now − the old mapping's IteratorAge − a margin means no record is skipped; a few
may be processed twice, which Lambda's at-least-once delivery allows anyway.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from esmctl import model
from esmctl.aws import Aws
from esmctl.errors import EsmctlError
from esmctl.plan import CREATE, DELETE, HANDOFF, REPLACE, Change, Plan, Target, sort_changes

PENDING = ":<registered on apply>"


def resolve_targets(aws: Aws, desired: list) -> list[Target]:
    """Desired mappings with identities: function ARN (one STS call in all) and source ARN.

    `Consumer: NAME` maps the consumer's ARN; one ListStreamConsumers call per stream named.
    """
    consumers: dict[str, list[dict]] = {}
    targets = []
    for d in desired:
        ref = aws.function_ref(d.function)
        params = dict(d.params)
        source = d.source
        if d.consumer:
            stream = d.source
            if stream not in consumers:
                consumers[stream] = aws.list_consumers(stream)
            found = [c for c in consumers[stream] if c["ConsumerName"] == d.consumer
                     and c.get("ConsumerStatus") != "DELETING"]
            source = found[0]["ConsumerARN"] if found else f"{stream}/consumer/{d.consumer}{PENDING}"
            params["EventSourceArn"] = source
        src_region = model.arn_region(source)
        fn_region = ref.arn.split(":")[3]
        if src_region and fn_region and src_region != fn_region:
            raise EsmctlError(f"{d.where}: EventSourceArn is in {src_region} but the function is in {fn_region}: "
                              "they must be in the same region")
        targets.append(Target((ref.qualified_arn, source), params, d.where, d.consumer))
    return targets


def is_pending(arn: str) -> bool:
    return arn.endswith(PENDING)


def _family(arn: str) -> str:
    """Sources that read the same data: a Kinesis stream and its consumers; a table's streams."""
    if ":kinesis:" in arn:
        return model.stream_of(arn.removesuffix(PENDING))
    if ":dynamodb:" in arn and "/stream/" in arn:
        return arn.split("/stream/")[0]
    return arn


def plan_handoffs(aws: Aws, plan: Plan, targets: list[Target], live: list[dict], margin: float) -> None:
    """Turn create + (delete or unmanaged) of the same function on the same data into a hand-off."""
    wanted = {t.key for t in targets}
    creates = [c for c in plan.changes if c.action == CREATE]
    olds: dict[tuple[str, str], dict] = {}
    for m in live:
        key = (m["FunctionArn"], m.get("EventSourceArn", ""))
        if key not in wanted:
            olds.setdefault((m["FunctionArn"], _family(m.get("EventSourceArn", ""))), m)
    pairs: list[tuple[Change, dict]] = []
    for c in creates:
        old = olds.get((c.function, _family(c.source)))
        if old is not None and c.source != old.get("EventSourceArn"):
            pairs.append((c, old))
    streams = [old["FunctionArn"] for _, old in pairs if model.source_type(old) == model.KINESIS]
    ages = iterator_ages(aws, streams) if streams else {}
    for c, old in pairs:
        plan.changes = [x for x in plan.changes if not (x.action == DELETE and x.uuid == old["UUID"])]
        plan.unmanaged = [m for m in plan.unmanaged if m["UUID"] != old["UUID"]]
        c.uuid, c.live = old["UUID"], old
        if model.source_type(old) == model.DYNAMODB:
            c.action = REPLACE
            c.reason = ("needs --allow-replace: a DynamoDB stream cannot start at a timestamp, so the new "
                        "mapping starts at its StartingPosition")
            continue
        age = ages.get(old["FunctionArn"])
        c.action = HANDOFF
        c.handoff_at = handoff_timestamp(age, margin)
        c.reason = (f"from {model.short_arn(old.get('EventSourceArn'))}: IteratorAge "
                    f"{f'{age:.0f} ms' if age is not None else 'unknown (no data)'}, margin {margin:g}s")
    sort_changes(plan.changes)


def handoff_timestamp(iterator_age_ms: float | None, margin: float, now: datetime | None = None) -> datetime:
    """Where the old mapping is: now − its IteratorAge − a safety margin (whole seconds)."""
    now = now or datetime.now(timezone.utc)
    return (now - timedelta(milliseconds=iterator_age_ms or 0, seconds=margin)).replace(microsecond=0)


def iterator_ages(aws: Aws, function_arns: list[str], window: timedelta = timedelta(minutes=15)) -> dict[str, Any]:
    """The newest Maximum IteratorAge (ms) per function, in one GetMetricData call per 500."""
    from esmctl.metrics import iterator_age_queries, time_range

    start, end = time_range(window)
    queries = iterator_age_queries(function_arns)
    values = aws.metric_data([q for q, _ in queries], start, end)
    out: dict[str, Any] = {}
    for q, arn in queries:
        v = values.get(q["Id"])
        out[arn] = max(v) if v else None
    return out


def ensure_consumer(aws: Aws, stream_arn: str, name: str, timeout: float = 300) -> dict:
    """Register a consumer unless one of that name exists; wait until ACTIVE. Idempotent."""
    from esmctl.aws import AWS_ERRORS, error_code

    existing = aws.describe_consumer(stream_arn=stream_arn, name=name)
    if existing is None:
        try:
            existing = aws.register_consumer(stream_arn, name)
        except AWS_ERRORS as exc:
            if error_code(exc) != "ResourceInUseException":
                raise
            existing = aws.describe_consumer(stream_arn=stream_arn, name=name)
    if existing.get("ConsumerStatus") != "ACTIVE":
        existing = aws.wait_for_consumer(existing["ConsumerARN"], timeout=timeout)
    return existing
