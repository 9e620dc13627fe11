"""`esmctl doctor`: what the Lambda developer guide warns about, checked for each mapping.

Each check is a small function of what was read (pure where it can be): concurrency, stalled
shards, permissions, region, SQS visibility timeout, OnFailure destinations that do not exist, two
qualifiers of a function on one source. Reads are shared: one GetFunction per function, one shard
count per stream, one role read per role, one read per destination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from esmctl import arns, kinds, permissions
from esmctl.mapping import defaults, identity

ERROR, WARNING, INFO = "error", "warning", "info"


@dataclass
class Finding:
    severity: str
    check: str
    mapping: dict[str, Any]
    finding: str
    fix: str

    def document(self) -> dict[str, Any]:
        return {"severity": self.severity, "check": self.check, "mapping": self.mapping,
                "finding": self.finding, "fix": self.fix}


def _ident(m: dict[str, Any]) -> dict[str, Any]:
    return {"UUID": m.get("UUID"), "FunctionArn": m.get("FunctionArn"), "EventSourceArn": m.get("EventSourceArn")}


def check_missing(function_arn: str | None, source_arn: str | None, why: str, fix: str) -> list[Finding]:
    """A mapping asked about that does not exist: nothing else can be checked, and nothing reads."""
    return [Finding(ERROR, "missing", {"UUID": None, "FunctionArn": function_arn or None,
                                       "EventSourceArn": source_arn or None}, why, fix)]


def check_stalls(m: dict[str, Any]) -> list[Finding]:
    """Retry forever + keep records forever + nowhere to send failures = a shard that can stall for days."""
    kind = identity.source_type(m)
    if kind not in kinds.STREAM_TYPES:
        return []
    n = defaults.canonical(m, kind)
    if all(defaults.satisfies(name, -1, n[name]) for name in ("MaximumRetryAttempts", "MaximumRecordAgeInSeconds")) \
            and not n["DestinationConfig"].get("OnFailure", {}).get("Destination"):
        return [Finding(WARNING, "stalled-shards", _ident(m),
                        "a failing batch is retried until its records expire (MaximumRetryAttempts -1, "
                        "MaximumRecordAgeInSeconds -1, no OnFailure destination): the shard stalls meanwhile",
                        "set MaximumRetryAttempts and/or MaximumRecordAgeInSeconds, an OnFailure destination, "
                        "and BisectBatchOnFunctionError or FunctionResponseTypes [ReportBatchItemFailures]")]
    return []


def check_filters(m: dict[str, Any]) -> list[Finding]:
    """Filters that no record of the source can match (esmctl.filters.checks): every record that matches no
    filter is discarded, and an SQS message deleted."""
    from esmctl.filters.checks import never_matches
    from esmctl.filters.rules import parse_pattern

    kind = identity.source_type(m)
    filters = (m.get("FilterCriteria") or {}).get("Filters") or []
    never = []
    for i, f in enumerate(filters):
        try:
            why = never_matches(parse_pattern(f.get("Pattern") or ""), kind)
        except ValueError:
            continue
        if why:
            never.append(f"#{i}: {why}")
    if not never:
        return []
    lost = "deleted from the queue" if kind == kinds.SQS else "discarded"
    if len(never) == len(filters):
        return [Finding(ERROR, "filters", _ident(m), f"no filter can match a record of this source, so every record "
                        f"is {lost}: {'; '.join(never)}",
                        f"fix the patterns; try them on records first: esmctl filter test --uuid {m.get('UUID')} "
                        "--records FILE (or --from-stream ARN for a stream)")]
    return [Finding(WARNING, "filters", _ident(m), f"{len(never)} of {len(filters)} filters can never match a "
                    f"record of this source: {'; '.join(never)}", "fix or remove them (esmctl filter test --uuid "
                    f"{m.get('UUID')} tries them on records)")]


FILTERED_OUT_WINDOW_MINUTES = 60
FILTERED_OUT_MIN_POLLED = 100  # fewer records polled in the window say little


def check_filtered_out(m: dict[str, Any], polled: float, filtered: float) -> list[Finding]:
    """With MetricsConfig EventCount: filters that discard most of what the mapping polls (a warning from
    90%, a note from half): intended, or a pattern that misses the producer's records?"""
    if polled < FILTERED_OUT_MIN_POLLED or filtered < polled / 2:
        return []
    share = filtered / polled
    lost = "deleted from the queue" if identity.source_type(m) == kinds.SQS else "discarded"
    return [Finding(WARNING if share >= 0.9 else INFO, "filtered-out", _ident(m),
                    f"the filters {lost} {filtered:,.0f} of the {polled:,.0f} records polled in the last "
                    f"{FILTERED_OUT_WINDOW_MINUTES} minutes ({share:.0%}; FilteredOutEventCount)",
                    "if that is not intended, try the filters on the source's records: esmctl filter test --uuid "
                    f"{m.get('UUID')} --records FILE (or --from-stream ARN for a stream)")]


