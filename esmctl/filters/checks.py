"""What is wrong with a mapping's filters before Lambda sees them: the rules' syntax (rules.check), and
what the source makes of them — keys its records do not have, values of a type its records never carry,
more filters than the default quota, filters where Lambda takes none (DocumentDB)."""

from __future__ import annotations

import difflib
import json
from typing import Any

from esmctl.filters import envelopes, matching, rules
from esmctl.filters.envelopes import PAYLOAD_KEYS, Envelope
from esmctl.filters.rules import Problem
from esmctl.kinds import DYNAMODB, KIND_NAMES

DEFAULT_QUOTA = 5  # filters per mapping by default (the Lambda guide); 10 with a quota increase
MAX_FILTERS = 10


def pattern_problems(pattern: Any, kind: str) -> list[Problem]:
    """The problems of one parsed pattern for a kind of source ("" or unknown: the syntax only)."""
    out = rules.check(pattern)
    env = envelopes.ENVELOPES.get(kind)
    if env is None or any(p.error for p in out) or not isinstance(pattern, dict):
        return out
    for key, value in pattern.items():
        if key == "$or":
            for i, alternative in enumerate(value):
                out += [Problem(("$or", i) + p.path, p.message, p.error) for p in pattern_problems(alternative, kind)
                        if p.path and not p.error]
            continue
        if key not in env.keys:
            out.append(Problem((key,), _unknown_key(env, key), error=False))
            continue
        if key == env.payload and isinstance(value, list) and not env.plain_patterns:
            out.append(Problem((key,), f"{env.name} filters need {key} as a JSON object (the payload's keys): "
                                       f"Lambda refuses a plain-string pattern for {key}"))
            continue
        out += _type_problems(value, env.keys[key], (key,), env)
    return out


def _unknown_key(env: Envelope, key: str) -> str:
    other = PAYLOAD_KEYS.get(key)
    if other is not None and key != env.payload:
        return (f"{env.name} records have no `{key}` (the payload key of {other}): the {env.name} payload is "
                f"`{env.payload}`; a pattern on `{key}` never matches")
    hint = difflib.get_close_matches(key, list(env.keys), n=1)
    also = f"; did you mean `{hint[0]}`?" if hint else ""
    return (f"{env.name} records have no key `{key}`{also} (the payload is `{env.payload}`; the other keys: "
            f"{env.describe_keys()}); a pattern on it never matches")


def _type_problems(value: Any, kind: Any, path: tuple, env: Envelope) -> list[Problem]:
    """Rules whose values the records never carry: `kind` is the JSON type at this key ("any", "string",
    "number", "bool", a tuple of the strings allowed, or a dict of the keys below)."""
    if kind == "any":
        return []
    if isinstance(value, dict):
        if not isinstance(kind, dict):
            return [Problem(path, f"{rules.label(path)} is a {kind} in {env.name} records, not an object: the "
                                  "keys below it never match", error=False)]
        out = []
        for key, sub in value.items():
            if key == "$or":
                for i, alternative in enumerate(sub):
                    out += _type_problems(alternative, kind, path + ("$or", i), env)
                continue
            below = kind.get(key, kind.get("*"))
            if below is None:
                choices = [k for k in kind if k != "*"]
                hint = difflib.get_close_matches(key, choices, n=1)
                out.append(Problem(path + (key,), f"{env.name} records have no `{rules.label(path + (key,))}`"
                                   + (f"; did you mean `{hint[0]}`?" if hint else f" (there: {', '.join(choices)})"),
                                   error=False))
                continue
            out += _type_problems(sub, below, path + (key,), env)
        return out
    if not isinstance(value, list):
        return []
    out = []
    for i, rule in enumerate(value):
        why = _never(rule, kind, env, path)
        if why:
            out.append(Problem(path + (i,), why, error=False))
    return out


