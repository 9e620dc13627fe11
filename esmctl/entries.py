"""The mappings spec files ask for: the files read, and each mapping checked once.

The checks run as passes, in the order in which the facts build on each other, and none goes back to a module an
earlier pass used: the documents' structure (their entries, the defaults that may apply); every ARN in them
parsed, once; each mapping's kind of source and identity; its values (filter patterns as the API's JSON text,
its starting time); the rules of botocore's model and of the service, which read those facts and parse nothing
again; the filters; the regions. A problem is found as a path in its document and placed (FILE:LINE:COL) at
the end; one whose value holds a placeholder without a value is left out (that placeholder is its problem).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from esmctl import arns, errors, kinds, regions, rules, schema, servicemodel, yamldoc
from esmctl.errors import Place, Problem
from esmctl.filters import checks as filter_checks
from esmctl.mapping import defaults as aws_defaults
from esmctl.mapping import identity, values
from esmctl.yamldoc import Document

TOP_LEVEL = ("version", "region", "defaults", "mappings", "targets")  # targets: read by targets.py
RESERVED = ("Consumer", "MovedFrom")  # esmctl's own keys in a mapping
_PATTERNS = ("FilterCriteria", "Filters")

Path = tuple[Any, ...]
_NOT = arns.Arn("", "", "", "", "")  # no ARN: is_consumer is false


@dataclass
class Desired:
    """One mapping the spec asks for, in the API's own parameter names."""

    params: dict[str, Any]
    where: Place  # of the mapping's entry
    consumer: str | None = None
    moved_from: str | None = None  # the function (name, name:alias or ARN) a mapping moves from
    warnings: list[str] = field(default_factory=list)  # FILE:LINE:COL: warning: ... (validate prints them)
    spot: errors.Spot | None = field(default=None, compare=False, repr=False)  # where each of its fields was written
    key: tuple | None = field(default=None, compare=False, repr=False)  # its identity as spelt (function, source…)

    @property
    def function(self) -> str:
        return self.params["FunctionName"]

    @property
    def source(self) -> str:
        return self.params.get("EventSourceArn", "")

    @property
    def kind(self) -> str:
        return identity.source_type(self.params)


class Found(NamedTuple):
    """A problem found in a document, to be placed: the path of the value (of its key, with key=True), the field
    it names, what is wrong; `guarded`: left out when the value holds a placeholder without a value."""

    doc: Document
    path: Path
    key: bool
    field: str
    message: str
    guarded: bool = True
    warning: bool = False
    owner: int = -1  # the entry a warning is of (its index in the passes)
    guard: Path | None = None  # the value whose placeholder leaves it out, when not the one at `path`


@dataclass
class _Entry:
    """One entry of `mappings:` on its way through the passes."""

    doc: Document
    base: Path  # ("mappings", i)
    entry: dict[str, Any]
    defaults: dict[str, Any]  # its document's
    params: dict[str, Any] = field(default_factory=dict)  # in the API's form: what botocore's model checks
    typed: dict[str, Any] = field(default_factory=dict)  # params without values of the wrong type: what rules read
    applied: dict[str, Any] = field(default_factory=dict)  # the defaults it takes
    consumer: Any = None
    moved_from: Any = None
    kind: str = ""
    mistyped: set[str] = field(default_factory=set)
    facts: rules.Facts = rules.NO_FACTS
    key: tuple | None = None  # its identity as far as the spelling tells, for duplicates
    same_function: bool = False  # MovedFrom names its own FunctionName


@dataclass
class Checked:
    problems: list[Problem]
    mappings: list[Desired]
    region: str | None  # the spec's `region:`, else the region of its ARNs
    region_where: Place | None = None  # where the spec says it: its `region:`, else the first ARN in it


