"""Read spec files into desired mappings, reporting every problem with its FILE:LINE:COL and field.

yamldoc reads the YAML (safe semantics only, duplicate keys and recursive aliases refused,
${NAME} placeholders filled); this module checks what the document says: the keys are the
CreateEventSourceMapping parameter names, checked against botocore's model (schema.py) and the
service's rules across fields. Nothing here touches AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from esmctl import arns, collector, kinds, regions, schema, servicemodel, yamldoc
from esmctl.errors import Place, Problem, SpecError, UsageProblem
from esmctl.filters import rules as filter_rules
from esmctl.mapping import identity, values

TOP_LEVEL = ("version", "region", "defaults", "mappings", "targets")  # targets: read by targets.py
RESERVED = ("Consumer", "MovedFrom")  # esmctl's own keys in a mapping
_PATTERNS = ("FilterCriteria", "Filters")

Path = tuple[Any, ...]


@dataclass
class Desired:
    """One mapping the spec asks for, in the API's own parameter names."""

    params: dict[str, Any]
    where: Place  # of the mapping's entry
    consumer: str | None = None
    moved_from: str | None = None  # the function (name, name:alias or ARN) a mapping moves from
    warnings: list[str] = field(default_factory=list)  # FILE:LINE:COL: warning: ... (validate prints them)

    @property
    def function(self) -> str:
        return self.params["FunctionName"]

    @property
    def source(self) -> str:
        return self.params.get("EventSourceArn", "")

    @property
    def kind(self) -> str:
        return identity.source_type(self.params)


@dataclass
class Spec:
    paths: list[str]
    region: str | None  # the spec's `region:`, else the region of its ARNs
    mappings: list[Desired]


def load(path: str, variables: dict[str, str] | None = None, text: str | None = None) -> Spec:
    """Read and check one spec; raise SpecError listing every problem."""
    return load_files([path], variables, texts={path: text} if text is not None else None)


def load_files(paths: list[str] | tuple[str, ...], variables: dict[str, str] | None = None,
               texts: dict[str, str] | None = None, targets: bool = False) -> Spec:
    """Read several spec files (`-` is standard input) as one spec; raise SpecError with every
    problem of every file. `targets`: the run is over the spec's `targets:` (targets.py reads them);
    otherwise a spec with targets is a problem, as they would be left out."""
    problems: list[Problem] = []
    mappings: list[Desired] = []
    regions: dict[str, str] = {}
    with collector.paused():
        for path in paths:
            try:
                text = (texts or {}).get(path)
                # a placeholder without a value is one problem among the file's others, not the end of its checks
                doc = yamldoc.load(path, yamldoc.read_text(path) if text is None else text, variables,
                                   defer_missing=True)
            except yamldoc.YamlError as exc:
                problems.extend(exc.problems)
                continue
            problems.extend(doc.problems)
            if not targets and isinstance(doc.data, dict) and "targets" in doc.data:
                problems.append(Problem(doc.at(('targets',), key=True), "targets", "esmctl runs over a spec's targets "
                                        "when `targets:` starts a line of a YAML file (not standard input); else give "
                                        "them with --targets FILE"))
            region, found = _check(doc, problems)
            mappings.extend(found)
            if region:
                regions[doc.path] = region
    problems += _duplicates(mappings)
    region = _region(paths, regions, mappings, problems)
    if problems:
        raise SpecError(problems)
    return Spec(paths=list(paths), region=region, mappings=mappings)