def _never(rule: Any, kind: Any, env: Envelope, path: tuple) -> str | None:
    """Why this rule can never match a value of this type, or None."""
    where = rules.label(path)
    ddb_note = " (DynamoDB stream records carry numbers as strings: {\"N\": \"101\"})" if env.kind == DYNAMODB else ""
    if isinstance(kind, dict):
        if isinstance(rule, dict) and rule.get("exists") is False:
            return None
        return (f"{where} is an object in {env.name} records, and rules match only leaf values (the Exists "
                "operator too): name the key below it" + (", e.g. {\"S\": [...]}" if env.kind == DYNAMODB else ""))
    if isinstance(rule, dict):
        (name, arg), = rule.items()
        if name == "numeric" and kind != "number":
            return f"{where} is a {_type_name(kind)} in {env.name} records: a numeric rule never matches it{ddb_note}"
        if name in ("prefix", "suffix", "equals-ignore-case", "wildcard", "cidr") and kind in ("number", "bool"):
            return f"{where} is a {kind} in {env.name} records: {name} matches only strings"
        return None
    if rule is None:
        return None  # absent or null values are the producer's business
    got = "string" if isinstance(rule, str) else "bool" if isinstance(rule, bool) else "number"
    if isinstance(kind, tuple):
        if rule not in kind:
            return f"{where} is one of {', '.join(kind)} in {env.name} records: {json.dumps(rule)} never matches"
        return None
    if got != kind:
        fix = f" (write {json.dumps(str(rules.number_text(rule)) if got == 'number' else rule)})" \
            if kind == "string" and got == "number" else ""
        return (f"{where} is a {kind} in {env.name} records: {json.dumps(rule, default=rules.number_text)} "
                f"({got}) never matches it{fix}{ddb_note if got == 'number' else ''}")
    return None


def _type_name(kind: Any) -> str:
    return "string" if isinstance(kind, tuple) else kind


def problem_field(api: tuple, problem: Problem) -> str:
    """The field a problem of criteria_problems is of, as a spec's problems name theirs:
    `FilterCriteria.Filters[0].Pattern.data.type`."""
    return rules.label(("FilterCriteria",) + api[:3]) + (f".{rules.label(problem.path)}" if problem.path else "")


def criteria_problems(filter_criteria: Any, kind: str) -> list[tuple[tuple, Problem]]:
    """The problems of a mapping's FilterCriteria for its kind of source, each with its path in the API's
    terms (("Filters", 0, "Pattern") + the path in the pattern). Patterns that are not JSON are left to
    the spec's checks, which say so already."""
    if not isinstance(filter_criteria, dict) or not isinstance(filter_criteria.get("Filters"), list):
        return []
    filters = filter_criteria["Filters"]
    if kind in envelopes.UNFILTERABLE and filters:
        return [((), Problem((), f"Lambda doesn't support event filtering for {KIND_NAMES[kind]}: remove "
                                 "FilterCriteria"))]
    out: list[tuple[tuple, Problem]] = []
    if len(filters) > MAX_FILTERS:
        out.append((("Filters",), Problem((), f"has {len(filters)} filters; Lambda allows at most {MAX_FILTERS} "
                                              "(with a quota increase)")))
    elif len(filters) > DEFAULT_QUOTA:
        out.append((("Filters",), Problem((), f"has {len(filters)} filters: more than the default quota of "
                                              f"{DEFAULT_QUOTA} per mapping (10 needs a quota increase, else Lambda "
                                              "refuses the mapping)", error=False)))
    for i, f in enumerate(filters):
        pattern = f.get("Pattern") if isinstance(f, dict) else None
        if pattern is None:
            continue
        try:
            data = rules.parse_pattern(pattern)
        except ValueError:
            continue
        out += [(("Filters", i, "Pattern"), p) for p in pattern_problems(data, kind)]
    return out


def never_matches(pattern: Any, kind: str) -> str | None:
    """Why no record of this kind of source can ever match this pattern, or None (doctor's question): a key
    its records lack (unless the rule is `exists: false`), or a key whose every rule wants a type its
    records never carry there. Alternatives of `$or` are left alone: one that never matches spoils nothing."""
    if not isinstance(pattern, dict) or kind not in envelopes.ENVELOPES:
        return None
    problems = [p for p in pattern_problems(pattern, kind) if "$or" not in p.path]
    if any(p.error for p in problems):
        return None
    flagged: dict[tuple, list[Problem]] = {}
    for p in problems:
        if p.path and isinstance(p.path[-1], int):
            flagged.setdefault(p.path[:-1], []).append(p)
        elif _absent_fails(pattern, p.path):
            return p.message
    for path, found in flagged.items():
        rules_ = _at(pattern, path)
        if isinstance(rules_, list) and len(found) == len(rules_):
            return found[0].message
    return None


def _at(pattern: Any, path: tuple) -> Any:
    for part in path:
        pattern = pattern[part] if isinstance(pattern, (dict, list)) else None
    return pattern


def _absent_fails(pattern: dict, path: tuple) -> bool:
    """Whether the part of the pattern at `path` fails on a record where that key is missing."""
    sub = _at(pattern, path)
    if not path or sub is None:
        return False
    return matching.compile_pattern({path[-1]: sub})({}) is not None
