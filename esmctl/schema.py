"""Parameter checks against botocore's own Lambda service model, plus the rules it lacks.

botocore's client validates types and minimums only; the service also enforces maximums,
enums and rules across fields. Walking the same model here lets esmctl refuse bad input with
the field's path before anything is sent, and keeps the ranges in one place: botocore's data.
"""

from __future__ import annotations

import difflib
import json
import re
from functools import cache
from typing import Any

from esmctl import arns, kinds, servicemodel, yamldoc
from esmctl.errors import Problem
from esmctl.mapping import defaults, identity, marks, values
from esmctl.servicemodel import input_shape, kinds_of

FieldProblem = tuple[str, str]  # (field path, message): placed in a file by the caller (errors.Problem)


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == name.lower()]
    return f" (did you mean {close[0]}?)" if close else ""


def check_shape(value: Any, shape: Any, path: str) -> list[FieldProblem]:
    """Every way `value` breaks `shape`: type, required members, unknown keys, ranges, enums."""
    t = shape.type_name
    meta = shape.metadata
    problems: list[FieldProblem] = []
    if t == "structure":
        if not isinstance(value, dict):
            return [(path, f"must be a mapping, not {_kind(value)}")]
        for req in shape.required_members:
            if req not in value:
                problems.append((_join(path, req), "is required"))
        for key, sub in value.items():
            if key not in shape.members:
                problems.append((_join(path, key), "unknown field" + did_you_mean(key, list(shape.members))))
            else:
                problems.extend(check_shape(sub, shape.members[key], _join(path, key)))
    elif t == "list":
        if not isinstance(value, list):
            return [(path, f"must be a list, not {_kind(value)}")]
        problems.extend(_range(len(value), meta, path, "items"))
        for i, item in enumerate(value):
            problems.extend(check_shape(item, shape.member, f"{path}[{i}]"))
    elif t == "map":
        if not isinstance(value, dict):
            return [(path, f"must be a mapping, not {_kind(value)}")]
        for k, v in value.items():
            problems.extend(check_shape(k, shape.key, f"{path}.{k}"))
            problems.extend(check_shape(v, shape.value, f"{path}.{k}"))
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [(path, f"must be a whole number, not {_kind(value)} {value!r}")]
        problems.extend(_range(value, meta, path, ""))
    elif t == "boolean":
        if not isinstance(value, bool):
            return [(path, f"must be true or false, not {_kind(value)} {value!r}")]
    elif t == "string":
        if not isinstance(value, str):
            return [(path, f"must be a string, not {_kind(value)} {value!r}")]
        if shape.enum and value not in shape.enum:
            return [(path, f"must be one of {', '.join(shape.enum)}, not {value!r}"
                     + did_you_mean(value, list(shape.enum)))]
        problems.extend(_range(len(value), meta, path, "characters"))
        empty = _empty_arn_part(value)
        if empty:
            return problems + [(path, f"has an empty {empty}: {value!r} (a placeholder set to nothing?)")]
        pattern = _pattern(meta.get("pattern"))
        if value and pattern is not None and not pattern.fullmatch(value):
            problems.append((path, _pattern_words(shape, value) + f": {value!r}"))
    elif t == "timestamp":
        try:
            values.instant(value)
        except ValueError as exc:
            return [(path, str(exc))]
    return problems


_SCALAR_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "boolean": (bool,), "integer": (int,), "long": (int,)}


def well_typed(value: Any, shape: Any) -> tuple[Any, bool]:
    """`value` without the parts whose type breaks `shape` (check_shape says what they are), so that the rules
    across fields read only values of the types they expect; and whether anything was left out. A list with an
    item of the wrong type is left out whole: its other items keep their places in the messages."""
    t = shape.type_name
    if t == "structure" or t == "map":
        if not isinstance(value, dict):
            return None, True
        out, dropped = {}, False
        for key, sub in value.items():
            member = shape.members.get(key) if t == "structure" else shape.value
            if member is None:
                out[key] = sub  # an unknown field: check_shape says so, and no rule reads it
                continue
            kept, lost = well_typed(sub, member)
            dropped |= lost
            if kept is not None:
                out[key] = kept
        return out, dropped
    if t == "list":
        if not isinstance(value, list):
            return None, True
        items = [well_typed(item, shape.member) for item in value]
        if any(lost for _, lost in items):
            return None, True
        return [kept for kept, _ in items], False
    expected = _SCALAR_TYPES.get(t)
    if expected and (not isinstance(value, expected) or (t != "boolean" and isinstance(value, bool))):
        return None, True
    return value, False


