"""Filter rules as Lambda reads them (the EventBridge pattern syntax the Lambda guide lists): parsing a
pattern's JSON as Lambda does, checking its rules, and compiling it to a matcher.

A compiled pattern is a function of one record (a dict) that returns None when the record matches, else
a `Miss`: the first key of the pattern, in the pattern's order, that did not match, and the record's
value there. Only dropped records pay for saying why.
"""

from __future__ import annotations

import difflib
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Path = tuple[Any, ...]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()

OPERATORS = ("anything-but", "numeric", "exists", "prefix", "suffix", "equals-ignore-case", "wildcard", "cidr")
# EventBridge has these two; the Lambda guide's list of operators does not.
NOT_IN_LAMBDA_GUIDE = ("wildcard", "cidr")
_COMPARE = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">": operator.gt, ">=": operator.ge}


class JsonFloat(float):
    """A JSON number with a fraction or an exponent, keeping its text: Lambda compares numbers in
    equality rules by their text (the guide: 300, 300.0 and 3.0e2 are not equal)."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        self = super().__new__(cls, text)
        self.text = text
        return self


_DECODER = json.JSONDecoder(parse_float=JsonFloat)


def loads(text: str) -> Any:
    """JSON as the filters see it: numbers keep their text."""
    return _DECODER.decode(text)


def _merged(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice in a pattern: the Lambda guide's DynamoDB page ANDs `"dynamodb": {NewImage...},
    "dynamodb": {OldImage...}`, so objects under one key are merged (a later rule list wins, as JSON's)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = _merged([*out[key].items(), *value.items()])
        else:
            out[key] = value
    return out


def parse_pattern(pattern: str | dict) -> Any:
    """A filter's Pattern (JSON text, or data written in a spec) as data. Raises ValueError on bad JSON."""
    if isinstance(pattern, str):
        return json.loads(pattern, object_pairs_hook=_merged, parse_float=JsonFloat)
    return pattern


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_text(value: Any) -> str:
    if isinstance(value, JsonFloat):
        return value.text
    return repr(value) if isinstance(value, float) else str(value)


def literal_key(value: Any) -> Any:
    """What an equality rule compares: strings as themselves, other JSON values by type and (numbers) text."""
    if type(value) is str:
        return value
    if value is None or isinstance(value, bool):
        return ("null",) if value is None else (bool, value)
    if is_number(value):
        return (float, number_text(value))
    return ("other", repr(value))