def _check(doc: yamldoc.Document, problems: list[Problem]) -> tuple[str | None, list[Desired]]:
    """The region and mappings of one document; its problems are added to `problems`."""
    data = doc.data
    problems += schema.top_level_problems(doc, TOP_LEVEL, "spec", "mappings")
    if not isinstance(data, dict):
        return None, []
    region = data.get("region") if not doc.is_unfilled(("region",)) else None
    if region is not None and not isinstance(region, str):
        problems.append(Problem(doc.at(('region',)), "region", "must be a string"))
        region = None
    elif region is not None and regions.problem(region):
        # said here, and not as a mismatch with every ARN
        problems.append(Problem(doc.at(('region',)), "region", regions.problem(region)))
        region = None
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        problems.append(Problem(doc.at(('defaults',)), "defaults", "must be a mapping of parameters"))
        defaults = {}
    entries = data.get("mappings")
    if not isinstance(entries, list):
        where = doc.at(("mappings",)) if "mappings" in data else doc.at(())
        problems.append(Problem(where, "mappings", "is required" if entries is None else "must be a list"))
        entries = []

    allowed = servicemodel.member_names() + list(RESERVED)
    for key in defaults:
        if key not in allowed:
            problems.append(Problem(doc.at(('defaults', key), key=True), f"defaults.{key}",
                                    "unknown parameter" + schema.did_you_mean(str(key), allowed)))
        elif key in ("FunctionName", "EventSourceArn", "MovedFrom"):
            problems.append(Problem(doc.at(('defaults', key), key=True), f"defaults.{key}", "set it on each mapping"))
    problems += _surprises(doc, ("defaults",))

    desired = []
    for i, entry in enumerate(entries):
        found = _mapping(doc, ("mappings", i), entry, defaults, allowed, region, problems)
        if found is not None:
            desired.append(found)
    return region, desired


def _mapping(doc: yamldoc.Document, base: Path, entry: Any, defaults: dict, allowed: list[str],
             region: str | None, problems: list[Problem]) -> Desired | None:
    if not isinstance(entry, dict):
        problems.append(Problem(doc.at(base), yamldoc.label(base), "must be a mapping of parameters"))
        return None
    # A default applies where it is valid for the mapping's kind of source: a stream-only default
    # does not make every SQS mapping wrong.
    kind = identity.source_type(entry) if isinstance(entry.get("EventSourceArn", ""), str) else ""
    applied = {k: v for k, v in defaults.items() if k in allowed and _applies(k, kind)}

    def where(key: str, sub: Path = ()) -> Place:
        if key in entry:
            return doc.at(base + (key,) + sub, key=not sub)
        if key in applied:
            return doc.at(("defaults", key) + sub, key=not sub)
        return doc.at(base)

    def unfilled(api: Path) -> bool:
        """A value (or part of one) whose placeholder has no value: that is its problem, said once."""
        if api[0] in entry:
            return doc.is_unfilled(base + api)
        return api[0] in applied and doc.is_unfilled(("defaults",) + api)

    for key in entry:
        if key not in allowed:
            problems.append(Problem(doc.at(base + (key,), key=True), str(key),
                                    "unknown parameter" + schema.did_you_mean(str(key), allowed)))
    problems += _surprises(doc, base)
    # null unsets a parameter, e.g. one that `defaults` gives every mapping.
    params = {k: v for k, v in {**applied, **entry}.items() if k in allowed and v is not None}
    consumer = params.pop("Consumer", None)
    moved_from = params.pop("MovedFrom", None)
    params = _to_api(params)
    if isinstance(params.get("FunctionName"), str):
        params["FunctionName"] = identity.without_latest(params["FunctionName"])
    for dotted, message in schema.check_shape(params, servicemodel.input_shape(), ""):
        api = _api_path(dotted)
        if not unfilled(api):
            problems.append(Problem(where(str(api[0]), api[1:]), dotted, message))
    # A value of the wrong type is said above, once: the rules below read only values of the types they expect.
    params, mistyped = _well_typed(params)
    if consumer is not None:
        if not isinstance(consumer, str) or not consumer:
            problems.append(Problem(where("Consumer"), "Consumer", "must be a consumer name"))
            consumer = None
        elif (identity.source_type(params) != kinds.KINESIS
              or arns.is_consumer(params.get("EventSourceArn"))):
            problems.append(Problem(where("Consumer"), "Consumer", "needs a Kinesis stream ARN as EventSourceArn"))
        elif not unfilled(("Consumer",)):
            problems += [Problem(where("Consumer"), dotted, message)
                         for dotted, message in schema.consumer_name_problems(consumer)]
    if moved_from is not None:
        function = params.get("FunctionName")
        if not isinstance(moved_from, str) or not moved_from.strip():
            problems.append(Problem(where("MovedFrom"), "MovedFrom",
                                    "must name the function the mapping moves from (name, name:alias or ARN)"))
            moved_from = None
        elif isinstance(function, str) and _same_function(moved_from, function):
            problems.append(Problem(where("MovedFrom"), "MovedFrom", "names the mapping's own FunctionName"))
            moved_from = None
    # Without a source of the right type the kind of source is unknown, and so are the rules that depend on it.
    source_unknown = bool(mistyped & {"EventSourceArn", "SelfManagedEventSource"})
    for dotted, message in [] if source_unknown else schema.cross_field_problems(params):
        api = _api_path(dotted)
        if api[0] not in mistyped and not unfilled(api):
            problems.append(Problem(where(str(api[0]), api[1:]), dotted, message))
    for key in ("EventSourceArn", "FunctionName"):
        arn = arns.parse(params.get(key))
        if arn and arn.region and regions.problem(arn.region) and not unfilled((key,)):
            problems.append(Problem(where(key), key, regions.problem(arn.region)))
    warnings: list[str] = []
    for api, problem in _filter_problems(params):
        if not unfilled(api[:4]):
            name = yamldoc.label(api[:4]) + (f".{filter_rules.label(api[4:])}" if len(api) > 4 else "")
            if problem.error:
                problems.append(Problem(where(str(api[0]), api[1:]), name, problem.message))
            else:
                warnings.append(f"{where(str(api[0]), api[1:])}: warning: {name}: {problem.message}")
    source = params.get("EventSourceArn")
    source_arn = arns.parse(source)
    source_region = source_arn.region if source_arn is not None else ""
    if region and source_region and source_region != region and not regions.problem(source_region) \
            and not unfilled(("EventSourceArn",)):
        problems.append(Problem(where("EventSourceArn"), "EventSourceArn",
                                f"is in {source_region}, but the spec's region is {region}"))
    return Desired(params=params, where=doc.at(base), consumer=consumer, moved_from=moved_from, warnings=warnings)


