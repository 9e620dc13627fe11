"""The values of a mapping's fields in one form: instants, filter patterns, JSON equality, what could not be read.

Pure: no AWS calls, nothing of a mapping's kind of source.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

from esmctl.yaml11 import key_text


class _Unreadable:
    """A live value esmctl could not read (filters encrypted with a KMS key it cannot decrypt with)."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return f"<unreadable: {self.why}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Unreadable)

    __hash__ = object.__hash__


def unreadable(why: str) -> _Unreadable:
    return _Unreadable(why)


def is_unreadable(value: Any) -> bool:
    return isinstance(value, _Unreadable)


def instant(value: Any) -> datetime:
    """A timestamp in one form: an aware UTC datetime, whole seconds.

    Accepts what a spec or the API can hold: datetime (naive = UTC), date (midnight UTC), ISO 8601
    text with any offset or `Z`, and epoch seconds. Raises ValueError otherwise.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a timestamp")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a timestamp")
        try:
            moment = datetime.fromtimestamp(value, timezone.utc)
        except (OverflowError, ValueError, OSError):  # which one depends on the platform's time_t
            raise ValueError(f"{value!r} is out of range for epoch seconds") from None
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return instant(float(text))
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO 8601 timestamp or epoch seconds") from None
    else:
        raise ValueError(f"{value!r} is not a timestamp")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc).replace(microsecond=0)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000
        raise ValueError(f"{value!r} is out of range for a timestamp") from None


def iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_pattern(pattern: Any) -> Any:
    """A filter pattern as JSON data, so spacing and key order never count as a change."""
    if isinstance(pattern, str):
        try:
            return json.loads(pattern, object_pairs_hook=merged)  # a key given twice is ANDed, as Lambda reads it
        except ValueError:
            return pattern
    return _json_keys(pattern)


def merged(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice in a pattern: the Lambda guide's DynamoDB page ANDs `"dynamodb": {NewImage...},
    "dynamodb": {OldImage...}`, so objects under one key are merged (a later rule list wins, as JSON's)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if isinstance(out.get(key), dict) and isinstance(value, dict):
            out[key] = merged([*out[key].items(), *value.items()])
        else:
            out[key] = value
    return out


class _Written:
    """A number of a pattern's JSON text, as written."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def written_numbers(patterns: Any) -> list[Any]:
    """What of a mapping's filter patterns (their texts, or data as a spec writes them) canonical comparison
    leaves out: the text of each number of an equality rule, as Lambda compares them (the guide: 300, 300.0 and
    3.0e2 are not equal). A numeric rule's numbers compare by value, as Lambda compares them. Data is read as
    pattern_text would send it (json.dumps: 300.0 for a float). Sorted, as the patterns are a set."""
    def shape(value: Any, numeric: bool = False, rule: bool = False) -> Any:
        if isinstance(value, dict):  # in a rule list, an operator's object: only there is `numeric` the operator
            return ("o", tuple(sorted((str(k), shape(v, rule and k == "numeric")) for k, v in value.items())))
        if isinstance(value, list):
            return ("a", tuple(shape(v, numeric, rule=not numeric) for v in value))
        if isinstance(value, _Written):
            return ("v", float(value.text)) if numeric else ("n", value.text)
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return ("l", value)
        if isinstance(value, (int, float)):
            return ("v", float(value)) if numeric else ("n", json.dumps(value))
        return ("l", repr(value))

    out = []
    for pattern in patterns:
        if isinstance(pattern, str):
            try:
                pattern = json.loads(pattern, parse_float=_Written, parse_int=_Written, object_pairs_hook=merged)
            except ValueError:
                pass
        out.append(shape(pattern))
    return sorted(out, key=repr)


def pattern_text(pattern: Any) -> str:
    """The JSON text the API takes for a pattern given as data or as text."""
    if isinstance(pattern, str):
        return pattern
    return json.dumps(_json_keys(pattern), separators=(",", ":"), sort_keys=True, default=str)


def _json_keys(value: Any) -> Any:
    """Data with every key as the text JSON gives it: YAML can make keys of `on` (true), `1` or a date, and
    keys of several types cannot be sorted (the spec's checks say which key YAML read so)."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else key_text(k): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def sorted_json(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda item: json.dumps(item, sort_keys=True, default=str))


SCALARS = frozenset({str, int, float, bool})  # JSON's numbers, texts and flags: each its own copy
_IMMUTABLE = SCALARS | {type(None)}


def copied(value: Any) -> Any:
    """copy.deepcopy for the JSON-like values of a mapping's fields, at a fraction of its cost (a plan of
    1,000 mappings copies tens of thousands): no memo is needed, as YAML and JSON give no cycles."""
    kind = type(value)
    if kind is dict:
        return {k: copied(v) for k, v in value.items()}
    if kind is list:
        return [copied(v) for v in value]
    return value if kind in _IMMUTABLE else copy.deepcopy(value)


def same_json(a: Any, b: Any) -> bool:
    """Equality by JSON type: `true` is not `1` and `false` is not `0` (Python's == says they are), as Lambda
    matches filter patterns by type. 1 and 1.0 stay one number, as they are in JSON."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def plain(value: Any) -> Any:
    """A canonical value as JSON data (instants as ISO 8601 text)."""
    return _plain(value)


# -- values of the types botocore's model gives them ----------------------------------------------
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


def well_typed_params(params: dict[str, Any], members: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The parameters (of a request whose `members` are botocore's shapes) without values, or parts of them, of
    the wrong type; and the parameters that had some. A parameter that is no member is kept as it is."""
    out, mistyped = {}, set()
    for key, value in params.items():
        if key not in members:
            out[key] = value
            continue
        kept, lost = well_typed(value, members[key])
        if lost:
            mistyped.add(key)
        if kept is not None:
            out[key] = kept
    return out, mistyped


class Given(NamedTuple):
    """A mapping's parameters (or the defaults of a spec) as written, read once: in the API's form (filter patterns
    written as data in its JSON text), without the values of the wrong type (`mistyped`: the parameters that had
    some), and what its StartingPositionTimestamp is: unreadable (why), or in the future (when, ISO 8601)."""

    api: dict[str, Any]
    typed: dict[str, Any]
    mistyped: set[str]
    unreadable_time: str = ""
    future_time: str = ""


def given(params: dict[str, Any], members: dict[str, Any]) -> Given:
    """`params` read as Given says (`members`: botocore's shapes of the request's parameters)."""
    api = dict(params)
    fc = api.get("FilterCriteria")
    if isinstance(fc, dict) and isinstance(fc.get("Filters"), list):
        api["FilterCriteria"] = {**fc, "Filters": [
            {**f, "Pattern": pattern_text(f["Pattern"])} if isinstance(f, dict) and isinstance(f.get("Pattern"),
                                                                                             (dict, list)) else f
            for f in fc["Filters"]]}
    typed, mistyped = well_typed_params({k: v for k, v in api.items() if v is not None}, members)
    return Given(api, typed, mistyped, *starting_time(api.get("StartingPositionTimestamp")))


def starting_time(value: Any) -> tuple[str, str]:
    """What is wrong with a StartingPositionTimestamp (None: there is none): why it cannot be read, or when it is,
    in ISO 8601, if that is in the future; ("", "") when it is fine."""
    if value is None:
        return "", ""
    try:
        at = instant(value)
    except ValueError as exc:
        return str(exc), ""
    return "", iso(at) if at > datetime.now(timezone.utc) else ""
