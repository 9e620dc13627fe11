"""A checked filter pattern compiled to a matcher.

A compiled pattern is a function of one record (a dict) that returns None when the record matches, else
a `Miss`: the first key of the pattern, in the pattern's order, that did not match, and the record's
value there. Only dropped records pay for saying why: `compile_fast` answers kept-or-not for every record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from esmctl.filters.rules import COMPARISONS, MISSING, JsonFloat, Path, is_number, label, literal_key, number_text


class Miss:
    """Why a record did not match: the pattern's key (a path, and its label) and the record's value there."""

    __slots__ = ("path", "value", "label")

    def __init__(self, path: Path, value: Any, label_: str = "") -> None:
        self.path, self.value, self.label = path, value, label_ or label(path)

    def describe(self) -> str:
        value = self.value
        if value is MISSING:
            return f"{self.label} is missing"
        if type(value) is dict:
            return f"{self.label} is an object"
        text = _shown(value)
        return f"{self.label} is {text if len(text) <= 40 else text[:37] + '...'}"


def _shown(value: Any) -> str:
    """A record's value as JSON, its numbers as the record wrote them (JSON's encoder writes a float's repr: 1e-07
    for 1E-7, which Lambda, comparing numbers by their text, does not take for it)."""
    if type(value) is str:
        return _quote(value)
    if isinstance(value, JsonFloat):
        return value.text
    if isinstance(value, list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    return _ENCODER.encode(value)


_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]
_ENCODER = json.JSONEncoder(default=number_text)


Matcher = Callable[[Any], "Miss | None"]


def compile_pattern(pattern: dict, skip: str | None = None) -> Matcher:
    """The matcher of a checked pattern; `skip`: a top-level key left out (the payload, when Lambda
    filters a record on its metadata only)."""
    return _compile_object({k: v for k, v in pattern.items() if k != skip}, ())


def _compile_object(obj: dict, path: Path) -> Matcher:
    checks: list[Matcher] = []
    for key, value in obj.items():
        if key == "$or":
            checks.append(_compile_or([_compile_object(alt, path) for alt in value]))
        elif isinstance(value, dict):
            checks.append(_compile_nested(key, _compile_object(value, path + (key,)), path + (key,)))
        else:
            checks.append(_compile_key(key, value, path + (key,)))
    if len(checks) == 1:
        return checks[0]

    def match(record: Any) -> Miss | None:
        for check_one in checks:
            miss = check_one(record)
            if miss is not None:
                return miss
        return None

    return match


def _compile_or(alternatives: list[Matcher]) -> Matcher:
    def match(record: Any) -> Miss | None:
        first = None
        for alternative in alternatives:
            miss = alternative(record)
            if miss is None:
                return None
            first = first or miss
        return first

    return match


def _compile_nested(key: str, inner: Matcher, path: Path) -> Matcher:
    where = label(path)

    def match(record: Any) -> Miss | None:
        value = record.get(key, MISSING) if type(record) is dict else MISSING
        if value is MISSING:  # say the highest key that is missing, unless `exists: false` below is content
            return None if inner(MISSING) is None else Miss(path, MISSING, where)
        if type(value) is not list:
            return inner(value)
        # an array in the record: the key matches when one of its elements matches all that is below it
        first = None
        for element in _flat(value):
            miss = inner(element)
            if miss is None:
                return None
            first = first or miss
        return first if first is not None else inner(MISSING)

    return match


def _flat(values: list) -> list:
    for v in values:
        if type(v) is list:
            break
    else:
        return values
    out = []
    for v in values:
        if type(v) is list:
            out.extend(_flat(v))
        else:
            out.append(v)
    return out


def _compile_key(key: str, rules: list, path: Path) -> Matcher:
    literals = set()
    tests: list[Callable[[Any], bool]] = []
    absent_ok = False
    for rule in rules:
        if not isinstance(rule, dict):
            literals.add(literal_key(rule))
            continue
        (name, arg), = rule.items()
        if name == "exists":
            if arg:
                tests.append(lambda v: True)
            else:
                absent_ok = True
        else:
            tests.append(_compile_operator(name, arg))
    leaf = _leaf_matcher(literals, tests)
    where = label(path)

    def match(record: Any) -> Miss | None:
        value = record.get(key, MISSING) if type(record) is dict else MISSING
        kind = type(value)
        if kind is list:
            leaves = [v for v in _flat(value) if type(v) is not dict]
            if leaves:
                for v in leaves:
                    if leaf(v):
                        return None
            elif absent_ok:
                return None
        elif value is MISSING or kind is dict:  # the Exists operator only sees leaves (the Lambda guide)
            if absent_ok:
                return None
        elif leaf(value):
            return None
        return Miss(path, value, where)

    return match


def _leaf_matcher(literals: set, tests: list[Callable[[Any], bool]]) -> Callable[[Any], bool]:
    if not tests:
        def leaf(value: Any) -> bool:
            return (value if type(value) is str else literal_key(value)) in literals
    elif not literals and len(tests) == 1:
        leaf = tests[0]
    else:
        def leaf(value: Any) -> bool:
            if literals and (value if type(value) is str else literal_key(value)) in literals:
                return True
            for test in tests:
                if test(value):
                    return True
            return False

    return leaf


_NUMBERS = frozenset({int, float, JsonFloat})


def _compile_operator(name: str, arg: Any) -> Callable[[Any], bool]:
    if name in ("prefix", "suffix"):
        folded = isinstance(arg, dict)
        text = arg["equals-ignore-case"].lower() if folded else arg
        if name == "prefix":
            return (lambda v: type(v) is str and v.lower().startswith(text)) if folded else \
                (lambda v: type(v) is str and v.startswith(text))
        return (lambda v: type(v) is str and v.lower().endswith(text)) if folded else \
            (lambda v: type(v) is str and v.endswith(text))
    if name == "equals-ignore-case":
        lowered = arg.lower()
        return lambda v: type(v) is str and v.lower() == lowered
    if name == "numeric":
        bounds = [(COMPARISONS[arg[i]], arg[i + 1]) for i in range(0, len(arg), 2)]
        if len(bounds) == 1:
            (op, bound), = bounds
            return lambda v: type(v) in _NUMBERS and op(v, bound)
        (op1, bound1), (op2, bound2) = bounds
        return lambda v: type(v) in _NUMBERS and op1(v, bound1) and op2(v, bound2)
    if name == "anything-but":
        return _anything_but(arg)
    if name == "wildcard":
        regex = re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", arg)),
                           re.DOTALL)
        return lambda v: type(v) is str and regex.fullmatch(v) is not None
    if name == "cidr":
        import ipaddress

        network = ipaddress.ip_network(arg, strict=False)

        def in_network(v: Any) -> bool:
            try:
                return type(v) is str and ipaddress.ip_address(v) in network
            except ValueError:
                return False

        return in_network
    raise ValueError(f"unknown operator {name!r}")


def _anything_but(arg: Any) -> Callable[[Any], bool]:
    if isinstance(arg, dict):
        (name, value), = arg.items()
        if name == "prefix":
            return lambda v: type(v) is str and not v.startswith(value)
        if name == "suffix":
            return lambda v: type(v) is str and not v.endswith(value)
        lowered = {value.lower()} if isinstance(value, str) else {x.lower() for x in value}
        return lambda v: type(v) is str and v.lower() not in lowered
    values = arg if isinstance(arg, list) else [arg]
    strings = {v for v in values if isinstance(v, str)}
    numbers = {float(v) for v in values if is_number(v)}
    return lambda v: (v not in strings) if type(v) is str else \
        (float(v) not in numbers if is_number(v) else True)


# ------------------------------------------------------------------------------- the fast path: bool only

def compile_fast(pattern: dict, skip: str | None = None) -> Callable[[dict], bool]:
    """Whether a record matches, as compile_pattern's matcher says, only faster: one generated function per
    pattern, whose common cases (a string among strings, a prefix, a number in a range) are inline Python
    and whose other cases call compile_pattern's matchers. Used for every record; the matchers that say why
    run only for the records no filter keeps."""
    names: dict[str, Any] = {"M": MISSING, "NUMS": _NUMBERS}
    counter = iter(range(1 << 30))

    def const(value: Any) -> str:
        name = f"c{next(counter)}"
        names[name] = value
        return name

    def obj(pattern: dict, x: str, path: Path) -> str:
        terms = []
        for key, value in pattern.items():
            if key == skip and not path:
                continue
            if key == "$or":
                terms.append("(" + " or ".join(obj(alt, x, path) for alt in value) + ")")
                continue
            v = f"v{next(counter)}"
            k = const(key)
            if isinstance(value, dict):
                inner = _compile_object(value, path + (key,))
                slow = const(_compile_nested(key, inner, path + (key,)))
                absent = inner(MISSING) is None  # only `exists: false` below: a missing object is content
                terms.append(f"((type({v} := {x}.get({k}, M)) is dict and {obj(value, v, path + (key,))}) or "
                             f"({v} is M and {absent}) or (type({v}) is not dict and {v} is not M and "
                             f"{slow}({x}) is None))")
            else:
                slow = f"{const(_compile_key(key, value, path + (key,)))}({x}) is None"
                on_str, on_num = (_exact(value, v, const, kind).replace("SLOW", slow) for kind in (str, float))
                t = f"t{next(counter)}"
                absent = any(isinstance(r, dict) and r.get("exists") is False for r in value)
                terms.append(f"(({on_str}) if ({t} := type({v} := {x}.get({k}, M))) is str else "
                             f"(({on_num}) if {t} in NUMS else ({absent} if ({v} is M or {t} is dict) else {slow})))")
        return "(" + " and ".join(terms) + ")" if terms else "True"

    source = f"def fast(r):\n    return {obj(pattern, 'r', ())}\n"
    exec(compile(source, "<filter pattern>", "exec"), names)  # noqa: S102 - code made above from checked rules
    return names["fast"]


def _exact(rules_: list, v: str, const: Callable[[Any], str], kind: type) -> str:
    """An expression as exact as the matcher for a value `v` of this kind (a string, or a number), or the
    matcher's call when a rule is not written out here."""
    out = []
    ops = {"<": "<", "<=": "<=", "=": "==", ">": ">", ">=": ">="}
    strings = {r for r in rules_ if isinstance(r, str)}
    if strings and kind is str:
        out.append(f"{v} in {const(frozenset(strings))}")
    for rule in rules_:
        if not isinstance(rule, dict):
            if kind is float and is_number(rule):
                return "SLOW"  # numbers compare by their text: the matcher's business
            continue
        (name, arg), = rule.items()
        if name == "exists":
            out.append("True" if arg else "False")
        elif name == "numeric":
            if kind is float:
                out.append(" and ".join(f"{v} {ops[arg[i]]} {const(arg[i + 1])}" for i in range(0, len(arg), 2)))
        elif name == "anything-but":
            values = arg if isinstance(arg, list) else [arg] if not isinstance(arg, dict) else None
            if values is None:
                if kind is str:
                    return "SLOW"
            elif kind is str:
                out.append(f"{v} not in {const(frozenset(a for a in values if isinstance(a, str)))}")
            else:
                out.append(f"float({v}) not in {const(frozenset(float(a) for a in values if is_number(a)))}")
        elif kind is float:
            continue  # prefix, suffix, equals-ignore-case, wildcard, cidr: strings only
        elif name in ("prefix", "suffix") and isinstance(arg, str):
            out.append(f"{v}.{'startswith' if name == 'prefix' else 'endswith'}({const(arg)})")
        elif name == "equals-ignore-case":
            out.append(f"{v}.lower() == {const(arg.lower())}")
        else:
            return "SLOW"
    return "(" + " or ".join(f"({c})" for c in out) + ")" if out else "False"