def check(paths: list[str], texts: dict[str, str] | None, variables: dict[str, str] | None,
          targets: bool) -> Checked:
    """Read the spec files `paths` (`texts`: some of them given already; `-` is standard input), and check the
    mappings they ask for: every problem of every file (`targets`: the run is over the spec's `targets:`, which
    targets.py reads; else a spec with targets is a problem)."""
    problems: list[Problem] = []
    found: list[Found] = []
    entries: list[_Entry] = []
    documents: list[Document] = []
    tops: list[tuple[Document, dict[str, Any]]] = []  # each document's defaults
    spec_regions: dict[str, str] = {}
    for path in paths:
        read = _read(path, (texts or {}).get(path), variables, targets, documents, tops, problems, found,
                     spec_regions, len(entries))
        entries = entries + read
    allowed = servicemodel.member_names() + list(RESERVED)
    members = servicemodel.input_shape().members

    # Every ARN, read once.
    arn_texts: set[str] = set()
    for e in entries:
        arns.texts_in(e.entry, arn_texts)
        arns.texts_in(e.defaults, arn_texts)
    parsed = {text: arns.parse(text) for text in arn_texts}

    def arn(value: Any) -> arns.Arn | None:
        return parsed.get(value) if isinstance(value, str) else None

    def spot(e: _Entry, api: Path) -> tuple[Path, bool]:
        """Where a parameter (or a part of it) of a mapping was written: its entry, else its defaults."""
        name, sub = api[0], api[1:]
        if name in e.entry:
            return e.base + (name,) + sub, not sub
        if name in e.applied:
            return ("defaults", name) + sub, not sub
        return e.base, False

    # Its values, the entry's and its defaults' apart (which defaults apply is known once its kind is).
    sides: dict[int, values.Given] = {}
    for e in entries:
        for side in (e.entry, e.defaults):
            if id(side) not in sides:
                sides[id(side)] = values.given(side, members)

    # Each mapping's kind of source, the defaults that apply to it, its identity.
    for e in entries:
        source = e.entry.get("EventSourceArn", "")
        kind = identity.kind_of(e.entry, arn(source)) if isinstance(source, str) else ""
        # A default applies where it is valid for the mapping's kind of source: a stream-only default does not
        # make every SQS mapping wrong.
        e.applied = {k: v for k, v in e.defaults.items()
                     if k in allowed and (not kind or k in RESERVED or kind in servicemodel.kinds_of(k))}
        # null unsets a parameter, e.g. one that `defaults` gives every mapping.
        given = {k: sides[id(e.entry if k in e.entry else e.defaults)]
                 for k, v in {**e.applied, **e.entry}.items() if k in allowed and v is not None}
        e.params = {k: side.api[k] for k, side in given.items()}
        e.typed = {k: side.typed[k] for k, side in given.items() if k in side.typed}
        e.mistyped = {k for k, side in given.items() if k in side.mistyped}
        e.consumer, e.moved_from = e.params.pop("Consumer", None), e.params.pop("MovedFrom", None)
        for reserved in RESERVED:  # esmctl's own keys, not the API's
            e.typed.pop(reserved, None)
        function = e.typed.get("FunctionName")
        if isinstance(function, str):
            e.params["FunctionName"] = e.typed["FunctionName"] = function = identity.without_latest(function)
        source = e.typed.get("EventSourceArn")
        e.kind = identity.kind_of(e.typed, arn(source))
        time = given.get("StartingPositionTimestamp", values.Given({}, {}, set()))
        e.facts = rules.Facts(parsed, e.kind, identity.source_problem(arn(source), e.kind) if arn(source) else "",
                              time.unreadable_time, time.future_time)
        if isinstance(e.moved_from, str) and e.moved_from.strip() and isinstance(function, str):
            (name_a, qualifier_a, where_a), (name_b, qualifier_b, where_b) = (
                identity.spelling_key(e.moved_from, arn(e.moved_from.strip())),
                identity.spelling_key(function, arn(function.strip())))
            e.same_function = (name_a, qualifier_a) == (name_b, qualifier_b) and (
                not where_a or not where_b or where_a == where_b)
        if isinstance(function, str):
            if isinstance(e.consumer, str) and e.consumer:
                ident = identity.consumer_key(e.typed.get("EventSourceArn", ""), arn(source), e.consumer), ""
            else:
                ident = identity.source_identity_of(e.typed, e.kind, arn(source))
            e.key = (identity.spelling_key(function, arn(function.strip())), *ident)
    for e in entries:
        if aws_defaults.queue_mode(e.typed):
            e.facts = replace(e.facts, queue_mode=True)

    # The rules: botocore's model, then the service's across fields.
    # A document's top level first: of two problems at one place, it is said first.
    found[:0] = [Found(doc, path, key, name, message, guarded=False) for doc in documents
                 for path, key, name, message in schema.top_level_problems(doc.data, TOP_LEVEL, "spec", "mappings")]
    for doc, defaults in tops:
        found += [Found(doc, path, key, f"defaults.{name}", message, guarded=False)
                  for path, key, name, message in schema.unknown_keys(defaults, allowed, ("defaults",), "parameter")]
    for e in entries:
        found += [Found(e.doc, path, key, name, message, guarded=False)
                  for path, key, name, message in schema.unknown_keys(e.entry, allowed, e.base, "parameter")
                  if tuple(path) not in e.doc.unfilled_keys]  # a key without its value is said missing, once
        found += [Found(e.doc, *spot(e, schema.path_of(dotted)), dotted, message)
                  for dotted, message in schema.check_shape(e.params, servicemodel.input_shape(), "", e.facts)]
        # A value of the wrong type is said above, once: the rules below read only values of the types they expect.
        e.params = e.typed
        if e.consumer is not None:
            if not isinstance(e.consumer, str) or not e.consumer:
                found.append(Found(e.doc, *spot(e, ("Consumer",)), "Consumer", "must be a consumer name", False))
                e.consumer = None
            elif e.kind != kinds.KINESIS or (arn(e.params.get("EventSourceArn")) or _NOT).is_consumer:
                found.append(Found(e.doc, *spot(e, ("Consumer",)), "Consumer",
                                   "needs a Kinesis stream ARN as EventSourceArn", False))
            else:
                found += [Found(e.doc, *spot(e, ("Consumer",)), dotted, message)
                          for dotted, message in schema.consumer_name_problems(e.consumer, "Consumer", e.facts)]
        if e.moved_from is not None:
            if not isinstance(e.moved_from, str) or not e.moved_from.strip():
                found.append(Found(e.doc, *spot(e, ("MovedFrom",)), "MovedFrom",
                                   "must name the function the mapping moves from (name, name:alias or ARN)", False))
                e.moved_from = None
            elif e.same_function:
                found.append(Found(e.doc, *spot(e, ("MovedFrom",)), "MovedFrom",
                                   "names the mapping's own FunctionName", False))
                e.moved_from = None
        # Without a source of the right type the kind of source is unknown, and so are the rules that depend on it.
        if not e.mistyped & {"EventSourceArn", "SelfManagedEventSource"}:
            found += [Found(e.doc, *spot(e, schema.path_of(dotted)), dotted, message)
                      for dotted, message in rules.cross_field_problems(e.params, e.facts)
                      if schema.path_of(dotted)[0] not in e.mistyped]

    # The filters, for the mapping's kind of source (DocumentDB takes none: the field's own rule says so, once).
    for i, e in enumerate(entries):
        if e.kind and e.kind not in servicemodel.kinds_of("FilterCriteria"):
            continue
        for api, problem in filter_checks.criteria_problems(e.params.get("FilterCriteria"), e.kind):
            name = filter_checks.problem_field(api, problem)
            found.append(Found(e.doc, *spot(e, ("FilterCriteria",) + api + problem.path), name, problem.message,
                               warning=not problem.error, owner=i, guard=spot(e, ("FilterCriteria",) + api[:3])[0]))

    # The regions: the spec's `region:`, its ARNs', and that they agree.
    for doc in documents:
        region = spec_regions.get(doc.path)
        if region is not None and (wrong := regions.problem(region)):  # said here, not as a mismatch with each ARN
            found.append(Found(doc, ("region",), False, "region", wrong, False))
            del spec_regions[doc.path]
    for e in entries:
        for key in ("EventSourceArn", "FunctionName"):
            where = arn(e.params.get(key))
            if where and where.region and (wrong := regions.problem(where.region)):
                found.append(Found(e.doc, *spot(e, (key,)), key, wrong))
        # The source's region, else (self-managed Kafka has no source ARN) the function's; a function in another
        # region than its source is the rules' to say.
        key = "EventSourceArn" if arn(e.params.get("EventSourceArn")) is not None else "FunctionName"
        its = arn(e.params.get(key))
        region = spec_regions.get(e.doc.path) or next(iter(spec_regions.values()), None)  # another file's says
        if region and its is not None and its.region and its.region != region and not regions.problem(its.region):
            found.append(Found(e.doc, *spot(e, (key,)), key, f"is in {its.region}, but the spec's region is {region}"))

    # Placed, at the end: FILE:LINE:COL for every problem and every mapping; duplicates; the spec's one region.
    warnings: dict[int, list[str]] = {}
    for f in found:
        guard = f.path if f.guard is None else f.guard
        if f.guarded and f.doc.unfilled and any(guard[:n] in f.doc.unfilled for n in range(1, len(guard) + 1)):
            continue
        where = errors.located(f.doc.path, f.doc.marks, f.doc.key_marks, f.path, f.key)
        if f.warning:
            warnings.setdefault(f.owner, []).append(f"{where}: warning: {f.field}: {f.message}")
        else:
            problems.append(Problem(where, f.field, f.message))
    mappings = [Desired(e.params, errors.located(e.doc.path, e.doc.marks, e.doc.key_marks, e.base),
                        e.consumer, e.moved_from, warnings.get(i, []),
                        errors.Spot(e.doc.path, e.doc.marks, e.doc.key_marks, e.base), e.key)
                for i, e in enumerate(entries)]
    # Two entries for one mapping, as far as the spelling tells without AWS (a name and an ARN of one function are
    # compared once the account is known).
    seen: dict[tuple, Place] = {}
    for e, m in zip(entries, mappings, strict=True):
        if e.key is None:
            continue
        if e.key in seen:
            what = ", topic" if e.kind in kinds.KAFKA_TYPES else ", queue" if e.kind == kinds.MQ else ""
            problems.append(Problem(m.where, "mapping", f"the same mapping as at {seen[e.key]} (same function and "
                                                       f"source{what}): Lambda allows one mapping of each"))
        else:
            seen[e.key] = m.where
    # The spec's region: its `region:` (the same in every file), else the one its ARNs name. One run works in one.
    region = region_where = None
    said = [(doc.at(("region",)), spec_regions[doc.path]) for doc in documents if doc.path in spec_regions]
    if said:
        region_where, region = said[0]
        problems += [Problem(where, "region", f"{other}, but {region_where} says {region}: one run works in one "
                                              "region") for where, other in said[1:] if other != region]
    else:
        named = ((e, key, a.region) for e in entries for key in ("EventSourceArn", "FunctionName")  # never in defaults
                 if (a := arn(e.params.get(key))) is not None and a.region and "${" not in str(a))  # "${": said already
        first = next(named, None)
        if first is not None:
            region, region_where = first[2], first[0].doc.at(first[0].base + (first[1],))
            other = next(((e, key, r) for e, key, r in named if r != region), None)  # placed only if there is one
            if other is not None:
                e, key, elsewhere = other
                problems.append(Problem(e.doc.at(e.base + (key,)), key, f"is in {elsewhere}, but {region_where} is in "
                                        f"{region}: one run works in one region; split the spec, or set region:"))
    # Each file's problems together, the files in the order given (SpecError shows them so).
    files = ["<stdin>" if path == "-" else path for path in paths]
    problems.sort(key=lambda p: files.index(p.where.file) if p.where and p.where.file in files else len(files))
    return Checked(problems, mappings, region, region_where)