# Services whose ARNs have no region, or no account either (S3 buckets, an on-failure destination).
_ARN_WITHOUT_REGION = frozenset({"s3", "iam", "cloudfront", "route53"})
_ARN_WITHOUT_ACCOUNT = frozenset({"s3"})


def _empty_arn_part(value: str) -> str:
    """The part of an ARN left empty (the region, the account...), where its service needs it; else ""."""
    arn = arns.parse(value)
    if arn is None:
        return ""  # not an ARN at all: the model's pattern says so
    service = arn.service
    for name, part, optional in (("partition", arn.partition, False), ("service", service, False),
                                 ("region", arn.region, service in _ARN_WITHOUT_REGION),
                                 ("account", arn.account, service in _ARN_WITHOUT_ACCOUNT),
                                 ("resource", arn.resource, False)):
        if not part and not optional:
            return name
    return ""


_PATTERN_WORDS = {
    "Arn": "is not an ARN",
    "NamespacedFunctionName": "is not a function name, name:alias or function ARN",
    "FunctionArn": "is not a function ARN",
    "KMSKeyArn": "is not a KMS key ARN",
    "DestinationArn": "is not an SQS queue, SNS topic or S3 bucket ARN, nor a kafka:// topic",
    "Endpoint": "is not a broker address (HOST:PORT)",
}


def _pattern_words(shape: Any, value: str) -> str:
    """Why a value does not match its shape's pattern, in words: botocore's ARN patterns run to 170 characters."""
    arn = arns.parse(value)
    if arn is not None and arn.account and not re.fullmatch(r"\d{12}", arn.account):
        return f"its account ID {arn.account!r} is not 12 digits"
    pattern = shape.metadata["pattern"]
    return _PATTERN_WORDS.get(shape.name, f"does not match {pattern}" if len(pattern) <= 40
                              else f"is not a valid {shape.name}")


@cache
def _pattern(text: str | None):
    """botocore's patterns are Java regexes; the few Python cannot compile are skipped."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error:
        return None


def _range(n: int, meta: dict, path: str, unit: str) -> list[FieldProblem]:
    lo, hi = meta.get("min"), meta.get("max")
    what = f" {unit}" if unit else ""
    if lo is not None and n < lo:
        return [(path, f"{'has' if unit else 'is'} {n}{what}; the minimum is {lo}" + _span(lo, hi))]
    if hi is not None and n > hi:
        return [(path, f"{'has' if unit else 'is'} {n}{what}; the maximum is {hi}" + _span(lo, hi))]
    return []


def _span(lo: Any, hi: Any) -> str:
    return f" (allowed: {lo}–{hi})" if lo is not None and hi is not None else ""


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def check_params(params: dict[str, Any], operation: str = "CreateEventSourceMapping") -> list[FieldProblem]:
    """The model's checks, then the service's rules across fields."""
    problems = check_shape(params, input_shape(operation), "")
    if operation == "CreateEventSourceMapping":
        problems.extend(cross_field_problems(params))
    elif operation == "UpdateEventSourceMapping":
        for i, item in _access_items(params.get("SourceAccessConfigurations")):
            name = item.get("Type")
            rule = servicemodel.access_types().get(name) if isinstance(name, str) else None
            if rule is not None and rule.create_only:
                problems.append((f"SourceAccessConfigurations[{i}].Type", f"{name} cannot be given in an update "
                                 "(botocore's model): it is set when the mapping is created"))
    return problems


def consumer_name_problems(name: Any, path: str = "Consumer") -> list[FieldProblem]:
    """A Kinesis consumer name as RegisterStreamConsumer takes it (botocore's Kinesis model: length, pattern)."""
    return check_shape(name, servicemodel.kinesis_member("RegisterStreamConsumer", "ConsumerName"), path)


def _access_items(items: Any) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(items) if isinstance(item, dict)] if isinstance(items, list) else []


