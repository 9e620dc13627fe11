"""Filter rules as Lambda reads them (the EventBridge pattern syntax the Lambda guide lists): parsing a
pattern's JSON as Lambda does, and checking its rules. matching.py compiles a checked pattern."""

from __future__ import annotations

import difflib
import json
import operator
from dataclasses import dataclass
from typing import Any

from esmctl.mapping.values import merged

Path = tuple[Any, ...]
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "<missing>"})()

OPERATORS = ("anything-but", "numeric", "exists", "prefix", "suffix", "equals-ignore-case", "wildcard", "cidr")
# EventBridge has these two; the Lambda guide's list of operators does not.
NOT_IN_LAMBDA_GUIDE = ("wildcard", "cidr")
COMPARISONS = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">": operator.gt, ">=": operator.ge}


class JsonFloat(float):
    """A JSON number with a fraction or an exponent, keeping its text: Lambda compares numbers in
    equality rules by their text (the guide: 300, 300.0 and 3.0e2 are not equal)."""

    text: str

    def __new__(cls, text: str) -> JsonFloat:
        self = super().__new__(cls, text)
        self.text = text
        return self


DECODER = json.JSONDecoder(parse_float=JsonFloat)


def loads(text: str) -> Any:
    """JSON as the filters see it: numbers keep their text."""
    return DECODER.decode(text)


def parse_pattern(pattern: str | dict) -> Any:
    """A filter's Pattern (JSON text, or data written in a spec) as data. Raises ValueError on bad JSON."""
    if isinstance(pattern, str):
        return json.loads(pattern, object_pairs_hook=merged, parse_float=JsonFloat)
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
        if op not in COMPARISONS:
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