def _event_counts(aws: Any, mappings: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """UUID -> (PolledEventCount, FilteredOutEventCount) over the window, for the mappings with MetricsConfig
    EventCount: one GetMetricData for them all."""
    from datetime import timedelta

    from esmctl.aws.errors import AwsError
    from esmctl.metrics import time_range

    counted = [m["UUID"] for m in mappings
               if m.get("UUID") and "EventCount" in ((m.get("MetricsConfig") or {}).get("Metrics") or [])]
    if not counted:
        return {}
    queries = [{"Id": f"{name[0].lower()}{i}", "Namespace": "AWS/Lambda", "MetricName": name, "Stat": "Sum",
                "Dimensions": [{"Name": "EventSourceMappingUUID", "Value": uuid}]}
               for i, uuid in enumerate(counted) for name in ("PolledEventCount", "FilteredOutEventCount")]
    try:
        series = aws.metric_data(queries, *time_range(timedelta(minutes=FILTERED_OUT_WINDOW_MINUTES)))
    except AwsError:
        return {}
    return {uuid: tuple(sum(v for _, v in series.get(f"{p}{i}") or []) for p in "pf")  # type: ignore[misc]
            for i, uuid in enumerate(counted)}


def check_region(m: dict[str, Any]) -> list[Finding]:
    function, source = arns.parse(m.get("FunctionArn")), arns.parse(m.get("EventSourceArn"))
    fn_region = function.region if function is not None else ""
    src_region = source.region if source is not None else ""
    if fn_region and src_region and fn_region != src_region:
        return [Finding(ERROR, "region", _ident(m), f"the function is in {fn_region}, the source in {src_region}",
                        "create the mapping for a function in the source's region")]
    return []


def check_concurrency(m: dict[str, Any], shards: int, needed: int, reserved: int | None,
                      unreserved: int | None) -> list[Finding]:
    """What the function's stream mappings need (over all its aliases and versions: reserved concurrency is
    the function's) against what it can get: `shards` open shards in all, `needed` = Σ shards × PF."""
    if not shards:
        return []
    if reserved is not None and reserved < needed:
        severity = ERROR if reserved < shards else WARNING
        effect = "some shards get no concurrency and stall" if severity == ERROR else "shards wait their turn"
        return [Finding(severity, "concurrency", _ident(m),
                        f"the function's stream mappings read {shards} shard(s) and need {needed} concurrent "
                        f"executions (shards × ParallelizationFactor) but its reserved concurrency is {reserved}: "
                        f"{effect}",
                        f"raise the function's reserved concurrency to at least {needed}, or lower "
                        "ParallelizationFactor")]
    if reserved is None and unreserved is not None and unreserved < needed:
        return [Finding(WARNING, "concurrency", _ident(m),
                        f"the function's stream mappings need {needed} concurrent executions but the account "
                        f"has {unreserved} unreserved",
                        f"reserve {needed} for the function, or ask for a higher account concurrency limit")]
    return []


def check_visibility(m: dict[str, Any], visibility: int | None, function_timeout: int | None) -> list[Finding]:
    if visibility is None or function_timeout is None or visibility >= function_timeout:
        return []
    return [Finding(ERROR, "visibility-timeout", _ident(m),
                    f"the queue's visibility timeout ({visibility}s) is shorter than the function's timeout "
                    f"({function_timeout}s): messages come back while they are still being processed",
                    f"set the queue's VisibilityTimeout to at least {function_timeout}s "
                    "(AWS suggests 6× the function timeout)")]


def check_permissions(m: dict[str, Any], role_arn: str | None, decide) -> list[Finding]:  # noqa: ANN001
    """`decide(role, action, resource)` -> True/False, or None when it cannot be told."""
    if not role_arn:
        return []
    missing: list[tuple[str, str]] = []
    unknown = []
    for action, resource in permissions.needed(m):
        verdict = decide(role_arn, action, resource)
        if verdict is None:
            unknown.append(action)
        elif not verdict:
            missing.append((action, resource))
    out = []
    if missing:
        out.append(Finding(ERROR, "permissions", _ident(m),
                           f"the execution role {_role_name(role_arn)} does not allow "
                           f"{', '.join(a for a, _ in missing)}", permissions.fix(m, missing)))
    if unknown:
        out.append(Finding(INFO, "permissions", _ident(m),
                           f"could not tell whether the role allows {', '.join(unknown)}",
                           "check the role's policies, or run with iam:SimulatePrincipalPolicy allowed"))
    return out


def check_qualifiers(mappings: list[dict[str, Any]]) -> list[Finding]:
    """Two qualifiers (or a qualifier and the function itself) of one function reading one source: each record
    is handed to both, usually a mapping left behind by an alias or version switch."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in mappings:
        if m.get("EventSourceArn") and m.get("State") not in ("Deleting",):
            groups.setdefault((_unqualified(m["FunctionArn"]), m["EventSourceArn"]), []).append(m)
    out = []
    for (_, source), ms in groups.items():
        functions = sorted({m["FunctionArn"] for m in ms})
        if len(functions) < 2:
            continue
        names = [identity.short_arn(a) for a in functions]
        out.append(Finding(WARNING, "qualifiers", _ident(ms[0]),
                           f"{' and '.join(names)} both read {identity.short_arn(source)}: every record is processed "
                           f"by each ({', '.join(m['UUID'] for m in ms)})",
                           "delete the mapping of the qualifier that should not read it (esmctl mapping delete UUID)"))
    return out


def check_destination(m: dict[str, Any], exists: bool | None) -> list[Finding]:
    """An OnFailure destination that does not exist: what fails is dropped, with nowhere to look for it."""
    dest = ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
    if not dest or exists is not False:
        return []
    return [Finding(ERROR, "destination", _ident(m),
                    f"the OnFailure destination {identity.short_arn(dest)} does not exist: records that fail are "
                    "discarded with nowhere to find them",
                    f"create it, or set DestinationConfig.OnFailure.Destination to one that exists ({dest})")]


def _role_name(role_arn: str) -> str:
    role = arns.parse(role_arn)
    return role.name if role is not None else role_arn


def destination_exists(aws: Any, arn: str) -> bool | None:
    """Does an SQS queue, SNS topic or S3 bucket exist? None when it cannot be told (no access, another region,
    another kind of destination): only a sure "no" is a finding."""
    from esmctl.aws.errors import AwsError, NotFound

    dest = arns.parse(arn)
    if dest is None or dest.service not in permissions.DESTINATION_ACTIONS or (dest.region
                                                                               and dest.region != aws.region):
        return None
    try:
        if dest.service == "sqs":
            aws.client("sqs").get_queue_url(QueueName=dest.resource, QueueOwnerAWSAccountId=dest.account)
        elif dest.service == "sns":
            aws.client("sns").get_topic_attributes(TopicArn=arn)
        else:
            aws.client("s3").head_bucket(Bucket=dest.resource)
        return True
    except NotFound:
        return False
    except AwsError as exc:
        if exc.code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NoSuchBucket", "404"):
            return False
        return None


def diagnose(aws: Any, mappings: list[dict[str, Any]]) -> list[Finding]:
    """Read what the checks need (shared across mappings) and run every check on every mapping."""
    from esmctl.aws.errors import AwsError

    findings: list[Finding] = []
    functions: dict[str, dict | None] = {}
    for m in mappings:
        arn = m["FunctionArn"]
        if arn not in functions:
            functions[arn] = aws.get_function(arn)
    # Reserved concurrency is the function's: GetFunction of a version or alias gives "only details that are
    # specific to that version", so the unqualified function's is read (once, where no mapping names it).
    reserved_of: dict[str, int | None] = {}
    for arn in list(functions):
        function = _unqualified(arn)
        if function not in reserved_of:
            if function not in functions:
                functions[function] = aws.get_function(function)
            fn = functions[function]
            reserved_of[function] = ((fn or {}).get("Concurrency") or {}).get("ReservedConcurrentExecutions")
    try:
        unreserved = aws.account_settings().get("AccountLimit", {}).get("UnreservedConcurrentExecutions")
    except AwsError:
        unreserved = None
    shards: dict[str, int | None] = {}
    for m in mappings:
        src = m.get("EventSourceArn", "")
        if identity.source_type(m) in kinds.STREAM_TYPES and src not in shards:
            try:
                shards[src] = aws.shard_count(src)
            except AwsError:
                shards[src] = None
    # Reserved concurrency is the function's, shared by all its aliases and versions: sum over them.
    needed: dict[str, int] = {}
    total_shards: dict[str, int] = {}
    for m in mappings:
        if identity.source_type(m) in kinds.STREAM_TYPES and shards.get(m.get("EventSourceArn", "")) \
                and m.get("State") not in ("Disabled", "Disabling"):
            fn = _unqualified(m["FunctionArn"])
            count = shards[m["EventSourceArn"]]
            total_shards[fn] = total_shards.get(fn, 0) + count
            needed[fn] = needed.get(fn, 0) + count * (m.get("ParallelizationFactor") or 1)

    role_docs: dict[str, list | None] = {}
    simulation_works = [True]
    decisions: dict[tuple[str, str, str], bool | None] = {}

    def decide(role: str, action: str, resource: str) -> bool | None:
        key = (role, action, resource)
        if key in decisions:
            return decisions[key]
        verdict = None
        if simulation_works[0]:
            try:
                verdict = aws.simulate(role, [action], [resource]).get(action)
            except AwsError:
                simulation_works[0] = False  # not allowed or not offered: read the policies instead
        if verdict is None:
            if role not in role_docs:
                try:
                    role_docs[role] = aws.role_policy_documents(role)
                except AwsError:
                    role_docs[role] = None
            docs = role_docs[role]
            verdict = None if docs is None else permissions.allowed_by_documents(docs, action, resource)
        decisions[key] = verdict
        return verdict

    visibility: dict[str, int | None] = {}
    counts = _event_counts(aws, mappings)
    destinations: dict[str, bool | None] = {}  # one read per destination, however many mappings name it
    findings += check_qualifiers(mappings)
    for m in mappings:
        fn = functions.get(m["FunctionArn"]) or {}
        config = fn.get("Configuration", {})
        reserved = reserved_of.get(_unqualified(m["FunctionArn"]))
        findings += check_region(m)
        findings += check_stalls(m)
        findings += check_filters(m)
        if m.get("UUID") in counts:
            findings += check_filtered_out(m, *counts[m["UUID"]])
        kind = identity.source_type(m)
        if kind in kinds.STREAM_TYPES and m.get("State") not in ("Disabled", "Disabling"):
            fn = _unqualified(m["FunctionArn"])
            findings += check_concurrency(m, total_shards.get(fn, 0), needed.get(fn, 0), reserved, unreserved)
        if kind == kinds.SQS:
            src = m["EventSourceArn"]
            if src not in visibility:
                try:
                    visibility[src] = aws.queue_visibility_timeout(src)
                except AwsError:
                    visibility[src] = None
            findings += check_visibility(m, visibility[src], config.get("Timeout"))
        findings += check_permissions(m, config.get("Role"), decide)
        dest = ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        if dest and dest not in destinations:
            destinations[dest] = destination_exists(aws, dest)
        findings += check_destination(m, destinations.get(dest) if dest else None)
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    findings.sort(key=lambda f: order[f.severity])
    return findings


def _unqualified(function_arn: str) -> str:
    return identity.function_ref(function_arn, "", "").arn
