"""Parameter checks against botocore's own Lambda service model (the rules it lacks: rules.py).

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

from esmctl import arns, rules, servicemodel
from esmctl.servicemodel import input_shape

FieldProblem = tuple[str, str]  # (field path, message): placed in a file by the caller (errors.Problem)
Path = tuple[Any, ...]


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    if not close:
        close = [c for c in choices if c.lower() == name.lower()]
    return f" (did you mean {close[0]}?)" if close else ""


def check_shape(value: Any, shape: Any, path: str, facts: rules.Facts) -> list[FieldProblem]:
    """Every way `value` breaks `shape`: type, required members, unknown keys, ranges, enums (the ARNs and the
    time in it as `facts` read them)."""
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
                problems.extend(check_shape(sub, shape.members[key], _join(path, key), facts))
    elif t == "list":
        if not isinstance(value, list):
            return [(path, f"must be a list, not {_kind(value)}")]
        problems.extend(_range(len(value), meta, path, "items"))
        for i, item in enumerate(value):
            problems.extend(check_shape(item, shape.member, f"{path}[{i}]", facts))
    elif t == "map":
        if not isinstance(value, dict):
            return [(path, f"must be a mapping, not {_kind(value)}")]
        for k, v in value.items():
            problems.extend(check_shape(k, shape.key, f"{path}.{k}", facts))
            problems.extend(check_shape(v, shape.value, f"{path}.{k}", facts))
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
        arn = facts.arns.get(value)
        empty = _empty_arn_part(arn) if arn is not None else ""
        if empty:
            return problems + [(path, f"has an empty {empty}: {value!r} (a placeholder set to nothing?)")]
        pattern = _pattern(meta.get("pattern"))
        if value and pattern is not None and not pattern.fullmatch(value):
            problems.append((path, _pattern_words(shape, arn) + f": {value!r}"))
    elif t == "timestamp" and facts.unreadable_time:
        return [(path, facts.unreadable_time)]
    return problems


# Services whose ARNs have no region, or no account either (S3 buckets, an on-failure destination).
_ARN_WITHOUT_REGION = frozenset({"s3", "iam", "cloudfront", "route53"})
_ARN_WITHOUT_ACCOUNT = frozenset({"s3"})


def _empty_arn_part(arn: arns.Arn) -> str:
    """The part of an ARN left empty (the region, the account...), where its service needs it; else ""."""
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
    "TagKey": "can hold letters, digits, spaces and _ . : / = + - @ only",
    "TagValue": "can hold letters, digits, spaces and _ . : / = + - @ only",
}


def _pattern_words(shape: Any, arn: arns.Arn | None) -> str:
    """Why a value (`arn`: the ARN it is, if one) does not match its shape's pattern, in words: botocore's ARN
    patterns run to 170 characters."""
    if arn is not None and arn.account and not re.fullmatch(r"\d{12}", arn.account):
        return f"its account ID {arn.account!r} is not 12 digits"
    pattern = shape.metadata["pattern"]
    return _PATTERN_WORDS.get(shape.name, f"does not match {pattern}" if len(pattern) <= 40
                              else f"is not a valid {shape.name}")


@cache
def _pattern(text: str | None):
    """botocore's patterns are Java regexes. Python's `re` has no Unicode categories (`\\p{L}`): a pattern that is
    one character class of them and of plain characters (the tags': `([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)`) is
    matched by category; any other Python cannot compile is skipped."""
    if not text:
        return None
    try:
        return re.compile(text)
    except re.error:
        return _CategoryClass.of(text)


def tag_value_refused(value: str) -> list[str]:
    """The characters of `value` botocore's TagValue pattern does not allow, each once, sorted."""
    allowed = _pattern(servicemodel.service_model().shape_for("TagValue").metadata.get("pattern"))
    return sorted({c for c in value if allowed is not None and not allowed.fullmatch(c)})


class _CategoryClass:
    """`([\\p{X}…chars]*)`: a string of characters each in one of the Unicode categories or among the chars."""

    _WHOLE = re.compile(r"\^?\(?\[((?:\\p\{[A-Z][a-z]?\}|\\.|[^\]\\])+)\]\*\)?\$?")
    _PART = re.compile(r"\\p\{([A-Z][a-z]?)\}|\\(.)|(.)")

    def __init__(self, categories: tuple[str, ...], chars: frozenset[str]) -> None:
        self.categories, self.chars = categories, chars

    @classmethod
    def of(cls, pattern: str) -> _CategoryClass | None:
        whole = cls._WHOLE.fullmatch(pattern)
        if whole is None:
            return None
        categories, chars = [], set()
        for category, escaped, char in cls._PART.findall(whole.group(1)):
            if category:
                categories.append(category)
            else:
                chars.add(escaped or char)
        return cls(tuple(categories), frozenset(chars)) if categories else None

    def fullmatch(self, value: str) -> bool:
        import unicodedata

        return all(c in self.chars or unicodedata.category(c).startswith(self.categories) for c in value)


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
    facts = rules.facts_of(params)
    problems = check_shape(params, input_shape(operation), "", facts)
    if operation == "CreateEventSourceMapping":
        problems.extend(rules.cross_field_problems(params, facts))
    elif operation == "UpdateEventSourceMapping":
        for i, item in rules.access_items(params.get("SourceAccessConfigurations")):
            name = item.get("Type")
            rule = servicemodel.access_types().get(name) if isinstance(name, str) else None
            if rule is not None and rule.create_only:
                problems.append((f"SourceAccessConfigurations[{i}].Type", f"{name} cannot be given in an update "
                                 "(botocore's model): it is set when the mapping is created"))
    return problems


def consumer_name_problems(name: Any, path: str, facts: rules.Facts) -> list[FieldProblem]:
    """A Kinesis consumer name as RegisterStreamConsumer takes it (botocore's Kinesis model: length, pattern)."""
    return check_shape(name, servicemodel.kinesis_member("RegisterStreamConsumer", "ConsumerName"), path, facts)


def int_bounds(member: str, operation: str = "CreateEventSourceMapping") -> tuple[int | None, int | None]:
    shape = input_shape(operation).members[member]
    return shape.metadata.get("min"), shape.metadata.get("max")


# A problem found in a document, before it is placed: (path in the document, at its key?, field, message).
DocumentProblem = tuple[Path, bool, str, str]


def top_level_problems(data: Any, allowed: tuple[str, ...], what: str, body: str) -> list[DocumentProblem]:
    """The problems of a document's top level (a `what` of `body`): not a mapping, keys not in `allowed`, a
    version other than 1."""
    if not isinstance(data, dict):
        return [((), False, what, f"expected a mapping with version and {body}")]
    problems = [((key,), True, str(key), "unknown top-level key" + did_you_mean(str(key), list(allowed)))
                for key in data if key not in allowed]
    if "version" not in data:
        problems.append(((), False, "version", "is required: write version: 1 at the top"))
    elif data["version"] != 1 or isinstance(data["version"], bool):
        problems.append((("version",), False, "version", f"must be 1, not {json.dumps(data['version'], default=str)}"))
    return problems


def unknown_keys(keys: Any, allowed: list[str], base: Path, what: str) -> list[DocumentProblem]:
    """Keys of a mapping of parameters that are no parameter (`what`: "parameter")."""
    return [(base + (key,), True, str(key), f"unknown {what}" + did_you_mean(str(key), allowed))
            for key in keys if key not in allowed]


def path_of(dotted: str) -> Path:
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
