"""The service's rules across a mapping's fields that botocore's model does not enforce (lambda-esm-facts.md),
and the facts they read: what the modules below make of a mapping's values, made once before any rule reads them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from esmctl import arns, kinds, servicemodel
from esmctl.mapping import defaults, identity, marks, values
from esmctl.servicemodel import input_shape, kinds_of

FieldProblem = tuple[str, str]  # (field path, message)


@dataclass(frozen=True)
class Facts:
    """What the modules below made of a mapping's values, read once before any rule reads them: every ARN in
    them parsed, its kind of source, why its source ARN names nothing readable, its starting time (why it cannot
    be read, or that it is in the future), whether a Kafka mapping consumes as a queue. The rules here read these
    and parse nothing again (`facts_of` makes them for one request; a spec's checks make them for all its
    mappings a fact at a time)."""

    arns: Mapping[str, arns.Arn | None] = field(default_factory=dict)  # every text of the values that is an ARN
    kind: str = ""
    source_problem: str = ""
    unreadable_time: str = ""  # why StartingPositionTimestamp cannot be read
    future_time: str = ""  # StartingPositionTimestamp when it is in the future (ISO 8601)
    queue_mode: bool = False


NO_FACTS = Facts()
ON_FAILURE_SERVICES = frozenset({"sqs", "sns", "s3"})  # where Lambda sends what a mapping gave up on


def facts_of(params: dict[str, Any], kind: str | None = None) -> Facts:
    """The facts of one request's parameters (a command's options, a live mapping with a change)."""
    parsed = {text: arns.parse(text) for text in arns.texts_in(params, set())}
    source = parsed.get(params.get("EventSourceArn")) if isinstance(params.get("EventSourceArn"), str) else None
    kind = kind if kind is not None else identity.kind_of(params, source)
    return Facts(parsed, kind, identity.source_problem(source, kind) if source else "",
                 *values.starting_time(params.get("StartingPositionTimestamp")), defaults.queue_mode(params))


def arn_of(facts: Facts, value: Any) -> arns.Arn | None:
    return facts.arns.get(value) if isinstance(value, str) else None


def access_items(items: Any) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)] if isinstance(items, list) else []


def _access_problems(items: Any, kind: str) -> list[FieldProblem]:
    """SourceAccessConfigurations against the rules the model's documentation gives each Type: the kinds of
    source it is for, whether it takes a URI, the types it needs beside it or does not go with."""
    rules = servicemodel.access_types()
    present = {item.get("Type") for _, item in access_items(items)}
    out: list[FieldProblem] = []
    for i, item in access_items(items):
        name = item.get("Type")
        rule = rules.get(name) if isinstance(name, str) else None
        if rule is None:
            continue
        where = f"SourceAccessConfigurations[{i}]"
        if kind in kinds_of("SourceAccessConfigurations") and rule.kinds and kind not in rule.kinds:
            out.append((f"{where}.Type", f"{name} is not for {kinds.KIND_NAMES[kind]} sources (only "
                        f"{', '.join(kinds.KIND_NAMES[k] for k in kinds.KINDS if k in rule.kinds)})"))
        if not rule.uri and "URI" in item:
            out.append((f"{where}.URI", f"is not taken with {name}: leave it out (there is no secret to give)"))
        elif rule.uri and not item.get("URI"):
            out.append((f"{where}.URI", f"is required with {name}"))
        if rule.requires and not rule.requires & present:
            out.append((f"{where}.Type", f"{name} needs {' or '.join(sorted(rule.requires))} beside it"))
        clash = sorted(rule.excludes & present)
        if clash:
            out.append((f"{where}.Type", f"{name} does not go with {', '.join(clash)}"))
    return out


def cross_field_problems(p: dict[str, Any], facts: Facts) -> list[FieldProblem]:
    """The service's rules that botocore's model does not enforce (lambda-esm-facts.md), with `p`'s facts."""
    kind = facts.kind
    out: list[FieldProblem] = []
    if not kind and "UUID" not in p:
        if not p.get("EventSourceArn"):
            out.append(("EventSourceArn", "is required (for a self-managed Kafka cluster, SelfManagedEventSource "
                        "instead)"))
        elif (source := arn_of(facts, p["EventSourceArn"])) is not None and source.service:
            out.append(("EventSourceArn", f"is not a source Lambda reads ({source.service}): "
                        "a Kinesis stream or consumer, a DynamoDB stream, an SQS queue, an MSK cluster, an MQ "
                        "broker or a DocumentDB cluster"))
    if facts.source_problem:
        out.append(("EventSourceArn", facts.source_problem))
    if kind:
        for name in p:
            if name in ("FunctionName", "EventSourceArn", "Enabled", "Tags", "UUID") \
                    or name not in input_shape().members or kind in kinds_of(name):
                continue
            sqs_destination = (kind, name) == (kinds.SQS, "DestinationConfig")
            hint = ": set a dead-letter queue on the queue instead" if sqs_destination else ""
            out.append((name, f"is not for {kinds.KIND_NAMES[kind]} sources (only "
                        f"{', '.join(kinds.KIND_NAMES[k] for k in kinds.KINDS if k in kinds_of(name))}){hint}"))
    pos = p.get("StartingPosition")
    needs_position = (kinds.KINESIS, kinds.DYNAMODB, kinds.MSK, kinds.KAFKA)
    if kind == kinds.KAFKA and facts.queue_mode:
        # botocore's model: "When ConsumptionMode is Queue, the StartingPosition, StartingPositionTimestamp,
        # and MaximumBatchingWindowInSeconds parameters are not supported"; nor is -1 retries.
        for name in ("StartingPosition", "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds"):
            if p.get(name) is not None:
                out.append((name, "is not supported with SelfManagedKafkaEventSourceConfig.ConsumptionMode Queue"))
        if p.get("MaximumRetryAttempts") == -1:
            out.append(("MaximumRetryAttempts", "cannot be -1 (infinite) with ConsumptionMode Queue: 0 (the "
                        "default) to 10000"))
        pos = needs_position = None
    if needs_position and kind in needs_position and not pos and "UUID" not in p:
        choices = "TRIM_HORIZON, LATEST" + (", AT_TIMESTAMP" if kind != kinds.DYNAMODB else "")
        name = kinds.KIND_NAMES[kind]
        out.append(("StartingPosition", f"is required for {'an' if name[:1] in 'AEIOU' else 'a'} {name} source "
                                        f"({choices})"))
    if pos == "AT_TIMESTAMP":
        if kind == kinds.DYNAMODB:
            out.append(("StartingPosition", "AT_TIMESTAMP is not for DynamoDB sources (TRIM_HORIZON or LATEST)"))
        elif p.get("StartingPositionTimestamp") in (None, ""):  # 0 is the epoch, a time like any other
            out.append(("StartingPositionTimestamp", "is required with StartingPosition AT_TIMESTAMP"))
    elif p.get("StartingPositionTimestamp") is not None and pos:
        out.append(("StartingPositionTimestamp", "is only used with StartingPosition AT_TIMESTAMP"))
    if facts.future_time:
        out.append(("StartingPositionTimestamp", f"is {facts.future_time}, in the future"))
    # Kafka's cap of KAFKA_DESTINATION_RETRIES applies to infinite retries (-1) with an on-failure destination only:
    # AWS accepts an explicit 11-10000 there (lambda-esm-facts.md, "Corrections"); defaults.canonical reads the cap.
    age = p.get("MaximumRecordAgeInSeconds")
    if _is_int(age) and 0 <= age < 60:
        out.append(("MaximumRecordAgeInSeconds", f"is {age}; use -1 (no limit) or 60–604800"))
    if kind == kinds.SQS:
        batch = p.get("BatchSize")
        if _is_int(batch):
            if str(p.get("EventSourceArn", "")).endswith(".fifo") and batch > 10:
                out.append(("BatchSize", f"is {batch}; a FIFO queue takes at most 10"))
            elif batch > 10 and not (p.get("MaximumBatchingWindowInSeconds") or 0) >= 1:
                out.append(("MaximumBatchingWindowInSeconds",
                            f"must be at least 1 when BatchSize ({batch}) is over 10 for SQS"))
    if kind in (kinds.MSK, kinds.KAFKA) and "UUID" not in p and not p.get("Topics"):
        out.append(("Topics", "is required for a Kafka source (one topic)"))
    # MQ's Queues and SourceAccessConfigurations are optional (the model and the MQ parameter page).
    if kind == kinds.DOCDB and "UUID" not in p and not (p.get("DocumentDBEventSourceConfig") or {}).get("DatabaseName"):
        out.append(("DocumentDBEventSourceConfig.DatabaseName", "is required for a DocumentDB source"))
    if p.get("ScalingConfig") and p.get("ProvisionedPollerConfig"):
        out.append(("ProvisionedPollerConfig", "cannot be combined with ScalingConfig"))
    out += _poller_problems(p.get("ProvisionedPollerConfig"), kind)
    if p.get("LoggingConfig") and not p.get("ProvisionedPollerConfig") and kind in (kinds.MSK, kinds.KAFKA):
        # The Lambda guide (esm-logging): "only available for Kafka event source mappings, and with
        # Provisioned mode".
        out.append(("LoggingConfig", "needs ProvisionedPollerConfig: Kafka event source mapping logging is only "
                    "for provisioned mode"))
    metrics = (p.get("MetricsConfig") or {}).get("Metrics") if isinstance(p.get("MetricsConfig"), dict) else None
    if kind and kind not in (kinds.MSK, kinds.KAFKA) and isinstance(metrics, list):
        for name in ("ErrorCount", "KafkaMetrics"):  # botocore's model: "(Amazon MSK and self-managed Apache Kafka)"
            if name in metrics:
                out.append(("MetricsConfig.Metrics", f"{name} is only for Kafka sources (Amazon MSK, self-managed "
                            "Kafka)"))
    tags = p.get("Tags")
    if isinstance(tags, dict):
        for key in tags:
            if isinstance(key, str) and key.lower().startswith(marks.RESERVED_TAG_PREFIXES):
                owner = "AWS" if key.lower().startswith("aws:") else "esmctl's own bookkeeping (hand-offs)"
                out.append((f"Tags.{key}", f"the {key.split(':')[0]}: prefix is reserved for {owner}"))
    dc = p.get("DestinationConfig")
    if isinstance(dc, dict) and dc.get("OnSuccess"):
        out.append(("DestinationConfig.OnSuccess", "is not supported for event source mappings"))
    destination = (dc.get("OnFailure") or {}).get("Destination") if isinstance(dc, dict) and \
        isinstance(dc.get("OnFailure"), dict) else None
    if kind and kind not in (kinds.MSK, kinds.KAFKA) and isinstance(destination, str) \
            and destination.startswith("kafka://"):
        out.append(("DestinationConfig.OnFailure.Destination", "a kafka:// topic is only for Kafka sources (Amazon "
                    "MSK, self-managed Kafka): give an SQS queue, SNS topic or S3 bucket ARN"))
    target = arn_of(facts, destination)  # (an SQS source takes no destination at all: said once, above)
    if target is not None and target.service and target.service not in ON_FAILURE_SERVICES and kind != kinds.SQS:
        kafka = ", nor a kafka:// topic" if kind in (kinds.MSK, kinds.KAFKA) else ""
        out.append(("DestinationConfig.OnFailure.Destination", "is not an SQS queue, SNS topic or S3 bucket ARN"
                    f"{kafka} (an ARN of {target.service}): Lambda sends failed batches to those only"))
    out += _access_problems(p.get("SourceAccessConfigurations"), kind)
    fc = p.get("FilterCriteria")
    if isinstance(fc, dict):
        for i, f in enumerate(fc.get("Filters") or []):
            pattern = f.get("Pattern") if isinstance(f, dict) else None
            where = f"FilterCriteria.Filters[{i}].Pattern"
            if isinstance(pattern, str):  # its length is the model's rule (schema.check_shape)
                try:
                    json.loads(pattern)
                except ValueError as exc:
                    out.append((where, f"is not valid JSON: {exc}"))
    fn, src = arn_of(facts, p.get("FunctionName")), arn_of(facts, p.get("EventSourceArn"))
    if fn is not None and src is not None and fn.region and src.region and fn.region != src.region:
        out.append(("EventSourceArn", f"is in {src.region} but the function is in {fn.region}: they must be in "
                    "the same region"))
    return out


def _poller_problems(config: Any, kind: str) -> list[FieldProblem]:
    """ProvisionedPollerConfig ranges per kind (the model holds only the widest)."""
    if not isinstance(config, dict):
        return []
    lo_min, hi_max = (2, 10000) if kind == kinds.SQS else (1, 2000)
    out: list[FieldProblem] = []
    low, high = config.get("MinimumPollers"), config.get("MaximumPollers")
    if _is_int(low) and low < lo_min:
        out.append(("ProvisionedPollerConfig.MinimumPollers", f"is {low}; the minimum for this source is {lo_min}"))
    if _is_int(high) and not lo_min <= high <= hi_max:
        out.append(("ProvisionedPollerConfig.MaximumPollers", f"is {high}; allowed for this source: {lo_min}–{hi_max}"))
    if _is_int(low) and _is_int(high) and low > high:
        out.append(("ProvisionedPollerConfig.MinimumPollers", f"is {low}, more than MaximumPollers ({high})"))
    if config.get("PollerGroupName") and kind not in (kinds.MSK, kinds.KAFKA, ""):
        out.append(("ProvisionedPollerConfig.PollerGroupName", "is for Kafka sources only"))
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