def _filter_problems(params: dict[str, Any]) -> list[tuple[Path, Any]]:
    """The filters' problems for the mapping's kind of source (esmctl.filters.checks), each with its path
    from FilterCriteria down into the pattern."""
    from esmctl import servicemodel
    from esmctl.filters.checks import criteria_problems

    kind = identity.source_type(params)
    if kind and kind not in servicemodel.kinds_of("FilterCriteria"):
        return []  # a kind that takes no filters at all (DocumentDB): the field's own check says so, once
    return [(("FilterCriteria",) + api + problem.path, problem)
            for api, problem in criteria_problems(params.get("FilterCriteria"), kind)]


def _well_typed(params: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The parameters without values (or parts of them) of the wrong type, and the parameters that had some."""
    members = servicemodel.input_shape().members
    out, mistyped = {}, set()
    for key, value in params.items():
        if key not in members:
            out[key] = value
            continue
        kept, lost = schema.well_typed(value, members[key])
        if lost:
            mistyped.add(key)
        if kept is not None:
            out[key] = kept
    return out, mistyped


def _surprises(doc: yamldoc.Document, base: Path) -> list[Problem]:
    """Filter patterns written as YAML are sent as JSON: a value YAML 1.1 reads otherwise (`NO` is
    false, `0755` is 493, `2024-01-01` a date) would silently change the filter."""
    out = []
    for path, message in doc.yaml11_surprises(base + _PATTERNS):
        if len(path) > len(base) + 3 and path[len(base) + 3] == "Pattern":
            out.append(Problem(doc.at(path), yamldoc.label(path[len(base):]), message))
    return out


def _applies(key: str, kind: str) -> bool:
    return not kind or key in RESERVED or kind in servicemodel.kinds_of(key)


def _region(paths: list[str] | tuple[str, ...], regions: dict[str, str], mappings: list[Desired],
            problems: list[Problem]) -> str | None:
    """The spec's region: its `region:` (the same in every file), else the one its ARNs name."""
    where = Place(", ".join(paths))
    named = set(regions.values())
    if len(named) > 1:
        problems.append(Problem(where, "region", f"the files name different regions ({', '.join(sorted(named))}): "
                                "one run works in one region"))
        return None
    if named:
        return named.pop()
    named_by_arns = (a for m in mappings for a in (m.params.get("EventSourceArn"), m.params.get("FunctionName")))
    named = {arn.region for arn in map(arns.parse, named_by_arns)
             if arn is not None and "${" not in str(arn)} - {""}  # "${": said already
    if len(named) > 1:
        problems.append(Problem(where, "region", f"the spec's ARNs are in several regions ({', '.join(sorted(named))}):"
                                " one run works in one region; split the spec, or set region:"))
        return None
    return named.pop() if named else None


def _duplicates(mappings: list[Desired]) -> list[Problem]:
    """Two entries for one mapping, as far as the spelling tells without AWS (a name and an ARN of one
    function are compared once the account is known)."""
    seen: dict[tuple, Place] = {}
    out = []
    for m in mappings:
        fn = m.params.get("FunctionName")
        if not isinstance(fn, str) or not isinstance(m.params.get("EventSourceArn", ""), str):
            continue
        if m.consumer:
            source, part = identity.consumer_identity(m.source, m.consumer), ""
        else:
            source, part = identity.source_identity(m.params)
        key = (identity.function_spelling_key(fn), source, part)
        if key in seen:
            what = ", topic" if m.kind in kinds.KAFKA_TYPES else ", queue" if m.kind == kinds.MQ else ""
            out.append(Problem(m.where, "mapping", f"the same mapping as at {seen[key]} (same function and "
                                                  f"source{what}): Lambda allows one"))
        else:
            seen[key] = m.where
    return out


def _api_path(dotted: str) -> Path:
    """'FilterCriteria.Filters[0].Pattern' -> ('FilterCriteria', 'Filters', 0, 'Pattern')."""
    out: list[Any] = []
    for part in dotted.split("."):
        m = re.match(r"^([^\[]*)((?:\[\d+\])*)$", part)
        if not m:
            out.append(part)
            continue
        if m.group(1):
            out.append(m.group(1))
        out.extend(int(i) for i in re.findall(r"\[(\d+)\]", m.group(2)))
    return tuple(out)


def _to_api(params: dict[str, Any]) -> dict[str, Any]:
    """Spec conveniences turned into the API's form: filter patterns written as mappings."""
    fc = params.get("FilterCriteria")
    if isinstance(fc, dict) and isinstance(fc.get("Filters"), list):
        filters = []
        for f in fc["Filters"]:
            if isinstance(f, dict) and isinstance(f.get("Pattern"), (dict, list)):
                f = {**f, "Pattern": values.pattern_text(f["Pattern"])}
            filters.append(f)
        params = {**params, "FilterCriteria": {**fc, "Filters": filters}}
    return params


def parse_vars(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:

            raise UsageProblem(f"--var {pair!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _same_function(a: str, b: str) -> bool:
    """Do two spellings name one function (and qualifier)? A name and an ARN of it do, in any account."""
    (name_a, qualifier_a, where_a), (name_b, qualifier_b, where_b) = (identity.function_spelling_key(a),
                                                                      identity.function_spelling_key(b))
    return (name_a, qualifier_a) == (name_b, qualifier_b) and (not where_a or not where_b or where_a == where_b)