def _access_problems(items: Any, kind: str) -> list[FieldProblem]:
    """SourceAccessConfigurations against the rules the model's documentation gives each Type: the kinds of
    source it is for, whether it takes a URI, the types it needs beside it or does not go with."""
    rules = servicemodel.access_types()
    present = {item.get("Type") for _, item in _access_items(items)}
    out: list[FieldProblem] = []
    for i, item in _access_items(items):
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


def cross_field_problems(p: dict[str, Any], kind: str | None = None) -> list[FieldProblem]:
    """The service's rules that botocore's model does not enforce (lambda-esm-facts.md)."""
    kind = kind if kind is not None else identity.source_type(p)
    out: list[FieldProblem] = []
    if not kind and "UUID" not in p:
        if not p.get("EventSourceArn"):
            out.append(("EventSourceArn", "is required (for a self-managed Kafka cluster, SelfManagedEventSource "
                        "instead)"))
        elif (source := arns.parse(p["EventSourceArn"])) is not None and source.service:
            out.append(("EventSourceArn", f"is not a source Lambda reads ({source.service}): "
                        "a Kinesis stream or consumer, a DynamoDB stream, an SQS queue, an MSK cluster, an MQ "
                        "broker or a DocumentDB cluster"))
    source = arns.parse(p.get("EventSourceArn"))
    wrong_source = arns.source_problem(source, kind) if source else ""
    if wrong_source:
        out.append(("EventSourceArn", wrong_source))
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
    if kind == kinds.KAFKA and defaults.queue_mode(p):
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
        elif not p.get("StartingPositionTimestamp"):
            out.append(("StartingPositionTimestamp", "is required with StartingPosition AT_TIMESTAMP"))
    elif p.get("StartingPositionTimestamp") is not None and pos:
        out.append(("StartingPositionTimestamp", "is only used with StartingPosition AT_TIMESTAMP"))
    if p.get("StartingPositionTimestamp") is not None:
        try:
            at = values.instant(p["StartingPositionTimestamp"])
        except ValueError:
            pass  # check_shape says so
        else:
            from datetime import datetime, timezone

            if at > datetime.now(timezone.utc):
                out.append(("StartingPositionTimestamp", f"is {values.iso(at)}, in the future"))
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
    out += _access_problems(p.get("SourceAccessConfigurations"), kind)
    fc = p.get("FilterCriteria")
    if isinstance(fc, dict):
        for i, f in enumerate(fc.get("Filters") or []):
            pattern = f.get("Pattern") if isinstance(f, dict) else None
            where = f"FilterCriteria.Filters[{i}].Pattern"
            if isinstance(pattern, str):
                try:
                    json.loads(pattern)
                except ValueError as exc:
                    out.append((where, f"is not valid JSON: {exc}"))
                    continue
            text = values.pattern_text(pattern) if pattern is not None else ""
            if len(text) > 4096:
                out.append((where, f"is {len(text)} characters; the maximum is 4096"))
    fn, src = arns.parse(p.get("FunctionName")), arns.parse(p.get("EventSourceArn"))
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


def int_bounds(member: str, operation: str = "CreateEventSourceMapping") -> tuple[int | None, int | None]:
    shape = input_shape(operation).members[member]
    return shape.metadata.get("min"), shape.metadata.get("max")


def top_level_problems(doc: yamldoc.Document, allowed: tuple[str, ...], what: str, body: str) -> list[Problem]:
    """The problems of a document's top level (a `what` of `body`): not a mapping, keys not in `allowed`, a
    version other than 1."""
    data = doc.data
    if not isinstance(data, dict):
        return [Problem(doc.at(()), what, f"expected a mapping with version and {body}")]
    problems = [Problem(doc.at((key,), key=True), str(key),
                        "unknown top-level key" + did_you_mean(str(key), list(allowed)))
                for key in data if key not in allowed]
    if "version" not in data:
        problems.append(Problem(doc.at(()), "version", "is required: write version: 1 at the top"))
    elif data["version"] != 1 or isinstance(data["version"], bool):
        problems.append(Problem(doc.at(("version",)), "version",
                                f"must be 1, not {json.dumps(data['version'], default=str)}"))
    return problems