_LOOKS_DECIMAL = re.compile(r"[-+]?(0[0-9_]+|[0-9][0-9_]*(:[0-5]?[0-9])+)")  # YAML 1.1 octal and base-60 integers
_NOT_JSON = ("Infinity", "-Infinity", "NaN")  # what json.dumps writes for floats JSON cannot hold


def _value_at(data: Any, path: Path) -> Any:
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _in_numeric_rule(path: Path) -> bool:
    """Whether a path within a pattern is an operand of a `numeric` operator (whose numbers Lambda compares by
    value): `numeric` as the key of an object in a rule list, not a field of the record named so."""
    return any(part == "numeric" and i and isinstance(path[i - 1], int) for i, part in enumerate(path))


def _read(path: str, text: str | None, variables: dict[str, str] | None, targets: bool, documents: list[Document],
          tops: list[tuple[Document, dict[str, Any]]], problems: list[Problem], found: list[Found],
          spec_regions: dict[str, str], first: int = 0) -> list[_Entry]:
    """One file's document and its entries, with the problems of its structure (what is not where a spec has
    it). A placeholder without a value is one problem among the file's others, not the end of its checks."""
    try:
        doc = yamldoc.load(path, yamldoc.read_text(path) if text is None else text, variables, defer_missing=True)
    except yamldoc.YamlError as exc:
        problems.extend(exc.problems)
        return []
    problems.extend(doc.problems)
    documents.append(doc)

    def surprises(base: Path, owner: int = -1) -> list[Found]:
        """Filter patterns written as YAML are sent as JSON: a value YAML 1.1 reads otherwise (`NO` is false,
        `0755` is 493, `2024-01-01` a date) would silently change the filter."""
        prefix, at = base + _PATTERNS, len(base) + 3
        if not doc.surprises and not doc.rewritten:  # most specs: nothing anywhere
            return []
        surprising = doc.yaml11_surprises(base)  # the entry's (or the defaults'), filters' and parameters'
        rewritten = [(where, text, sent) for where, text, sent in doc.rewritten_numbers(prefix)
                     if len(where) > at and where[at] == "Pattern"]
        return [Found(doc, where, False, yamldoc.label(where[len(base):]), message, False)
                for where, message in surprising if len(where) > at and where[:len(prefix)] == prefix
                and where[at] == "Pattern"] + [
            # beyond a double: JSON data would send Infinity, which is not JSON (Lambda refuses the pattern)
            Found(doc, where, False, yamldoc.label(where[len(base):]), f"{text} is beyond the range of a number "
                  f"(a double): it would be sent as {sent}, which is not JSON", False)
            for where, text, sent in rewritten if sent in _NOT_JSON] + [
            Found(doc, where, False, yamldoc.label(where[len(base):]), f"{text} is sent as {sent}, and Lambda compares "
                  f"a filter's numbers by their text: write the pattern as a JSON string to keep {text}", False,
                  warning=True, owner=owner)
            for where, text, sent in rewritten if sent not in _NOT_JSON and not _in_numeric_rule(where[at + 1:])] + [
            # a parameter's number that YAML 1.1 reads otherwise than it looks: 010 is 8, 1:30 is 90 (`--var N=010`
            # alike); 0x10 and 1_000 are what they look
            Found(doc, where, False, yamldoc.label(where[len(base):]), f"{text} is read by YAML 1.1 as {value!r} "
                  f"({'base 60' if ':' in text else 'octal'}): write {value!r}, or the number meant", False,
                  warning=True, owner=owner)
            for where, message in surprising if where[:len(prefix)] != prefix
            and _LOOKS_DECIMAL.fullmatch(text := message.split(" is read ", 1)[0])
            and isinstance(value := _value_at(doc.data, where), int) and not isinstance(value, bool)
            and (":" in text or int(text.replace("_", ""), 10) != value)]  # 07 is 7 either way

    data = doc.data
    if not targets and isinstance(data, dict) and "targets" in data:
        found.append(Found(doc, ("targets",), True, "targets", "esmctl runs over a spec's targets when `targets:` "
                           "starts a line of a YAML file (not standard input); else give them with --targets FILE",
                           False))
    if not isinstance(data, dict):
        return []
    region = data.get("region") if ("region",) not in doc.unfilled else None
    if ("region" in data and region is None and ("region",) not in doc.unfilled) or \
            (region is not None and not isinstance(region, str)):  # `region:` left empty is no region either
        found.append(Found(doc, ("region",), False, "region", "must be a string", False))
    elif region is not None:
        spec_regions[doc.path] = region
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):  # `defaults: []`, `defaults:` left empty: not a mapping (the schema agrees)
        found.append(Found(doc, ("defaults",), False, "defaults", "must be a mapping of parameters", False))
        defaults = {}
    tops.append((doc, defaults))
    listed = data.get("mappings")
    if not isinstance(listed, list):
        found.append(Found(doc, ("mappings",) if "mappings" in data else (), False, "mappings",
                           "is required" if listed is None else "must be a list", False))
        listed = []
    for key in defaults:
        if key in ("FunctionName", "EventSourceArn", "MovedFrom"):
            found.append(Found(doc, ("defaults", key), True, f"defaults.{key}", "set it on each mapping", False))
    found += surprises(("defaults",), first)  # said with the file's first mapping: the defaults are every one's
    out = []
    for i, entry in enumerate(listed):
        base = ("mappings", i)
        if not isinstance(entry, dict):
            found.append(Found(doc, base, False, f"mappings[{i}]", "must be a mapping of parameters", False))
            continue
        found += surprises(base, first + len(out))
        out.append(_Entry(doc, base, entry, defaults))
    return out