def label(path: Path) -> str:
    """('data', 'order', 'type') -> 'data.order.type'; ('$or', 1, 'a') -> '$or[1].a'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(pattern)"


# ---------------------------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Problem:
    """Something wrong with a pattern: `path` is inside the pattern; an error stops it, a warning does not."""

    path: Path
    message: str
    error: bool = True


def check(pattern: Any) -> list[Problem]:
    """The problems of a parsed pattern's syntax, whatever the source (checks.py adds the source's)."""
    if not isinstance(pattern, dict):
        return [Problem((), f"must be a JSON object, not {_json_type(pattern)}")]
    if not pattern:
        return [Problem((), "is empty: a pattern needs at least one key")]
    out: list[Problem] = []
    _check_object(pattern, (), out)
    return out


def _check_object(obj: dict, path: Path, out: list[Problem]) -> None:
    for key, value in obj.items():
        here = path + (key,)
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, dict) and v for v in value):
                out.append(Problem(here, "must be a list of at least two patterns (objects)"))
                continue
            for i, alternative in enumerate(value):
                _check_object(alternative, here + (i,), out)
        elif isinstance(value, dict):
            if not value:
                out.append(Problem(here, "is an empty object: give the keys below it, or a list of rules"))
            else:
                _check_object(value, here, out)
        elif isinstance(value, list):
            if not value:
                out.append(Problem(here, "is an empty list: it matches nothing ([null] matches null, [\"\"] the "
                                         "empty string)", error=False))
            for i, rule in enumerate(value):
                _check_rule(rule, here + (i,), out)
        else:
            out.append(Problem(here, f"must be a list of rules or an object, not {_json_type(value)} "
                                     f"(write [{json.dumps(value)}])"))


def _check_rule(rule: Any, path: Path, out: list[Problem]) -> None:
    if rule is None or isinstance(rule, (str, bool)) or is_number(rule):
        return
    if isinstance(rule, list):
        out.append(Problem(path, "a rule cannot be a list: the list of a key is already its rules, ORed"))
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        what = "an object with several operators" if isinstance(rule, dict) and rule else "an empty object"
        out.append(Problem(path, f"is {what}: a rule is a value or an object with one operator"))
        return
    (name, arg), = rule.items()
    here = path + (name,)
    if name not in OPERATORS:
        hint = difflib.get_close_matches(name, OPERATORS, n=1)
        out.append(Problem(here, f"unknown operator {name!r}" + (f"; did you mean {hint[0]!r}?" if hint else
                                                                   f" (known: {', '.join(OPERATORS[:6])})")))
        return
    if name in NOT_IN_LAMBDA_GUIDE:
        out.append(Problem(here, f"{name} is an EventBridge operator the Lambda guide does not list: Lambda may "
                                 "refuse it", error=False))
    if name in ("prefix", "suffix"):
        if isinstance(arg, dict) and set(arg) == {"equals-ignore-case"} and isinstance(arg["equals-ignore-case"], str):
            return
        if not isinstance(arg, str):
            out.append(Problem(here, f"{name} takes a string, not {_json_type(arg)}"))
    elif name in ("equals-ignore-case", "wildcard"):
        if not isinstance(arg, str):
            out.append(Problem(here, f"{name} takes a string, not {_json_type(arg)}"))
    elif name == "cidr":
        import ipaddress

        try:
            ipaddress.ip_network(arg if isinstance(arg, str) else "?", strict=False)
        except ValueError:
            out.append(Problem(here, f"cidr takes a network such as \"10.0.0.0/24\", not {json.dumps(arg)}"))
    elif name == "exists":
        if not isinstance(arg, bool):
            out.append(Problem(here, f"exists takes true or false, not {json.dumps(arg)}"))
    elif name == "numeric":
        out.extend(_numeric_problems(arg, here))
    elif name == "anything-but":
        out.extend(_anything_but_problems(arg, here))


def _numeric_problems(arg: Any, path: Path) -> list[Problem]:
    if not isinstance(arg, list) or not arg or len(arg) % 2:
        return [Problem(path, "numeric takes pairs of operator and number, e.g. [\">\", 10, \"<=\", 20]")]
    out = []
    lower = upper = equal = 0
    for i in range(0, len(arg), 2):
        op, value = arg[i], arg[i + 1]
        if op not in _COMPARE:
            out.append(Problem(path + (i,), f"{json.dumps(op)} is not a comparison: use one of < <= = > >="))
        if not is_number(value):
            fix = f" (write {value})" if isinstance(value, str) and _numeric_text(value) else ""
            out.append(Problem(path + (i + 1,), f"a numeric range needs numbers, not {_json_type(value)} "
                                                f"{json.dumps(value)}{fix}"))
        lower += op in (">", ">=")
        upper += op in ("<", "<=")
        equal += op == "="
    if not out and (lower > 1 or upper > 1 or (equal and len(arg) > 2)):
        out.append(Problem(path, "numeric takes one lower and one upper bound, or one \"=\""))
    if not out and lower and upper:
        bounds = dict(zip(arg[::2], arg[1::2], strict=True))
        low = bounds.get(">", bounds.get(">="))
        high = bounds.get("<", bounds.get("<="))
        if low > high or (low == high and (">" in bounds or "<" in bounds)):
            out.append(Problem(path, f"the range is empty ({low} to {high}): it never matches", error=False))
    return out


def _numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _anything_but_problems(arg: Any, path: Path) -> list[Problem]:
    if isinstance(arg, str) or is_number(arg):
        return []
    if isinstance(arg, list):
        if not arg:
            return [Problem(path, "anything-but takes at least one value")]
        if not (all(isinstance(v, str) for v in arg) or all(is_number(v) for v in arg)):
            return [Problem(path, "anything-but takes a list of strings or a list of numbers")]
        return []
    if isinstance(arg, dict) and len(arg) == 1:
        (name, value), = arg.items()
        if name in ("prefix", "suffix") and isinstance(value, str):
            return []
        if name == "equals-ignore-case" and (isinstance(value, str) or (
                isinstance(value, list) and value and all(isinstance(v, str) for v in value))):
            return []
        return [Problem(path + (name,), f"anything-but's {name!r} is not one of prefix, suffix, equals-ignore-case "
                                        "with a string" if name not in ("prefix", "suffix", "equals-ignore-case")
                        else f"anything-but's {name} takes a string, not {_json_type(value)}")]
    return [Problem(path, f"anything-but takes a value, a list of values or an object such as {{\"prefix\": \"x\"}}, "
                          f"not {_json_type(arg)}")]


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if is_number(value):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


# --------------------------------------------------------------------------------------------- matching


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
        text = _quote(value) if type(value) is str else _ENCODER.encode(value)
        return f"{self.label} is {text if len(text) <= 40 else text[:37] + '...'}"


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
        bounds = [(_COMPARE[arg[i]], arg[i + 1]) for i in range(0, len(arg), 2)]
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
